package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

const refShopApp = `{"name": "shop", "entities": [
  {"id": "e_store", "name": "store", "label": "门店" %s, "fields": [{"id": "s1", "name": "name", "type": "text"}]},
  {"id": "e_order", "name": "order_", "fields": [
    {"id": "o1", "name": "title", "type": "text"},
    {"id": "o2", "name": "store", "type": "ref", "entity": "store"}
  ]}
] %s}`

func refShopDoc(reference bool, extra string) string {
	r := ""
	if reference {
		r = `, "reference": true`
	}
	return strings.Replace(strings.Replace(refShopApp, "%s", r, 1), "%s", extra, 1)
}

// TestReferenceData: a rep of a new app cannot pick a store the admin
// entered (the designer is warned of it); once store is reference data,
// every role reads every store, and writes stay as the roles say.
func TestReferenceData(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, refShopDoc(false, ""))
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		st := e.create("shop/store", map[string]any{"name": "静安店"})

		// The trap, and the warning that names it.
		_, body := e.do("POST", "/api/meta/apps?dryRun=1", refShopDoc(false, `, "label": "x"`))
		ws := body["warnings"].([]any)
		codes := map[string]string{}
		for _, w := range ws {
			m := w.(map[string]any)
			p := m["params"].(map[string]any)
			codes[str(p["role"])] = str(m["code"])
			if p["field"] != "store" || p["target"] != "store" || p["entity"] != "order_" || !strings.HasPrefix(str(m["path"]), "/entities/1/fields/1") {
				t.Errorf("warning %v", m)
			}
		}
		if codes["rep"] != "ref_target_partly_readable" || codes["manager"] != "ref_target_partly_readable" || codes["executive"] != "" {
			t.Errorf("warnings %v", ws)
		}
		if _, body := e.doAs(rep, "GET", "/api/data/shop/store", nil); len(items(t, body)) != 0 {
			t.Fatalf("rep reads stores before: %v", body)
		}

		// Reference data: no warning, the rep reads and picks the store.
		s, body := e.do("POST", "/api/meta/apps", refShopDoc(true, ""))
		if s != 201 || len(body["warnings"].([]any)) != 0 {
			t.Fatalf("apply reference: %d %v", s, body)
		}
		steps := body["plan"].(map[string]any)["steps"].([]any)
		if len(steps) != 1 || steps[0].(map[string]any)["op"] != "meta" || !strings.Contains(str(steps[0].(map[string]any)["description"]), "reference data: false → true") {
			t.Errorf("plan %v", steps)
		}
		if _, body := e.doAs(rep, "GET", "/api/data/shop/store", nil); len(items(t, body)) != 1 {
			t.Errorf("rep reads stores after: %v", body)
		}
		if s, body := e.doAs(rep, "POST", "/api/data/shop/order_", map[string]any{"title": "t", "store": st["id"]}); s != 201 {
			t.Errorf("rep orders: %d %v", s, body)
		}
		// Writing stays as the rep's role says: own records only.
		s, body = e.doAs(rep, "PATCH", "/api/data/shop/store/"+str(st["id"]), map[string]any{"name": "x", "version": 1})
		if s != 403 && s != 404 {
			t.Errorf("rep edits the admin's store: %d %v", s, body)
		}
		if got := e.get("shop/store", str(st["id"])); got["name"] != "静安店" {
			t.Errorf("store changed: %v", got)
		}
		// A role written out that grants nothing on store still reads it.
		doc := refShopDoc(true, `, "roles": [{"name": "clerk", "entities": {"order_": {"create": "own", "read": "own"}}}]`)
		if s, body := e.do("POST", "/api/meta/apps", doc); s != 201 || len(body["warnings"].([]any)) != 0 {
			t.Errorf("clerk: %d %v", s, body)
		}
		if s, body := e.do("POST", "/api/meta/apps", `{"name": "shop", "entities": [{"id": "e_store", "name": "store", "reference": "yes", "fields": []}]}`); s != 422 {
			t.Errorf("reference of the wrong type: %d %v", s, body)
		}
	})
}

// TestPlanListsMetadataChanges: forms, list views, roles and labels show
// in the plan as meta steps instead of "nothing to change".
func TestPlanListsMetadataChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, refShopDoc(false, ""))
		doc := strings.Replace(refShopDoc(false, `, "forms": [{"entity": "store", "kind": "list", "columns": ["name"]}, {"entity": "store", "kind": "form", "sections": [{"fields": ["name"]}]}],
		  "roles": [{"name": "rep", "entities": {"store": {"read": "all"}}}, {"name": "clerk"}], "scripts": {"x": "function f() {}"}`),
			`"name": "name", "type": "text"`, `"name": "name", "label": "店名", "type": "text"`, 1)
		s, body := e.do("POST", "/api/meta/apps?dryRun=1", doc)
		if s != 200 {
			t.Fatalf("dry run: %d %v", s, body)
		}
		var got []string
		for _, st := range body["plan"].(map[string]any)["steps"].([]any) {
			m := st.(map[string]any)
			if m["op"] != "meta" {
				t.Errorf("step %v", m)
			}
			got = append(got, str(m["description"])+" @"+str(m["path"]))
		}
		want := []string{
			`field store.name label: "" → "店名" @/entities/0/fields/0/label`,
			"list view of store added @/forms/0",
			"record form of store added @/forms/1",
			"role rep written out (it replaces the default rep role) @/roles/0",
			"role clerk added @/roles/1",
			"script x added @/scripts/x",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestSystemFieldLabels: the app document answers the system fields with
// labels, for members too, and a document read and sent back applies.
func TestSystemFieldLabels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, refShopDoc(true, `, "labels": {"en": "Shop", "zh-CN": "商店"}`))
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		for _, tok := range []string{e.token, rep} {
			st, body := e.doAs(tok, "GET", "/api/meta/apps/shop", nil)
			if st != 200 {
				t.Fatalf("get: %d %v", st, body)
			}
			sf := body["systemFields"].([]any)
			byName := map[string]map[string]any{}
			for _, f := range sf {
				m := f.(map[string]any)
				byName[str(m["name"])] = m
			}
			if len(sf) != 6 || byName["created_at"]["label"] != "Created" || byName["owner"]["labels"].(map[string]any)["zh-CN"] != "负责人" {
				t.Errorf("systemFields %v", sf)
			}
			if body["labels"].(map[string]any)["zh-CN"] != "商店" || body["entities"].([]any)[0].(map[string]any)["reference"] != true {
				t.Errorf("labels or reference missing from the view: %v", body)
			}
		}
		_, raw := e.raw(e.token, "GET", "/api/meta/apps/shop", nil)
		if st, body := e.do("POST", "/api/meta/apps", raw); st != 200 && st != 201 {
			t.Errorf("round trip: %d %v", st, body)
		}
	})
}
