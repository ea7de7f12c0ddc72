package schema

import (
	"encoding/json"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustParse parses doc and fails the test on any problem.
func mustParse(t *testing.T, doc []byte) *App {
	t.Helper()
	app, probs := Parse(doc)
	if len(probs) > 0 {
		t.Fatalf("unexpected problems:\n%s", probs.Error())
	}
	if app == nil {
		t.Fatal("no app and no problems")
	}
	return app
}

// expectProblems parses doc and checks the problems are exactly want, in
// order, each message containing the wanted fragment.
func expectProblems(t *testing.T, doc []byte, want ...Problem) {
	t.Helper()
	app, probs := Parse(doc)
	if (app == nil) != (len(probs) > 0) {
		t.Errorf("Parse returned app %v with %d problems", app != nil, len(probs))
	}
	if len(probs) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(probs), len(want), probs.Error())
	}
	expectCodes(t, probs)
	for i, w := range want {
		if probs[i].Path != w.Path || !strings.Contains(probs[i].Message, w.Message) {
			t.Errorf("problem %d = %s: %s\nwant %s: …%s…\nall:\n%s", i, probs[i].Path, probs[i].Message, w.Path, w.Message, probs.Error())
		}
	}
}

func TestParseFullDocument(t *testing.T) {
	app := mustParse(t, readFile(t, "testdata/full.json"))
	if app.Name != "shop" || len(app.Entities) != 3 {
		t.Fatalf("got %q with %d entities", app.Name, len(app.Entities))
	}
	seen := map[FieldType]bool{}
	for _, e := range app.Entities {
		for _, f := range e.Fields {
			seen[f.Type] = true
		}
	}
	for _, ft := range FieldTypes {
		if !seen[ft] {
			t.Errorf("testdata/full.json has no %s field; it should cover every type", ft)
		}
	}
	c := app.Entity("customer")
	if c == nil || c.Field("credit") == nil {
		t.Fatal("customer.credit missing")
	}
	if got := c.Field("credit").Min.String(); got != "-1000.5" {
		t.Errorf("min kept as %q, want the literal -1000.5", got)
	}
	if got := c.Field("spent").StorageType(); got != Decimal {
		t.Errorf("spent stored as %s", got)
	}
	if len(app.Forms) != 1 || len(app.Automations) != 1 || len(app.Roles) != 1 {
		t.Errorf("capability sections not kept: forms %d automations %d roles %d", len(app.Forms), len(app.Automations), len(app.Roles))
	}
	if app.Version != 7 {
		t.Errorf("version = %d", app.Version)
	}
	if probs := app.Check(); len(probs) > 0 {
		t.Errorf("Check on a parsed app: %s", probs.Error())
	}
}

func TestParsePipeline(t *testing.T) {
	app := mustParse(t, readFile(t, "testdata/pipeline.json"))
	opp := app.Entity("opportunity")
	if opp == nil {
		t.Fatal("no opportunity entity")
	}
	refs, err := FormulaRefs(opp.Field("weighted").Expr)
	if err != nil || strings.Join(refs, ",") != "amount,probability" {
		t.Errorf("weighted refs = %v, %v", refs, err)
	}
	if got := opp.Field("stage").Options; len(got) != 6 || got[4] != "won" {
		t.Errorf("stage options = %v", got)
	}
	won := app.Entity("account").Field("won_amount")
	if won.Rollup == nil || won.Rollup.Entity != "opportunity" || won.Rollup.Via != "account" || won.Rollup.Op != "sum" {
		t.Errorf("won_amount rollup = %+v", won.Rollup)
	}
	// Round trip: the Go value marshals back to a document that parses.
	b, err := json.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	mustParse(t, b)
}

func TestParseMalformedJSON(t *testing.T) {
	cases := []struct{ doc, msg string }{
		{"", "the document is empty"},
		{"  \n ", "the document is empty"},
		{"{\n  \"name\": \"a\",\n  \"entities\": [\n    {\"name\": \"b\",}\n  ]\n}", "line 4, column 18: invalid character '}'"},
		{`{"name": "a", "entities": [`, "unexpected end of JSON input"},
		{`{"name": "a", "entities": []} x`, "line 1, column 31: invalid character 'x' after top-level value"},
		{`{'name': 'a'}`, "line 1, column 2"},
	}
	for _, c := range cases {
		app, probs := Parse([]byte(c.doc))
		if app != nil || len(probs) != 1 || probs[0].Path != "" || !strings.Contains(probs[0].Message, c.msg) {
			t.Errorf("Parse(%q) = %v, want one problem at \"\" containing %q", c.doc, probs, c.msg)
		}
	}
}

func TestParseNotAnObject(t *testing.T) {
	expectProblems(t, []byte(`[]`), Problem{Path: "", Message: "must be an object, not an array"})
	expectProblems(t, []byte(`null`), Problem{Path: "", Message: "must be an object, not null"})
	expectProblems(t, []byte(`{}`), Problem{Path: "", Message: `missing required field "name"`}, Problem{Path: "", Message: `missing required field "entities"`})
}

func TestParseWrongTypes(t *testing.T) {
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal", "fields": [
		{"id": "f1", "name": "closed", "type": "boolean", "required": "yes"}]}]}`),
		Problem{Path: "/entities/0/fields/0/required", Message: `must be a boolean (true or false), not the string "yes"`})
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal", "fields": {}}]}`),
		Problem{Path: "/entities/0/fields", Message: "must be an array, not an object"})
	expectProblems(t, []byte(`{"name": "crm", "entities": {"deal": {}}}`),
		Problem{Path: "/entities", Message: "must be an array, not an object"})
	expectProblems(t, []byte(`{"name": 7, "entities": []}`),
		Problem{Path: "/name", Message: "must be a string, not the number 7"})
	expectProblems(t, []byte(`{"name": "crm", "version": "3", "entities": []}`),
		Problem{Path: "/version", Message: "must be a whole number, not the string"})
	expectProblems(t, []byte(`{"name": "crm", "version": 3.0, "entities": []}`),
		Problem{Path: "/version", Message: "must be a whole number written without a decimal point or exponent, not 3.0"})
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal", "fields": [
		{"id": "f1", "name": "title", "type": "text", "maxLength": 1e3}]}]}`),
		Problem{Path: "/entities/0/fields/0/maxLength", Message: "must be a whole number written without a decimal point"})
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal", "fields": [
		{"id": "f1", "name": "amount", "type": "decimal", "min": "0"}]}]}`),
		Problem{Path: "/entities/0/fields/0/min", Message: `must be a number, not the string "0"`})
	expectProblems(t, []byte(`{"name": "crm", "entities": [], "scripts": {"x": 5}, "forms": [1], "roles": {}}`),
		Problem{Path: "/scripts/x", Message: "must be a string, not the number 5"},
		Problem{Path: "/forms/0", Message: "must be an object, not the number 1"},
		Problem{Path: "/roles", Message: "must be an array, not an object"})
}

// Huge exponents would make exact arithmetic explode (jsonschema/v5 even
// panics on them); they are refused before validation.
func TestParseHugeNumbers(t *testing.T) {
	expectProblems(t, []byte(`{"name": "crm", "version": 1e1000000000, "entities": [{"name": "d", "fields": [
		{"id": "f", "name": "x", "type": "decimal", "precision": 1e999999, "min": -1E-9999999, "default": 1e401}]}],
		"dashboards": [{"n": [1e308, 1e-400, 1e-401]}]}`),
		Problem{Path: "/version", Message: "number 1e1000000000 is out of range"},
		Problem{Path: "/entities/0/fields/0/min", Message: "number -1E-9999999 is out of range"},
		Problem{Path: "/entities/0/fields/0/precision", Message: "number 1e999999 is out of range"},
		Problem{Path: "/entities/0/fields/0/default", Message: "number 1e401 is out of range"},
		Problem{Path: "/dashboards/0/n/2", Message: "number 1e-401 is out of range"})
	long := strings.Repeat("9", 401)
	expectProblems(t, []byte(`{"name": "crm", "entities": [], "forms": [{"x": `+long+`}]}`),
		Problem{Path: "/forms/0/x", Message: "is out of range"})
	// Check alone on a Go value with absurd numbers stays quick.
	huge, p := json.Number("1e999999999"), 1000000000
	app := &App{Name: "crm", Entities: []Entity{{Name: "d", Fields: []Field{{ID: "f", Name: "x", Type: Decimal, Max: &huge, Precision: &p}}}}}
	if probs := app.Check(); len(probs) != 2 {
		t.Errorf("Check = %v", probs)
	}
}

func TestParseUnknownKeys(t *testing.T) {
	expectProblems(t, []byte(`{"name": "crm", "entites": [], "entities": []}`),
		Problem{Path: "/entites", Message: `unknown field "entites" (did you mean "entities"?)`})
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal", "feilds": [], "fields": []}]}`),
		Problem{Path: "/entities/0/feilds", Message: `unknown field "feilds" (did you mean "fields"?)`})
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal", "fields": [
		{"id": "f1", "name": "title", "type": "text", "requird": true}]}]}`),
		Problem{Path: "/entities/0/fields/0/requird", Message: `unknown field "requird" (did you mean "required"?)`})
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal", "fields": [{"id": "f1", "name": "title", "type": "text"}],
		"indexes": [{"fields": ["title"], "uniq": true}]}]}`),
		Problem{Path: "/entities/0/indexes/0/uniq", Message: `unknown field "uniq" (did you mean "unique"?)`})
	expectProblems(t, []byte(`{"name": "crm", "entities": [
		{"name": "parent", "fields": [{"id": "p1", "name": "n", "type": "rollup", "rollup": {"entity": "child", "via": "parent", "op": "count", "where": "x"}}]},
		{"name": "child", "fields": [{"id": "c1", "name": "parent", "type": "ref", "entity": "parent"}]}]}`),
		Problem{Path: "/entities/0/fields/0/rollup/where", Message: `unknown field "where"`})
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal", "fields": [], "hooks": {"onSave": "deal#x"}}], "scripts": {"deal": ""}}`),
		Problem{Path: "/entities/0/hooks/onSave", Message: `unknown hook "onSave": hooks are beforeSave, afterSave, beforeDelete, afterDelete`})
}

func TestParseInjectionNames(t *testing.T) {
	const rule = "must start with a lowercase letter and contain only lowercase letters, digits and underscores"
	expectProblems(t, []byte(`{"name": "x\"; DROP TABLE users; --", "entities": []}`),
		Problem{Path: "/name", Message: rule})
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal; DROP TABLE x", "fields": [
		{"id": "f1", "name": "a\" OR 1=1 --", "type": "text"},
		{"id": "f2'--", "name": "b", "type": "text"}]}]}`),
		Problem{Path: "/entities/0/name", Message: rule},
		Problem{Path: "/entities/0/fields/0/name", Message: rule},
		Problem{Path: "/entities/0/fields/1/id", Message: "letters, digits, underscores or hyphens"})
	expectProblems(t, []byte(`{"name": "crm", "entities": [{"name": "deal", "fields": [
		{"id": "f1", "name": "acct", "type": "ref", "entity": "users; --"}],
		"indexes": [{"fields": ["id); DROP TABLE x; --"]}]}]}`),
		Problem{Path: "/entities/0/fields/0/entity", Message: rule},
		Problem{Path: "/entities/0/indexes/0/fields/0", Message: rule})
	expectProblems(t, []byte(`{"name": "crm", "entities": [], "scripts": {"../../etc/passwd": "x"}}`),
		Problem{Path: "/scripts/..~1..~1etc~1passwd", Message: `script name "../../etc/passwd" ` + rule})
	if ValidName("Robert'); DROP TABLE students;--") || ValidName("_x") || ValidName("a-b") || ValidName(strings.Repeat("a", 64)) || ValidName("") {
		t.Error("ValidName accepts an unsafe name")
	}
	if !ValidName("a") || !ValidName(strings.Repeat("a", 63)) || !ValidName("deal_2") {
		t.Error("ValidName refuses a good name")
	}
}

// Schema problems and semantic problems come back together, ordered by path.
func TestParseReportsEverythingAtOnce(t *testing.T) {
	doc := `{
	  "name": "crm",
	  "entities": [
	    {"name": "deal", "fields": [
	      {"id": "f1", "name": "title", "type": "text", "requird": true},
	      {"id": "f2", "name": "stage", "type": "select", "options": ["open", "won"], "default": "lost"},
	      {"id": "f3", "name": "account", "type": "ref", "entity": "acount"},
	      {"id": "f3", "name": "order", "type": "integer", "maxLength": 5},
	      {"id": "f5", "name": "weighted", "type": "formula", "expr": "amount * probability"}
	    ], "indexes": [{"fields": ["title", "nope"]}], "hooks": {"beforeSave": "deal#check"}},
	    {"name": "account", "fields": [{"id": "a1", "name": "name", "type": "txt"}]}
	  ]
	}`
	expectProblems(t, []byte(doc),
		Problem{Path: "/entities/0/fields/0/requird", Message: `unknown field "requird"`},
		Problem{Path: "/entities/0/fields/1/default", Message: `"lost" is not one of the options: open, won`},
		Problem{Path: "/entities/0/fields/2/entity", Message: `no entity named "acount" in this app (did you mean "account"?)`},
		Problem{Path: "/entities/0/fields/3/id", Message: `duplicate field id "f3"`},
		Problem{Path: "/entities/0/fields/3/name", Message: `"order" is a reserved word`},
		Problem{Path: "/entities/0/fields/3/maxLength", Message: `"maxLength" does not apply to integer fields`},
		Problem{Path: "/entities/0/fields/4/expr", Message: `unknown field "amount"`},
		Problem{Path: "/entities/0/fields/4/expr", Message: `unknown field "probability"`},
		Problem{Path: "/entities/0/indexes/0/fields/1", Message: `unknown field "nope"`},
		Problem{Path: "/entities/0/hooks/beforeSave", Message: `no script named "deal"`},
		Problem{Path: "/entities/1/fields/0/type", Message: `must be one of text, longtext, integer, decimal, boolean, date, datetime, select, multiselect, email, phone, url, ref, user, file, json, formula, rollup, autonumber, not the string "txt"`},
	)
}

func TestParseSchemaBounds(t *testing.T) {
	field := func(f string) []byte {
		return []byte(`{"name": "crm", "entities": [{"name": "deal", "fields": [` + f + `]}]}`)
	}
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "text", "maxLength": 0}`),
		Problem{Path: "/entities/0/fields/0/maxLength", Message: "must be at least 1"})
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "text", "maxLength": 2000000}`),
		Problem{Path: "/entities/0/fields/0/maxLength", Message: "must be at most 1048576"})
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "decimal", "precision": 19}`),
		Problem{Path: "/entities/0/fields/0/precision", Message: "must be at most 18"})
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "decimal", "precision": 0}`),
		Problem{Path: "/entities/0/fields/0/precision", Message: "must be at least 1"})
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "decimal", "scale": -1}`),
		Problem{Path: "/entities/0/fields/0/scale", Message: "must be at least 0"})
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "select", "options": []}`),
		Problem{Path: "/entities/0/fields/0/options", Message: "must have at least 1 item"})
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "select", "options": ["a", "b", "a", ""]}`),
		Problem{Path: "/entities/0/fields/0/options/2", Message: `duplicate value "a" (same as item 0)`},
		Problem{Path: "/entities/0/fields/0/options/3", Message: "must not be empty"})
	opts := make([]string, 501)
	for i := range opts {
		opts[i] = `"o` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `"`
	}
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "select", "options": [`+strings.Join(opts, ",")+`]}`),
		Problem{Path: "/entities/0/fields/0/options", Message: "must have at most 500 items"})
	expectProblems(t, field(`{"id": "", "name": "t", "type": "text"}`),
		Problem{Path: "/entities/0/fields/0/id", Message: "must be 1 to 64 letters"})
	expectProblems(t, field(`{"name": "t", "type": "text"}`),
		Problem{Path: "/entities/0/fields/0", Message: `missing required field "id"`})
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "text", "rollup": {"op": "sum"}}`),
		Problem{Path: "/entities/0/fields/0/rollup", Message: `missing required field "entity"`},
		Problem{Path: "/entities/0/fields/0/rollup", Message: `missing required field "via"`},
		Problem{Path: "/entities/0/fields/0/rollup", Message: `"rollup" does not apply to text fields`})
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "ref", "entity": "deal", "onDelete": "nullify"}`),
		Problem{Path: "/entities/0/fields/0/onDelete", Message: `must be one of restrict, cascade, setNull, not the string "nullify"`})
	expectProblems(t, field(`{"id": "f1", "name": "t", "type": "formula", "expr": "1", "returns": "json"}`),
		Problem{Path: "/entities/0/fields/0/returns", Message: "must be one of text, integer, decimal, boolean, date, datetime"})

	var ents []string
	for i := 0; i < 201; i++ {
		ents = append(ents, `{"name": "e`+strings.Repeat("x", i/26)+string(rune('a'+i%26))+`", "fields": []}`)
	}
	expectProblems(t, []byte(`{"name": "crm", "entities": [`+strings.Join(ents, ",")+`]}`),
		Problem{Path: "/entities", Message: "must have at most 200 items"})
	var fields []string
	for i := 0; i < 501; i++ {
		fields = append(fields, `{"id": "f`+string(rune('a'+i%26))+strings.Repeat("x", i/26)+`", "name": "f`+string(rune('a'+i%26))+strings.Repeat("x", i/26)+`", "type": "text"}`)
	}
	expectProblems(t, field(strings.Join(fields, ",")), Problem{Path: "/entities/0/fields", Message: "must have at most 500 items"})
}

func TestSchemaJSON(t *testing.T) {
	var v map[string]any
	if err := json.Unmarshal(SchemaJSON(), &v); err != nil {
		t.Fatal(err)
	}
	defs := v["$defs"].(map[string]any)
	enum := defs["fieldType"].(map[string]any)["enum"].([]any)
	if len(enum) != len(FieldTypes) {
		t.Fatalf("schema lists %d field types, Go %d", len(enum), len(FieldTypes))
	}
	for i, ft := range FieldTypes {
		if enum[i] != string(ft) {
			t.Errorf("schema field type %d = %v, Go %s", i, enum[i], ft)
		}
	}
	ret := defs["returnType"].(map[string]any)["enum"].([]any)
	for i, ft := range ReturnTypes {
		if ret[i] != string(ft) {
			t.Errorf("schema return type %d = %v, Go %s", i, ret[i], ft)
		}
	}
	if defs["name"].(map[string]any)["pattern"] != NamePattern || defs["id"].(map[string]any)["pattern"] != IDPattern {
		t.Error("schema patterns differ from NamePattern/IDPattern")
	}
	// Every json key of the Go types is a schema property, and the reverse.
	keys := func(def string) map[string]bool {
		m := map[string]bool{}
		for k := range defs[def].(map[string]any)["properties"].(map[string]any) {
			m[k] = true
		}
		return m
	}
	rootKeys := map[string]bool{}
	for k := range v["properties"].(map[string]any) {
		rootKeys[k] = true
	}
	for _, c := range []struct {
		v    any
		keys map[string]bool
	}{
		{App{}, rootKeys}, {Entity{}, keys("entity")}, {Field{}, keys("field")},
		{RollupSpec{}, keys("rollup")}, {Index{}, keys("index")},
	} {
		tags := jsonKeys(c.v)
		for k := range tags {
			if !c.keys[k] {
				t.Errorf("%T: json key %q missing from the schema", c.v, k)
			}
		}
		for k := range c.keys {
			if !tags[k] {
				t.Errorf("%T: schema property %q is not a json key of the Go type", c.v, k)
			}
		}
	}
}

// jsonKeys lists the json keys of a struct value.
func jsonKeys(v any) map[string]bool {
	m := map[string]bool{}
	rt := reflect.TypeOf(v)
	for i := 0; i < rt.NumField(); i++ {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
}

// Parse never panics and never returns both an app and problems; an app it
// returns passes Check.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/pipeline.json", "testdata/full.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"name": "a", "entities": [{"name": "b", "fields": [{"id": "1", "name": "c", "type": "formula", "expr": "(d"}]}]}`))
	f.Add([]byte(`{"name": "a", "version": 1e5, "entities": null}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		app, probs := Parse(doc)
		if (app == nil) == (len(probs) == 0) {
			t.Fatalf("app %v with %d problems", app != nil, len(probs))
		}
		if app != nil {
			if p := app.Check(); len(p) > 0 {
				t.Fatalf("parsed app fails Check: %v", p)
			}
		}
	})
}

func BenchmarkParsePipeline(b *testing.B) {
	doc, err := os.ReadFile("testdata/pipeline.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, probs := Parse(doc); len(probs) > 0 {
			b.Fatal(probs)
		}
	}
}

// BenchmarkParseLarge parses an app at the entity limit: 200 entities of 50
// fields, each with a self ref, a formula and a rollup over it.
func BenchmarkParseLarge(b *testing.B) {
	var ents []string
	for i := 0; i < MaxEntities; i++ {
		name := "e" + strings.Repeat("x", i/26) + string(rune('a'+i%26))
		fields := []string{
			`{"id": "r", "name": "parent", "type": "ref", "entity": "` + name + `"}`,
			`{"id": "f", "name": "calc", "type": "formula", "expr": "n0 * n1 + parent.n2"}`,
			`{"id": "u", "name": "kids", "type": "rollup", "rollup": {"entity": "` + name + `", "via": "parent", "op": "count"}}`,
		}
		for j := 0; j < 47; j++ {
			fields = append(fields, `{"id": "n`+string(rune('a'+j%26))+strings.Repeat("x", j/26)+`", "name": "n`+strconv.Itoa(j)+`", "type": "decimal", "min": 0, "default": 1}`)
		}
		ents = append(ents, ent(name, fields, `"indexes": [{"fields": ["n0", "owner"]}]`))
	}
	doc := appDoc(ents...)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		if _, probs := Parse(doc); len(probs) > 0 {
			b.Fatal(probs[:1])
		}
	}
}
