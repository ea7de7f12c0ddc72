package script

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"
)

// withLibrary adds the helper library's globals to a sorted, comma-separated
// list of global names.
func withLibrary(list string) string {
	names := append(strings.Split(list, ","), LibraryGlobals...)
	sort.Strings(names)
	return strings.Join(names, ",")
}

func TestLibrary(t *testing.T) {
	e := mustNew(t, map[string]string{"lib.js": `
function typeofAll(a) { return a.names.map(n => typeof globalThis[n]) }
`}, Options{})
	// Scripts cannot eval (forbid.go): each expression is a script.
	eval := func(expr string) (any, error) {
		x, err := New(map[string]string{"lib.js": "function run() { return (\n" + expr + "\n) }"}, Options{PoolSize: 1})
		if err != nil {
			return nil, err
		}
		r, _, err := x.Call(context.Background(), "lib.js", "run", nil, Env{})
		return r, err
	}
	today := time.Now().UTC().Format("2006-01-02")
	cases := []struct {
		expr string
		want any
	}{
		// numbers
		{`round(1.005, 2)`, 1.01}, {`round(-2.5)`, int64(-3)}, {`round(2.5)`, int64(3)}, {`round(1234.5678, -2)`, int64(1200)},
		{`round(1.2345, 3)`, 1.235}, {`round(-1.005, 2)`, -1.01}, {`round(-0.4)`, int64(0)}, {`Object.is(round(-0.4), 0)`, true},
		{`round(0.1 + 0.2, 10)`, 0.3}, {`round(1e21, 2)`, 1e21}, {`round(null)`, nil}, {`round(undefined, 2)`, nil}, {`round(2.345, null)`, int64(2)},
		{`floor(1.239, 2)`, 1.23}, {`floor(-1.231, 2)`, -1.24}, {`floor(1.7)`, int64(1)}, {`floor(1550, -2)`, int64(1500)}, {`floor(null)`, nil},
		{`ceil(1.231, 2)`, 1.24}, {`ceil(-1.239, 2)`, -1.23}, {`ceil(1.1)`, int64(2)}, {`ceil(0.1 * 3, 1)`, 0.4}, {`ceil(null, 2)`, nil},
		{`abs(-3.5)`, 3.5}, {`abs(null)`, nil},
		{`min(3, null, 1, 2)`, int64(1)}, {`max(3, null, [7, 1], 2)`, int64(7)}, {`min()`, nil}, {`max(null, undefined)`, nil},
		{`sum(1, 2, null, [3, 4])`, int64(10)}, {`sum(0.1, 0.2)`, 0.3}, {`sum([19.99, 5.01, 0.1])`, 25.1}, {`sum()`, int64(0)}, {`sum(null)`, int64(0)},
		{`coalesce(null, undefined, 0, 5)`, int64(0)}, {`coalesce(null, "", "x")`, ""}, {`coalesce()`, nil}, {`coalesce(null)`, nil},
		{`percent(1, 3)`, 33.33}, {`percent(1, 8, 1)`, 12.5}, {`percent(5, 0)`, nil}, {`percent(null, 5)`, nil}, {`percent(0.07, 1)`, int64(7)},
		// strings
		{`concat("a", null, 1, undefined, true)`, "a1true"}, {`concat()`, ""}, {`concat(null)`, ""},
		{`upper("héllo")`, "HÉLLO"}, {`lower("ABC")`, "abc"}, {`trim("  a b \n")`, "a b"}, {`upper(null)`, nil}, {`trim(undefined)`, nil},
		{`len("héllo")`, int64(5)}, {`len("a😀b")`, int64(3)}, {`len(null)`, int64(0)}, {`len("")`, int64(0)}, {`len([1, 2])`, int64(2)},
		{`left("a😀bc", 2)`, "a😀"}, {`left("abc", 10)`, "abc"}, {`left("abc", 0)`, ""}, {`right("ab😀c", 2)`, "😀c"}, {`right("abc", 5)`, "abc"},
		{`left(null, 2)`, nil}, {`right("abc", null)`, nil},
		{`contains("Hello World", "WORLD")`, true}, {`contains("abc", "x")`, false}, {`contains(null, "a")`, nil},
		{`startsWith("Invoice-1", "Inv")`, true}, {`startsWith("Invoice-1", "inv")`, false}, {`endsWith("a.pdf", ".pdf")`, true},
		{`endsWith("a.PDF", ".pdf")`, false}, {`startsWith(null, "a")`, nil},
		{`isBlank(null)`, true}, {`isBlank(undefined)`, true}, {`isBlank(" \t\n")`, true}, {`isBlank([])`, true}, {`isBlank("x")`, false},
		{`isBlank(0)`, false}, {`isBlank({})`, false}, {`isBlank([null])`, false},
		{`padLeft("7", 3, "0")`, "007"}, {`padLeft(42, 5)`, "   42"}, {`padLeft("abcd", 2)`, "abcd"}, {`padLeft("a", 4, "xy")`, "xyxa"},
		{`padLeft("😀", 3, "é")`, "éé😀"}, {`padLeft(null, 3)`, nil},
		// dates
		{`today()`, today}, {`/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(now())`, true}, {`dateOf(now())`, today},
		{`addDays("2026-02-27", 2)`, "2026-03-01"}, {`addDays("2024-02-28", 1)`, "2024-02-29"}, {`addDays("2026-01-01", -1)`, "2025-12-31"},
		{`addDays("2026-11-22T10:00:00Z", 1)`, "2026-11-23T10:00:00Z"}, {`addDays("2026-11-22T23:30:00-02:00", 0)`, "2026-11-23T01:30:00Z"},
		{`addDays("2026-11-22T10:00:00.250+01:00", 1)`, "2026-11-23T09:00:00.250Z"}, {`addDays("2026-11-22T10:00:00.123456789Z", 0)`, "2026-11-22T10:00:00.123Z"},
		{`addDays(null, 1)`, nil}, {`addDays("2026-01-01", null)`, nil},
		{`addMonths("2026-01-31", 1)`, "2026-02-28"}, {`addMonths("2024-01-31", 1)`, "2024-02-29"}, {`addMonths("2026-03-31", -1)`, "2026-02-28"},
		{`addMonths("2026-11-15", 14)`, "2028-01-15"}, {`addMonths("2026-01-15", -13)`, "2024-12-15"}, {`addMonths("2026-01-31T08:00:00Z", 1)`, "2026-02-28T08:00:00Z"},
		{`addMonths(null, 1)`, nil},
		{`daysBetween("2026-01-01", "2026-03-01")`, int64(59)}, {`daysBetween("2026-03-01", "2026-01-01")`, int64(-59)},
		{`daysBetween("2026-11-22T23:59:59Z", "2026-11-23T00:00:01Z")`, int64(1)}, {`daysBetween("2026-11-22", "2026-11-22T12:00:00Z")`, int64(0)},
		{`daysBetween("2026-11-23T00:30:00+02:00", "2026-11-23")`, int64(1)}, {`daysBetween(null, "2026-01-01")`, nil},
		{`year("2026-11-22")`, int64(2026)}, {`month("2026-11-22")`, int64(11)}, {`day("2026-11-22T10:00:00Z")`, int64(22)},
		{`day("2026-11-22T01:00:00+02:00")`, int64(21)}, {`year(null)`, nil},
		{`weekday("2026-11-23")`, int64(1)}, {`weekday("2026-11-22")`, int64(7)}, {`weekday("1970-01-01")`, int64(4)}, {`weekday("1969-12-31")`, int64(3)},
		{`weekday(null)`, nil},
		{`startOfMonth("2026-11-22")`, "2026-11-01"}, {`endOfMonth("2026-11-22")`, "2026-11-30"}, {`endOfMonth("2024-02-10")`, "2024-02-29"},
		{`endOfMonth("2100-02-10")`, "2100-02-28"}, {`endOfMonth("2026-12-31T23:00:00Z")`, "2026-12-31"}, {`startOfMonth(null)`, nil},
		{`dateOf("2026-11-22T10:00:00Z")`, "2026-11-22"}, {`dateOf("2026-11-22T22:00:00-05:00")`, "2026-11-23"}, {`dateOf("2026-11-22")`, "2026-11-22"},
		{`dateOf(new Date(0))`, "1970-01-01"}, {`dateOf(null)`, nil}, {`addDays("0001-01-01", 1)`, "0001-01-02"},
	}
	for _, c := range cases {
		got, err := eval(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %#v, want %#v", c.expr, got, c.want)
		}
	}
	bad := []struct{ expr, msg string }{
		{`addDays("2026-13-45", 1)`, `TypeError: addDays: invalid date "2026-13-45"`},
		{`year("not a date")`, `TypeError: year: invalid date "not a date"`},
		{`month("2026-02-30")`, `TypeError: month: invalid date "2026-02-30"`},
		{`dateOf("2026-11-22T25:00:00Z")`, `TypeError: dateOf: invalid datetime "2026-11-22T25:00:00Z"`},
		{`daysBetween("2026-01-01", 5)`, `TypeError: daysBetween: invalid date 5`},
		{`weekday("2026-1-5")`, `TypeError: weekday: invalid date "2026-1-5"`},
		{`addDays("2026-01-01", 1.5)`, `TypeError: addDays: invalid count 1.5`},
		{`addDays("9999-12-31", 1)`, `RangeError: addDays: date out of range`},
		{`round("1.5")`, `TypeError: round: invalid number "1.5"`},
		{`round(1, 2.5)`, `TypeError: round: invalid number of digits 2.5`},
		{`sum(1, "2")`, `TypeError: sum: invalid number "2"`},
		{`max(1, NaN)`, `TypeError: max: invalid number NaN`},
		{`percent(1, {})`, `TypeError: percent: invalid number an object`},
		{`upper({})`, `TypeError: upper: invalid string an object`},
		{`left("abc", -1)`, `TypeError: left: invalid count -1`},
		{`padLeft("a", 3, "")`, `TypeError: padLeft: invalid pad string ""`},
	}
	for _, c := range bad {
		_, err := eval(c.expr)
		if err == nil {
			t.Errorf("%s: no error", c.expr)
			continue
		}
		if se := asErr(t, err); se.Kind != KindRuntime || !strings.HasPrefix(se.Message, c.msg) {
			t.Errorf("%s: %+v, want %q", c.expr, se, c.msg)
		}
	}
	r, _, err := e.Call(context.Background(), "lib.js", "typeofAll", map[string]any{"names": LibraryGlobals}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	for i, ty := range r.([]any) {
		if ty != "function" {
			t.Errorf("%s is %v", LibraryGlobals[i], ty)
		}
	}
}

func TestLibraryTamperProof(t *testing.T) {
	e := mustNew(t, map[string]string{"t.js": `
function sloppy() {
  round = function() { return "hacked" };
  round.x = 1;
  try { delete globalThis.round } catch (e) {}
  try { Object.defineProperty(globalThis, "round", {value: 1}) } catch (e) {}
  try { Object.setPrototypeOf(round, null) } catch (e) {}
  return [round(1.5), round.x === undefined, Object.isFrozen(round)];
}
function strict() { "use strict"; round = 1; }
function strictProp() { "use strict"; addDays.name2 = 1; }
function shadow() { const round = () => "local"; return round(); }
function envShadow() { return round }
function unlink() {
  const out = [];
  try { Object.setPrototypeOf(globalThis, Object.prototype) } catch (e) { out.push(String(e)) }
  try { Reflect.setPrototypeOf(globalThis, null) } catch (e) { out.push(String(e)) }
  try { globalThis.__proto__ = {} } catch (e) { out.push(String(e)) }
  const o = {}; Object.setPrototypeOf(o, null); const p = {}; p.__proto__ = Array.prototype;
  out.push(typeof round, Object.getPrototypeOf(o) === null && Array.isArray(p) === false && p instanceof Array, Object.getOwnPropertyDescriptor(Object.prototype, "__proto__").set.name);
  return out;
}
function check() { return [round(2.5), typeof round.x, addDays("2026-01-31", 1), Object.getOwnPropertyNames(round).sort().join(",")] }
`}, Options{PoolSize: 1})
	r, _, err := e.Call(context.Background(), "t.js", "sloppy", nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.([]any); got[0] != int64(2) || got[1] != true || got[2] != true {
		t.Fatalf("sloppy tamper: %v", got)
	}
	for _, fn := range []string{"strict", "strictProp"} {
		_, _, err := e.Call(context.Background(), "t.js", fn, nil, Env{})
		if se := asErr(t, err); se.Kind != KindRuntime || !strings.Contains(se.Message, "TypeError") {
			t.Fatalf("%s: %+v", fn, se)
		}
	}
	// a script's own binding may shadow a helper inside its scope
	if r, _, err := e.Call(context.Background(), "t.js", "shadow", nil, Env{}); err != nil || r != "local" {
		t.Fatalf("shadow: %v %v", r, err)
	}
	r, _, err = e.Call(context.Background(), "t.js", "check", nil, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.([]any); got[0] != int64(3) || got[1] != "undefined" || got[2] != "2026-02-01" || got[3] != "length,name,prototype" {
		t.Fatalf("after tampering: %v", got)
	}
	// Env globals cannot shadow helpers
	_, _, err = e.Call(context.Background(), "t.js", "envShadow", nil, Env{Globals: map[string]any{"round": 1}})
	if se := asErr(t, err); se.Kind != KindArgs {
		t.Fatalf("env shadowing a helper: %+v", se)
	}
	// the global object's prototype cannot be replaced (it would outlive the call)
	r, _, err = e.Call(context.Background(), "t.js", "unlink", nil, Env{})
	if err != nil || !equalJSON(r, []any{"TypeError: Object.setPrototypeOf: the global object's prototype cannot be changed",
		"TypeError: Reflect.setPrototypeOf: the global object's prototype cannot be changed",
		"TypeError: __proto__: the global object's prototype cannot be changed", "function", true, "set __proto__"}) {
		t.Fatalf("unlink: %#v %v", r, err)
	}
	r, _, err = e.Call(context.Background(), "t.js", "check", nil, Env{})
	if err != nil || r.([]any)[0] != int64(3) {
		t.Fatalf("after unlinking: %v %v", r, err)
	}
}
