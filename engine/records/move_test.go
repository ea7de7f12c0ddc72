package records_test

import (
	"context"
	"errors"
	"testing"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

const moveDoc = `{"name": "mv", "entities": [
	{"id": "e1", "name": "deal", "fields": [
		{"id": "f1", "name": "title", "type": "text"},
		{"id": "f2", "name": "stage", "type": "select", "options": ["new", "won"]},
		{"id": "f3", "name": "note", "type": "text"}]}],
 "flows": [{"name": "sales", "entity": "deal", "field": "stage", "states": [{"name": "new"}, {"name": "won", "final": true}],
   "transitions": [{"name": "win", "from": ["new"], "to": "won"}]}]}`

// Move is the one write that changes a flow's state field; its Check runs
// under the lock and refuses, its history entry and event carry the
// transition and comment; NoteTx and WithRecord write notes that change
// nothing.
func TestMoveWithRecordNote(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyDoc(t, db, moveDoc)
		recs := records.New(db, store.NewCatalog(db))
		var transitions []string
		recs.Subscribe(func(ctx context.Context, tx store.Conn, ev *records.Event) error {
			transitions = append(transitions, ev.Path+":"+ev.Transition)
			return nil
		})
		admin := records.Caller{Admin: true}
		rec, err := recs.Create(ctx, admin, "mv", "deal", []byte(`{"title": "a"}`))
		if err != nil || rec.Get("stage") != "new" {
			t.Fatalf("create: %v %v", rec, err)
		}
		id := rec.ID()
		// Not by PATCH; by PATCH of another field, yes.
		_, err = recs.Patch(ctx, admin, "mv", "deal", id, []byte(`{"stage": "won", "version": 1}`))
		var re *records.Error
		if !errors.As(err, &re) || re.Status != 403 || len(re.Details) != 1 || re.Details[0].Path != "/stage" {
			t.Fatalf("patch of stage: %v", err)
		}
		if _, err := recs.Patch(ctx, admin, "mv", "deal", id, []byte(`{"stage": "new", "note": "same stage", "version": 1}`)); err != nil {
			t.Fatalf("patch keeping the stage: %v", err)
		}
		// A Check that refuses leaves the record as it was.
		refuse := &records.Error{Status: 422, Code: "transition_refused", Message: "no"}
		_, err = recs.Move(ctx, admin, "mv", "deal", id, records.Move{Transition: "sales/win", Version: 2, Values: map[string]any{"stage": "won"},
			Check: func(ctx context.Context, tx store.Conn, r *records.Record) error { return refuse }})
		if !errors.Is(err, refuse) && (!errors.As(err, &re) || re.Code != "transition_refused") {
			t.Fatalf("refused move: %v", err)
		}
		_, err = recs.Move(ctx, admin, "mv", "deal", id, records.Move{Transition: "sales/win", Version: 1, Values: map[string]any{"stage": "won"}})
		if !errors.As(err, &re) || re.Status != 409 {
			t.Fatalf("stale move: %v", err)
		}
		checked := false
		rec, err = recs.Move(ctx, records.Caller{UserID: "u1", Admin: true}, "mv", "deal", id, records.Move{Transition: "sales/win", Comment: "signed", Version: 2,
			Values: map[string]any{"stage": "won", "note": "closing"},
			Check: func(ctx context.Context, tx store.Conn, r *records.Record) error {
				checked = r.Get("stage") == "new"
				return nil
			}})
		if err != nil || !checked || rec.Get("stage") != "won" || rec.Get("note") != "closing" {
			t.Fatalf("move: %v %v (checked %v)", rec, err, checked)
		}
		if got := transitions[len(transitions)-1]; got != "flow:sales/win" {
			t.Errorf("event of the move: %s", got)
		}
		// A note changes nothing and emits nothing.
		n := len(transitions)
		err = recs.WithRecord(ctx, admin, "mv", "deal", id, true, func(ctx context.Context, tx store.Conn, r *records.Record) error {
			return recs.NoteTx(ctx, tx, records.Caller{UserID: "u2"}, "mv", "deal", r.ID(), "approve", "sales/win", "fine")
		})
		if err != nil || len(transitions) != n {
			t.Fatalf("note: %v (%d events)", err, len(transitions)-n)
		}
		if err := recs.WithRecord(ctx, admin, "mv", "deal", "01hnosuch0000000000000000", false, func(context.Context, store.Conn, *records.Record) error { return nil }); !errors.As(err, &re) || re.Status != 404 {
			t.Fatalf("WithRecord of a missing record: %v", err)
		}
		page, err := recs.History(ctx, admin, "mv", "deal", id, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		h := page.Items
		if len(h) != 4 || h[0].Op != "approve" || h[0].Transition != "sales/win" || h[0].Comment != "fine" || h[0].Version != 3 ||
			h[1].Transition != "sales/win" || h[1].Comment != "signed" || h[1].Path != records.PathFlow || h[2].Transition != "" {
			t.Fatalf("history: %+v", h)
		}
	})
}
