package assign

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/jobs/jobstest"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// An automation's assign action end to end: a lead is created, the
// "created" automation assigns it by the rule, the owner is set with
// history path automation, the decision is logged and the run's step is
// marked done by the write's event.
func TestAssignActionEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		doc := strings.Replace(salesDoc, `"assignments": [`,
			`"automations": [{"name": "distribute", "entity": "lead", "trigger": {"type": "created"},
			  "actions": [{"type": "assign", "rule": "rr"}]}],
			 "assignments": [`, 1)
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		q, err := jobs.New(ctx, db, jobs.Options{PollInterval: 20 * time.Millisecond, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		f := newFixtureDoc(t, db, doc)
		if err := f.recs.UseJobs(q); err != nil {
			t.Fatal(err)
		}
		autos := automation.New(db, f.cat, f.recs, f.acc, q, log)
		autos.UseAssigner(f.s)
		if err := autos.Register(ctx); err != nil {
			t.Fatal(err)
		}
		jobstest.Start(t, ctx, q)

		id := f.create("lead", `{"name": "Acme", "industry": "retail", "stage": "new"}`)
		deadline := time.Now().Add(30 * time.Second)
		var run automation.RunView
		for {
			page, err := autos.Runs(ctx, "sales", "distribute", automation.RunQuery{Record: id})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Items) > 0 && page.Items[0].Status != automation.StatusRunning {
				run = page.Items[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no finished run within 30s: %+v", page.Items)
			}
			time.Sleep(20 * time.Millisecond) // polling the job queue, not timing behaviour
		}
		if run.Status != automation.StatusSucceeded || len(run.Steps) != 1 || !strings.Contains(run.Steps[0].Detail, "owner") {
			t.Fatalf("run: %+v", run)
		}
		if f.owner(id) != "r1" {
			t.Fatalf("owner: %q", f.owner(id))
		}
		h, err := f.recs.History(ctx, admin, "sales", "lead", id, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if e := h.Items[0]; e.Path != records.PathAutomation || e.Automation != "distribute" || !strings.Contains(e.Comment, "round-robin") {
			t.Fatalf("history: %+v", e)
		}
		ds, err := f.s.Decisions(ctx, admin, "sales", "lead", id)
		if err != nil || len(ds) != 1 || ds[0].Path != records.PathAutomation || f.byID[ds[0].Winner] != "r1" {
			t.Fatalf("decisions: %+v, %v", ds, err)
		}
	})
}
