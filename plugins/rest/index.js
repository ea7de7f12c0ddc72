// rest: one call to the API at the baseUrl setting. The path may not
// leave that host (it must start with "/", and the sandbox only reaches
// the host of baseUrl anyway); the Authorization header comes from the
// secret, never from the input.

// Headers the input may not set: the secret's, and what the transport
// owns.
var RESERVED = {"authorization": true, "host": true, "content-length": true, "connection": true, "transfer-encoding": true, "cookie": true};

// fail throws an error the engine reports as the call's failure. Thrown
// after an HTTP answer of 429 or 5xx it is retried by the automation's job
// (the runtime looks at the last answer's status); otherwise it is final.
function fail(message) {
  throw new Error(message);
}

function optionalSecret(name) {
  try {
    return secrets.get(name);
  } catch (e) {
    return ""; // not set: an API without authorization
  }
}

// target joins baseUrl, path and query.
function target(input) {
  var base = settings.baseUrl.replace(/\/+$/, "");
  var path = input.path || "/";
  if (path.charAt(0) !== "/" || path.charAt(1) === "/" || /[\s#\\]/.test(path)) fail("path: must start with a single / and hold no spaces, # or \\");
  if (/(^|\/)\.\.?(\/|$|\?)/.test(path)) fail("path: no . or .. segments");
  var url = base + path;
  var query = input.query || {};
  var pairs = Object.keys(query).map(function (k) {
    return encodeURIComponent(k) + "=" + encodeURIComponent(String(query[k]));
  });
  if (pairs.length > 0) url += (url.indexOf("?") < 0 ? "?" : "&") + pairs.join("&");
  return url;
}

function call(input) {
  var method = input.method || "POST";
  var headers = {};
  [settings.headers || {}, input.headers || {}].forEach(function (h) {
    Object.keys(h).forEach(function (k) {
      if (RESERVED[k.toLowerCase()]) fail("headers: " + k + " cannot be set here");
      headers[k] = h[k];
    });
  });
  var auth = optionalSecret("authorization");
  if (auth !== "") headers["Authorization"] = auth;
  var req = {method: method, url: target(input), headers: headers};
  var body = input.body;
  if (body !== undefined && body !== null) {
    if (method === "GET") fail("body: a GET call has no body");
    if (typeof body === "string") req.body = body;
    else req.json = body;
  }
  var res = http.request(req);
  if (res.status >= 400) fail(method + " " + (input.path || "/") + " answered HTTP " + res.status + ": " + String(res.body).slice(0, 200));
  var out = {status: res.status, body: res.body};
  // res.json is set when the answer says it is JSON; an API that sends
  // JSON as text/plain is parsed too.
  var json = res.json;
  if (json === undefined || json === null) {
    try { json = JSON.parse(res.body); } catch (e) { json = null; }
  }
  if (json !== null && json !== undefined) out.json = json;
  log.info(method + " " + (input.path || "/") + " → " + res.status);
  return out;
}
