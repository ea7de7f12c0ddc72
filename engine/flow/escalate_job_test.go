package flow

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/jobs/jobstest"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// The escalation job end to end: flow_approval_tick, registered by
// Register as a periodic River job, runs under a started queue (its first
// run, on start, finds nothing due); once the engine clock has moved past
// the step's deadline, the next tick escalates it (the manager above
// joins the step), as TestEscalation does by calling Tick.
func TestEscalationJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		log := slog.New(slog.DiscardHandler)
		q, err := jobs.New(ctx, db, jobs.Options{PollInterval: 20 * time.Millisecond, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		// The service the engine runs: the same stores, with the queue.
		s := New(db, f.cat, f.recs, f.acc, q, log)
		s.UseNotify(f.notes)
		if err := s.Register(ctx); err != nil {
			t.Fatal(err)
		}
		qid := f.create("quote", "ray", `{"title": "Slow", "discount": 15}`)
		v := f.mustRequest("ray", "quote", qid, "submit", nil)

		ticks := func() int {
			var n int
			if err := db.Pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE "kind" = ? AND "state" = ?`, escalationTick{}.Kind(), "completed").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		state := func(id int64) string {
			var st string
			if err := db.Pool().QueryRowContext(ctx, `SELECT "state" FROM river_job WHERE "id" = ?`, id).Scan(&st); err != nil {
				t.Fatal(err)
			}
			return st
		}
		wait := func(what string, cond func() bool) {
			t.Helper()
			for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s: not within 30s", what)
				}
			}
		}
		jobstest.Start(t, ctx, q)
		wait("the tick run on start", func() bool { return ticks() >= 1 })
		if got := join(f.openNames(f.view("ray", v.ID))); got != "mia" {
			t.Fatalf("escalated before the deadline: %s", got)
		}

		f.clk.Advance(25 * time.Hour)
		// The next periodic run (every TickEvery of wall time) comes as
		// this one does.
		res, err := q.Insert(ctx, escalationTick{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		wait("the escalation by the job", func() bool {
			got := join(f.openNames(f.view("ray", v.ID)))
			return got == "mia,vic" || got == "vic,mia"
		})
		wait("the tick job completed", func() bool { return state(res.Job.ID) == "completed" })
		e := f.view("ray", v.ID)
		if e.Status != StatusPending || e.Steps[0].Deadline == nil || !e.Steps[0].Deadline.Equal(t0.Add(49*time.Hour)) {
			t.Fatalf("after the job's escalation: %+v", e)
		}
		if n, _ := f.notes.Unread(ctx, f.id("vic")); n == 0 {
			t.Fatal("vic was not told")
		}
	})
}
