package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// TestSavedViews: personal views are their owner's; an admin shares views
// with roles; every view is checked under its creator's rules.
func TestSavedViews(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, salesApp)
		ctx := context.Background()
		mk := func(email string, roles ...string) string {
			if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: email, Password: "password 123", Roles: roles}); err != nil {
				t.Fatal(err)
			}
			return e.login(email, "password 123")
		}
		ann, bob := mk("ann@example.com", "rep"), mk("bob@example.com", "rep")
		exec := mk("eve@example.com", "executive")
		const base = "/api/data/sales/order_/views"

		// Ann saves a personal view; Bob does not see it.
		st, body := e.doAs(ann, "POST", base, map[string]any{"name": "静安的订单", "labels": map[string]string{"en": "Jing'an orders"},
			"filter": `store.name ~ "静安"`, "sort": "-qty,title", "columns": []string{"title", "store", "created_at"}, "kind": "kanban",
			"options": map[string]any{"groupBy": "store"}})
		if st != 201 || body["version"] == nil || body["owner"] == nil {
			t.Fatalf("ann creates: %d %v", st, body)
		}
		annView := str(body["id"])
		if _, body := e.doAs(bob, "GET", base, nil); len(items(t, body)) != 0 {
			t.Errorf("bob sees ann's view: %v", body)
		}
		if _, body := e.doAs(ann, "GET", base, nil); len(items(t, body)) != 1 || items(t, body)[0]["name"] != "静安的订单" {
			t.Errorf("ann's views: %v", body)
		}
		st, body = e.doAs(bob, "PATCH", base+"/"+annView, map[string]any{"name": "mine", "version": 1})
		wantErr(t, "bob patches ann's", st, body, 404, "not_found")
		st, body = e.doAs(bob, "DELETE", base+"/"+annView, nil)
		wantErr(t, "bob deletes ann's", st, body, 404, "not_found")

		// Under the creator's rules: the store's margin is hidden from reps.
		st, body = e.doAs(ann, "POST", base, map[string]any{"name": "x", "filter": "store.margin > 0.2"})
		wantErr(t, "hidden field in filter", st, body, 422, "validation_failed")
		wantProblem(t, "hidden field in filter", body, "/filter", "filter", nil)
		// … the admin may.
		if st, body := e.do("POST", base, map[string]any{"name": "margins", "filter": "store.margin > 0.2"}); st != 201 {
			t.Errorf("admin margin view: %d %v", st, body)
		}

		// Bad bodies change nothing.
		for _, c := range []struct {
			what   string
			body   any
			status int
			path   string
		}{
			{"malformed", `{"name": "x"`, 400, ""},
			{"unknown key", `{"name": "x", "colour": "red"}`, 422, ""},
			{"wrong type", `{"name": 3}`, 422, ""},
			{"no name", `{"filter": "qty > 1"}`, 422, "/name"},
			{"long name", map[string]any{"name": strings.Repeat("名", 101)}, 422, "/name"},
			{"bad kind", map[string]any{"name": "x", "kind": "pie"}, 422, "/kind"},
			{"bad filter", map[string]any{"name": "x", "filter": "qty >"}, 422, "/filter"},
			{"injection", map[string]any{"name": "x", "filter": `title = "a" ; DROP TABLE sales_order_`}, 422, "/filter"},
			{"bad sort", map[string]any{"name": "x", "sort": "nope"}, 422, "/sort"},
			{"bad column", map[string]any{"name": "x", "columns": []string{"title", "nope"}}, 422, "/columns/1"},
			{"options not object", map[string]any{"name": "x", "options": []int{1}}, 422, "/options"},
			{"rep shares", map[string]any{"name": "x", "roles": []string{"rep"}}, 422, "/roles"},
			{"version on create", map[string]any{"name": "x", "version": 1}, 422, "/version"},
			{"oversized", `{"name": "` + strings.Repeat("x", 70<<10) + `"}`, 413, ""},
		} {
			st, body := e.doAs(ann, "POST", base, c.body)
			if st != c.status {
				t.Errorf("%s: %d %v", c.what, st, body)
				continue
			}
			if c.path != "" {
				wantDetail(t, c.what, body, c.path)
			}
		}
		if _, body := e.doAs(ann, "GET", base, nil); len(items(t, body)) != 1 {
			t.Errorf("bad bodies stored views: %v", body)
		}

		// The admin shares a view with reps: Ann and Bob see it, the
		// executive does not; reps cannot change it.
		st, body = e.do("POST", base, map[string]any{"name": "Team board", "roles": []string{"rep"}, "sort": "title"})
		if st != 201 {
			t.Fatalf("admin shares: %d %v", st, body)
		}
		shared := str(body["id"])
		for _, tok := range []string{ann, bob} {
			_, body := e.doAs(tok, "GET", base, nil)
			found := false
			for _, it := range items(t, body) {
				found = found || it["id"] == shared
			}
			if !found {
				t.Errorf("shared view not listed: %v", body)
			}
		}
		if _, body := e.doAs(exec, "GET", base, nil); len(items(t, body)) != 0 {
			t.Errorf("executive sees rep views: %v", body)
		}
		st, body = e.doAs(ann, "PATCH", base+"/"+shared, map[string]any{"name": "mine", "version": 1})
		wantErr(t, "rep patches shared", st, body, 403, "forbidden")
		st, body = e.do("POST", base, map[string]any{"name": "x", "roles": []string{"nobody"}})
		wantErr(t, "unknown role", st, body, 422, "validation_failed")

		// Patch with versions; a stale one is refused.
		st, body = e.doAs(ann, "PATCH", base+"/"+annView, map[string]any{"name": "静安", "version": 1})
		if st != 200 || num(t, body["version"]) != 2 || body["filter"] != `store.name ~ "静安"` {
			t.Fatalf("patch: %d %v", st, body)
		}
		st, body = e.doAs(ann, "PATCH", base+"/"+annView, map[string]any{"name": "late", "version": 1})
		wantErr(t, "stale", st, body, 409, "version_conflict")
		st, body = e.doAs(ann, "PATCH", base+"/"+annView, map[string]any{"name": "late"})
		wantErr(t, "no version", st, body, 422, "validation_failed")
		st, body = e.doAs(ann, "PATCH", base+"/"+annView, map[string]any{"filter": "nope = 1", "version": 2})
		wantErr(t, "bad patch", st, body, 422, "validation_failed")
		if _, body := e.doAs(ann, "GET", base, nil); items(t, body)[0]["name"] != "静安" && items(t, body)[1]["name"] != "静安" {
			t.Errorf("after refused patches: %v", body)
		}
		if st, _ := e.doAs(ann, "DELETE", base+"/"+annView, nil); st != 204 {
			t.Errorf("delete: %d", st)
		}
		st, body = e.doAs(ann, "DELETE", base+"/"+annView, nil)
		wantErr(t, "delete twice", st, body, 404, "not_found")
		st, body = e.doAs(ann, "GET", "/api/data/sales/nope/views", nil)
		wantErr(t, "unknown entity", st, body, 404, "not_found")
	})
}

// TestSavedViewsAfterRename: a publish that renames a field or an entity
// carries the new names into the saved views that name them (filter, a
// ref's field in the filter, sort, columns, options.by), so they still
// open; a view naming a removed field is listed flagged, not refused.
func TestSavedViewsAfterRename(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, salesApp)
		st, body := e.do("POST", "/api/data/sales/order_/views", map[string]any{"name": "big", "kind": "kanban",
			"filter": `store.name ~ "静安" && qty>2 && title != "x"`, "sort": "-qty,title", "columns": []string{"title", "qty", "store"},
			"options": map[string]any{"by": "qty"}})
		if st != 201 {
			t.Fatalf("create view: %d %v", st, body)
		}
		id := str(body["id"])
		// store.name → shop_name, order_.qty → quantity, order_ → sale.
		renamed := strings.NewReplacer(`"name": "name"`, `"name": "shop_name"`, `"name": "qty"`, `"name": "quantity"`,
			`"name": "order_"`, `"name": "sale"`, `"order_": {"read"`, `"sale": {"read"`).Replace(salesApp)
		renamed = strings.Replace(renamed, `{"name": "sales",`, `{"name": "sales", "version": 1,`, 1)
		if st, body := e.do("POST", "/api/meta/apps", renamed); st != 201 {
			t.Fatalf("rename: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/data/sales/sale/views", nil)
		if st != 200 || len(items(t, body)) != 1 {
			t.Fatalf("views after rename: %d %v", st, body)
		}
		v := items(t, body)[0]
		if v["id"] != id || v["filter"] != `store.shop_name ~ "静安" && quantity>2 && title != "x"` || v["sort"] != "-quantity,title" ||
			fmt.Sprint(v["columns"]) != "[title quantity store]" || fmt.Sprint(v["options"]) != "map[by:quantity]" || v["problems"] != nil {
			t.Errorf("view after rename: %v", v)
		}
		if st, body := e.do("GET", "/api/data/sales/sale?filter="+q(str(v["filter"]))+"&sort="+q(str(v["sort"])), nil); st != 200 {
			t.Errorf("the renamed view does not open: %d %v", st, body)
		}
		if st, body := e.do("GET", "/api/data/sales/order_/views", nil); st != 404 {
			t.Errorf("views of the old entity name: %d %v", st, body)
		}

		// Removing quantity (no records: nothing is lost) leaves the view
		// naming it, flagged where it does.
		removed := strings.Replace(renamed, `,
    {"id": "o3", "name": "quantity", "type": "integer"}`, "", 1)
		removed = strings.Replace(removed, `"version": 1,`, `"version": 2,`, 1)
		if removed == renamed {
			t.Fatal("test setup: quantity not removed")
		}
		if st, body := e.do("POST", "/api/meta/apps?allowDestructive=1", removed); st != 201 {
			t.Fatalf("remove: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/data/sales/sale/views", nil)
		if st != 200 || len(items(t, body)) != 1 {
			t.Fatalf("views after removal: %d %v", st, body)
		}
		paths := map[string]string{}
		for _, p := range problemsOf(t, map[string]any{"error": map[string]any{"details": items(t, body)[0]["problems"]}}) {
			paths[p.Path] = p.Code
		}
		want := map[string]string{"/filter": "filter", "/sort": "unknown_field", "/columns/1": "unknown_field", "/options/by": "unknown_field"}
		if fmt.Sprint(paths) != fmt.Sprint(want) {
			t.Errorf("flags after removal: %v, want %v", paths, want)
		}
	})
}
