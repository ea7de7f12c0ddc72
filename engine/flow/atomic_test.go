package flow

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// snapshot is what a decision may change: the request's row (version,
// status), its tasks' decisions, the record's history, the unread
// notifications of every user and the record's state and owner.
type snapshot struct {
	version   int64
	status    string
	decisions string
	history   string
	unread    map[string]int64
	state     string
	owner     any
}

func (f *fixture) snapshot(entity, rec, approval string) snapshot {
	f.t.Helper()
	ctx := context.Background()
	r, err := f.s.load(ctx, f.db.Pool(), approval)
	if err != nil || r == nil {
		f.t.Fatalf("load %s: %v", approval, err)
	}
	var decisions string
	for _, tk := range r.tasks {
		decisions += tk.UserID + "=" + tk.Decision + ";"
	}
	unread := map[string]int64{}
	for name, u := range f.users {
		n, err := f.notes.Unread(ctx, u.ID)
		if err != nil {
			f.t.Fatal(err)
		}
		unread[name] = n
	}
	got := f.record(entity, rec)
	return snapshot{version: r.Version, status: r.Status, decisions: decisions, history: join(f.history(entity, rec)),
		unread: unread, state: stateOf(got, "stage"), owner: got.Get("owner")}
}

func (a snapshot) same(b snapshot) bool {
	if a.version != b.version || a.status != b.status || a.decisions != b.decisions || a.history != b.history || a.state != b.state || a.owner != b.owner {
		return false
	}
	for k, v := range a.unread {
		if b.unread[k] != v {
			return false
		}
	}
	return true
}

// The last decision and the move it completes are one transaction: when
// the move fails (here an event subscriber of the move errs, as a crash
// between the two would) the decision is not recorded either — the
// request stays pending at its version, the approver's task open, no
// history, notification or audit entry — and deciding again completes
// both. Likewise for a hand-over's acceptance.
func TestLastDecisionAndMoveAreOne(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		var fail atomic.Bool
		broken := errors.New("the server died between the decision and the move")
		f.recs.Subscribe(func(ctx context.Context, tx store.Conn, ev *records.Event) error {
			if fail.Load() && ev.Transition != "" {
				return broken
			}
			return nil
		})
		audits := func() int {
			var n int
			if err := db.Pool().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM _forma_audit`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		q := f.create("quote", "ray", `{"title": "Atomic", "discount": 15}`)
		v := f.mustRequest("ray", "quote", q, "submit", nil)
		before, auditBefore := f.snapshot("quote", q, v.ID), audits()
		fail.Store(true)
		if _, err := f.decide("mia", v.ID, Approve, DecisionInput{Comment: "fine"}); !errors.Is(err, broken) {
			t.Fatalf("the move failed: %v", err)
		}
		if after := f.snapshot("quote", q, v.ID); !after.same(before) || audits() != auditBefore {
			t.Fatalf("a failed move left the decision behind:\nbefore %+v\nafter  %+v", before, after)
		}
		if w := f.view("mia", v.ID); w.Status != StatusPending || !w.CanDecide {
			t.Fatalf("after the failed move: %+v", w)
		}
		fail.Store(false)
		if a := f.mustDecide("mia", v.ID, Approve, "fine"); a.Status != StatusApproved || f.state("quote", q) != "approved" {
			t.Fatalf("approved again: %+v, state %s", a, f.state("quote", q))
		}
		if h := join(f.history("quote", q)); h != "create:ray:,request:ray:please,approve:mia:fine,update:mia:please" {
			t.Fatalf("history: %s", h)
		}

		l := f.create("lead", "ray", `{"name": "Initech"}`)
		h := f.mustRequest("ray", "lead", l, "hand_over", map[string]any{"receiver": f.id("rita"), "core_needs": "a", "blocker": "b", "approach": "c"})
		before = f.snapshot("lead", l, h.ID)
		fail.Store(true)
		if _, err := f.decide("rita", h.ID, Approve, DecisionInput{Comment: "mine now"}); !errors.Is(err, broken) {
			t.Fatalf("the hand-over's move failed: %v", err)
		}
		if after := f.snapshot("lead", l, h.ID); !after.same(before) {
			t.Fatalf("a failed hand-over left the acceptance behind:\nbefore %+v\nafter  %+v", before, after)
		}
		fail.Store(false)
		f.mustDecide("rita", h.ID, Approve, "mine now")
		if rec := f.record("lead", l); rec.Get("owner") != f.id("rita") || stateOf(rec, "stage") != "working" {
			t.Fatalf("after acceptance: %v", rec.Plain())
		}
	})
}
