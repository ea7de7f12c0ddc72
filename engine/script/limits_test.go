package script

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// heapMiB is the live heap after a GC (RSS proxy that returns to normal once
// the garbage is gone; Sys only ever grows).
func heapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

func TestOneShotAllocationCaps(t *testing.T) {
	e := mustNew(t, map[string]string{"big.js": `
function repeat() { return "x".repeat(1e9).length }
function padStart() { return "x".padStart(2 ** 30).length }
function padEnd() { return "x".padEnd(2 ** 30, "ab").length }
function buffer() { return new ArrayBuffer(2 ** 30).byteLength }
function typed() { return new Uint8Array(2 ** 30).length }
function typedF64() { return new Float64Array(2 ** 27).length }
function typedLike() { return new Uint8Array({length: 2 ** 30}).length }
function fill() { return new Array(1e9).fill(0).length }
function join() { const a = []; a.length = 1e9; return a.join("x").length }
function joinBig() { const s = "x".repeat(1 << 20); const a = []; for (let i = 0; i < 200; i++) a.push(s); return a.join("").length }
function joinObjects() { const s = new String("x".repeat(1 << 20)); return Array(200).fill(s).join("").length }
function typedSpread() { return [...new Uint8Array(1 << 24)].length }
function typedJoin() { return new Uint8Array(1 << 24).join("").length }
function strSpread() { return [..."x".repeat(1 << 24)].length }
function from() { return Array.from({length: 1e9}).length }
function spread() { const a = []; a.length = 1e9; return [...a].length }
function keys() { const a = []; a.length = 1e9; return [...a.keys()].length }
function indexOf() { const a = []; a.length = 1e9; return a.indexOf(1) }
function map() { const a = []; a.length = 1e9; return a.map(x => x).length }
function concat() { const a = []; a.length = 1e9; return [].concat(a, a).length }
function apply() { return Math.max.apply(null, {length: 1e9}) }
function split() { return "x".repeat(1 << 24).split("").length }
function splitSep() { return ",".repeat(1 << 24).split(",").length }
function flat() { const a = []; a.length = 1e9; return [[1], a].flat().length }
function unshift() { const a = []; a.length = 1e9; return a.unshift(1) }
function stringify() { const a = []; a.length = 1e9; return JSON.stringify(a).length }
function lyingLength() { let n = 0; return Array.prototype.indexOf.call({get length() { return n++ ? 1e9 : 1 }}, 5) }
function proxyLength() { return Array.prototype.join.call(new Proxy([], {}), ",") }
function doubling() { let s = "x"; for (;;) s += s; }
function pushing() { const a = []; for (;;) a.push({i: a.length}); }
`, "ok.js": `function add(a) { return a.x + 1 }`}, Options{MaxMemory: 64 << 20, Timeout: 5 * time.Second, PoolSize: 2})

	before := heapMiB()
	cases := []struct{ fn, kind, msg string }{
		{"repeat", KindRuntime, "RangeError: String.prototype.repeat result exceeds the script memory limit"},
		{"padStart", KindRuntime, "RangeError: String.prototype.padStart result exceeds the script memory limit"},
		{"padEnd", KindRuntime, "exceeds the script memory limit"},
		{"buffer", KindRuntime, "RangeError: ArrayBuffer of 1073741824 bytes exceeds the script memory limit"},
		{"typed", KindRuntime, "RangeError: Uint8Array of 1073741824 elements exceeds the script memory limit"},
		{"typedF64", KindRuntime, "exceeds the script memory limit"},
		{"typedLike", KindRuntime, "exceeds the script memory limit"},
		{"fill", KindRuntime, "RangeError: Array.prototype.fill on an array of more than"},
		{"join", KindRuntime, "RangeError: Array.prototype.join on an array of more than"},
		{"joinBig", KindRuntime, "RangeError: Array.prototype.join result exceeds the script memory limit"},
		{"joinObjects", KindRuntime, "RangeError: Array.prototype.join result exceeds the script memory limit"},
		{"typedSpread", KindRuntime, "RangeError: iterating a typed array of more than 262144 elements exceeds the script memory limit"},
		{"typedJoin", KindRuntime, "RangeError: %TypedArray%.prototype.join on more than 1048576 elements"},
		{"strSpread", KindRuntime, "RangeError: iterating a string of more than 262144 characters"},
		{"from", KindRuntime, "RangeError: Array.from on an array of more than"},
		{"spread", KindRuntime, "exceeds the script memory limit"},
		{"keys", KindRuntime, "exceeds the script memory limit"},
		{"indexOf", KindRuntime, "exceeds the script memory limit"},
		{"map", KindRuntime, "exceeds the script memory limit"},
		{"concat", KindRuntime, "RangeError: Array.prototype.concat result"},
		{"apply", KindRuntime, "RangeError: Function.prototype.apply with more than"},
		{"split", KindRuntime, "RangeError: String.prototype.split result"},
		{"splitSep", "", "String.prototype.split result"}, // may trip the guard first (it allocates up to the cap)
		{"flat", KindRuntime, "RangeError: Array.prototype.flat"},
		{"unshift", KindRuntime, "exceeds the script memory limit"},
		{"stringify", KindRuntime, "RangeError: JSON.stringify of an array"},
		{"lyingLength", KindRuntime, "TypeError: Array.prototype.indexOf: accessor 'length' is not supported here"},
		{"proxyLength", KindRuntime, "TypeError: Array.prototype.join: Proxy objects are not supported here"},
		{"doubling", KindMemory, "64 MiB"},
		{"pushing", KindMemory, "64 MiB"},
	}
	for _, c := range cases {
		t.Run(c.fn, func(t *testing.T) {
			// A concurrent normal call on the same Engine stays fast.
			var okCalls, maxNs atomic.Int64
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-stop:
						return
					default:
					}
					st := time.Now()
					r, _, err := e.Call(context.Background(), "ok.js", "add", map[string]any{"x": 1}, Env{})
					if err != nil || r != int64(2) {
						t.Errorf("concurrent call: %v %v", r, err)
						return
					}
					if d := int64(time.Since(st)); d > maxNs.Load() {
						maxNs.Store(d)
					}
					okCalls.Add(1)
					time.Sleep(time.Millisecond)
				}
			}()
			start := time.Now()
			_, _, err := e.Call(context.Background(), "big.js", c.fn, nil, Env{})
			el := time.Since(start)
			for i := 0; i < 1000 && okCalls.Load() == 0; i++ {
				time.Sleep(time.Millisecond)
			}
			close(stop)
			<-done
			se := asErr(t, err)
			ok := se.Kind == c.kind && strings.Contains(se.Message, c.msg)
			if c.kind == "" { // either the cap or the guard
				ok = se.Kind == KindMemory || se.Kind == KindRuntime && strings.Contains(se.Message, c.msg)
			}
			if !ok || se.Script != "big.js" {
				t.Fatalf("got %+v, want kind %s with %q", se, c.kind, c.msg)
			}
			if el > 2*time.Second {
				t.Fatalf("took %v", el)
			}
			// The guard-stopped cases allocate hundreds of MiB, and GC
			// pauses slow everyone down a little.
			if okCalls.Load() == 0 || time.Duration(maxNs.Load()) > time.Second {
				t.Fatalf("concurrent calls: ok=%d slowest=%v", okCalls.Load(), time.Duration(maxNs.Load()))
			}
			t.Logf("%s: %v after %v (concurrent calls: %d, slowest %v)", c.fn, se.Message, el, okCalls.Load(), time.Duration(maxNs.Load()))
		})
	}
	after := heapMiB()
	t.Logf("live heap before %.0f MiB, after %.0f MiB", before, after)
	if after-before > 256 {
		t.Fatalf("live heap grew by %.0f MiB", after-before)
	}
}

func TestCapsKeepNormalUse(t *testing.T) {
	e := mustNew(t, map[string]string{"n.js": `
function f() {
  const a = [3, 1, 2];
  const out = {
    repeat: "ab".repeat(3), padStart: "7".padStart(3, "0"), padEnd: "x".padEnd(3), concat: "a".concat(1, null, [2, 3]),
    join: a.join("-"), joinDefault: [1, [2, 3]].join(), map: a.map(x => x * 2), filter: a.filter(x => x > 1),
    sorted: a.slice().sort(), reduce: a.reduce((s, x) => s + x, 0), includes: a.includes(2), indexOf: a.indexOf(2),
    spread: [...a, ..."hé"], from: Array.from({length: 3}, (_, i) => i), fromStr: Array.from("abc"), flat: [1, [2, [3, [4]]]].flat(Infinity),
    flatMap: [1, 2].flatMap(x => [x, x * 10]), split: "a,b,,c".split(","), splitLimit: "a,b,c".split(",", 2), splitRe: "a1b2c".split(/\d/),
    typed: Array.from(new Uint8Array([1, 2, 300])), view: new Uint8Array(new ArrayBuffer(8), 4).length, f64: new Float64Array(3).length,
    apply: Math.max.apply(null, [1, 5, 2]), reflect: Reflect.apply(Math.min, null, [4, 2]), construct: Reflect.construct(Date, [0]).getTime(),
    json: JSON.stringify({b: [1, "x"], c: {d: null}}), jsonIndent: JSON.stringify([1], null, 2), jsonReplacer: JSON.stringify({a: 1, b: 2, c: {a: 3, z: 4}}, ["a", "c"]),
    jsonFn: JSON.stringify({a: 1, b: 2}, (k, v) => k === "b" ? undefined : v),
    fillSmall: new Array(3).fill(0), forOf: (() => { let s = 0; for (const x of a) s += x; return s })(),
    entries: [...["x", "y"].entries()].join(";"), isTyped: new Uint8Array(2) instanceof Uint8Array, ctor: new Uint8Array(1).constructor === Uint8Array,
    names: [String.prototype.repeat.name, String.prototype.repeat.length, Array.prototype.join.name, Uint8Array.name, Uint8Array.length, Array.prototype[Symbol.iterator] === Array.prototype.values].join(","),
    sub: (() => { class B extends Uint8Array {} const b = new B(4); return b instanceof B && b.length === 4 && b.subarray(1) instanceof B })(),
    typedStr: String(new Uint8Array([1, 2])), typedSpread: [...new Int16Array([-1, 2]).entries()].join(";"), typedKeys: Array.from(new Uint8Array(2).keys()),
    toStr: String([1, 2]), setSize: new Set([1, 1, 2]).size, joinMixed: [1, "a", null, undefined, true, {toString() { return "o" }}, [2, [3]], new String("s")].join("|"),
    joinLike: Array.prototype.join.call({length: 3, 0: "a", 2: 5}, "-"), joinStr: Array.prototype.join.call("abc", "."),
  };
  return out;
}
function noNew() { return Uint8Array(3) }
`}, Options{})
	r, _, err := e.Call(context.Background(), "n.js", "f", nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	got := r.(map[string]any)
	want := map[string]any{
		"repeat": "ababab", "padStart": "007", "padEnd": "x  ", "concat": "a1null2,3", "join": "3-1-2", "joinDefault": "1,2,3",
		"map": []any{int64(6), int64(2), int64(4)}, "filter": []any{int64(3), int64(2)}, "sorted": []any{int64(1), int64(2), int64(3)},
		"reduce": int64(6), "includes": true, "indexOf": int64(2), "spread": []any{int64(3), int64(1), int64(2), "h", "é"},
		"from": []any{int64(0), int64(1), int64(2)}, "fromStr": []any{"a", "b", "c"}, "flat": []any{int64(1), int64(2), int64(3), int64(4)},
		"flatMap": []any{int64(1), int64(10), int64(2), int64(20)}, "split": []any{"a", "b", "", "c"}, "splitLimit": []any{"a", "b"},
		"splitRe": []any{"a", "b", "c"}, "typed": []any{int64(1), int64(2), int64(44)}, "view": int64(4), "f64": int64(3),
		"apply": int64(5), "reflect": int64(2), "construct": int64(0),
		"json": `{"b":[1,"x"],"c":{"d":null}}`, "jsonIndent": "[\n  1\n]", "jsonReplacer": `{"a":1,"c":{"a":3}}`, "jsonFn": `{"a":1}`,
		"fillSmall": []any{int64(0), int64(0), int64(0)}, "forOf": int64(6), "entries": "0,x;1,y", "isTyped": true, "ctor": true,
		"names": "repeat,1,join,Uint8Array,3,true", "sub": true, "typedStr": "1,2", "typedSpread": "0,-1;1,2", "typedKeys": []any{int64(0), int64(1)}, "toStr": "1,2", "setSize": int64(2),
		"joinMixed": "1|a|||true|o|2,3|s", "joinLike": "a--5", "joinStr": "a.b.c",
	}
	for k, w := range want {
		if g := got[k]; !equalJSON(g, w) {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
	if _, _, err := e.Call(context.Background(), "n.js", "noNew", nil, Env{}); err == nil || !strings.Contains(err.Error(), "TypeError") {
		t.Errorf("typed array without new: %v", err)
	}
}

func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalJSON(x[k], y[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestReplaceCaps(t *testing.T) {
	src := `
function all() { return "x".repeat(1e6).replaceAll("x", "y".repeat(1000)).length }
function prefix() { return "x".repeat(1e5).replace(/x/g, "$` + "`" + `").length }
function symbol() { return /x/g[Symbol.replace]("x".repeat(1e5), "$'$'").length }
function normal() {
  const big = "ab".repeat(2e4);
  return [
    "a-b".replace(/(\w)-(\w)/, "$2-$1"), "a-b".replace("-", "+"), "aaa".replaceAll("a", "$&b"), "x1y2".replace(/\d/g, n => n * 2),
    big.replace(/a/g, "$&$&") === "aab".repeat(2e4), big.replaceAll("b", "[$$]") === "a[$]".repeat(2e4),
    "2026-11-22".replace(/(\d+)-(\d+)-(\d+)/, "$3.$2.$1 ($'|$` + "`" + `|$&)"), ("q" + big).replace(/q(a)/, "[$01|$11]").slice(0, 8),
  ];
}
// With a 4 MiB limit these take the callback (GetSubstitution in JS) path:
// few real matches, but a quadratic upper bound.
function callback() {
  const pad = "x".repeat(3000), s = pad + "ab" + pad + "ab", re = /(?<first>a)(b)/g;
  return [
    s.replace(re, "$<first>$2$1$10$0$$|$'|$` + "`" + `|$<zz>$<n") === s.replace(re, (m, a, b, i, str) => a + b + a + a + "0$0$|" + str.slice(i + 2) + "|" + str.slice(0, i) + "|$<n"),
    s.replaceAll("ab", "[$` + "`" + `$&$'$1$<n>]") === s.replaceAll("ab", (m, i, str) => "[" + str.slice(0, i) + m + str.slice(i + 2) + "$1$<n>]"),
    s.replace("ab", "$` + "`" + `$$") === pad + pad + "$" + pad + "ab",
    /(?<n>a)|(z)/g[Symbol.replace](pad + "a", "[$2$<n>$<zz>$<n]$'").slice(3000),
  ];
}
`
	e := mustNew(t, map[string]string{"r.js": src}, Options{MaxMemory: 32 << 20, Timeout: 5 * time.Second})
	for _, fn := range []string{"all", "prefix", "symbol"} {
		start := time.Now()
		_, _, err := e.Call(context.Background(), "r.js", fn, nil, Env{})
		se := asErr(t, err)
		// the guard may trip first on the callback path's garbage: either is
		// fine. Matches are found one exec at a time (caps.go), which is slow
		// but interruptible: the bound is the time limit.
		capped := se.Kind == KindRuntime && strings.Contains(se.Message, "exceeds the script memory limit")
		if !capped && se.Kind != KindMemory && se.Kind != KindTimeout || time.Since(start) > 6*time.Second {
			t.Fatalf("%s: %+v after %v", fn, se, time.Since(start))
		}
		t.Logf("%s: %v after %v", fn, se, time.Since(start))
	}
	r, _, err := e.Call(context.Background(), "r.js", "normal", nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"b-a", "a+b", "ababab", "x2y4", true, true, "22.11.2026 (||2026-11-22)", "[a|a1]ba"}
	if !equalJSON(r, want) {
		t.Fatalf("got %#v\nwant %#v", r, want)
	}
	e1 := mustNew(t, map[string]string{"r.js": src}, Options{MaxMemory: 4 << 20, Timeout: 5 * time.Second})
	r, _, err = e1.Call(context.Background(), "r.js", "callback", nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	want = []any{true, true, true, "[a$<n]"}
	if !equalJSON(r, want) {
		t.Fatalf("callback path: got %#v\nwant %#v", r, want)
	}

}
