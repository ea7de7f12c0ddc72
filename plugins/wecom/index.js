// wecom: a WeCom group robot message. The robot's webhook is
// POST https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY with a JSON
// body {"msgtype": "text", "text": {"content", "mentioned_mobile_list"}} or
// {"msgtype": "markdown", "markdown": {"content"}}; it answers
// {"errcode": 0, "errmsg": "ok"} on success.

var ENDPOINT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send";
// WeCom's limits on content, in UTF-8 bytes.
var MAX_BYTES = {text: 2048, markdown: 4096};
// errcodes worth trying again later: system busy (-1) and over the
// robot's rate of 20 messages a minute (45009).
var RETRY = {"-1": true, "45009": true};

// fail throws an error the engine reports as the call's failure; retry
// says whether the job queue should try the call again.
function fail(message, retry) {
  var e = new Error(message);
  e.retry = !!retry;
  throw e;
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
  if (!/^[A-Za-z0-9-]+$/.test(k)) fail("the webhook key is not a WeCom robot key", false);
  return k;
}

function send(input) {
  var type = input.msgtype || "text";
  var content = input.content;
  if (utf8Bytes(content) > MAX_BYTES[type]) {
    fail("the content is longer than " + MAX_BYTES[type] + " bytes, the most WeCom takes for a " + type + " message", false);
  }
  var body = {msgtype: type};
  if (type === "text") {
    body.text = {content: content};
    var mobiles = (input.mentionedMobiles || []).map(function (m) { return m.replace(/[ -]/g, ""); });
    if (mobiles.length > 0) body.text.mentioned_mobile_list = mobiles;
  } else {
    // WeCom's markdown has no mention by mobile: saying so beats a
    // message that silently mentions nobody.
    if ((input.mentionedMobiles || []).length > 0) fail("WeCom markdown messages cannot mention by mobile number; use msgtype text", false);
    body.markdown = {content: content};
  }
  var res = http.request({
    method: "POST",
    url: ENDPOINT + "?key=" + encodeURIComponent(webhookKey()),
    json: body
  });
  if (res.status === 429 || res.status >= 500) fail("WeCom answered HTTP " + res.status, true);
  if (res.status !== 200) fail("WeCom answered HTTP " + res.status, false);
  var answer = res.json;
  if (answer === undefined || answer === null) {
    try { answer = JSON.parse(res.body); } catch (e) { fail("WeCom answered something that is not JSON", true); }
  }
  if (typeof answer.errcode !== "number") fail("WeCom answered without an errcode", true);
  if (answer.errcode !== 0) {
    fail("WeCom refused the message: errcode " + answer.errcode + ": " + (answer.errmsg || ""), !!RETRY[String(answer.errcode)]);
  }
  log.info("sent a " + type + " message");
  return {errcode: 0, errmsg: answer.errmsg || "ok"};
}
