package records

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Merge is a merge of a duplicate record into its survivor (engine/bulk's
// POST …/{id}/merge).
type Merge struct {
	Duplicate string
	// Fields says, per field, whose value the survivor keeps:
	// "survivor" (the default for a field not named) or "duplicate".
	// "owner" may be named too.
	Fields map[string]string
	// Version is the survivor's version the caller read; 0: as it is.
	Version int64
}

// Merge choices.
const (
	KeepSurvivor  = "survivor"
	KeepDuplicate = "duplicate"
)

// OpMerge is the history entry a merge leaves on both records: "merged
// <duplicate>" on the survivor, "merged into <survivor>" on the duplicate
// (its history stays under its id after it is deleted).
const OpMerge = "merge"

// Merge merges m.Duplicate into the record id of app's entity, in one
// transaction:
//
//  1. the fields m.Fields says are the duplicate's are written to the
//     survivor, as a patch by the caller (their field rules, validation,
//     hooks and history);
//  2. every ref field of every entity of the app that points at the
//     duplicate is moved to the survivor: each such record is updated
//     through the ordinary write (history entry, event, rollups) by the
//     caller on path "system" — the caller needs no update right on
//     those records, since the merge, not they, decided the new value;
//  3. a history note on both records, then the duplicate is deleted as
//     the caller (history kept, its event, rollups recomputed).
//
// The caller needs update on the survivor and delete on the duplicate
// (403), must read both (404), sends the survivor's current version or 0
// (409); merging a record into itself, a record of another entity or a
// field that does not exist (or is hidden, computed or a system column
// but owner) answers 422.
func (s *Service) Merge(ctx context.Context, c Caller, app, entity, id string, m Merge) (*Record, error) {
	return retry(func() (*Record, error) { return s.merge(ctx, c, app, entity, id, m) })
}

func (s *Service) merge(ctx context.Context, c Caller, app, entity, id string, m Merge) (_ *Record, err error) {
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	defer func() { err = s.settled(ctx, info, false, err) }()
	var problems schema.Problems
	switch m.Duplicate {
	case "":
		addProblem(&problems, "/duplicate", "duplicate", ProblemRequired, nil, "duplicate is required: the id of the record merged into this one")
	case id:
		addProblem(&problems, "/duplicate", "duplicate", ProblemInvalidID, nil, "a record cannot be merged into itself")
	}
	view := s.visible(info, c)
	body := map[string]any{}
	names := make([]string, 0, len(m.Fields))
	for name := range m.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := "/fields/" + pointerEscaper.Replace(name)
		f := view.byName[name]
		switch {
		case f == nil:
			addProblem(&problems, p, name, ProblemUnknownField, nil, "unknown field %q", name)
			continue
		case name != "owner" && (readOnly[name] || f.Type.Computed()):
			addProblem(&problems, p, name, ProblemReadOnly, map[string]any{"reason": "computed"}, "%s is set by the server; a merge cannot choose it", name)
			continue
		}
		switch m.Fields[name] {
		case KeepSurvivor:
		case KeepDuplicate:
			body[name] = nil // filled from the duplicate below
		default:
			addProblem(&problems, p, name, ProblemOption, map[string]any{"value": m.Fields[name], "options": "survivor, duplicate"},
				"%s: %q is not one of survivor, duplicate", name, m.Fields[name])
		}
	}
	if len(problems) > 0 {
		return nil, &Error{Status: 422, Code: CodeInvalid, Message: "the merge is not valid", Details: problems}
	}
	rg, ug, err := s.grants(info, c, schema.OpUpdate)
	if err != nil {
		return nil, err
	}
	dg, err := s.grant(info, c, schema.OpDelete)
	if err != nil {
		return nil, err
	}
	if dg.none {
		return nil, forbidden("you may not delete %s records, so you may not merge them", info.entity.Name)
	}
	var run *logicRun
	if info.logic {
		if run, err = s.newRun(info, c); err != nil {
			return nil, err
		}
		defer run.flush(ctx) // after the transaction ends
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("records: begin: %w", err)
	}
	defer tx.Rollback()
	if err := s.lockForRecompute(ctx, tx, info, true); err != nil {
		return nil, err
	}
	surv, err := s.lockRow(ctx, tx, info, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayWrite(ctx, tx, info, id, surv, rg, ug, "update"); err != nil {
		return nil, err
	}
	dup, err := s.lockRow(ctx, tx, info, m.Duplicate)
	if err != nil {
		return nil, err
	}
	if dup == nil {
		if other := s.elsewhere(ctx, tx, info, c, m.Duplicate); other != "" {
			return nil, &Error{Status: 422, Code: CodeInvalid, Message: "the merge is not valid", Details: []schema.Problem{{Path: "/duplicate", Code: ProblemInvalidID,
				Params: map[string]any{"field": "duplicate", "entity": other}, Message: fmt.Sprintf("record %s is a %s record, not a %s record: only records of one entity merge", m.Duplicate, other, info.entity.Name)}}}
		}
	}
	if err := s.mayWrite(ctx, tx, info, m.Duplicate, dup, rg, dg, "delete"); err != nil {
		return nil, err
	}
	if v := recordVersion(surv); m.Version != 0 && v != m.Version {
		return nil, staleError(v)
	}
	now := s.db.Now()

	// 1. The survivor takes the chosen values of the duplicate.
	var fields []*schema.Field
	var values []any
	if len(body) > 0 {
		raw, _ := project(dup, view).MarshalJSON()
		// Numbers stay json.Number, as a request body decodes them: a
		// decimal is validated from its digits, never from a float64.
		var dupValues map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&dupValues); err != nil {
			return nil, fmt.Errorf("records: merge: %w", err)
		}
		files := false
		for name := range body {
			body[name] = dupValues[name]
			files = files || view.byName[name].Type == schema.File
		}
		var problems schema.Problems
		if fields, values, problems, err = s.validateFor(info, c, body, false); err != nil {
			return nil, err
		}
		if len(problems) > 0 {
			return nil, s.invalid(ctx, info, c, fields, values, surv, problems)
		}
		pc := c
		if files {
			// The duplicate's files were attached to a record the caller
			// reads and deletes: they move as the system moves them.
			pc.Path = PathSystem
		}
		want := recordVersion(surv)
		if _, err := s.patchIn(ctx, tx, info, pc, rg, ug, id, fields, values, &want, nil, nil); err != nil {
			return nil, err
		}
	}

	// 2. Every ref to the duplicate now points at the survivor.
	sys := c
	sys.Path = PathSystem
	for i := range info.app.Entities {
		e := &info.app.Entities[i]
		for j := range e.Fields {
			f := &e.Fields[j]
			if f.Type != schema.Ref || f.Entity != info.entity.Name {
				continue
			}
			if err := s.moveRefs(ctx, tx, s.infoOf(info.app, e.Name), sys, f.Name, m.Duplicate, id); err != nil {
				return nil, err
			}
		}
	}

	// 3. Notes on both, then the duplicate goes.
	if err := s.insertHistory(ctx, tx, app, entity, c, id, s.versionIn(ctx, tx, info, id), OpMerge, now, []byte("{}"), "",
		&historyNote{comment: "merged " + m.Duplicate}); err != nil {
		return nil, err
	}
	if err := s.insertHistory(ctx, tx, app, entity, c, m.Duplicate, s.versionIn(ctx, tx, info, m.Duplicate), OpMerge, now, []byte("{}"), "",
		&historyNote{comment: "merged into " + id}); err != nil {
		return nil, err
	}
	if _, err := s.deleteTx(ctx, tx, info, c, run, rg, dg, m.Duplicate, 0, now); err != nil {
		return nil, err
	}
	if err := s.stillCurrent(ctx, tx, info); err != nil {
		return nil, err
	}
	rec, err := s.get(ctx, tx, info, id, nil, nil)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, s.writeError(err)
	}
	return s.answer(ctx, c, info, rec)
}

// moveRefs points field of every record of rinfo's entity that points at
// from to to, each as an ordinary write by c (history, event, rollups).
// The survivor itself, pointing at its duplicate, is cleared instead (a
// record is not its own parent).
func (s *Service) moveRefs(ctx context.Context, tx store.Conn, rinfo *entityInfo, c Caller, field, from, to string) error {
	if rinfo == nil {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT "id" FROM `+store.Quote(rinfo.table)+` WHERE `+store.Quote(field)+` = ? ORDER BY "id"`, from)
	if err != nil {
		return fmt.Errorf("records: merge refs: %w", err)
	}
	var ids []string
	for rows.Next() {
		var rid string
		if err := rows.Scan(&rid); err != nil {
			rows.Close()
			return fmt.Errorf("records: merge refs: %w", err)
		}
		ids = append(ids, rid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("records: merge refs: %w", err)
	}
	f := rinfo.byName[field]
	for _, rid := range ids {
		if rid == from && rinfo.entity.Name == rinfo.byName[field].Entity {
			continue // the duplicate itself: deleted next
		}
		var v any = to
		if rid == to && rinfo.entity.Name == f.Entity {
			v = nil
		}
		if _, err := s.patchIn(ctx, tx, rinfo, c, everything, everything, rid, []*schema.Field{f}, []any{v}, nil, nil, nil); err != nil {
			return err
		}
	}
	return nil
}

// versionIn is record id's version inside tx (0 when it is gone).
func (s *Service) versionIn(ctx context.Context, tx store.Conn, info *entityInfo, id string) int64 {
	var v int64
	_ = tx.QueryRowContext(ctx, `SELECT "version" FROM `+store.Quote(info.table)+` WHERE "id" = ?`, id).Scan(&v)
	return v
}

// elsewhere names the other entity of info's app whose record id is, when
// c may read it there ("" otherwise: an id c may not read is not found).
func (s *Service) elsewhere(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, id string) string {
	for i := range info.app.Entities {
		e := &info.app.Entities[i]
		if e.Name == info.entity.Name {
			continue
		}
		oi := s.infoOf(info.app, e.Name)
		if oi == nil {
			continue
		}
		g, err := s.grant(oi, c, schema.OpRead)
		if err != nil || g.none {
			continue
		}
		if rec, err := s.get(ctx, tx, oi, id, []*schema.Field{oi.byName["id"]}, g); err == nil && rec != nil {
			return e.Name
		}
	}
	return ""
}
