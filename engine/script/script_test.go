package script

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustNew(t testing.TB, scripts map[string]string, opts Options) *Engine {
	t.Helper()
	e, err := New(scripts, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

func asErr(t *testing.T, err error) *Error {
	t.Helper()
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("want *Error, got %T %v", err, err)
	}
	return se
}

func TestCallBasicsAndLogs(t *testing.T) {
	e := mustNew(t, map[string]string{"calc.js": `
function total(a) {
  console.log("items", a.items.length, {n: 1});
  console.warn("user", ctx.user.name);
  return {sum: a.items.reduce((s, x) => s + x, 0), who: ctx.user.name, ok: true, list: [1, "x", null], half: 0.5};
}
const twice = (a) => a.n * 2;
`}, Options{Globals: []string{"ctx"}})
	res, logs, err := e.Call(context.Background(), "calc.js", "total", map[string]any{"items": []any{1, 2, 3}}, Env{Globals: map[string]any{"ctx": map[string]any{"user": map[string]any{"name": "ann"}}}})
	if err != nil {
		t.Fatal(err)
	}
	m := res.(map[string]any)
	if m["sum"] != int64(6) || m["who"] != "ann" || m["ok"] != true || m["half"] != 0.5 {
		t.Fatalf("result %#v", m)
	}
	if l := m["list"].([]any); len(l) != 3 || l[1] != "x" || l[2] != nil {
		t.Fatalf("list %#v", l)
	}
	if len(logs) != 2 || logs[0].Level != "log" || logs[0].Message != `items 3 {"n":1}` || logs[1].Level != "warn" || logs[1].Message != "user ann" {
		t.Fatalf("logs %#v", logs)
	}
	res, _, err = e.Call(context.Background(), "calc.js", "twice", map[string]any{"n": 21}, Env{})
	if err != nil || res != int64(42) {
		t.Fatalf("twice: %v %v", res, err)
	}
	// env globals do not outlive the call
	_, _, err = e.Call(context.Background(), "calc.js", "total", map[string]any{"items": []any{}}, Env{})
	if se := asErr(t, err); se.Kind != KindRuntime || !strings.Contains(se.Message, "TypeError") || se.Line != 4 {
		t.Fatalf("want TypeError (ctx undefined) at line 4, got %+v", se)
	}
	// undeclared globals are refused
	_, _, err = e.Call(context.Background(), "calc.js", "total", nil, Env{Globals: map[string]any{"user": 1}})
	if se := asErr(t, err); se.Kind != KindArgs {
		t.Fatalf("undeclared global: %+v", se)
	}
	// declared globals cannot hide built-ins
	for _, name := range []string{"JSON", "round", "console", "eval"} {
		if _, err := New(nil, Options{Globals: []string{name}}); err == nil {
			t.Errorf("global %q accepted", name)
		}
	}
}

func TestLogCap(t *testing.T) {
	e := mustNew(t, map[string]string{"l.js": `function f(){ for (let i=0;i<500;i++) console.log("x".repeat(5000)); return 1 }`}, Options{Timeout: 5 * time.Second})
	_, logs, err := e.Call(context.Background(), "l.js", "f", nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != MaxLogLines+1 || !strings.Contains(logs[MaxLogLines].Message, "400 more") {
		t.Fatalf("got %d lines, last %q", len(logs), logs[len(logs)-1].Message)
	}
	if len(logs[0].Message) > MaxLogLineBytes+4 {
		t.Fatalf("line not capped: %d", len(logs[0].Message))
	}
}

func TestNotFound(t *testing.T) {
	e := mustNew(t, map[string]string{"a.js": `function f(){}; var notFn = 3;`}, Options{})
	for _, c := range [][2]string{{"b.js", "f"}, {"a.js", "g"}, {"a.js", "notFn"}} {
		_, _, err := e.Call(context.Background(), c[0], c[1], nil, Env{})
		if se := asErr(t, err); se.Kind != KindNotFound {
			t.Fatalf("%v: %+v", c, se)
		}
	}
}

func TestSyntaxErrorLine(t *testing.T) {
	_, err := New(map[string]string{"ok.js": "function a(){}", "bad.js": "function a() {\n  return 1;\n}\n\nfunction b() { let x = ; }\n"}, Options{})
	se := asErr(t, err)
	if se.Kind != KindSyntax || se.Script != "bad.js" || se.Line != 5 {
		t.Fatalf("%+v", se)
	}
	// top-level return is not valid in a script, even though we wrap it
	_, err = New(map[string]string{"r.js": "return 1"}, Options{})
	if se := asErr(t, err); se.Kind != KindSyntax || se.Line != 1 {
		t.Fatalf("%+v", se)
	}
	// escaping the wrapper is a syntax error too
	_, err = New(map[string]string{"x.js": "}); (function(){"}, Options{})
	if se := asErr(t, err); se.Kind != KindSyntax {
		t.Fatalf("%+v", se)
	}
}

func TestRuntimeErrorLine(t *testing.T) {
	src := `// line 1
function helper(x) {
  // line 3
  if (x > 1) {
    // line 5
    const y = x * 2;
    throw new Error("too big: " + y);
  }
  return x;
}
function run(a) {
  return helper(a.x);
}
function first(a) { null.boom; }`
	e := mustNew(t, map[string]string{"rules/check.js": src}, Options{})
	_, _, err := e.Call(context.Background(), "rules/check.js", "run", map[string]any{"x": 5}, Env{})
	se := asErr(t, err)
	if se.Kind != KindRuntime || se.Script != "rules/check.js" || se.Line != 7 || se.Message != "Error: too big: 10" {
		t.Fatalf("%+v", se)
	}
	if !strings.Contains(se.Error(), "rules/check.js:7:") {
		t.Fatalf("Error(): %s", se.Error())
	}
	_, _, err = e.Call(context.Background(), "rules/check.js", "first", nil, Env{})
	se = asErr(t, err)
	if se.Line != 14 || !strings.HasPrefix(se.Message, "TypeError") {
		t.Fatalf("%+v", se)
	}
	// line 1 column is relative to the user's source
	e2 := mustNew(t, map[string]string{"one.js": `function f(){ throw new Error("x") }`}, Options{})
	_, _, err = e2.Call(context.Background(), "one.js", "f", nil, Env{})
	if se := asErr(t, err); se.Line != 1 || se.Column < 15 || se.Column > 21 {
		t.Fatalf("%+v", se)
	}
}

func TestNonErrorThrows(t *testing.T) {
	e := mustNew(t, map[string]string{"t.js": `
function s() { throw "boom"; }
function n() { throw 42; }
function o() { throw {code: "E1", n: 2}; }
function z() { throw null; }
function u() { throw undefined; }
function c() { const o = {}; o.self = o; throw o; }
`}, Options{})
	cases := map[string]string{"s": `uncaught "boom"`, "n": "uncaught 42", "o": `uncaught {"code":"E1","n":2}`, "z": "uncaught null", "u": "uncaught undefined"}
	for fn, want := range cases {
		_, _, err := e.Call(context.Background(), "t.js", fn, nil, Env{})
		se := asErr(t, err)
		if se.Kind != KindRuntime || se.Message != want || se.Line == 0 {
			t.Errorf("%s: %+v, want %q", fn, se, want)
		}
	}
	_, _, err := e.Call(context.Background(), "t.js", "c", nil, Env{})
	if se := asErr(t, err); se.Kind != KindRuntime || !strings.HasPrefix(se.Message, "uncaught") {
		t.Errorf("cyclic: %+v", se)
	}
}

func TestTimeoutAndConcurrentCallsSurvive(t *testing.T) {
	e := mustNew(t, map[string]string{
		"loop.js": `function spin(){ for(;;){} } function spinCatch(){ for(;;){ try { for(;;){} } catch (e) {} } }`,
		"ok.js":   `function add(a){ return a.x + 1 }`,
	}, Options{PoolSize: 2})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var okCalls, badCalls int
	var mu sync.Mutex
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, _, err := e.Call(context.Background(), "ok.js", "add", map[string]any{"x": 1}, Env{})
				mu.Lock()
				if err != nil || r != int64(2) {
					t.Logf("concurrent call: %v %v", r, err)
					badCalls++
				} else {
					okCalls++
				}
				mu.Unlock()
			}
		}()
	}
	for _, fn := range []string{"spin", "spinCatch"} {
		start := time.Now()
		_, _, err := e.Call(context.Background(), "loop.js", fn, nil, Env{})
		el := time.Since(start)
		se := asErr(t, err)
		if se.Kind != KindTimeout || se.Script != "loop.js" || se.Line != 1 {
			t.Fatalf("%s: %+v", fn, se)
		}
		// ~100 ms normally; never early. The upper bound tells stopped
		// from hung: the race detector or a loaded machine adds seconds.
		if el < 90*time.Millisecond || el > 5*time.Second {
			t.Fatalf("%s stopped after %v", fn, el)
		}
		t.Logf("%s stopped after %v", fn, el)
	}
	close(stop)
	wg.Wait()
	if badCalls != 0 || okCalls < 10 {
		t.Fatalf("concurrent calls: ok=%d bad=%d", okCalls, badCalls)
	}
	// after: pooled runtimes carry no stale interrupt
	for i := 0; i < 20; i++ {
		if r, _, err := e.Call(context.Background(), "ok.js", "add", map[string]any{"x": 1}, Env{}); err != nil || r != int64(2) {
			t.Fatalf("after timeout: %v %v", r, err)
		}
	}
}

func TestTimeoutPerApp(t *testing.T) {
	e := mustNew(t, map[string]string{"loop.js": `function spin(){ while(true){} }`}, Options{Timeout: 20 * time.Millisecond})
	start := time.Now()
	_, _, err := e.Call(context.Background(), "loop.js", "spin", nil, Env{})
	// The app's limit, not the default, is the one reported (a time bound
	// alone would flake on a loaded machine).
	if se := asErr(t, err); se.Kind != KindTimeout || !strings.Contains(se.Message, "longer than 20ms") || time.Since(start) > 5*time.Second {
		t.Fatalf("%+v after %v", se, time.Since(start))
	}
}

func TestContextCancel(t *testing.T) {
	e := mustNew(t, map[string]string{"loop.js": `function spin(){ while(true){} } function ok(){ return 1 }`}, Options{Timeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := e.Call(ctx, "loop.js", "spin", nil, Env{})
	if se := asErr(t, err); se.Kind != KindCanceled || time.Since(start) > time.Second {
		t.Fatalf("%+v after %v", se, time.Since(start))
	}
	_, _, err = e.Call(ctx, "loop.js", "ok", nil, Env{})
	if se := asErr(t, err); se.Kind != KindCanceled {
		t.Fatalf("already-canceled ctx: %+v", se)
	}
	if r, _, err := e.Call(context.Background(), "loop.js", "ok", nil, Env{}); err != nil || r != int64(1) {
		t.Fatalf("%v %v", r, err)
	}
}

func TestStackDepth(t *testing.T) {
	e := mustNew(t, map[string]string{"rec.js": `
function down(n) { return down(n + 1) + 1; }
function caught() { try { return down(0) } catch (e) { return "swallowed" } }
function fine(a) { function f(n) { return n == 0 ? 0 : 1 + f(n - 1) } return f(a.n) }
`}, Options{MaxCallStack: 200})
	for _, fn := range []string{"down", "caught"} {
		_, _, err := e.Call(context.Background(), "rec.js", fn, map[string]any{}, Env{})
		if se := asErr(t, err); se.Kind != KindStack || se.Line != 2 {
			t.Fatalf("%s: %+v", fn, se)
		}
	}
	if r, _, err := e.Call(context.Background(), "rec.js", "fine", map[string]any{"n": 150}, Env{}); err != nil || r != int64(150) {
		t.Fatalf("%v %v", r, err)
	}
}

func rssMiB(t *testing.T) float64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.Sys) / (1 << 20)
}

func TestMemoryGuard(t *testing.T) {
	e := mustNew(t, map[string]string{"mem.js": `
function str() { let s = "x"; while (true) s += s; }
function arr() { const a = []; while (true) a.push({i: a.length, s: "abcdefgh" + a.length}); }
function ok() { return 1 }
`}, Options{MaxMemory: 32 << 20, Timeout: 5 * time.Second})
	before := rssMiB(t)
	for _, fn := range []string{"str", "arr"} {
		start := time.Now()
		_, _, err := e.Call(context.Background(), "mem.js", fn, nil, Env{})
		se := asErr(t, err)
		if se.Kind != KindMemory || se.Script != "mem.js" {
			t.Fatalf("%s: %+v", fn, se)
		}
		if !strings.Contains(se.Message, "32 MiB") {
			t.Fatalf("unclear message: %s", se.Message)
		}
		t.Logf("%s stopped after %v: %v", fn, time.Since(start), se)
	}
	runtime.GC()
	after := rssMiB(t)
	t.Logf("Go Sys before %.0f MiB, after %.0f MiB", before, after)
	if after-before > 512 {
		t.Fatalf("memory grew by %.0f MiB", after-before)
	}
	if r, _, err := e.Call(context.Background(), "mem.js", "ok", nil, Env{}); err != nil || r != int64(1) {
		t.Fatalf("%v %v", r, err)
	}
}

func TestPrototypeTamperingIsolation(t *testing.T) {
	e := mustNew(t, map[string]string{"t.js": `
function tamper() {
  Object.prototype.x = 1;
  Array.prototype.push = null;
  String.prototype.trim = function() { return "hacked" };
  Function.prototype.call = null;
  JSON.stringify = function() { return "hacked" };
  Math.max = null;
  try { JSON = null } catch (e) {}
  try { delete globalThis.Array } catch (e) {}
  return 1;
}
function strictTamper() { "use strict"; Object.prototype.y = 1; }
function leak() { leaked = 1; return 1 }
function check() {
  const a = [];
  a.push(1);
  return {x: ({}).x === undefined, y: ({}).y === undefined, push: a.length === 1, trim: " a ".trim() === "a",
    json: JSON.stringify({a: 1}) === '{"a":1}', max: Math.max(1, 2) === 2, arr: typeof Array === "function",
    leaked: typeof leaked === "undefined", counter: counter++ === 0};
}
let counter = 0;
function instanceOverride() {
  const e = new Error("m"); e.name = "ValidationError";
  function P() {} P.prototype.toString = function() { return "P!" };
  const o = {}; o.toString = () => "o!";
  return [e.name, String(new P()), String(o), e.toString()];
}
`}, Options{PoolSize: 1})
	all := map[string]any{"x": true, "y": true, "push": true, "trim": true, "json": true, "max": true, "arr": true, "leaked": true, "counter": true}
	check := func() {
		t.Helper()
		r, _, err := e.Call(context.Background(), "t.js", "check", nil, Env{})
		if err != nil {
			t.Fatal(err)
		}
		m := r.(map[string]any)
		for k := range all {
			if m[k] != true {
				t.Fatalf("state leaked: %s (%v)", k, m)
			}
		}
	}
	check()
	if _, _, err := e.Call(context.Background(), "t.js", "tamper", nil, Env{}); err != nil {
		t.Fatal(err)
	}
	check()
	_, _, err := e.Call(context.Background(), "t.js", "strictTamper", nil, Env{})
	if se := asErr(t, err); se.Kind != KindRuntime || !strings.Contains(se.Message, "TypeError") {
		t.Fatalf("%+v", se)
	}
	check()
	if _, _, err := e.Call(context.Background(), "t.js", "leak", nil, Env{}); err != nil {
		t.Fatal(err)
	}
	check()
	r, _, err := e.Call(context.Background(), "t.js", "instanceOverride", nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	got := r.([]any)
	if got[0] != "ValidationError" || got[1] != "P!" || got[2] != "o!" || got[3] != "ValidationError: m" {
		t.Fatalf("override mistake not handled: %v", got)
	}
}

func TestNoHostAccess(t *testing.T) {
	e := mustNew(t, map[string]string{"h.js": `
function probe(a) {
  const out = {};
  for (const n of ["require", "process", "setTimeout", "setInterval", "setImmediate", "fetch", "XMLHttpRequest", "module", "exports", "Deno", "Bun", "global", "os", "fs"]) out[n] = typeof globalThis[n];
  let esc;
  try { esc = this.constructor.constructor("return typeof process")(); } catch (e) { esc = "threw " + e; }
  out.escape = esc;
  try { out.fnEscape = Function("return typeof require + typeof process")(); } catch (e) { out.fnEscape = "threw" }
  out.argProto = Object.getPrototypeOf(a) === Object.prototype && Object.getPrototypeOf(a.nested) === Object.prototype;
  out.argKeys = Object.getOwnPropertyNames(a).sort().join(",");
  out.nestedKeys = Object.getOwnPropertyNames(a.nested).join(",");
  out.envKeys = Object.getOwnPropertyNames(ctx.user).join(",");
  out.envFrozen = Object.isFrozen(ctx) && Object.isFrozen(ctx.user);
  try { ctx.user.Name = "x" } catch (e) {}
  out.envName = ctx.user.Name;
  out.consoleKeys = Object.getOwnPropertyNames(console).sort().join(",");
  out.globals = Object.getOwnPropertyNames(globalThis).filter(k => !/^[A-Z]/.test(k)).sort().join(",");
  return out;
}
`}, Options{Globals: []string{"ctx"}})
	type T struct{ Name string }
	args := map[string]any{"t": T{Name: "go"}, "nested": map[string]any{"k": 1}, "when": time.Unix(0, 0)}
	r, _, err := e.Call(context.Background(), "h.js", "probe", args, Env{Globals: map[string]any{"ctx": map[string]any{"user": T{Name: "ann"}}}})
	if err != nil {
		t.Fatal(err)
	}
	m := r.(map[string]any)
	for _, n := range []string{"require", "process", "setTimeout", "setInterval", "setImmediate", "fetch", "XMLHttpRequest", "module", "exports", "Deno", "Bun", "global", "os", "fs"} {
		if m[n] != "undefined" {
			t.Errorf("%s is %v", n, m[n])
		}
	}
	// Code generation from strings is disabled (forbid.go).
	if esc, _ := m["escape"].(string); !strings.Contains(esc, "EvalError: Function: code generation from strings is disabled") || m["fnEscape"] != "threw" {
		t.Errorf("escape: %v %v", m["escape"], m["fnEscape"])
	}
	if m["argProto"] != true || m["argKeys"] != "nested,t,when" || m["nestedKeys"] != "k" || m["envKeys"] != "Name" {
		t.Errorf("args not plain: %v", m)
	}
	if m["envFrozen"] != true || m["envName"] != "ann" {
		t.Errorf("env not read-only: %v", m)
	}
	if m["consoleKeys"] != "debug,error,info,log,warn" {
		t.Errorf("console: %v", m["consoleKeys"])
	}
	want := "console,decodeURI,decodeURIComponent,encodeURI,encodeURIComponent,escape,eval,globalThis,isFinite,isNaN,parseFloat,parseInt,undefined,unescape"
	if m["globals"] != withLibrary(want) {
		t.Errorf("lower-case globals: %v", m["globals"])
	}
	// env cannot shadow built-ins
	_, _, err = e.Call(context.Background(), "h.js", "probe", nil, Env{Globals: map[string]any{"JSON": 1}})
	if se := asErr(t, err); se.Kind != KindArgs {
		t.Errorf("%+v", se)
	}
}

func TestResultConversion(t *testing.T) {
	e := mustNew(t, map[string]string{"r.js": `
function fn() { return function() {} }
function nestedFn() { return {a: [1, () => 1]} }
function sym() { return {s: Symbol("x")} }
function date() { return new Date(0) }
function cyc() { const o = {}; o.o = o; return o }
function undef() { return undefined }
function big() { return [2 ** 53, 0.5, 1e21, NaN, {u: undefined, d: new Date(NaN)}] }
function mapr() { return new Map() }
function getterLoop() { return {get x() { for (;;) {} }} }
`}, Options{Timeout: 50 * time.Millisecond})
	for _, fn := range []string{"fn", "nestedFn", "sym", "cyc", "mapr"} {
		_, _, err := e.Call(context.Background(), "r.js", fn, nil, Env{})
		var se *Error
		if !errors.As(err, &se) || se.Kind != KindResult {
			t.Errorf("%s: %v", fn, err)
		}
	}
	if r, _, err := e.Call(context.Background(), "r.js", "date", nil, Env{}); err != nil || r != "1970-01-01T00:00:00.000Z" {
		t.Errorf("date: %v %v", r, err)
	}
	r, _, err := e.Call(context.Background(), "r.js", "big", nil, Env{})
	if got, ok := r.([]any); err != nil || !ok || got[0] != int64(1<<53) || got[1] != 0.5 || got[2] != 1e21 || got[3] != nil || len(got[4].(map[string]any)) != 1 {
		t.Errorf("big: %#v %v", r, err)
	}
	_, _, err = e.Call(context.Background(), "r.js", "getterLoop", nil, Env{})
	if se := asErr(t, err); se.Kind != KindTimeout {
		t.Errorf("getter loop in result: %+v", se)
	}
	if r, _, err := e.Call(context.Background(), "r.js", "undef", nil, Env{}); err != nil || r != nil {
		t.Errorf("undef: %v %v", r, err)
	}
	if _, _, err := e.Call(context.Background(), "r.js", "fn", map[string]any{"c": make(chan int)}, Env{}); asErr(t, err).Kind != KindArgs {
		t.Errorf("bad args accepted: %v", err)
	}
}

func TestCompileOnceAndPoolReuse(t *testing.T) {
	before := compileCount.Load()
	e := mustNew(t, map[string]string{"a.js": `function f(a){ return a.n }`, "b.js": `function g(){ return 2 }`}, Options{PoolSize: 2})
	if got := compileCount.Load() - before; got != 2 {
		t.Fatalf("compiled %d times at New, want 2", got)
	}
	vms := vmCount.Load()
	for i := 0; i < 200; i++ {
		if r, _, err := e.Call(context.Background(), "a.js", "f", map[string]any{"n": i}, Env{}); err != nil || r != int64(i) {
			t.Fatalf("%v %v", r, err)
		}
		if _, _, err := e.Call(context.Background(), "b.js", "g", nil, Env{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := compileCount.Load() - before; got != 2 {
		t.Fatalf("compiled %d times after 400 calls, want 2", got)
	}
	if n := vmCount.Load() - vms; n != 0 {
		t.Fatalf("%d runtimes prepared for 400 sequential calls, want 0 (pool reuse)", n)
	}
	// a runtime that timed out is replaced, the others are reused
	e2 := mustNew(t, map[string]string{"l.js": `function spin(){ for(;;){} } function ok(){ return 1 }`}, Options{PoolSize: 1, Timeout: 10 * time.Millisecond})
	vms = vmCount.Load()
	e2.Call(context.Background(), "l.js", "spin", nil, Env{})
	for i := 0; i < 10; i++ {
		if _, _, err := e2.Call(context.Background(), "l.js", "ok", nil, Env{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := vmCount.Load() - vms; n != 1 {
		t.Fatalf("prepared %d runtimes after a timeout, want 1", n)
	}
}

func BenchmarkPooledCall(b *testing.B) {
	e := mustNew(b, map[string]string{"t.js": `function f(a) { return a.x + 1 }`}, Options{PoolSize: 1})
	args := map[string]any{"x": 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.Call(context.Background(), "t.js", "f", args, Env{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPooledCallWithEnv(b *testing.B) {
	e := mustNew(b, map[string]string{"t.js": `function f(a) { return a.x + ctx.user.id }`}, Options{PoolSize: 1, Globals: []string{"ctx"}})
	args := map[string]any{"x": 1}
	env := Env{Globals: map[string]any{"ctx": map[string]any{"user": map[string]any{"id": 7, "name": "ann"}}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.Call(context.Background(), "t.js", "f", args, env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdCall: a fresh Engine (compile + prepare one runtime) per call.
func BenchmarkColdCall(b *testing.B) {
	args := map[string]any{"x": 1}
	b.ReportAllocs()
	for b.Loop() {
		e := mustNew(b, map[string]string{"t.js": `function f(a) { return a.x + 1 }`}, Options{PoolSize: 1})
		if _, _, err := e.Call(context.Background(), "t.js", "f", args, Env{}); err != nil {
			b.Fatal(err)
		}
	}
}
