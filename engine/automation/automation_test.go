package automation

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/jobs/jobstest"
	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/engine/webhook"
	"github.com/formaapp/forma/schema"
)

// testApp is a small sales app whose automations each pick their records
// by name, so one test's records start only that test's automations.
const testApp = `{"name": "crm", "settings": {"scriptTimeoutMs": 3000}, "entities": [
  {"name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text"},
    {"id": "l2", "name": "stage", "type": "select", "options": ["new", "won", "lost"]},
    {"id": "l3", "name": "budget", "type": "decimal", "scale": 2},
    {"id": "l4", "name": "grade", "type": "text"},
    {"id": "l5", "name": "score", "type": "decimal", "scale": 2},
    {"id": "l6", "name": "x", "type": "integer"},
    {"id": "l7", "name": "y", "type": "integer"},
    {"id": "l8", "name": "rep", "type": "user"}]},
  {"name": "task", "fields": [
    {"id": "t1", "name": "title", "type": "text"},
    {"id": "t2", "name": "lead", "type": "ref", "entity": "lead", "onDelete": "setNull"}]}],
 "scripts": {"lead": "function grade(r, ctx) { return {grade: r.budget > 1000 ? 'A' : 'B'}; }"},
 "roles": [{"name": "sales", "entities": {"lead": {"read": "all"}, "task": {"read": "all"}}},
           {"name": "mine", "entities": {"lead": {"read": "own", "fields": {"budget": "hidden"}}}}],
 "automations": [
  {"name": "grade_expo", "entity": "lead", "trigger": {"type": "created"}, "condition": "name ~ \"expo\"",
   "actions": [{"type": "set", "fields": {"grade": "A", "score": {"expr": "budget / 1000"}}},
               {"type": "create", "entity": "task", "fields": {"lead": {"expr": "id"}, "title": {"template": "Call {{name}}"}}},
               {"type": "notify", "to": {"owner": true, "fields": ["rep"]}, "message": "Lead {{name}} arrived"}]},
  {"name": "won", "entity": "lead", "trigger": {"type": "fieldChanged", "field": "stage", "to": "won"},
   "condition": "name ~ \"deal\" && previous.stage != \"lost\"",
   "actions": [{"type": "notify", "to": {"owner": true}, "message": "Won {{name}}"}]},
  {"name": "rescore", "entity": "lead", "trigger": {"type": "updated"}, "condition": "name = \"rescore\" && budget > 100",
   "actions": [{"type": "script", "function": "lead#grade"}]},
  {"name": "loop_a", "entity": "lead", "trigger": {"type": "fieldChanged", "field": "x"}, "condition": "name = \"loop\"",
   "actions": [{"type": "set", "fields": {"y": {"expr": "(y || 0) + 1"}}}]},
  {"name": "loop_b", "entity": "lead", "trigger": {"type": "fieldChanged", "field": "y"}, "condition": "name = \"loop\"",
   "actions": [{"type": "set", "fields": {"x": {"expr": "(x || 0) + 1"}}}]},
  {"name": "gone", "entity": "lead", "trigger": {"type": "deleted"}, "condition": "stage = \"won\"",
   "actions": [{"type": "notify", "to": {"owner": true}, "message": "Deleted {{name}}"}]},
  {"name": "split", "entity": "task", "trigger": {"type": "created"}, "condition": "title ~ \"split\"",
   "variants": [{"name": "A", "weight": 50, "actions": [{"type": "set", "fields": {"title": "split A"}}]},
                {"name": "B", "weight": 50, "actions": [{"type": "set", "fields": {"title": "split B"}}]}]},
  {"name": "hook", "entity": "lead", "trigger": {"type": "created"}, "condition": "name ~ \"hook\"",
   "actions": [{"type": "webhook", "url": "https://hooks.example.com/forma"},
               {"type": "set", "fields": {"grade": "hooked"}}]},
  {"name": "tell_all", "entity": "lead", "trigger": {"type": "created"}, "condition": "name ~ \"tell\"",
   "actions": [{"type": "notify", "to": {"roles": ["sales", "mine"]}, "message": "{{name}} worth {{budget}}",
                "messages": {"zh-CN": "{{name}} 价值 {{ budget }}", "en": "{{name}} is worth {{budget}}"}}]},
  {"name": "off", "enabled": false, "entity": "lead", "trigger": {"type": "created"},
   "actions": [{"type": "set", "fields": {"grade": "never"}}]}
 ]}`

type fixture struct {
	t     *testing.T
	db    *store.DB
	clk   *clock.Test
	acc   *access.Service
	recs  *records.Service
	q     *jobs.Queue
	s     *Service
	notes *notify.Service
	hooks *receiver
	wh    *webhook.Service
	owner *access.User
	rep   *access.User
	app   *schema.App
}

// receiver is a webhook receiver that answers 503 to the first fails
// deliveries of each Idempotency-Key, then 200.
type receiver struct {
	mu    sync.Mutex
	fails int
	got   map[string][]delivery
	ok    map[string]int
}

type delivery struct {
	body []byte
	sig  string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	key := req.Header.Get("Idempotency-Key")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[key] = append(r.got[key], delivery{body: body, sig: req.Header.Get(webhook.SignatureHeader)})
	if len(r.got[key]) <= r.fails {
		w.WriteHeader(503)
		return
	}
	r.ok[key]++
	w.WriteHeader(200)
}

func newFixture(t *testing.T, db *store.DB, doc string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, db: db, clk: clock.NewTest(time.Now()), hooks: &receiver{got: map[string][]delivery{}, ok: map[string]int{}}}
	srv := httptest.NewServer(f.hooks)
	t.Cleanup(srv.Close)
	doc = strings.ReplaceAll(doc, "https://hooks.example.com/forma", srv.URL+"/hook")
	db.Clock = f.clk
	var err error
	if f.acc, err = access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost}); err != nil {
		t.Fatal(err)
	}
	cat := store.NewCatalog(db)
	f.recs = records.New(db, cat)
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if f.q, err = jobs.New(ctx, db, jobs.Options{PollInterval: 20 * time.Millisecond, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Log: log}); err != nil {
		t.Fatal(err)
	}
	if err := f.recs.UseJobs(f.q); err != nil {
		t.Fatal(err)
	}
	f.notes = notify.New(db, f.acc)
	f.s = New(db, cat, f.recs, f.acc, f.q, log)
	f.s.UseNotify(f.notes)
	f.wh = webhook.New(db)
	// The receiver listens on 127.0.0.1: the app's admin allowed it.
	if err := f.wh.SetAllowPrivate(ctx, "crm", true, "test"); err != nil {
		t.Fatal(err)
	}
	f.s.UseWebhooks(f.wh)
	if err := f.s.Register(ctx); err != nil {
		t.Fatal(err)
	}
	jobstest.Start(t, ctx, f.q)
	if f.owner, err = f.acc.CreateUser(ctx, "owner@example.com", "a long password", "Olivia Owner", false); err != nil {
		t.Fatal(err)
	}
	if f.rep, err = f.acc.CreateUser(ctx, "rep@example.com", "a long password", "Ray Rep", false); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*access.User{f.owner, f.rep} {
		if _, err := f.acc.UpdateUser(ctx, u.ID, access.UserUpdate{Roles: &[]string{"sales"}}); err != nil {
			t.Fatal(err)
		}
	}
	app, problems := schema.Parse([]byte(doc))
	if len(problems) > 0 {
		t.Fatalf("parse: %v", problems)
	}
	if p := f.s.CheckApp(ctx, app); len(p) > 0 {
		t.Fatalf("check: %v", p)
	}
	if _, _, err := f.recs.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if f.app, err = cat.App(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	// The clock goes by (retries' backoff) while the test runs.
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
	return f
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Logf("log: %s", p)
	return len(p), nil
}

// user is the owner writing through the API path.
func (f *fixture) user() records.Caller {
	return records.Caller{UserID: f.owner.ID, Admin: true}
}

func (f *fixture) create(entity string, body string) *records.Record {
	f.t.Helper()
	rec, err := f.recs.Create(context.Background(), f.user(), "crm", entity, []byte(body))
	if err != nil {
		f.t.Fatalf("create %s: %v", entity, err)
	}
	return rec
}

func (f *fixture) patch(entity, id, body string) *records.Record {
	f.t.Helper()
	cur := f.get(entity, id)
	var m map[string]any
	json.Unmarshal([]byte(body), &m)
	m["version"] = cur.Get("version")
	b, _ := json.Marshal(m)
	rec, err := f.recs.Patch(context.Background(), f.user(), "crm", entity, id, b)
	if err != nil {
		f.t.Fatalf("patch %s %s: %v", entity, id, err)
	}
	return rec
}

func (f *fixture) get(entity, id string) *records.Record {
	f.t.Helper()
	rec, err := f.recs.Get(context.Background(), records.Caller{Admin: true}, "crm", entity, id, "", "")
	if err != nil {
		f.t.Fatalf("get %s %s: %v", entity, id, err)
	}
	return rec
}

func (f *fixture) runs(automation, record string) []RunView {
	f.t.Helper()
	page, err := f.s.Runs(context.Background(), "crm", automation, RunQuery{Record: record, Limit: 200})
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Items
}

// settled waits until automation has a finished run for record and
// returns it.
func (f *fixture) settled(automation, record string) RunView {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs := f.runs(automation, record)
		if len(rs) > 0 && rs[0].Status != StatusRunning {
			return rs[0]
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s for %s: no finished run within 30s: %+v", automation, record, rs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) notifications(userID string) []notify.Notification {
	f.t.Helper()
	page, err := f.notes.List(context.Background(), userID, notify.Query{Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Items
}

func (f *fixture) count(q string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.SQL.QueryRow(f.db.Rebind(q), args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestCreatedSetCreateNotify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		lead := f.create("lead", fmt.Sprintf(`{"name": "expo lead", "budget": "2500", "rep": %q}`, f.rep.ID))
		run := f.settled("grade_expo", lead.ID())
		if run.Status != StatusSucceeded || run.Occurrence != "created" || len(run.Steps) != 3 {
			t.Fatalf("run = %+v", run)
		}
		for _, st := range run.Steps {
			if st.Status != StepSucceeded || st.Attempts != 1 {
				t.Fatalf("step = %+v", st)
			}
		}
		got := f.get("lead", lead.ID())
		if got.Get("grade") != "A" || fmt.Sprint(got.Get("score")) != "2.50" {
			t.Fatalf("lead after set: grade %v score %v", got.Get("grade"), got.Get("score"))
		}
		if n := f.count(`SELECT COUNT(*) FROM crm_task WHERE "lead" = ? AND "title" = ? AND "owner" = ?`, lead.ID(), "Call expo lead", f.owner.ID); n != 1 {
			t.Fatalf("%d tasks, want 1", n)
		}
		for _, u := range []*access.User{f.owner, f.rep} {
			ns := f.notifications(u.ID)
			if len(ns) != 1 || ns[0].Message != "Lead expo lead arrived" || ns[0].Automation != "grade_expo" || ns[0].RecordID != lead.ID() {
				t.Fatalf("notifications of %s = %+v", u.Email, ns)
			}
		}
		// The history names the path and the automation.
		h, err := f.recs.History(context.Background(), records.Caller{Admin: true}, "crm", "lead", lead.ID(), 10, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Items) != 2 || h.Items[0].Path != records.PathAutomation || h.Items[0].Automation != "grade_expo" || h.Items[1].Path != records.PathAPI {
			t.Fatalf("history = %+v", h.Items)
		}
		if b := string(h.AppendJSON(nil)); !strings.Contains(b, `"path":"automation"`) || !strings.Contains(b, `"automation":"grade_expo"`) {
			t.Fatalf("history JSON = %s", b)
		}
		// Not expo: no run; the disabled automation never ran.
		other := f.create("lead", `{"name": "web lead"}`)
		if rs := f.runs("grade_expo", other.ID()); len(rs) != 0 {
			t.Fatalf("runs for a lead the condition refuses: %+v", rs)
		}
		if rs := f.runs("off", ""); len(rs) != 0 {
			t.Fatalf("a disabled automation ran: %+v", rs)
		}
	})
}

func TestFieldChangedWithPrevious(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		a := f.create("lead", `{"name": "deal a", "stage": "new"}`)
		b := f.create("lead", `{"name": "deal b", "stage": "lost"}`)
		f.patch("lead", a.ID(), `{"stage": "won"}`)
		f.patch("lead", b.ID(), `{"stage": "won"}`) // previous.stage = "lost": refused
		f.patch("lead", a.ID(), `{"budget": "10"}`) // stage did not change
		run := f.settled("won", a.ID())
		if run.Status != StatusSucceeded || run.Occurrence != "updated@2" {
			t.Fatalf("run = %+v", run)
		}
		time.Sleep(300 * time.Millisecond)
		if rs := f.runs("won", a.ID()); len(rs) != 1 {
			t.Fatalf("runs of a = %+v", rs)
		}
		if rs := f.runs("won", b.ID()); len(rs) != 0 {
			t.Fatalf("previous.stage = lost must not match: %+v", rs)
		}
		if ns := f.notifications(f.owner.ID); len(ns) != 1 || ns[0].Message != "Won deal a" {
			t.Fatalf("notifications = %+v", ns)
		}
	})
}

func TestDeletedEvaluatesTheDeletedValues(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		won := f.create("lead", `{"name": "big one", "stage": "won"}`)
		lost := f.create("lead", `{"name": "small one", "stage": "lost"}`)
		for _, id := range []string{won.ID(), lost.ID()} {
			if err := f.recs.Delete(context.Background(), f.user(), "crm", "lead", id, 0); err != nil {
				t.Fatal(err)
			}
		}
		run := f.settled("gone", won.ID())
		if run.Status != StatusSucceeded || run.Occurrence != "deleted" {
			t.Fatalf("run = %+v", run)
		}
		if rs := f.runs("gone", lost.ID()); len(rs) != 0 {
			t.Fatalf("a lost lead's delete matched: %+v", rs)
		}
		if ns := f.notifications(f.owner.ID); len(ns) != 1 || ns[0].Message != "Deleted big one" {
			t.Fatalf("notifications = %+v", ns)
		}
	})
}

func TestScriptAction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		lead := f.create("lead", `{"name": "rescore", "budget": "50"}`)
		f.patch("lead", lead.ID(), `{"budget": "5000"}`)
		// The script's write is an update too: rescore runs again (budget
		// still > 100) at depth 1, its function returns the same grade, and
		// a set that changes nothing writes nothing: the chain ends.
		deadline := time.Now().Add(30 * time.Second)
		for {
			rs := f.runs("rescore", lead.ID())
			if len(rs) == 2 && rs[0].Status != StatusRunning {
				if rs[1].Status != StatusSucceeded || rs[1].Depth != 0 || rs[0].Status != StatusSucceeded || rs[0].Depth != 1 ||
					!strings.Contains(rs[0].Steps[0].Detail, "nothing to change") {
					t.Fatalf("runs = %+v", rs)
				}
				break
			}
			if time.Now().After(deadline) || len(rs) > 2 {
				t.Fatalf("runs = %+v", rs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if g := f.get("lead", lead.ID()).Get("grade"); g != "A" {
			t.Fatalf("grade = %v", g)
		}
		time.Sleep(300 * time.Millisecond)
		if rs := f.runs("rescore", lead.ID()); len(rs) != 2 {
			t.Fatalf("%d runs", len(rs))
		}
	})
}

func TestLoopStoppedAtDepth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		lead := f.create("lead", `{"name": "loop"}`)
		f.patch("lead", lead.ID(), `{"x": 1}`)
		deadline := time.Now().Add(30 * time.Second)
		var stopped *RunView
		for stopped == nil {
			for _, name := range []string{"loop_a", "loop_b"} {
				for _, r := range f.runs(name, lead.ID()) {
					if r.Status == StatusStopped {
						r := r
						stopped = &r
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no stopped run: a %+v b %+v", f.runs("loop_a", lead.ID()), f.runs("loop_b", lead.ID()))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if stopped.Depth != MaxDepth || !strings.Contains(stopped.Message, "loop_a → loop_b → loop_a → loop_b → loop_a → loop_b") {
			t.Fatalf("stopped = %+v", stopped)
		}
		time.Sleep(300 * time.Millisecond)
		total := len(f.runs("loop_a", lead.ID())) + len(f.runs("loop_b", lead.ID()))
		if total != MaxDepth+1 {
			t.Fatalf("%d runs, want %d (5 that ran and the stopped one)", total, MaxDepth+1)
		}
		got := f.get("lead", lead.ID())
		if fmt.Sprint(got.Get("x")) != "3" || fmt.Sprint(got.Get("y")) != "3" {
			t.Fatalf("x %v y %v", got.Get("x"), got.Get("y"))
		}
	})
}

func TestVariantStable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		task := f.create("task", `{"title": "split me"}`)
		run := f.settled("split", task.ID())
		if run.Variant != "A" && run.Variant != "B" {
			t.Fatalf("run = %+v", run)
		}
		if title := f.get("task", task.ID()).Get("title"); title != "split "+run.Variant {
			t.Fatalf("title %v for variant %s", title, run.Variant)
		}
		// Another occurrence for the same record keeps its variant, even
		// after the weights change: it is stored.
		ctx := context.Background()
		a := f.app.Automation("split")
		a.Variants[0].Weight, a.Variants[1].Weight = 1, 10000
		if run.Variant == "B" {
			a.Variants[0].Weight, a.Variants[1].Weight = 10000, 1
		}
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.StartTx(withDocument(ctx, f.app), tx, Start{App: "crm", Version: f.app.Version, Automation: "split", Entity: "task", RecordID: task.ID(), Occurrence: "again"}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		rs := f.runs("split", task.ID())
		if len(rs) != 2 || rs[0].Variant != run.Variant {
			t.Fatalf("runs = %+v", rs)
		}
		if n := f.count(`SELECT COUNT(*) FROM _forma_automation_variants WHERE "automation" = 'split' AND "record_id" = ?`, task.ID()); n != 1 {
			t.Fatalf("%d stored variants", n)
		}
	})
}

func TestRetriesDoNotRepeatEffects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		lead := f.create("lead", `{"name": "expo twice"}`)
		run := f.settled("grade_expo", lead.ID())
		ctx := context.Background()
		// The same occurrence started again, and every step's job run again
		// (as River would after a crash between effect and completion).
		tx, err := db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.StartTx(ctx, tx, Start{App: "crm", Version: f.app.Version, Automation: "grade_expo", Entity: "lead", RecordID: lead.ID(), Occurrence: "created"}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if _, err := f.q.Insert(ctx, stepArgs{Run: run.ID, Index: i}, nil); err != nil {
				t.Fatal(err)
			}
		}
		// A step reset to pending (the effect committed, the job's own
		// completion lost) finds its effect's mark and does not repeat it.
		time.Sleep(time.Second)
		if rs := f.runs("grade_expo", lead.ID()); len(rs) != 1 {
			t.Fatalf("runs = %+v", rs)
		}
		if n := f.count(`SELECT COUNT(*) FROM crm_task WHERE "lead" = ?`, lead.ID()); n != 1 {
			t.Fatalf("%d tasks", n)
		}
		if ns := f.notifications(f.owner.ID); len(ns) != 1 {
			t.Fatalf("notifications = %+v", ns)
		}
		// Notify twice with the same key: stored once.
		if _, err := db.SQL.Exec(db.Rebind(`UPDATE _forma_automation_steps SET "status" = 'running' WHERE "run_id" = ? AND "idx" = 2`), run.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL.Exec(db.Rebind(`UPDATE _forma_automation_runs SET "status" = 'running' WHERE "id" = ?`), run.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.q.Insert(ctx, stepArgs{Run: run.ID, Index: 2}, nil); err != nil {
			t.Fatal(err)
		}
		f.settled("grade_expo", lead.ID())
		if ns := f.notifications(f.owner.ID); len(ns) != 1 {
			t.Fatalf("notifications after a repeated notify = %+v", ns)
		}
	})
}

func TestWebhookRetried(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		f.hooks.fails = 2
		lead := f.create("lead", `{"name": "hook me", "budget": "12"}`)
		run := f.settled("hook", lead.ID())
		if run.Status != StatusSucceeded {
			t.Fatalf("run = %+v", run)
		}
		st := run.Steps[0]
		if st.Attempts != 3 || !strings.Contains(st.Detail, "attempt 1: HTTP 503") || !strings.Contains(st.Detail, "attempt 2: HTTP 503") ||
			!strings.Contains(st.Detail, "attempt 3: HTTP 200") || strings.Contains(st.Detail, "/hook") {
			t.Fatalf("webhook step = %+v", st)
		}
		key := run.ID + "/0"
		f.hooks.mu.Lock()
		got, ok := f.hooks.got[key], f.hooks.ok[key]
		f.hooks.mu.Unlock()
		if len(got) != 3 || ok != 1 {
			t.Fatalf("deliveries %d, accepted %d", len(got), ok)
		}
		secret, err := f.wh.Secret(context.Background(), "crm")
		if err != nil {
			t.Fatal(err)
		}
		if err := webhook.Verify(secret, got[2].sig, got[2].body, f.clk.Now(), time.Hour); err != nil {
			t.Fatalf("signature: %v", err)
		}
		var body webhook.Payload
		if err := json.Unmarshal(got[2].body, &body); err != nil {
			t.Fatal(err)
		}
		var rec map[string]any
		json.Unmarshal(body.Record, &rec)
		if body.Event != "created" || body.Automation != "hook" || body.ID != lead.ID() || rec["name"] != "hook me" {
			t.Fatalf("body = %s", got[2].body)
		}
		if g := f.get("lead", lead.ID()).Get("grade"); g != "hooked" {
			t.Fatalf("the action after the webhook: grade %v", g)
		}
	})
}

func TestFailedActionSkipsTheRest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		f.hooks.fails = 1000
		lead := f.create("lead", `{"name": "hook never"}`)
		run := f.settled("hook", lead.ID())
		if run.Status != StatusFailed || run.Steps[0].Status != StepFailed || run.Steps[1].Status != StepSkipped || run.Steps[0].Attempts != StepAttempts {
			t.Fatalf("run = %+v", run)
		}
		if g := f.get("lead", lead.ID()).Get("grade"); g != nil {
			t.Fatalf("a skipped action ran: grade %v", g)
		}
	})
}

// TestNotifyTellsOnlyWhoMayRead: a rule that names roles reaches only the
// users who may read the record, and each sees in the message only the
// fields their rules show them — in every language's variant of it.
func TestNotifyTellsOnlyWhoMayRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, testApp)
		ctx := context.Background()
		own, err := f.acc.CreateUser(ctx, "mine@example.com", "a long password", "Mia Mine", false)
		if err != nil {
			t.Fatal(err)
		}
		other, err := f.acc.CreateUser(ctx, "other@example.com", "a long password", "Otto Other", false)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []*access.User{own, other} {
			if _, err := f.acc.UpdateUser(ctx, u.ID, access.UserUpdate{Roles: &[]string{"mine"}}); err != nil {
				t.Fatal(err)
			}
		}
		lead := f.create("lead", fmt.Sprintf(`{"name": "tell me", "budget": "900", "owner": %q}`, own.ID))
		run := f.settled("tell_all", lead.ID())
		if run.Status != StatusSucceeded || !strings.Contains(run.Steps[0].Detail, "left out") {
			t.Fatalf("run = %+v", run)
		}
		if ns := f.notifications(f.rep.ID); len(ns) != 1 || ns[0].Message != "tell me worth 900.00" ||
			!reflect.DeepEqual(ns[0].Messages, schema.Labels{"zh-CN": "tell me 价值 900.00", "en": "tell me is worth 900.00"}) {
			t.Fatalf("a sales user's notifications = %+v", ns)
		}
		// The owner with "mine" reads the record but not its budget, in
		// no language.
		if ns := f.notifications(own.ID); len(ns) != 1 || ns[0].Message != "tell me worth " ||
			!reflect.DeepEqual(ns[0].Messages, schema.Labels{"zh-CN": "tell me 价值 ", "en": "tell me is worth "}) {
			t.Fatalf("the owner's notifications = %+v", ns)
		}
		// Another "mine" user may not read it: told nothing.
		if ns := f.notifications(other.ID); len(ns) != 0 {
			t.Fatalf("a user who may not read the record was notified: %+v", ns)
		}
	})
}
