// dingtalk: a DingTalk custom robot message. The robot's webhook is
// POST https://oapi.dingtalk.com/robot/send?access_token=T with a JSON body
// {"msgtype": "text", "text": {"content"}, "at": {"atMobiles", "isAtAll"}}
// or {"msgtype": "markdown", "markdown": {"title", "text"}, "at": {…}}.
// A robot with a signing secret (加签) also wants &timestamp=MS&sign=S,
// S = urlencode(base64(HmacSHA256(key: secret, message: MS + "\n" +
// secret))), MS within an hour of DingTalk's clock. It answers
// {"errcode": 0, "errmsg": "ok"} on success.

var ENDPOINT = "https://oapi.dingtalk.com/robot/send";

// fail throws an error the engine reports as the call's failure. Thrown
// after an HTTP answer of 429 or 5xx it is retried by the automation's job
// (the runtime looks at the last answer's status); otherwise it is final.
function fail(message) {
  throw new Error(message);
}

// accessToken accepts the bare token or the whole webhook address an
// admin copied from the robot's page.
function accessToken() {
  var t = secrets.get("accessToken").trim();
  var m = /[?&]access_token=([^&#]+)/.exec(t);
  if (m) t = decodeURIComponent(m[1]);
  if (!/^[A-Za-z0-9_-]+$/.test(t)) fail("the access token is not a DingTalk robot token");
  return t;
}

// signSecret is the robot's signing secret, "" when it has none.
function signSecret() {
  try {
    return secrets.get("signSecret").trim();
  } catch (e) {
    return ""; // not set: an unsigned robot
  }
}

// webhookURL is the address to post to, signed with the engine clock's
// time when the robot has a secret.
function webhookURL() {
  var url = ENDPOINT + "?access_token=" + encodeURIComponent(accessToken());
  var secret = signSecret();
  if (secret !== "") {
    var ts = String(ctx.nowMs);
    var sign = crypto.hmacSHA256(secret, ts + "\n" + secret, "base64");
    url += "&timestamp=" + ts + "&sign=" + encodeURIComponent(sign);
  }
  return url;
}

function send(input) {
  var type = input.msgtype || "text";
  var mobiles = (input.atMobiles || []).map(function (m) { return m.replace(/[ -]/g, ""); });
  var body = {msgtype: type, at: {atMobiles: mobiles, isAtAll: !!input.atAll}};
  if (type === "text") {
    body.text = {content: input.content};
  } else {
    // In a markdown message DingTalk only highlights a mention written in
    // the text as @mobile: add the ones the text lacks.
    var text = input.content;
    var missing = mobiles.filter(function (m) { return text.indexOf("@" + m) < 0; });
    if (missing.length > 0) text += "\n\n" + missing.map(function (m) { return "@" + m; }).join(" ");
    var title = (input.title || "").trim();
    if (title === "") title = input.content.split("\n")[0].replace(/^[#>\s*]+/, "").slice(0, 64) || "Forma";
    body.markdown = {title: title, text: text};
  }
  var res = http.request({method: "POST", url: webhookURL(), json: body});
  if (res.status !== 200) fail("DingTalk answered HTTP " + res.status);
  var answer = res.json;
  if (answer === undefined || answer === null) {
    try { answer = JSON.parse(res.body); } catch (e) { fail("DingTalk answered something that is not JSON"); }
  }
  if (typeof answer.errcode !== "number") fail("DingTalk answered without an errcode");
  if (answer.errcode !== 0) {
    fail("DingTalk refused the message: errcode " + answer.errcode + ": " + (answer.errmsg || ""));
  }
  log.info("sent a " + type + " message" + (signSecret() !== "" ? " (signed)" : ""));
  return {errcode: 0, errmsg: answer.errmsg || "ok"};
}
