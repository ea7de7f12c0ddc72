package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/schema"
)

const codesApp = `{"name": "codes", "entities": [
  {"id": "e1", "name": "deal", "fields": [
    {"id": "d1", "name": "amount", "type": "decimal", "precision": 6, "scale": 2, "min": 0, "max": 5000},
    {"id": "d2", "name": "qty", "type": "integer", "min": 1, "max": 10},
    {"id": "d3", "name": "secret_note", "type": "text"},
    {"id": "d4", "name": "locked", "type": "text"}
  ], "validations": [{"expr": "qty == null || qty < 9", "message": "qty must stay under 9", "field": "qty"}]}
], "roles": [{"name": "rep", "entities": {"deal": {"create": "own", "read": "own", "update": "own",
   "fields": {"secret_note": "hidden", "locked": "readonly"}}}}]}`

// problem is one detail of an error answer.
type problem struct {
	Path    string         `json:"path"`
	Code    string         `json:"code"`
	Params  map[string]any `json:"params"`
	Message string         `json:"message"`
}

func problemsOf(t *testing.T, body map[string]any) []problem {
	t.Helper()
	b, _ := json.Marshal(body["error"].(map[string]any)["details"])
	var ps []problem
	if err := json.Unmarshal(b, &ps); err != nil {
		t.Fatal(err)
	}
	return ps
}

// wantProblem checks that an answer has a detail at path with code and
// the given params (compared as text), and a message.
func wantProblem(t *testing.T, what string, body map[string]any, path, code string, params map[string]any) {
	t.Helper()
	for _, p := range problemsOf(t, body) {
		if p.Path != path {
			continue
		}
		if p.Code != code || p.Message == "" {
			t.Errorf("%s: %s has code %q, want %q (%v)", what, path, p.Code, code, p)
			return
		}
		for k, v := range params {
			if fmt.Sprint(p.Params[k]) != fmt.Sprint(v) {
				t.Errorf("%s: param %s = %v, want %v (%v)", what, k, p.Params[k], v, p)
			}
		}
		return
	}
	t.Errorf("%s: no problem at %s in %v", what, path, body)
}

// TestProblemCodes sends one bad value per validation path and checks the
// stable code and params of its problem, on both dialects.
func TestProblemCodes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		acc := e.create("account", map[string]any{"name": "Acme"})
		cases := []struct {
			what   string
			body   map[string]any
			path   string
			code   string
			params map[string]any
		}{
			{"required", map[string]any{"qty": 1}, "/title", "required", map[string]any{"field": "title"}},
			{"required blank", map[string]any{"title": "  "}, "/title", "required", map[string]any{"field": "title"}},
			{"type", map[string]any{"title": "t", "qty": "three"}, "/qty", "type", map[string]any{"field": "qty", "expected": "integer", "got": "a string"}},
			{"type bool", map[string]any{"title": "t", "done": 1}, "/done", "type", map[string]any{"expected": "boolean"}},
			{"max length", map[string]any{"title": strings.Repeat("x", 201)}, "/title", "max_length", map[string]any{"field": "title", "limit": 200, "length": 201}},
			{"scale", map[string]any{"title": "t", "amount": "1.234"}, "/amount", "scale", map[string]any{"field": "amount", "limit": 2}},
			{"digits", map[string]any{"title": "t", "amount": "1e17"}, "/amount", "digits", map[string]any{"limit": 16}},
			{"out of range", map[string]any{"title": "t", "qty": json.Number("99999999999999999999")}, "/qty", "out_of_range", map[string]any{"field": "qty"}},
			{"option", map[string]any{"title": "t", "stage": "maybe"}, "/stage", "option", map[string]any{"field": "stage", "value": "maybe", "options": []string{"lead", "won", "lost"}}},
			{"multi option", map[string]any{"title": "t", "tags": []string{"zzz"}}, "/tags", "option", map[string]any{"field": "tags"}},
			{"email", map[string]any{"title": "t", "email": "not an email"}, "/email", "format", map[string]any{"field": "email", "format": "email"}},
			{"url", map[string]any{"title": "t", "site": "javascript:alert(1)"}, "/site", "format", map[string]any{"format": "url"}},
			{"date", map[string]any{"title": "t", "due": "2026-13-40"}, "/due", "format", map[string]any{"format": "date"}},
			{"datetime", map[string]any{"title": "t", "at": "yesterday"}, "/at", "format", map[string]any{"format": "datetime"}},
			{"ref missing", map[string]any{"title": "t", "account": "nope"}, "/account", "ref_missing", map[string]any{"field": "account", "target": "account", "value": "nope"}},
			{"user missing", map[string]any{"title": "t", "assignee": "nobody"}, "/assignee", "ref_missing", map[string]any{"target": "user"}},
			{"invalid id", map[string]any{"title": "t", "account": ""}, "/account", "invalid_id", map[string]any{"field": "account"}},
			{"unknown field", map[string]any{"title": "t", "colour": "red"}, "/colour", "unknown_field", map[string]any{"field": "colour"}},
			{"system field", map[string]any{"title": "t", "created_by": "x"}, "/created_by", "read_only", map[string]any{"field": "created_by", "reason": "system"}},
			{"computed field", map[string]any{"title": "t", "total": true}, "/total", "read_only", map[string]any{"reason": "computed"}},
			{"json NUL", map[string]any{"title": "t", "meta": map[string]any{"k": "a\x00b"}}, "/meta/k", "invalid_text", map[string]any{"field": "meta"}},
		}
		before := e.count("item")
		for _, c := range cases {
			st, body := e.do("POST", "/api/data/kit/item", c.body)
			wantErr(t, c.what, st, body, 422, "validation_failed")
			wantProblem(t, c.what, body, c.path, c.code, c.params)
		}
		if n := e.count("item"); n != before {
			t.Errorf("bad writes stored records: %d → %d", before, n)
		}

		// A duplicate in a unique field marks that field.
		e.create("item", map[string]any{"title": "a", "email": "a@example.com", "account": acc["id"]})
		st, body := e.do("POST", "/api/data/kit/item", map[string]any{"title": "b", "email": "a@example.com"})
		wantErr(t, "duplicate", st, body, 409, "duplicate_value")
		wantProblem(t, "duplicate", body, "/email", "duplicate_value", map[string]any{"field": "email"})

		// A patch without its version, or a wrong one.
		it := e.create("item", map[string]any{"title": "c"})
		st, body = e.do("PATCH", "/api/data/kit/item/"+str(it["id"]), map[string]any{"title": "d"})
		wantProblem(t, "no version", body, "/version", "required", map[string]any{"field": "version"})
		st, body = e.do("PATCH", "/api/data/kit/item/"+str(it["id"]), map[string]any{"title": "d", "version": "one"})
		wantProblem(t, "version type", body, "/version", "type", map[string]any{"expected": "integer"})

		// A bad filter says where.
		st, body = e.do("GET", "/api/data/kit/item?filter="+q(`title = `), nil)
		if st != 400 {
			t.Errorf("bad filter: %d", st)
		}
		for _, p := range problemsOf(t, body) {
			if p.Code != "filter" || p.Params["position"] == nil {
				t.Errorf("filter problem %v", p)
			}
		}

		// min, max, validation rules, and a role's hidden and read-only fields.
		if st, body := e.do("POST", "/api/meta/apps", codesApp); st != 201 {
			t.Fatalf("codes app: %d %v", st, body)
		}
		for _, c := range []struct {
			what   string
			body   map[string]any
			path   string
			code   string
			params map[string]any
		}{
			{"min", map[string]any{"amount": "-1"}, "/amount", "min", map[string]any{"field": "amount", "limit": "0"}},
			{"max", map[string]any{"amount": "5000.01"}, "/amount", "max", map[string]any{"field": "amount", "limit": "5000"}},
			{"int min", map[string]any{"qty": 0}, "/qty", "min", map[string]any{"limit": "1"}},
			{"int max", map[string]any{"qty": 11}, "/qty", "max", map[string]any{"limit": "10"}},
			{"rule", map[string]any{"qty": 9}, "/qty", "rule", map[string]any{"field": "qty", "rule": 0}},
		} {
			st, body := e.do("POST", "/api/data/codes/deal", c.body)
			wantErr(t, c.what, st, body, 422, "validation_failed")
			wantProblem(t, c.what, body, c.path, c.code, c.params)
		}
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		st, body = e.doAs(rep, "POST", "/api/data/codes/deal", map[string]any{"secret_note": "x"})
		wantProblem(t, "hidden", body, "/secret_note", "unknown_field", map[string]any{"field": "secret_note"})
		st, body = e.doAs(rep, "POST", "/api/data/codes/deal", map[string]any{"locked": "x"})
		wantErr(t, "read-only", st, body, 403, "forbidden")
		wantProblem(t, "read-only", body, "/locked", "read_only", map[string]any{"field": "locked", "reason": "role"})
		if n := e.count("codes/deal"); n != 0 {
			t.Errorf("deals stored: %d", n)
		}
	})
}

// TestAppProblemCodes publishes app documents wrong in the ways the
// designer can get them wrong (names, refs, formulas, rollups, role
// conditions, list views, validations, automations, dashboards) and checks
// that every problem of the 422 has a documented code (schema.Codes), the
// ones named here with their params.
func TestAppProblemCodes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		base := func(fields, extra string) string {
			return `{"name": "bad", "entities": [
  {"id": "e1", "name": "store", "fields": [{"id": "s1", "name": "name", "type": "text"}]},
  {"id": "e2", "name": "deal", "fields": [{"id": "d1", "name": "title", "type": "text"},
    {"id": "d2", "name": "store", "type": "ref", "entity": "store"}` + fields + `]}]` + extra + `}`
		}
		cases := []struct {
			what, doc, path, code string
			params                map[string]any
		}{
			{"duplicate field", base(`, {"id": "d3", "name": "title", "type": "text"}`, ""), "/entities/1/fields/2/name", "duplicate_name", map[string]any{"name": "title", "entity": "deal"}},
			{"currency", base(`, {"id": "d3", "name": "amount", "type": "decimal", "currency": "RMB"}`, ""), "/entities/1/fields/2/currency", "currency", map[string]any{"value": "RMB"}},
			{"unknown ref target", base(`, {"id": "d3", "name": "shop", "type": "ref", "entity": "shop"}`, ""), "/entities/1/fields/2/entity", "unknown_entity", map[string]any{"entity": "shop"}},
			{"formula unknown field", base(`, {"id": "d3", "name": "x", "type": "formula", "returns": "decimal", "expr": "amount * 2"}`, ""), "/entities/1/fields/2/expr", "unknown_field", map[string]any{"field": "amount", "entity": "deal"}},
			{"formula two refs", base(`, {"id": "d3", "name": "x", "type": "formula", "returns": "text", "expr": "store.owner.name"}`, ""), "/entities/1/fields/2/expr", "ref_depth", map[string]any{"ref": "store.owner.name"}},
			{"rollup via", `{"name": "bad", "entities": [
  {"id": "e1", "name": "store", "fields": [{"id": "s1", "name": "n", "type": "rollup", "returns": "integer", "rollup": {"entity": "deal", "via": "title", "op": "count"}}]},
  {"id": "e2", "name": "deal", "fields": [{"id": "d1", "name": "title", "type": "text"}]}]}`, "/entities/0/fields/0/rollup/via", "rollup", map[string]any{"entity": "deal", "field": "title"}},
			{"role condition", base("", `, "roles": [{"name": "rep", "entities": {"deal": {"read": {"scope": "all", "where": "colour = 1"}}}}]`), "/roles/0/entities/deal/read/where", "expression", nil},
			{"role unknown entity", base("", `, "roles": [{"name": "rep", "entities": {"shop": {"read": "all"}}}]`), "/roles/0/entities/shop", "unknown_entity", map[string]any{"entity": "shop"}},
			{"list view column", base("", `, "forms": [{"entity": "deal", "kind": "list", "columns": ["title", "colour"]}]`), "/forms/0/columns/1", "unknown_field", map[string]any{"field": "colour", "entity": "deal"}},
			{"validation", `{"name": "bad", "entities": [{"id": "e1", "name": "deal", "fields": [{"id": "d1", "name": "title", "type": "text"}], "validations": [{"expr": "title != null"}]}]}`, "/entities/0/validations/0", "required", map[string]any{"key": "message"}},
			{"automation condition", base("", `, "automations": [{"name": "a", "entity": "deal", "trigger": {"type": "created"}, "condition": "colour = 1", "actions": [{"type": "set", "fields": {"title": "x"}}]}]`), "/automations/0/condition", "expression", nil},
			{"dashboard entity", base("", `, "dashboards": [{"name": "d", "widgets": [{"id": "w1", "type": "kpi", "layout": {"x": 0, "y": 0, "w": 3, "h": 2}, "query": {"entity": "shop", "measures": [{"name": "n", "expr": "count()"}]}}]}]`), "/dashboards/0/widgets/0/query/entity", "unknown_entity", map[string]any{"entity": "shop"}},
		}
		for _, c := range cases {
			st, body := e.do("POST", "/api/meta/apps", c.doc)
			if st != 422 {
				t.Errorf("%s: status %d %v", c.what, st, body)
				continue
			}
			for _, p := range problemsOf(t, body) {
				if _, ok := schema.Codes[p.Code]; !ok {
					t.Errorf("%s: %s: %q has undocumented code %q", c.what, p.Path, p.Message, p.Code)
				}
			}
			wantProblem(t, c.what, body, c.path, c.code, c.params)
		}
	})
}
