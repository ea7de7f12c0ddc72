package records

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// What engine/bulk's duplicate checks need of records, beside the events
// (events.go) they keep their match keys by: a way to add to a create's
// answer what the check found ("_duplicates"), to learn inside the write's
// transaction which records the writer may read (so a warning or a
// refusal names none they may not), and to read an entity's values inside
// a transaction (a rule's one-time backfill).
//
// A subscriber refuses a create by returning a *records.Error: the write
// rolls back and the caller gets that error (emit wraps it; errors.As
// finds it).

// recordNote is one key a subscriber added to a write's answer.
type recordNote struct {
	key   string
	value json.RawMessage
}

func appendNotes(b []byte, notes []recordNote) []byte {
	for _, n := range notes {
		b = append(b, ',')
		b = appendString(b, n.key)
		b = append(b, ':')
		b = append(b, n.value...)
	}
	return b
}

// Annotate adds key (it must begin with "_", so it cannot be taken for a
// field) with value, valid JSON, to the answer of the write ev describes:
// the writer sees it in the record the API answers with. It does nothing
// for a write that has no answer record (a delete) or for a bad key.
func (ev *Event) Annotate(key string, value json.RawMessage) {
	if ev.Record == nil || len(key) < 2 || key[0] != '_' || !json.Valid(value) {
		return
	}
	for i, n := range ev.Record.notes {
		if n.key == key {
			ev.Record.notes[i].value = value
			return
		}
	}
	ev.Record.notes = append(ev.Record.notes, recordNote{key, value})
}

// ReadableTx returns those of ids, records of app's entity, that c may
// read, in their order, reading inside tx only (no pool, no catalog: a
// subscriber may call it). When c may not see every one of fields (a
// duplicate rule's fields), it returns none: naming a record that matches
// on a field hidden from c would tell c that field's value.
func (s *Service) ReadableTx(ctx context.Context, tx store.Conn, c Caller, app *schema.App, entity string, fields, ids []string) ([]string, error) {
	info := s.infoOf(app, entity)
	if info == nil || len(ids) == 0 {
		return nil, nil
	}
	view := s.visible(info, c)
	for _, f := range fields {
		if view.byName[f] == nil {
			return nil, nil
		}
	}
	g, err := s.grant(info, c, schema.OpRead)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, id := range ids {
		ok, err := s.rowVisible(ctx, tx, info, id, g)
		if err != nil {
			return nil, fmt.Errorf("records: readable: %w", err)
		}
		if ok {
			out = append(out, id)
		}
	}
	return out, nil
}

// ScanTx calls fn with every record of app's entity, in id order, holding
// the id and fields only, reading inside tx a page of 1,000 at a time.
func (s *Service) ScanTx(ctx context.Context, tx store.Conn, app *schema.App, entity string, fields []string, fn func(rec *Record) error) error {
	info := s.infoOf(app, entity)
	if info == nil {
		return errorf(404, CodeNotFound, "no entity %q in app %q", entity, app.Name)
	}
	sel := []*schema.Field{info.byName["id"]}
	for _, name := range fields {
		f := info.byName[name]
		if f == nil {
			return errorf(422, CodeInvalid, "no field %q in %s", name, entity)
		}
		if f.Name != "id" {
			sel = append(sel, f)
		}
	}
	after := ""
	for {
		rows, err := tx.QueryContext(ctx, "SELECT "+columnList(sel)+" FROM "+store.Quote(info.table)+` WHERE "id" > ? ORDER BY "id" LIMIT 1000`, after)
		if err != nil {
			return fmt.Errorf("records: scan %s: %w", entity, err)
		}
		recs, err := s.scan(rows, sel)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(recs) < 1000 {
			return nil
		}
		after = recs[len(recs)-1].ID()
	}
}

// Refusal is the error a create check refuses a write with: 409, code
// code, the details each at its pointer.
func Refusal(code, message string, details []schema.Problem) *Error {
	return &Error{Status: 409, Code: code, Message: message, Details: details}
}

// NewError is a failure the caller can act on, for the services built on
// records (engine/bulk): status, code and message as the API answers them.
func NewError(status int, code, message string, details ...schema.Problem) *Error {
	return &Error{Status: status, Code: code, Message: message, Details: details}
}
