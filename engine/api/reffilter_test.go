package api_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// salesApp: orders point at stores. A rep reads stores of region "east"
// only, and the store's margin is hidden from reps.
const salesApp = `{"name": "sales", "entities": [
  {"id": "e_store", "name": "store", "fields": [
    {"id": "s1", "name": "name", "type": "text"},
    {"id": "s2", "name": "region", "type": "select", "options": ["east", "west"]},
    {"id": "s3", "name": "margin", "type": "decimal"}
  ]},
  {"id": "e_order", "name": "order_", "fields": [
    {"id": "o1", "name": "title", "type": "text"},
    {"id": "o2", "name": "store", "type": "ref", "entity": "store"},
    {"id": "o3", "name": "qty", "type": "integer"}
  ]}
], "roles": [{"name": "rep", "entities": {
  "store": {"read": {"scope": "all", "where": "region = \"east\""}, "fields": {"margin": "hidden"}},
  "order_": {"read": "all", "create": "all"}
}}]}`

func sortedTitles(t *testing.T, body map[string]any) string {
	t.Helper()
	var out []string
	for _, it := range items(t, body) {
		out = append(out, str(it["title"]))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestFilterByRefField: store.name ~ "静安" finds orders by their store's
// name, under the store's row and field rules for the caller; store in
// [...] picks stores by id.
func TestFilterByRefField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, salesApp)
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		jingan := e.create("sales/store", map[string]any{"name": "静安寺店", "region": "east", "margin": "0.30"})
		xuhui := e.create("sales/store", map[string]any{"name": "徐汇店", "region": "east", "margin": "0.10"})
		west := e.create("sales/store", map[string]any{"name": "静安 West", "region": "west", "margin": "0.50"})
		e.create("sales/order_", map[string]any{"title": "a", "store": jingan["id"], "qty": 1})
		e.create("sales/order_", map[string]any{"title": "b", "store": xuhui["id"], "qty": 2})
		e.create("sales/order_", map[string]any{"title": "c", "store": west["id"], "qty": 3})
		e.create("sales/order_", map[string]any{"title": "d", "qty": 4})

		list := func(tok, f string) (int, map[string]any) {
			return e.doAs(tok, "GET", "/api/data/sales/order_?filter="+q(f), nil)
		}
		for _, c := range []struct{ who, filter, want string }{
			{"admin", `store.name ~ "静安"`, "a,c"},
			{"admin", `store.name ~ "west"`, "c"},
			{"admin", `store.name = "徐汇店"`, "b"},
			{"admin", `store.name !~ "静安"`, "b"}, // orders without a store have no store name to compare
			{"admin", `!(store.name ~ "静安")`, "b,d"},
			{"admin", `store.margin >= 0.3 && qty < 3`, "a"},
			{"admin", `store in ["` + str(jingan["id"]) + `", "` + str(xuhui["id"]) + `"]`, "a,b"},
			{"admin", `store = null || store.region = "west"`, "c,d"},
			// The rep reads east stores only: the west store's order does not match by its name.
			{"rep", `store.name ~ "静安"`, "a"},
			{"rep", `store.region = "west"`, ""},
			{"admin", `store.name ~ "'; DROP TABLE sales_store; --"`, ""},
		} {
			tok := e.token
			if c.who == "rep" {
				tok = rep
			}
			st, body := list(tok, c.filter)
			if st != 200 {
				t.Errorf("%s %s: %d %v", c.who, c.filter, st, body)
				continue
			}
			if got := sortedTitles(t, body); got != c.want {
				t.Errorf("%s %s: %q, want %q", c.who, c.filter, got, c.want)
			}
		}
		if e.count("sales/store") != 3 {
			t.Error("stores changed")
		}

		// A hidden target field is unknown to the rep, as on the target itself.
		st, body := list(rep, `store.margin > 0.2`)
		wantErr(t, "hidden target field", st, body, 400, "invalid_filter")
		if !strings.Contains(str(body["error"].(map[string]any)["message"]), `unknown field "store.margin"`) {
			t.Errorf("hidden target field: %v", body)
		}
		for _, f := range []string{
			`store.nope = 1`,                               // no such target field
			`title.name = "x"`,                             // not a ref
			`store.name.first = "x"`,                       // one hop only
			`store. = "x"`,                                 // no field after the dot
			`store.name > 3 && `,                           // syntax
			`store.qty = 1`,                                // field of the wrong entity
			`store.name in [1, null]`,                      // null in a list
			`store.Name = "x"`,                             // names are lower-case
			`store.region ~ 3`,                             // ~ needs a string
			`store.margin = "lots"`,                        // not a number
			`store in ["` + strings.Repeat("x", 65) + `"]`, // not an id
		} {
			st, body := list(e.token, f)
			wantErr(t, f, st, body, 400, "invalid_filter")
		}
	})
}

// ruleRefApp: a rep reads the orders of east stores (a role condition
// through the order's store) and the stores of nothing at all; the
// executive may change only orders of stores she manages (@me through the
// ref). The rollup counts big orders.
const ruleRefApp = `{"name": "sales", "entities": [
  {"id": "e_store", "name": "store", "fields": [
    {"id": "s1", "name": "name", "type": "text"},
    {"id": "s2", "name": "region", "type": "select", "options": ["east", "west"]},
    {"id": "s3", "name": "boss", "type": "user"},
    {"id": "s4", "name": "big_orders", "type": "rollup", "returns": "integer", "rollup": {"entity": "order_", "via": "store", "op": "count", "filter": "qty > 2"}}
  ]},
  {"id": "e_order", "name": "order_", "fields": [
    {"id": "o1", "name": "title", "type": "text"},
    {"id": "o2", "name": "store", "type": "ref", "entity": "store"},
    {"id": "o3", "name": "qty", "type": "integer"}
  ]}
], "roles": [
  {"name": "rep", "entities": {"order_": {"read": {"scope": "all", "where": "store.region = \"east\""}}}},
  {"name": "executive", "entities": {"store": {"read": "all"}, "order_": {"read": "all", "update": {"scope": "all", "where": "store.boss = @me"}}}}
]}`

// TestRoleConditionThroughRef: role conditions name a ref's field
// (store.region = "east", store.boss = @me), on both dialects, whatever the
// caller may read of the target; a rollup's filter may not, with a coded
// problem saying why; the expression check agrees with both.
func TestRoleConditionThroughRef(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, ruleRefApp)
		ctx := context.Background()
		mk := func(email, role string) (string, string) {
			u, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: email, Password: "password 123", Roles: []string{role}})
			if err != nil {
				t.Fatal(err)
			}
			return e.login(email, "password 123"), u.ID
		}
		rep, _ := mk("rep@example.com", "rep")
		exec, execID := mk("exec@example.com", "executive")
		east := e.create("sales/store", map[string]any{"name": "静安寺店", "region": "east", "boss": execID})
		west := e.create("sales/store", map[string]any{"name": "West", "region": "west"})
		a := e.create("sales/order_", map[string]any{"title": "a", "store": east["id"], "qty": 1})
		e.create("sales/order_", map[string]any{"title": "b", "store": west["id"], "qty": 3})
		e.create("sales/order_", map[string]any{"title": "c", "qty": 4})

		st, body := e.doAs(rep, "GET", "/api/data/sales/order_", nil)
		if st != 200 || sortedTitles(t, body) != "a" {
			t.Errorf("rep's orders: %d %v", st, body)
		}
		// The rep reads no store: the condition is the admin's rule, not a
		// door into the stores.
		if st, body := e.doAs(rep, "GET", "/api/data/sales/store", nil); st != 403 && st != 404 {
			t.Errorf("rep reads stores: %d %v", st, body)
		}
		// Nor does a list filter through the ref find anything for the rep.
		if st, body := e.doAs(rep, "GET", "/api/data/sales/order_?filter="+q(`store.name ~ "静安"`), nil); st != 200 || len(items(t, body)) != 0 {
			t.Errorf("rep filters by a store's name: %d %v", st, body)
		}
		// The executive changes orders of her stores only; the other's
		// answers as a record she may not change.
		if st, body := e.doAs(exec, "PATCH", "/api/data/sales/order_/"+str(a["id"]), map[string]any{"qty": 2, "version": 1}); st != 200 {
			t.Errorf("exec patches her store's order: %d %v", st, body)
		}
		others := items(t, func() map[string]any {
			_, b := e.doAs(exec, "GET", "/api/data/sales/order_?filter="+q(`title = "b"`), nil)
			return b
		}())
		if len(others) != 1 {
			t.Fatalf("exec reads b: %v", others)
		}
		if st, body := e.doAs(exec, "PATCH", "/api/data/sales/order_/"+str(others[0]["id"]), map[string]any{"qty": 9, "version": 1}); st == 200 {
			t.Errorf("exec patched another store's order: %d %v", st, body)
		}

		// A rollup filter through a ref is refused, coded, at its path.
		bad := strings.Replace(ruleRefApp, `"filter": "qty > 2"`, `"filter": "store.region = \"east\""`, 1)
		bad = strings.Replace(bad, `{"name": "sales",`, `{"name": "sales", "version": 1,`, 1)
		st, body = e.do("POST", "/api/meta/apps", bad)
		wantErr(t, "dotted rollup filter", st, body, 422, "validation_failed")
		wantProblem(t, "dotted rollup filter", body, "/entities/0/fields/3/rollup/filter", "dotted_name", map[string]any{"field": "store.region"})
		// A role condition naming what does not exist is refused as before.
		bad = strings.Replace(ruleRefApp, `store.region = \"east\"`, `store.nope = \"east\"`, 1)
		bad = strings.Replace(bad, `{"name": "sales",`, `{"name": "sales", "version": 1,`, 1)
		st, body = e.do("POST", "/api/meta/apps", bad)
		wantErr(t, "unknown target field", st, body, 422, "validation_failed")
		wantProblem(t, "unknown target field", body, "/roles/0/entities/order_/read/where", "expression", nil)

		// The editor's check: scope role takes store.region, document does not.
		check := func(scope, expr string) int {
			_, res := e.do("POST", "/api/meta/apps/sales/expressions/check", map[string]any{"entity": "order_", "mode": "filter", "scope": scope, "expr": expr})
			ps, _ := res["problems"].([]any)
			return len(ps)
		}
		if n := check("role", `store.region = "east" && store.boss = @me`); n != 0 {
			t.Errorf("role scope: %d problems", n)
		}
		if n := check("role", `store.nope = 1`); n != 1 {
			t.Errorf("role scope, unknown target field: %d problems", n)
		}
		if n := check("document", `store.region = "east"`); n != 1 {
			t.Errorf("document scope: %d problems", n)
		}
	})
}

// TestQueryMoneyColumns: a measure aggregating a money field names the
// field's currency for the UI; a count or arithmetic does
// not.
func TestQueryMoneyColumns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		doc := strings.Replace(salesApp, `{"id": "o3", "name": "qty", "type": "integer"}`, `{"id": "o3", "name": "qty", "type": "integer", "currency": "CNY"}`, 1)
		e := newEnv(t, db, doc)
		st, body := e.do("POST", "/api/query/sales", map[string]any{"query": map[string]any{"entity": "order_", "measures": []any{
			map[string]any{"name": "total", "expr": "sum(qty)"}, map[string]any{"name": "avg", "expr": "avg(qty)"},
			map[string]any{"name": "n", "expr": "count()"}, map[string]any{"name": "half", "expr": "sum(qty) / 2"},
			map[string]any{"name": "m", "expr": "max(qty)"}}}})
		if st != 200 {
			t.Fatalf("query: %d %v", st, body)
		}
		got := map[string]any{}
		for _, c := range body["columns"].([]any) {
			col := c.(map[string]any)
			got[str(col["name"])] = col["currency"]
		}
		want := map[string]any{"total": "CNY", "avg": "CNY", "n": nil, "half": nil, "m": "CNY"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("currencies %v, want %v", got, want)
		}
	})
}
