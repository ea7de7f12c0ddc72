// wecom: a WeCom group robot message. The robot's webhook is
// POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY with a JSON
// body {"msgtype": "text", "text": {"content", "mentioned_mobile_list"}} or
// {"msgtype": "markdown", "markdown": {"content"}}; it answers
// {"errcode": 0, "errmsg": "ok"} on success.

var ENDPOINT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send";
// WeCom's limits on content, in UTF-8 bytes.
var MAX_BYTES = {text: 2048, markdown: 4096};

// fail throws an error the engine reports as the call's failure. Thrown
// after an HTTP answer of 429 or 5xx it is retried by the automation's job
// (the runtime looks at the last answer's status); otherwise it is final.
function fail(message) {
  throw new Error(message);
}

function utf8Bytes(s) {
  var n = 0;
  for (var i = 0; i < s.length; i++) {
    var c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; }
    else n += 3;
  }
  return n;
}

// webhookKey accepts the bare key or the whole webhook address an admin
// copied from the robot's page.
function webhookKey() {
  var k = secrets.get("key").trim();
  var m = /[?&]key=([^&#]+)/.exec(k);
  if (m) k = decodeURIComponent(m[1]);
  if (!/^[A-Za-z0-9-]+$/.test(k)) fail("the webhook key is not a WeCom robot key");
  return k;
}

function send(input) {
  var type = input.msgtype || "text";
  var content = input.content;
  if (utf8Bytes(content) > MAX_BYTES[type]) {
    fail("the content is longer than " + MAX_BYTES[type] + " bytes, the most WeCom takes for a " + type + " message");
  }
  var body = {msgtype: type};
  if (type === "text") {
    body.text = {content: content};
    var mobiles = (input.mentionedMobiles || []).map(function (m) { return m.replace(/[ -]/g, ""); });
    if (mobiles.length > 0) body.text.mentioned_mobile_list = mobiles;
  } else {
    // WeCom's markdown has no mention by mobile: saying so beats a
    // message that silently mentions nobody.
    if ((input.mentionedMobiles || []).length > 0) fail("WeCom markdown messages cannot mention by mobile number; use msgtype text");
    body.markdown = {content: content};
  }
  var res = http.request({
    method: "POST",
    url: ENDPOINT + "?key=" + encodeURIComponent(webhookKey()),
    json: body
  });
  if (res.status !== 200) fail("WeCom answered HTTP " + res.status);
  var answer = res.json;
  if (answer === undefined || answer === null) {
    try { answer = JSON.parse(res.body); } catch (e) { fail("WeCom answered something that is not JSON"); }
  }
  if (typeof answer.errcode !== "number") fail("WeCom answered without an errcode");
  if (answer.errcode !== 0) {
    fail("WeCom refused the message: errcode " + answer.errcode + ": " + (answer.errmsg || ""));
  }
  log.info("sent a " + type + " message");
  return {errcode: 0, errmsg: answer.errmsg || "ok"};
}
