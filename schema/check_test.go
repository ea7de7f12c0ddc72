package schema

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// appDoc is an app "crm" with the given entities (JSON objects).
func appDoc(entities ...string) []byte {
	return []byte(`{"name": "crm", "entities": [` + strings.Join(entities, ",") + `]}`)
}

// ent is an entity with fields (JSON objects) and optional extra keys, e.g.
// `"indexes": [...]`.
func ent(name string, fields []string, extra ...string) string {
	s := `{"name": "` + name + `", "fields": [` + strings.Join(fields, ",") + `]`
	for _, e := range extra {
		s += ", " + e
	}
	return s + "}"
}

// account is a well-formed target for refs and rollups.
var account = ent("account", []string{
	`{"id": "a1", "name": "title", "type": "text"}`,
	`{"id": "a2", "name": "tier", "type": "select", "options": ["gold", "silver"]}`,
	`{"id": "a3", "name": "active", "type": "boolean"}`,
})

// deal is an app with account and an entity "deal" (at /entities/1) holding
// the given fields.
func deal(fields ...string) []byte { return appDoc(account, ent("deal", fields)) }

// F is the path of the first field of deal.
const F = "/entities/1/fields/0"

type checkCase struct {
	name string
	doc  []byte
	want []Problem
}

func runCases(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectProblems(t, c.doc, c.want...)
		})
	}
}

func TestCheckNames(t *testing.T) {
	runCases(t, []checkCase{
		{"app name pattern", []byte(`{"name": "Crm", "entities": []}`),
			[]Problem{{Path: "/name", Message: `"Crm" must start with a lowercase letter`}}},
		{"app name reserved", []byte(`{"name": "select", "entities": []}`),
			[]Problem{{Path: "/name", Message: `"select" is a reserved word; choose another app name`}}},
		{"app name forma_", []byte(`{"name": "forma_core", "entities": []}`),
			[]Problem{{Path: "/name", Message: `names starting with "forma_" are reserved`}}},
		{"entity reserved", appDoc(ent("order", nil)),
			[]Problem{{Path: "/entities/0/name", Message: `"order" is a reserved word; choose another entity name`}}},
		{"entity forma_", appDoc(ent("forma_meta", nil)),
			[]Problem{{Path: "/entities/0/name", Message: `names starting with "forma_" are reserved for Forma itself`}}},
		{"field reserved", deal(`{"id": "f1", "name": "from", "type": "text"}`),
			[]Problem{{Path: F + "/name", Message: `"from" is a reserved word; choose another field name`}}},
		{"field api word", deal(`{"id": "f1", "name": "history", "type": "text"}`),
			[]Problem{{Path: F + "/name", Message: `"history" is a reserved word`}}},
		{"field system column", deal(`{"id": "f1", "name": "created_at", "type": "datetime"}`),
			[]Problem{{Path: F + "/name", Message: `"created_at" is a system column every entity already has`}}},
		{"field hidden column", deal(`{"id": "f1", "name": "xmin", "type": "integer"}`),
			[]Problem{{Path: F + "/name", Message: `"xmin" is a reserved word`}}},
		{"field forma_", deal(`{"id": "f1", "name": "forma_x", "type": "text"}`),
			[]Problem{{Path: F + "/name", Message: `names starting with "forma_" are reserved`}}},
		{"field name too long", deal(`{"id": "f1", "name": "` + strings.Repeat("a", 64) + `", "type": "text"}`),
			[]Problem{{Path: F + "/name", Message: "at most 63 characters"}}},
		{"table name too long", []byte(`{"name": "` + strings.Repeat("a", 30) + `", "entities": [` + ent(strings.Repeat("b", 33), nil) + `]}`),
			[]Problem{{Path: "/entities/0/name", Message: `table name "` + strings.Repeat("a", 30) + "_" + strings.Repeat("b", 33) + `" is 64 bytes; PostgreSQL allows at most 63`}}},
		{"table name at limit", []byte(`{"name": "` + strings.Repeat("a", 30) + `", "entities": [` + ent(strings.Repeat("b", 32), nil) + `]}`), nil},
	})
	for _, w := range []string{"select", "from", "where", "table", "order", "group", "user", "index", "primary", "key",
		"references", "default", "check", "constraint", "and", "or", "not", "null", "true", "false", "all", "any", "as",
		"by", "case", "column", "create", "delete", "distinct", "drop", "else", "end", "exists", "in", "insert", "into",
		"is", "join", "like", "limit", "offset", "on", "union", "unique", "update", "values", "when", "with",
		"expand", "items", "filter", "sort", "cursor", "fields", "history", "rowid", "oid", "ctid"} {
		if !ReservedWord(w) || !ReservedWord(strings.ToUpper(w)) {
			t.Errorf("%q is not reserved", w)
		}
	}
	for _, w := range []string{"name", "title", "amount", "status", "stage", "type", "value", "date", "email", "phone",
		"account", "contact", "opportunity", "price", "quantity", "total", "description", "source", "role", "level", "text"} {
		if ReservedWord(w) {
			t.Errorf("%q is reserved; a sales app needs it", w)
		}
	}
	words := ReservedWords()
	if !sort.StringsAreSorted(words) || len(words) < 100 {
		t.Errorf("ReservedWords: %d words, sorted %v", len(words), sort.StringsAreSorted(words))
	}
}

func TestCheckUniqueness(t *testing.T) {
	text := func(id, name string) string { return `{"id": "` + id + `", "name": "` + name + `", "type": "text"}` }
	runCases(t, []checkCase{
		{"entity names", appDoc(account, ent("deal", nil), ent("account", nil)),
			[]Problem{{Path: "/entities/2/name", Message: `duplicate entity name "account" (also at /entities/0)`}}},
		{"entity ids", appDoc(`{"id": "E1", "name": "a", "fields": []}`, `{"id": "E1", "name": "b", "fields": []}`),
			[]Problem{{Path: "/entities/1/id", Message: `duplicate entity id "E1" (also at /entities/0)`}}},
		{"field names", deal(text("f1", "title"), text("f2", "title")),
			[]Problem{{Path: "/entities/1/fields/1/name", Message: `duplicate field name "title" in entity "deal" (also at /entities/1/fields/0)`}}},
		{"field ids", deal(text("f1", "title"), text("f1", "subtitle")),
			[]Problem{{Path: "/entities/1/fields/1/id", Message: `duplicate field id "f1" in entity "deal" (also at /entities/1/fields/0)`}}},
		{"field ids may repeat across entities", appDoc(ent("a", []string{text("f1", "x")}), ent("b", []string{text("f1", "x")})), nil},
		{"index names", appDoc(ent("deal", []string{text("f1", "title")},
			`"indexes": [{"name": "by_title", "fields": ["title"]}, {"name": "by_title", "fields": ["id"]}]`)),
			[]Problem{{Path: "/entities/0/indexes/1/name", Message: `duplicate index name "by_title" in entity "deal" (also at /entities/0/indexes/0)`}}},
	})
}

func TestCheckMisplacedAttributes(t *testing.T) {
	cases := []struct{ field, key, msg string }{
		{`"type": "text", "options": ["a"]`, "options", `"options" does not apply to text fields; it is only for select and multiselect fields`},
		{`"type": "integer", "maxLength": 5`, "maxLength", `"maxLength" does not apply to integer fields; it is only for text, longtext, email, phone and url fields`},
		{`"type": "select", "options": ["a"], "maxLength": 5`, "maxLength", `"maxLength" does not apply to select fields`},
		{`"type": "text", "min": 1`, "min", `"min" does not apply to text fields; it is only for integer and decimal fields`},
		{`"type": "date", "max": 1`, "max", `"max" does not apply to date fields`},
		{`"type": "integer", "precision": 5`, "precision", `"precision" does not apply to integer fields; it is only for decimal fields`},
		{`"type": "integer", "scale": 2`, "scale", `"scale" does not apply to integer fields; it is only for decimal fields`},
		{`"type": "text", "entity": "account"`, "entity", `"entity" does not apply to text fields; it is only for ref fields`},
		{`"type": "user", "onDelete": "cascade"`, "onDelete", `"onDelete" does not apply to user fields; it is only for ref fields`},
		{`"type": "text", "expr": "1 + 1"`, "expr", `"expr" does not apply to text fields; it is only for formula fields`},
		{`"type": "integer", "rollup": {"entity": "account", "via": "x", "op": "count"}`, "rollup", `"rollup" does not apply to integer fields; it is only for rollup fields`},
		{`"type": "text", "returns": "integer"`, "returns", `"returns" does not apply to text fields; it is only for formula and rollup fields`},
	}
	for _, c := range cases {
		t.Run(c.key+"/"+c.field, func(t *testing.T) {
			expectProblems(t, deal(`{"id": "f1", "name": "x", `+c.field+`}`), Problem{Path: F + "/" + c.key, Message: c.msg})
		})
	}
}

func TestCheckNumbers(t *testing.T) {
	runCases(t, []checkCase{
		{"min > max", deal(`{"id": "f1", "name": "x", "type": "integer", "min": 10, "max": 5}`),
			[]Problem{{Path: F + "/max", Message: "max (5) is less than min (10)"}}},
		{"min = max", deal(`{"id": "f1", "name": "x", "type": "decimal", "min": 1.50, "max": 1.5}`), nil},
		{"exact decimal bounds", deal(`{"id": "f1", "name": "x", "type": "decimal", "min": 0.1, "max": 0.30000000000000001}`), nil},
		{"integer bound not whole", deal(`{"id": "f1", "name": "x", "type": "integer", "min": 0.5}`),
			[]Problem{{Path: F + "/min", Message: "must be a whole number for an integer field, not 0.5"}}},
		{"decimal bound too big", deal(`{"id": "f1", "name": "x", "type": "decimal", "precision": 5, "scale": 2, "max": 1000}`),
			[]Problem{{Path: F + "/max", Message: "1000 does not fit: at most 3 digits before the point (precision 5, scale 2)"}}},
		{"scale > precision", deal(`{"id": "f1", "name": "x", "type": "decimal", "precision": 4, "scale": 5}`),
			[]Problem{{Path: F + "/scale", Message: "scale (5) cannot be larger than precision (4)"}}},
		{"default scale > precision", deal(`{"id": "f1", "name": "x", "type": "decimal", "precision": 1}`),
			[]Problem{{Path: F + "/precision", Message: `precision (1) is less than the default scale (2): set "scale" too`}}},
	})
	// Check alone sees bounds that did not come through the JSON Schema.
	bad := json.Number("ten")
	app := &App{Name: "crm", Entities: []Entity{{Name: "deal", Fields: []Field{{ID: "f1", Name: "x", Type: Integer, Min: &bad}}}}}
	probs := app.Check()
	if len(probs) != 1 || probs[0].Path != "/entities/0/fields/0/min" || probs[0].Message != `must be a number, not "ten"` {
		t.Errorf("Check = %v", probs)
	}
}

func TestCheckDefaults(t *testing.T) {
	f := func(attrs, def string) []byte {
		return deal(`{"id": "f1", "name": "x", ` + attrs + `, "default": ` + def + `}`)
	}
	D := F + "/default"
	ok := []struct{ attrs, def string }{
		{`"type": "text", "maxLength": 3`, `"abc"`},
		{`"type": "text", "maxLength": 3`, `"äöü"`},
		{`"type": "longtext"`, `""`},
		{`"type": "integer", "min": -5, "max": 5`, `-5`},
		{`"type": "decimal", "scale": 2`, `"12.50"`},
		{`"type": "decimal", "min": 0`, `0.01`},
		{`"type": "boolean"`, `true`},
		{`"type": "date"`, `"2024-02-29"`},
		{`"type": "datetime"`, `"2024-05-01T10:00:00.123Z"`},
		{`"type": "select", "options": ["a", "b"]`, `"b"`},
		{`"type": "multiselect", "options": ["a", "b"]`, `[]`},
		{`"type": "multiselect", "options": ["a", "b"]`, `["b", "a"]`},
		{`"type": "email"`, `"ann@example.com"`},
		{`"type": "url"`, `"https://example.com/x?y=1"`},
		{`"type": "phone"`, `"(555) 010-1234"`},
		{`"type": "json"`, `{"a": [1, 2]}`},
		{`"type": "user"`, `"u_123"`},
		{`"type": "text"`, `null`},
	}
	for _, c := range ok {
		if _, probs := Parse(f(c.attrs, c.def)); len(probs) > 0 {
			t.Errorf("default %s for %s: %s", c.def, c.attrs, probs.Error())
		}
	}
	runCases(t, []checkCase{
		{"text not string", f(`"type": "text"`, `5`), []Problem{{Path: D, Message: "must be a string for a text field, not the number 5"}}},
		{"text too long", f(`"type": "text", "maxLength": 3`, `"abcd"`), []Problem{{Path: D, Message: "is 4 characters long; maxLength is 3"}}},
		{"integer fraction", f(`"type": "integer"`, `1.5`), []Problem{{Path: D, Message: "must be a whole number for an integer field, not 1.5"}}},
		{"integer string", f(`"type": "integer"`, `"5"`), []Problem{{Path: D, Message: `must be a whole number for an integer field, not the string "5"`}}},
		{"integer below min", f(`"type": "integer", "min": 0`, `-1`), []Problem{{Path: D, Message: "-1 is less than min (0)"}}},
		{"integer overflow", f(`"type": "integer"`, `99999999999999999999`), []Problem{{Path: D, Message: "must be a whole number for an integer field"}}},
		{"decimal word", f(`"type": "decimal"`, `"abc"`), []Problem{{Path: D, Message: `must be a number or a numeric string such as "12.50" for a decimal field, not the string "abc"`}}},
		{"decimal above max", f(`"type": "decimal", "max": 100`, `"100.01"`), []Problem{{Path: D, Message: "100.01 is greater than max (100)"}}},
		{"decimal scale", f(`"type": "decimal", "scale": 2`, `1.005`), []Problem{{Path: D, Message: "1.005 has more than 2 digits after the point (scale 2)"}}},
		{"decimal precision", f(`"type": "decimal", "precision": 4, "scale": 2`, `100`), []Problem{{Path: D, Message: "100 does not fit: at most 2 digits before the point"}}},
		{"boolean string", f(`"type": "boolean"`, `"true"`), []Problem{{Path: D, Message: `must be true or false for a boolean field, not the string "true"`}}},
		{"date invalid", f(`"type": "date"`, `"2023-02-29"`), []Problem{{Path: D, Message: `must be a date like 2026-11-21, not the string "2023-02-29"`}}},
		{"date format", f(`"type": "date"`, `"31/12/2024"`), []Problem{{Path: D, Message: `must be a date like 2026-11-21, not the string "31/12/2024"`}}},
		{"datetime no zone", f(`"type": "datetime"`, `"2024-05-01T10:00:00"`), []Problem{{Path: D, Message: `must be a date-time with a time zone`}}},
		{"date not string", f(`"type": "date"`, `20240101`), []Problem{{Path: D, Message: "must be a date like 2026-11-21, not the number 20240101"}}},
		{"select not option", f(`"type": "select", "options": ["a", "b"]`, `"c"`), []Problem{{Path: D, Message: `"c" is not one of the options: a, b`}}},
		{"multiselect not array", f(`"type": "multiselect", "options": ["a", "b"]`, `"a"`), []Problem{{Path: D, Message: `must be an array of options for a multiselect field, e.g. ["a"]`}}},
		{"multiselect subset", f(`"type": "multiselect", "options": ["a", "b"]`, `["a", "z"]`), []Problem{{Path: D + "/1", Message: `"z" is not one of the options: a, b`}}},
		{"email", f(`"type": "email"`, `"not an email"`), []Problem{{Path: D, Message: `must be an email address like name@example.com, not the string "not an email"`}}},
		{"email with name", f(`"type": "email"`, `"Ann <ann@example.com>"`), []Problem{{Path: D, Message: `must be an email address like name@example.com, not the string "Ann <ann@example.com>"`}}},
		{"url", f(`"type": "url"`, `"javascript:alert(1)"`), []Problem{{Path: D, Message: `must be an http or https URL, not the string "javascript:alert(1)"`}}},
		{"phone", f(`"type": "phone"`, `"call me"`), []Problem{{Path: D, Message: `must be a phone number`}}},
		{"file", f(`"type": "file"`, `"x.png"`), []Problem{{Path: D, Message: "file fields cannot have a default"}}},
		{"formula default", f(`"type": "formula", "expr": "1"`, `1`), []Problem{{Path: D, Message: "a formula field is computed by Forma, so it cannot have a default"}}},
		{"autonumber default", f(`"type": "autonumber"`, `1`), []Problem{{Path: D, Message: "an autonumber field is computed by Forma, so it cannot have a default"}}},
	})
	runCases(t, []checkCase{
		{"computed required", deal(`{"id": "f1", "name": "x", "type": "formula", "expr": "1", "required": true}`),
			[]Problem{{Path: F + "/required", Message: "a formula field is computed by Forma, so it cannot be required"}}},
		{"computed unique", deal(`{"id": "f1", "name": "x", "type": "autonumber", "unique": true}`),
			[]Problem{{Path: F + "/unique", Message: "an autonumber field is computed by Forma, so it cannot be unique"}}},
	})
}

func TestCheckRefs(t *testing.T) {
	runCases(t, []checkCase{
		{"unknown entity", deal(`{"id": "f1", "name": "acct", "type": "ref", "entity": "acount"}`),
			[]Problem{{Path: F + "/entity", Message: `no entity named "acount" in this app (did you mean "account"?)`}}},
		{"missing entity", deal(`{"id": "f1", "name": "acct", "type": "ref"}`),
			[]Problem{{Path: F, Message: `ref fields need "entity"`}}},
		{"setNull required", deal(`{"id": "f1", "name": "acct", "type": "ref", "entity": "account", "required": true, "onDelete": "setNull"}`),
			[]Problem{{Path: F + "/onDelete", Message: `onDelete "setNull" contradicts "required": true`}}},
		{"self ref optional", deal(`{"id": "f1", "name": "parent", "type": "ref", "entity": "deal", "onDelete": "setNull"}`), nil},
		{"required self ref", deal(`{"id": "f1", "name": "parent", "type": "ref", "entity": "deal", "required": true}`),
			[]Problem{{Path: F + "/required", Message: "deal.parent is a required ref to its own entity: no first deal could ever be created, so make it optional"}}},
		{"required ref cycle", appDoc(
			ent("a", []string{`{"id": "1", "name": "b", "type": "ref", "entity": "b", "required": true}`}),
			ent("b", []string{`{"id": "1", "name": "c", "type": "ref", "entity": "c", "required": true}`}),
			ent("c", []string{`{"id": "1", "name": "a", "type": "ref", "entity": "a", "required": true}`})),
			[]Problem{{Path: "/entities/0/fields/0/required", Message: "required refs form a cycle: a.b → b.c → c.a → a; no first record could ever be created, so make one of these refs optional"}}},
		{"cycle broken by an optional ref", appDoc(
			ent("a", []string{`{"id": "1", "name": "b", "type": "ref", "entity": "b", "required": true}`}),
			ent("b", []string{`{"id": "1", "name": "a", "type": "ref", "entity": "a"}`})), nil},
	})
}

func TestCheckIndexes(t *testing.T) {
	idx := func(indexes string) []byte {
		return appDoc(ent("deal", []string{`{"id": "f1", "name": "title", "type": "text"}`}, `"indexes": `+indexes))
	}
	runCases(t, []checkCase{
		{"system columns", idx(`[{"fields": ["id", "created_at", "updated_at", "created_by", "owner", "version", "title"]}]`), nil},
		{"unknown field", idx(`[{"fields": ["title", "titel"]}]`),
			[]Problem{{Path: "/entities/0/indexes/0/fields/1", Message: `unknown field "titel": entity "deal" has no such field or system column (did you mean "title"?)`}}},
		{"duplicate field", idx(`[{"fields": ["title", "owner", "title"]}]`),
			[]Problem{{Path: "/entities/0/indexes/0/fields/2", Message: `"title" is already in this index (item 0)`}}},
		{"empty", idx(`[{"fields": []}]`),
			[]Problem{{Path: "/entities/0/indexes/0/fields", Message: "must have at least 1 item"}}},
	})
	app := &App{Name: "crm", Entities: []Entity{{Name: "deal", Indexes: []Index{{}}}}}
	if p := app.Check(); len(p) != 1 || p[0].Path != "/entities/0/indexes/0/fields" || p[0].Message != "an index needs at least one field" {
		t.Errorf("Check = %v", p)
	}
}

func TestCheckHooksAndScripts(t *testing.T) {
	hooked := func(hooks, scripts string) []byte {
		return []byte(`{"name": "crm", "entities": [` + ent("deal", nil, `"hooks": `+hooks) + `], "scripts": ` + scripts + `}`)
	}
	H := "/entities/0/hooks/"
	runCases(t, []checkCase{
		{"all hooks", hooked(`{"beforeSave": "deal#a", "afterSave": "deal#b", "beforeDelete": "deal#c", "afterDelete": "shared#$d"}`,
			`{"deal": "function a(){} function b(){} function c(){}", "shared": "function $d(){}"}`), nil},
		{"unknown hook", hooked(`{"beforeUpdate": "deal#a"}`, `{"deal": ""}`),
			[]Problem{{Path: H + "beforeUpdate", Message: `unknown hook "beforeUpdate": hooks are beforeSave, afterSave, beforeDelete, afterDelete`}}},
		{"no function", hooked(`{"beforeSave": "deal"}`, `{"deal": ""}`),
			[]Problem{{Path: H + "beforeSave", Message: `must be "script#function", e.g. "deal#beforeSave", not "deal"`}}},
		{"bad function", hooked(`{"beforeSave": "deal#do it"}`, `{"deal": ""}`),
			[]Problem{{Path: H + "beforeSave", Message: `must be "script#function"`}}},
		{"unknown script", hooked(`{"afterSave": "dael#x"}`, `{"deal": ""}`),
			[]Problem{{Path: H + "afterSave", Message: `no script named "dael" in "scripts" (did you mean "deal"?)`}}},
		{"no scripts at all", hooked(`{"afterSave": "deal#x"}`, `{}`),
			[]Problem{{Path: H + "afterSave", Message: `no script named "deal" in "scripts"`}}},
		{"script name", hooked(`{}`, `{"Deal": ""}`),
			[]Problem{{Path: "/scripts/Deal", Message: `script name "Deal" must start with a lowercase letter`}}},
	})
	app := &App{Name: "crm", Entities: []Entity{{Name: "deal", Hooks: map[string]string{"onSave": "x#y"}}}, Scripts: map[string]string{"Bad/Name": ""}}
	p := app.Check()
	if len(p) != 2 || p[0].Path != "/entities/0/hooks/onSave" || p[1].Path != "/scripts/Bad~1Name" {
		t.Errorf("Check = %v", p)
	}
}

func TestCheckFormulas(t *testing.T) {
	formula := func(expr string) []byte {
		return appDoc(account, ent("deal", []string{
			`{"id": "f1", "name": "x", "type": "formula", "expr": ` + quote(expr) + `}`,
			`{"id": "f2", "name": "amount", "type": "decimal"}`,
			`{"id": "f3", "name": "account", "type": "ref", "entity": "account"}`,
		}))
	}
	E := F + "/expr"
	runCases(t, []checkCase{
		{"fields, refs, system columns", formula("amount * 2 + account.title.toUpperCase() + account.created_at + version + round(amount, 2)"), nil},
		{"missing expr", deal(`{"id": "f1", "name": "x", "type": "formula"}`),
			[]Problem{{Path: F, Message: `formula fields need "expr"`}}},
		{"blank expr", deal(`{"id": "f1", "name": "x", "type": "formula", "expr": "  "}`),
			[]Problem{{Path: F, Message: `formula fields need "expr"`}}},
		{"unbalanced", formula("round(amount * 2"),
			[]Problem{{Path: E, Message: `unbalanced parentheses: '(' opened at column 6 is never closed with ")"`}}},
		{"unterminated string", formula("amount + 'x"),
			[]Problem{{Path: E, Message: "unterminated string starting at column 10"}}},
		{"statement", formula("amount; amount"),
			[]Problem{{Path: E, Message: "unexpected character ';' at column 7"}}},
		{"unknown field", formula("amont * 2"),
			[]Problem{{Path: E, Message: `unknown field "amont": entity "deal" has no such field (did you mean "amount"?)`}}},
		{"unknown target field", formula("account.titel"),
			[]Problem{{Path: E, Message: `"account.titel": entity "account" has no field "titel" (did you mean "title"?)`}}},
		{"not a ref", formula("amount.cents"),
			[]Problem{{Path: E, Message: `"amount.cents": "amount" is not a ref field, so it has no fields to read`}}},
		{"two hops", formula("account.owner.name"),
			[]Problem{{Path: E, Message: `"account.owner.name": a formula can follow only one ref`}}},
		{"cycle", appDoc(ent("shop", nil), ent("sale", []string{
			`{"id": "f1", "name": "total", "type": "formula", "expr": "net + tax"}`,
			`{"id": "f2", "name": "net", "type": "decimal"}`,
			`{"id": "f3", "name": "tax", "type": "formula", "expr": "total * 0.2"}`,
		})), []Problem{{Path: "/entities/1/fields/0/expr", Message: "formula cycle: sale.total → sale.tax → sale.total"}}},
		{"self reference", deal(`{"id": "f1", "name": "x", "type": "formula", "expr": "x + 1"}`),
			[]Problem{{Path: E, Message: "formula cycle: deal.x → deal.x"}}},
	})
}

func TestCheckRollups(t *testing.T) {
	// order (entities/0) rolls up line (entities/1).
	rollup := func(spec string, extra ...string) []byte {
		fields := append([]string{`{"id": "o1", "name": "r", "type": "rollup", ` + spec + `}`}, extra...)
		return appDoc(ent("sale", fields), ent("line", []string{
			`{"id": "l1", "name": "sale", "type": "ref", "entity": "sale", "required": true, "onDelete": "cascade"}`,
			`{"id": "l2", "name": "qty", "type": "integer"}`,
			`{"id": "l3", "name": "price", "type": "decimal"}`,
			`{"id": "l4", "name": "amount", "type": "formula", "expr": "qty * price"}`,
			`{"id": "l5", "name": "label", "type": "text"}`,
			`{"id": "l6", "name": "shipped", "type": "date"}`,
			`{"id": "l7", "name": "done", "type": "boolean"}`,
			`{"id": "l8", "name": "other", "type": "ref", "entity": "line"}`,
		}))
	}
	R := "/entities/0/fields/0/rollup"
	runCases(t, []checkCase{
		{"count", rollup(`"rollup": {"entity": "line", "via": "sale", "op": "count"}`), nil},
		{"sum of formula", rollup(`"rollup": {"entity": "line", "via": "sale", "op": "sum", "field": "amount", "filter": "qty > 1"}`), nil},
		{"avg of integer", rollup(`"returns": "decimal", "rollup": {"entity": "line", "via": "sale", "op": "avg", "field": "qty"}`), nil},
		{"max of date", rollup(`"returns": "date", "rollup": {"entity": "line", "via": "sale", "op": "max", "field": "shipped"}`), nil},
		{"min of text", rollup(`"returns": "text", "rollup": {"entity": "line", "via": "sale", "op": "min", "field": "label"}`), nil},
		{"max of system column", rollup(`"returns": "datetime", "rollup": {"entity": "line", "via": "sale", "op": "max", "field": "updated_at"}`), nil},
		{"missing rollup", rollup(`"returns": "integer"`),
			[]Problem{{Path: "/entities/0/fields/0", Message: `rollup fields need "rollup"`}}},
		{"unknown entity", rollup(`"rollup": {"entity": "lines", "via": "sale", "op": "count"}`),
			[]Problem{{Path: R + "/entity", Message: `no entity named "lines" in this app (did you mean "line"?)`}}},
		{"unknown via", rollup(`"rollup": {"entity": "line", "via": "sal", "op": "count"}`),
			[]Problem{{Path: R + "/via", Message: `entity "line" has no field "sal"; via must be a ref field of "line" that points at "sale" (did you mean "sale"?)`}}},
		{"via not a ref", rollup(`"rollup": {"entity": "line", "via": "qty", "op": "count"}`),
			[]Problem{{Path: R + "/via", Message: `line.qty is an integer field; via must be a ref field of "line" that points at "sale"`}}},
		{"via points elsewhere", rollup(`"rollup": {"entity": "line", "via": "other", "op": "count"}`),
			[]Problem{{Path: R + "/via", Message: `line.other points at "line", not at "sale"`}}},
		{"bad op", rollup(`"rollup": {"entity": "line", "via": "sale", "op": "total", "field": "qty"}`),
			[]Problem{{Path: R + "/op", Message: `must be one of count, sum, min, max, avg, not the string "total"`}}},
		{"sum needs field", rollup(`"rollup": {"entity": "line", "via": "sale", "op": "sum"}`),
			[]Problem{{Path: R, Message: `sum needs "field": the field of "line" to aggregate`}}},
		{"unknown field", rollup(`"rollup": {"entity": "line", "via": "sale", "op": "sum", "field": "qyt"}`),
			[]Problem{{Path: R + "/field", Message: `entity "line" has no field "qyt" (did you mean "qty"?)`}}},
		{"sum of text", rollup(`"rollup": {"entity": "line", "via": "sale", "op": "sum", "field": "label"}`),
			[]Problem{{Path: R + "/field", Message: "cannot sum line.label: it holds text values; sum needs an integer or decimal field"}}},
		{"max of boolean", rollup(`"rollup": {"entity": "line", "via": "sale", "op": "max", "field": "done"}`),
			[]Problem{{Path: R + "/field", Message: "cannot take the max of line.done: boolean values have no order"}}},
		{"min of date needs returns", rollup(`"rollup": {"entity": "line", "via": "sale", "op": "min", "field": "shipped"}`),
			[]Problem{{Path: "/entities/0/fields/0", Message: `the min of a date field is a date: add "returns": "date"`}}},
		{"min of date returns integer", rollup(`"returns": "integer", "rollup": {"entity": "line", "via": "sale", "op": "min", "field": "shipped"}`),
			[]Problem{{Path: "/entities/0/fields/0/returns", Message: `the min of a date field is a date: returns must be "date"`}}},
		{"count returns text", rollup(`"returns": "text", "rollup": {"entity": "line", "via": "sale", "op": "count"}`),
			[]Problem{{Path: "/entities/0/fields/0/returns", Message: "a count is a number: returns must be integer or decimal"}}},
		{"formula over a rollup", rollup(`"rollup": {"entity": "line", "via": "sale", "op": "sum", "field": "amount"}`,
			`{"id": "o2", "name": "rate", "type": "formula", "expr": "r / 100"}`), nil},
	})
	// A line formula reading its sale's rollup of that same formula.
	doc := appDoc(
		ent("sale", []string{`{"id": "o1", "name": "total", "type": "rollup", "rollup": {"entity": "line", "via": "sale", "op": "sum", "field": "share"}}`}),
		ent("line", []string{
			`{"id": "l1", "name": "sale", "type": "ref", "entity": "sale"}`,
			`{"id": "l2", "name": "share", "type": "formula", "expr": "sale.total / 10"}`,
		}))
	expectProblems(t, doc, Problem{Path: "/entities/0/fields/0/rollup", Message: "cycle of computed fields: sale.total → line.share → sale.total"})
}

// Check works on an App built in Go, without the JSON Schema in front of it.
func TestCheckGoApp(t *testing.T) {
	app := &App{Name: "crm", Entities: []Entity{
		{Name: "deal", Fields: []Field{
			{ID: "f1", Name: "stage", Type: Select},
			{ID: "f2", Name: "kind", Type: "txt"},
			{Name: "x", Type: Text},
			{ID: "f4", Name: "calc", Type: Formula, Returns: JSON, Expr: "1"},
			{ID: "f5", Name: "t", Type: Text, MaxLength: new(int)},
			{ID: "f6", Name: "acct", Type: Ref, Entity: "deal", OnDelete: "nullify"},
		}},
		{Name: "", Fields: nil},
	}}
	want := []Problem{
		{Path: "/entities/0/fields/0", Message: `select fields need "options"`},
		{Path: "/entities/0/fields/1/type", Message: `must be one of text, longtext`},
		{Path: "/entities/0/fields/2", Message: `missing required field "id"`},
		{Path: "/entities/0/fields/3/returns", Message: "must be one of text, integer, decimal, boolean, date, datetime"},
		{Path: "/entities/0/fields/4/maxLength", Message: "must be between 1 and 1048576"},
		{Path: "/entities/0/fields/5/onDelete", Message: "must be one of restrict, cascade, setNull"},
		{Path: "/entities/1", Message: `missing required field "name"`},
	}
	got := app.Check()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), got.Error())
	}
	for i, w := range want {
		if got[i].Path != w.Path || !strings.Contains(got[i].Message, w.Message) {
			t.Errorf("problem %d = %s: %s, want %s: …%s…", i, got[i].Path, got[i].Message, w.Path, w.Message)
		}
	}
	if p := (*App)(nil).Check(); len(p) != 1 {
		t.Errorf("nil app: %v", p)
	}
}

func TestCheckValidationsAndSettings(t *testing.T) {
	rules := func(v string) []byte {
		return appDoc(account, ent("deal", []string{
			`{"id": "f1", "name": "amount", "type": "decimal"}`,
			`{"id": "f2", "name": "account", "type": "ref", "entity": "account"}`,
		}, `"validations": `+v))
	}
	V := "/entities/1/validations/"
	runCases(t, []checkCase{
		{"good rules", rules(`[{"expr": "amount >= 0", "message": "no negative amounts", "field": "amount"},
			{"expr": "account.active || amount < 1000", "message": "big deals need an active account"}]`), nil},
		{"unknown field", rules(`[{"expr": "amont > 0", "message": "m"}]`),
			[]Problem{{Path: V + "0/expr", Message: `unknown field "amont"`}}},
		{"syntax", rules(`[{"expr": "amount > (1", "message": "m"}]`),
			[]Problem{{Path: V + "0/expr", Message: "unbalanced parentheses"}}},
		{"blank", rules(`[{"expr": " ", "message": " "}]`),
			[]Problem{{Path: V + "0/expr", Message: `a validation needs "expr"`}, {Path: V + "0/message", Message: `a validation needs "message"`}}},
		{"missing message", rules(`[{"expr": "amount > 0"}]`),
			[]Problem{{Path: V + "0", Message: `missing required field "message"`}}},
		{"unknown key", rules(`[{"expr": "amount > 0", "message": "m", "level": "warn"}]`),
			[]Problem{{Path: V + "0/level", Message: `unknown field "level"`}}},
		{"unknown report field", rules(`[{"expr": "amount > 0", "message": "m", "field": "amont"}]`),
			[]Problem{{Path: V + "0/field", Message: `unknown field "amont"`}}},
		{"wrong type", rules(`{"expr": "amount > 0"}`),
			[]Problem{{Path: "/entities/1/validations", Message: "must be an array, not an object"}}},
		{"settings", []byte(`{"name": "crm", "entities": [], "settings": {"scriptTimeoutMs": 250}}`), nil},
		{"settings bad", []byte(`{"name": "crm", "entities": [], "settings": {"scriptTimeoutMs": 0, "x": 1}}`),
			[]Problem{{Path: "/settings/scriptTimeoutMs", Message: "must be at least 1"}, {Path: "/settings/x", Message: `unknown field "x"`}}},
		{"file limit", []byte(`{"name": "crm", "entities": [], "settings": {"maxFileMB": 100}}`), nil},
		{"file limit too big", []byte(`{"name": "crm", "entities": [], "settings": {"maxFileMB": 101}}`),
			[]Problem{{Path: "/settings/maxFileMB", Message: "must be at most 100"}}},
		{"file limit zero", []byte(`{"name": "crm", "entities": [], "settings": {"maxFileMB": 0}}`),
			[]Problem{{Path: "/settings/maxFileMB", Message: "must be at least 1"}}},
		{"file limit not whole", []byte(`{"name": "crm", "entities": [], "settings": {"maxFileMB": 1.5}}`),
			[]Problem{{Path: "/settings/maxFileMB", Message: "must be a whole number, not the number 1.5"}}},
	})
}

func TestCheckForms(t *testing.T) {
	forms := func(f string) []byte {
		return []byte(`{"name": "crm", "entities": [` + account + `, ` + ent("deal", []string{
			`{"id": "f1", "name": "amount", "type": "decimal"}`,
			`{"id": "f2", "name": "title", "type": "text"}`,
		}) + `], "forms": ` + f + `}`)
	}
	runCases(t, []checkCase{
		{"good", forms(`[{"entity": "deal", "kind": "form", "sections": [{"title": "Main", "columns": 2, "fields": ["title", "amount"]}]},
			{"entity": "deal", "kind": "list", "columns": ["title", "amount", "created_at"], "sort": "-amount,title", "filter": "amount > 0"}]`), nil},
		{"unknown entity", forms(`[{"entity": "dael", "kind": "form"}]`),
			[]Problem{{Path: "/forms/0/entity", Message: `no entity "dael" in this app (did you mean "deal"?)`}}},
		{"unknown kind", forms(`[{"entity": "deal", "kind": "grid"}]`),
			[]Problem{{Path: "/forms/0/kind", Message: "must be one of"}}},
		{"unknown field", forms(`[{"entity": "deal", "kind": "form", "sections": [{"fields": ["titel"]}]}]`),
			[]Problem{{Path: "/forms/0/sections/0/fields/0", Message: `no field "titel" in entity deal (did you mean "title"?)`}}},
		{"placed twice", forms(`[{"entity": "deal", "kind": "form", "sections": [{"fields": ["title"]}, {"fields": ["amount", "title"]}]}]`),
			[]Problem{{Path: "/forms/0/sections/1/fields/1", Message: "title is already placed at /forms/0/sections/0/fields/0"}}},
		{"system field on form", forms(`[{"entity": "deal", "kind": "form", "sections": [{"fields": ["owner"]}]}]`),
			[]Problem{{Path: "/forms/0/sections/0/fields/0", Message: "owner is a system column"}}},
		{"too many columns", forms(`[{"entity": "deal", "kind": "form", "sections": [{"columns": 4, "fields": []}]}]`),
			[]Problem{{Path: "/forms/0/sections/0/columns", Message: "must be at most 3"}}},
		{"two lists", forms(`[{"entity": "deal", "kind": "list"}, {"entity": "deal", "kind": "list"}]`),
			[]Problem{{Path: "/forms/1", Message: "entity deal already has a list layout at /forms/0"}}},
		{"list column", forms(`[{"entity": "deal", "kind": "list", "columns": ["amount", "amont", "amount"]}]`),
			[]Problem{{Path: "/forms/0/columns/1", Message: `no field "amont"`}, {Path: "/forms/0/columns/2", Message: "column amount is listed twice"}}},
		{"list sort", forms(`[{"entity": "deal", "kind": "list", "sort": "-amont"}]`),
			[]Problem{{Path: "/forms/0/sort", Message: `cannot sort by "amont"`}}},
		{"mixed", forms(`[{"entity": "deal", "kind": "list", "sections": [{"fields": []}]}, {"entity": "deal", "kind": "form", "sort": "title"}]`),
			[]Problem{{Path: "/forms/0/sections", Message: "a list view has columns, not sections"}, {Path: "/forms/1", Message: "a record form has sections, not columns"}}},
		{"unknown key", forms(`[{"entity": "deal", "kind": "form", "layout": []}]`),
			[]Problem{{Path: "/forms/0/layout", Message: `unknown field "layout"`}}},
	})
}

func TestCheckCurrency(t *testing.T) {
	runCases(t, []checkCase{
		{"decimal CNY", deal(`{"id": "f1", "name": "amount", "type": "decimal", "currency": "CNY"}`), nil},
		{"integer JPY", deal(`{"id": "f1", "name": "amount", "type": "integer", "currency": "JPY"}`), nil},
		{"formula USD", deal(`{"id": "f0", "name": "n", "type": "decimal"}`, `{"id": "f1", "name": "x", "type": "formula", "returns": "decimal", "expr": "n * 2", "currency": "USD"}`), nil},
		{"not a currency", deal(`{"id": "f1", "name": "amount", "type": "decimal", "currency": "ABC"}`),
			[]Problem{{Path: F + "/currency", Message: `"ABC" is not an ISO 4217 currency code`}}},
		{"no currency XXX", deal(`{"id": "f1", "name": "amount", "type": "decimal", "currency": "XXX"}`),
			[]Problem{{Path: F + "/currency", Message: `"XXX" is not an ISO 4217 currency code`}}},
		{"lower case", deal(`{"id": "f1", "name": "amount", "type": "decimal", "currency": "cny"}`),
			[]Problem{{Path: F + "/currency", Message: `must match the pattern`}}},
		{"text field", deal(`{"id": "f1", "name": "amount", "type": "text", "currency": "CNY"}`),
			[]Problem{{Path: F + "/currency", Message: `"currency" does not apply to text fields`}}},
		{"formula text", deal(`{"id": "f0", "name": "n", "type": "text"}`, `{"id": "f1", "name": "x", "type": "formula", "returns": "text", "expr": "n", "currency": "USD"}`),
			[]Problem{{Path: "/entities/1/fields/1/currency", Message: "a currency needs a number: this formula returns text"}}},
	})
}
