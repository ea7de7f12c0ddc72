package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// TestNamesFromLabels publishes an app described by labels only (Chinese
// and English) and checks the names the server derived, their stability
// across a relabel, and the live-preview route.
func TestNamesFromLabels(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, "")
		doc := `{"label": "门店销售", "labels": {"en": "Store sales"}, "entities": [
		  {"id": "e1", "label": "门店", "labels": {"en": "Store"}, "fields": [
		    {"id": "f1", "label": "名称", "labels": {"en": "Name"}, "type": "text", "required": true},
		    {"id": "f2", "label": "名称", "type": "text"},
		    {"id": "f3", "label": "Owner", "type": "user"},
		    {"id": "f4", "label": "'; DROP TABLE _forma_apps; --", "type": "text"}
		  ]}]}`
		st, body := e.do("POST", "/api/meta/apps", doc)
		if st != 201 || body["app"] != "mendian_xiaoshou" {
			t.Fatalf("apply: %d %v", st, body)
		}
		rec := e.create("mendian_xiaoshou/mendian", map[string]any{"mingcheng": "静安店", "mingcheng_2": "x", "owner_2": nil, "drop_table_forma_apps": "y"})
		// The labels change; the names (and the data) stay.
		doc2 := strings.Replace(strings.Replace(doc, `"label": "门店", "labels"`, `"label": "商店", "labels"`, 1), `"label": "名称", "labels"`, `"label": "店名", "labels"`, 1)
		doc2 = strings.Replace(doc2, `{"label": "门店销售"`, `{"name": "mendian_xiaoshou", "label": "门店销售"`, 1)
		if st, body := e.do("POST", "/api/meta/apps", doc2); st != 201 {
			t.Fatalf("relabel: %d %v", st, body)
		}
		if got := e.get("mendian_xiaoshou/mendian", str(rec["id"])); got["mingcheng"] != "静安店" {
			t.Errorf("after relabel: %v", got)
		}
		// The same label-only document again is a new app, numbered.
		if st, body := e.do("POST", "/api/meta/apps", doc); st != 201 || body["app"] != "mendian_xiaoshou_2" {
			t.Errorf("second app: %d %v", st, body)
		}

		for _, c := range []struct{ q, name, base string }{
			{"label=" + q("门店销售") + "&kind=app", "mendian_xiaoshou", "mendian_xiaoshou"},
			{"label=" + q("门店") + "&kind=entity&taken=mendian,mendian_2", "mendian_3", "mendian"},
			{"label=ID&kind=field", "id_2", "id"},
			{"label=" + q("🙂") + "&kind=role", "role", ""},
			{"label=Order&kind=entity", "order_2", "order"},
		} {
			st, body := e.do("GET", "/api/meta/names?"+c.q, nil)
			if st != 200 || body["name"] != c.name || body["base"] != c.base {
				t.Errorf("names?%s: %d %v, want %s/%s", c.q, st, body, c.name, c.base)
			}
		}
		st, body = e.do("GET", "/api/meta/names?label=x&kind=table", nil)
		wantErr(t, "bad kind", st, body, 400, "invalid_query")
		st, body = e.do("GET", "/api/meta/names?label="+strings.Repeat("x", 300), nil)
		wantErr(t, "long label", st, body, 400, "invalid_query")
	})
}

// TestDrafts covers saving, restoring, listing and publishing drafts, and
// two admins racing to publish.
func TestDrafts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, "")
		ctx := context.Background()
		if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "ops2@example.com", Password: "ops2 password 1", Name: "Ops Two", Admin: true}); err != nil {
			t.Fatal(err)
		}
		other := e.login("ops2@example.com", "ops2 password 1")
		if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")

		// No draft yet: a blank app with the three sales roles to edit.
		st, body := e.do("GET", "/api/meta/apps/shop/draft", nil)
		if st != 200 || body["saved"] != false || num(t, body["baseVersion"]) != 0 {
			t.Fatalf("start: %d %v", st, body)
		}
		roles := body["document"].(map[string]any)["roles"].([]any)
		if len(roles) != 3 || roles[0].(map[string]any)["name"] != "rep" || roles[0].(map[string]any)["labels"].(map[string]any)["zh-CN"] != "销售代表" {
			t.Errorf("start roles: %v", roles)
		}

		draft := map[string]any{"baseVersion": 0, "document": map[string]any{"label": "Shop", "entities": []any{
			map[string]any{"id": "e1", "label": "门店", "fields": []any{map[string]any{"id": "f1", "label": "名称", "type": "text"}}}}}}
		st, body = e.do("PUT", "/api/meta/apps/shop/draft", draft)
		if st != 200 || body["saved"] != true || len(body["problems"].([]any)) != 0 {
			t.Fatalf("put: %d %v", st, body)
		}
		// Restored on reload (another device: another session of the same admin).
		tok2 := e.login(adminEmail, adminPassword)
		st, body = e.doAs(tok2, "GET", "/api/meta/apps/shop/draft", nil)
		if st != 200 || body["saved"] != true || body["document"].(map[string]any)["label"] != "Shop" {
			t.Fatalf("restore: %d %v", st, body)
		}
		// The other admin sees it in the list; a rep sees nothing.
		st, body = e.doAs(other, "GET", "/api/meta/apps/shop/drafts", nil)
		if st != 200 || len(items(t, body)) != 1 || items(t, body)[0]["email"] != adminEmail || items(t, body)[0]["mine"] != false {
			t.Errorf("drafts: %d %v", st, body)
		}
		st, body = e.doAs(rep, "GET", "/api/meta/apps/shop/drafts", nil)
		wantErr(t, "rep drafts", st, body, 403, "forbidden")
		st, body = e.doAs(rep, "PUT", "/api/meta/apps/shop/draft", draft)
		wantErr(t, "rep put", st, body, 403, "forbidden")

		// Bad drafts change nothing.
		for _, c := range []struct {
			what   string
			body   any
			status int
			code   string
		}{
			{"malformed", `{"baseVersion": 0, "document": {`, 400, "invalid_json"},
			{"unknown field", `{"baseVersion": 0, "document": {}, "extra": 1}`, 422, "validation_failed"},
			{"wrong type", `{"baseVersion": "0", "document": {}}`, 422, "validation_failed"},
			{"no base", `{"document": {}}`, 422, "validation_failed"},
			{"negative base", `{"baseVersion": -1, "document": {}}`, 422, "validation_failed"},
			{"future base", `{"baseVersion": 4, "document": {}}`, 422, "validation_failed"},
			{"not an object", `{"baseVersion": 0, "document": [1]}`, 422, "validation_failed"},
			{"other app's name", `{"baseVersion": 0, "document": {"name": "other"}}`, 422, "validation_failed"},
			{"NUL", `{"baseVersion": 0, "document": {"label": "a\u0000"}}`, 422, "validation_failed"},
			{"oversized", `{"baseVersion": 0, "document": {"description": "` + strings.Repeat("x", 3<<20) + `"}}`, 413, "payload_too_large"},
		} {
			st, body := e.do("PUT", "/api/meta/apps/shop/draft", c.body)
			wantErr(t, c.what, st, body, c.status, c.code)
		}
		st, body = e.do("PUT", "/api/meta/apps/Bad%20Name/draft", draft)
		wantErr(t, "bad app name", st, body, 400, "invalid_path")
		st, body = e.do("GET", "/api/meta/apps/shop/draft", nil)
		if st != 200 || body["document"].(map[string]any)["label"] != "Shop" {
			t.Fatalf("after bad drafts: %d %v", st, body)
		}

		// Both admins draft from version 0 … then 1; the first to publish wins.
		if st, body := e.do("POST", "/api/meta/apps/shop/draft/publish?dryRun=1", nil); st != 200 || body["applied"] != false {
			t.Fatalf("dry publish: %d %v", st, body)
		}
		if st, body := e.doAs(other, "PUT", "/api/meta/apps/shop/draft", draft); st != 200 {
			t.Fatalf("other put: %d %v", st, body)
		}
		if st, body := e.do("POST", "/api/meta/apps/shop/draft/publish", nil); st != 201 || num(t, body["version"]) != 1 {
			t.Fatalf("publish: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/meta/apps/shop/draft", nil)
		if body["saved"] != false || num(t, body["baseVersion"]) != 1 {
			t.Errorf("published draft still there: %v", body)
		}
		st, body = e.doAs(other, "GET", "/api/meta/apps/shop/draft", nil)
		if body["stale"] != true {
			t.Errorf("other's draft not stale: %v", body)
		}
		st, body = e.doAs(other, "POST", "/api/meta/apps/shop/draft/publish", nil)
		wantErr(t, "stale publish", st, body, 409, "version_conflict")
		if msg := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "version 1") || !strings.Contains(msg, "version 0") {
			t.Errorf("stale message: %s", msg)
		}
		// The stale draft is kept (work is never lost) until discarded.
		if st, _ := e.doAs(other, "DELETE", "/api/meta/apps/shop/draft", nil); st != 204 {
			t.Errorf("discard: %d", st)
		}
		st, body = e.doAs(other, "DELETE", "/api/meta/apps/shop/draft", nil)
		wantErr(t, "discard twice", st, body, 404, "not_found")
		st, body = e.doAs(other, "POST", "/api/meta/apps/shop/draft/publish", nil)
		wantErr(t, "publish nothing", st, body, 404, "not_found")

	})
}

// TestDraftStartsFromPublished: an admin without a draft of a published
// app starts from its document with the three sales roles written out
// (ready to edit) and the role warnings of that document.
func TestDraftStartsFromPublished(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, refShopDoc(false, ""))
		st, body := e.do("GET", "/api/meta/apps/shop/draft", nil)
		if st != 200 || body["saved"] != false || num(t, body["baseVersion"]) != 1 || body["stale"] != false {
			t.Fatalf("start: %d %v", st, body)
		}
		doc := body["document"].(map[string]any)
		roles := doc["roles"].([]any)
		if len(roles) != 3 {
			t.Fatalf("roles %v", roles)
		}
		rep := roles[0].(map[string]any)
		if rep["name"] != "rep" || rep["entities"].(map[string]any)["store"].(map[string]any)["read"] != "own" {
			t.Errorf("rep %v", rep)
		}
		if len(body["warnings"].([]any)) == 0 || body["roleDefaults"].(map[string]any)["manager"] != "team" {
			t.Errorf("warnings or defaults missing: %v", body)
		}
		// Publishing that document as it is changes no rights: the roles
		// written out grant what the defaults granted.
		if st, body := e.do("PUT", "/api/meta/apps/shop/draft", map[string]any{"baseVersion": 1, "document": doc}); st != 200 {
			t.Fatalf("put: %d %v", st, body)
		}
		st, body = e.do("POST", "/api/meta/apps/shop/draft/publish", nil)
		if st != 201 {
			t.Fatalf("publish: %d %v", st, body)
		}
		for _, s := range body["plan"].(map[string]any)["steps"].([]any) {
			if m := s.(map[string]any); m["op"] != "meta" {
				t.Errorf("table step from roles written out: %v", m)
			}
		}
	})
}
