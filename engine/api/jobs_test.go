package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// fastRetries make a failing job's retries follow each other quickly.
var fastRetries = &jobs.Options{Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}

func (e *env) jobsOf(kind string, states ...rivertype.JobState) []*rivertype.JobRow {
	e.t.Helper()
	p := river.NewJobListParams().Kinds(kind).First(1000)
	if len(states) > 0 {
		p = p.States(states...)
	}
	res, err := e.jobs.Client().JobList(context.Background(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Jobs
}

// An after-hook is a durable job inserted with its write: a failing one is
// logged on every attempt, retried, and discarded after its last attempt,
// while the write stands; a succeeding one completes.
func TestAfterHookIsADurableJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvJobs(t, db, shopDoc(), fastRetries)
		failed := e.create("shop/sale", map[string]any{"number": "fail"})
		e.eventually("the failing after-hook's job is discarded", func() bool {
			return len(e.jobsOf(records.AfterHookKind, rivertype.JobStateDiscarded)) == 1
		})
		j := e.jobsOf(records.AfterHookKind, rivertype.JobStateDiscarded)[0]
		if j.Attempt != records.AfterHookAttempts || len(j.Errors) != records.AfterHookAttempts || !strings.Contains(j.Errors[0].Error, "after-hook failed") {
			t.Errorf("discarded job: attempt %d, errors %+v", j.Attempt, j.Errors)
		}
		if e.get("shop/sale", str(failed["id"]))["number"] != "FAIL" {
			t.Error("the write did not survive its failing after-hook")
		}
		st, body := e.do("GET", "/api/meta/apps/shop/scripts/log?level=error", nil)
		var fails []string
		for _, l := range items(t, body) {
			if l["event"] == "afterSave" && l["recordId"] == failed["id"] {
				fails = append(fails, str(l["message"]))
			}
		}
		if st != 200 || len(fails) != records.AfterHookAttempts || !strings.Contains(fails[0], "the job is discarded") || !strings.Contains(fails[1], "retried") {
			t.Errorf("script log of the failing after-hook (newest first): %d %q", st, fails)
		}

		ok := e.create("shop/sale", map[string]any{"number": "ok-1"})
		e.eventually("the succeeding after-hook's job completes", func() bool {
			return len(e.jobsOf(records.AfterHookKind, rivertype.JobStateCompleted)) == 1
		})
		st, body = e.do("GET", "/api/meta/apps/shop/scripts/log?level=info", nil)
		found := false
		for _, l := range items(t, body) {
			found = found || (l["recordId"] == ok["id"] && strings.HasPrefix(str(l["message"]), "saved OK-1"))
		}
		if st != 200 || !found {
			t.Errorf("afterSave's console line: %d %v", st, body)
		}
		// A write a beforeSave hook refuses enqueues nothing.
		before := len(e.jobsOf(records.AfterHookKind))
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		st, body = e.doAs(rep, "POST", "/api/data/shop/sale", map[string]any{"number": "r-1", "discount": 25})
		wantErr(t, "refused write", st, body, 422, "script_failed")
		if n := len(e.jobsOf(records.AfterHookKind)); n != before {
			t.Errorf("a refused write enqueued %d after-hook jobs", n-before)
		}
	})
}

// The admin's jobs view: lists by state and kind with counts, pages with a
// cursor, retries and cancels; bad input is a 400 or 404 in the error shape
// and changes nothing; only admins may use it.
func TestAdminJobs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnvJobs(t, db, shopDoc(), &jobs.Options{Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Probe: true})
		e.create("shop/sale", map[string]any{"number": "fail"})
		e.eventually("the failing after-hook's job is discarded", func() bool {
			return len(e.jobsOf(records.AfterHookKind, rivertype.JobStateDiscarded)) == 1
		})
		st, body := e.do("GET", "/api/admin/jobs?state=discarded", nil)
		list := items(t, body)
		counts, _ := body["counts"].(map[string]any)
		if st != 200 || len(list) != 1 || list[0]["kind"] != records.AfterHookKind || num(t, list[0]["attempt"]) != records.AfterHookAttempts ||
			!strings.Contains(str(list[0]["lastError"]), "after-hook failed") || counts == nil || num(t, counts["discarded"]) != 1 {
			t.Fatalf("discarded jobs: %d %v", st, body)
		}
		discarded := num(t, list[0]["id"])

		// Scheduled jobs page newest first, by kind and state.
		var ids []int64
		for i := 0; i < 5; i++ {
			res, err := e.jobs.Insert(ctx, jobs.ProbeArgs{Key: fmt.Sprintf("later-%d", i)}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.Job.ID)
		}
		var seen []int64
		cursor := ""
		for pages := 0; pages < 5; pages++ {
			st, body = e.do("GET", "/api/admin/jobs?kind="+jobs.ProbeKind+"&state=scheduled&limit=2&cursor="+url.QueryEscape(cursor), nil)
			if st != 200 {
				t.Fatalf("page: %d %v", st, body)
			}
			for _, j := range items(t, body) {
				seen = append(seen, num(t, j["id"]))
				if j["state"] != "scheduled" || j["nextRunAt"] == nil {
					t.Errorf("scheduled job: %v", j)
				}
			}
			cursor, _ = body["nextCursor"].(string)
			if cursor == "" {
				break
			}
		}
		if fmt.Sprint(seen) != fmt.Sprint([]int64{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
			t.Errorf("pages gave %v, want %v newest first", seen, ids)
		}

		// Cancel one; it never runs.
		st, body = e.do("POST", fmt.Sprintf("/api/admin/jobs/%d/cancel", ids[0]), nil)
		if st != 200 || body["state"] != "cancelled" {
			t.Errorf("cancel: %d %v", st, body)
		}
		// Retry the discarded one: it runs again (and fails again here).
		st, body = e.do("POST", fmt.Sprintf("/api/admin/jobs/%d/retry", discarded), nil)
		if st != 200 || (body["state"] != "queued" && body["state"] != "running") {
			t.Errorf("retry: %d %v", st, body)
		}
		e.eventually("the retried job ran once more", func() bool {
			st, body = e.do("GET", fmt.Sprintf("/api/admin/jobs/%d", discarded), nil)
			errs, _ := body["errors"].([]any)
			return st == 200 && body["state"] == "discarded" && len(errs) == records.AfterHookAttempts+1
		})

		// Bad input: the error shape, and nothing changed.
		_, before := e.do("GET", "/api/admin/jobs", nil)
		for _, c := range []struct {
			method, path string
			status       int
			code, detail string
		}{
			{"GET", "/api/admin/jobs?state=sleeping", 400, "invalid_query", "/state"},
			{"GET", "/api/admin/jobs?limit=0", 400, "invalid_query", ""},
			{"GET", "/api/admin/jobs?limit=501", 400, "invalid_query", ""},
			{"GET", "/api/admin/jobs?cursor=not-a-cursor", 400, "invalid_query", "/cursor"},
			{"POST", "/api/admin/jobs/abc/retry", 400, "invalid_id", ""},
			{"POST", "/api/admin/jobs/-3/cancel", 400, "invalid_id", ""},
			{"POST", "/api/admin/jobs/999999/retry", 404, "not_found", ""},
			{"POST", "/api/admin/jobs/999999/cancel", 404, "not_found", ""},
			{"GET", "/api/admin/jobs/999999", 404, "not_found", ""},
		} {
			st, body := e.do(c.method, c.path, nil)
			wantErr(t, c.path, st, body, c.status, c.code)
			if c.detail != "" {
				wantDetail(t, c.path, body, c.detail)
			}
		}
		if _, after := e.do("GET", "/api/admin/jobs", nil); mustJSON(after["counts"]) != mustJSON(before["counts"]) {
			t.Errorf("bad requests changed the counts: %v → %v", before["counts"], after["counts"])
		}

		// Admins only.
		if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		st, body = e.doAs(rep, "GET", "/api/admin/jobs", nil)
		wantErr(t, "rep lists jobs", st, body, 403, "forbidden")
		st, body = e.doAs(rep, "POST", fmt.Sprintf("/api/admin/jobs/%d/retry", discarded), nil)
		wantErr(t, "rep retries", st, body, 403, "forbidden")
		st, body = e.doAs("", "GET", "/api/admin/jobs", nil)
		wantErr(t, "anonymous", st, body, 401, "unauthorized")
	})
}

// /metrics shows requests by route pattern and status and jobs by kind and
// state, to admins and to the scrape token only.
func TestMetrics(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvJobs(t, db, shopDoc(), &jobs.Options{})
		sale := e.create("shop/sale", map[string]any{"number": "m-1"})
		e.get("shop/sale", str(sale["id"]))
		e.do("GET", "/api/data/shop/sale/nosuchid", nil)
		e.eventually("the after-hook job completed", func() bool {
			return len(e.jobsOf(records.AfterHookKind, rivertype.JobStateCompleted)) == 1
		})
		// The queue observes a finished job from River's event stream,
		// which may deliver after the job's completion is committed: wait
		// (bounded) until both its run and its wait are recorded.
		var st int
		var text string
		e.eventually("the after-hook job's run and wait in /metrics", func() bool {
			var raw []byte
			st, raw = e.raw(e.token, "GET", "/metrics", nil)
			text = string(raw)
			return strings.Contains(text, `forma_job_run_seconds_count{kind="forma_after_hook",outcome="completed"}`) &&
				strings.Contains(text, `forma_job_wait_seconds_count{kind="forma_after_hook"}`)
		})
		for _, want := range []string{
			`forma_http_requests_total{method="GET",route="/api/data/:app/:entity/:id",status="200"} 1`,
			`forma_http_requests_total{method="GET",route="/api/data/:app/:entity/:id",status="404"} 1`,
			`forma_http_requests_total{method="POST",route="/api/data/:app/:entity",status="201"} 1`,
			`forma_http_request_seconds_count{method="GET",route="/api/data/:app/:entity/:id"} 2`,
			`forma_jobs{kind="forma_after_hook",state="completed"} 1`,
			`forma_job_run_seconds_count{kind="forma_after_hook",outcome="completed"} 1`,
			`forma_job_wait_seconds_count{kind="forma_after_hook"} 1`,
		} {
			if !strings.Contains(text, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if st != 200 || strings.Contains(text, "nosuchid") || strings.Contains(text, str(sale["id"])) {
			t.Errorf("/metrics: %d, raw paths in labels:\n%s", st, clip(text))
		}
		if st, _ := e.raw(testScrapeToken, "GET", "/metrics", nil); st != 200 {
			t.Errorf("scrape token: %d", st)
		}
		st, body := e.doAs("", "GET", "/metrics", nil)
		wantErr(t, "anonymous /metrics", st, body, 401, "unauthorized")
		st, body = e.doAs("wrong-token", "GET", "/metrics", nil)
		wantErr(t, "wrong token /metrics", st, body, 401, "unauthorized")
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		st, body = e.doAs(e.login("rep@example.com", "rep password 1"), "GET", "/metrics", nil)
		wantErr(t, "rep /metrics", st, body, 403, "forbidden")
	})
}
