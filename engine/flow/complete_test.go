package flow

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

const completeDoc = `{"name": "cp", "entities": [
  {"name": "lead", "fields": [
    {"id": "f1", "name": "title", "type": "text"},
    {"id": "f2", "name": "stage", "type": "select", "options": ["mine", "theirs"]},
    {"id": "f3", "name": "receiver", "type": "user"},
    {"id": "f4", "name": "needs", "type": "text"}]}],
 "flows": [{"name": "own", "entity": "lead", "field": "stage", "states": [{"name": "mine"}, {"name": "theirs"}],
   "transitions": [{"name": "give", "from": ["mine"], "to": "theirs", "roles": ["manager"], "guard": "needs != \"?\"",
     "fields": [{"field": "needs", "required": true}], "handover": {"receiver": "receiver"}}]}]}`

// complete is what approvals call when the last step approves or the
// receiver accepts: a trusted move with the request's fields, comment and
// new owner, its guard checked again; the requester's role is not asked
// of whoever completes it.
func TestComplete(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		app, problems := schema.Parse([]byte(completeDoc))
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		if _, err := db.Apply(ctx, app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatal(err)
		}
		u, err := acc.CreateUserWith(ctx, access.NewUser{Email: "b@example.com", Password: "correct horse battery", Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		cat := store.NewCatalog(db)
		recs := records.New(db, cat)
		s := New(db, cat, recs, acc, nil, nil)
		rec, err := recs.Create(ctx, records.Caller{Admin: true}, "cp", "lead", []byte(`{"title": "x", "receiver": "`+u.ID+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		receiver := records.Caller{UserID: u.ID, Roles: []string{"rep"}}
		_, err = completeIn(t, db, s, receiver, "cp", "lead", rec.ID(), "own/give", map[string]json.RawMessage{"needs": json.RawMessage(`"?"`)}, "", u.ID)
		var re *records.Error
		if !errors.As(err, &re) || re.Code != CodeRefused || len(re.Details) != 1 || re.Details[0].Path != "/guard" {
			t.Fatalf("complete with the guard unmet: %v", err)
		}
		moved, err := completeIn(t, db, s, receiver, "cp", "lead", rec.ID(), "give", map[string]json.RawMessage{"needs": json.RawMessage(`"a demo"`)}, "taking it", u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if moved.Get("stage") != "theirs" || moved.Get("owner") != u.ID || moved.Get("needs") != "a demo" {
			t.Fatalf("moved: %v", moved.Plain())
		}
		page, err := recs.History(ctx, records.Caller{Admin: true}, "cp", "lead", rec.ID(), 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if h := page.Items[0]; h.Transition != "own/give" || h.Comment != "taking it" || h.Actor != u.ID || h.Path != records.PathFlow {
			t.Fatalf("history: %+v", h)
		}
		// Completing again finds the record no longer in a from-state.
		_, err = completeIn(t, db, s, receiver, "cp", "lead", rec.ID(), "give", map[string]json.RawMessage{"needs": json.RawMessage(`"a demo"`)}, "", u.ID)
		if !errors.As(err, &re) || re.Code != CodeRefused || re.Details[0].Path != "/from" {
			t.Fatalf("complete twice: %v", err)
		}
	})
}

// completeIn runs complete in a transaction of its own, committed when it
// moved the record (approvals run it in the last decision's).
func completeIn(t *testing.T, db *store.DB, s *Service, c records.Caller, app, entity, id, transition string, fields map[string]json.RawMessage, comment, newOwner string) (*records.Record, error) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rec, err := s.complete(ctx, tx, c, app, entity, id, transition, fields, comment, newOwner)
	if err != nil {
		return nil, err
	}
	return rec, tx.Commit()
}

// A record written before its entity had a flow has no state: it is in
// the initial state, and leaves it like any other.
func TestNoStateIsInitial(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		app, problems := schema.Parse([]byte(completeDoc))
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		flows := app.Flows
		app.Flows = nil
		if _, err := db.Apply(ctx, app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		cat := store.NewCatalog(db)
		recs := records.New(db, cat)
		rec, err := recs.Create(ctx, records.Caller{Admin: true}, "cp", "lead", []byte(`{"title": "before the flow"}`))
		if err != nil || rec.Get("stage") != nil {
			t.Fatalf("create: %v %v", rec, err)
		}
		app.Flows, app.Version = flows, 0
		if _, err := db.Apply(ctx, app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		s := New(db, cat, recs, nil, nil, nil)
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		av, err := s.Transitions(ctx, records.Caller{Admin: true}, "cp", "lead", rec.ID())
		if err != nil {
			t.Fatal(err)
		}
		if av.State != "mine" || len(av.Items) != 1 || av.Items[0].Name != "give" || av.Items[0].Allowed != true {
			t.Fatalf("transitions of a record with no state: %+v", av)
		}
	})
}
