package assign

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// salesDoc: leads to distribute and the opportunities whose outcomes the
// score reads. Reps read their own leads, managers their team's; the
// indexes are those the statistics and open-load counts read.
const salesDoc = `{"name": "sales", "entities": [
 {"name": "lead", "fields": [
	{"id": "l1", "name": "name", "type": "text"},
	{"id": "l2", "name": "industry", "type": "text"},
	{"id": "l3", "name": "region", "type": "text"},
	{"id": "l4", "name": "stage", "type": "select", "options": ["new", "working", "won", "lost"]},
	{"id": "l5", "name": "contacted_at", "type": "datetime"}],
  "indexes": [{"fields": ["owner", "stage"]}]},
 {"name": "opportunity", "fields": [
	{"id": "o1", "name": "name", "type": "text"},
	{"id": "o2", "name": "industry", "type": "text"},
	{"id": "o3", "name": "stage", "type": "select", "options": ["open", "won", "lost"]},
	{"id": "o4", "name": "closed_at", "type": "datetime"}],
  "indexes": [{"fields": ["industry", "closed_at"]}]}],
 "roles": [
	{"name": "rep", "entities": {"lead": {"read": "own", "update": "own"}, "opportunity": {"read": "own"}}},
	{"name": "manager", "entities": {"lead": {"read": "team", "update": "team"}, "opportunity": {"read": "team"}}}],
 "assignments": [
	{"name": "rr", "entity": "lead", "strategy": "roundRobin", "candidates": {"roles": ["rep"]}},
	{"name": "least", "entity": "lead", "strategy": "leastLoad", "candidates": {"roles": ["rep"]},
	 "open": "stage = \"new\" || stage = \"working\"", "capacity": 3},
	{"name": "score", "entity": "lead", "strategy": "score", "candidates": {"roles": ["rep"]},
	 "open": "stage = \"new\" || stage = \"working\"",
	 "statistics": [
		{"name": "win", "kind": "winRate", "entity": "opportunity", "won": "stage = \"won\"", "closed": "stage in [\"won\", \"lost\"]",
		 "by": "industry", "date": "closed_at", "days": 90},
		{"name": "load", "kind": "openLoad"},
		{"name": "same_region", "kind": "fieldMatch", "field": "region", "attribute": "region"},
		{"name": "skill", "kind": "skillsMatch", "field": "industry"}],
	 "score": "win * 100 + same_region * 0 + skill * 0 - load * 0"},
	{"name": "hours", "entity": "lead", "strategy": "roundRobin", "candidates": {"roles": ["rep"]},
	 "workingHours": {"timeZone": "Asia/Shanghai", "from": "09:00", "to": "18:00"}},
	{"name": "fb", "entity": "lead", "strategy": "roundRobin", "candidates": {"teams": ["west"]},
	 "fallbacks": [{"roles": ["rep"], "condition": "skills ~ \"retail\""}, {"roles": ["manager"]}]},
	{"name": "ab", "entity": "lead", "strategy": "roundRobin", "candidates": {"roles": ["rep"]},
	 "open": "stage = \"new\"",
	 "variants": [{"name": "rr", "weight": 1, "strategy": "roundRobin"}, {"name": "least", "weight": 1, "strategy": "leastLoad"}]}]}`

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday, 17:00 in Shanghai

var reps = []string{"r1", "r2", "r3", "r4", "r5"}

type fixture struct {
	t     testing.TB
	db    *store.DB
	clk   *clock.Test
	cat   *store.Catalog
	recs  *records.Service
	acc   *access.Service
	s     *Service
	app   *schema.App
	users map[string]*access.User // by name
	byID  map[string]string       // id → name
}

// newFixture: reps r1…r5 in team east (manager mia), mia a manager.
func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	return newFixtureDoc(t, db, salesDoc)
}

func newFixtureDoc(t testing.TB, db *store.DB, doc string) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, db: db, clk: clock.NewTest(t0), users: map[string]*access.User{}, byID: map[string]string{}}
	db.Clock = f.clk
	f.open()
	east, err := f.acc.CreateTeamWith(ctx, access.NewTeam{Name: "east"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append([]string{"mia"}, reps...) {
		role := "rep"
		if name == "mia" {
			role = "manager"
		}
		u, err := f.acc.CreateUserWith(ctx, access.NewUser{Email: name + "@example.com", Password: "a long password", Name: name, Roles: []string{role}, TeamID: east.ID})
		if err != nil {
			t.Fatal(err)
		}
		f.users[name], f.byID[u.ID] = u, name
	}
	if _, err := f.acc.UpdateTeam(ctx, east.ID, access.TeamUpdate{ManagerID: ptrTo(f.users["mia"].ID)}); err != nil {
		t.Fatal(err)
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
	if f.app, err = f.cat.App(ctx, "sales"); err != nil {
		t.Fatal(err)
	}
	return f
}

func ptrTo[T any](v T) *T { return &v }

// open makes the services over f.db: a new one is a restarted server.
func (f *fixture) open() {
	ctx := context.Background()
	var err error
	if f.acc, err = access.New(ctx, f.db, access.Options{BcryptCost: bcrypt.MinCost}); err != nil {
		f.t.Fatal(err)
	}
	f.cat = store.NewCatalog(f.db)
	f.recs = records.New(f.db, f.cat)
	f.s = New(f.db, f.cat, f.recs, f.acc, nil, slog.New(slog.DiscardHandler))
	if err := f.s.Register(ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) as(name string) records.Caller {
	u := f.users[name]
	return records.Caller{UserID: u.ID, Roles: u.Roles, TeamID: u.TeamID}
}

var admin = records.Caller{Admin: true}

// create makes a record as the admin.
func (f *fixture) create(entity, body string) string {
	f.t.Helper()
	r, err := f.recs.Create(context.Background(), admin, "sales", entity, []byte(body))
	if err != nil {
		f.t.Fatalf("create %s: %v", body, err)
	}
	return r.ID()
}

func (f *fixture) assign(rule, id string) *Decision {
	f.t.Helper()
	d, err := f.s.Assign(context.Background(), f.app, rule, id, Options{Caller: records.Caller{Admin: true, Path: records.PathSystem}})
	if err != nil {
		f.t.Fatalf("assign %s by %s: %v", id, rule, err)
	}
	return d
}

// owner is the name of the record's owner.
func (f *fixture) owner(id string) string {
	f.t.Helper()
	r, err := f.recs.Get(context.Background(), admin, "sales", "lead", id, "", "")
	if err != nil {
		f.t.Fatal(err)
	}
	o, _ := r.Get("owner").(string)
	return f.byID[o]
}

// away marks name away (for good).
func (f *fixture) setProfile(name string, p access.Profile) {
	f.t.Helper()
	if _, err := f.acc.UpdateUser(context.Background(), f.users[name].ID, access.UserUpdate{Profile: &p}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) lead(industry string) string {
	return f.create("lead", fmt.Sprintf(`{"name": "Lead", "industry": %q, "stage": "new"}`, industry))
}
