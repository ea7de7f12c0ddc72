package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// exprProblems are the problems of a check answer as "code@offset+length".
func exprProblems(body map[string]any) []string {
	var out []string
	list, _ := body["problems"].([]any)
	for _, p := range list {
		m, _ := p.(map[string]any)
		out = append(out, fmt.Sprintf("%v@%v+%v", m["code"], m["offset"], m["length"]))
	}
	return out
}

// chars is the character offset of sub in s, as the check answers it.
func chars(s, sub string) int { return utf8.RuneCountInString(s[:strings.Index(s, sub)]) }

// POST …/expressions/check validates formulas and filters with each
// problem at its character offset, and previews them on a sample record.
func TestExpressionCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		path := "/api/meta/apps/shop/expressions/check"
		acct := e.create("shop/account", map[string]any{"name": "静安店", "tier": "gold"})
		sale := e.create("shop/sale", map[string]any{"number": "a-1", "account": acct["id"], "discount": 10, "note": "secret note"})
		sid := str(sale["id"])
		e.create("shop/sale", map[string]any{"number": "b-2", "discount": 1})
		check := func(what string, body map[string]any) map[string]any {
			t.Helper()
			st, res := e.do("POST", path, body)
			if st != 200 {
				t.Fatalf("%s: %d %v", what, st, res)
			}
			return res
		}

		start := time.Now()
		res := check("formula preview", map[string]any{"entity": "sale", "mode": "formula", "expr": "upper(number) + '/' + account.tier + '/' + account.name", "recordId": sid})
		first := time.Since(start)
		start = time.Now()
		check("formula preview again", map[string]any{"entity": "sale", "mode": "formula", "expr": "upper(number) + '/' + account.tier", "recordId": sid})
		t.Logf("%s: a formula check with its preview took %v (the first, %v)", db.Dialect.Name(), time.Since(start).Round(time.Microsecond), first.Round(time.Microsecond))
		if res["ok"] != true || mustJSON(res["preview"]) != `{"value":"A-1/gold/静安店"}` || mustJSON(res["fields"]) != `["number","account.tier","account.name"]` {
			t.Errorf("formula preview: %v", res)
		}
		res = check("formula throws", map[string]any{"entity": "sale", "mode": "formula", "expr": "JSON.parse('{')", "recordId": sid})
		if pv, _ := res["preview"].(map[string]any); res["ok"] != true || str(pv["error"]) == "" {
			t.Errorf("a formula that throws on the record: %v", res)
		}
		zh := `"静安" + bogus`
		for _, c := range []struct {
			expr, field, want string
		}{
			{"amout * 2", "", "unknown_field@0+5"},
			{zh, "", fmt.Sprintf("unknown_field@%d+5", chars(zh, "bogus"))},
			{"roud(discount, 2)", "", "unknown_function@0+4"},
			{"discount * (total", "", "syntax@11+1"},
			{"discount * * ", "", "syntax@"},
			{"discount;", "", "syntax@8+1"},
			{"grand * 2", "grand", "self_reference@0+5"},
			{"account.owner.name", "", "ref_depth@0+18"},
			{"number.length + discount.x", "", "not_ref@0+6,not_ref@16+8"},
			{"account.nope", "", "unknown_field@0+12"},
			{"'amout' + number", "", ""},
		} {
			res := check(c.expr, map[string]any{"entity": "sale", "mode": "formula", "expr": c.expr, "field": c.field})
			got := strings.Join(exprProblems(res), ",")
			if c.want == "" && (res["ok"] != true || got != "") || c.want != "" && (res["ok"] != false || !strings.HasPrefix(got, c.want)) {
				t.Errorf("%s: got %s (%v), want %s", c.expr, got, res, c.want)
			}
		}
		res = check("did you mean", map[string]any{"entity": "sale", "mode": "formula", "expr": "roud(discount)"})
		if !strings.Contains(mustJSON(res["problems"]), `"suggestion":"round"`) {
			t.Errorf("no suggestion: %v", res)
		}

		start = time.Now()
		res = check("filter preview", map[string]any{"entity": "sale", "mode": "filter", "expr": `discount >= 5 && account.name ~ "静安"`, "recordId": sid, "count": true})
		t.Logf("%s: a filter check with its match and count took %v", db.Dialect.Name(), time.Since(start).Round(time.Microsecond))
		if res["ok"] != true || mustJSON(res["preview"]) != `{"count":1,"matches":true}` {
			t.Errorf("filter preview: %v", res)
		}
		res = check("filter no match", map[string]any{"entity": "sale", "mode": "filter", "expr": `discount < 5`, "recordId": sid, "count": true})
		if mustJSON(res["preview"]) != `{"count":1,"matches":false}` {
			t.Errorf("filter no match: %v", res)
		}
		zf := `number ~ "静安" && bogus = 1`
		for _, c := range []struct{ expr, scope, want string }{
			{zf, "", fmt.Sprintf("filter@%d+5", chars(zf, "bogus"))},
			{`number = `, "", "filter@9+0"},
			{`discount > "lots"`, "", "filter@0+8"},
			{`(number = "a"`, "", "filter@0+1"},
			{`account.name = "x"`, "document", "dotted_name@0+12"},
			{`owner = @me && discount > 1`, "document", ""},
			{`number = "x'; DROP TABLE shop_sale; --"`, "", ""},
		} {
			res := check(c.expr, map[string]any{"entity": "sale", "mode": "filter", "expr": c.expr, "scope": c.scope, "count": c.scope == ""})
			got := strings.Join(exprProblems(res), ",")
			if c.want == "" && (res["ok"] != true || got != "") || c.want != "" && (res["ok"] != false || !strings.HasPrefix(got, c.want)) {
				t.Errorf("%s: got %s (%v), want %s", c.expr, got, res, c.want)
			}
		}
		if e.count("shop/sale") != 2 {
			t.Error("a check changed the sales")
		}

		// The draft knows fields not published yet.
		st, app := e.do("GET", "/api/meta/apps/shop", nil)
		if st != 200 {
			t.Fatal(st, app)
		}
		doc := strings.Replace(shopDoc(), `{"id": "o8", "name": "note", "type": "text"},`, `{"id": "o8", "name": "note", "type": "text"}, {"id": "o10", "name": "region", "type": "text"},`, 1)
		if st, body := e.do("PUT", "/api/meta/apps/shop/draft", fmt.Sprintf(`{"baseVersion": %v, "document": %s}`, app["version"], doc)); st != 200 {
			t.Fatalf("draft: %d %v", st, body)
		}
		if res := check("published", map[string]any{"entity": "sale", "mode": "formula", "expr": "region"}); res["ok"] != false {
			t.Errorf("an unpublished field is known without draft: %v", res)
		}
		if res := check("draft", map[string]any{"entity": "sale", "mode": "formula", "expr": "upper(region)", "draft": true, "recordId": sid}); res["ok"] != true {
			t.Errorf("the draft's field is unknown: %v", res)
		}

		// A rep checks list filters under their own rules only.
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		st, res = e.doAs(rep, "POST", path, map[string]any{"entity": "sale", "mode": "filter", "expr": `discount > 0`, "count": true, "recordId": sid})
		if st != 200 || mustJSON(res["preview"]) != `{"count":0,"matches":false}` {
			t.Errorf("rep counts records they cannot read: %d %v", st, res)
		}
		st, res = e.doAs(rep, "POST", path, map[string]any{"entity": "sale", "mode": "filter", "expr": `note = "secret note"`})
		if st != 200 || res["ok"] != false || !strings.Contains(mustJSON(res["problems"]), "unknown field") {
			t.Errorf("rep filters by a hidden field: %d %v", st, res)
		}
		for _, body := range []map[string]any{
			{"entity": "sale", "mode": "formula", "expr": "note"},
			{"entity": "sale", "mode": "filter", "expr": "x = 1", "scope": "document"},
		} {
			st, res := e.doAs(rep, "POST", path, body)
			wantErr(t, "rep "+mustJSON(body), st, res, 403, "forbidden")
		}
		st, res = e.doAs(rep, "POST", "/api/meta/apps/nope/expressions/check", map[string]any{"entity": "sale", "mode": "filter", "expr": "x = 1"})
		wantErr(t, "unknown app", st, res, 404, "not_found")

		for _, c := range []struct {
			body   string
			status int
			code   string
		}{
			{`{"entity": "sale", "mode": "filter", "expr": `, 400, "invalid_json"},
			{`{"entity": "sale", "mode": "filter", "expr": "x = 1"} {}`, 400, "invalid_json"},
			{`{"entity": "sale", "mode": "filter", "expr": "x = 1", "bogus": 1}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "filter", "expr": 5}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "filter", "expr": "x", "count": "yes"}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "filter", "expr": "x", "expr": "y"}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "filter", "expr": "x\u0000"}`, 422, "validation_failed"},
			{`{"mode": "filter", "expr": "x = 1"}`, 422, "validation_failed"},
			{`{"entity": "nope", "mode": "filter", "expr": "x = 1"}`, 422, "validation_failed"},
			{`{"entity": "sale'; --", "mode": "filter", "expr": "x = 1"}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "sql", "expr": "1"}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "formula", "expr": "1", "scope": "list"}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "filter", "expr": "x = 1", "scope": "all"}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "filter", "expr": "x = 1", "draft": true}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "filter", "expr": "x = 1", "recordId": "x\" || id != \""}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "formula", "expr": "1", "field": "A B"}`, 422, "validation_failed"},
			{`{"entity": "sale", "mode": "filter", "expr": "` + strings.Repeat("x", 9000) + `"}`, 422, "validation_failed"},
		} {
			st, body := e.do("POST", path, c.body)
			wantErr(t, clip(c.body), st, body, c.status, c.code)
		}
		if e.count("shop/sale") != 2 {
			t.Error("bad checks changed the sales")
		}
	})
}
