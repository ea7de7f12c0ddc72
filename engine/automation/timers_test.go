package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
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
	"github.com/formaapp/forma/schema"
)

func TestParseOffset(t *testing.T) {
	good := map[string]time.Duration{
		"4h":       4 * time.Hour,
		"72h":      72 * time.Hour,
		"3d":       72 * time.Hour,
		"1d12h":    36 * time.Hour,
		"-30m":     -30 * time.Minute,
		"90m":      90 * time.Minute,
		"+2h":      2 * time.Hour,
		"1d2h3m":   26*time.Hour + 3*time.Minute,
		"0m":       0,
		"366d":     366 * 24 * time.Hour,
		"-366d":    -366 * 24 * time.Hour,
		"8784h":    366 * 24 * time.Hour,
		"527040m":  366 * 24 * time.Hour,
		"0001h":    time.Hour,
		"365d23h":  365*24*time.Hour + 23*time.Hour,
		"-1d0h30m": -(24*time.Hour + 30*time.Minute),
	}
	for in, want := range good {
		got, err := ParseOffset(in)
		if err != nil || got != want {
			t.Errorf("ParseOffset(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := []string{"", "-", "+", "h", "4", "4x", "4H", "4 h", " 4h", "4h ", "4s", "1h1d", "4h4h", "1.5h",
		"367d", "366d1m", "8785h", "-367d", "99999999999999999999d", "9223372036854775807m", "--4h", "4h-", "4h;DROP TABLE x",
		"４h", "4h\x00", strings.Repeat("1", 40) + "h", "P1D", "1w", "1y"}
	for _, in := range bad {
		if d, err := ParseOffset(in); err == nil {
			t.Errorf("ParseOffset(%q) = %v, want an error", in, d)
		}
	}
}

func timerApp() *schema.App {
	return &schema.App{Name: "sales", Entities: []schema.Entity{{Name: "quote", Fields: []schema.Field{
		{Name: "title", Type: schema.Text},
		{Name: "opened_at", Type: schema.DateTime},
		{Name: "due_on", Type: schema.Date},
		{Name: "replied_at", Type: schema.DateTime},
		{Name: "next_call", Type: schema.Formula, Expr: "opened_at", Returns: schema.DateTime},
	}}}}
}

// problemsAt checks that ps has exactly one problem per wanted path, each
// message containing its wanted text.
func problemsAt(t *testing.T, ps schema.Problems, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, p := range ps {
		if _, dup := got[p.Path]; dup {
			t.Errorf("two problems at %s: %v", p.Path, ps)
		}
		got[p.Path] = p.Message
	}
	for path, text := range want {
		msg, ok := got[path]
		if !ok {
			t.Errorf("no problem at %s; got %v", path, ps)
			continue
		}
		if !strings.Contains(msg, text) {
			t.Errorf("problem at %s = %q, want it to say %q", path, msg, text)
		}
		delete(got, path)
	}
	for path, msg := range got {
		t.Errorf("unexpected problem at %s: %s", path, msg)
	}
}

func TestCheckTimer(t *testing.T) {
	cases := []struct {
		name string
		trig schema.Trigger
		want map[string]string
	}{
		{"ok", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "72h", Unless: `replied_at != null`}, nil},
		{"date field", schema.Trigger{Type: "timer", Field: "due_on", Offset: "-1d"}, nil},
		{"formula returning datetime", schema.Trigger{Type: "timer", Field: "next_call", Offset: "0m"}, nil},
		{"system column", schema.Trigger{Type: "timer", Field: "created_at", Offset: "4h"}, nil},
		{"no field", schema.Trigger{Type: "timer", Offset: "4h"}, map[string]string{"/automations/3/trigger/field": "needs the date or datetime field"}},
		{"unknown field", schema.Trigger{Type: "timer", Field: "opend_at", Offset: "4h"},
			map[string]string{"/automations/3/trigger/field": `did you mean "opened_at"?`}},
		{"text field", schema.Trigger{Type: "timer", Field: "title", Offset: "4h"},
			map[string]string{"/automations/3/trigger/field": "is a text field"}},
		{"owner is no date", schema.Trigger{Type: "timer", Field: "owner", Offset: "4h"},
			map[string]string{"/automations/3/trigger/field": "is a user field"}},
		{"no offset", schema.Trigger{Type: "timer", Field: "opened_at"}, map[string]string{"/automations/3/trigger/offset": "required"}},
		{"bad offset", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "72 hours"}, map[string]string{"/automations/3/trigger/offset": "units are d, h and m"}},
		{"too long", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "400d"}, map[string]string{"/automations/3/trigger/offset": "366 days"}},
		{"bad unless", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "1h", Unless: `replied_at != `},
			map[string]string{"/automations/3/trigger/unless": "position"}},
		{"injection in unless", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "1h", Unless: `1=1; DROP TABLE sales_quote`},
			map[string]string{"/automations/3/trigger/unless": "filter"}},
		{"schedule keys", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "1h", Cron: "* * * * *", TimeZone: "UTC", Filter: "x = 1"},
			map[string]string{"/automations/3/trigger/cron": "takes no cron", "/automations/3/trigger/timeZone": "takes no", "/automations/3/trigger/filter": "takes no"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := timerApp()
			a := &schema.Automation{Name: "x", Entity: "quote", Trigger: c.trig}
			var p schema.Problems
			checkTimer(app, 3, a, &p)
			problemsAt(t, p, c.want)
		})
	}
	// An unknown entity is the schema check's to report, once.
	var p schema.Problems
	checkTimer(timerApp(), 0, &schema.Automation{Entity: "nope", Trigger: schema.Trigger{Type: "timer", Field: "x", Offset: "1h"}}, &p)
	problemsAt(t, p, nil)
}

// timerFixture is one database with an app applied, the automation service on
// it and a recorder in place of StartTx.
type timerFixture struct {
	t     testing.TB
	db    *store.DB
	clk   *clock.Test
	cat   *store.Catalog
	recs  *records.Service
	svc   *Service
	mu    sync.Mutex
	start []Start
}

var timerT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // a Sunday

func newTimerFixture(t testing.TB, db *store.DB, doc string) *timerFixture {
	t.Helper()
	f := &timerFixture{t: t, db: db, clk: clock.NewTest(timerT0)}
	db.Clock = f.clk
	f.cat = store.NewCatalog(db)
	f.recs = records.New(db, f.cat)
	f.apply(doc)
	f.svc = New(db, f.cat, f.recs, nil, nil, slog.New(slog.DiscardHandler))
	f.svc.start = func(ctx context.Context, tx store.Conn, st Start) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.start = append(f.start, st)
		return nil
	}
	if err := f.svc.registerTimers(context.Background()); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *timerFixture) apply(doc string) {
	f.t.Helper()
	app, problems := schema.Parse([]byte(doc))
	if len(problems) > 0 {
		f.t.Fatalf("parse: %v", problems)
	}
	if _, _, err := f.recs.Apply(context.Background(), app, store.ApplyOptions{}); err != nil {
		f.t.Fatalf("apply: %v", err)
	}
}

var timerAdmin = records.Caller{Admin: true}

func (f *timerFixture) create(entity, body string) string {
	f.t.Helper()
	r, err := f.recs.Create(context.Background(), timerAdmin, "sales", entity, []byte(body))
	if err != nil {
		f.t.Fatalf("create %s: %v", body, err)
	}
	return r.ID()
}

func (f *timerFixture) patch(entity, id, body string) {
	f.t.Helper()
	if _, err := f.recs.Patch(context.Background(), timerAdmin, "sales", entity, id, []byte(body)); err != nil {
		f.t.Fatalf("patch %s: %v", body, err)
	}
}

func (f *timerFixture) tick() {
	f.t.Helper()
	if err := f.svc.Tick(context.Background()); err != nil {
		f.t.Fatalf("tick: %v", err)
	}
}

// starts returns the starts recorded since the last call.
func (f *timerFixture) starts() []Start {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.start
	f.start = nil
	return out
}

func (f *timerFixture) timerState(automation, id string) (state, reason string) {
	f.t.Helper()
	err := f.db.SQL.QueryRow(f.db.Rebind(`SELECT state, reason FROM _forma_automation_timers WHERE app = 'sales' AND automation = ? AND record_id = ?`),
		automation, id).Scan(&state, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ""
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return state, reason
}

const timerDoc = `{"name": "sales", "entities": [{"id": "e1", "name": "quote", "fields": [
	{"id": "f1", "name": "title", "type": "text"},
	{"id": "f2", "name": "opened_at", "type": "datetime"},
	{"id": "f3", "name": "replied_at", "type": "datetime"},
	{"id": "f4", "name": "due_on", "type": "date"},
	{"id": "f5", "name": "status", "type": "text"}]}],
 "automations": [
	{"name": "silence", "entity": "quote", "trigger": {"type": "timer", "field": "opened_at", "offset": "72h", "unless": "replied_at != null"},
	 "actions": [{"type": "notify", "to": {"owner": true}, "message": "no reply"}]},
	{"name": "due_eve", "entity": "quote", "trigger": {"type": "timer", "field": "due_on", "offset": "-1d12h"},
	 "actions": [{"type": "notify", "to": {"owner": true}, "message": "due soon"}]},
	{"name": "off", "enabled": false, "entity": "quote", "trigger": {"type": "timer", "field": "opened_at", "offset": "1h"},
	 "actions": [{"type": "notify", "to": {"owner": true}, "message": "never"}]}]}`

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// A timer fires once, at value + offset and not before, with the firing
// time as its occurrence; a date field counts from its midnight (UTC); a
// disabled automation keeps no timer and never fires.
func TestTimerFiresOnceAtValuePlusOffset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTimerFixture(t, db, timerDoc)
		id := f.create("quote", `{"title": "Q1", "opened_at": "`+rfc3339(timerT0)+`", "due_on": "2026-03-10"}`)
		if st, _ := f.timerState("silence", id); st != "pending" {
			t.Fatalf("silence timer: %q, want pending", st)
		}
		if st, _ := f.timerState("off", id); st != "" {
			t.Fatalf("a disabled automation keeps a timer: %q", st)
		}
		f.tick()
		f.clk.Set(timerT0.Add(72*time.Hour - time.Second))
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("fired early: %+v", got)
		}
		f.clk.Set(timerT0.Add(72 * time.Hour))
		f.tick()
		got := f.starts()
		want := Start{App: "sales", Version: 1, Automation: "silence", Entity: "quote", RecordID: id,
			Occurrence: "timer@2026-03-04T12:00:00Z", CheckCondition: true}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("starts at 72h: %+v, want %+v", got, want)
		}
		if st, _ := f.timerState("silence", id); st != "fired" {
			t.Fatalf("after firing: %q", st)
		}
		f.clk.Advance(time.Hour)
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("fired twice: %+v", got)
		}
		// An update that leaves the field alone does not re-arm it.
		f.patch("quote", id, `{"title": "Q1 bis", "version": 1}`)
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("an unrelated update re-armed the timer: %+v", got)
		}
		// due_on 2026-03-10 - 1d12h = 2026-03-08T12:00Z.
		f.clk.Set(time.Date(2026, 3, 8, 11, 59, 0, 0, time.UTC))
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("date timer early: %+v", got)
		}
		f.clk.Set(time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC))
		f.tick()
		if got := f.starts(); len(got) != 1 || got[0].Automation != "due_eve" || got[0].Occurrence != "timer@2026-03-08T12:00:00Z" {
			t.Fatalf("date timer: %+v", got)
		}
		f.clk.Advance(30 * 24 * time.Hour)
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("later: %+v", got)
		}
	})
}

// A timer whose datetime field changes fires at the new time only.
func TestTimerRescheduledWhenFieldChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTimerFixture(t, db, timerDoc)
		id := f.create("quote", `{"title": "Q1", "opened_at": "`+rfc3339(timerT0)+`"}`)
		f.clk.Advance(5 * time.Hour)
		f.patch("quote", id, `{"opened_at": "`+rfc3339(timerT0.Add(10*time.Hour))+`", "version": 1}`)
		f.clk.Set(timerT0.Add(72 * time.Hour))
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("fired at the old time: %+v", got)
		}
		f.clk.Set(timerT0.Add(82 * time.Hour))
		f.tick()
		if got := f.starts(); len(got) != 1 || got[0].Occurrence != "timer@2026-03-04T22:00:00Z" {
			t.Fatalf("at the new time: %+v", got)
		}
		// Moved again after firing: it fires again, at the newer time.
		f.patch("quote", id, `{"opened_at": "`+rfc3339(timerT0.Add(100*time.Hour))+`", "version": 2}`)
		f.clk.Set(timerT0.Add(172 * time.Hour))
		f.tick()
		f.tick()
		if got := f.starts(); len(got) != 1 || got[0].Occurrence != "timer@2026-03-08T16:00:00Z" {
			t.Fatalf("moved after firing: %+v", got)
		}
	})
}

// Unless cancels a timer when it holds before the firing: set by a write,
// found true at the tick (a change the timer did not see being written),
// or true from the start.
func TestTimerCancelledByUnless(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTimerFixture(t, db, timerDoc)
		replied := f.create("quote", `{"title": "replied", "opened_at": "`+rfc3339(timerT0)+`"}`)
		sneaky := f.create("quote", `{"title": "sneaky", "opened_at": "`+rfc3339(timerT0)+`"}`)
		already := f.create("quote", `{"title": "already", "opened_at": "`+rfc3339(timerT0)+`", "replied_at": "`+rfc3339(timerT0)+`"}`)
		f.clk.Advance(10 * time.Hour)
		f.patch("quote", replied, `{"replied_at": "`+rfc3339(f.clk.Now())+`", "version": 1}`)
		if st, why := f.timerState("silence", replied); st != "cancelled" || why != "unless held" {
			t.Fatalf("after the reply: %s %q", st, why)
		}
		if st, why := f.timerState("silence", already); st != "cancelled" || why != "unless held" {
			t.Fatalf("replied from the start: %s %q", st, why)
		}
		// Written around the records service: the tick re-checks.
		if _, err := db.SQL.Exec(db.Rebind(`UPDATE sales_quote SET replied_at = ? WHERE id = ?`), f.clk.Now(), sneaky); err != nil {
			t.Fatal(err)
		}
		f.clk.Set(timerT0.Add(72 * time.Hour))
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("fired despite unless: %+v", got)
		}
		if st, why := f.timerState("silence", sneaky); st != "cancelled" || why != "unless held" {
			t.Fatalf("re-checked at the tick: %s %q", st, why)
		}
		// A new opened_at while the reply stands schedules nothing.
		f.patch("quote", replied, `{"opened_at": "`+rfc3339(f.clk.Now())+`", "version": 2}`)
		f.clk.Advance(100 * time.Hour)
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("fired despite unless: %+v", got)
		}
	})
}

// Deleting the record or clearing the field cancels its timer.
func TestTimerCancelledByDeleteOrClear(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTimerFixture(t, db, timerDoc)
		gone := f.create("quote", `{"title": "gone", "opened_at": "`+rfc3339(timerT0)+`"}`)
		cleared := f.create("quote", `{"title": "cleared", "opened_at": "`+rfc3339(timerT0)+`"}`)
		kept := f.create("quote", `{"title": "kept", "opened_at": "`+rfc3339(timerT0)+`"}`)
		if err := f.recs.Delete(context.Background(), timerAdmin, "sales", "quote", gone, 0); err != nil {
			t.Fatal(err)
		}
		f.patch("quote", cleared, `{"opened_at": null, "version": 1}`)
		for id, why := range map[string]string{gone: "record deleted", cleared: "field cleared"} {
			if st, r := f.timerState("silence", id); st != "cancelled" || r != why {
				t.Errorf("%s: %s %q, want cancelled %q", id, st, r, why)
			}
		}
		f.clk.Set(timerT0.Add(80 * time.Hour))
		f.tick()
		if got := f.starts(); len(got) != 1 || got[0].RecordID != kept {
			t.Fatalf("starts: %+v, want only %s", got, kept)
		}
		// A month after it would have fired, a deleted record's timer goes.
		f.clk.Set(timerT0.Add(72*time.Hour + 30*24*time.Hour + time.Second))
		f.tick()
		if st, _ := f.timerState("silence", gone); st != "" {
			t.Fatalf("deleted record's timer kept: %q", st)
		}
		if st, _ := f.timerState("silence", cleared); st != "cancelled" {
			t.Fatalf("cleared field's timer: %q", st)
		}
	})
}

// Servers ticking at the same time fire each timer once.
func TestTimerConcurrentTicksFireOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTimerFixture(t, db, timerDoc)
		ids := map[string]bool{}
		for i := range 12 {
			ids[f.create("quote", fmt.Sprintf(`{"title": "q%d", "opened_at": "%s"}`, i, rfc3339(timerT0.Add(time.Duration(i)*time.Minute))))] = true
		}
		f.clk.Set(timerT0.Add(73 * time.Hour))
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- f.svc.Tick(context.Background())
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := f.starts()
		seen := map[string]int{}
		for _, st := range got {
			seen[st.RecordID]++
		}
		if len(got) != len(ids) || len(seen) != len(ids) {
			t.Fatalf("%d starts over %d records, want one each: %v", len(got), len(seen), seen)
		}
	})
}

// In production the job queue ticks: the clock job runs Tick, which fires
// a due timer without a test calling it.
func TestTickJobFiresTimers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newTimerFixture(t, db, timerDoc)
		q, err := jobs.New(ctx, db, jobs.Options{PollInterval: 50 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		// A second service, with the queue, as a server would have it.
		svc := New(db, f.cat, records.New(db, f.cat), nil, q, slog.New(slog.DiscardHandler))
		svc.start = f.svc.start
		if err := svc.registerTimers(ctx); err != nil {
			t.Fatal(err)
		}
		id := f.create("quote", `{"title": "Q1", "opened_at": "`+rfc3339(timerT0.Add(-73*time.Hour))+`"}`)
		jobstest.Start(t, ctx, q)
		deadline := time.Now().Add(30 * time.Second)
		for {
			f.mu.Lock()
			n := len(f.start)
			f.mu.Unlock()
			if n > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the clock job did not fire the due timer within 30s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got := f.starts(); len(got) != 1 || got[0].RecordID != id {
			t.Fatalf("starts: %+v", got)
		}
	})
}

// A trigger's unless or filter is compiled against its entity when the app
// is applied: unknown fields, wrong types and @me are refused at their
// pointer.
func TestCheckTriggerFilter(t *testing.T) {
	db := storetest.SQLite(t)
	cat := store.NewCatalog(db)
	svc := New(db, cat, records.New(db, cat), nil, nil, nil)
	app := timerApp()
	cases := []struct {
		trig schema.Trigger
		want map[string]string
	}{
		{schema.Trigger{Type: "timer", Unless: `replied_at != null && title ~ "x"`}, nil},
		{schema.Trigger{Type: "timer", Unless: `replyed_at != null`}, map[string]string{"/automations/2/trigger/unless": "replyed_at"}},
		{schema.Trigger{Type: "timer", Unless: `replied_at > 12`}, map[string]string{"/automations/2/trigger/unless": "date-time"}},
		{schema.Trigger{Type: "timer", Unless: `title = @me`}, map[string]string{"/automations/2/trigger/unless": "@me"}},
		{schema.Trigger{Type: "timer", Unless: `replied_at !=`}, nil}, // checkTimer's to report
		{schema.Trigger{Type: "schedule", Filter: `title = "a"`}, nil},
		{schema.Trigger{Type: "schedule", Filter: `stage = "won"`}, map[string]string{"/automations/2/trigger/filter": "stage"}},
		{schema.Trigger{Type: "schedule", Filter: `title = "a'); DROP TABLE sales_quote; --"`}, nil}, // a literal, bound
		{schema.Trigger{Type: "created", Filter: `nope = 1`}, nil},
	}
	for _, c := range cases {
		var p schema.Problems
		svc.checkTriggerFilter(app, 2, &schema.Automation{Name: "x", Entity: "quote", Trigger: c.trig}, &p)
		problemsAt(t, p, c.want)
	}
}

// Records that exist when a timer automation appears get their timer at
// the next tick (only firings still ahead: no backfill), and a changed
// offset moves the pending ones.
func TestTimerArmsExistingRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		bare := timerDoc[:strings.Index(timerDoc, `,
 "automations"`)] + `}`
		f := newTimerFixture(t, db, bare)
		r1 := f.create("quote", `{"title": "recent", "opened_at": "`+rfc3339(timerT0.Add(-10*time.Hour))+`"}`)
		r2 := f.create("quote", `{"title": "old", "opened_at": "`+rfc3339(timerT0.Add(-100*time.Hour))+`"}`)
		r3 := f.create("quote", `{"title": "never opened"}`)
		f.apply(timerDoc)
		f.tick()
		if st, _ := f.timerState("silence", r1); st != "pending" {
			t.Fatalf("recent quote: %q, want pending", st)
		}
		for _, id := range []string{r2, r3} {
			if st, _ := f.timerState("silence", id); st != "" {
				t.Fatalf("%s: %q, want no timer", id, st)
			}
		}
		r4 := f.create("quote", `{"title": "new", "opened_at": "`+rfc3339(timerT0)+`"}`)
		f.apply(strings.Replace(timerDoc, `"offset": "72h"`, `"offset": "48h"`, 1))
		f.tick()
		f.clk.Set(timerT0.Add(38*time.Hour - time.Second))
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("early: %+v", got)
		}
		f.clk.Set(timerT0.Add(38 * time.Hour))
		f.tick()
		if got := f.starts(); len(got) != 1 || got[0].RecordID != r1 || got[0].Occurrence != "timer@"+rfc3339(timerT0.Add(38*time.Hour)) || got[0].Version != 3 {
			t.Fatalf("at 38h: %+v", got)
		}
		f.clk.Set(timerT0.Add(48 * time.Hour))
		f.tick()
		if got := f.starts(); len(got) != 1 || got[0].RecordID != r4 || got[0].Occurrence != "timer@"+rfc3339(timerT0.Add(48*time.Hour)) {
			t.Fatalf("at 48h: %+v", got)
		}
		f.clk.Set(timerT0.Add(200 * time.Hour))
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("later: %+v", got)
		}
	})
}

// BenchmarkTickTimers measures firing due timers: each op is one Tick that
// fires 500 timers (claim, unless check, start in one transaction each),
// with the start recorded rather than run.
func BenchmarkTickTimers(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *store.DB
			if dialect == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			f := newTimerFixture(b, db, timerDoc)
			ctx := context.Background()
			const n = 500
			for i := range n {
				if _, err := f.recs.Create(ctx, timerAdmin, "sales", "quote", []byte(fmt.Sprintf(`{"title": "q%d", "opened_at": "%s"}`, i, rfc3339(timerT0)))); err != nil {
					b.Fatal(err)
				}
			}
			f.clk.Set(timerT0.Add(73 * time.Hour))
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				if _, err := db.SQL.Exec(`UPDATE _forma_automation_timers SET state = 'pending'`); err != nil {
					b.Fatal(err)
				}
				f.starts()
				b.StartTimer()
				if err := f.svc.Tick(ctx); err != nil {
					b.Fatal(err)
				}
				if got := len(f.starts()); got != n {
					b.Fatalf("fired %d, want %d", got, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "timers/s")
		})
	}
}

// A timer whose start fails stays pending (and fires at a later tick); the
// timers fired with it in its batch are not held back.
func TestTimerFailedStartStaysPending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTimerFixture(t, db, timerDoc)
		var ids []string
		for i := range 5 {
			ids = append(ids, f.create("quote", fmt.Sprintf(`{"title": "q%d", "opened_at": "%s"}`, i, rfc3339(timerT0))))
		}
		bad := ids[2]
		record := f.svc.start
		f.svc.start = func(ctx context.Context, tx store.Conn, st Start) error {
			if st.RecordID == bad {
				return errors.New("refused on purpose")
			}
			return record(ctx, tx, st)
		}
		f.clk.Set(timerT0.Add(72 * time.Hour))
		if err := f.svc.Tick(context.Background()); err == nil || !strings.Contains(err.Error(), "refused on purpose") {
			t.Fatalf("tick: %v, want the start's error", err)
		}
		// The recorder also saw the starts of the batch rolled back (a
		// real start is undone with it): what counts is each timer's state.
		started := map[string]bool{}
		for _, st := range f.starts() {
			started[st.RecordID] = true
		}
		for _, id := range ids {
			want := "fired"
			if id == bad {
				want = "pending"
			}
			if st, _ := f.timerState("silence", id); st != want || started[id] != (id != bad) {
				t.Errorf("%s: %s (started %v), want %s", id, st, started[id], want)
			}
		}
		if st, _ := f.timerState("silence", bad); st != "pending" {
			t.Fatalf("failed timer: %q, want pending", st)
		}
		f.svc.start = record
		f.tick()
		if got := f.starts(); len(got) != 1 || got[0].RecordID != bad {
			t.Fatalf("retried: %+v", got)
		}
	})
}

const silenceDoc = `{"name": "sales", "entities": [{"id": "e1", "name": "quote", "fields": [
	{"id": "f1", "name": "title", "type": "text"},
	{"id": "f2", "name": "opened_at", "type": "datetime"},
	{"id": "f3", "name": "replied_at", "type": "datetime"},
	{"id": "f4", "name": "status", "type": "select", "options": ["draft", "sent", "accepted"]}]}],
 "roles": [{"name": "manager", "entities": {"quote": {"read": "all"}}},
           {"name": "rep", "entities": {"quote": {"create": "own", "read": "own", "update": "own"}}}],
 "automations": [
	{"name": "silence_alert", "label": "No reply in 72h", "labels": {"zh-CN": "72小时未回复"}, "entity": "quote",
	 "trigger": {"type": "timer", "field": "opened_at", "offset": "72h", "unless": "replied_at != null"},
	 "condition": "status = \"sent\"",
	 "actions": [{"type": "notify", "to": {"manager": true}, "message": "Quote {{title}} opened {{opened_at}}: no reply for 72 hours"}]}]}`

// The silence alert, end to end on the real engine pieces: a quote
// opened and never answered notifies the manager of its owner's team once,
// at 72 hours and not at 71; a quote answered at 10 hours never does.
func TestSilenceAlertEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewTest(timerT0)
		db.Clock = clk
		log := slog.New(slog.DiscardHandler)
		acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatal(err)
		}
		cat := store.NewCatalog(db)
		recs := records.New(db, cat)
		q, err := jobs.New(ctx, db, jobs.Options{PollInterval: 20 * time.Millisecond, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := recs.UseJobs(q); err != nil {
			t.Fatal(err)
		}
		notes := notify.New(db, acc)
		svc := New(db, cat, recs, acc, q, log)
		svc.UseNotify(notes)
		if err := svc.Register(ctx); err != nil {
			t.Fatal(err)
		}
		jobstest.Start(t, ctx, q)
		manager, err := acc.CreateUserWith(ctx, access.NewUser{Email: "mia@example.com", Password: "a long password", Name: "Mia Manager", Roles: []string{"manager"}})
		if err != nil {
			t.Fatal(err)
		}
		team, err := acc.CreateTeamWith(ctx, access.NewTeam{Name: "East", ManagerID: manager.ID})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := acc.CreateUserWith(ctx, access.NewUser{Email: "ray@example.com", Password: "a long password", Name: "Ray Rep", TeamID: team.ID, Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		app, problems := schema.Parse([]byte(silenceDoc))
		if len(problems) > 0 {
			t.Fatalf("parse: %v", problems)
		}
		if p := svc.CheckApp(ctx, app); len(p) > 0 {
			t.Fatalf("check: %v", p)
		}
		if _, _, err := recs.Apply(ctx, app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		asRep := records.Caller{UserID: rep.ID, Admin: true}
		create := func(title string) string {
			r, err := recs.Create(ctx, asRep, "sales", "quote", []byte(`{"title": "`+title+`", "status": "sent", "opened_at": "`+rfc3339(timerT0)+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			return r.ID()
		}
		silent := create("Silent")
		answered := create("Answered")
		tick := func() {
			t.Helper()
			if err := svc.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		notified := func() []notify.Notification {
			t.Helper()
			page, err := notes.List(ctx, manager.ID, notify.Query{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return page.Items
		}
		// settle waits until no automation step job is left to run.
		settle := func() {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for {
				var n int
				if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = '` + StepKind + `' AND state NOT IN ('completed', 'discarded', 'cancelled')`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d step jobs still waiting after 30s", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}

		clk.Set(timerT0.Add(10 * time.Hour))
		if _, err := recs.Patch(ctx, asRep, "sales", "quote", answered, []byte(`{"replied_at": "`+rfc3339(clk.Now())+`", "version": 1}`)); err != nil {
			t.Fatal(err)
		}
		clk.Set(timerT0.Add(71 * time.Hour))
		tick()
		settle()
		if got := notified(); len(got) != 0 {
			t.Fatalf("at 71h: %+v", got)
		}
		clk.Set(timerT0.Add(72 * time.Hour))
		tick()
		tick()
		settle()
		got := notified()
		if len(got) != 1 || got[0].RecordID != silent || got[0].Automation != "silence_alert" ||
			!strings.HasPrefix(got[0].Message, "Quote Silent opened 2026-03-01T12:00:00") || !strings.HasSuffix(got[0].Message, ": no reply for 72 hours") {
			t.Fatalf("at 72h the manager has %+v, want one notification for %s", got, silent)
		}
		if n, err := notes.List(ctx, rep.ID, notify.Query{Limit: 100}); err != nil || len(n.Items) != 0 {
			t.Fatalf("the rep was notified: %+v %v", n, err)
		}
		clk.Set(timerT0.Add(200 * time.Hour))
		tick()
		settle()
		if got := notified(); len(got) != 1 {
			t.Fatalf("later: %+v", got)
		}
		var runs int
		db.SQL.QueryRow(db.Rebind(`SELECT COUNT(*) FROM _forma_automation_runs WHERE record_id = ?`), answered).Scan(&runs)
		if runs != 0 {
			t.Fatalf("the answered quote has %d runs", runs)
		}
	})
}

// A timer on updated_at is "no activity for a while": every write moves it.
func TestTimerOnUpdatedAt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		doc := strings.Replace(timerDoc, `"automations": [`, `"automations": [
	{"name": "idle", "entity": "quote", "trigger": {"type": "timer", "field": "updated_at", "offset": "7d"},
	 "actions": [{"type": "notify", "to": {"owner": true}, "message": "idle"}]},`, 1)
		f := newTimerFixture(t, db, doc)
		id := f.create("quote", `{"title": "Q1"}`)
		f.clk.Set(timerT0.Add(3 * 24 * time.Hour))
		f.patch("quote", id, `{"title": "Q1 touched", "version": 1}`)
		f.clk.Set(timerT0.Add(8 * 24 * time.Hour))
		f.tick()
		for _, st := range f.starts() {
			if st.Automation == "idle" {
				t.Fatalf("fired 7 days after creation despite the write at day 3: %+v", st)
			}
		}
		f.clk.Set(timerT0.Add(10 * 24 * time.Hour))
		f.tick()
		var idle []Start
		for _, st := range f.starts() {
			if st.Automation == "idle" {
				idle = append(idle, st)
			}
		}
		if len(idle) != 1 || idle[0].Occurrence != "timer@"+rfc3339(timerT0.Add(10*24*time.Hour)) {
			t.Fatalf("idle: %+v", idle)
		}
	})
}
