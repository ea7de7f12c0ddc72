package records

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Kinds of record events.
const (
	EventCreated = "created"
	EventUpdated = "updated"
	EventDeleted = "deleted"
)

// Event is one committed-or-nothing change of one record. Every write that
// changes a record — through the API, a script, a flow, an import or the
// system (an owner transfer, a cascade or set-null of a delete) — emits
// exactly one event per changed record, from the same place that writes its
// history entry, inside the write's transaction.
//
// Recomputed formulas and rollups (a parent's total after a child changed)
// emit no event of their own, just as they leave no history entry: they
// are derived values, and whoever needs to react to them reacts to the
// event of the write that caused them.
type Event struct {
	App, Entity, ID string
	Kind            string // EventCreated, EventUpdated, EventDeleted
	Version         int64  // the record's version after the change (before it, on delete)
	// Changes is {"field": {"old": v, "new": v}} in the API's value form:
	// on create the fields set, on delete those that were not null, on
	// update the fields whose value changed.
	Changes json.RawMessage
	Actor   string // user id, "" for none
	Path    string // PathAPI, PathScript, PathFlow, PathImport, PathSystem
	At      time.Time
	// Cause is set for a change another write caused: "cascade from …",
	// "setNull from …".
	Cause string
	// Transition names the flow transition the write took ("" for none);
	// set by flows, read by automations' transition trigger.
	Transition string
	// Caller is who made the write (with their roles and team).
	Caller Caller
	// Record is the record after the change and Previous before it; nil
	// where there is none (Previous on create, Record on delete) and for
	// bulk changes that do not read whole records (owner transfer).
	Record, Previous *Record

	// info is the entity at the version the write ran under: a subscriber
	// inside the records package reads the document from it, since a
	// subscriber may not query outside the write's transaction (with
	// every pooled connection queued behind a migration's lock that waits
	// for this transaction, it would wait forever).
	info *entityInfo
}

// Document is the app document of the version the write ran under, in
// hand (no query): what a subscriber reads the app's rules from.
func (e *Event) Document() *schema.App {
	if e.info == nil {
		return nil
	}
	return e.info.app
}

// Change is one field's change in an event.
type Change struct {
	Old json.RawMessage `json:"old,omitempty"`
	New json.RawMessage `json:"new,omitempty"`
}

// ChangeMap decodes Changes.
func (e *Event) ChangeMap() (map[string]Change, error) {
	var m map[string]Change
	if err := json.Unmarshal(e.Changes, &m); err != nil {
		return nil, fmt.Errorf("records: event changes: %w", err)
	}
	return m, nil
}

// Subscriber receives events inside the write's transaction tx. Whatever
// must happen later is enqueued through tx (jobs.Queue.InsertTx on
// tx.Tx()), so it commits with the write or not at all. An error fails
// and rolls back the write: a subscriber that cannot record what it must
// do does not let the write pass without it.
//
// A subscriber runs while the write holds its locks (on SQLite, the
// database's one write lock): it must be quick, must use no connection
// but tx (not the pool, not the records service, not the catalog): a
// migration waiting for this write's locks queues every other query on
// the table, and a subscriber waiting for a pooled connection behind them
// would wait forever.
type Subscriber func(ctx context.Context, tx store.Conn, ev *Event) error

// Subscribe adds fn to the subscribers of every record event. Register
// subscribers before the service serves writes.
func (s *Service) Subscribe(fn Subscriber) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	s.subs = append(s.subs[:len(s.subs):len(s.subs)], fn)
}

func (s *Service) subscribers() []Subscriber {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	return s.subs
}

// emit hands ev to every subscriber, inside tx.
func (s *Service) emit(ctx context.Context, tx store.Conn, ev *Event) error {
	for _, fn := range s.subscribers() {
		if err := fn(ctx, tx, ev); err != nil {
			return fmt.Errorf("records: %s event of %s.%s %s: %w", ev.Kind, ev.App, ev.Entity, ev.ID, err)
		}
	}
	return nil
}

func eventKind(op string) string {
	switch op {
	case OpCreate:
		return EventCreated
	case OpDelete:
		return EventDeleted
	}
	return EventUpdated
}
