package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// The two-signature hand-over: the giver takes a transition with a
// Handover, filling its fields (core needs, current blocker, suggested
// approach — every one of them required here, whatever the field says)
// and naming the receiver in the record's user field Handover.Receiver.
// That records a request of kind "handover" with one step whose only
// approver is the receiver; nothing on the record changes. The receiver
// accepts (approve: the fields are written, the state moves and the
// receiver becomes the owner, in one move) or refuses (reject, with a
// comment: nothing changes). The history shows both signatures: the
// giver's "handover" entry and the receiver's "accept" or "refuse".
//
// The receiver must be an active user other than the giver who may read
// the record once it names them: the request writes the receiver field
// (nothing else) in its own transaction, and the receiver's read rules
// are checked on the record as written, so an app whose reps read "the
// leads I own or am to receive" (owner = @me || receiver = @me) lets the
// giver name a receiver in the request itself. Those rules are the only
// access a pending hand-over gives; a refused or withdrawn hand-over
// clears the field again (releaseReceiverTx), and a receiver the rules
// still do not let read the record is refused, the write rolled back.

// handoverReceiver returns the receiver of a hand-over request, or what
// the request lacks. It runs in tx, the request's transaction, with the
// record locked; it names the receiver on the record there, so any lack
// must roll tx back.
func (s *Service) handoverReceiver(ctx context.Context, tx store.Conn, dir *directory, app *schema.App, f *schema.Flow, t *schema.Transition, rec *records.Record, c records.Caller, fields map[string]json.RawMessage) (string, []Lack, error) {
	var lacks []Lack
	for _, tf := range t.Fields {
		if tf.Field != t.Handover.Receiver && blankJSON(fields[tf.Field]) {
			lacks = append(lacks, Lack{Path: "/fields/" + tf.Field, Message: tf.Field + " is required for a hand-over: the receiver reads it before accepting"})
		}
	}
	rp := "/fields/" + t.Handover.Receiver
	var receiver string
	if raw, ok := fields[t.Handover.Receiver]; ok && !blankJSON(raw) {
		if json.Unmarshal(raw, &receiver) != nil {
			return "", append(lacks, Lack{Path: rp, Message: "the receiver is a user id"}), nil
		}
	} else {
		receiver, _ = rec.Get(t.Handover.Receiver).(string)
	}
	if receiver == "" {
		return "", append(lacks, Lack{Path: rp, Message: "name the user who receives the record"}), nil
	}
	u, ok := dir.active(receiver)
	owner, _ := rec.Get("owner").(string)
	switch {
	case !ok:
		return "", append(lacks, Lack{Path: rp, Message: fmt.Sprintf("no active user %q", receiver)}), nil
	case u.ID == c.UserID:
		return "", append(lacks, Lack{Path: rp, Message: "you cannot hand a record over to yourself"}), nil
	case u.ID == owner:
		return "", append(lacks, Lack{Path: rp, Message: fmt.Sprintf("%s already owns this record", dir.name(u.ID))}), nil
	}
	if stored, _ := rec.Get(t.Handover.Receiver).(string); stored != u.ID {
		// Not a transition taken (no Transition: no flow actions, no
		// automation on it), a write of the one field the request names.
		if _, err := s.records.MoveTx(ctx, tx, c, app.Name, f.Entity, rec.ID(), records.Move{
			Values: map[string]any{t.Handover.Receiver: u.ID}, Trusted: true,
			Comment: "hand-over to " + dir.name(u.ID) + " requested"}); err != nil {
			return "", nil, err
		}
	}
	readable, err := s.records.ReadableTx(ctx, tx, callerOf(u), app, f.Entity, nil, []string{rec.ID()})
	if err != nil {
		return "", nil, err
	}
	if len(readable) == 0 {
		return "", append(lacks, Lack{Path: rp, Message: fmt.Sprintf("%s may not read this record, so cannot receive it", dir.name(u.ID))}), nil
	}
	return u.ID, lacks, nil
}

// releaseReceiverTx clears, in tx, the receiver field of a hand-over
// that was refused or withdrawn, when it still names that request's
// receiver: whatever the app's rules let them read through it ends with
// the request. A required receiver field is left as it is.
func (s *Service) releaseReceiverTx(ctx context.Context, tx store.Conn, c records.Caller, app *schema.App, r *request) error {
	_, t := s.transitionOf(app, r)
	tasks := r.tasksOf(0)
	if t == nil || t.Handover == nil || len(tasks) == 0 {
		return nil
	}
	e := app.Entity(r.Entity)
	if e == nil {
		return nil
	}
	if f := e.Field(t.Handover.Receiver); f == nil || f.Required {
		return nil
	}
	named, err := s.records.MatchTx(ctx, tx, app, r.Entity, r.RecordID,
		&filter.Compare{Field: t.Handover.Receiver, Op: "=", Value: filter.Value{Kind: filter.String, Str: tasks[0].UserID}})
	if err != nil || !named {
		return err
	}
	_, err = s.records.MoveTx(ctx, tx, c, app.Name, r.Entity, r.RecordID, records.Move{
		Values: map[string]any{t.Handover.Receiver: nil}, Trusted: true, Comment: map[string]string{StatusRejected: "hand-over refused", StatusWithdrawn: "hand-over withdrawn"}[r.Status] + ": receiver cleared"})
	return err
}

// blankJSON says whether a transition field's value leaves it empty.
func blankJSON(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", `""`, "[]", "false":
		return true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return strings.TrimSpace(s) == ""
	}
	return false
}
