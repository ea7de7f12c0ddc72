package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
)

// @me stands for the caller in filters and in role conditions.
func TestMeVariable(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		doc := strings.Replace(kitApp, `"label": "Test kit",`, `"label": "Test kit", "roles": [{"name": "helper", "entities": {
		  "item": {"read": {"scope": "all", "where": "assignee = @me"}, "update": {"scope": "all", "where": "assignee = @me"}}}}],`, 1)
		if st, body := e.do("POST", "/api/meta/apps", []byte(doc)); st != 201 {
			t.Fatalf("apply: %d %v", st, body)
		}
		helper, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "helper@example.com", Password: "helper password", Roles: []string{"helper"}})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.login("helper@example.com", "helper password")
		_, mine := e.do("POST", "/api/data/kit/item", map[string]any{"title": "assigned", "assignee": helper.ID})
		e.do("POST", "/api/data/kit/item", map[string]any{"title": "not assigned"})

		// As a filter: the admin's own records.
		st, body := e.do("GET", "/api/data/kit/item?filter="+url.QueryEscape("owner = @me"), nil)
		if st != 200 || len(body["items"].([]any)) != 2 {
			t.Fatalf("owner = @me as admin: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/data/kit/item?filter="+url.QueryEscape("owner = @nobody"), nil)
		wantErr(t, "unknown variable", st, body, 400, "invalid_filter")

		// As a role condition: the helper sees and changes only what is assigned to them.
		st, body = e.doAs(tok, "GET", "/api/data/kit/item", nil)
		if items := body["items"].([]any); st != 200 || len(items) != 1 || items[0].(map[string]any)["title"] != "assigned" {
			t.Fatalf("helper list: %d %v", st, body)
		}
		if st, body := e.doAs(tok, "PATCH", "/api/data/kit/item/"+mine["id"].(string), map[string]any{"version": 1, "notes": "done"}); st != 200 {
			t.Fatalf("helper patch: %d %v", st, body)
		}
		// Its OpenAPI document shows the entity its conditional scope opens.
		if st, raw := e.raw(tok, "GET", "/api/meta/apps/kit/openapi.json", nil); st != 200 || !strings.Contains(string(raw), "/api/data/kit/item") || strings.Contains(string(raw), "/api/data/kit/account") {
			t.Fatalf("helper's OpenAPI: %d, item path present %v, account path present %v", st,
				strings.Contains(string(raw), "/api/data/kit/item"), strings.Contains(string(raw), "/api/data/kit/account"))
		}
		bad := strings.Replace(doc, `"where": "assignee = @me"}, "update"`, `"where": "assignee = @boss"}, "update"`, 1)
		st, body = e.do("POST", "/api/meta/apps", []byte(bad))
		wantErr(t, "unknown variable in a role", st, body, 422, "validation_failed")
	})
}
