package script

import (
	"sync"

	"github.com/dop251/goja"
)

// One-shot allocation caps.
//
// The memory guard (memory.go) samples the heap every few milliseconds and
// goja only checks Interrupt between JS instructions, so one native built-in
// call that allocates a lot ("x".repeat(1e9), new ArrayBuffer(2**30)) or
// loops natively over a huge length (a = []; a.length = 1e9; a.join()) runs
// to completion before either limit can stop it. capsJS wraps those
// built-ins, before hardening freezes them, in JS functions that check the
// size up front and throw a RangeError "... exceeds the script memory limit"
// instead. The wrappers only use intrinsics captured at install time.
//
// Caps (per Engine, from Options.MaxMemory; see capLimits):
//   - strings: at most MaxMemory/2 code units per result (an ASCII string
//     costs 1 byte per unit in goja, others 2);
//   - native iteration / array results: at most MaxMemory/64 elements,
//     clamped to [4 Ki, 2 Mi] (1 Mi for the 64 MiB default). A goja array
//     slot is 16 bytes, so a dense array that long already holds a quarter
//     of the budget, and measured native loops over a sparse array cost
//     ~65 ns per element (fill ~500 ns, spread/Array.from ~1 µs), so one
//     uninterruptible built-in call stays around a second at worst;
//   - collecting through an iterator (spread, Array.from, new Set(...),
//     for-of too, which cannot be told apart): a quarter of that, as goja
//     spends ~1 µs and ~700 bytes of garbage per element doing it natively;
//   - ArrayBuffer / typed arrays: at most MaxMemory/2 bytes; typed array
//     join/toLocaleString at most the array cap.
//
// Wrapped: String.prototype repeat, padStart, padEnd, concat, split,
// replace, replaceAll, [Symbol.iterator]; RegExp.prototype[Symbol.replace];
// Array.prototype join (result size, see below), concat (result length),
// flat (nested lengths), flatMap (callback results) and every method that
// loops natively over this.length, including keys/values/entries and
// [Symbol.iterator] (spread and Array.from collect through them);
// Array.from with an array-like; Function.prototype.apply, Reflect.apply,
// Reflect.construct (they copy an array-like into an argument list);
// JSON.stringify (arrays measured and output counted through a guard
// replacer); the ArrayBuffer, SharedArrayBuffer (absent in goja) and every
// typed array constructor (replaced by JS constructors that keep
// prototype, statics, instanceof, subclassing and species working).
//
// goja findings (measured, goja 2026-09): new Array(1e9) and a.length = 1e9
// are sparse and cheap, so the Array constructor is left alone. Eager:
// repeat/padStart/padEnd, ArrayBuffer and typed arrays, Array.from of an
// array-like, fill (densifies), map/slice/splice/sort/concat/flat (allocate
// up to length), split, apply-style argument copies (make([]Value, length)),
// spread. Native loops over length without allocating much: join,
// indexOf/includes/lastIndexOf, forEach/some/every/find*, reduce, reverse,
// copyWithin, shift/unshift. Not coverable from JS: operators. String +
// grows a string by at most the two operands (the memory guard sees it
// between instructions); BigInt operators cannot run at all, as no BigInt
// value can be made (forbid.go).
//
// Further down: regexp matching (exec/test wrappers: a scan budget and the
// regexp2 timeout), default sort, replaceAll with a string pattern,
// JSON.parse, case mapping, localeCompare, Object.keys & co. over arrays and
// strings, Symbol.for, and the removal of BigInt and of code generation
// from strings (eval, Function).
//
// Receivers and array-likes whose length is an accessor or comes through a
// Proxy are refused by the wrapped methods unless they are genuine arrays
// (the wrapper could not otherwise be sure the built-in sees the length it
// checked). Wrappers convert arguments once and pass primitives on, so
// user valueOf/toString run exactly once, as with the built-ins.
const capsJS = `(function(maxStr, maxArr, maxBytes, isProxy, reRefusal, jsonCost, reCost, reBudget, reTimeoutMs, classOf) {
"use strict";
const apply = Reflect.apply, construct = Reflect.construct, gopd = Reflect.getOwnPropertyDescriptor, defProp = Object.defineProperty,
  getProto = Object.getPrototypeOf, setProto = Object.setPrototypeOf, ownKeys = Reflect.ownKeys, isArray = Array.isArray,
  RangeErr = RangeError, TypeErr = TypeError, Str = String, Num = Number, floor = Math.floor, trunc = Math.trunc,
  SymIter = Symbol.iterator, SymSpread = Symbol.isConcatSpreadable, G = globalThis;
// Collecting through an iterator (spread, Array.from, new Set) costs ~1 µs
// and ~700 bytes of garbage per element in goja, natively: a lower cap.
const maxIter = floor(maxArr / 4);
function tooBig(what) { throw new RangeErr(what + " exceeds the script memory limit"); }
function toInt(v) { const n = Num(v); return n !== n ? 0 : trunc(n); }
function toLen(v) { const n = toInt(v); return n < 0 ? 0 : n; }
// dataGet reads o[key] without running script code (no getters, no Proxy
// traps), so a built-in reading it again afterwards sees the same value.
function dataGet(o, key, what) {
  for (let p = o; p !== null; p = getProto(p)) {
    if (isProxy(p)) throw new TypeErr(what + ": Proxy objects are not supported here");
    const d = gopd(p, key);
    if (d !== undefined) {
      if (!("value" in d)) throw new TypeErr(what + ": accessor '" + Str(key) + "' is not supported here");
      return d.value;
    }
  }
  return undefined;
}
function isObj(v) { return (typeof v === "object" && v !== null) || typeof v === "function"; }
// lenOf is LengthOfArrayLike(o) for a receiver or array-like.
function lenOf(o, what) {
  if (!isObj(o)) {
    if (o === null || o === undefined) return 0; // the built-in throws
    return typeof o === "string" ? o.length : 0;
  }
  if (isArray(o) && !isProxy(o)) return o.length;
  return toLen(dataGet(o, "length", what));
}
function checkLen(o, what) { if (lenOf(o, what) > maxArr) tooBig(what + " on an array of more than " + maxArr + " elements"); }
function fix(w, orig) {
  defProp(w, "name", {value: orig.name, configurable: true});
  defProp(w, "length", {value: orig.length, configurable: true});
  return w;
}
function replace(obj, key, make) {
  const d = gopd(obj, key);
  if (d === undefined || typeof d.value !== "function") return;
  d.value = fix(make(d.value), d.value);
  defProp(obj, key, d);
}
function str(v, what) {
  if (v === null || v === undefined) throw new TypeErr(what + " called on null or undefined");
  return Str(v);
}

// --- String.prototype
const SP = String.prototype;
replace(SP, "repeat", orig => ({repeat(count) {
  const s = str(this, "String.prototype.repeat"), n = toInt(count);
  if (n > 0 && n !== Infinity && s.length * n > maxStr) tooBig("String.prototype.repeat result");
  return apply(orig, s, [n]);
}}).repeat);
for (const k of ["padStart", "padEnd"]) replace(SP, k, orig => ({pad(maxLength, fill) {
  const s = str(this, "String.prototype." + k), n = toLen(maxLength), f = fill === undefined ? undefined : Str(fill);
  if (n > maxStr && n > s.length && f !== "") tooBig("String.prototype." + k + " result");
  return apply(orig, s, [n, f]);
}}).pad);
replace(SP, "concat", orig => ({concat(...parts) {
  const s = str(this, "String.prototype.concat");
  let total = s.length;
  for (let i = 0; i < parts.length; i++) { parts[i] = Str(parts[i]); total += parts[i].length; }
  if (total > maxStr) tooBig("String.prototype.concat result");
  return apply(orig, s, parts);
}}).concat);
replace(SP, "split", orig => ({split(sep, limit) {
  const s = str(this, "String.prototype.split");
  const lim = limit === undefined ? 4294967295 : Num(limit) >>> 0;
  if (lim <= maxArr) return apply(orig, s, [sep, lim]);
  if (sep === "" && s.length > maxArr) tooBig("String.prototype.split result of more than " + maxArr + " parts");
  const r = apply(orig, s, [sep, maxArr + 1]);
  if (r.length > maxArr) tooBig("String.prototype.split result of more than " + maxArr + " parts");
  return r;
}}).split);
replace(SP, SymIter, orig => ({[SymIter]() {
  const s = str(this, "String.prototype[Symbol.iterator]");
  if (s.length > maxIter) tooBig("iterating a string of more than " + maxIter + " characters");
  return apply(orig, s, []);
}})[SymIter]);

// replace/replaceAll with a replacement string: the result can be far
// larger than the input ("$" + backtick repeats the prefix per match). When a cheap
// upper bound exceeds maxStr, the replacement string is applied through a
// callback (GetSubstitution in JS), so the built-in calls back into JS per
// match and the result is counted as it grows.
const sIndexOf = SP.indexOf, sSlice = SP.slice, sCharCode = SP.charCodeAt, SymReplace = Symbol.replace;
function substitution(r, matched, position, str, caps, groups) {
  let out = "";
  for (let i = 0; i < r.length; i++) {
    const c = r[i];
    if (c !== "$" || i + 1 >= r.length) { out += c; continue; }
    const n = r[i + 1];
    if (n === "$") { out += "$"; i++; }
    else if (n === "&") { out += matched; i++; }
    else if (n === "\u0060") { out += apply(sSlice, str, [0, position]); i++; }
    else if (n === "'") { out += apply(sSlice, str, [position + matched.length]); i++; }
    else if (n >= "0" && n <= "9") {
      const d1 = apply(sCharCode, n, [0]) - 48, n2 = i + 2 < r.length ? r[i + 2] : "";
      const d2 = n2 >= "0" && n2 <= "9" ? d1 * 10 + (apply(sCharCode, n2, [0]) - 48) : -1;
      if (d2 >= 1 && d2 <= caps.length) { const v = caps[d2 - 1]; out += v === undefined ? "" : Str(v); i += 2; }
      else if (d1 >= 1 && d1 <= caps.length) { const v = caps[d1 - 1]; out += v === undefined ? "" : Str(v); i++; }
      else out += c;
    } else if (n === "<" && groups !== undefined) {
      const end = apply(sIndexOf, r, [">", i + 2]);
      if (end < 0) { out += c; continue; }
      const v = groups[apply(sSlice, r, [i + 2, end])];
      out += v === undefined ? "" : Str(v);
      i = end;
    } else out += c;
  }
  return out;
}
function countingReplacer(r, what) {
  let total = 0;
  return function(matched, ...rest) {
    let groups;
    if (typeof rest[rest.length - 1] !== "string") groups = rest.pop();
    const str = rest.pop(), position = rest.pop();
    const v = substitution(r, matched, position, str, rest, groups);
    if ((total += v.length) > maxStr) tooBig(what + " result");
    return v;
  };
}
// replaceBound is an upper bound on the result length. Matches do not
// overlap, so "$&" adds at most sLen in total; "$\u0060", "$'" and (for
// regexps, whose captures may overlap through lookaround) "$n" / "$<name>"
// add up to sLen per match.
function replaceBound(sLen, r, matches, patLen, isRe) {
  let b = sLen + matches * r.length;
  for (let i = apply(sIndexOf, r, ["$"]); i >= 0 && i + 1 < r.length; i = apply(sIndexOf, r, ["$", i + 2])) {
    const n = r[i + 1];
    if (n === "&") b += isRe ? sLen : matches * patLen;
    else if (n === "\u0060" || n === "'" || (isRe && (n === "<" || (n >= "0" && n <= "9")))) b += matches * sLen;
  }
  return b;
}
// replaceAll with a string pattern: the built-in collects every position
// natively first (~330 bytes each: "x".repeat(1 << 24).replaceAll("x", "")
// allocated 5 GB over 22 s). Past maxNativeMatches possible matches the
// positions are found here with indexOf, one at a time, and the result is
// built as they are found.
const maxNativeMatches = floor(maxBytes / 1024);
function jsReplaceAll(s, p, replacement, fn, what) {
  const adv = p.length > 0 ? p.length : 1, parts = [];
  let total = 0, next = 0, n = 0;
  for (let pos = apply(sIndexOf, s, [p, 0]); pos >= 0; pos = pos + adv > s.length ? -1 : apply(sIndexOf, s, [p, pos + adv])) {
    if (++n > maxArr) tooBig(what + " with more than " + maxArr + " matches");
    const rep = fn ? Str(apply(replacement, undefined, [p, pos, s])) : substitution(replacement, p, pos, s, none, undefined);
    const pre = apply(sSlice, s, [next, pos]);
    if ((total += pre.length + rep.length) > maxStr) tooBig(what + " result");
    parts[parts.length] = pre;
    parts[parts.length] = rep;
    next = pos + p.length;
  }
  const rest = apply(sSlice, s, [next]);
  if (total + rest.length > maxStr) tooBig(what + " result");
  parts[parts.length] = rest;
  return apply(AP.join, parts, [""]);
}
for (const k of ["replace", "replaceAll"]) replace(SP, k, orig => ({[k](pattern, replacement) {
  const s = str(this, "String.prototype." + k), what = "String.prototype." + k;
  if (isObj(pattern)) return apply(orig, s, [pattern, replacement]);
  const p = Str(pattern), fn = typeof replacement === "function", r = fn ? "" : Str(replacement);
  const matches = k === "replace" ? 1 : (p.length === 0 ? s.length + 1 : floor(s.length / p.length));
  if (matches > maxNativeMatches) return jsReplaceAll(s, p, fn ? replacement : r, fn, what);
  if (fn) return apply(orig, s, [p, replacement]);
  if (replaceBound(s.length, r, matches, p.length, false) <= maxStr) return apply(orig, s, [p, r]);
  return apply(orig, s, [p, countingReplacer(r, what)]);
}})[k]);
const RP = RegExp.prototype;
replace(RP, SymReplace, orig => ({[SymReplace](string, replacement) {
  const s = Str(string);
  if (typeof replacement === "function") return apply(orig, this, [s, replacement]);
  const r = Str(replacement);
  // assume a global regexp: up to s.length + 1 (empty) matches
  if (replaceBound(s.length, r, s.length + 1, 0, true) <= maxStr) return apply(orig, this, [s, r]);
  return apply(orig, this, [s, countingReplacer(r, "RegExp.prototype[Symbol.replace]")]);
}})[SymReplace]);

// --- Array.prototype: every method that loops natively over this.length.
const AP = Array.prototype;
for (const k of ["fill", "map", "forEach", "filter", "reduce", "reduceRight", "indexOf", "lastIndexOf", "includes",
    "slice", "splice", "reverse", "sort", "copyWithin", "some", "every", "find", "findIndex", "findLast", "findLastIndex",
    "toReversed", "toSorted", "toSpliced", "with", "shift", "unshift", "toLocaleString"]) {
  replace(AP, k, orig => ({[k](...args) { checkLen(this, "Array.prototype." + k); return apply(orig, this, args); }})[k]);
}
// Iterators read length on every step: through a getter or Proxy trap that
// is script code (interruptible), so one plain read is enough here; only a
// genuine huge array would be collected natively (spread, Array.from).
const none = Object.freeze([]);
for (const k of ["keys", "values", "entries"]) {
  replace(AP, k, orig => ({[k]() {
    if (this !== null && this !== undefined && this.length > maxIter) tooBig("iterating an array of more than " + maxIter + " elements");
    return apply(orig, this, none);
  }})[k]);
}
// Typed arrays: length is bounded by the buffer cap, but join/toString
// (~40 ns and 20 bytes per element) and iterator collection are not cheap.
// The intrinsic length getter reads the internal length (an own "length"
// property on the instance cannot fool it).
const TAP = getProto(Int8Array.prototype), taLenD = gopd(TAP, "length");
const taLen = taLenD !== undefined ? taLenD.get : undefined;
function typedLen(o) { try { return apply(taLen, o, none); } catch (e) { return 0; } } // not a typed array: the built-in throws
// sort without a comparator: the built-in compares natively, O(n log n)
// ToString conversions (measured: 5-7 s for 1 Mi elements, uninterruptible).
// Past maxNativeSort elements the same order is given by a comparator in
// JS, so every comparison is a point where the time limit can stop it.
// (The built-in keeps undefined and holes last before it calls one.)
const maxNativeSort = 8192, numCompare = (a, b) => a < b ? -1 : a > b ? 1 : a === 0 && b === 0 ? (1 / a < 1 / b ? -1 : 1 / a > 1 / b ? 1 : 0) : a === a ? (b === b ? 0 : -1) : (b === b ? 1 : 0);
function strCompare(a, b) { const x = Str(a), y = Str(b); return x < y ? -1 : x > y ? 1 : 0; }
for (const k of ["sort", "toSorted"]) {
  replace(AP, k, orig => ({[k](comparefn) {
    if (comparefn === undefined && lenOf(this, "Array.prototype." + k) > maxNativeSort) comparefn = strCompare;
    return apply(orig, this, [comparefn]);
  }})[k]);
  replace(TAP, k, orig => ({[k](comparefn) {
    if (comparefn === undefined && typedLen(this) > maxNativeSort) comparefn = numCompare;
    return apply(orig, this, [comparefn]);
  }})[k]);
}
for (const k of ["join", "toLocaleString"]) {
  replace(TAP, k, orig => ({[k](...args) {
    if (typedLen(this) > maxArr) tooBig("%TypedArray%.prototype." + k + " on more than " + maxArr + " elements");
    return apply(orig, this, args);
  }})[k]);
}
for (const k of ["keys", "values", "entries"]) {
  replace(TAP, k, orig => ({[k]() {
    if (typedLen(this) > maxIter) tooBig("iterating a typed array of more than " + maxIter + " elements");
    return apply(orig, this, none);
  }})[k]);
}
defProp(TAP, SymIter, {value: TAP.values});
// Array.prototype[Symbol.iterator] is the same function as values.
defProp(AP, SymIter, {value: AP.values});
// join: the result size is checked before the built-in concatenates. Arrays
// of primitives are summed in place (a number or boolean counts as 24 units);
// otherwise (objects, whose ToString may be native and large, e.g. String
// objects, or array-likes, which could answer differently on a second read)
// every element is converted once here and the built-in joins those strings.
replace(AP, "join", orig => ({join(sep) {
  if (this === null || this === undefined) return apply(orig, this, [sep]); // throws
  const o = this, n = lenOf(o, "Array.prototype.join");
  if (n > maxArr) tooBig("Array.prototype.join on an array of more than " + maxArr + " elements");
  const s = sep === undefined ? "," : Str(sep), base = n > 0 ? (n - 1) * s.length : 0;
  let total = base;
  if (total > maxStr) tooBig("Array.prototype.join result");
  let simple = isArray(o) && !isProxy(o);
  for (let i = 0; simple && i < n; i++) {
    const v = o[i];
    if (typeof v === "string") { if ((total += v.length) > maxStr) tooBig("Array.prototype.join result"); }
    else if (isObj(v) || typeof v === "bigint") simple = false;
    else total += 24;
  }
  if (simple) return apply(orig, o, [s]);
  const parts = [];
  total = base;
  for (let i = 0; i < n; i++) {
    const v = o[i], p = v === null || v === undefined ? "" : Str(v);
    if ((total += p.length) > maxStr) tooBig("Array.prototype.join result");
    parts[i] = p;
  }
  return apply(orig, parts, [s]);
}}).join);
function spreads(v) {
  if (!isObj(v)) return false;
  const s = dataGet(v, SymSpread, "Array.prototype.concat");
  return s !== undefined ? !!s : isArray(v);
}
replace(AP, "concat", orig => ({concat(...items) {
  let total = spreads(this) ? lenOf(this, "Array.prototype.concat") : 1;
  for (let i = 0; i < items.length; i++) total += spreads(items[i]) ? lenOf(items[i], "Array.prototype.concat") : 1;
  if (total > maxArr) tooBig("Array.prototype.concat result of more than " + maxArr + " elements");
  return apply(orig, this, items);
}}).concat);
// flat: the nested arrays it will descend into are measured first (in JS,
// so the walk itself stays interruptible).
function flatCount(o, depth, what) {
  const n = lenOf(o, what);
  let total = n;
  if (total > maxArr) return total;
  if (depth >= 1) {
    for (let i = 0; i < n; i++) {
      const v = o[i];
      if (isArray(v)) { total += flatCount(v, depth - 1, what); if (total > maxArr) return total; }
    }
  }
  return total;
}
replace(AP, "flat", orig => ({flat(depth) {
  const d = depth === undefined ? 1 : toInt(depth);
  if (flatCount(this, d, "Array.prototype.flat") > maxArr) tooBig("Array.prototype.flat on more than " + maxArr + " elements");
  return apply(orig, this, [d]);
}}).flat);
replace(AP, "flatMap", orig => ({flatMap(fn, thisArg) {
  checkLen(this, "Array.prototype.flatMap");
  if (typeof fn !== "function") return apply(orig, this, [fn, thisArg]);
  return apply(orig, this, [function(v, i, a) {
    const r = apply(fn, thisArg, [v, i, a]);
    if (isArray(r)) checkLen(r, "Array.prototype.flatMap");
    return r;
  }]);
}}).flatMap);

// --- Array.from with an array-like (iterables go through the wrapped iterators).
replace(Array, "from", orig => ({from(items, ...rest) {
  if (isObj(items)) {
    const it = dataGet(items, SymIter, "Array.from");
    if (it === undefined || it === null) checkLen(items, "Array.from");
  }
  return apply(orig, this, [items, ...rest]);
}}).from);

// --- apply-style calls copy an array-like into an argument list.
function checkArgs(a, what) {
  if (a !== null && a !== undefined && isObj(a) && lenOf(a, what) > maxArr) tooBig(what + " with more than " + maxArr + " arguments");
}
const FP = Function.prototype;
replace(FP, "apply", orig => ({apply(thisArg, args) { checkArgs(args, "Function.prototype.apply"); return apply(orig, this, [thisArg, args]); }}).apply);
replace(Reflect, "apply", orig => ({apply(fn, thisArg, args) { checkArgs(args, "Reflect.apply"); return apply(orig, undefined, [fn, thisArg, args]); }}).apply);
replace(Reflect, "construct", orig => ({construct(fn, args, ...nt) { checkArgs(args, "Reflect.construct"); return apply(orig, undefined, [fn, args, ...nt]); }}).construct);

// --- JSON.stringify: a guard replacer sees every value after toJSON, so
// arrays are measured before the built-in loops over them and string output
// is counted.
function guardedStringify(orig, value, replacer, space) {
  let total = 0;
  const allow = isArray(replacer) ? replacer : undefined;
  function guard(k, v) {
    if (allow !== undefined && !isArray(this) && k !== "") {
      let ok = false;
      for (let i = 0; i < allow.length; i++) { const a = allow[i]; if ((typeof a === "string" || typeof a === "number") && Str(a) === k) { ok = true; break; } }
      if (!ok) return undefined;
    }
    if (isArray(v)) { const n = lenOf(v, "JSON.stringify"); if (n > maxArr) tooBig("JSON.stringify of an array of more than " + maxArr + " elements"); total += n; }
    else if (typeof v === "string") total += v.length + k.length;
    else total += k.length + 1;
    if (total > maxStr) tooBig("JSON.stringify result");
    return v;
  }
  if (allow === undefined) return orig(value, guard, space);
  orig(value, guard, space); // validation pass with the same key filter
  return orig(value, replacer, space);
}
replace(JSON, "stringify", orig => ({stringify(value, replacer, space) {
  // A primitive has nothing to loop over; with a replacer function the
  // built-in calls back into JS for every value, so it stays interruptible.
  if (!isObj(value) || typeof replacer === "function") return orig(value, replacer, space);
  return guardedStringify(orig, value, replacer, space);
}}).stringify);

// --- ArrayBuffer and typed array constructors.
function toIndex(v, what) {
  const n = toInt(v);
  if (n < 0 || n > 9007199254740991) throw new RangeErr(what + ": invalid length");
  return n;
}
function wrapCtor(name, check) {
  const d = gopd(G, name);
  if (d === undefined || typeof d.value !== "function") return;
  const orig = d.value;
  const W = fix(({[name]: function(...args) {
    if (new.target === undefined) throw new TypeErr("Constructor " + name + " requires 'new'");
    check(args);
    return construct(orig, args, new.target === W ? orig : new.target);
  }})[name], orig);
  for (const k of ownKeys(orig)) {
    if (k === "name" || k === "length" || k === "prototype") continue;
    defProp(W, k, gopd(orig, k));
  }
  defProp(W, "prototype", {value: orig.prototype, writable: false, enumerable: false, configurable: false});
  defProp(orig.prototype, "constructor", {value: W, writable: true, enumerable: false, configurable: true});
  setProto(W, getProto(orig));
  d.value = W;
  defProp(G, name, d);
}
// isBuffer is a brand check: the native byteLength getters throw for
// anything but a real (Shared)ArrayBuffer and run no script code.
const bufLen = [];
for (const name of ["ArrayBuffer", "SharedArrayBuffer"]) {
  const C = G[name], d = typeof C === "function" ? gopd(C.prototype, "byteLength") : undefined;
  if (d !== undefined && typeof d.get === "function") bufLen.push(d.get);
}
function isBuffer(a) {
  if (isProxy(a)) return false;
  for (let i = 0; i < bufLen.length; i++) { try { apply(bufLen[i], a, []); return true; } catch (e) {} }
  return false;
}
for (const name of ["ArrayBuffer", "SharedArrayBuffer"]) wrapCtor(name, args => {
  const n = toIndex(args[0], name);
  if (n > maxBytes) tooBig(name + " of " + n + " bytes");
  args[0] = n;
});
for (const name of ["Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
    "Float16Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array"]) {
  const C = G[name];
  if (typeof C !== "function") continue;
  const bpe = C.BYTES_PER_ELEMENT;
  wrapCtor(name, args => {
    const a = args[0];
    let n;
    if (!isObj(a)) {
      n = a === undefined ? 0 : toIndex(a, name);
      args[0] = n;
    } else if (isBuffer(a)) {
      return; // a view on an existing buffer allocates nothing
    } else {
      const it = dataGet(a, SymIter, name);
      n = it === undefined || it === null ? lenOf(a, name) : (isArray(a) && !isProxy(a) ? a.length : 0);
    }
    if (n * bpe > maxBytes) tooBig(name + " of " + n + " elements");
  });
}

// --- No BigInt (forbid.go): literals are refused at compile time; these are
// every way to make a BigInt value at run time.
for (const name of ["BigInt", "BigInt64Array", "BigUint64Array"]) delete G[name];
if (typeof DataView === "function") {
  for (const k of ["getBigInt64", "setBigInt64", "getBigUint64", "setBigUint64"]) delete DataView.prototype[k];
}

// --- No code generation from strings (forbid.go): compiling is running
// too (constant folding), outside the compile-time checks.
function noCodeGen(name) {
  const f = ({[name]: function() { throw new EvalError(name + ": code generation from strings is disabled in Forma scripts"); }})[name];
  return f;
}
{
  const Fn = noCodeGen("Function");
  defProp(Fn, "prototype", {value: Function.prototype, writable: false, enumerable: false, configurable: false});
  defProp(Function.prototype, "constructor", {value: Fn, writable: true, enumerable: false, configurable: true});
  defProp(G, "Function", {value: Fn, writable: true, enumerable: false, configurable: true});
  defProp(G, "eval", {value: noCodeGen("eval"), writable: true, enumerable: false, configurable: true});
  for (const [name, proto] of [["GeneratorFunction", getProto(function*(){})], ["AsyncFunction", getProto(async function(){})]]) {
    const C = noCodeGen(name);
    defProp(C, "prototype", {value: proto, writable: false, enumerable: false, configurable: false});
    defProp(proto, "constructor", {value: C, writable: false, enumerable: false, configurable: true});
  }
}

// --- Regular expressions: only patterns that run on RE2 (forbid.go).
const RE = RegExp, reSource = gopd(RP, "source").get, reUnicode = gopd(RP, "unicode").get, reDotAll = gopd(RP, "dotAll").get;
function isRegExp(v) {
  if (!isObj(v) || isProxy(v) || v === RP) return false;
  try { apply(reSource, v, none); return true; } catch (e) { return false; }
}
function checkPattern(p, f) {
  const why = reRefusal(p, f);
  if (why !== "") throw new SyntaxError(why);
}
{
  const W = fix(({RegExp: function(pattern, flags) {
    let p, f;
    if (isRegExp(pattern)) {
      p = apply(reSource, pattern, none);
      f = flags === undefined ? (apply(reUnicode, pattern, none) ? "u" : "") + (apply(reDotAll, pattern, none) ? "s" : "") : (flags = Str(flags));
    } else {
      // Converted once here, so the built-in sees the checked text.
      p = pattern = pattern === undefined ? "" : Str(pattern);
      f = flags = flags === undefined ? "" : Str(flags);
    }
    checkPattern(p, f);
    if (new.target === undefined) return apply(RE, undefined, [pattern, flags]);
    return construct(RE, [pattern, flags], new.target === W ? RE : new.target);
  }}).RegExp, RE);
  for (const k of ownKeys(RE)) {
    if (k === "name" || k === "length" || k === "prototype") continue;
    defProp(W, k, gopd(RE, k));
  }
  defProp(W, "prototype", {value: RP, writable: false, enumerable: false, configurable: false});
  defProp(RP, "constructor", {value: W, writable: true, enumerable: false, configurable: true});
  setProto(W, getProto(RE));
  defProp(G, "RegExp", {value: W, writable: true, enumerable: false, configurable: true});
  delete RP.compile; // Annex B: recompiles a regexp in place from a string
}
// String methods that build a regexp from a string with the intrinsic
// RegExp (not the global one checked above).
const SymMatch = Symbol.match, SymMatchAll = Symbol.matchAll, SymSearch = Symbol.search, SymSplit = Symbol.split;
for (const [k, sym, fl] of [["match", SymMatch, ""], ["matchAll", SymMatchAll, "g"], ["search", SymSearch, ""]]) {
  replace(SP, k, orig => ({[k](regexp) {
    if (regexp !== undefined && regexp !== null) {
      if (isObj(regexp)) {
        // A regexp, or an object with its own matcher: the built-in calls
        // it. Any other object becomes a pattern through its text.
        if (!isRegExp(regexp) && typeof dataGet(regexp, sym, "String.prototype." + k) !== "function") regexp = Str(regexp);
      } else regexp = Str(regexp);
      if (typeof regexp === "string") checkPattern(regexp, fl);
    }
    return apply(orig, this, [regexp]);
  }})[k]);
}

// Matching. Every regexp operation (match, matchAll, replace, split,
// search, test) ends in RegExp.prototype.exec or test: goja's generic paths,
// which all runtimes use once the prototype is frozen, look exec up per
// match and loop natively. With exec and test wrapped in JS here, each match
// enters the VM, so the time limit and the memory guard can stop a loop of
// matches between two of them. What one match may cost is bounded too:
//   - the first scan (lastIndex 0) runs on RE2, in time linear in the input
//     but proportional to the compiled pattern's size (measured up to ~35 ns
//     per character and instruction: (?:a*){1000}b takes 35 s over 500 k
//     characters). reCost (Go) gives that size; input × size may not exceed
//     reBudget, derived from the call's time limit.
//   - goja runs a scan from lastIndex > 0 on regexp2, a backtracking
//     engine, even for RE2 patterns: (a+)+b is exponential there. regexp2
//     gives up after a timeout (forbid.go) and reports "no match"; a null
//     result that took reTimeoutMs or more is turned into a RangeError here
//     so the script does not go on with a possibly wrong answer.
const sCodeAt = SP.charCodeAt, now = Date.now, reIgnoreCase = gopd(RP, "ignoreCase").get, reMultiline = gopd(RP, "multiline").get,
  reGlobal = gopd(RP, "global").get, reSticky = gopd(RP, "sticky").get;
// A regexp's source and flags never change (RegExp.prototype.compile is
// removed), so what the checks need is computed once per regexp object:
// [program size, global or sticky], or null for a non-regexp.
const reInfo = new WeakMap(), wmGet = WeakMap.prototype.get, wmSet = WeakMap.prototype.set;
function infoOf(rx) {
  if (!isObj(rx)) return null;
  let i = apply(wmGet, reInfo, [rx]);
  if (i !== undefined) return i;
  try {
    const src = apply(reSource, rx, none);
    const fl = (apply(reIgnoreCase, rx, none) ? "i" : "") + (apply(reMultiline, rx, none) ? "m" : "") + (apply(reDotAll, rx, none) ? "s" : "") + (apply(reUnicode, rx, none) ? "u" : "");
    i = [reCost(src, fl), apply(reGlobal, rx, none) || apply(reSticky, rx, none), src];
  } catch (e) { i = null; } // not a regexp: the built-in throws
  apply(wmSet, reInfo, [rx, i]);
  return i;
}
// lastIndexOf reads a regexp's lastIndex (an own data property, never an
// accessor) as the built-in will: a value that is not a number (an object
// with valueOf) is converted once here and stored back, so the built-in
// cannot be handed a different start than the one checked.
function lastIndexOf(rx) {
  const v = rx.lastIndex;
  if (typeof v === "number") return toLen(v);
  const n = toLen(v);
  rx.lastIndex = n;
  return n;
}
// scanCheck refuses a scan whose input × program size exceeds the budget;
// it returns whether goja will scan on regexp2 (a global or sticky regexp
// from lastIndex > 0; patterns that need regexp2 are refused).
function scanCheck(rx, s, what) {
  const i = infoOf(rx);
  if (i === null) return false;
  const li = i[1] ? lastIndexOf(rx) : 0, n = li < s.length ? s.length - li : 0;
  if (n * i[0] > reBudget) throw new RangeErr(what + ": matching /" + apply(sSlice, i[2], [0, 40]) + "/ over " + n + " characters exceeds the script time limit");
  return li > 0;
}
// A regexp2 scan that gives up answers "no match": when a no-match took
// reTimeoutMs or more (wall time, like regexp2's clock; see forbid.go),
// the answer may be wrong, so the script gets an error instead.
function timedOut(t0, what) {
  if (now() - t0 >= reTimeoutMs) throw new RangeErr(what + ": a single match took longer than " + reTimeoutMs + " ms and was abandoned (the pattern backtracks too much on this text)");
}
replace(RP, "exec", orig => ({exec(string) {
  const s = Str(string);
  if (!scanCheck(this, s, "RegExp.prototype.exec")) return apply(orig, this, [s]);
  const t0 = now(), r = apply(orig, this, [s]);
  if (r === null) timedOut(t0, "RegExp.prototype.exec");
  return r;
}}).exec);
replace(RP, "test", orig => ({test(string) {
  const s = Str(string);
  if (!scanCheck(this, s, "RegExp.prototype.test")) return apply(orig, this, [s]);
  const t0 = now(), r = apply(orig, this, [s]);
  if (r === false) timedOut(t0, "RegExp.prototype.test");
  return r;
}}).test);
// split: goja's generic path (the one frozen runtimes take) tries a sticky
// copy of the regexp at every position, each one a call of the wrapped exec
// (~10 µs): seconds for a 100 kB text. jsSplit finds the matches with a
// global copy instead, one exec per match, which gives the same parts.
function jsSplit(rx, s, lim) {
  const f = flagsOf(rx), fu = hasFlag(f, "u") || hasFlag(f, "v");
  let gf = "g";
  for (const c of ["i", "m", "s", "u", "v"]) if (hasFlag(f, c)) gf += c;
  const g = new G.RegExp(rx, gf), out = [], size = s.length;
  if (lim === 0) return out;
  if (size === 0) return regExpExec(g, s) !== null ? out : [s];
  let p = 0, q = 0;
  while (q < size) {
    g.lastIndex = q;
    const z = regExpExec(g, s);
    if (z === null) break;
    const m = toLen(z.index);
    if (m >= size) break;
    const e = Math.min(toLen(g.lastIndex), size);
    if (e === p) { q = advance(s, m, fu); continue; }
    out[out.length] = apply(sSlice, s, [p, m]);
    if (out.length === lim) return out;
    if (out.length > maxArr) tooBig("RegExp.prototype[Symbol.split] result of more than " + maxArr + " parts");
    p = e;
    for (let i = 1, n = toLen(z.length); i < n; i++) {
      out[out.length] = z[i];
      if (out.length === lim) return out;
    }
    q = p === m ? advance(s, p, fu) : p;
  }
  out[out.length] = apply(sSlice, s, [p]);
  return out;
}
replace(RP, SymSplit, orig => ({[SymSplit](string, limit) {
  const s = Str(string), lim = limit === undefined ? 4294967295 : Num(limit) >>> 0;
  // A plain regexp (not a subclass with its own species or exec).
  if (infoOf(this) !== null && this.constructor === G.RegExp && this.exec === RP.exec) return jsSplit(this, s, lim);
  if (lim <= maxArr) return apply(orig, this, [s, lim]);
  const r = apply(orig, this, [s, maxArr + 1]);
  if (r.length > maxArr) tooBig("RegExp.prototype[Symbol.split] result of more than " + maxArr + " parts");
  return r;
}})[SymSplit]);
function regExpExec(rx, s) {
  const ex = rx.exec;
  if (typeof ex !== "function") return apply(RP.exec, rx, [s]);
  const r = apply(ex, rx, [s]);
  if (r !== null && !isObj(r)) throw new TypeErr("exec result must be an object or null");
  return r;
}
function advance(s, i, fullUnicode) {
  if (!fullUnicode || i + 1 >= s.length) return i + 1;
  const c = apply(sCodeAt, s, [i]);
  if (c < 0xD800 || c > 0xDBFF) return i + 1;
  const d = apply(sCodeAt, s, [i + 1]);
  return d >= 0xDC00 && d <= 0xDFFF ? i + 2 : i + 1;
}
function flagsOf(rx) { return Str(rx.flags); }
function hasFlag(f, c) { return apply(sIndexOf, f, [c]) >= 0; }

// --- JSON.parse: the built-in builds the whole value natively. jsonCost
// (Go) estimates what goja will allocate for the text before it runs.
replace(JSON, "parse", orig => ({parse(text, reviver) {
  const s = Str(text);
  if (jsonCost(s) > maxBytes / 2) tooBig("JSON.parse of " + s.length + " characters");
  return apply(orig, JSON, [s, reviver]);
}}).parse);

// --- Natively grown strings: a bound on what each allocates per input
// character (case mapping and normalization go through x/text on runes:
// "\u00e9".repeat(1e7).toUpperCase() allocated 351 MB; localeCompare of two
// 30 M strings 1.2 GB).
for (const [obj, k, factor] of [[G, "encodeURI", 9], [G, "encodeURIComponent", 9], [G, "escape", 6],
    [SP, "normalize", 40], [SP, "toUpperCase", 40], [SP, "toLowerCase", 40], [SP, "toLocaleUpperCase", 40], [SP, "toLocaleLowerCase", 40]]) {
  replace(obj, k, orig => ({[k](...args) {
    if (obj === G) {
      const s = Str(args[0]);
      if (s.length * factor > maxStr) tooBig(k + " of " + s.length + " characters");
      return apply(orig, undefined, [s]);
    }
    const s = str(this, "String.prototype." + k);
    if (s.length * factor > maxStr) tooBig("String.prototype." + k + " of " + s.length + " characters");
    return apply(orig, s, args);
  }})[k]);
}
replace(SP, "localeCompare", orig => ({localeCompare(that, ...rest) {
  const s = str(this, "String.prototype.localeCompare"), t = Str(that);
  if ((s.length + t.length) * 40 > maxStr) tooBig("String.prototype.localeCompare of " + (s.length + t.length) + " characters");
  return apply(orig, s, [t, ...rest]);
}}).localeCompare);

// --- Own keys, values and entries: for an array, a typed array or a string
// the built-ins make one entry per element natively (Object.keys of a 30 M
// character string allocated 3 GB; of a 1 Mi array 265 MB). Ordinary
// objects hold their properties already, so listing them costs about as
// much again, which the memory guard sees.
// elementCount runs for every object hardening freezes and lists, so it
// throws nothing for ordinary objects (exceptions cost ~1 µs each).
const sValueOf = SP.valueOf, isView = ArrayBuffer.isView;
function elementCount(o) {
  const t = typeof o;
  if (t === "string") return o.length;
  if (t !== "object" || o === null || isProxy(o)) return 0; // functions: most intrinsics
  if (isArray(o)) return o.length;
  if (isView(o)) return typedLen(o);
  if (classOf(o) === "String") return apply(sValueOf, o, none).length;
  return 0;
}
function checkKeys(o, what) {
  const n = elementCount(o);
  if (n > maxIter) tooBig(what + " of " + n + " elements");
}
for (const [obj, name, k] of [[Object, "Object", "keys"], [Object, "Object", "values"], [Object, "Object", "entries"],
    [Object, "Object", "getOwnPropertyNames"], [Object, "Object", "getOwnPropertyDescriptors"], [Object, "Object", "freeze"],
    [Object, "Object", "seal"], [Object, "Object", "isFrozen"], [Object, "Object", "isSealed"], [Reflect, "Reflect", "ownKeys"]]) {
  // one argument each; no rest/spread: hardening calls these for every intrinsic
  replace(obj, k, orig => ({[k](o) { checkKeys(o, name + "." + k); return apply(orig, obj, [o]); }})[k]);
}
replace(Object, "assign", orig => ({assign(target, ...sources) {
  for (let i = 0; i < sources.length; i++) checkKeys(sources[i], "Object.assign");
  return apply(orig, Object, [target, ...sources]);
}}).assign);

// --- Symbol.for: the registry belongs to the runtime, which is pooled and
// outlives the call, so every key registered would stay for good (one call
// after another could fill the process). Keys are bounded in length and
// number per runtime.
{
  const symFor = Symbol.for, known = new Set(), setHas = Set.prototype.has, setAdd = Set.prototype.add;
  replace(Symbol, "for", () => ({for(key) {
    const k = Str(key);
    if (!apply(setHas, known, [k])) {
      if (k.length > 256 || known.size >= 1024) throw new RangeErr("Symbol.for: at most 1024 keys of up to 256 characters in Forma scripts");
      apply(setAdd, known, [k]);
    }
    return apply(symFor, Symbol, [k]);
  }}).for);
}
})`

var capsPrg = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("forma:caps", capsJS, true)
})

// capLimits derives the per-Engine caps from MaxMemory.
func capLimits(maxMemory int64) (maxStr, maxArr, maxBytes int64) {
	maxStr = maxMemory / 2
	maxArr = min(max(maxMemory/64, 1<<12), 1<<21)
	maxBytes = maxMemory / 2
	return
}
