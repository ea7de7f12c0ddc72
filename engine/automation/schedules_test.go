package automation

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

func TestCheckSchedule(t *testing.T) {
	cases := []struct {
		name string
		trig schema.Trigger
		want map[string]string
	}{
		{"ok", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "Asia/Shanghai", Filter: `title != "x"`}, nil},
		{"utc default", schema.Trigger{Type: "schedule", Cron: "30 7 * * 1-5"}, nil},
		{"no cron", schema.Trigger{Type: "schedule"}, map[string]string{"/automations/1/trigger/cron": "needs a cron"}},
		{"garbage cron", schema.Trigger{Type: "schedule", Cron: "every monday"}, map[string]string{"/automations/1/trigger/cron": "five fields"}},
		{"six fields", schema.Trigger{Type: "schedule", Cron: "0 0 9 * * 1"}, map[string]string{"/automations/1/trigger/cron": "five fields"}},
		{"out of range", schema.Trigger{Type: "schedule", Cron: "61 9 * * 1"}, map[string]string{"/automations/1/trigger/cron": "cron spec"}},
		{"descriptor", schema.Trigger{Type: "schedule", Cron: "@every 1s"}, map[string]string{"/automations/1/trigger/cron": "five fields"}},
		{"tz prefix", schema.Trigger{Type: "schedule", Cron: "CRON_TZ=UTC 0 9 * * 1"}, map[string]string{"/automations/1/trigger/cron": "five fields"}},
		{"huge", schema.Trigger{Type: "schedule", Cron: strings.Repeat("1,", 200) + "1 * * * *"}, map[string]string{"/automations/1/trigger/cron": "longer"}},
		{"bad zone", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "Mars/Olympus"}, map[string]string{"/automations/1/trigger/timeZone": "unknown time zone"}},
		{"zone injection", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "UTC'; DROP TABLE x; --"}, map[string]string{"/automations/1/trigger/timeZone": "not a time zone"}},
		{"local zone", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "Local"}, map[string]string{"/automations/1/trigger/timeZone": "depends on the server"}},
		{"path zone", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "../../etc/passwd"}, map[string]string{"/automations/1/trigger/timeZone": "not a time zone"}},
		{"bad filter", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", Filter: `stage = `}, map[string]string{"/automations/1/trigger/filter": "position"}},
		{"timer keys", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", Field: "opened_at", Offset: "1h", Unless: "x = 1"},
			map[string]string{"/automations/1/trigger/field": "takes no", "/automations/1/trigger/offset": "takes no", "/automations/1/trigger/unless": "takes no"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &schema.Automation{Name: "x", Entity: "quote", Trigger: c.trig}
			var p schema.Problems
			checkSchedule(timerApp(), 1, a, &p)
			problemsAt(t, p, c.want)
		})
	}
}

const scheduleDoc = `{"name": "sales", "entities": [{"id": "e1", "name": "opportunity", "fields": [
	{"id": "f1", "name": "title", "type": "text"},
	{"id": "f2", "name": "stage", "type": "text"}]}],
 "automations": [
	{"name": "monday_early", "entity": "opportunity",
	 "trigger": {"type": "schedule", "cron": "30 7 * * 1", "timeZone": "Asia/Shanghai", "filter": "stage != \"won\""},
	 "actions": [{"type": "notify", "to": {"owner": true}, "message": "stale"}]},
	{"name": "monday_nine", "entity": "opportunity",
	 "trigger": {"type": "schedule", "cron": "0 9 * * 1", "timeZone": "Asia/Shanghai"},
	 "actions": [{"type": "notify", "to": {"owner": true}, "message": "week"}]},
	{"name": "off", "enabled": false, "entity": "opportunity", "trigger": {"type": "schedule", "cron": "* * * * *"},
	 "actions": [{"type": "notify", "to": {"owner": true}, "message": "never"}]}]}`

// byAutomation groups starts: automation → occurrence → record ids.
func byAutomation(sts []Start) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for _, st := range sts {
		if out[st.Automation] == nil {
			out[st.Automation] = map[string][]string{}
		}
		out[st.Automation][st.Occurrence] = append(out[st.Automation][st.Occurrence], st.RecordID)
		if !st.CheckCondition || st.Version < 1 || st.Entity != "opportunity" || st.App != "sales" {
			panic(fmt.Sprintf("start %+v", st))
		}
	}
	return out
}

// A weekly cron in Asia/Shanghai fires on the UTC day before (Monday 07:30
// in Shanghai is Sunday 23:30 UTC), exactly at that instant, once a week,
// over the records its filter selects; a disabled schedule never fires.
func TestScheduleWeeklyInShanghai(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTimerFixture(t, db, scheduleDoc)
		open1 := f.create("opportunity", `{"title": "a", "stage": "new"}`)
		open2 := f.create("opportunity", `{"title": "b"}`)
		f.create("opportunity", `{"title": "c", "stage": "won"}`)
		f.tick() // Sunday 12:00 UTC: the schedules learn their next slot; no backfill
		f.clk.Set(time.Date(2026, 3, 1, 23, 29, 59, 0, time.UTC))
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("early: %+v", got)
		}
		f.clk.Set(time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC))
		f.tick()
		f.tick()
		got := byAutomation(f.starts())
		want := map[string]map[string][]string{"monday_early": {"schedule@2026-03-01T23:30:00Z": sortedIDs(open1, open2)}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("at Monday 07:30 Shanghai: %v, want %v", got, want)
		}
		// 09:00 Shanghai is 01:00 UTC, Monday.
		f.clk.Set(time.Date(2026, 3, 2, 0, 59, 0, 0, time.UTC))
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("early: %+v", got)
		}
		f.clk.Set(time.Date(2026, 3, 2, 1, 0, 30, 0, time.UTC)) // a tick half a minute late
		f.tick()
		got = byAutomation(f.starts())
		if len(got) != 1 || len(got["monday_nine"]["schedule@2026-03-02T01:00:00Z"]) != 3 {
			t.Fatalf("at Monday 09:00 Shanghai: %v", got)
		}
		// Nothing more during the week, then both again a week later.
		for d := time.Hour; d < 6*24*time.Hour; d += 7 * time.Hour {
			f.clk.Set(time.Date(2026, 3, 2, 1, 1, 0, 0, time.UTC).Add(d))
			f.tick()
		}
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("mid-week: %+v", got)
		}
		f.clk.Set(time.Date(2026, 3, 9, 2, 0, 0, 0, time.UTC))
		f.tick()
		got = byAutomation(f.starts())
		// The tick after both slots passed starts each once, at its slot.
		want = map[string]map[string][]string{
			"monday_early": {"schedule@2026-03-08T23:30:00Z": sortedIDs(open1, open2)},
			"monday_nine":  {"schedule@2026-03-09T01:00:00Z": got["monday_nine"]["schedule@2026-03-09T01:00:00Z"]},
		}
		if !reflect.DeepEqual(got, want) || len(got["monday_nine"]["schedule@2026-03-09T01:00:00Z"]) != 3 {
			t.Fatalf("a week later: %v", got)
		}
		var n int
		db.SQL.QueryRow(`SELECT COUNT(*) FROM _forma_automation_schedules WHERE automation = 'off'`).Scan(&n)
		if n != 0 {
			t.Fatal("a disabled schedule keeps a slot")
		}
	})
}

func sortedIDs(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

// Servers ticking at the same time start each record once per slot; a
// changed cron moves the next slot (no backfill), and a schedule disabled
// and enabled again starts from its next slot.
func TestScheduleOncePerSlotAndCronChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newTimerFixture(t, db, scheduleDoc)
		for i := range 5 {
			f.create("opportunity", fmt.Sprintf(`{"title": "o%d"}`, i))
		}
		f.tick()
		f.clk.Set(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := f.svc.Tick(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got := byAutomation(f.starts())
		if len(got["monday_early"]["schedule@2026-03-01T23:30:00Z"]) != 5 || len(got["monday_nine"]["schedule@2026-03-02T01:00:00Z"]) != 5 {
			t.Fatalf("concurrent ticks: %v", got)
		}
		// Daily at 08:00 Shanghai (00:00 UTC) from now on.
		f.apply(strings.Replace(scheduleDoc, `"cron": "0 9 * * 1"`, `"cron": "0 8 * * *"`, 1))
		f.tick() // sees the new cron: next slot 2026-03-03T00:00Z
		f.clk.Set(time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC))
		f.tick()
		got = byAutomation(f.starts())
		if len(got) != 1 || len(got["monday_nine"]["schedule@2026-03-03T00:00:00Z"]) != 5 {
			t.Fatalf("after the cron change: %v", got)
		}
		// Disabled over a slot, enabled again: the missed slot is not made up.
		off := strings.Replace(strings.Replace(scheduleDoc, `"cron": "0 9 * * 1"`, `"cron": "0 8 * * *"`, 1),
			`{"name": "monday_nine", "entity"`, `{"name": "monday_nine", "enabled": false, "entity"`, 1)
		f.apply(off)
		f.clk.Set(time.Date(2026, 3, 4, 0, 30, 0, 0, time.UTC))
		f.tick()
		f.apply(strings.Replace(scheduleDoc, `"cron": "0 9 * * 1"`, `"cron": "0 8 * * *"`, 1))
		f.tick()
		if got := f.starts(); len(got) != 0 {
			t.Fatalf("made up a missed slot: %+v", got)
		}
		f.clk.Set(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC))
		f.tick()
		got = byAutomation(f.starts())
		if len(got) != 1 || len(got["monday_nine"]["schedule@2026-03-05T00:00:00Z"]) != 5 {
			t.Fatalf("enabled again: %v", got)
		}
	})
}

// BenchmarkScheduleSlot measures one schedule slot over 1,000 records with
// the real StartTx (a run, its steps and its first step job per record, in
// the slot's one transaction); the jobs are not run.
func BenchmarkScheduleSlot(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *store.DB
			if dialect == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			ctx := context.Background()
			f := newTimerFixture(b, db, scheduleDoc)
			q, err := jobs.New(ctx, db, jobs.Options{NoWork: true, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { q.Stop(context.Background()) })
			f.svc.jobs = q
			if err := f.svc.registerRuns(ctx); err != nil {
				b.Fatal(err)
			}
			f.svc.start = f.svc.StartTx
			const n = 1000
			for i := range n {
				f.create("opportunity", fmt.Sprintf(`{"title": "o%d"}`, i))
			}
			f.tick()
			slot := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
			b.ResetTimer()
			for range b.N {
				f.clk.Set(slot)
				if err := f.svc.Tick(ctx); err != nil {
					b.Fatal(err)
				}
				slot = slot.AddDate(0, 0, 7)
			}
			b.StopTimer()
			var runs int
			db.SQL.QueryRow(`SELECT COUNT(*) FROM _forma_automation_runs WHERE automation = 'monday_nine'`).Scan(&runs)
			if runs != n*b.N {
				b.Fatalf("%d runs, want %d", runs, n*b.N)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "starts/s")
		})
	}
}
