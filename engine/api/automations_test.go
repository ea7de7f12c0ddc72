package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// autoApp has automations for the routes' tests: "welcome" runs on every
// lead (a notify and a set), "split" is an A/B test, and "hook" would send
// a webhook (to a name that never resolves; it only runs in dry runs).
const autoApp = `{"name": "sales", "entities": [
  {"name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text"},
    {"id": "l2", "name": "stage", "type": "select", "options": ["new", "won", "lost"]},
    {"id": "l3", "name": "budget", "type": "decimal"},
    {"id": "l4", "name": "grade", "type": "text"},
    {"id": "l5", "name": "secret_note", "type": "text"}]},
  {"name": "task", "fields": [
    {"id": "t1", "name": "title", "type": "text"},
    {"id": "t2", "name": "lead", "type": "ref", "entity": "lead", "onDelete": "setNull"}]}],
 "roles": [{"name": "viewer", "entities": {"lead": {"read": "all", "fields": {"secret_note": "hidden"}}}}],
 "automations": [
  {"name": "welcome", "entity": "lead", "trigger": {"type": "created"}, "condition": "name != \"quiet\"",
   "actions": [{"type": "notify", "to": {"owner": true}, "message": "New lead {{name}}"},
               {"type": "set", "fields": {"grade": {"expr": "budget > 1000 ? 'A' : 'B'"}}},
               {"type": "create", "entity": "task", "fields": {"lead": {"expr": "id"}, "title": {"template": "Call {{name}}"}}}]},
  {"name": "split", "entity": "lead", "trigger": {"type": "created"},
   "variants": [{"name": "A", "weight": 50, "actions": [{"type": "notify", "to": {"owner": true}, "message": "A"}]},
                {"name": "B", "weight": 50, "actions": [{"type": "notify", "to": {"owner": true}, "message": "B"}]}]},
  {"name": "hook", "entity": "lead", "role": "viewer", "trigger": {"type": "updated"}, "condition": "name = \"never\" && previous.stage != \"won\"",
   "actions": [{"type": "webhook", "url": "https://hooks.invalid/forma"}]}
 ]}`

func automationsEnv(t *testing.T, db *store.DB) *env {
	return newEnvJobs(t, db, autoApp, &jobs.Options{})
}

// waitRuns waits for n finished runs of automation and returns the log.
func waitRuns(e *env, automation, record string, n int) []any {
	e.t.Helper()
	var items []any
	e.eventually("runs of "+automation, func() bool {
		st, body := e.do("GET", "/api/meta/apps/sales/automations/"+automation+"/runs?record="+record, nil)
		if st != 200 {
			e.t.Fatalf("runs: %d %v", st, body)
		}
		items, _ = body["items"].([]any)
		done := 0
		for _, it := range items {
			if it.(map[string]any)["status"] != "running" {
				done++
			}
		}
		return done >= n
	})
	return items
}

func TestAutomationRunsRoute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := automationsEnv(t, db)
		lead := e.create("sales/lead", map[string]any{"name": "Acme", "budget": 5000})
		id := lead["id"].(string)
		items := waitRuns(e, "welcome", id, 1)
		if len(items) != 1 {
			t.Fatalf("items = %v", items)
		}
		run := items[0].(map[string]any)
		steps, _ := run["steps"].([]any)
		if run["status"] != "succeeded" || run["recordId"] != id || run["entity"] != "lead" || run["occurrence"] != "created" ||
			run["variant"] != "" || run["finishedAt"] == nil || len(steps) != 3 {
			t.Fatalf("run = %v", run)
		}
		for i, s := range steps {
			m := s.(map[string]any)
			if m["status"] != "succeeded" || m["index"] != json.Number(fmt.Sprint(i)) || m["attempts"] != json.Number("1") {
				t.Fatalf("step %d = %v", i, m)
			}
		}
		if got := e.get("sales/lead", id); got["grade"] != "A" {
			t.Fatalf("lead = %v", got)
		}
		if n := e.count("sales/task"); n != 1 {
			t.Fatalf("%d tasks", n)
		}
		// The history shows the automation.
		st, h := e.do("GET", "/api/data/sales/lead/"+id+"/history", nil)
		if st != 200 || !strings.Contains(mustJSON(h), `"automation":"welcome"`) || !strings.Contains(mustJSON(h), `"path":"automation"`) {
			t.Fatalf("history: %d %v", st, h)
		}
		// The variant is shown and kept.
		sp := waitRuns(e, "split", id, 1)[0].(map[string]any)
		if v := sp["variant"]; v != "A" && v != "B" {
			t.Fatalf("split run = %v", sp)
		}
		// Paging: a second lead, one per page.
		other := e.create("sales/lead", map[string]any{"name": "Beta"})
		waitRuns(e, "welcome", other["id"].(string), 1)
		st, p1 := e.do("GET", "/api/meta/apps/sales/automations/welcome/runs?limit=1", nil)
		cur, _ := p1["nextCursor"].(string)
		if st != 200 || len(p1["items"].([]any)) != 1 || cur == "" {
			t.Fatalf("page 1: %d %v", st, p1)
		}
		st, p2 := e.do("GET", "/api/meta/apps/sales/automations/welcome/runs?limit=1&cursor="+cur, nil)
		if st != 200 || len(p2["items"].([]any)) != 1 || p2["nextCursor"] != nil {
			t.Fatalf("page 2: %d %v", st, p2)
		}
		if p1["items"].([]any)[0].(map[string]any)["id"] == p2["items"].([]any)[0].(map[string]any)["id"] {
			t.Fatal("the pages overlap")
		}

		// Bad input.
		for _, c := range []struct {
			path   string
			status int
			code   string
		}{
			{"/api/meta/apps/sales/automations/welcome/runs?limit=0", 400, "invalid_query"},
			{"/api/meta/apps/sales/automations/welcome/runs?limit=abc", 400, "invalid_query"},
			{"/api/meta/apps/sales/automations/welcome/runs?limit=100000", 400, "invalid_query"},
			{"/api/meta/apps/sales/automations/welcome/runs?cursor=" + url.QueryEscape("' OR 1=1 --"), 400, "invalid_query"},
			{"/api/meta/apps/sales/automations/welcome/runs?record=" + strings.Repeat("x", 100), 400, "invalid_query"},
			{"/api/meta/apps/nope/automations/welcome/runs", 404, "not_found"},
			{"/api/meta/apps/sales/automations/" + url.PathEscape("x'; DROP TABLE x") + "/runs", 404, "not_found"},
		} {
			st, body := e.do("GET", c.path, nil)
			wantErr(t, c.path, st, body, c.status, c.code)
		}
		// A record filter with injection finds nothing, harmlessly.
		st, body := e.do("GET", "/api/meta/apps/sales/automations/welcome/runs?record="+url.QueryEscape("x' OR '1'='1"), nil)
		if st != 200 || len(body["items"].([]any)) != 0 {
			t.Fatalf("injection in record: %d %v", st, body)
		}
		// Not an admin: refused, and so is anyone without a token.
		if _, err := e.acc.CreateUser(context.Background(), "rep@example.com", "rep password 123", "Rep", false); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 123")
		st, body = e.doAs(rep, "GET", "/api/meta/apps/sales/automations/welcome/runs", nil)
		wantErr(t, "rep", st, body, 403, "forbidden")
		st, body = e.doAs("", "GET", "/api/meta/apps/sales/automations/welcome/runs", nil)
		wantErr(t, "anonymous", st, body, 401, "unauthorized")
	})
}

func TestAutomationDryRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := automationsEnv(t, db)
		lead := e.create("sales/lead", map[string]any{"name": "quiet", "budget": 50, "secret_note": "do not tell"})
		id := lead["id"].(string)
		waitRuns(e, "split", id, 1)
		before := e.get("sales/lead", id)
		tasks := e.count("sales/task")
		var notes int
		count := func() int {
			var n int
			if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM _forma_notifications`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		notes = count()

		// The condition refuses "quiet": not matched, and why.
		st, res := e.do("POST", "/api/meta/apps/sales/automations/welcome/test", map[string]any{"id": id})
		if st != 200 || res["matched"] != false || !strings.Contains(res["reason"].(string), "condition") {
			t.Fatalf("test: %d %v", st, res)
		}
		acts := res["actions"].([]any)
		if len(acts) != 3 {
			t.Fatalf("actions = %v", acts)
		}
		n0 := acts[0].(map[string]any)
		users, _ := n0["effect"].(map[string]any)["users"].([]any)
		if n0["ok"] != true || len(users) != 1 || users[0].(map[string]any)["email"] != adminEmail ||
			n0["effect"].(map[string]any)["message"] != "New lead quiet" {
			t.Fatalf("notify = %v", n0)
		}
		set := acts[1].(map[string]any)
		if set["effect"].(map[string]any)["changes"].(map[string]any)["grade"] != "B" {
			t.Fatalf("set = %v", set)
		}
		cr := acts[2].(map[string]any)["effect"].(map[string]any)
		if cr["entity"] != "task" || cr["record"].(map[string]any)["title"] != "Call quiet" || cr["record"].(map[string]any)["lead"] != id {
			t.Fatalf("create = %v", cr)
		}
		// The variant the record got is the one shown.
		st, res = e.do("POST", "/api/meta/apps/sales/automations/split/test", map[string]any{"id": id})
		sp := waitRuns(e, "split", id, 1)[0].(map[string]any)
		if st != 200 || res["variant"] != sp["variant"] || res["matched"] != true {
			t.Fatalf("split test: %d %v (run %v)", st, res, sp)
		}
		// A webhook is shown, not sent, with only what the role reads.
		st, res = e.do("POST", "/api/meta/apps/sales/automations/hook/test", map[string]any{"id": id})
		if st != 200 || res["matched"] != false {
			t.Fatalf("hook test: %d %v", st, res)
		}
		wh := res["actions"].([]any)[0].(map[string]any)["effect"].(map[string]any)
		body := mustJSON(wh["body"])
		if wh["url"] != "https://hooks.invalid/forma" || !strings.Contains(body, `"name":"quiet"`) || strings.Contains(body, "secret_note") || strings.Contains(body, "do not tell") {
			t.Fatalf("webhook effect = %v", wh)
		}
		// An unsaved version of the automation.
		draft := map[string]any{"name": "welcome", "entity": "lead", "trigger": map[string]any{"type": "created"}, "condition": "budget < 100",
			"actions": []any{map[string]any{"type": "set", "fields": map[string]any{"grade": "C"}}}}
		st, res = e.do("POST", "/api/meta/apps/sales/automations/welcome/test", map[string]any{"id": id, "automation": draft})
		if st != 200 || res["matched"] != true || res["actions"].([]any)[0].(map[string]any)["effect"].(map[string]any)["changes"].(map[string]any)["grade"] != "C" {
			t.Fatalf("draft test: %d %v", st, res)
		}
		// A new automation tried before it is saved.
		draft["name"] = "brand_new"
		st, res = e.do("POST", "/api/meta/apps/sales/automations/brand_new/test", map[string]any{"id": id, "automation": draft})
		if st != 200 || res["matched"] != true {
			t.Fatalf("new draft test: %d %v", st, res)
		}

		// Nothing changed.
		after := e.get("sales/lead", id)
		if mustJSON(before) != mustJSON(after) || e.count("sales/task") != tasks || count() != notes {
			t.Fatalf("the dry run changed something: %v → %v, tasks %d → %d, notifications %d → %d", before, after, tasks, e.count("sales/task"), notes, count())
		}
		if items := waitRuns(e, "welcome", id, 0); len(items) != 0 {
			t.Fatalf("the dry run left runs: %v", items)
		}

		// Bad input.
		path := "/api/meta/apps/sales/automations/welcome/test"
		for _, c := range []struct {
			body   any
			status int
			code   string
			detail string
		}{
			{"{", 400, "invalid_json", ""},
			{`[]`, 400, "invalid_json", ""},
			{`{"id": 7}`, 422, "validation_failed", ""},
			{`{"id": "x", "extra": 1}`, 422, "validation_failed", ""},
			{`{}`, 422, "validation_failed", "/id"},
			{map[string]any{"id": strings.Repeat("x", 65)}, 422, "validation_failed", "/id"},
			{map[string]any{"id": "' OR 1=1 --"}, 404, "not_found", ""},
			{map[string]any{"id": "01hzzzzzzzzzzzzzzzzzzzzzzz"}, 404, "not_found", ""},
			{map[string]any{"id": id, "automation": map[string]any{"name": "welcome", "entity": "lead", "trigger": map[string]any{"type": "created"},
				"condition": "nope = 1", "actions": []any{map[string]any{"type": "set", "fields": map[string]any{"grade": "C"}}}}}, 422, "validation_failed", "/automation/condition"},
			{map[string]any{"id": id, "automation": map[string]any{"name": "welcome", "entity": "lead", "trigger": map[string]any{"type": "created"},
				"actions": []any{map[string]any{"type": "webhook", "url": "http://127.0.0.1/x"}}}}, 422, "validation_failed", "/automation/actions/0/url"},
			{map[string]any{"id": id, "automation": map[string]any{"name": "welcome", "bogus": true}}, 422, "validation_failed", ""},
			{map[string]any{"id": id, "automation": "not an object"}, 422, "validation_failed", ""},
		} {
			st, body := e.do("POST", path, c.body)
			wantErr(t, mustJSON(c.body), st, body, c.status, c.code)
			if c.detail != "" {
				wantDetail(t, mustJSON(c.body), body, c.detail)
			}
		}
		st, eb := e.do("POST", "/api/meta/apps/sales/automations/nope/test", map[string]any{"id": id})
		wantErr(t, "unknown automation", st, eb, 404, "not_found")
		st, eb = e.do("POST", "/api/meta/apps/nope/automations/welcome/test", map[string]any{"id": id})
		wantErr(t, "unknown app", st, eb, 404, "not_found")
		st, big := e.raw(e.token, "POST", path, `{"id": "`+strings.Repeat("x", 5<<20)+`"}`)
		if st != 413 && st != 422 {
			t.Fatalf("oversized: %d %s", st, clip(string(big)))
		}
		if mustJSON(e.get("sales/lead", id)) != mustJSON(before) {
			t.Fatal("a refused dry run changed the record")
		}
	})
}

func TestAutomationVariantsRoute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := automationsEnv(t, db)
		var ids []string
		for i := 0; i < 12; i++ {
			rec := e.create("sales/lead", map[string]any{"name": fmt.Sprintf("quiet %d", i), "stage": "new"})
			ids = append(ids, rec["id"].(string))
		}
		// "welcome" runs too ("quiet 0" is not "quiet") and sets the
		// grade: wait for it, so a PATCH below does not race its write.
		for _, id := range ids {
			waitRuns(e, "split", id, 1)
			waitRuns(e, "welcome", id, 1)
		}
		// Half of them are won.
		for _, id := range ids[:6] {
			cur := e.get("sales/lead", id)
			if st, body := e.do("PATCH", "/api/data/sales/lead/"+id, map[string]any{"stage": "won", "version": cur["version"]}); st != 200 {
				t.Fatalf("patch: %d %v", st, body)
			}
		}
		st, rep := e.do("GET", "/api/meta/apps/sales/automations/split/variants?goal="+url.QueryEscape(`stage = "won"`), nil)
		if st != 200 || rep["goal"] != `stage = "won"` || !strings.Contains(rep["test"].(string), "two-proportion z-test") || rep["alpha"] != json.Number("0.05") {
			t.Fatalf("variants: %d %v", st, rep)
		}
		vs := rep["variants"].([]any)
		var records, reached int64
		for i, v := range vs {
			m := v.(map[string]any)
			n, _ := m["records"].(json.Number).Int64()
			r, _ := m["reached"].(json.Number).Int64()
			records, reached = records+n, reached+r
			if _, has := m["z"]; has != (i > 0) {
				t.Fatalf("variant %d: z only for the ones after the first: %v", i, m)
			}
			if i > 0 {
				if _, ok := m["significant"].(bool); !ok {
					t.Fatalf("variant %d = %v", i, m)
				}
			}
		}
		if len(vs) != 2 || records != 12 || reached != 6 {
			t.Fatalf("variants = %v", vs)
		}
		// Bad input.
		for _, c := range []struct {
			path   string
			status int
			code   string
		}{
			{"/api/meta/apps/sales/automations/split/variants?goal=" + url.QueryEscape(`nope = 1`), 400, "invalid_filter"},
			{"/api/meta/apps/sales/automations/split/variants?goal=" + url.QueryEscape(`stage = `), 400, "invalid_filter"},
			{"/api/meta/apps/sales/automations/split/variants?goal=" + url.QueryEscape(`stage = "won"; DROP TABLE sales_lead`), 400, "invalid_filter"},
			{"/api/meta/apps/sales/automations/split/variants?goal=" + strings.Repeat("a", 5000), 400, "invalid_filter"},
			{"/api/meta/apps/sales/automations/welcome/variants", 400, "invalid_query"},
			{"/api/meta/apps/sales/automations/nope/variants", 404, "not_found"},
			{"/api/meta/apps/nope/automations/split/variants", 404, "not_found"},
		} {
			st, body := e.do("GET", c.path, nil)
			wantErr(t, c.path, st, body, c.status, c.code)
		}
		if n := e.count("sales/lead"); n != 12 {
			t.Fatalf("%d leads", n)
		}
	})
}

// TestApplyRefusesBadAutomations: each mistake is refused when the app is
// applied, at its pointer, and nothing is applied.
func TestApplyRefusesBadAutomations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, "")
		base := strings.Replace(autoApp, `"name": "sales"`, `"name": "bad"`, 1)
		swap := func(autos string) string {
			i := strings.Index(base, `"automations": [`)
			return base[:i] + `"automations": ` + autos + `}`
		}
		for _, c := range []struct{ autos, path string }{
			// The four.
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "condition": "colour = \"red\"",
			   "actions": [{"type": "set", "fields": {"grade": "A"}}]}]`, "/automations/0/condition"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"},
			   "actions": [{"type": "create", "entity": "invoice", "fields": {"title": "x"}}]}]`, "/automations/0/actions/0/entity"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"},
			   "actions": [{"type": "webhook", "url": "http://127.0.0.1:8080/hook"}]}]`, "/automations/0/actions/0/url"},
			// More.
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "condition": "previous.stage = \"won\"",
			   "actions": [{"type": "set", "fields": {"grade": "A"}}]}]`, "/automations/0/condition"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "deleted"}, "condition": "stage = ",
			   "actions": [{"type": "set", "fields": {"grade": "A"}}]}]`, "/automations/0/condition"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "updated"}, "condition": "previous.colour = 1",
			   "actions": [{"type": "set", "fields": {"grade": "A"}}]}]`, "/automations/0/condition"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"},
			   "actions": [{"type": "set", "fields": {"grade": {"expr": "budget +* 2"}}}]}]`, "/automations/0/actions/0/fields/grade"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"},
			   "actions": [{"type": "set", "fields": {"grade": {"expr": "colour"}}}]}]`, "/automations/0/actions/0/fields/grade"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"},
			   "actions": [{"type": "webhook", "url": "http://localhost/hook"}]}]`, "/automations/0/actions/0/url"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"},
			   "actions": [{"type": "webhook", "url": "ftp://example.com/hook"}]}]`, "/automations/0/actions/0/url"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"},
			   "actions": [{"type": "notify", "to": {"owner": true}, "message": "x"}], "when": "now"}]`, "/automations/0/when"},
			{`[{"name": "a", "entity": "lead", "trigger": "created", "actions": []}]`, "/automations/0/trigger"},
			{`{"a": 1}`, "/automations"},
			{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"},
			   "actions": [{"type": "notify", "to": {"owner": true}, "message": "` + strings.Repeat("x", 3000) + `"}]}]`, "/automations/0/actions/0/message"},
		} {
			st, body := e.do("POST", "/api/meta/apps", swap(c.autos))
			wantErr(t, c.autos, st, body, 422, "validation_failed")
			wantDetail(t, c.autos, body, c.path)
			if st, _ := e.do("GET", "/api/meta/apps/bad", nil); st != 404 {
				t.Fatalf("%s: the app was applied (%d)", c.autos, st)
			}
		}
		// With the admin's allowance, a private address is accepted.
		if err := e.hooks.SetAllowPrivate(context.Background(), "bad", true, e.admin.ID); err != nil {
			t.Fatal(err)
		}
		st, body := e.do("POST", "/api/meta/apps", swap(`[{"name": "a", "entity": "lead", "trigger": {"type": "created"},
			   "actions": [{"type": "webhook", "url": "http://127.0.0.1:8080/hook"}]}]`))
		if st != 201 {
			t.Fatalf("allowed private webhook: %d %v", st, body)
		}
		// A cron that does not parse goes through CheckApp to the
		// schedule check.
		st, body = e.do("POST", "/api/meta/apps", swap(`[{"name": "b", "entity": "lead", "trigger": {"type": "schedule", "cron": "every monday-ish"},
			"actions": [{"type": "notify", "to": {"owner": true}, "message": "x"}]}]`))
		wantErr(t, "cron", st, body, 422, "validation_failed")
		found := false
		for _, p := range details(t, body) {
			found = found || strings.HasPrefix(p, "/automations/0/trigger")
		}
		if !found {
			t.Fatalf("cron: no detail under /automations/0/trigger: %v", body)
		}
	})
}
