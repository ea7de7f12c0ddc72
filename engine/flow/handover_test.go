package flow

import (
	"context"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// A rep reads only the leads they own or are named to receive (the
// pipeline template's rule). The giver names the receiver in the request
// itself: the request writes the receiver field, so the receiver reads the
// lead while it is pending; a refusal or a withdrawal clears the field
// (and the access with it); a receiver the rules do not let read the lead
// even when named is refused and nothing is written.
func TestHandoverNamesTheReceiver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		doc := strings.Replace(salesDoc, `"lead": {"create": "own", "read": "team", "update": "own"}}}`,
			`"lead": {"create": "own", "read": {"scope": "all", "where": "owner = @me || receiver = @me"}, "update": "own"}}}`, 1)
		if doc == salesDoc {
			t.Fatal("test setup: the document did not change")
		}
		app, problems := schema.Parse([]byte(doc))
		if len(problems) > 0 {
			t.Fatalf("parse: %v", problems)
		}
		if _, _, err := f.recs.Apply(ctx, app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		reads := func(who, id string) bool {
			t.Helper()
			_, err := f.recs.Get(ctx, f.as(who), "sales", "lead", id, "", "")
			if re, ok := err.(*records.Error); ok && re.Status == 404 {
				return false
			} else if err != nil {
				t.Fatal(err)
			}
			return true
		}
		receiverOf := func(id string) any { return f.record("lead", id).Get("receiver") }
		notes := func(to string) map[string]any {
			return map[string]any{"receiver": f.id(to), "core_needs": "fleet tracking", "blocker": "budget in Q3", "approach": "pilot"}
		}
		l := f.create("lead", "ray", `{"name": "Initech"}`)
		if reads("rita", l) {
			t.Fatal("rita reads ray's lead before she is named")
		}

		// dora's roles read no leads at all: named or not, she cannot
		// receive one, and the refused request writes nothing.
		_, err := f.request("ray", "lead", l, "hand_over", notes("dora"), "")
		wantStatus(t, err, 422, "/fields/receiver")
		if got := receiverOf(l); got != nil {
			t.Fatalf("a refused request left the receiver %v", got)
		}
		// A request missing a field is refused whole, the receiver too.
		_, err = f.request("ray", "lead", l, "hand_over", map[string]any{"receiver": f.id("rita"), "core_needs": "x"}, "")
		wantStatus(t, err, 422, "/fields/blocker")
		if got := receiverOf(l); got != nil {
			t.Fatalf("a request lacking a field left the receiver %v", got)
		}

		// Named in the request: pending, rita reads the lead.
		v := f.mustRequest("ray", "lead", l, "hand_over", notes("rita"))
		if receiverOf(l) != f.id("rita") || !reads("rita", l) {
			t.Fatalf("pending: receiver %v, rita reads: %v", receiverOf(l), reads("rita", l))
		}
		if got := f.inbox("rita", InboxPending); len(got) != 1 || got[0].ID != v.ID {
			t.Fatalf("rita's inbox: %+v", got)
		}
		// Refused: the name and the access go.
		f.mustDecide("rita", v.ID, Reject, "not my region")
		if receiverOf(l) != nil || reads("rita", l) {
			t.Fatalf("after the refusal: receiver %v, rita reads: %v", receiverOf(l), reads("rita", l))
		}
		// Withdrawn by the giver: the same.
		v = f.mustRequest("ray", "lead", l, "hand_over", notes("rita"))
		f.mustDecide("ray", v.ID, Withdraw, "")
		if receiverOf(l) != nil || reads("rita", l) {
			t.Fatalf("after the withdrawal: receiver %v, rita reads: %v", receiverOf(l), reads("rita", l))
		}
		// Accepted: rita owns it; ray, no longer owner nor receiver,
		// reads it no more.
		v = f.mustRequest("ray", "lead", l, "hand_over", notes("rita"))
		if a := f.mustDecide("rita", v.ID, Approve, "mine now"); a.Status != StatusApproved {
			t.Fatalf("accepted: %+v", a)
		}
		if rec := f.record("lead", l); rec.Get("owner") != f.id("rita") || receiverOf(l) != f.id("rita") || reads("ray", l) {
			t.Fatalf("after acceptance: owner %v receiver %v, ray reads: %v", rec.Get("owner"), receiverOf(l), reads("ray", l))
		}
		// The history says who named and who cleared the receiver.
		h := join(f.history("lead", l))
		for _, want := range []string{"update:rita:hand-over refused: receiver cleared,", "update:ray:hand-over withdrawn: receiver cleared,"} {
			if !strings.Contains(h, want) {
				t.Errorf("history lacks %q: %s", want, h)
			}
		}
		if n := strings.Count(h, "update:ray:hand-over to rita requested,"); n != 3 {
			t.Errorf("%d entries naming rita, want 3: %s", n, h)
		}
	})
}
