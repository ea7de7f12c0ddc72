package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// What engine/flow needs of records: a move (the one write that may change
// a flow's state field), a locked record to note a request against, and
// history entries that change nothing (approval decisions). Everything
// else a flow does goes through the ordinary calls.

// Move is a flow's write of one record: it may set the governed state field and
// the owner, carries the transition and comment into the history entry and the
// event (Event.Transition), and runs Check under the row lock before writing.
type Move struct {
	Transition string // "flow/transition"
	Comment    string
	Version    int64          // the version the caller read; 0: the record as it is (an approval completing)
	Values     map[string]any // field → value in the API's form (state, transition fields, "owner")
	// Check runs under the lock, before the write, with the record as it
	// is; a *records.Error refuses (422 with details).
	Check func(ctx context.Context, tx store.Conn, rec *Record) error
	// After runs in the move's transaction once the record is written,
	// with the record as it now is (nil: nothing): what holds of the
	// record after the move (a flow's guard and evidence, over the fields
	// the transition filled). An error rolls the move back.
	After   func(ctx context.Context, tx store.Conn, rec *Record) error
	Trusted bool // skip the caller's update grant and the after-write scope check (the flow decided: approval completing, hand-over)
	// Path is the write's path in the history and the event: PathFlow
	// when empty; the caller's own path when PathAPI (a claim from a
	// pool is the claimant's API call).
	Path string
}

// moving is a move inside patchTx: its check and its history note.
type moving struct {
	check func(ctx context.Context, tx store.Conn, rec *Record) error
	note  historyNote
}

// everything is the grant of a trusted move: the flow has decided.
var everything = &grant{all: true}

// Move writes m to the record id as a flow's move, on path PathFlow (or m.Path): one
// history entry with the transition and comment, one event with
// Transition set.
func (s *Service) Move(ctx context.Context, c Caller, app, entity, id string, m Move) (*Record, error) {
	return retry(func() (*Record, error) {
		return s.move(ctx, c, app, entity, id, m, func(p *movePlan) (*Record, error) {
			return s.patchOne(ctx, p.info, p.c, p.rg, p.ug, id, p.fields, p.values, p.want, p.mv, m.After)
		})
	})
}

// MoveTx is Move inside tx, a transaction the caller began with the
// store and commits (or rolls back) itself: a flow's last approval and the
// move it completes commit together or not at all. Nothing in it begins
// another transaction. It is not run again on a migration or a conflict
// as Move is: the caller's transaction is lost then; Retry the whole of it.
func (s *Service) MoveTx(ctx context.Context, tx store.Conn, c Caller, app, entity, id string, m Move) (*Record, error) {
	return s.move(ctx, c, app, entity, id, m, func(p *movePlan) (*Record, error) {
		rec, err := s.patchIn(ctx, tx, p.info, p.c, p.rg, p.ug, id, p.fields, p.values, p.want, p.mv, m.After)
		if err != nil {
			return nil, err
		}
		return s.answer(ctx, p.c, p.info, rec)
	})
}

// Retry runs fn, a whole transaction of the caller's that wrote through
// MoveTx, again when a migration overtook it or PostgreSQL aborted it as a
// deadlock or serialization failure, as the records service does with its
// own writes.
func Retry[T any](fn func() (T, error)) (T, error) { return retry(fn) }

// movePlan is a move checked and ready to write.
type movePlan struct {
	info   *entityInfo
	c      Caller
	rg, ug *grant
	fields []*schema.Field
	values []any
	want   *int64
	mv     *moving
}

func (s *Service) move(ctx context.Context, c Caller, app, entity, id string, m Move, write func(*movePlan) (*Record, error)) (_ *Record, err error) {
	switch m.Path {
	case "":
		c.Path = PathFlow
	case PathAPI:
		// the caller's own path (api, web)
	default:
		c.Path = m.Path
	}
	info, err := s.moveEntity(ctx, c, app, entity, m.Trusted)
	if err != nil {
		return nil, err
	}
	defer func() { err = s.settled(ctx, info, false, err) }()
	rg, ug := everything, everything
	if !m.Trusted {
		if rg, ug, err = s.grants(info, c, schema.OpUpdate); err != nil {
			return nil, err
		}
	}
	body, err := moveBody(m.Values)
	if err != nil {
		return nil, err
	}
	var problems schema.Problems
	if !m.Trusted {
		// The caller's field rules hold for what the transition fills;
		// the state field is the flow's to write, whatever the rules say.
		state := governing(info)
		rest := make(map[string]any, len(body))
		for k, v := range body {
			if state == nil || k != state.Field {
				rest[k] = v
			}
		}
		if problems, err = s.checkFieldRules(info, c, rest); err != nil {
			return nil, err
		}
		for k := range body {
			if _, ok := rest[k]; !ok && (state == nil || k != state.Field) {
				delete(body, k) // hidden from the caller: reported as unknown
			}
		}
	}
	fields, values, vp := s.validate(info, body, false)
	if problems = append(problems, vp...); len(problems) > 0 {
		return nil, s.invalid(ctx, info, c, fields, values, nil, problems)
	}
	var want *int64
	if m.Version != 0 {
		want = &m.Version
	}
	mv := &moving{check: m.Check, note: historyNote{transition: m.Transition, comment: m.Comment}}
	return write(&movePlan{info: info, c: c, rg: rg, ug: ug, fields: fields, values: values, want: want, mv: mv})
}

// moveEntity resolves the entity of a move: as the data API does for the
// caller, or, for a trusted move (the flow decided), for anyone.
func (s *Service) moveEntity(ctx context.Context, c Caller, app, entity string, trusted bool) (*entityInfo, error) {
	if trusted {
		return s.requestEntity(ctx, app, entity)
	}
	return s.entityFor(ctx, c, app, entity)
}

// moveBody turns a move's values into a body as the API decodes it.
func moveBody(values map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, errorf(400, CodeBadJSON, "the values cannot be written as JSON: %v", err)
	}
	return decodeBody(raw)
}

// WithRecord locks the record (the caller must be able to read it; with update true, to update it)
// and runs fn in that transaction: what approvals write when a transition is requested, not taken.
func (s *Service) WithRecord(ctx context.Context, c Caller, app, entity, id string, update bool, fn func(ctx context.Context, tx store.Conn, rec *Record) error) error {
	_, err := retry(func() (struct{}, error) { return struct{}{}, s.withRecord(ctx, c, app, entity, id, update, fn) })
	return err
}

func (s *Service) withRecord(ctx context.Context, c Caller, app, entity, id string, update bool, fn func(ctx context.Context, tx store.Conn, rec *Record) error) (err error) {
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return err
	}
	defer func() { err = s.settled(ctx, info, false, err) }()
	rg, err := s.grant(info, c, schema.OpRead)
	if err != nil {
		return err
	}
	wg := rg
	if update {
		if wg, err = s.grant(info, c, schema.OpUpdate); err != nil {
			return err
		}
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("records: begin: %w", err)
	}
	defer tx.Rollback()
	rec, err := s.lockRow(ctx, tx, info, id)
	if err != nil {
		return err
	}
	if err := s.mayWrite(ctx, tx, info, id, rec, rg, wg, "update"); err != nil {
		return err
	}
	if err := fn(ctx, tx, rec); err != nil {
		return err
	}
	if err := s.stillCurrent(ctx, tx, info); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.writeError(err)
	}
	return nil
}

// NoteTx writes a history entry that changes nothing (op "request", "approve", "reject",
// "delegate", "withdraw", "accept", "refuse"), with transition and comment, no event.
func (s *Service) NoteTx(ctx context.Context, tx store.Conn, c Caller, app, entity, id string, op, transition, comment string) error {
	if c.Path == "" {
		c.Path = PathFlow
	}
	var version int64
	err := tx.QueryRowContext(ctx, `SELECT "version" FROM `+store.Quote(schema.TableName(app, entity))+` WHERE "id" = ?`, id).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(404, CodeNotFound, "no %s record with id %q", entity, id)
	}
	if err != nil {
		return fmt.Errorf("records: note: %w", err)
	}
	return s.insertHistory(ctx, tx, app, entity, c, id, version, op, s.db.Now(), []byte("{}"), "", &historyNote{transition: transition, comment: comment})
}

// governing returns the flow that governs info's entity, or nil.
func governing(info *entityInfo) *schema.Flow {
	if len(info.app.Flows) == 0 {
		return nil
	}
	return info.app.FlowOf(info.entity.Name)
}

// governedField refuses a write (other than a move) that changes the
// state field of a flow's entity: 403 at the field's path.
func governedField(info *entityInfo, fields []*schema.Field, values []any, old *Record) error {
	f := governing(info)
	if f == nil {
		return nil
	}
	for i, fd := range fields {
		if fd.Name == f.Field && (old == nil || !sameValue(old.Get(fd.Name), values[i])) {
			return governedError(f)
		}
	}
	return nil
}

func governedError(f *schema.Flow) *Error {
	e := forbidden("%s moves only by the transitions of flow %s", f.Field, f.Name)
	var ps schema.Problems
	addProblem(&ps, "/"+f.Field, f.Field, ProblemReadOnly, map[string]any{"reason": "flow", "flow": f.Name},
		"%s moves only by its flow's transitions: take one of flow %s's transitions instead", f.Field, f.Name)
	e.Details = ps
	return e
}

// initialState sets the state of a record being created to its flow's
// initial state, and refuses another (403 at the field's path).
func initialState(info *entityInfo, body map[string]any) error {
	f := governing(info)
	if f == nil {
		return nil
	}
	initial := f.InitialState()
	switch v, ok := body[f.Field]; {
	case !ok || v == nil:
		body[f.Field] = initial
	case v != initial:
		e := governedError(f)
		e.Message = fmt.Sprintf("a new %s record starts in state %q of flow %s", info.entity.Name, initial, f.Name)
		return e
	}
	return nil
}
