package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/jobs/jobstest"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// markArgs is a test job whose effect is one row in marks, keyed.
type markArgs struct {
	Key   string `json:"key" river:"unique"`
	Fails int    `json:"fails"` // fail this many attempts first
	Panic bool   `json:"panic"`
}

func (markArgs) Kind() string { return "test_mark" }

type markWorker struct {
	river.WorkerDefaults[markArgs]
	db   *store.DB
	runs sync.Map // key → *atomic.Int32
}

func (w *markWorker) Work(ctx context.Context, job *river.Job[markArgs]) error {
	n, _ := w.runs.LoadOrStore(job.Args.Key, new(atomic.Int32))
	n.(*atomic.Int32).Add(1)
	if job.Args.Panic {
		panic("worker panicked on purpose")
	}
	if job.Attempt <= job.Args.Fails {
		return fmt.Errorf("failing on purpose, attempt %d", job.Attempt)
	}
	tx, err := w.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO marks (key) VALUES (?) ON CONFLICT (key) DO NOTHING`, job.Args.Key); err != nil {
		return err
	}
	return tx.Commit()
}

func (w *markWorker) count(key string) int {
	n, ok := w.runs.Load(key)
	if !ok {
		return 0
	}
	return int(n.(*atomic.Int32).Load())
}

type fixture struct {
	db  *store.DB
	q   *jobs.Queue
	w   *markWorker
	clk *clock.Test
}

func newFixture(t *testing.T, db *store.DB, opts jobs.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	if _, err := db.SQL.Exec(`CREATE TABLE marks (key TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, w: &markWorker{db: db}, clk: clock.NewTest(time.Now())}
	db.Clock = f.clk
	if opts.PollInterval == 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	q, err := jobs.New(ctx, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Register(q, f.w); err != nil {
		t.Fatal(err)
	}
	jobstest.Start(t, ctx, q)
	f.q = q
	return f
}

// run lets the test clock go by, 100ms every 20ms, until the test ends.
func (f *fixture) run(t *testing.T) {
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
				f.clk.Advance(100 * time.Millisecond)
			}
		}
	}()
}

func (f *fixture) marked(t *testing.T, key string) bool {
	t.Helper()
	var n int
	if err := f.db.SQL.QueryRow(f.db.Rebind(`SELECT COUNT(*) FROM marks WHERE key = ?`), key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// waitState waits (generously: River's scheduler looks every 5s) until
// job id is in state.
func (f *fixture) waitState(t *testing.T, id int64, state rivertype.JobState) *rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := f.q.Client().JobGet(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d (%s): state %s after 30s, want %s; errors %v", id, j.Kind, j.State, state, j.Errors)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitErrors waits until job id failed n times and waits for its retry
// (River keeps a retry due within seconds "available" with a future
// scheduled_at, a later one "retryable").
func (f *fixture) waitErrors(t *testing.T, id int64, n int) *rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := f.q.Client().JobGet(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if len(j.Errors) >= n && (j.State == rivertype.JobStateAvailable || j.State == rivertype.JobStateRetryable) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d: %d errors, state %s after 30s, want %d errors", id, len(j.Errors), j.State, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A job inserted in a write's transaction exists if and only if the write
// commits; a committed one runs.
func TestInsertInTheWriteTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, jobs.Options{})

		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.q.InsertTx(ctx, tx, markArgs{Key: "rolled-back"}, nil); err != nil {
			t.Fatal(err)
		}
		tx.Rollback()

		tx, err = db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.q.InsertTx(ctx, tx, markArgs{Key: "committed"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		f.waitState(t, res.Job.ID, rivertype.JobStateCompleted)
		if !f.marked(t, "committed") {
			t.Error("the committed job's effect is missing")
		}
		list, err := f.q.Client().JobList(ctx, river.NewJobListParams().Kinds("test_mark").First(100))
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Jobs) != 1 || f.w.count("rolled-back") != 0 || f.marked(t, "rolled-back") {
			t.Errorf("the rolled-back job exists or ran: %d jobs, %d runs", len(list.Jobs), f.w.count("rolled-back"))
		}
	})
}

// InsertManyTx inserts several jobs in the write's transaction: all exist
// and run if it commits, none if it rolls back; each job's options hold.
func TestInsertManyInTheWriteTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, jobs.Options{})
		many := func(keys ...string) []river.InsertManyParams {
			ps := make([]river.InsertManyParams, len(keys))
			for i, k := range keys {
				ps[i] = river.InsertManyParams{Args: markArgs{Key: k}}
			}
			return ps
		}

		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.q.InsertManyTx(ctx, tx, many("rb1", "rb2")); err != nil {
			t.Fatal(err)
		}
		tx.Rollback()

		tx, err = db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := f.q.InsertManyTx(ctx, tx, nil); err != nil || res != nil {
			t.Fatalf("no jobs: %v %v", res, err)
		}
		ps := many("m1", "m2", "later")
		ps[2].InsertOpts = &river.InsertOpts{ScheduledAt: f.clk.Now().Add(time.Hour)}
		res, err := f.q.InsertManyTx(ctx, tx, ps)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if len(res) != 3 {
			t.Fatalf("%d results, want 3", len(res))
		}
		f.waitState(t, res[0].Job.ID, rivertype.JobStateCompleted)
		f.waitState(t, res[1].Job.ID, rivertype.JobStateCompleted)
		if !f.marked(t, "m1") || !f.marked(t, "m2") {
			t.Error("a committed job's effect is missing")
		}
		if j, err := f.q.Client().JobGet(ctx, res[2].Job.ID); err != nil || j.State != rivertype.JobStateScheduled || f.marked(t, "later") {
			t.Errorf("the job scheduled in an hour: %v %v", j, err)
		}
		if f.w.count("rb1")+f.w.count("rb2") != 0 || f.marked(t, "rb1") {
			t.Error("a rolled-back job ran")
		}
	})
}

// An idempotency key (River's unique jobs) keeps a second insert of the
// same key from making a second job.
func TestUniqueKey(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, jobs.Options{})
		opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}, ScheduledAt: f.clk.Now().Add(time.Hour)}
		a, err := f.q.Insert(ctx, markArgs{Key: "k1"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.q.Insert(ctx, markArgs{Key: "k1"}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if a.UniqueSkippedAsDuplicate || !b.UniqueSkippedAsDuplicate || a.Job.ID != b.Job.ID {
			t.Errorf("second insert of one key: first %v/%d, second %v/%d", a.UniqueSkippedAsDuplicate, a.Job.ID, b.UniqueSkippedAsDuplicate, b.Job.ID)
		}
		c, err := f.q.Insert(ctx, markArgs{Key: "k2"}, opts)
		if err != nil || c.UniqueSkippedAsDuplicate {
			t.Errorf("another key: %v %v", err, c)
		}
	})
}

// A scheduled job waits for its time on the engine's clock, and runs once
// the clock passes it; a cancelled one never runs.
func TestScheduledAndCancelled(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, jobs.Options{})
		later, err := f.q.Insert(ctx, markArgs{Key: "later"}, &river.InsertOpts{ScheduledAt: f.clk.Now().Add(4 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		never, err := f.q.Insert(ctx, markArgs{Key: "never"}, &river.InsertOpts{ScheduledAt: f.clk.Now().Add(4 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if later.Job.State != rivertype.JobStateScheduled {
			t.Fatalf("a job 4h ahead is %s", later.Job.State)
		}
		if _, err := f.q.Client().JobCancel(ctx, never.Job.ID); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(3 * time.Hour)
		time.Sleep(6 * time.Second) // a full round of River's scheduler
		if j, _ := f.q.Client().JobGet(ctx, later.Job.ID); j.State != rivertype.JobStateScheduled || f.marked(t, "later") {
			t.Fatalf("3h in, the 4h job is %s", j.State)
		}
		f.clk.Advance(2 * time.Hour)
		f.waitState(t, later.Job.ID, rivertype.JobStateCompleted)
		if !f.marked(t, "later") {
			t.Error("the scheduled job's effect is missing")
		}
		if j := f.waitState(t, never.Job.ID, rivertype.JobStateCancelled); f.w.count("never") != 0 || j.FinalizedAt == nil {
			t.Errorf("the cancelled job ran %d times", f.w.count("never"))
		}
	})
}

// A failing job is retried with growing pauses; after its last attempt it
// is discarded with every attempt's error. A panicking worker is caught
// and treated the same, and the queue keeps working.
func TestRetriesThenDiscarded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, jobs.Options{})
		flaky, err := f.q.Insert(ctx, markArgs{Key: "flaky", Fails: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		doomed, err := f.q.Insert(ctx, markArgs{Key: "doomed", Fails: 99}, &river.InsertOpts{MaxAttempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		panicky, err := f.q.Insert(ctx, markArgs{Key: "panicky", Panic: true}, &river.InsertOpts{MaxAttempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		j := f.waitErrors(t, flaky.Job.ID, 1)
		if wait := j.ScheduledAt.Sub(f.clk.Now()); wait < 800*time.Millisecond || wait > 1200*time.Millisecond {
			t.Errorf("first retry in %v, want 1s ± 10%%", wait)
		}
		f.waitErrors(t, doomed.Job.ID, 1)
		f.waitErrors(t, panicky.Job.ID, 1)
		f.clk.Advance(time.Minute)
		f.waitState(t, flaky.Job.ID, rivertype.JobStateCompleted)
		d := f.waitState(t, doomed.Job.ID, rivertype.JobStateDiscarded)
		if len(d.Errors) != 2 || !strings.Contains(d.Errors[1].Error, "failing on purpose, attempt 2") {
			t.Errorf("discarded job's errors: %+v", d.Errors)
		}
		p := f.waitState(t, panicky.Job.ID, rivertype.JobStateDiscarded)
		if len(p.Errors) != 2 || !strings.Contains(p.Errors[0].Error, "worker panicked on purpose") {
			t.Errorf("panicked job's errors: %+v", p.Errors)
		}
		if !f.marked(t, "flaky") || f.marked(t, "doomed") {
			t.Error("effects: the retried job's is missing or the discarded one's exists")
		}
		// The queue still works.
		after, err := f.q.Insert(ctx, markArgs{Key: "after"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.waitState(t, after.Job.ID, rivertype.JobStateCompleted)
	})
}

// Cron specs use robfig/cron syntax, read in the stated time zone.
func TestCronTimeZone(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	s, err := jobs.ParseCron("0 9 * * 1-5", sh)
	if err != nil {
		t.Fatal(err)
	}
	// Friday 2026-03-06 02:00 UTC is 10:00 in Shanghai: the next weekday
	// 09:00 there is Monday 01:00 UTC.
	got := s.Next(time.Date(2026, 3, 6, 2, 0, 0, 0, time.UTC)).UTC()
	if want := time.Date(2026, 3, 9, 1, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next run %v, want %v", got, want)
	}
	if _, err := jobs.ParseCron("61 * * * *", nil); err == nil {
		t.Error("a bad spec parsed")
	}
}

// Periodic jobs are enqueued by the leader on their schedule.
func TestPeriodic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var n atomic.Int32
		f := newFixture(t, db, jobs.Options{Periodic: []jobs.Periodic{{ID: "tick", Cron: "@every 1h", RunOnStart: true,
			Args: func() river.JobArgs { return markArgs{Key: fmt.Sprintf("tick-%d", n.Add(1))} }}}})
		deadline := time.Now().Add(30 * time.Second)
		for !f.marked(t, "tick-1") {
			if time.Now().After(deadline) {
				t.Fatal("the periodic job did not run on start")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// goneArgs is a kind an older version registered and this one does not.
type goneArgs struct {
	N int `json:"n"`
}

func (goneArgs) Kind() string { return "test_gone" }

// oldMarkArgs is test_mark as an older version wrote it: its key was an
// object, which no longer decodes into markArgs.
type oldMarkArgs struct {
	Key map[string]int `json:"key"`
}

func (oldMarkArgs) Kind() string { return "test_mark" }

// Jobs that cannot run — a kind no worker knows, a payload that no longer
// decodes — fail with their error, are retried and discarded; they crash
// nothing and the queue keeps working past them.
func TestBadJobsAreDiscarded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db, jobs.Options{Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
		f.run(t)
		// The jobs were inserted by an older version of the program.
		old, err := jobs.New(ctx, db, jobs.Options{NoWork: true})
		if err != nil {
			t.Fatal(err)
		}
		defer old.Stop(ctx)
		nop := func(context.Context, *river.Job[goneArgs]) error { return nil }
		if err := jobs.Register(old, river.WorkFunc(nop)); err != nil {
			t.Fatal(err)
		}
		if err := jobs.Register(old, river.WorkFunc(func(context.Context, *river.Job[oldMarkArgs]) error { return nil })); err != nil {
			t.Fatal(err)
		}
		gone, err := old.Insert(ctx, goneArgs{N: 1}, &river.InsertOpts{MaxAttempts: 3})
		if err != nil {
			t.Fatal(err)
		}
		garbled, err := old.Insert(ctx, oldMarkArgs{Key: map[string]int{"a": 1}}, &river.InsertOpts{MaxAttempts: 3})
		if err != nil {
			t.Fatal(err)
		}
		g := f.waitState(t, gone.Job.ID, rivertype.JobStateDiscarded)
		if len(g.Errors) != 3 || !strings.Contains(g.Errors[0].Error, "test_gone") {
			t.Errorf("unknown kind's errors: %+v", g.Errors)
		}
		b := f.waitState(t, garbled.Job.ID, rivertype.JobStateDiscarded)
		if len(b.Errors) != 3 || !strings.Contains(b.Errors[0].Error, "unmarshal") {
			t.Errorf("undecodable payload's errors: %+v", b.Errors)
		}
		next, err := f.q.Insert(ctx, markArgs{Key: "next"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.waitState(t, next.Job.ID, rivertype.JobStateCompleted)
		if !f.marked(t, "next") {
			t.Error("the queue stopped working")
		}
	})
}
