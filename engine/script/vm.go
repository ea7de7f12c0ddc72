package script

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
)

// vm is one prepared runtime.
type vm struct {
	rt        *goja.Runtime
	jsonParse goja.Callable // JSON.parse, captured before scripts run
	deepFreez goja.Callable
	describe  goja.Callable
	// The intrinsic prototypes that mark plain data (convert.go).
	objectProto, arrayProto, dateProto *goja.Object
	// Natives of the current call, and the dispatchers already installed
	// (natives.go); record makers per shared Shape.
	natives    map[string]map[string]Native
	nativeCtx  context.Context
	budget     *budget                    // the call's script-time limit, paused in natives
	stop       func(stopReason)           // interrupts the call (its guard)
	mem        *memCall                   // the memory guard's record of the current call
	nativeObjs []goja.Value               // the declared native objects, in parameter order
	exports    map[*compiled]*goja.Object // top-level scopes of Options.Reuse scripts
	e          *Engine
	logs       []LogLine
	dropped    int
}

// hardenJS freezes every intrinsic reachable from the global object (and the
// hidden ones), after turning a few commonly overridden prototype properties
// into accessors so instances can still set them (SES "override mistake").
// It returns [deepFreeze, keyCount, toPlain, describe]; Go keeps deepFreeze
// and describe (for thrown values).
const hardenJS = `(function(){
"use strict";
const G = globalThis;
const ownKeys = Reflect.ownKeys, gopd = Reflect.getOwnPropertyDescriptor, defProp = Object.defineProperty, freeze = Object.freeze, getProto = Object.getPrototypeOf;
function enable(o, k) {
  const d = gopd(o, k);
  if (!d || !("value" in d) || !d.configurable) return;
  const v = d.value;
  defProp(o, k, {
    get: function() { return v; },
    set: function(nv) {
      if (this === o) throw new TypeError("Cannot assign to read only property '" + String(k) + "' of a built-in");
      defProp(this, k, {value: nv, writable: true, enumerable: true, configurable: true});
    },
    enumerable: d.enumerable, configurable: false
  });
}
const errs = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];
for (const k of ["constructor", "toString", "valueOf", "toLocaleString", "hasOwnProperty", "toJSON"]) enable(Object.prototype, k);
for (const k of ["constructor", "toString", "name", "message"]) for (const E of errs) enable(E.prototype, k);
for (const k of ["constructor", "toString"]) enable(Function.prototype, k);
const seen = new WeakSet(), todo = [];
seen.add(G); // the global object itself stays extensible (env globals)
function add(v) {
  if ((typeof v === "object" && v !== null) || typeof v === "function") {
    if (!seen.has(v)) { seen.add(v); todo.push(v); }
  }
}
for (const k of ownKeys(G)) { const d = gopd(G, k); add(d.value); add(d.get); add(d.set); }
add(getProto(function*(){}));
add(getProto(async function(){}));
add(getProto([][Symbol.iterator]()));
add(getProto(new Map().entries()));
add(getProto(new Set().values()));
add(getProto(""[Symbol.iterator]()));
add(getProto(/a/[Symbol.matchAll]("")));
add(getProto(Int8Array));
(function(){ "use strict"; try { add(gopd(arguments, "callee").get); } catch (e) {} })();
while (todo.length) {
  const o = todo.pop();
  freeze(o);
  add(getProto(o));
  for (const k of ownKeys(o)) {
    const d = gopd(o, k);
    if ("value" in d) add(d.value); else { add(d.get); add(d.set); }
  }
}
// Built-in globals can be neither replaced nor deleted.
for (const k of ownKeys(G)) {
  const d = gopd(G, k);
  if ("value" in d) defProp(G, k, {writable: false, configurable: false});
  else defProp(G, k, {configurable: false});
}
function deepFreeze(v) {
  if ((typeof v === "object" && v !== null)) {
    freeze(v);
    for (const k of ownKeys(v)) deepFreeze(v[k]);
  }
  return v;
}
const isArray = Array.isArray, ObjProto = Object.prototype, DateProto = Date.prototype, ErrorProto = Error.prototype, stringify = JSON.stringify, isNaN_ = Number.isNaN, getTime = Date.prototype.getTime, toISO = Date.prototype.toISOString;
// toPlain returns [true, json] or [false, why] for a call's result.
function toPlain(v) {
  const path = [];
  function walk(x, depth) {
    if (depth > 64) throw "result nests deeper than 64 levels (cyclic?)";
    switch (typeof x) {
      case "undefined": return null;
      case "string": case "boolean": case "number": return x;
      case "function": throw "result contains a function";
      case "symbol": throw "result contains a symbol";
      case "bigint": throw "result contains a BigInt";
    }
    if (x === null) return null;
    if (isArray(x)) {
      const out = [];
      for (let i = 0; i < x.length; i++) out.push(walk(x[i], depth + 1));
      return out;
    }
    const p = getProto(x);
    if (p === DateProto) { const t = getTime.call(x); return isNaN_(t) ? null : toISO.call(x); }
    if (p !== ObjProto && p !== null) {
      const c = p && gopd(p, "constructor");
      throw "result contains a " + (c && typeof c.value === "function" && c.value.name ? c.value.name : "non-plain object");
    }
    const out = {};
    for (const k of Object.keys(x)) { const w = walk(x[k], depth + 1); if (typeof x[k] !== "undefined") out[k] = w; }
    return out;
  }
  try { return [true, stringify(walk(v, 0))]; } catch (e) { if (typeof e === "string") return [false, e]; throw e; }
}
// describe formats a thrown value.
function describe(v) {
  if (v === null) return "uncaught null";
  if (typeof v === "undefined") return "uncaught undefined";
  if (typeof v === "string") return "uncaught " + stringify(v);
  if (typeof v === "object" && ErrorProto.isPrototypeOf(v)) return String(v);
  if (typeof v === "object") { try { const r = toPlain(v); if (r[0]) return "uncaught " + r[1]; } catch (e) {} return "uncaught " + Object.prototype.toString.call(v); }
  if (typeof v === "symbol" || typeof v === "function") return "uncaught " + v.toString();
  return "uncaught " + String(v);
}
return [deepFreeze, function() { return ownKeys(G).length; }, toPlain, describe];
})()`

var hardenPrg = sync.OnceValue(func() *goja.Program {
	return goja.MustCompile("forma:harden", hardenJS, true)
})

// vmCount counts prepared runtimes (tests assert pool reuse).
var vmCount atomic.Int64

func (e *Engine) newVM() (*vm, error) {
	vmCount.Add(1)
	rt := goja.New()
	rt.SetMaxCallStackSize(e.opts.MaxCallStack)
	v := &vm{rt: rt, e: e, exports: map[*compiled]*goja.Object{}}
	// console: plain native functions writing into the current call's log.
	console := rt.NewObject()
	for _, level := range []string{"log", "info", "warn", "error", "debug"} {
		lvl := level
		if err := console.Set(lvl, func(call goja.FunctionCall) goja.Value {
			v.log(lvl, call.Arguments)
			return goja.Undefined()
		}); err != nil {
			return nil, err
		}
	}
	if err := rt.Set("console", console); err != nil {
		return nil, err
	}
	parse, ok := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("parse"))
	if !ok {
		return nil, errors.New("JSON.parse missing")
	}
	v.jsonParse = parse
	if err := installPrelude(rt, e.opts); err != nil {
		return nil, err
	}
	res, err := rt.RunProgram(hardenPrg())
	if err != nil {
		return nil, fmt.Errorf("harden runtime: %w", err)
	}
	fns := res.ToObject(rt)
	v.deepFreez, _ = goja.AssertFunction(fns.Get("0"))
	v.describe, _ = goja.AssertFunction(fns.Get("3"))
	if v.deepFreez == nil || v.describe == nil {
		return nil, errors.New("harden runtime: helpers missing")
	}
	v.objectProto = rt.NewObject().Prototype()
	v.arrayProto = rt.NewArray().Prototype()
	v.dateProto = rt.Get("Date").ToObject(rt).Get("prototype").ToObject(rt)
	if err := v.prepareNatives(); err != nil {
		return nil, err
	}
	// Seal the global object: a script cannot add a global (sloppy "x = 1"
	// is a no-op, strict mode throws), so nothing passes to the next call.
	if _, err := rt.RunProgram(sealPrg()); err != nil {
		return nil, fmt.Errorf("seal runtime: %w", err)
	}
	return v, nil
}

// fromJSON turns JSON bytes into a plain JS value inside the runtime.
func (v *vm) fromJSON(b []byte) (goja.Value, error) {
	return v.jsonParse(goja.Undefined(), v.rt.ToValue(string(b)))
}

// run sets the env globals and natives, runs the script's program for a
// fresh scope and calls the function. recs holds, for each *Record argument,
// the object whose values are read back after the call.
func (v *vm) run(ctx context.Context, c *compiled, function string, args []any, env map[string]any, natives map[string]map[string]Native) (res goja.Value, recs []*record, err error) {
	v.natives, v.nativeCtx = natives, ctx
	// The wrapper's parameters: the native objects, then the globals.
	params := make([]goja.Value, 0, len(v.nativeObjs)+len(v.e.globalNames))
	params = append(params, v.nativeObjs...)
	for _, k := range v.e.globalNames {
		x, ok := env[k]
		if !ok {
			params = append(params, goja.Undefined())
			continue
		}
		val, err := v.toJS(x, 0)
		if err != nil {
			return nil, nil, &Error{Script: c.name, Kind: KindArgs, Message: fmt.Sprintf("global %q: %v", k, err)}
		}
		if val, err = v.deepFreez(goja.Undefined(), val); err != nil {
			return nil, nil, err
		}
		params = append(params, val)
	}
	jsArgs := make([]goja.Value, len(args))
	for i, a := range args {
		if r, ok := a.(*Record); ok {
			if recs == nil {
				recs = make([]*record, len(args))
			}
			jsArgs[i], recs[i] = v.recordArg(r)
			continue
		}
		val, err := v.toJS(a, 0)
		if err != nil {
			return nil, nil, &Error{Script: c.name, Kind: KindArgs, Message: fmt.Sprintf("argument %d: %v", i+1, err)}
		}
		jsArgs[i] = val
	}
	exports := v.exports[c]
	if exports == nil {
		wrapper, err := v.rt.RunProgram(c.prg)
		if err != nil {
			return nil, nil, err
		}
		wfn, ok := goja.AssertFunction(wrapper)
		if !ok {
			return nil, nil, errors.New("script wrapper is not a function")
		}
		ev, err := wfn(goja.Undefined(), params...)
		if err != nil {
			return nil, nil, err
		}
		exports = ev.ToObject(v.rt)
		if c.reuse {
			v.exports[c] = exports
		}
	}
	fn, ok := goja.AssertFunction(exports.Get(function))
	if !ok {
		return nil, nil, &Error{Script: c.name, Kind: KindNotFound, Message: fmt.Sprintf("%q is not a function", function)}
	}
	res, err = fn(goja.Undefined(), jsArgs...)
	return res, recs, err
}

// clean forgets the call's natives and reports whether the runtime may go
// back to the pool. Nothing a script did can outlive its call: the global
// object and every built-in are frozen or sealed, and the script's own
// bindings live in the wrapper function run afresh for each call.
func (v *vm) clean() bool {
	v.natives, v.nativeCtx, v.mem, v.budget, v.stop = nil, nil, nil, nil, nil
	v.rt.ClearInterrupt()
	return true
}

func (v *vm) log(level string, args []goja.Value) {
	if len(v.logs) >= MaxLogLines {
		v.dropped++
		return
	}
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v.format(a))
		if b.Len() > MaxLogLineBytes {
			break
		}
	}
	msg := b.String()
	if len(msg) > MaxLogLineBytes {
		msg = strings.ToValidUTF8(msg[:MaxLogLineBytes], "") + "…"
	}
	v.logs = append(v.logs, LogLine{Level: level, Message: msg, At: time.Now()})
}

func (v *vm) format(a goja.Value) (s string) {
	defer func() {
		if recover() != nil {
			s = "[unprintable]"
		}
	}()
	if a == nil || goja.IsUndefined(a) {
		return "undefined"
	}
	if obj, ok := a.(*goja.Object); ok {
		if obj.ClassName() == "Error" {
			return a.String()
		}
		if _, fn := goja.AssertFunction(a); fn {
			return "[function]"
		}
		var b bytes.Buffer
		v.formatJSON(&b, obj, 0, MaxLogLineBytes*2)
		if b.Len() <= MaxLogLineBytes*2 {
			return b.String()
		}
		return strings.ToValidUTF8(string(b.Bytes()[:MaxLogLineBytes]), "")
	}
	return a.String()
}

// formatJSON writes x as JSON into b, as json.Marshal(x.Export()) would
// (keys sorted, dates as RFC 3339, functions and NaN as null), but stops
// once b holds more than limit bytes: logging a million-element array
// costs what is printed, not one uninterruptible native walk of it all.
func (v *vm) formatJSON(b *bytes.Buffer, x goja.Value, depth, limit int) {
	if b.Len() > limit {
		return
	}
	if x == nil || goja.IsUndefined(x) || goja.IsNull(x) {
		b.WriteString("null")
		return
	}
	o, ok := x.(*goja.Object)
	if !ok {
		e := x.Export()
		if f, ok := e.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			b.WriteString("null")
			return
		}
		if j, err := json.Marshal(e); err == nil {
			b.Write(j)
		} else {
			b.WriteString("null")
		}
		return
	}
	if _, fn := goja.AssertFunction(o); fn {
		b.WriteString("null")
		return
	}
	if depth > maxDepth {
		b.WriteString(`"…"`)
		return
	}
	switch o.ClassName() {
	case "Date":
		j, _ := json.Marshal(o.Export())
		b.Write(j)
		return
	case "Array":
		n := o.Get("length").ToInteger()
		b.WriteByte('[')
		for i := int64(0); i < n; i++ {
			if b.Len() > limit {
				return
			}
			if i > 0 {
				b.WriteByte(',')
			}
			v.formatJSON(b, o.Get(strconv.FormatInt(i, 10)), depth+1, limit)
		}
		b.WriteByte(']')
		return
	}
	// Keys lists them all (goja has no lazy walk); sorting is skipped for
	// objects too big to print whole anyway.
	keys := o.Keys()
	if len(keys) <= 1000 {
		sort.Strings(keys)
	}
	b.WriteByte('{')
	for i, k := range keys {
		if b.Len() > limit {
			return
		}
		if i > 0 {
			b.WriteByte(',')
		}
		j, _ := json.Marshal(k)
		b.Write(j)
		b.WriteByte(':')
		v.formatJSON(b, o.Get(k), depth+1, limit)
	}
	b.WriteByte('}')
}

func (v *vm) finishLogs() []LogLine {
	if len(v.logs) == 0 && v.dropped == 0 {
		return nil
	}
	out := make([]LogLine, len(v.logs), len(v.logs)+1)
	copy(out, v.logs)
	if v.dropped > 0 {
		out = append(out, LogLine{Level: "warn", Message: fmt.Sprintf("%d more log lines dropped (limit %d per call)", v.dropped, MaxLogLines), At: time.Now()})
	}
	return out
}

// guard serialises Interrupt against the end of a call, so a timer that
// fires as the call returns cannot leave a stale interrupt behind.
type guard struct {
	mu   sync.Mutex
	rt   *goja.Runtime
	done bool
}

func newGuard(rt *goja.Runtime) *guard { return &guard{rt: rt} }

func (g *guard) stop(r stopReason) {
	g.mu.Lock()
	if !g.done {
		g.done = true // first reason wins
		g.rt.Interrupt(r)
	}
	g.mu.Unlock()
}

func (g *guard) finish() {
	g.mu.Lock()
	g.done = true
	g.mu.Unlock()
}
