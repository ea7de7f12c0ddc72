package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// goldenApp is issue 14 end to end with the real assignment core: leads
// in energy go to a rep round-robin by "inbound" (with the golden-hours
// countdown: remind at 4h, the manager at 5h, reassign at 6h, until
// contacted_at is set); leads in retail go to the pool "hot" of "pooled",
// which only the east team may take from. Both by automations on created.
const goldenApp = `{"name": "sales", "entities": [
  {"name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text"},
    {"id": "l2", "name": "industry", "type": "select", "options": ["energy", "retail"]},
    {"id": "l3", "name": "contacted_at", "type": "datetime"}]}],
 "roles": [
  {"name": "rep", "entities": {"lead": {"read": "own", "update": "own"}}},
  {"name": "manager", "entities": {"lead": {"read": "team", "update": "team"}}}],
 "assignments": [
  {"name": "inbound", "entity": "lead", "strategy": "roundRobin", "candidates": {"roles": ["rep"]},
   "countdown": {"until": "contacted_at", "within": "4h", "steps": [
     {"after": "4h", "do": "remind", "message": "Call {{name}}"},
     {"after": "5h", "do": "notifyManager"},
     {"after": "6h", "do": "reassign"}]}},
  {"name": "pooled", "entity": "lead", "strategy": "roundRobin", "candidates": {"roles": ["rep"]},
   "pool": {"name": "hot", "eligible": {"teams": ["east"]}, "dailyLimit": 5, "deadline": "2h"}}],
 "automations": [
  {"name": "route", "entity": "lead", "trigger": {"type": "created"}, "condition": "industry = \"energy\"",
   "actions": [{"type": "assign", "rule": "inbound"}]},
  {"name": "route_hot", "entity": "lead", "trigger": {"type": "created"}, "condition": "industry = \"retail\"",
   "actions": [{"type": "assign", "rule": "pooled"}]}]}`

var goldenT0 = time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)

// goldenEnv is the API with a job queue on the test clock: mia manages the
// east team (ray and rita, reps); olga is a rep of no team.
type goldenEnv struct {
	*env
	clk *clock.Test
	ids map[string]string
}

func newGoldenEnv(t *testing.T, db *store.DB) *goldenEnv {
	clk := clock.NewTest(goldenT0)
	db.Clock = clk
	g := &goldenEnv{env: newEnvJobs(t, db, goldenApp, &jobs.Options{}), clk: clk, ids: map[string]string{}}
	ctx := context.Background()
	team, err := g.acc.CreateTeamWith(ctx, access.NewTeam{Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ name, role, team string }{{"mia", "manager", team.ID}, {"ray", "rep", team.ID}, {"rita", "rep", team.ID}, {"olga", "rep", ""}} {
		user, err := g.acc.CreateUserWith(ctx, access.NewUser{Email: u.name + "@example.com", Password: adminPassword, Name: u.name, Roles: []string{u.role}, TeamID: u.team})
		if err != nil {
			t.Fatal(err)
		}
		g.ids[u.name] = user.ID
	}
	mia := g.ids["mia"]
	if _, err := g.acc.UpdateTeam(ctx, team.ID, access.TeamUpdate{ManagerID: &mia}); err != nil {
		t.Fatal(err)
	}
	return g
}

// as is a fresh session of the user (the test clock outruns sessions).
func (g *goldenEnv) as(name string) string {
	g.t.Helper()
	if name == "admin" {
		return g.login(adminEmail, adminPassword)
	}
	return g.login(name+"@example.com", adminPassword)
}

// decisions is the record's assignment log, as the admin sees it.
func (g *goldenEnv) decisions(id string) []map[string]any {
	g.t.Helper()
	st, body := g.doAs(g.as("admin"), "GET", "/api/data/sales/lead/"+id+"/assignments", nil)
	if st != 200 {
		g.t.Fatalf("assignments of %s: %d %v", id, st, body)
	}
	return items(g.t, body)
}

// notes are the user's notifications about the record.
func (g *goldenEnv) notes(user, id string) []map[string]any {
	g.t.Helper()
	st, body := g.doAs(g.as(user), "GET", "/api/me/notifications", nil)
	if st != 200 {
		g.t.Fatalf("notifications of %s: %d %v", user, st, body)
	}
	var out []map[string]any
	for _, n := range items(g.t, body) {
		if str(n["recordId"]) == id {
			out = append(out, n)
		}
	}
	return out
}

// tickTo moves the clock to T0+d and fires what is due.
func (g *goldenEnv) tickTo(d time.Duration) {
	g.t.Helper()
	g.clk.Set(goldenT0.Add(d))
	if err := g.autos.Tick(context.Background()); err != nil {
		g.t.Fatalf("tick: %v", err)
	}
}

// settledRuns waits until the runs of the countdown step n for the record are
// all finished, and returns how many there are.
func (g *goldenEnv) settledRuns(step, id string) int {
	g.t.Helper()
	var n int
	g.eventually("runs of "+step, func() bool {
		st, body := g.doAs(g.as("admin"), "GET", "/api/meta/apps/sales/automations/"+q(step)+"/runs?record="+id, nil)
		if st != 200 {
			g.t.Fatalf("runs of %s: %d %v", step, st, body)
		}
		its := items(g.t, body)
		n = len(its)
		for _, it := range its {
			if it["status"] == "running" {
				return false
			}
			if it["status"] != "succeeded" {
				g.t.Fatalf("run of %s: %v", step, it)
			}
		}
		return true
	})
	return n
}

func (g *goldenEnv) owner(id string) string {
	return str(g.get("sales/lead", id)["owner"])
}

func TestAssignGoldenHoursEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		g := newGoldenEnv(t, db)
		reps := map[string]string{g.ids["ray"]: "ray", g.ids["rita"]: "rita", g.ids["olga"]: "olga"}
		late := str(g.create("sales/lead", map[string]any{"name": "Acme", "industry": "energy"})["id"])
		early := str(g.create("sales/lead", map[string]any{"name": "Brio", "industry": "energy"})["id"])

		// At once: each lead has a rep, by the automation, with the reason logged.
		for _, id := range []string{late, early} {
			g.eventually("the automation assigns "+id, func() bool { return len(g.decisions(id)) > 0 })
			ds := g.decisions(id)
			d := ds[0]
			if len(ds) != 1 || reps[str(d["winner"])] == "" || d["path"] != "automation" || d["rule"] != "inbound" ||
				d["strategy"] != "roundRobin" || str(d["reason"]) == "" || d["candidates"] == nil {
				t.Fatalf("first decision of %s: %v", id, ds)
			}
			if g.owner(id) != str(d["winner"]) {
				t.Fatalf("owner %s, decision %v", g.owner(id), d)
			}
			_, body := g.do("GET", "/api/data/sales/lead/"+id+"/history", nil)
			if h := mustJSON(body); !strings.Contains(h, `"automation"`) {
				t.Fatalf("history of %s has no automation entry: %s", id, h)
			}
		}
		// The countdown needs a manager over the owner: put both leads with
		// east reps (an admin reassignment when round-robin chose olga).
		for _, id := range []string{late, early} {
			if reps[g.owner(id)] == "olga" {
				if st, body := g.do("POST", "/api/data/sales/lead/"+id+"/assign", map[string]any{"to": g.ids["ray"], "reason": "east covers energy"}); st != 200 {
					t.Fatalf("admin reassign: %d %v", st, body)
				}
			}
		}
		first := g.owner(late)
		firstName := reps[first]
		logged := len(g.decisions(late))

		// 3h59m: Brio is contacted.
		g.tickTo(3*time.Hour + 59*time.Minute)
		brioOwner, brioLogged := g.owner(early), len(g.decisions(early))
		if st, body := g.do("PATCH", "/api/data/sales/lead/"+early, map[string]any{"contacted_at": goldenT0.Add(3*time.Hour + 59*time.Minute).Format(time.RFC3339), "version": g.get("sales/lead", early)["version"]}); st != 200 {
			t.Fatalf("contact: %d %v", st, body)
		}

		// 4h: Acme's owner is reminded.
		g.tickTo(4 * time.Hour)
		if n := g.settledRuns("@inbound/0", late); n != 1 {
			t.Fatalf("remind runs: %d", n)
		}
		if ns := g.notes(firstName, late); len(ns) != 1 || ns[0]["message"] != "Call Acme" {
			t.Fatalf("owner's reminder: %v", ns)
		}
		if ns := g.notes("mia", late); len(ns) != 0 {
			t.Fatalf("the manager was told at 4h: %v", ns)
		}
		// 5h: the manager of the owner's team.
		g.tickTo(5 * time.Hour)
		if n := g.settledRuns("@inbound/1", late); n != 1 {
			t.Fatalf("manager runs: %d", n)
		}
		if ns := g.notes("mia", late); len(ns) != 1 || !strings.Contains(str(ns[0]["message"]), "5h") {
			t.Fatalf("manager's notice: %v", ns)
		}
		if g.owner(late) != first {
			t.Fatal("reassigned before 6h")
		}
		// 6h: another rep has it, by the rule, logged and in the history.
		g.tickTo(6 * time.Hour)
		if n := g.settledRuns("@inbound/2", late); n != 1 {
			t.Fatalf("reassign runs: %d", n)
		}
		now := g.owner(late)
		if now == first || reps[now] == "" {
			t.Fatalf("after 6h the lead is %q's (was %q's)", now, first)
		}
		ds := g.decisions(late)
		if len(ds) != logged+1 || str(ds[0]["winner"]) != now || str(ds[0]["previous"]) != first || ds[0]["rule"] != "inbound" {
			t.Fatalf("reassignment decision: %v", ds)
		}
		_, body := g.do("GET", "/api/data/sales/lead/"+late+"/history", nil)
		if h := mustJSON(body); !strings.Contains(h, now) {
			t.Fatalf("history has no reassignment: %s", h)
		}

		// Brio, contacted at 3h59m, got none of the three.
		g.tickTo(8 * time.Hour)
		for _, step := range []string{"@inbound/0", "@inbound/1", "@inbound/2"} {
			if n := g.settledRuns(step, early); n != 0 {
				t.Fatalf("%s ran for the contacted lead", step)
			}
		}
		// A step's run log answers to its escaped name only: other names are 404.
		for _, bad := range []string{"@inbound/x", "../inbound", "@inbound/0' OR 1=1 --", "%ZZ"} {
			st, body := g.do("GET", "/api/meta/apps/sales/automations/"+q(bad)+"/runs", nil)
			wantErr(t, "runs of "+bad, st, body, 404, "not_found")
		}
		if ns := g.notes(reps[brioOwner], early); len(ns) != 0 {
			t.Fatalf("the contacted lead's owner was reminded: %v", ns)
		}
		if ns := g.notes("mia", early); len(ns) != 0 {
			t.Fatalf("the manager was told about the contacted lead: %v", ns)
		}
		if g.owner(early) != brioOwner || len(g.decisions(early)) != brioLogged {
			t.Fatalf("the contacted lead moved: %s → %s, %v", brioOwner, g.owner(early), g.decisions(early))
		}
	})
}

func TestAssignPoolEndToEnd(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		g := newGoldenEnv(t, db)
		id := str(g.create("sales/lead", map[string]any{"name": "Cora", "industry": "retail"})["id"])
		admin := g.as("admin")

		// The automation puts it in the pool: the east reps see it there.
		ray, olga, rita, mia := g.as("ray"), g.as("olga"), g.as("rita"), g.as("mia")
		g.eventually("the lead enters the pool", func() bool {
			st, body := g.doAs(ray, "GET", "/api/data/sales/lead?pool=hot", nil)
			return st == 200 && len(items(t, body)) == 1
		})
		if ds := g.decisions(id); len(ds) != 1 || ds[0]["pool"] != "hot" || ds[0]["winner"] != nil || ds[0]["path"] != "automation" {
			t.Fatalf("pool decision: %v", ds)
		}
		if g.owner(id) != g.admin.ID {
			t.Fatalf("a pooled lead has an owner: %s", g.owner(id))
		}

		// Olga (no team) is not eligible: the pool and the claim are 404.
		st, body := g.doAs(olga, "GET", "/api/data/sales/lead?pool=hot", nil)
		wantErr(t, "ineligible pool", st, body, 404, "pool_not_found")
		st, body = g.doAs(olga, "POST", "/api/data/sales/lead/"+id+"/claim", nil)
		wantErr(t, "ineligible claim", st, body, 404, "not_found")

		// Ray claims it.
		st, body = g.doAs(ray, "POST", "/api/data/sales/lead/"+id+"/claim", nil)
		if rec, _ := body["record"].(map[string]any); st != 200 || rec == nil || str(rec["owner"]) != g.ids["ray"] {
			t.Fatalf("claim: %d %v", st, body)
		}
		if ds := g.decisions(id); len(ds) != 2 || ds[0]["strategy"] != "claim" || str(ds[0]["winner"]) != g.ids["ray"] {
			t.Fatalf("claim decision: %v", ds)
		}
		st, body = g.doAs(rita, "POST", "/api/data/sales/lead/"+id+"/claim", nil)
		wantErr(t, "second claim", st, body, 409, "already_claimed")

		// A rep cannot reassign, not even their own lead; the manager can, with a reason.
		st, body = g.doAs(ray, "POST", "/api/data/sales/lead/"+id+"/assign", map[string]any{"to": g.ids["rita"], "reason": "too busy"})
		wantErr(t, "rep reassigns", st, body, 403, "forbidden")
		if g.owner(id) != g.ids["ray"] {
			t.Fatal("a refused reassignment moved the lead")
		}
		st, body = g.doAs(mia, "POST", "/api/data/sales/lead/"+id+"/assign", map[string]any{"to": g.ids["rita"], "reason": "rita speaks Portuguese"})
		if st != 200 || g.owner(id) != g.ids["rita"] {
			t.Fatalf("manager reassigns: %d %v", st, body)
		}
		_, body = g.doAs(admin, "GET", "/api/data/sales/lead/"+id+"/history", nil)
		if h := mustJSON(body); !strings.Contains(h, "rita speaks Portuguese") {
			t.Fatalf("history: %s", h)
		}
		if ds := g.decisions(id); len(ds) != 3 || ds[0]["strategy"] != "manual" || ds[0]["note"] != "rita speaks Portuguese" {
			t.Fatalf("manual decision: %v", ds)
		}
	})
}

func TestAssignActionDryRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		g := newGoldenEnv(t, db)
		id := str(g.create("sales/lead", map[string]any{"name": "Dora"})["id"]) // no industry: no automation runs
		before := g.get("sales/lead", id)
		for _, name := range []string{"route", "route_hot"} {
			st, body := g.do("POST", "/api/meta/apps/sales/automations/"+name+"/test", map[string]any{"id": id})
			acts, _ := body["actions"].([]any)
			if st != 200 || len(acts) != 1 {
				t.Fatalf("dry run of %s: %d %v", name, st, body)
			}
			act := acts[0].(map[string]any)
			eff, _ := act["effect"].(map[string]any)
			if act["ok"] != true || act["type"] != "assign" || eff == nil || eff["rule"] == nil || str(eff["reason"]) == "" {
				t.Fatalf("dry run of %s: %v", name, body)
			}
			if name == "route" && winnerName(g, eff) == "" {
				t.Fatalf("dry run of route names no winner: %v", eff)
			}
			if name == "route_hot" && eff["pool"] != "hot" {
				t.Fatalf("dry run of route_hot names no pool: %v", eff)
			}
		}
		if after := g.get("sales/lead", id); mustJSON(after) != mustJSON(before) {
			t.Fatalf("a dry run wrote: %v → %v", before, after)
		}
		if ds := g.decisions(id); len(ds) != 0 {
			t.Fatalf("a dry run logged: %v", ds)
		}
		if st, body := g.doAs(g.as("ray"), "GET", "/api/data/sales/lead?pool=hot", nil); st != 200 || len(items(t, body)) != 0 {
			t.Fatalf("a dry run pooled: %d %v", st, body)
		}
	})
}

func winnerName(g *goldenEnv, d map[string]any) string {
	w := str(d["winner"])
	for _, n := range []string{"ray", "rita", "olga"} {
		if g.ids[n] == w {
			return n
		}
	}
	return ""
}
