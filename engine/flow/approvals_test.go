package flow

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// salesDoc: reps own their quotes (and see their team's leads), managers
// see their team's, directors and finance see every quote. Submitting a
// quote asks its owner's manager above 10% discount and adds a director
// above 20%; booking it needs 2 of 3 finance approvals within 48h (or it
// is rejected); "special" asks reps and finance; a lead is handed over
// with two signatures.
const salesDoc = `{"name": "sales", "entities": [
 {"id": "e1", "name": "quote", "fields": [
	{"id": "q1", "name": "title", "type": "text"},
	{"id": "q2", "name": "discount", "type": "integer"},
	{"id": "q3", "name": "stage", "type": "select", "options": ["draft", "approved", "booked"]},
	{"id": "q4", "name": "secret", "type": "text"}]},
 {"id": "e2", "name": "lead", "fields": [
	{"id": "l1", "name": "name", "type": "text"},
	{"id": "l2", "name": "stage", "type": "select", "options": ["new", "working"]},
	{"id": "l3", "name": "receiver", "type": "user"},
	{"id": "l4", "name": "core_needs", "type": "longtext"},
	{"id": "l5", "name": "blocker", "type": "longtext"},
	{"id": "l6", "name": "approach", "type": "longtext"}]}],
 "roles": [
	{"name": "rep", "entities": {
		"quote": {"create": "own", "read": "own", "update": "own"},
		"lead": {"create": "own", "read": "team", "update": "own"}}},
	{"name": "manager", "entities": {
		"quote": {"read": "team", "update": "team"}, "lead": {"read": "team", "update": "team"}}},
	{"name": "director", "entities": {"quote": {"read": "all", "update": "all", "fields": {"title": "hidden"}}}},
	{"name": "finance", "entities": {"quote": {"read": "all"}}}],
 "flows": [
	{"name": "quoting", "entity": "quote", "field": "stage",
	 "states": [{"name": "draft"}, {"name": "approved"}, {"name": "booked", "final": true}],
	 "transitions": [
		{"name": "submit", "label": "Submit for approval", "from": ["draft"], "to": "approved", "guard": "discount < 50", "approval": {"steps": [
			{"name": "manager", "approvers": {"manager": true}, "condition": "discount > 10", "deadline": "24h", "escalate": {"then": "next"}},
			{"name": "director", "approvers": {"roles": ["director"]}, "condition": "discount > 20"}]}},
		{"name": "book", "from": ["approved"], "to": "booked", "approval": {"steps": [
			{"name": "finance", "approvers": {"roles": ["finance"]}, "mode": "quorum", "quorum": 2, "deadline": "48h", "escalate": {"then": "reject"}}]}},
		{"name": "special", "from": ["draft"], "to": "approved", "approval": {"steps": [
			{"name": "anyone", "approvers": {"roles": ["rep", "finance"]}, "deadline": "4h",
			 "escalate": {"then": "notify", "notify": {"users": ["vic@example.com"]}}}]}}]},
	{"name": "leads", "entity": "lead", "field": "stage",
	 "states": [{"name": "new"}, {"name": "working"}],
	 "transitions": [
		{"name": "hand_over", "from": ["new", "working"], "to": "working", "handover": {"receiver": "receiver"},
		 "fields": [{"field": "receiver", "required": true}, {"field": "core_needs", "required": true},
			{"field": "blocker", "required": true}, {"field": "approach", "required": true}]}]}]}`

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type fixture struct {
	t     *testing.T
	db    *store.DB
	clk   *clock.Test
	cat   *store.Catalog
	recs  *records.Service
	acc   *access.Service
	notes *notify.Service
	s     *Service
	users map[string]*access.User // by first name
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, db: db, clk: clock.NewTest(t0), users: map[string]*access.User{}}
	db.Clock = f.clk
	var err error
	if f.acc, err = access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost}); err != nil {
		t.Fatal(err)
	}
	f.cat = store.NewCatalog(db)
	f.recs = records.New(db, f.cat)
	f.notes = notify.New(db, f.acc)
	f.s = New(db, f.cat, f.recs, f.acc, nil, slog.New(slog.DiscardHandler))
	f.s.UseNotify(f.notes)
	if err := f.s.Register(ctx); err != nil {
		t.Fatal(err)
	}
	roles := map[string][]string{"ray": {"rep"}, "rita": {"rep"}, "mia": {"manager"}, "vic": {"manager"},
		"dora": {"director"}, "ops1": {"finance"}, "ops2": {"finance"}, "ops3": {"finance"}}
	for _, name := range []string{"ray", "rita", "mia", "vic", "dora", "ops1", "ops2", "ops3"} {
		u, err := f.acc.CreateUserWith(ctx, access.NewUser{Email: name + "@example.com", Password: "a long password", Name: name, Roles: roles[name]})
		if err != nil {
			t.Fatal(err)
		}
		f.users[name] = u
	}
	// region (manager vic) ⊃ east (manager mia): ray and rita sell in
	// east, mia belongs to region.
	region, err := f.acc.CreateTeamWith(ctx, access.NewTeam{Name: "region", ManagerID: f.users["vic"].ID})
	if err != nil {
		t.Fatal(err)
	}
	east, err := f.acc.CreateTeamWith(ctx, access.NewTeam{Name: "east", ParentID: region.ID, ManagerID: f.users["mia"].ID})
	if err != nil {
		t.Fatal(err)
	}
	for name, team := range map[string]string{"ray": east.ID, "rita": east.ID, "mia": region.ID, "vic": region.ID} {
		u, err := f.acc.UpdateUser(ctx, f.users[name].ID, access.UserUpdate{TeamID: &team})
		if err != nil {
			t.Fatal(err)
		}
		f.users[name] = u
	}
	app, problems := schema.Parse([]byte(salesDoc))
	if len(problems) > 0 {
		t.Fatalf("parse: %v", problems)
	}
	if p := f.s.CheckApp(ctx, app); len(p) > 0 {
		t.Fatalf("check: %v", p)
	}
	if _, _, err := f.recs.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) as(name string) records.Caller {
	u := f.users[name]
	return records.Caller{UserID: u.ID, Roles: u.Roles, TeamID: u.TeamID}
}

func (f *fixture) id(name string) string { return f.users[name].ID }

// create makes a record owned by owner.
func (f *fixture) create(entity, owner, body string) string {
	f.t.Helper()
	r, err := f.recs.Create(context.Background(), f.as(owner), "sales", entity, []byte(body))
	if err != nil {
		f.t.Fatalf("create %s: %v", body, err)
	}
	return r.ID()
}

// request takes an approval or hand-over transition (Take).
func (f *fixture) request(who, entity, id, name string, fields map[string]any, comment string) (*ApprovalView, error) {
	raw := map[string]json.RawMessage{}
	for k, v := range fields {
		b, _ := json.Marshal(v)
		raw[k] = b
	}
	taken, err := f.s.Take(context.Background(), f.as(who), "sales", entity, id, name, TakeRequest{Fields: raw, Comment: comment})
	if err != nil {
		return nil, err
	}
	if taken.Approval == nil {
		f.t.Fatalf("%s took %s at once", who, name)
	}
	return taken.Approval, nil
}

// takeAtOnce submits a quote no approval step applies to.
func (f *fixture) takeAtOnce(q string) {
	f.t.Helper()
	taken, err := f.s.Take(context.Background(), f.as("ray"), "sales", "quote", q, "submit", TakeRequest{})
	if err != nil || taken.Record == nil || stateOf(taken.Record, "stage") != "approved" {
		f.t.Fatalf("submit with no step applying: %+v, %v", taken, err)
	}
	if p, _ := f.s.pendingTx(context.Background(), f.db.Pool(), "sales", "quote", q); p != nil {
		f.t.Fatalf("pending after a move at once: %+v", p)
	}
}

func (f *fixture) mustRequest(who, entity, id, name string, fields map[string]any) *ApprovalView {
	f.t.Helper()
	v, err := f.request(who, entity, id, name, fields, "please")
	if err != nil {
		f.t.Fatalf("request %s by %s: %v", name, who, err)
	}
	return v
}

func (f *fixture) view(who, id string) *ApprovalView {
	f.t.Helper()
	v, err := f.s.Approval(context.Background(), f.as(who), id)
	if err != nil {
		f.t.Fatalf("%s reads approval: %v", who, err)
	}
	return v
}

func (f *fixture) decide(who, id, decision string, in DecisionInput) (*ApprovalView, error) {
	if in.Version == 0 {
		r, err := f.s.load(context.Background(), f.db.Pool(), id)
		if err != nil || r == nil {
			f.t.Fatalf("load %s: %v", id, err)
		}
		in.Version = r.Version
	}
	return f.s.Decide(context.Background(), f.as(who), id, decision, in)
}

func (f *fixture) mustDecide(who, id, decision, comment string) *ApprovalView {
	f.t.Helper()
	v, err := f.decide(who, id, decision, DecisionInput{Comment: comment})
	if err != nil {
		f.t.Fatalf("%s %s: %v", who, decision, err)
	}
	return v
}

func (f *fixture) record(entity, id string) *records.Record {
	f.t.Helper()
	r, err := f.recs.Get(context.Background(), records.Caller{Admin: true}, "sales", entity, id, "", "")
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) state(entity, id string) string { return stateOf(f.record(entity, id), "stage") }

// history returns the record's history as "op:actor name:comment", oldest first.
func (f *fixture) history(entity, id string) []string {
	f.t.Helper()
	rows, err := f.db.Pool().QueryContext(context.Background(), `SELECT "op", COALESCE("actor", ''), COALESCE("comment", '') FROM _forma_history WHERE "entity" = ? AND "record_id" = ? ORDER BY "id"`, entity, id)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	names := map[string]string{}
	for n, u := range f.users {
		names[u.ID] = n
	}
	var out []string
	for rows.Next() {
		var op, actor, comment string
		if err := rows.Scan(&op, &actor, &comment); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, op+":"+names[actor]+":"+comment)
	}
	return out
}

// pending names whose open task the current step holds.
func (f *fixture) openNames(v *ApprovalView) []string {
	names := map[string]string{}
	for n, u := range f.users {
		names[u.ID] = n
	}
	var out []string
	if v.Status != StatusPending {
		return out
	}
	for _, a := range v.Steps[v.Step].Approvers {
		if a.Decision == "" {
			out = append(out, names[a.UserID])
		}
	}
	return out
}

func wantStatus(t *testing.T, err error, status int, path string) {
	t.Helper()
	var re *records.Error
	if !errors.As(err, &re) || re.Status != status {
		t.Fatalf("got %v, want a %d", err, status)
	}
	if path != "" && (len(re.Details) == 0 || re.Details[0].Path != path) {
		t.Fatalf("got %v (details %v), want a problem at %s", err, re.Details, path)
	}
}

func (f *fixture) inbox(who, status string) []*ApprovalView {
	f.t.Helper()
	p, err := f.s.Inbox(context.Background(), f.as(who), status, 0, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return p.Items
}

func join(s []string) string { return strings.Join(s, ",") }

// The discount chain: 5% needs nobody, 15% the manager (who delegates),
// 25% the manager and then the director, who rejects once (the quote stays
// in draft) and approves the next request.
func TestDiscountChain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		// 15%: the manager of ray's team, mia; the director step is skipped.
		q15 := f.create("quote", "ray", `{"title": "Acme 15", "discount": 15}`)
		v := f.mustRequest("ray", "quote", q15, "submit", nil)
		if v.Status != StatusPending || v.Step != 0 || join(f.openNames(v)) != "mia" || v.Title != "Acme 15" || v.From != "draft" || v.To != "approved" {
			t.Fatalf("15%% request: %+v (open %v)", v, f.openNames(v))
		}
		if v.Steps[1].Status != stepWaiting {
			t.Fatalf("director step before it is reached: %s", v.Steps[1].Status)
		}
		if _, err := f.request("ray", "quote", q15, "submit", nil, ""); err == nil {
			t.Fatal("a second request while one is pending was accepted")
		} else {
			wantStatus(t, err, 422, "/pending")
		}
		if got := f.inbox("mia", InboxPending); len(got) != 1 || got[0].ID != v.ID || !got[0].CanDecide {
			t.Fatalf("mia's inbox: %+v", got)
		}
		if got := f.inbox("ray", InboxMine); len(got) != 1 || got[0].CanDecide {
			t.Fatalf("ray's requests: %+v", got)
		}
		// mia delegates to vic (recorded); vic approves: the last step, so
		// the quote moves.
		d, err := f.decide("mia", v.ID, Delegate, DecisionInput{To: "VIC@example.com", Comment: "on leave"})
		if err != nil {
			t.Fatal(err)
		}
		if d.Steps[0].Approvers[0].Decision != DecisionDelegated || d.Steps[0].Approvers[0].DelegatedTo != f.id("vic") || d.CanDecide {
			t.Fatalf("after delegation: %+v", d.Steps[0].Approvers)
		}
		if got := f.inbox("vic", InboxPending); len(got) != 1 {
			t.Fatalf("vic's inbox after the delegation: %+v", got)
		}
		a := f.mustDecide("vic", v.ID, Approve, "fine")
		if a.Status != StatusApproved || a.DecidedAt == nil || a.Steps[1].Status != stepSkipped {
			t.Fatalf("after vic approves: %+v", a)
		}
		if st := f.state("quote", q15); st != "approved" {
			t.Fatalf("quote state %q, want approved", st)
		}
		if got := f.inbox("mia", InboxDecided); len(got) != 1 {
			t.Fatalf("mia's decided: %+v", got)
		}
		h := join(f.history("quote", q15))
		if !strings.Contains(h, "request:ray:please,delegate:mia:on leave,approve:vic:fine") {
			t.Fatalf("history: %s", h)
		}

		// 25%: mia, then the director; dora rejects (a comment is required).
		q25 := f.create("quote", "ray", `{"title": "Acme 25", "discount": 25}`)
		v = f.mustRequest("ray", "quote", q25, "submit", nil)
		v = f.mustDecide("mia", v.ID, Approve, "")
		if v.Status != StatusPending || v.Step != 1 || v.Steps[0].Status != StatusApproved {
			t.Fatalf("after mia: %+v", v)
		}
		if dv := f.view("dora", v.ID); join(f.openNames(dv)) != "dora" || dv.Title != "" || !dv.CanDecide {
			t.Fatalf("dora's view (title hidden from directors): %+v", dv)
		}
		if _, err := f.decide("dora", v.ID, Reject, DecisionInput{Comment: "  "}); err == nil {
			t.Fatal("a rejection without a comment passed")
		} else {
			wantStatus(t, err, 422, "/comment")
		}
		r := f.mustDecide("dora", v.ID, Reject, "25% is too much for Acme")
		if r.Status != StatusRejected || r.Steps[1].Status != StatusRejected {
			t.Fatalf("after dora rejects: %+v", r)
		}
		if st := f.state("quote", q25); st != "draft" {
			t.Fatalf("a rejected quote moved to %q", st)
		}
		if n, _ := f.notes.Unread(context.Background(), f.id("ray")); n == 0 {
			t.Fatal("the requester was not told of the rejection")
		}
		// A new request: both approve, the quote moves.
		v = f.mustRequest("ray", "quote", q25, "submit", nil)
		f.mustDecide("mia", v.ID, Approve, "")
		if a := f.mustDecide("dora", v.ID, Approve, "ok"); a.Status != StatusApproved {
			t.Fatalf("second 25%% request: %+v", a)
		}
		if st := f.state("quote", q25); st != "approved" {
			t.Fatalf("quote state %q, want approved", st)
		}
		// Every decision is in the audit log.
		var n int
		if err := db.Pool().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM _forma_audit WHERE "action" LIKE 'approval_%'`).Scan(&n); err != nil || n != 9 {
			t.Fatalf("audit entries: %d (%v), want 9", n, err)
		}
	})
}

// A step raised while pending is not passed by: the director step skipped
// at request time applies once the discount is raised.
func TestConditionReadWhenReached(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		q := f.create("quote", "ray", `{"title": "Sneaky", "discount": 15}`)
		v := f.mustRequest("ray", "quote", q, "submit", nil)
		rec := f.record("quote", q)
		if _, err := f.recs.Patch(context.Background(), f.as("ray"), "sales", "quote", q, []byte(`{"discount": 30, "version": `+jsonOf(rec.Get("version"))+`}`)); err != nil {
			t.Fatal(err)
		}
		v = f.mustDecide("mia", v.ID, Approve, "")
		if v.Status != StatusPending || v.Step != 1 || join(f.openNames(v)) != "dora" {
			t.Fatalf("after the discount was raised: %+v", v)
		}
	})
}

// The guard is checked again when the last step approves: refused, the
// request stays pending and the approver may decide again.
func TestCompletionRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		q := f.create("quote", "ray", `{"title": "Greedy", "discount": 15}`)
		v := f.mustRequest("ray", "quote", q, "submit", nil)
		f.patch(q, `{"discount": 60}`)
		// 60% now also needs the director.
		f.mustDecide("mia", v.ID, Approve, "")
		before := f.snapshot("quote", q, v.ID)
		_, err := f.decide("dora", v.ID, Approve, DecisionInput{Comment: "ok"})
		wantStatus(t, err, 422, "/guard")
		if w := f.view("dora", v.ID); w.Status != StatusPending || w.Step != 1 || !w.CanDecide || f.state("quote", q) != "draft" {
			t.Fatalf("after the refused completion: %+v, state %s", w, f.state("quote", q))
		}
		// Nothing of dora's refused approval is recorded: no history entry
		// (the quote's history does not say "approve" for a request that is
		// still pending), no notification, the same request version.
		if after := f.snapshot("quote", q, v.ID); !after.same(before) {
			t.Fatalf("the refused completion left traces:\nbefore %+v\nafter  %+v", before, after)
		}
		f.patch(q, `{"discount": 45}`)
		if a := f.mustDecide("dora", v.ID, Approve, ""); a.Status != StatusApproved || f.state("quote", q) != "approved" {
			t.Fatalf("approved again: %+v", a)
		}
	})
}

func (f *fixture) patch(q, body string) {
	f.t.Helper()
	rec := f.record("quote", q)
	body = strings.Replace(body, "{", `{"version": `+jsonOf(rec.Get("version"))+", ", 1)
	if _, err := f.recs.Patch(context.Background(), records.Caller{Admin: true}, "sales", "quote", q, []byte(body)); err != nil {
		f.t.Fatal(err)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// A step past its deadline escalates through Tick: next (the manager
// above joins) and reject (automatically, with the reason in history).
func TestEscalation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		q := f.create("quote", "ray", `{"title": "Slow", "discount": 15}`)
		v := f.mustRequest("ray", "quote", q, "submit", nil)
		if v.Steps[0].Deadline == nil || !v.Steps[0].Deadline.Equal(t0.Add(24*time.Hour)) {
			t.Fatalf("deadline: %v", v.Steps[0].Deadline)
		}
		f.clk.Advance(23 * time.Hour)
		if err := f.s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := join(f.openNames(f.view("ray", v.ID))); got != "mia" {
			t.Fatalf("escalated early: %s", got)
		}
		f.clk.Advance(2 * time.Hour)
		if err := f.s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		e := f.view("ray", v.ID)
		if got := join(f.openNames(e)); got != "mia,vic" && got != "vic,mia" {
			t.Fatalf("after the deadline: open %s", got)
		}
		if e.Steps[0].Deadline == nil || !e.Steps[0].Deadline.Equal(t0.Add(49*time.Hour)) {
			t.Fatalf("the escalated step's deadline: %v", e.Steps[0].Deadline)
		}
		if n, _ := f.notes.Unread(ctx, f.id("vic")); n == 0 {
			t.Fatal("vic was not told")
		}
		if err := f.s.Tick(ctx); err != nil { // nothing more is due
			t.Fatal(err)
		}
		if a := f.mustDecide("vic", v.ID, Approve, ""); a.Status != StatusApproved {
			t.Fatalf("vic approves: %+v", a)
		}

		// special: 4h later vic is told, once, and the step keeps waiting.
		q2 := f.create("quote", "ray", `{"title": "Special"}`)
		sp := f.mustRequest("ray", "quote", q2, "special", nil)
		before, _ := f.notes.Unread(ctx, f.id("vic"))
		f.clk.Advance(4 * time.Hour)
		for i := 0; i < 2; i++ {
			if err := f.s.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if after, _ := f.notes.Unread(ctx, f.id("vic")); after != before+1 {
			t.Fatalf("vic's notifications: %d, then %d", before, after)
		}
		if w := f.view("ray", sp.ID); w.Status != StatusPending || w.Steps[0].Deadline != nil || join(f.openNames(w)) != "ops1,ops2,ops3" {
			t.Fatalf("after the notice: %+v", w)
		}

		// book: no decision within 48h rejects it.
		b := f.mustRequest("ray", "quote", q, "book", nil)
		f.clk.Advance(48 * time.Hour)
		if err := f.s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if r := f.view("ray", b.ID); r.Status != StatusRejected {
			t.Fatalf("after 48h: %+v", r)
		}
		if st := f.state("quote", q); st != "approved" {
			t.Fatalf("an expired request moved the quote to %q", st)
		}
		h := f.history("quote", q)
		if last := h[len(h)-1]; !strings.HasPrefix(last, "reject::no decision within 48h") {
			t.Fatalf("history ends with %q", last)
		}
	})
}

// A quorum of 2 of 3: one approval, one rejection (still reachable), a
// second approval passes it.
func TestQuorum(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		q := f.create("quote", "ray", `{"title": "Big", "discount": 5}`)
		// 5%: no step of submit applies; Take moves the quote at once.
		f.takeAtOnce(q)
		v := f.mustRequest("ray", "quote", q, "book", nil)
		if got := join(f.openNames(v)); got != "ops1,ops2,ops3" {
			t.Fatalf("finance approvers: %s", got)
		}
		f.mustDecide("ops1", v.ID, Approve, "")
		if r := f.mustDecide("ops2", v.ID, Reject, "margin too thin"); r.Status != StatusPending {
			t.Fatalf("one rejection ended a 2-of-3 quorum still reachable: %+v", r)
		}
		if a := f.mustDecide("ops3", v.ID, Approve, ""); a.Status != StatusApproved {
			t.Fatalf("2 of 3: %+v", a)
		}
		if st := f.state("quote", q); st != "booked" {
			t.Fatalf("state %q, want booked", st)
		}
		// Two rejections make the quorum unreachable.
		q2 := f.create("quote", "ray", `{"title": "Big 2", "discount": 5}`)
		f.takeAtOnce(q2)
		v = f.mustRequest("ray", "quote", q2, "book", nil)
		f.mustDecide("ops1", v.ID, Reject, "no")
		if r := f.mustDecide("ops2", v.ID, Reject, "no"); r.Status != StatusRejected {
			t.Fatalf("2 rejections of 3 with quorum 2: %+v", r)
		}
	})
}

// Concurrent approve and reject of one step: exactly one wins.
func TestConcurrentDecisions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		q := f.create("quote", "ray", `{"title": "Race", "discount": 25}`)
		// The director step: dora and a second director, dave.
		u, err := f.acc.CreateUserWith(context.Background(), access.NewUser{Email: "dave@example.com", Password: "a long password", Name: "dave", Roles: []string{"director"}})
		if err != nil {
			t.Fatal(err)
		}
		f.users["dave"] = u
		v := f.mustRequest("ray", "quote", q, "submit", nil)
		v = f.mustDecide("mia", v.ID, Approve, "")
		if got := join(f.openNames(v)); got != "dave,dora" && got != "dora,dave" {
			t.Fatalf("directors: %s", got)
		}
		r, err := f.s.load(context.Background(), db.Pool(), v.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Both read the same version and decide at once.
		version := r.Version
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, d := range []struct{ who, decision, comment string }{{"dora", Approve, ""}, {"dave", Reject, "no"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.s.Decide(context.Background(), f.as(d.who), v.ID, d.decision, DecisionInput{Comment: d.comment, Version: version})
			}()
		}
		wg.Wait()
		won, lost := 0, 0
		for _, err := range errs {
			var re *records.Error
			switch {
			case err == nil:
				won++
			case errors.As(err, &re) && re.Status == 409:
				lost++
			default:
				t.Fatalf("unexpected: %v", err)
			}
		}
		if won != 1 || lost != 1 {
			t.Fatalf("won %d, lost %d: %v", won, lost, errs)
		}
		// A stale version is a 409 too.
		q2 := f.create("quote", "ray", `{"title": "Stale", "discount": 15}`)
		v2 := f.mustRequest("ray", "quote", q2, "submit", nil)
		if _, err := f.decide("mia", v2.ID, Delegate, DecisionInput{To: f.id("vic")}); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.Decide(context.Background(), f.as("vic"), v2.ID, Approve, DecisionInput{Version: v2.Version})
		wantStatus(t, err, 409, "")
	})
}

// Access: the requester never approves their own request, approvers who
// may not read the record are left out, and a user who may not read the
// record learns nothing of its approvals.
func TestApprovalAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		q := f.create("quote", "ray", `{"title": "Mine", "discount": 15}`)
		// special asks reps and finance: ray (the requester) and rita (who
		// may not read ray's quote) are left out.
		v := f.mustRequest("ray", "quote", q, "special", nil)
		if got := join(f.openNames(v)); got != "ops1,ops2,ops3" {
			t.Fatalf("approvers: %s", got)
		}
		_, err := f.decide("ray", v.ID, Approve, DecisionInput{})
		wantStatus(t, err, 403, "")
		// rita: the same 404 as an unknown id, nothing in her inbox.
		_, err = f.decide("rita", v.ID, Approve, DecisionInput{Version: 1})
		wantStatus(t, err, 404, "")
		_, unknown := f.s.Decide(context.Background(), f.as("rita"), "01aaaaaaaaaaaaaaaaaaaaaaaa", Approve, DecisionInput{Version: 1})
		if strings.ReplaceAll(err.Error(), v.ID, "ID") != strings.ReplaceAll(unknown.Error(), "01aaaaaaaaaaaaaaaaaaaaaaaa", "ID") {
			t.Fatalf("the two 404s differ: %q vs %q", err, unknown)
		}
		if _, err := f.s.Approval(context.Background(), f.as("rita"), v.ID); err == nil {
			t.Fatal("rita read an approval of a record she may not read")
		}
		for _, st := range []string{InboxPending, InboxDecided, InboxMine} {
			if got := f.inbox("rita", st); len(got) != 0 {
				t.Fatalf("rita's %s inbox: %+v", st, got)
			}
		}
		// A delegate who may not read the record is refused.
		_, err = f.decide("ops1", v.ID, Delegate, DecisionInput{To: f.id("rita")})
		wantStatus(t, err, 422, "/to")
		// Nobody but the requester could approve: the request is refused.
		f.mustDecide("ray", v.ID, Withdraw, "never mind")
		if w := f.view("ray", v.ID); w.Status != StatusWithdrawn {
			t.Fatalf("withdrawn: %+v", w)
		}
		if _, err := f.acc.UpdateUser(context.Background(), f.id("mia"), access.UserUpdate{Active: ptrTo(false)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.acc.UpdateUser(context.Background(), f.id("vic"), access.UserUpdate{Active: ptrTo(false)}); err != nil {
			t.Fatal(err)
		}
		_, err = f.request("ray", "quote", q, "submit", nil, "")
		wantStatus(t, err, 422, "/approval/steps/0")
	})
}

func ptrTo[T any](v T) *T { return &v }

// Bad input to decisions.
func TestDecisionBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		q := f.create("quote", "ray", `{"title": "Bad", "discount": 15}`)
		v := f.mustRequest("ray", "quote", q, "submit", nil)
		_, err := f.decide("mia", v.ID, "veto", DecisionInput{})
		wantStatus(t, err, 404, "")
		_, err = f.decide("mia", v.ID, Reject, DecisionInput{})
		wantStatus(t, err, 422, "/comment")
		_, err = f.decide("mia", v.ID, Delegate, DecisionInput{})
		wantStatus(t, err, 422, "/to")
		_, err = f.decide("mia", v.ID, Delegate, DecisionInput{To: "nobody@example.com"})
		wantStatus(t, err, 422, "/to")
		_, err = f.decide("mia", v.ID, Delegate, DecisionInput{To: f.id("ray")})
		wantStatus(t, err, 422, "/to")
		_, err = f.decide("mia", v.ID, Approve, DecisionInput{Comment: strings.Repeat("x", MaxComment+1)})
		wantStatus(t, err, 422, "/comment")
		_, err = f.s.Decide(context.Background(), f.as("mia"), v.ID, Approve, DecisionInput{})
		wantStatus(t, err, 422, "/version")
		_, err = f.s.Decide(context.Background(), f.as("mia"), v.ID, Approve, DecisionInput{Version: 99})
		wantStatus(t, err, 409, "")
		_, err = f.s.Decide(context.Background(), f.as("mia"), "' OR 1=1 --", Approve, DecisionInput{Version: 1})
		wantStatus(t, err, 404, "")
		_, err = f.decide("mia", v.ID, Withdraw, DecisionInput{})
		wantStatus(t, err, 403, "")
		for _, bad := range []struct {
			status, cursor string
			limit          int
		}{{"everything", "", 0}, {InboxPending, "", 101}, {InboxPending, "x' OR 1=1", 0}} {
			_, err := f.s.Inbox(context.Background(), f.as("mia"), bad.status, bad.limit, bad.cursor)
			wantStatus(t, err, 400, "")
		}
		// The request is untouched by all of that.
		if a := f.mustDecide("mia", v.ID, Approve, ""); a.Status != StatusApproved {
			t.Fatalf("%+v", a)
		}
	})
}

// The hand-over: refused by the receiver (nothing changes), then accepted
// (the owner and the state change; the history has both signatures).
func TestHandover(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		l := f.create("lead", "ray", `{"name": "Globex"}`)
		notes := map[string]any{"receiver": f.id("rita"), "core_needs": "fleet tracking", "blocker": "budget in Q3", "approach": "pilot with 5 trucks"}
		// Every hand-over field is required.
		_, err := f.request("ray", "lead", l, "hand_over", map[string]any{"receiver": f.id("rita"), "core_needs": "x"}, "")
		wantStatus(t, err, 422, "/fields/blocker")
		_, err = f.request("ray", "lead", l, "hand_over", map[string]any{"receiver": f.id("ray"), "core_needs": "x", "blocker": "y", "approach": "z"}, "")
		wantStatus(t, err, 422, "/fields/receiver")
		v := f.mustRequest("ray", "lead", l, "hand_over", notes)
		if v.Kind != KindHandover || join(f.openNames(v)) != "rita" || string(v.Fields["blocker"]) != `"budget in Q3"` {
			t.Fatalf("hand-over request: %+v", v)
		}
		if got := f.inbox("rita", InboxPending); len(got) != 1 || got[0].Kind != KindHandover {
			t.Fatalf("rita's inbox: %+v", got)
		}
		_, err = f.decide("rita", v.ID, Delegate, DecisionInput{To: f.id("mia")})
		wantStatus(t, err, 422, "/to")
		_, err = f.decide("rita", v.ID, Reject, DecisionInput{})
		wantStatus(t, err, 422, "/comment")
		f.mustDecide("rita", v.ID, Reject, "my book is full")
		rec := f.record("lead", l)
		if rec.Get("owner") != f.id("ray") || stateOf(rec, "stage") != "new" || rec.Get("blocker") != nil {
			t.Fatalf("after refusal: owner %v stage %v blocker %v", rec.Get("owner"), rec.Get("stage"), rec.Get("blocker"))
		}
		v = f.mustRequest("ray", "lead", l, "hand_over", notes)
		if a := f.mustDecide("rita", v.ID, Approve, "got it"); a.Status != StatusApproved {
			t.Fatalf("accepted: %+v", a)
		}
		rec = f.record("lead", l)
		if rec.Get("owner") != f.id("rita") || stateOf(rec, "stage") != "working" || rec.Get("approach") != "pilot with 5 trucks" {
			t.Fatalf("after acceptance: owner %v stage %v", rec.Get("owner"), rec.Get("stage"))
		}
		h := join(f.history("lead", l))
		if !strings.Contains(h, "update:ray:hand-over to rita requested,request:ray:please,refuse:rita:my book is full,"+
			"update:rita:hand-over refused: receiver cleared,update:ray:hand-over to rita requested,request:ray:please,accept:rita:got it,") {
			t.Fatalf("history: %s", h)
		}
	})
}

func TestCheckApprovals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		app, _ := schema.Parse([]byte(salesDoc))
		st := &app.Flows[0].Transitions[0].Approval.Steps[0]
		st.Deadline, st.Condition = "tomorrow", "discount >> 3"
		app.Flows[0].Transitions[0].Approval.Steps[1].Condition = "margin > 3"
		ps := f.s.CheckApp(context.Background(), app)
		got := map[string]bool{}
		for _, p := range ps {
			if got[p.Path] {
				t.Errorf("two problems at %s: %v", p.Path, ps)
			}
			got[p.Path] = true
		}
		for _, want := range []string{"/flows/0/transitions/0/approval/steps/0/deadline", "/flows/0/transitions/0/approval/steps/0/condition",
			"/flows/0/transitions/0/approval/steps/1/condition"} {
			if !got[want] {
				t.Errorf("no problem at %s: %v", want, ps)
			}
		}
		// An approver role that does not exist (the schema's check).
		_, p := schema.Parse([]byte(strings.Replace(salesDoc, `"roles": ["director"]`, `"roles": ["directr"]`, 1)))
		if !strings.Contains(p.Error(), "no role named \"directr\"") {
			t.Errorf("unknown approver role: %v", p)
		}
	})
}
