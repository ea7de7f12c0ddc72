// webform: turns an inbound request into flat items of strings. The
// connector (engine) has already checked the token, the rate limit and the
// honeypot; it maps the item's properties to the entity's fields.

// Control fields of the endpoint, never data.
var CONTROL = {"_token": true, "_redirect": true};
var MAX_FIELDS = 200;
var MAX_ITEMS = 100;

// text renders one submitted value as a string: numbers and booleans as
// JSON writes them, arrays of scalars joined by ", ", anything nested as
// its JSON, null as "" (a field left empty).
function text(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v) && v.every(function (x) { return x === null || typeof x !== "object"; })) {
    return v.map(text).join(", ");
  }
  return JSON.stringify(v);
}

// item flattens one object of fields; null when nothing is left (an empty
// submission is dropped rather than written as a blank record).
function item(fields) {
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
    throw new Error("a submission must be an object of fields, not " + (Array.isArray(fields) ? "an array" : typeof fields));
  }
  var out = {};
  var n = 0;
  Object.keys(fields).forEach(function (k) {
    if (CONTROL[k]) return;
    if (++n > MAX_FIELDS) throw new Error("a submission has more than " + MAX_FIELDS + " fields");
    out[k] = text(fields[k]).trim();
  });
  return n === 0 ? null : out;
}

function submission(request) {
  var form = request.form;
  if (form && Object.keys(form).length > 0) return item(form);
  var body = request.json;
  if (Array.isArray(body)) {
    if (body.length > MAX_ITEMS) throw new Error("a submission holds at most " + MAX_ITEMS + " items");
    return body.map(item).filter(function (x) { return x !== null; });
  }
  if (body !== undefined && body !== null) return item(body);
  // A bodiless post (some providers send their fields in the query
  // string): the query is the form, less the endpoint's ?token=.
  var query = {};
  Object.keys(request.query || {}).forEach(function (k) {
    if (k !== "token") query[k] = request.query[k];
  });
  return Object.keys(query).length > 0 ? item(query) : null;
}
