package script

import (
	"sync"

	"github.com/dop251/goja"
)

// libraryJS is the helper library every runtime gets as frozen, read-only
// globals (formulas, validations and hooks all use it). It is installed
// before hardening, so scripts can neither replace nor modify the helpers,
// and Env globals cannot shadow them.
//
// Conventions: decimals are JS numbers; dates are "YYYY-MM-DD" strings;
// datetimes are RFC 3339 strings, returned in UTC with "Z"
// ("2026-11-22T10:00:00Z"; milliseconds only when non-zero) and accepted
// with fractional seconds and any offset. All date arithmetic is UTC.
// A null or undefined input makes a helper return null (except where noted);
// bad input throws a TypeError naming the helper and the bad value
// (`addDays: invalid date "2026-13-45"`).
//
// Numbers and money:
//
//	round(x, digits=0)        half away from zero, decimal-correct: round(1.005, 2) === 1.01,
//	                          round(-2.5) === -3, round(1234.5678, -2) === 1200
//	floor(x, digits=0)        toward -Infinity at that decimal position
//	ceil(x, digits=0)         toward +Infinity at that decimal position
//	abs(x)
//	min(...xs), max(...xs)    ignore null; arrays are flattened one level; null when nothing is left
//	sum(...xs)                ignores null; arrays flattened one level; 0 when empty; the result is
//	                          rounded to the inputs' largest number of decimals (sum(0.1, 0.2) === 0.3)
//	coalesce(...xs)           first value that is neither null nor undefined, else null
//	percent(part, whole, digits=2)  part/whole*100 rounded; null when whole is 0
//
// Strings (numbers and booleans are accepted and converted):
//
//	concat(...xs)             null/undefined → ""; never null
//	upper(s), lower(s), trim(s)
//	len(x)                    code points of a string (an array's length); null → 0
//	left(s, n), right(s, n)   first / last n code points
//	contains(s, sub)          case-insensitive
//	startsWith(s, p), endsWith(s, p)  case-sensitive
//	isBlank(x)                true for null, undefined, a whitespace-only string, an empty array
//	padLeft(s, n, ch=" ")     pads on the left to n code points
//
// Dates (d: a date or a datetime; a Date object counts as a datetime):
//
//	today()                   "YYYY-MM-DD" (UTC)
//	now()                     "YYYY-MM-DDTHH:MM:SSZ" (UTC, seconds precision)
//	addDays(d, n)             date in → date out; datetime in → datetime out
//	addMonths(d, n)           clamps to the month's end: addMonths("2026-01-31", 1) === "2026-02-28"
//	daysBetween(a, b)         whole days from a to b (b − a); datetimes count by their UTC date
//	year(d), month(d) (1–12), day(d), weekday(d) (1 = Monday … 7 = Sunday)
//	startOfMonth(d), endOfMonth(d)  → "YYYY-MM-DD"
//	dateOf(dt)                → "YYYY-MM-DD" (the UTC date)
const libraryJS = `(function() {
"use strict";
const G = globalThis, defProp = Object.defineProperty, apply = Reflect.apply, isArray = Array.isArray, stringify = JSON.stringify,
  Str = String, Num = Number, isFinite_ = Number.isFinite, isInteger = Number.isInteger, mfloor = Math.floor, mceil = Math.ceil,
  mround = Math.round, mabs = Math.abs, mmin = Math.min, dateNow = Date.now, getTime = Date.prototype.getTime,
  TypeErr = TypeError, RangeErr = RangeError, reExec = RegExp.prototype.exec,
  SP = String.prototype, sTrim = SP.trim, sLower = SP.toLowerCase, sUpper = SP.toUpperCase, sIncludes = SP.includes,
  sStarts = SP.startsWith, sEnds = SP.endsWith, sSlice = SP.slice, sIndexOf = SP.indexOf, sCharCode = SP.charCodeAt, sSplit = SP.split;

function show(v) {
  if (typeof v === "string") return stringify(v.length > 60 ? apply(sSlice, v, [0, 60]) + "…" : v);
  if (isArray(v)) return "an array";
  if (typeof v === "object" && v !== null) return "an object";
  if (typeof v === "function") return "a function";
  return Str(v);
}
function bad(fn, what, v) { throw new TypeErr(fn + ": invalid " + what + " " + show(v)); }
function nil(v) { return v === null || v === undefined; }
function num(fn, x) {
  if (typeof x !== "number" || !isFinite_(x)) bad(fn, "number", x);
  return x;
}
function digitsOf(fn, d, def) {
  if (nil(d)) return def;
  if (typeof d !== "number" || !isInteger(d) || d < -20 || d > 20) bad(fn, "number of digits", d);
  return d;
}
// shift returns x * 10^d computed on the decimal representation, so
// 1.005 * 100 is 100.5 and not 100.49999999999999.
function shift(x, d) {
  if (d === 0) return x;
  const s = Str(x), i = apply(sIndexOf, s, ["e"]);
  if (i < 0) return Num(s + "e" + d);
  return Num(apply(sSlice, s, [0, i]) + "e" + (Num(apply(sSlice, s, [i + 1])) + d));
}
function zero(x) { return x === 0 ? 0 : x; } // no -0
function decimals(x) {
  const s = Str(x), e = apply(sIndexOf, s, ["e"]);
  const m = e < 0 ? s : apply(sSlice, s, [0, e]), exp = e < 0 ? 0 : Num(apply(sSlice, s, [e + 1]));
  const dot = apply(sIndexOf, m, ["."]);
  const n = (dot < 0 ? 0 : m.length - dot - 1) - exp;
  return n > 0 ? n : 0;
}
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
function roundTo(x, d) {
  // Fast path: x·10^d in floating point is within 1e-8 of the exact
  // product while it stays below 1e8, so unless it lies that close to a
  // half, rounding it gives the same digits as the decimal shift (and
  // r / 10^d is the double nearest those digits, as parsing them is).
  if (d >= 0 && d <= 15) {
    const y = mabs(x) * POW10[d];
    if (y < 1e8) {
      const f = y - mfloor(y);
      if (mabs(f - 0.5) > 1e-7) return zero((x < 0 ? -1 : 1) * (mround(y) / POW10[d]));
    }
  }
  const r = mround(shift(mabs(x), d));
  return zero((x < 0 ? -1 : 1) * shift(r, -d));
}
// Helpers are own properties of the global object; hardening makes them
// read-only and non-configurable and freezes the functions.
function def(name, fn) {
  defProp(fn, "name", {value: name});
  defProp(G, name, {value: fn, writable: true, enumerable: false, configurable: true});
}
function flat1(xs) {
  const out = [];
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (isArray(x)) { for (let j = 0; j < x.length; j++) out[out.length] = x[j]; } else out[out.length] = x;
  }
  return out;
}

// ---- numbers
def("round", function(x, digits) {
  if (nil(x)) return null;
  return roundTo(num("round", x), digitsOf("round", digits, 0));
});
def("floor", function(x, digits) {
  if (nil(x)) return null;
  const d = digitsOf("floor", digits, 0);
  return zero(shift(mfloor(shift(num("floor", x), d)), -d));
});
def("ceil", function(x, digits) {
  if (nil(x)) return null;
  const d = digitsOf("ceil", digits, 0);
  return zero(shift(mceil(shift(num("ceil", x), d)), -d));
});
def("abs", function(x) { return nil(x) ? null : mabs(num("abs", x)); });
function extreme(name, less) {
  return function(...xs) {
    const vs = flat1(xs);
    let best = null;
    for (let i = 0; i < vs.length; i++) {
      const v = vs[i];
      if (nil(v)) continue;
      num(name, v);
      if (best === null || less(v, best)) best = v;
    }
    return best;
  };
}
def("min", extreme("min", (a, b) => a < b));
def("max", extreme("max", (a, b) => a > b));
def("sum", function(...xs) {
  const vs = flat1(xs);
  let s = 0, dec = 0;
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i];
    if (nil(v)) continue;
    s += num("sum", v);
    const d = decimals(v);
    if (d > dec) dec = d;
  }
  return dec <= 15 ? roundTo(s, dec) : s;
});
def("coalesce", function(...xs) {
  for (let i = 0; i < xs.length; i++) if (!nil(xs[i])) return xs[i];
  return null;
});
def("percent", function(part, whole, digits) {
  if (nil(part) || nil(whole)) return null;
  num("percent", part); num("percent", whole);
  const d = digitsOf("percent", digits, 2);
  if (whole === 0) return null;
  return roundTo(part / whole * 100, d);
});

// ---- strings
function text(fn, x) {
  if (typeof x === "string") return x;
  if (typeof x === "number" || typeof x === "boolean") return Str(x);
  bad(fn, "string", x);
}
function count(fn, n) {
  if (typeof n !== "number" || !isInteger(n) || n < 0) bad(fn, "count", n);
  return n;
}
// points splits a string into code points (no iterator, so no caps apply
// beyond the string's own size).
function points(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    const c = apply(sCharCode, s, [i]);
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.length) {
      const c2 = apply(sCharCode, s, [i + 1]);
      if (c2 >= 0xDC00 && c2 <= 0xDFFF) { out[out.length] = apply(sSlice, s, [i, i + 2]); i++; continue; }
    }
    out[out.length] = apply(sSlice, s, [i, i + 1]);
  }
  return out;
}
function cpLen(s) {
  let n = s.length;
  for (let i = 0; i + 1 < s.length; i++) {
    const c = apply(sCharCode, s, [i]);
    if (c >= 0xD800 && c <= 0xDBFF) { const c2 = apply(sCharCode, s, [i + 1]); if (c2 >= 0xDC00 && c2 <= 0xDFFF) { n--; i++; } }
  }
  return n;
}
function join(ps, from, to) { let r = ""; for (let i = from; i < to; i++) r += ps[i]; return r; }
def("concat", function(...xs) {
  let r = "";
  for (let i = 0; i < xs.length; i++) if (!nil(xs[i])) r += Str(xs[i]);
  return r;
});
def("upper", function(s) { return nil(s) ? null : apply(sUpper, text("upper", s), []); });
def("lower", function(s) { return nil(s) ? null : apply(sLower, text("lower", s), []); });
def("trim", function(s) { return nil(s) ? null : apply(sTrim, text("trim", s), []); });
def("len", function(x) {
  if (nil(x)) return 0;
  if (isArray(x)) return x.length;
  return cpLen(text("len", x));
});
def("left", function(s, n) {
  if (nil(s) || nil(n)) return null;
  const t = text("left", s), k = count("left", n);
  if (k >= t.length) return t;
  return join(points(t), 0, k);
});
def("right", function(s, n) {
  if (nil(s) || nil(n)) return null;
  const t = text("right", s), k = count("right", n), ps = points(t);
  return k >= ps.length ? t : join(ps, ps.length - k, ps.length);
});
def("contains", function(s, sub) {
  if (nil(s) || nil(sub)) return null;
  return apply(sIncludes, apply(sLower, text("contains", s), []), [apply(sLower, text("contains", sub), [])]);
});
def("startsWith", function(s, p) {
  if (nil(s) || nil(p)) return null;
  return apply(sStarts, text("startsWith", s), [text("startsWith", p)]);
});
def("endsWith", function(s, p) {
  if (nil(s) || nil(p)) return null;
  return apply(sEnds, text("endsWith", s), [text("endsWith", p)]);
});
def("isBlank", function(x) {
  if (nil(x)) return true;
  if (typeof x === "string") return apply(sTrim, x, []) === "";
  if (isArray(x)) return x.length === 0;
  return false;
});
def("padLeft", function(s, n, ch) {
  if (nil(s) || nil(n)) return null;
  const t = text("padLeft", s), k = count("padLeft", n);
  const c = nil(ch) ? " " : text("padLeft", ch);
  if (c === "") bad("padLeft", "pad string", ch);
  const need = k - cpLen(t);
  if (need <= 0) return t;
  const cps = points(c);
  let pad = "";
  for (let i = 0; i < need; i++) pad += cps[i % cps.length];
  return pad + t;
});

// ---- dates: {dt: false|true, days: days since 1970-01-01, ms: ms into the day}
const DAY = 86400000;
const dateRE = /^(\d{4})-(\d{2})-(\d{2})$/;
const dtRE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}:?\d{2})$/;
function leap(y) { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0; }
function monthDays(y, m) { return m === 2 ? (leap(y) ? 29 : 28) : (m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31); }
// daysFromCivil / civil: H. Hinnant's algorithms (proleptic Gregorian).
function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = mfloor(y / 400), yoe = y - era * 400;
  const doy = mfloor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + mfloor(yoe / 4) - mfloor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
function civil(z) {
  z += 719468;
  const era = mfloor(z / 146097), doe = z - era * 146097;
  const yoe = mfloor((doe - mfloor(doe / 1460) + mfloor(doe / 36524) - mfloor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + mfloor(yoe / 4) - mfloor(yoe / 100)), mp = mfloor((5 * doy + 2) / 153);
  const d = doy - mfloor((153 * mp + 2) / 5) + 1, m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}
function isDate(v) {
  if (typeof v !== "object" || v === null) return false;
  try { apply(getTime, v, []); return true; } catch (e) { return false; }
}
function fromMs(t, dt) { const days = mfloor(t / DAY); return {dt: dt, days: days, ms: t - days * DAY}; }
function parse(fn, v) {
  if (isDate(v)) {
    const t = apply(getTime, v, []);
    if (t !== t) bad(fn, "date", v);
    return fromMs(t, true);
  }
  if (typeof v !== "string") bad(fn, "date", v);
  let m = apply(reExec, dateRE, [v]);
  if (m !== null) {
    const y = Num(m[1]), mo = Num(m[2]), d = Num(m[3]);
    if (mo < 1 || mo > 12 || d < 1 || d > monthDays(y, mo)) bad(fn, "date", v);
    return {dt: false, days: daysFromCivil(y, mo, d), ms: 0};
  }
  m = apply(reExec, dtRE, [v]);
  if (m === null) bad(fn, "date", v);
  const y = Num(m[1]), mo = Num(m[2]), d = Num(m[3]), h = Num(m[4]), mi = Num(m[5]), s = m[6] === undefined ? 0 : Num(m[6]);
  if (mo < 1 || mo > 12 || d < 1 || d > monthDays(y, mo) || h > 23 || mi > 59 || s > 59) bad(fn, "datetime", v);
  const frac = m[7] === undefined ? 0 : mfloor(Num("0." + m[7]) * 1000);
  let off = 0;
  const z = m[8];
  if (z !== "Z" && z !== "z") {
    const digits = z.length === 6 ? apply(sSlice, z, [1, 3]) + apply(sSlice, z, [4, 6]) : apply(sSlice, z, [1, 5]);
    const oh = Num(apply(sSlice, digits, [0, 2])), om = Num(apply(sSlice, digits, [2, 4]));
    if (oh > 23 || om > 59) bad(fn, "datetime", v);
    off = (z[0] === "-" ? -1 : 1) * (oh * 60 + om) * 60000;
  }
  return fromMs(daysFromCivil(y, mo, d) * DAY + ((h * 60 + mi) * 60 + s) * 1000 + frac - off, true);
}
function p2(n) { return n < 10 ? "0" + n : "" + n; }
function p3(n) { return n < 10 ? "00" + n : n < 100 ? "0" + n : "" + n; }
function fmtDate(fn, days) {
  const c = civil(days);
  if (c[0] < 0 || c[0] > 9999) throw new RangeErr(fn + ": date out of range (years 0000-9999)");
  const y = "" + c[0];
  return "0000".slice(y.length) + y + "-" + p2(c[1]) + "-" + p2(c[2]);
}
function fmt(fn, v) {
  if (!v.dt) return fmtDate(fn, v.days);
  const t = v.ms, ms = t % 1000, s = mfloor(t / 1000) % 60, mi = mfloor(t / 60000) % 60, h = mfloor(t / 3600000);
  return fmtDate(fn, v.days) + "T" + p2(h) + ":" + p2(mi) + ":" + p2(s) + (ms ? "." + p3(ms) : "") + "Z";
}
function intArg(fn, n) {
  if (typeof n !== "number" || !isInteger(n)) bad(fn, "count", n);
  return n;
}
def("today", function() { return fmtDate("today", mfloor(dateNow() / DAY)); });
def("now", function() { const t = mfloor(dateNow() / 1000) * 1000; return fmt("now", fromMs(t, true)); });
def("addDays", function(d, n) {
  if (nil(d) || nil(n)) return null;
  const v = parse("addDays", d), k = intArg("addDays", n);
  return fmt("addDays", {dt: v.dt, days: v.days + k, ms: v.ms});
});
def("addMonths", function(d, n) {
  if (nil(d) || nil(n)) return null;
  const v = parse("addMonths", d), k = intArg("addMonths", n), c = civil(v.days);
  const total = c[0] * 12 + (c[1] - 1) + k, y = mfloor(total / 12), m = total - y * 12 + 1;
  return fmt("addMonths", {dt: v.dt, days: daysFromCivil(y, m, mmin(c[2], monthDays(y, m))), ms: v.ms});
});
def("daysBetween", function(a, b) {
  if (nil(a) || nil(b)) return null;
  return parse("daysBetween", b).days - parse("daysBetween", a).days;
});
function part(name, i) {
  def(name, function(d) { return nil(d) ? null : civil(parse(name, d).days)[i]; });
}
part("year", 0); part("month", 1); part("day", 2);
def("weekday", function(d) {
  if (nil(d)) return null;
  const days = parse("weekday", d).days;
  return ((days % 7) + 7 + 3) % 7 + 1; // 1970-01-01 was a Thursday (4)
});
def("startOfMonth", function(d) {
  if (nil(d)) return null;
  const c = civil(parse("startOfMonth", d).days);
  return fmtDate("startOfMonth", daysFromCivil(c[0], c[1], 1));
});
def("endOfMonth", function(d) {
  if (nil(d)) return null;
  const c = civil(parse("endOfMonth", d).days);
  return fmtDate("endOfMonth", daysFromCivil(c[0], c[1], monthDays(c[0], c[1])));
});
def("dateOf", function(d) { return nil(d) ? null : fmtDate("dateOf", parse("dateOf", d).days); });
// The global object stays extensible (Env globals), so its prototype could
// be swapped (e.g. to an object with getters) and the change would outlive
// the call: the three ways to set a prototype refuse to do it for the
// global object.
function guardProto(fn, name) {
  return function(o, p) {
    if (o === G) throw new TypeErr(name + ": the global object's prototype cannot be changed");
    return apply(fn, this, [o, p]);
  };
}
const setProto = Object.setPrototypeOf, reflectSetProto = Reflect.setPrototypeOf, protoDesc = Reflect.getOwnPropertyDescriptor(Object.prototype, "__proto__");
function fixFn(w, orig) { defProp(w, "name", {value: orig.name}); defProp(w, "length", {value: orig.length}); return w; }
defProp(Object, "setPrototypeOf", {value: fixFn(guardProto(setProto, "Object.setPrototypeOf"), setProto)});
defProp(Reflect, "setPrototypeOf", {value: fixFn(guardProto(reflectSetProto, "Reflect.setPrototypeOf"), reflectSetProto)});
if (protoDesc !== undefined && typeof protoDesc.set === "function") {
  const origSet = protoDesc.set;
  defProp(Object.prototype, "__proto__", {set: fixFn({set(p) {
    if (this === G) throw new TypeErr("__proto__: the global object's prototype cannot be changed");
    return apply(origSet, this, [p]);
  }}.set, origSet)});
}
})()`

// LibraryGlobals lists the helper functions libraryJS defines.
var LibraryGlobals = []string{
	"round", "floor", "ceil", "abs", "min", "max", "sum", "coalesce", "percent",
	"concat", "upper", "lower", "trim", "len", "left", "right", "contains", "startsWith", "endsWith", "isBlank", "padLeft",
	"today", "now", "addDays", "addMonths", "daysBetween", "year", "month", "day", "weekday", "startOfMonth", "endOfMonth", "dateOf",
}

var libraryPrg = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("forma:library", libraryJS, true)
})
