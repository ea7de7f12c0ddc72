package api_test

import (
	"context"
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
