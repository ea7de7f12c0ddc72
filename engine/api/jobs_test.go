package api_test

import (
	"context"
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
