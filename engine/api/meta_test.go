package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// kitWith returns the kit app with the item entity's fields changed by
// edit, and the document version set when version > 0.
func kitWith(t *testing.T, version int, edit func(fields []any) []any) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(kitApp), &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range doc["entities"].([]any) {
		ent := e.(map[string]any)
		if ent["name"] == "item" {
			ent["fields"] = edit(ent["fields"].([]any))
		}
	}
	if version > 0 {
		doc["version"] = version
	}
	return mustJSON(doc)
}

func addField(f map[string]any) func([]any) []any {
	return func(fields []any) []any { return append(fields, f) }
}

func dropField(name string) func([]any) []any {
	return func(fields []any) []any {
		var out []any
		for _, f := range fields {
			if f.(map[string]any)["name"] != name {
				out = append(out, f)
			}
		}
		return out
	}
}

func (e *env) appVersion() int64 {
	e.t.Helper()
	st, body := e.do("GET", "/api/meta/apps/kit", nil)
	if st != 200 {
		e.t.Fatalf("get app: %d %v", st, body)
	}
	return num(e.t, body["version"])
}

func (e *env) versionCount() int {
	e.t.Helper()
	st, body := e.do("GET", "/api/meta/apps/kit/versions", nil)
	if st != 200 {
		e.t.Fatalf("versions: %d %v", st, body)
	}
	return len(body["items"].([]any))
}

func TestApplyApp(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		rec := e.create("item", map[string]any{"title": "kept", "notes": "my notes"})
		withRegion := kitWith(t, 0, addField(map[string]any{"id": "i19", "name": "region", "type": "text"}))

		// Dry run: a plan, nothing changed.
		for _, flag := range []string{"1", "true"} {
			st, body := e.do("POST", "/api/meta/apps?dryRun="+flag, withRegion)
			if st != 200 || body["dryRun"] != true || body["applied"] != false {
				t.Fatalf("dry run: %d %v", st, body)
			}
			plan := body["plan"].(map[string]any)
			if steps := plan["steps"].([]any); len(steps) == 0 || !strings.Contains(mustJSON(steps), "region") {
				t.Errorf("dry run plan: %v", plan)
			}
		}
		if e.appVersion() != 1 || e.versionCount() != 1 {
			t.Error("a dry run changed the app")
		}
		st, body := e.do("POST", "/api/data/kit/item", map[string]any{"title": "x", "region": "north"})
		wantErr(t, "field of a dry run", st, body, 422, "validation_failed")

		// Apply.
		st, body = e.do("POST", "/api/meta/apps", withRegion)
		if st != 201 || num(t, body["version"]) != 2 || body["applied"] != true || body["dryRun"] != false {
			t.Fatalf("apply: %d %v", st, body)
		}
		if e.appVersion() != 2 || e.versionCount() != 2 {
			t.Error("apply did not make version 2")
		}
		if got := e.get("item", str(rec["id"])); got["region"] != nil || got["notes"] != "my notes" || !hasKey(got, "region") {
			t.Errorf("record after adding a field: %v", got)
		}
		e.create("item", map[string]any{"title": "x", "region": "north"})
		// The same document again changes nothing.
		st, body = e.do("POST", "/api/meta/apps", withRegion)
		if st != 200 || body["applied"] != false || num(t, body["version"]) != 2 || e.versionCount() != 2 {
			t.Errorf("re-apply: %d %v", st, body)
		}

		// Versions and history.
		st, body = e.do("GET", "/api/meta/apps/kit/versions", nil)
		vs := body["items"].([]any)
		if st != 200 || len(vs) != 2 || num(t, vs[0].(map[string]any)["version"]) != 2 || vs[0].(map[string]any)["appliedBy"] != e.admin.ID {
			t.Errorf("versions: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/meta/apps/kit/versions/1", nil)
		if st != 200 || num(t, body["version"]) != 1 || strings.Contains(mustJSON(body), "region") {
			t.Errorf("version 1: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/meta/apps/kit/versions/3", nil)
		wantErr(t, "version 3", st, body, 404, "not_found")
		for _, v := range []string{"0", "-1", "abc", "1.5"} {
			st, body = e.do("GET", "/api/meta/apps/kit/versions/"+v, nil)
			wantErr(t, "version "+v, st, body, 400, "invalid_query")
		}
		for _, p := range []string{"/api/meta/apps/nope", "/api/meta/apps/nope/versions", "/api/meta/apps/nope/versions/1", "/api/meta/apps/nope/openapi.json"} {
			st, body = e.do("GET", p, nil)
			wantErr(t, p, st, body, 404, "not_found")
		}
		st, body = e.do("GET", "/api/meta/apps", nil)
		if st != 200 || len(body["items"].([]any)) != 1 || num(t, body["items"].([]any)[0].(map[string]any)["version"]) != 2 {
			t.Errorf("apps: %d %v", st, body)
		}

		// Bad flags.
		for _, qs := range []string{"dryRun=maybe", "dryRun=2", "allowDestructive=yes", "dryRun=1&allowDestructive=%27"} {
			st, body = e.do("POST", "/api/meta/apps?"+qs, withRegion)
			wantErr(t, qs, st, body, 400, "invalid_query")
		}

		// A document edited from an older version is stale.
		for _, v := range []int{1, 3, 99} {
			st, body = e.do("POST", "/api/meta/apps", kitWith(t, v, addField(map[string]any{"id": "i20", "name": "late", "type": "text"})))
			wantErr(t, "stale document", st, body, 409, "version_conflict")
		}
		if e.appVersion() != 2 || e.versionCount() != 2 {
			t.Error("a stale document changed the app")
		}

		// Dropping a field is refused without allowDestructive.
		noNotes := kitWith(t, 2, dropField("notes"))
		st, body = e.do("POST", "/api/meta/apps", noNotes)
		wantErr(t, "drop field", st, body, 422, "migration_refused")
		if ds := details(t, body); len(ds) == 0 || !strings.HasPrefix(ds[0], "/entities/1/fields") {
			t.Errorf("drop field: details %v", ds)
		}
		if e.appVersion() != 2 || e.get("item", str(rec["id"]))["notes"] != "my notes" {
			t.Error("a refused migration changed the app or its data")
		}
		// A dry run shows the destructive plan, with its refusal.
		st, body = e.do("POST", "/api/meta/apps?dryRun=1", noNotes)
		if plan, _ := body["plan"].(map[string]any); st != 200 || plan["destructive"] != true || plan["refused"] == nil {
			t.Errorf("destructive dry run: %d %v", st, body)
		}
		st, body = e.do("POST", "/api/meta/apps?allowDestructive=1", noNotes)
		if st != 201 || num(t, body["version"]) != 3 {
			t.Fatalf("drop with allowDestructive: %d %v", st, body)
		}
		if got := e.get("item", str(rec["id"])); hasKey(got, "notes") || got["title"] != "kept" {
			t.Errorf("record after dropping notes: %v", got)
		}
		st, body = e.do("POST", "/api/data/kit/item", map[string]any{"title": "x", "notes": "n"})
		wantErr(t, "dropped field", st, body, 422, "validation_failed")

		// A rename (same field id) keeps the data.
		renamed := kitWith(t, 3, func(fields []any) []any {
			for _, f := range fields {
				if m := f.(map[string]any); m["name"] == "title" {
					m["name"] = "headline"
				}
			}
			return fields
		})
		st, body = e.do("POST", "/api/meta/apps", renamed)
		if st != 201 {
			t.Fatalf("rename: %d %v", st, body)
		}
		if got := e.get("item", str(rec["id"])); got["headline"] != "kept" || hasKey(got, "title") {
			t.Errorf("record after rename: %v", got)
		}
	})
}

func TestApplyInvalid(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		_, before := e.do("GET", "/api/meta/apps/kit", nil)
		bad := `{
			"name": "kit",
			"entities": [
				{"name": "item", "fields": [
					{"id": "f1", "name": "Title", "type": "text"},
					{"id": "f2", "name": "amount", "type": "money"},
					{"id": "f3", "name": "stage", "type": "select"},
					{"id": "f4", "name": "account", "type": "ref", "entity": "nowhere"}
				]}
			]
		}`
		st, body := e.do("POST", "/api/meta/apps", bad)
		wantErr(t, "invalid document", st, body, 422, "validation_failed")
		ds := details(t, body)
		if len(ds) < 3 {
			t.Errorf("invalid document: want several details, got %v", body)
		}
		for _, p := range ds {
			if !strings.HasPrefix(p, "/entities/0/fields/") {
				t.Errorf("detail path %q is not a JSON pointer into the fields", p)
			}
		}
		for _, want := range []string{"/entities/0/fields/1/type", "/entities/0/fields/3/entity"} {
			wantDetail(t, "invalid document", body, want)
		}

		for _, doc := range []string{`{"name": "kit", "entities": [`, `{"name": "kit"} x`, "\xff", ``, `  `} {
			st, body = e.do("POST", "/api/meta/apps", doc)
			wantErr(t, "malformed "+doc, st, body, 400, "invalid_json")
		}
		for _, doc := range []string{`[]`, `"kit"`, `null`, `{}`, `{"name": "Kit!", "entities": []}`,
			`{"name": "kit", "entities": [], "bogus": 1}`, `{"name": "_forma_users", "entities": []}`} {
			st, body = e.do("POST", "/api/meta/apps", doc)
			wantErr(t, "invalid "+doc, st, body, 422, "validation_failed")
			if st == 422 && len(details(t, body)) == 0 {
				t.Errorf("invalid %s: no details", doc)
			}
		}
		_, after := e.do("GET", "/api/meta/apps/kit", nil)
		if mustJSON(before) != mustJSON(after) || e.versionCount() != 1 {
			t.Error("an invalid document changed the app")
		}
		st, body = e.do("GET", "/api/meta/apps", nil)
		if len(body["items"].([]any)) != 1 {
			t.Errorf("invalid documents created apps: %v", body)
		}
	})
}

// openAPI fetches app's OpenAPI document as the admin, loads it and
// checks that it validates.
func (e *env) openAPI(app string) (*openapi3.T, []byte) {
	e.t.Helper()
	st, raw := e.raw(e.token, "GET", "/api/meta/apps/"+app+"/openapi.json", nil)
	if st != 200 {
		e.t.Fatalf("openapi: %d %s", st, raw)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		e.t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		e.t.Fatalf("validate: %v", err)
	}
	return doc, raw
}

func TestOpenAPI(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		doc, raw := e.openAPI("kit")
		for _, p := range []string{"/api/data/kit/item", "/api/data/kit/item/{id}", "/api/data/kit/account", "/api/data/kit/note", "/api/data/kit/secret"} {
			if doc.Paths.Find(p) == nil {
				t.Errorf("no path %s in %v", p, doc.Paths.InMatchingOrder())
			}
		}
		// Cached, and rebuilt after a migration.
		st, raw2 := e.raw(e.token, "GET", "/api/meta/apps/kit/openapi.json", nil)
		if st != 200 || string(raw2) != string(raw) {
			t.Error("second openapi answer differs")
		}
		st, body := e.do("POST", "/api/meta/apps", kitWith(t, 1, addField(map[string]any{"id": "i19", "name": "region", "type": "text"})))
		if st != 201 {
			t.Fatalf("apply: %d %v", st, body)
		}
		st, raw2 = e.raw(e.token, "GET", "/api/meta/apps/kit/openapi.json", nil)
		if st != 200 || !strings.Contains(string(raw2), `"region"`) {
			t.Error("openapi not rebuilt after a migration")
		}
	})
}
