// email: one message over the app's SMTP server (mail.send), its HTML
// part wrapped in the template setting.

var MAX_RECIPIENTS = 50;
var DEFAULT_PORT = {ssl: 465, starttls: 587, none: 25};

// fail throws an error that fails the call for good (the input is
// wrong); mail.send's own failures (the server unreachable, refusing)
// reach the runtime as they are and are retried.
function fail(message) {
  throw new Error(message);
}

// addresses splits a list typed by a person or filled by a template
// ("a@x.com, b@y.com; c@z.com") and refuses what could smuggle a header
// (a line break) or is plainly not an address.
function addresses(list, what) {
  if (!list) return [];
  var out = list.split(/[,;]/).map(function (a) { return a.trim(); }).filter(function (a) { return a !== ""; });
  out.forEach(function (a) {
    if (/[\r\n<>"]/.test(a) || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(a)) fail(what + ": \"" + a + "\" is not an email address");
  });
  return out;
}

function escapeHTML(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

// fill puts the message into the template; a template without {{body}}
// gets the message after it rather than losing it.
function fill(template, subject, bodyHTML) {
  var t = template.indexOf("{{body}}") < 0 ? template + "{{body}}" : template;
  return t.split("{{subject}}").join(escapeHTML(subject)).split("{{body}}").join(bodyHTML);
}

function send(input) {
  var to = addresses(input.to, "to");
  var cc = addresses(input.cc, "cc");
  if (to.length === 0) fail("to: no address");
  if (to.length + cc.length > MAX_RECIPIENTS) fail("at most " + MAX_RECIPIENTS + " recipients");
  // A subject is one header line: a line break from a template becomes
  // a space instead of a new header.
  var subject = input.subject.replace(/[\r\n]+/g, " ").trim();
  var tls = settings.tls || "starttls";
  // The sandbox lets mail.send reach the host setting on the SMTP ports
  // (25, 465, 587), or on the one port written in it (host:2525).
  var server = /^(.*):([0-9]+)$/.exec(settings.host);
  var msg = {
    host: server ? server[1] : settings.host,
    port: server ? Number(server[2]) : settings.port || DEFAULT_PORT[tls],
    tls: tls,
    from: settings.from,
    to: to,
    subject: subject
  };
  if (cc.length > 0) msg.cc = cc;
  if (settings.username) {
    msg.username = settings.username;
    msg.password = secrets.get("password");
  }
  var template = settings.template || "";
  if (input.html) {
    msg.html = template ? fill(template, subject, input.body) : input.body;
  } else {
    msg.text = input.body;
    if (template) msg.html = fill(template, subject, escapeHTML(input.body).replace(/\r?\n/g, "<br>\n"));
  }
  var res = mail.send(msg);
  log.info("sent \"" + subject + "\" to " + (to.length + cc.length) + " recipient(s)");
  var out = {sent: true, recipients: to.length + cc.length};
  if (res && typeof res.messageId === "string") out.messageId = res.messageId;
  return out;
}
