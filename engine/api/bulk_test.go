package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/jobs/jobstest"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// bulkDoc: deals a rep owns half of; the rep cannot see "secret" nor write
// "locked"; a rule refuses a won deal titled BAD; beforeSave counts stage
// changes in "flag" (so the hook is seen to run for every record).
const bulkDoc = `{"name": "bk", "settings": {"scriptTimeoutMs": 2000},
 "roles": [{"name": "rep", "entities": {"deal": {"create": "own", "read": "own", "update": "own", "delete": "own",
   "fields": {"secret": "hidden", "locked": "readonly"}}}}],
 "entities": [{"name": "deal", "fields": [
   {"id": "d1", "name": "title", "type": "text"},
   {"id": "d2", "name": "amount", "type": "decimal", "scale": 2},
   {"id": "d3", "name": "stage", "type": "select", "options": ["open", "won", "lost"]},
   {"id": "d4", "name": "secret", "type": "text"},
   {"id": "d5", "name": "locked", "type": "text"},
   {"id": "d6", "name": "flag", "type": "integer"}],
  "validations": [{"expr": "title != 'BAD' || stage != 'won'", "message": "a BAD deal cannot be won", "field": "stage"}],
  "hooks": {"beforeSave": "deal#beforeSave"}}],
 "scripts": {"deal": "function beforeSave(r, ctx) { if (ctx.changed.includes('stage')) r.flag = (r.flag || 0) + 1; }"}}`

// fillDeals inserts n open deals with one statement: ids 000000001…, the
// even ones owned by rep, the odd ones by admin.
func fillDeals(t *testing.T, db *store.DB, n int, rep, admin string) {
	t.Helper()
	var q string
	if db.Dialect.Name() == "postgres" {
		q = fmt.Sprintf(`INSERT INTO bk_deal (id, created_at, updated_at, owner, created_by, version, title, amount, stage)
			SELECT lpad(i::text, 9, '0'), now(), now(), CASE WHEN i %% 2 = 0 THEN '%[2]s' ELSE '%[3]s' END, '%[3]s', 1,
				'deal ' || i, i, 'open' FROM generate_series(1, %[1]d) AS i`, n, rep, admin)
	} else {
		q = fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %[1]d)
			INSERT INTO bk_deal (id, created_at, updated_at, owner, created_by, version, title, amount, stage)
			SELECT printf('%%09d', i), '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z',
				CASE WHEN i %% 2 = 0 THEN '%[2]s' ELSE '%[3]s' END, '%[3]s', 1, 'deal ' || i, i * 100, 'open' FROM s`, n, rep, admin)
	}
	if _, err := db.SQL.Exec(q); err != nil {
		t.Fatalf("fill deals: %v", err)
	}
}

// bulk asks for a bulk change as token and waits for its job to finish.
func (e *env) bulk(token string, body any) (status map[string]any, took time.Duration) {
	e.t.Helper()
	start := time.Now()
	st, res := e.doAs(token, "POST", "/api/data/bk/deal/bulk", body)
	if st != 202 {
		e.t.Fatalf("bulk %s: %d %v", clip(mustJSON(body)), st, res)
	}
	job := fmt.Sprint(num(e.t, res["job"]))
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		_, status = e.doAs(token, "GET", "/api/data/bk/deal/bulk/"+job, nil)
		if s := str(status["state"]); s == "completed" || s == "failed" {
			return status, time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("bulk job %s did not finish: %v", job, status)
	return nil, 0
}

func (e *env) countWhere(token, filter string) int64 {
	e.t.Helper()
	st, body := e.doAs(token, "GET", "/api/data/bk/deal?limit=1&count=exact&filter="+q(filter), nil)
	if st != 200 {
		e.t.Fatalf("count %s: %d %v", filter, st, body)
	}
	return num(e.t, body["count"])
}

// Bulk edit and delete over 10,000 records: one job, all or nothing,
// through the records service (hooks, rules, history), within the caller's
// row and field rules.
func TestBulk10k(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const n = 10000
		e := newEnvJobs(t, db, bulkDoc, &jobs.Options{})
		rep, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		repToken := e.login("rep@example.com", "rep password 1")
		fillDeals(t, db, n, rep.ID, e.admin.ID)

		// Every open deal won, in one job.
		st, took := e.bulk(e.token, map[string]any{"filter": `stage = "open"`, "set": map[string]any{"stage": "won"}, "expected": n})
		if str(st["state"]) != "completed" || mustJSON(st["result"]) != fmt.Sprintf(`{"changed":%d,"ok":true}`, n) {
			t.Fatalf("bulk edit: %v", st)
		}
		t.Logf("%s: bulk edit of %d records (beforeSave hook, rule, history) took %v", db.Dialect.Name(), n, took.Round(time.Millisecond))
		if got := e.countWhere(e.token, `stage = "won" && flag = 1`); got != n {
			t.Errorf("won with the hook's flag: %d", got)
		}
		st2, hist := e.do("GET", "/api/data/bk/deal/000000042/history", nil)
		if h := items(t, hist); st2 != 200 || len(h) != 1 || !strings.Contains(mustJSON(h[0]["changes"]), `"won"`) {
			t.Errorf("history of a bulk-edited record: %d %v", st2, hist)
		}

		// One record the rule refuses: nothing changes, the job names it.
		bad := e.get("bk/deal", "000004321")
		if st, body := e.do("PATCH", "/api/data/bk/deal/000004321", map[string]any{"version": bad["version"], "stage": "open", "title": "BAD"}); st != 200 {
			t.Fatalf("patch: %d %v", st, body)
		}
		st, _ = e.bulk(e.token, map[string]any{"filter": "", "set": map[string]any{"stage": "won", "amount": "1.50"}, "expected": n})
		failed, _ := st["result"].(map[string]any)["failed"].(map[string]any)
		if str(st["state"]) != "failed" || failed == nil || failed["id"] != "000004321" || failed["code"] != "validation_failed" ||
			!strings.Contains(mustJSON(failed), "a BAD deal cannot be won") || !strings.Contains(str(st["error"]), "000004321") {
			t.Fatalf("all or nothing: %v", st)
		}
		if got := e.countWhere(e.token, `amount = 1.5`); got != 0 {
			t.Errorf("a failed bulk edit changed %d records", got)
		}
		if after := e.get("bk/deal", "000000042"); mustJSON(after["version"]) != "2" {
			t.Errorf("a failed bulk edit bumped a version: %v", after)
		}

		// The rep changes only what they see, and only fields they may write.
		st, _ = e.bulk(repToken, map[string]any{"filter": "", "set": map[string]any{"amount": "0.07"}, "expected": n / 2})
		if str(st["state"]) != "completed" || mustJSON(st["result"]) != fmt.Sprintf(`{"changed":%d,"ok":true}`, n/2) {
			t.Fatalf("rep's bulk edit: %v", st)
		}
		if got := e.countWhere(e.token, `amount = 0.07`); got != n/2 {
			t.Errorf("rep's edit reached %d records", got)
		}
		if got := e.countWhere(e.token, fmt.Sprintf(`amount = 0.07 && owner = "%s"`, e.admin.ID)); got != 0 {
			t.Errorf("rep's edit touched %d records they cannot see", got)
		}
		st, _ = e.bulk(repToken, map[string]any{"ids": []string{"000000002", "000000003"}, "set": map[string]any{"amount": "0.08"}})
		failed, _ = st["result"].(map[string]any)["failed"].(map[string]any)
		if str(st["state"]) != "failed" || failed["id"] != "000000003" || failed["code"] != "not_found" {
			t.Errorf("rep names a record they cannot see: %v", st)
		}
		if got := e.countWhere(e.token, `amount = 0.08`); got != 0 {
			t.Errorf("a refused rep edit changed %d records", got)
		}
		for _, c := range []struct {
			body   any
			status int
			code   string
			path   string
		}{
			{map[string]any{"filter": "", "set": map[string]any{"secret": "x"}}, 422, "validation_failed", "/set/secret"},
			{map[string]any{"filter": "", "set": map[string]any{"locked": "x"}}, 403, "forbidden", "/set/locked"},
			{map[string]any{"filter": `secret = "x"`, "set": map[string]any{"amount": 1}}, 400, "invalid_filter", ""},
		} {
			st, body := e.doAs(repToken, "POST", "/api/data/bk/deal/bulk", c.body)
			wantErr(t, "rep "+mustJSON(c.body), st, body, c.status, c.code)
			if c.path != "" {
				wantDetail(t, "rep "+mustJSON(c.body), body, c.path)
			}
		}

		// Bulk delete of the rep's won deals: only theirs go.
		st, _ = e.bulk(repToken, map[string]any{"filter": `stage = "won"`, "delete": true, "expected": n / 2})
		if str(st["state"]) != "completed" {
			t.Fatalf("rep's bulk delete: %v", st)
		}
		if got := e.count("bk/deal"); got != n/2 {
			t.Errorf("after the rep's delete %d records are left", got)
		}
		// The job is the rep's: the admin may follow it, nobody else.
		other, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "other@example.com", Password: "other password 1", Roles: []string{"rep"}})
		if err != nil || other == nil {
			t.Fatal(err)
		}
		job := fmt.Sprint(num(t, st["job"]))
		if s, body := e.doAs(e.login("other@example.com", "other password 1"), "GET", "/api/data/bk/deal/bulk/"+job, nil); s != 404 {
			t.Errorf("another user follows the rep's job: %d %v", s, body)
		}
		if s, _ := e.do("GET", "/api/data/bk/deal/bulk/"+job, nil); s != 200 {
			t.Errorf("the admin cannot follow the rep's job: %d", s)
		}
	})
}

// A count confirmed before the records changed refuses the job: when it is
// asked (409), and when it runs (nothing changed).
func TestBulkStaleFilter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// This server queues jobs but runs none, so the records can change
		// between the request and the run; a second server runs the job.
		e := newEnvJobs(t, db, bulkDoc, &jobs.Options{NoWork: true})
		fillDeals(t, db, 300, e.admin.ID, e.admin.ID)
		st, body := e.do("POST", "/api/data/bk/deal/bulk", map[string]any{"filter": `stage = "open"`, "set": map[string]any{"stage": "lost"}, "expected": 299})
		wantErr(t, "stale at request", st, body, 409, "version_conflict")
		wantDetail(t, "stale at request", body, "/expected")

		st, body = e.do("POST", "/api/data/bk/deal/bulk", map[string]any{"filter": `stage = "open"`, "set": map[string]any{"stage": "lost"}, "expected": 300})
		if st != 202 || num(t, body["count"]) != 300 {
			t.Fatalf("bulk: %d %v", st, body)
		}
		job := fmt.Sprint(num(t, body["job"]))
		rec := e.get("bk/deal", "000000010")
		if st, body := e.do("PATCH", "/api/data/bk/deal/000000010", map[string]any{"version": rec["version"], "stage": "won"}); st != 200 {
			t.Fatalf("patch: %d %v", st, body)
		}

		ctx := context.Background()
		q, err := jobs.New(ctx, db, jobs.Options{PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		worker := records.New(db, store.NewCatalog(db))
		if err := worker.UseJobs(q); err != nil {
			t.Fatal(err)
		}
		jobstest.Start(t, ctx, q)
		var status map[string]any
		e.eventually("the stale job fails", func() bool {
			_, status = e.do("GET", "/api/data/bk/deal/bulk/"+job, nil)
			return str(status["state"]) == "failed"
		})
		if !strings.Contains(mustJSON(status["result"]), "there are 299 to change now, not 300") {
			t.Errorf("stale at run: %v", status)
		}
		if got := e.countWhere(e.token, `stage = "lost"`); got != 0 {
			t.Errorf("a stale job changed %d records", got)
		}
	})
}

// Bad bulk requests are refused with a clear 4xx and change nothing.
func TestBulkBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvJobs(t, db, bulkDoc, &jobs.Options{NoWork: true})
		fillDeals(t, db, 20, e.admin.ID, e.admin.ID)
		many := make([]string, records.MaxBulkRecords+1)
		for i := range many {
			many[i] = fmt.Sprintf("%09d", i+1)
		}
		path := "/api/data/bk/deal/bulk"
		for _, c := range []struct {
			body   any
			status int
			code   string
			path   string
		}{
			{`{"filter": "", "set": `, 400, "invalid_json", ""},
			{`[1, 2]`, 422, "validation_failed", ""},
			{`{"filter": "", "set": {"stage": "won"}, "bogus": 1}`, 422, "validation_failed", ""},
			{`{"filter": "", "set": {"stage": "won"}, "filter": "x = 1"}`, 422, "validation_failed", ""},
			{`{"ids": "000000001", "set": {"stage": "won"}}`, 422, "validation_failed", ""},
			{`{"filter": 5, "set": {"stage": "won"}}`, 422, "validation_failed", ""},
			{`{"filter": "", "delete": "yes"}`, 422, "validation_failed", ""},
			{`{"filter": "", "expected": "10"}`, 422, "validation_failed", ""},
			{`{"set": {"stage": "won"}}`, 422, "validation_failed", ""},
			{`{"ids": ["000000001"], "filter": "", "set": {"stage": "won"}}`, 422, "validation_failed", ""},
			{`{"ids": [], "set": {"stage": "won"}}`, 422, "validation_failed", "/ids"},
			{`{"ids": ["000000001"]}`, 422, "validation_failed", ""},
			{`{"ids": ["000000001"], "set": {"stage": "won"}, "delete": true}`, 422, "validation_failed", ""},
			{`{"ids": ["000000001", "000000001"], "set": {"stage": "won"}}`, 422, "validation_failed", "/ids/1"},
			{`{"ids": ["x\" || 1 = 1 || id = \""], "set": {"stage": "won"}}`, 422, "validation_failed", "/ids/0"},
			{`{"ids": ["1'; DROP TABLE bk_deal; --"], "delete": true}`, 422, "validation_failed", "/ids/0"},
			{map[string]any{"ids": many, "set": map[string]any{"stage": "won"}}, 422, "validation_failed", "/ids"},
			{`{"filter": "", "set": {}}`, 422, "validation_failed", "/set"},
			{`{"filter": "", "set": "won"}`, 400, "invalid_json", ""},
			{`{"filter": "", "set": {"nope": 1}}`, 422, "validation_failed", "/set/nope"},
			{`{"filter": "", "set": {"amount": "lots"}}`, 422, "validation_failed", "/set/amount"},
			{`{"filter": "", "set": {"stage": "maybe"}}`, 422, "validation_failed", "/set/stage"},
			{`{"filter": "", "set": {"stage": "won", "version": 3}}`, 422, "validation_failed", "/set/version"},
			{`{"filter": "", "set": {"id": "x"}}`, 422, "validation_failed", "/set/id"},
			{`{"filter": "", "set": {"title": "a\u0000b"}}`, 422, "validation_failed", "/set/title"},
			{`{"filter": "stage = \"open\" || 1 = 1", "set": {"stage": "won"}}`, 400, "invalid_filter", ""},
			{`{"filter": "nope = 1", "set": {"stage": "won"}}`, 400, "invalid_filter", ""},
		} {
			st, body := e.do("POST", path, c.body)
			wantErr(t, clip(mustJSON(c.body)), st, body, c.status, c.code)
			if c.path != "" {
				wantDetail(t, clip(mustJSON(c.body)), body, c.path)
			}
		}
		st, body := e.do("POST", path, `{"filter": "", "set": {"title": "`+strings.Repeat("x", 1<<20)+`"}}`)
		wantErr(t, "oversized body", st, body, 413, "payload_too_large")
		st, body = e.do("POST", "/api/data/bk/nope/bulk", `{"filter": "", "delete": true}`)
		wantErr(t, "unknown entity", st, body, 404, "not_found")
		for _, p := range []string{"/api/data/bk/deal/bulk/x", "/api/data/bk/deal/bulk/999999", "/api/data/bk/deal/bulk/-1"} {
			st, body := e.do("GET", p, nil)
			wantErr(t, p, st, body, 404, "not_found")
		}
		// An injection inside a filter's string is a value: it matches nothing.
		st, body = e.do("POST", path, map[string]any{"filter": `title = "x'; DROP TABLE bk_deal; --"`, "delete": true})
		if st != 202 || num(t, body["count"]) != 0 {
			t.Errorf("a quoted injection: %d %v", st, body)
		}
		if e.count("bk/deal") != 20 {
			t.Error("bad bulk requests changed records")
		}
	})
}
