package script

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestRecordArgument(t *testing.T) {
	e := mustNew(t, map[string]string{"deal": `
function hook(record, ctx) {
  record.amount = record.amount * 2;
  record.title = ctx.prefix + record.title;
  delete record.note;
  record.stage = undefined;
  return Object.keys(record).length;
}
function typo(record) {
  record.amout = 1;
}
function computed(record) {
  record.weighted = 1;
}
function define(record) {
  Object.defineProperty(record, "weighted", {value: 1});
}
function caught(record) {
  try { record.nope = 1 } catch (e) { return e.message }
}
function views(record) {
  console.log(record);
  return [JSON.parse(JSON.stringify(record)).title, Object.keys(record).join(","), "title" in record, "nope" in record, ({...record}).note, record.nope];
}
function badValue(record) {
  record.amount = function() {};
}
`}, Options{})
	rec := func() *Record {
		return &Record{Name: "deal",
			Values:   map[string]any{"amount": 21, "title": "Acme", "note": "x", "stage": "won", "weighted": 5},
			Writable: map[string]bool{"amount": true, "title": true, "note": true, "stage": true},
			ReadOnly: map[string]string{"weighted": "it is a formula field"}}
	}
	out, err := e.Invoke(context.Background(), "deal", "hook", []any{rec(), map[string]any{"prefix": "Big "}}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	got := out.Changes[0]
	if len(got) != 4 || got["amount"] != int64(42) || got["title"] != "Big Acme" || got["note"] != nil || got["stage"] != nil {
		t.Errorf("changes = %v", got)
	}
	if _, ok := got["note"]; !ok {
		t.Error("a deleted field is not reported as set to null")
	}
	if out.Result != int64(5) || out.Changes[1] != nil {
		t.Errorf("result %v, changes %v", out.Result, out.Changes)
	}
	for fn, want := range map[string]string{
		"typo":     `deal has no field "amout"`,
		"computed": "cannot set deal.weighted: it is a formula field",
		"define":   "cannot set deal.weighted",
		"badValue": "function",
	} {
		_, err := e.Invoke(context.Background(), "deal", fn, []any{rec()}, Env{})
		se := asErr(t, err)
		if !strings.Contains(se.Message, want) {
			t.Errorf("%s: error %q, want %q", fn, se.Message, want)
		}
		if fn == "typo" && se.Line != 10 {
			t.Errorf("typo reported at line %d, want 10", se.Line)
		}
	}
	out, err = e.Invoke(context.Background(), "deal", "views", []any{rec()}, Env{})
	if err != nil || mustJSONs(out.Result) != `["Acme","amount,note,stage,title,weighted",true,false,"x",null]` ||
		len(out.Logs) != 1 || out.Logs[0].Message != `{"amount":21,"note":"x","stage":"won","title":"Acme","weighted":5}` {
		t.Errorf("views: %v %v %v", out.Result, out.Logs, err)
	}
	out, err = e.Invoke(context.Background(), "deal", "caught", []any{rec()}, Env{})
	if err != nil || out.Result != `deal has no field "nope"` {
		t.Errorf("caught: %v %v", out.Result, err)
	}
}

func TestNatives(t *testing.T) {
	e := mustNew(t, map[string]string{"s": `
function find(a) { return db.find("deal", {limit: a.n, when: new Date(0)}) }
function fails() {
  return db.find("secret");
}
function catches() { try { db.find("secret") } catch (e) { return [e instanceof Error, e.message, typeof e.value] } }
function probe() { return [typeof db.find.constructor, Object.isFrozen(db), typeof db.find.call] }
function tamper() { db.find = null; db.x = 1; return typeof db.find }
function badArg() { return db.find(function() {}) }
function gone() { try { db.find("x"); return "callable" } catch (e) { return e.message } }
function clash() { return 1 }
`}, Options{PoolSize: 1, Natives: map[string][]string{"db": {"find", "get"}}})
	var gotArgs []any
	env := Env{Natives: map[string]map[string]Native{"db": {"find": func(ctx context.Context, args []any) (any, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("native ctx has no deadline")
		}
		gotArgs = args
		if args[0] == "secret" {
			return nil, errors.New("you may not read secret records")
		}
		return []map[string]any{{"id": "a", "n": 1}}, nil
	}}}}
	out, err := e.Invoke(context.Background(), "s", "find", []any{map[string]any{"n": 3}}, env)
	if err != nil {
		t.Fatal(err)
	}
	if list, _ := out.Result.([]any); len(list) != 1 || list[0].(map[string]any)["id"] != "a" {
		t.Errorf("find result %v", out.Result)
	}
	if opts, _ := gotArgs[1].(map[string]any); gotArgs[0] != "deal" || opts["limit"] != int64(3) || opts["when"] != "1970-01-01T00:00:00.000Z" {
		t.Errorf("native got %#v", gotArgs)
	}
	_, err = e.Invoke(context.Background(), "s", "fails", nil, env)
	if se := asErr(t, err); se.Message != "Error: you may not read secret records" || se.Line != 4 {
		t.Errorf("fails: %+v", se)
	}
	out, err = e.Invoke(context.Background(), "s", "catches", nil, env)
	if err != nil || out.Result.([]any)[0] != true || out.Result.([]any)[2] != "undefined" {
		t.Errorf("catches: %v %v", out.Result, err)
	}
	out, err = e.Invoke(context.Background(), "s", "probe", nil, env)
	if err != nil || out.Result.([]any)[1] != true {
		t.Errorf("probe: %v %v", out.Result, err)
	}
	out, err = e.Invoke(context.Background(), "s", "tamper", nil, env)
	if err != nil || out.Result != "function" {
		t.Errorf("tamper: %v %v", out.Result, err)
	}
	_, err = e.Invoke(context.Background(), "s", "badArg", nil, env)
	if se := asErr(t, err); !strings.Contains(se.Message, "db.find: argument 1: contains a function") {
		t.Errorf("badArg: %+v", se)
	}
	// Natives answer only the call that was given them.
	out, err = e.Invoke(context.Background(), "s", "gone", nil, Env{})
	if err != nil || out.Result != "db.find is not available here" {
		t.Errorf("gone: %v %v", out.Result, err)
	}
	// A native object cannot replace a built-in or a helper, nor be undeclared.
	for _, name := range []string{"JSON", "round", "console"} {
		if _, err := New(nil, Options{Natives: map[string][]string{name: {"f"}}}); err == nil {
			t.Errorf("native object %q accepted", name)
		}
	}
	_, err = e.Invoke(context.Background(), "s", "clash", nil, Env{Natives: map[string]map[string]Native{"net": {"get": nil}}})
	if se := asErr(t, err); se.Kind != KindArgs {
		t.Errorf("undeclared native: %+v", se)
	}
}

func mustJSONs(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Scripts run their top level afresh for every call, unless declared
// stateless in Options.Reuse (generated code), whose scope a runtime keeps.
func TestReuse(t *testing.T) {
	src := map[string]string{"a": "let n = 0; function f() { return ++n }", "b": "let n = 0; function f() { return ++n }"}
	e := mustNew(t, src, Options{PoolSize: 1, Reuse: []string{"b"}})
	for i := 1; i <= 3; i++ {
		if r, _, _ := e.Call(context.Background(), "a", "f", nil, Env{}); r != int64(1) {
			t.Errorf("a call %d: %v, want a fresh scope", i, r)
		}
		if r, _, _ := e.Call(context.Background(), "b", "f", nil, Env{}); r != int64(i) {
			t.Errorf("b call %d: %v, want the kept scope", i, r)
		}
	}
}
