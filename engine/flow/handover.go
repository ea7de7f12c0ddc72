package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/formaapp/forma/engine/records"
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
// the record already (need-to-know: a hand-over grants nothing before it
// is accepted).

// handoverReceiver returns the receiver of a hand-over request, or what
// the request lacks.
func (s *Service) handoverReceiver(ctx context.Context, dir *directory, app *schema.App, f *schema.Flow, t *schema.Transition, rec *records.Record, c records.Caller, fields map[string]json.RawMessage) (string, []Lack) {
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
			return "", append(lacks, Lack{Path: rp, Message: "the receiver is a user id"})
		}
	} else {
		receiver, _ = rec.Get(t.Handover.Receiver).(string)
	}
	if receiver == "" {
		return "", append(lacks, Lack{Path: rp, Message: "name the user who receives the record"})
	}
	u, ok := dir.active(receiver)
	owner, _ := rec.Get("owner").(string)
	switch {
	case !ok:
		return "", append(lacks, Lack{Path: rp, Message: fmt.Sprintf("no active user %q", receiver)})
	case u.ID == c.UserID:
		return "", append(lacks, Lack{Path: rp, Message: "you cannot hand a record over to yourself"})
	case u.ID == owner:
		return "", append(lacks, Lack{Path: rp, Message: fmt.Sprintf("%s already owns this record", dir.name(u.ID))})
	}
	if readable, err := s.mayRead(ctx, u, app.Name, f.Entity, rec.ID()); err != nil || !readable {
		return "", append(lacks, Lack{Path: rp, Message: fmt.Sprintf("%s may not read this record, so cannot receive it", dir.name(u.ID))})
	}
	return u.ID, lacks
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
