package logic

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/schema"
)

func compile(t *testing.T, doc string) (*Program, schema.Problems) {
	t.Helper()
	app, problems := schema.Parse([]byte(doc))
	if len(problems) > 0 {
		t.Fatalf("parse: %v", problems)
	}
	return Compile(app)
}

const dealDoc = `{"name": "crm", "settings": {"scriptTimeoutMs": 30}, "entities": [
 {"name": "account", "fields": [{"id": "a1", "name": "tier", "type": "text"}]},
 {"name": "deal", "fields": [
  {"id": "f1", "name": "total", "type": "formula", "expr": "net + tax"},
  {"id": "f2", "name": "net", "type": "decimal"},
  {"id": "f3", "name": "tax", "type": "formula", "expr": "round(net * rate, 2)"},
  {"id": "f4", "name": "rate", "type": "decimal"},
  {"id": "f5", "name": "account", "type": "ref", "entity": "account"},
  {"id": "f6", "name": "gold", "type": "formula", "expr": "account.tier == 'gold'", "returns": "boolean"},
  {"id": "f7", "name": "boom", "type": "formula", "expr": "rate > 1 ? JSON.parse('{') : 0"}],
  "validations": [
   {"expr": "net >= 0", "message": "net must not be negative", "field": "net"},
   {"expr": "rate < 2 || JSON.parse('x')", "message": "rate is far too high"}],
  "hooks": {"beforeSave": "deal#beforeSave"}}],
 "scripts": {"deal": "function beforeSave(record, ctx) {\n  if (record.net > 100) record.rate = 0.5;\n  console.log('seen', ctx.user);\n  if (record.net === 13) throw new Error('unlucky');\n}\nfunction spin() { for (;;) {} }"}}`

func TestCompileAndCompute(t *testing.T) {
	p, problems := compile(t, dealDoc)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	le := p.Entity("deal")
	var order []string
	for _, f := range le.Formulas {
		order = append(order, f.Name)
	}
	// total reads tax, so tax comes first.
	if want := []string{"tax", "total", "gold", "boom"}; !reflect.DeepEqual(order, want) {
		t.Errorf("formula order %v, want %v", order, want)
	}
	if !reflect.DeepEqual(le.RefReads, map[string][]string{"account": {"tier"}}) {
		t.Errorf("ref reads %v", le.RefReads)
	}
	if p.Scripts().Options().Timeout != 30*time.Millisecond {
		t.Errorf("timeout %v", p.Scripts().Options().Timeout)
	}
	ctx := context.Background()
	out, err := p.Compute(ctx, "deal", map[string]any{"net": 100, "rate": 0.2, "account": map[string]any{"id": "a", "tier": "gold"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Values["tax"] != int64(20) || out.Values["total"] != int64(120) || out.Values["gold"] != true || len(out.Problems) != 0 {
		t.Errorf("compute: %v %v", out.Values, out.Problems)
	}
	// Every failing rule and formula is reported, each at its place.
	out, err = p.Compute(ctx, "deal", map[string]any{"net": -5, "rate": 3, "account": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, pr := range out.Problems {
		got[pr.Path] = pr.Message
	}
	if len(out.Problems) != 3 || !strings.Contains(got["/boom"], "formula boom failed: SyntaxError") ||
		got["/net"] != "net must not be negative" || !strings.Contains(got[""], "rate is far too high (the rule could not be checked: SyntaxError") {
		t.Errorf("problems %v", out.Problems)
	}
	if out.Values["boom"] != nil {
		t.Errorf("a failed formula gives null, got %v", out.Values["boom"])
	}
	// An entity without logic computes nothing.
	if out, err := p.Compute(ctx, "account", map[string]any{"tier": "x"}); err != nil || len(out.Values) != 0 {
		t.Errorf("account: %v %v", out, err)
	}
}

func TestRunHook(t *testing.T) {
	p, problems := compile(t, dealDoc)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	shape := &script.Shape{Name: "deal", Writable: map[string]bool{"net": true, "rate": true}, ReadOnly: map[string]string{"total": "computed"}}
	call := func(net int) (HookResult, bool, error) {
		return p.RunHook(context.Background(), "deal", HookCall{Event: BeforeSave, Record: &script.Record{Values: map[string]any{"net": net, "rate": 0.1}, Shape: shape},
			Ctx: map[string]any{"user": map[string]any{"id": "u1"}}})
	}
	res, ok, err := call(200)
	if !ok || err != nil || res.Changes["rate"] != 0.5 || res.Hook.String() != "deal#beforeSave" {
		t.Fatalf("hook: %v %v %v", res, ok, err)
	}
	if len(res.Logs) != 1 || res.Logs[0].Message != `seen {"id":"u1"}` {
		t.Errorf("logs %v", res.Logs)
	}
	_, _, err = call(13)
	if se, _ := err.(*script.Error); se == nil || se.Line != 4 || !strings.Contains(se.Message, "unlucky") {
		t.Errorf("throw: %v", err)
	}
	if _, ok, _ := p.RunHook(context.Background(), "deal", HookCall{Event: AfterSave}); ok {
		t.Error("an absent hook ran")
	}
}

func TestCompileProblems(t *testing.T) {
	cases := []struct{ name, from, to, path, msg string }{
		{"script syntax", `throw new Error('unlucky');`, `throw new Error('unlucky';`, "/scripts/deal", "line 4"},
		{"missing hook function", `"deal#beforeSave"`, `"deal#beforeSafe"`, "/entities/1/hooks/beforeSave", `no top-level function "beforeSafe"`},
		{"formula syntax", `"net + tax"`, `"net + + * tax"`, "/entities/1/fields/0/expr", "not a valid expression"},
		{"unknown function", `round(net * rate, 2)`, `rnd(net * rate, 2)`, "/entities/1/fields/2/expr", `unknown function "rnd"`},
		{"did you mean", `round(net * rate, 2)`, `roud(net * rate, 2)`, "/entities/1/fields/2/expr", `(did you mean "round"?)`},
		{"rule syntax", `"net >= 0"`, `"net >= "`, "/entities/1/validations/0/expr", "not a valid expression"},
		// What the sandbox cannot bound is refused at apply, at its pointer
		// (script.Forbidden), and quickly: constant BigInt folding would burn
		// seconds and 512 MB in the compiler.
		{"bigint in script", `throw new Error('unlucky');`, `throw new Error(String(3n ** 30000000n));`, "/scripts/deal", "line 4, column 49: BigInt literals are not supported"},
		{"bigint in formula", `"net + tax"`, `"net + Number(1n << 4294967296n)"`, "/entities/1/fields/0/expr", "BigInt literals are not supported"},
		{"backtracking rule", `"net >= 0"`, `"net >= 0 && (/^(a+)+(?=b)/).test(String(net))"`, "/entities/1/validations/0/expr", "needs a backtracking engine"},
		{"backtracking script", `record.rate = 0.5;`, `record.rate = /(\\w+)\\1/.test(record.name) ? 1 : 0.5;`, "/scripts/deal", "line 2, column 39: regular expression"},
	}
	for _, c := range cases {
		doc := strings.Replace(dealDoc, c.from, c.to, 1)
		if doc == dealDoc {
			t.Fatalf("%s: %q not found", c.name, c.from)
		}
		app, problems := schema.Parse([]byte(doc))
		if len(problems) > 0 {
			// schema.Check catches some first; those are its tests' business
			t.Logf("%s: refused by schema: %v", c.name, problems)
			continue
		}
		start := time.Now()
		_, problems = Compile(app)
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("%s: compiled in %v", c.name, el)
		}
		if len(problems) != 1 || problems[0].Path != c.path || !strings.Contains(problems[0].Message, c.msg) {
			t.Errorf("%s: %v", c.name, problems)
		}
	}
	// An app without scripts, formulas or rules needs no sandbox.
	p, problems := compile(t, `{"name": "x", "entities": [{"name": "e", "fields": [{"id": "a", "name": "n", "type": "text"}]}]}`)
	if len(problems) > 0 || p.Scripts() != nil || p.Entity("e").Computes() {
		t.Errorf("plain app: %v %v", p, problems)
	}
}

func TestCloseTo(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"roud", "round", true}, {"rnuod", "round", false}, {"ronud", "round", true}, {"round", "round", false}, {"rond", "round", true}, {"x", "round", false}} {
		if got := closeTo(c.a, c.b); got != c.want {
			t.Errorf("closeTo(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
