package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// assignApp: leads distributed round-robin to reps; reps read their own,
// managers their team's.
const assignApp = `{"name": "sales", "entities": [
  {"name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text"},
    {"id": "l2", "name": "stage", "type": "select", "options": ["new", "won", "lost"]}]}],
 "roles": [
  {"name": "rep", "entities": {"lead": {"read": "own", "update": "own"}}},
  {"name": "manager", "entities": {"lead": {"read": "team", "update": "team"}}}],
 "assignments": [
  {"name": "rr", "entity": "lead", "strategy": "roundRobin", "candidates": {"roles": ["rep"]}},
  {"name": "ab", "entity": "lead", "strategy": "roundRobin", "candidates": {"roles": ["rep"]},
   "variants": [{"name": "a", "weight": 1, "strategy": "roundRobin"}, {"name": "b", "weight": 1, "strategy": "leastLoad"}]}]}`

type assignEnv struct {
	*env
	ids, tokens map[string]string
}

func newAssignEnv(t *testing.T, db *store.DB) *assignEnv {
	e := &assignEnv{env: newEnv(t, db, assignApp), ids: map[string]string{}, tokens: map[string]string{}}
	ctx := context.Background()
	team, err := e.acc.CreateTeamWith(ctx, access.NewTeam{Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role string }{{"mia", "manager"}, {"ray", "rep"}, {"rita", "rep"}} {
		user, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: u.name + "@example.com", Password: adminPassword, Name: u.name, Roles: []string{u.role}, TeamID: team.ID})
		if err != nil {
			t.Fatal(err)
		}
		e.ids[u.name], e.tokens[u.name] = user.ID, e.login(u.name+"@example.com", adminPassword)
	}
	mia := e.ids["mia"]
	if _, err := e.acc.UpdateTeam(ctx, team.ID, access.TeamUpdate{ManagerID: &mia}); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAssignRoutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAssignEnv(t, db)
		lead := e.create("sales/lead", map[string]any{"name": "Acme", "stage": "new"})
		id := str(lead["id"])
		base := "/api/data/sales/lead/" + id

		// The admin assigns by the rule; the log shows the decision.
		st, body := e.do("POST", base+"/assign", map[string]any{"rule": "rr", "reason": "first owner"})
		if st != 200 {
			t.Fatalf("assign: %d %v", st, body)
		}
		d := body["assignment"].(map[string]any)
		rec := body["record"].(map[string]any)
		owner := str(d["winner"])
		if str(rec["owner"]) != owner || (owner != e.ids["ray"] && owner != e.ids["rita"]) || d["strategy"] != "roundRobin" {
			t.Fatalf("assign answer: %v", body)
		}
		rep, other := "ray", "rita"
		if owner == e.ids["rita"] {
			rep, other = "rita", "ray"
		}
		version := num(t, rec["version"])

		// Bad input: nothing changes.
		for _, c := range []struct {
			what  string
			token string
			body  any
			st    int
			code  string
		}{
			{"malformed JSON", e.token, `{"to": `, 400, "invalid_json"},
			{"not an object", e.token, `["x"]`, 400, "invalid_json"},
			{"unknown field", e.token, map[string]any{"to": e.ids[other], "reason": "r", "boss": true}, 422, "validation_failed"},
			{"wrong type", e.token, map[string]any{"to": 7, "reason": "r"}, 422, "validation_failed"},
			{"no reason", e.token, map[string]any{"to": e.ids[other]}, 422, "validation_failed"},
			{"oversized reason", e.token, map[string]any{"to": e.ids[other], "reason": strings.Repeat("é", 1001)}, 422, "validation_failed"},
			{"unknown rule", e.token, map[string]any{"rule": "nope", "reason": "r"}, 422, "validation_failed"},
			{"unknown user", e.token, map[string]any{"to": "nobody@example.com", "reason": "r"}, 422, "validation_failed"},
			{"injection", e.token, map[string]any{"to": "' OR 1=1 --", "reason": "r"}, 422, "validation_failed"},
			{"stale version", e.token, map[string]any{"to": e.ids[other], "reason": "r", "version": version + 5}, 409, "version_conflict"},
			{"a rep", e.tokens[rep], map[string]any{"to": e.ids[other], "reason": "mine"}, 403, "forbidden"},
			{"a rep who cannot read it", e.tokens[other], map[string]any{"to": e.ids[other], "reason": "mine"}, 404, "not_found"},
		} {
			st, body := e.doAs(c.token, "POST", base+"/assign", c.body)
			wantErr(t, c.what, st, body, c.st, c.code)
		}
		if got := e.get("sales/lead", id); str(got["owner"]) != owner || num(t, got["version"]) != version {
			t.Fatalf("refused requests changed the record: %v", got)
		}

		// The manager of the owner's team reassigns, with a reason.
		st, body = e.doAs(e.tokens["mia"], "POST", base+"/assign", map[string]any{"to": other + "@example.com", "reason": "language", "version": version})
		if st != 200 || str(body["assignment"].(map[string]any)["winner"]) != e.ids[other] || body["assignment"].(map[string]any)["strategy"] != "manual" {
			t.Fatalf("manager: %d %v", st, body)
		}
		st, body = e.do("GET", base+"/history", nil)
		if st != 200 || !strings.Contains(mustJSON(body), "language") {
			t.Fatalf("history: %d %v", st, body)
		}

		// The log: newest first; the new owner sees no figures; the old
		// one no longer sees the record.
		st, body = e.do("GET", base+"/assignments", nil)
		if ds := items(t, body); st != 200 || len(ds) != 2 || ds[0]["strategy"] != "manual" || ds[1]["candidates"] == nil {
			t.Fatalf("log: %d %v", st, body)
		}
		st, body = e.doAs(e.tokens[other], "GET", base+"/assignments", nil)
		if ds := items(t, body); st != 200 || len(ds) != 2 || ds[1]["candidates"] != nil {
			t.Fatalf("owner's log: %d %v", st, body)
		}
		st, body = e.doAs(e.tokens[rep], "GET", base+"/assignments", nil)
		wantErr(t, "former owner's log", st, body, 404, "not_found")
	})
}

func TestAssignmentPreviewAndVariantsRoutes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAssignEnv(t, db)
		id := str(e.create("sales/lead", map[string]any{"name": "Acme", "stage": "new"})["id"])
		path := "/api/meta/apps/sales/assignments/rr/preview"
		st, body := e.do("POST", path, map[string]any{"id": id})
		if st != 200 || body["winner"] == nil || body["candidates"] == nil {
			t.Fatalf("preview: %d %v", st, body)
		}
		if got := e.get("sales/lead", id); str(got["owner"]) != e.admin.ID {
			t.Fatalf("a preview wrote: %v", got)
		}
		// A draft: least load instead.
		draft := map[string]any{"name": "rr", "entity": "lead", "strategy": "leastLoad", "candidates": map[string]any{"roles": []string{"rep"}}}
		if st, body := e.do("POST", path, map[string]any{"id": id, "rule": draft}); st != 200 || body["strategy"] != "leastLoad" {
			t.Fatalf("draft preview: %d %v", st, body)
		}
		bad := map[string]any{"name": "rr", "entity": "lead", "strategy": "score", "score": "wins * 2", "candidates": map[string]any{"roles": []string{"nobody_role"}}}
		st, body = e.do("POST", path, map[string]any{"id": id, "rule": bad})
		wantErr(t, "bad draft", st, body, 422, "validation_failed")
		wantDetail(t, "bad draft", body, "/rule/candidates/roles/0")
		bad["candidates"] = map[string]any{"roles": []string{"rep"}}
		st, body = e.do("POST", path, map[string]any{"id": id, "rule": bad})
		wantErr(t, "unknown statistic", st, body, 422, "validation_failed")
		wantDetail(t, "unknown statistic", body, "/rule/score")
		for _, c := range []struct {
			what, path string
			token      string
			body       any
			st         int
			code       string
		}{
			{"malformed", path, e.token, `{"id": `, 400, "invalid_json"},
			{"unknown field", path, e.token, map[string]any{"id": id, "x": 1}, 422, "validation_failed"},
			{"wrong type", path, e.token, map[string]any{"id": 5}, 422, "validation_failed"},
			{"no id", path, e.token, map[string]any{}, 422, "validation_failed"},
			{"unknown record", path, e.token, map[string]any{"id": "nope"}, 404, "not_found"},
			{"unknown rule", "/api/meta/apps/sales/assignments/nope/preview", e.token, map[string]any{"id": id}, 404, "not_found"},
			{"not a designer", path, e.tokens["mia"], map[string]any{"id": id}, 403, "forbidden"},
		} {
			st, body := e.doAs(c.token, "POST", c.path, c.body)
			wantErr(t, c.what, st, body, c.st, c.code)
		}

		// The A/B report of a rule, in the automations' shape.
		for i := 0; i < 6; i++ {
			lid := str(e.create("sales/lead", map[string]any{"name": "L", "stage": "new"})["id"])
			if st, body := e.do("POST", "/api/data/sales/lead/"+lid+"/assign", map[string]any{"rule": "ab", "reason": "go"}); st != 200 {
				t.Fatalf("assign ab: %d %v", st, body)
			}
		}
		st, body = e.do("GET", "/api/meta/apps/sales/assignments/ab/variants?goal="+q(`stage = "won"`), nil)
		vs, _ := body["variants"].([]any)
		if st != 200 || len(vs) != 2 || body["test"] == nil {
			t.Fatalf("variants: %d %v", st, body)
		}
		total := num(t, vs[0].(map[string]any)["records"]) + num(t, vs[1].(map[string]any)["records"])
		if total != 6 {
			t.Fatalf("variants count %d records: %v", total, body)
		}
		st, body = e.do("GET", "/api/meta/apps/sales/assignments/ab/variants?goal="+q(`stage ==`), nil)
		wantErr(t, "bad goal", st, body, 400, "invalid_filter")
		st, body = e.do("GET", "/api/meta/apps/sales/assignments/rr/variants", nil)
		wantErr(t, "no variants", st, body, 400, "invalid_query")
		st, body = e.doAs(e.tokens["mia"], "GET", "/api/meta/apps/sales/assignments/ab/variants", nil)
		wantErr(t, "not a designer", st, body, 403, "forbidden")
	})
}
