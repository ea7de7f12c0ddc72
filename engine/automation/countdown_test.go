package automation

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// countdownDoc is a lead rule with the golden-hours countdown: remind the
// owner at 4h, their manager at 5h, reassign at 6h, unless contacted_at
// is set. start is the countdown's start field ("" for created_at).
func countdownDoc(start string) string {
	s := ""
	if start != "" {
		s = fmt.Sprintf(`"start": %q, `, start)
	}
	return `{"name": "crm", "entities": [{"id": "e1", "name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text"},
    {"id": "l2", "name": "arrived_at", "type": "datetime"},
    {"id": "l3", "name": "contacted_at", "type": "datetime"}]}],
 "roles": [{"name": "sales", "entities": {"lead": {"read": "all", "update": "all"}}}],
 "automations": [{"name": "own_rule", "entity": "lead", "trigger": {"type": "created"}, "condition": "name = \"nothing matches this\"",
   "actions": [{"type": "notify", "to": {"owner": true}, "message": "x"}]}],
 "assignments": [{"name": "leads", "entity": "lead", "candidates": {"roles": ["sales"]}, "strategy": "roundRobin",
   "countdown": {` + s + `"until": "contacted_at", "within": "4h", "steps": [
     {"after": "4h", "do": "remind", "message": "Call {{name}} now", "messages": {"zh-CN": "立即联系 {{name}}"}},
     {"after": "5h", "do": "notifyManager"},
     {"after": "6h", "do": "reassign"}]}}]}`
}

// fakeAssigner records the assign actions it is asked for.
type fakeAssigner struct {
	mu    sync.Mutex
	calls []string // "rule id reassign"
}

func (a *fakeAssigner) AssignAction(ctx context.Context, c records.Caller, app *schema.App, rule, id string, reassign bool) (string, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, fmt.Sprintf("%s %s %v", rule, id, reassign))
	return "reassigned", false, nil
}

func (a *fakeAssigner) PreviewAction(ctx context.Context, app *schema.App, rule, id string, reassign bool) (map[string]any, error) {
	return nil, nil
}

func (a *fakeAssigner) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

// countdownFixture is the automation fixture with a manager over the
// owner's team and a fake assigner.
func countdownFixture(t *testing.T, db *store.DB, start string) (*fixture, *access.User, *fakeAssigner) {
	f := newFixture(t, db, countdownDoc(start))
	ctx := context.Background()
	boss, err := f.acc.CreateUser(ctx, "boss@example.com", "a long password", "Bea Boss", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.UpdateUser(ctx, boss.ID, access.UserUpdate{Roles: &[]string{"sales"}}); err != nil {
		t.Fatal(err)
	}
	team, err := f.acc.CreateTeamWith(ctx, access.NewTeam{Name: "inside", ManagerID: boss.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.UpdateUser(ctx, f.owner.ID, access.UserUpdate{TeamID: &team.ID}); err != nil {
		t.Fatal(err)
	}
	fa := &fakeAssigner{}
	f.s.UseAssigner(fa)
	return f, boss, fa
}

func (f *fixture) tickAt(d time.Duration) {
	f.t.Helper()
	f.clk.Advance(d)
	if err := f.s.Tick(context.Background()); err != nil {
		f.t.Fatalf("tick: %v", err)
	}
}

func TestCountdownEscalates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, boss, fa := countdownFixture(t, db, "")
		lead := f.create("lead", fmt.Sprintf(`{"name": "Acme", "owner": %q}`, f.owner.ID))
		id := lead.ID()
		// The derived automations are not the document's own.
		if len(f.app.Automations) != 1 || len(f.app.RunnableAutomations()) != 4 {
			t.Fatalf("automations: own %d, runnable %d", len(f.app.Automations), len(f.app.RunnableAutomations()))
		}
		f.tickAt(3*time.Hour + 30*time.Minute)
		if rs := f.runs("@leads/0", id); len(rs) != 0 {
			t.Fatalf("runs before 4h: %+v", rs)
		}
		// 4h: the owner is reminded.
		f.tickAt(30 * time.Minute)
		if run := f.settled("@leads/0", id); run.Status != StatusSucceeded {
			t.Fatalf("remind run = %+v", run)
		}
		if ns := f.notifications(f.owner.ID); len(ns) != 1 || ns[0].Message != "Call Acme now" || ns[0].Messages["zh-CN"] != "立即联系 Acme" || ns[0].Automation != "@leads/0" {
			t.Fatalf("owner's notifications = %+v", ns)
		}
		if ns := f.notifications(boss.ID); len(ns) != 0 {
			t.Fatalf("the manager was told at 4h: %+v", ns)
		}
		// 5h: their manager, with the default text.
		f.tickAt(time.Hour)
		if run := f.settled("@leads/1", id); run.Status != StatusSucceeded {
			t.Fatalf("manager run = %+v", run)
		}
		if ns := f.notifications(boss.ID); len(ns) != 1 || !strings.Contains(ns[0].Message, "no first contact 5h") || !strings.Contains(ns[0].Message, "黄金时间") ||
			!strings.HasPrefix(ns[0].Messages["en"], "Golden hours") || !strings.HasPrefix(ns[0].Messages["zh-CN"], "黄金时间") {
			t.Fatalf("manager's notifications = %+v", ns)
		}
		if got := fa.got(); len(got) != 0 {
			t.Fatalf("reassigned before 6h: %v", got)
		}
		// 6h: reassigned by the rule.
		f.tickAt(time.Hour)
		if run := f.settled("@leads/2", id); run.Status != StatusSucceeded {
			t.Fatalf("reassign run = %+v", run)
		}
		if got := fa.got(); len(got) != 1 || got[0] != "leads "+id+" true" {
			t.Fatalf("assign calls = %v", got)
		}
		// Each step ran once.
		f.tickAt(time.Hour)
		if n := len(f.notifications(f.owner.ID)); n != 1 {
			t.Fatalf("owner notified %d times", n)
		}
	})
}

func TestCountdownCancelledByFirstContact(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, boss, fa := countdownFixture(t, db, "")
		lead := f.create("lead", fmt.Sprintf(`{"name": "Acme", "owner": %q}`, f.owner.ID))
		id := lead.ID()
		f.clk.Advance(3*time.Hour + 59*time.Minute)
		f.patch("lead", id, fmt.Sprintf(`{"contacted_at": %q}`, f.clk.Now().UTC().Format(time.RFC3339)))
		// Cancelled on the write, not only when the timers come due.
		for i := 0; i < 3; i++ {
			name := fmt.Sprintf("@leads/%d", i)
			if n := f.count(`SELECT COUNT(*) FROM _forma_automation_timers WHERE app = 'crm' AND automation = ? AND record_id = ? AND state = 'cancelled'`, name, id); n != 1 {
				t.Fatalf("%s: timer not cancelled by first contact", name)
			}
		}
		f.tickAt(3 * time.Hour)
		for i := 0; i < 3; i++ {
			if rs := f.runs(fmt.Sprintf("@leads/%d", i), id); len(rs) != 0 {
				t.Fatalf("step %d ran after first contact: %+v", i, rs)
			}
		}
		if ns := append(f.notifications(f.owner.ID), f.notifications(boss.ID)...); len(ns) != 0 {
			t.Fatalf("notified after first contact: %+v", ns)
		}
		if got := fa.got(); len(got) != 0 {
			t.Fatalf("reassigned after first contact: %v", got)
		}
	})
}

func TestCountdownStartMovesTheSteps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f, _, _ := countdownFixture(t, db, "arrived_at")
		now := f.clk.Now().UTC()
		lead := f.create("lead", fmt.Sprintf(`{"name": "Acme", "owner": %q, "arrived_at": %q}`, f.owner.ID, now.Format(time.RFC3339)))
		id := lead.ID()
		// It arrived two hours later than first written: the steps move.
		f.patch("lead", id, fmt.Sprintf(`{"arrived_at": %q}`, now.Add(2*time.Hour).Format(time.RFC3339)))
		f.tickAt(4*time.Hour + time.Minute)
		if rs := f.runs("@leads/0", id); len(rs) != 0 {
			t.Fatalf("reminded at the old time: %+v", rs)
		}
		f.tickAt(2 * time.Hour)
		if run := f.settled("@leads/0", id); run.Status != StatusSucceeded {
			t.Fatalf("remind run = %+v", run)
		}
	})
}

func TestCountdownNames(t *testing.T) {
	for name, want := range map[string]bool{"@leads/0": true, "@leads/12": true, "@leads/": false, "@/0": false, "leads/0": false,
		"@leads/x": false, "@leads/-1": false, "@le ads/0": false, "@leads/0/1": false, "@leads/1234": false} {
		if got := schema.IsCountdownName(name); got != want {
			t.Errorf("IsCountdownName(%q) = %v", name, got)
		}
	}
	long := strings.Repeat("r", 63)
	if n := schema.CountdownName(long, 2); len(n) > 63 || !schema.IsCountdownName(n) || n == schema.CountdownName(long[:62], 2) {
		t.Errorf("CountdownName of a long rule = %q", n)
	}
}
