package records

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// CodeMigrationFailed is the error code of a migration that failed while it
// ran (here: a formula or rollup of the new version failed for a record);
// nothing was changed.
const CodeMigrationFailed = "migration_failed"

// recomputeBatch is how many records the recomputation after a migration
// reads at a time.
const recomputeBatch = 500

// Apply migrates the database to app (see store.DB.Apply; it sets
// opts.Locked and opts.Migrated) and, in the migration's own transaction,
// brings the computed fields that the new version adds or redefines
// (formulas, rollups) up to date on every existing record, along with
// whatever depends on them elsewhere. So a migration is all or nothing, a
// crash included: either the new version is live with every record
// computed by it, or the old version is live and no record changed. A
// formula that fails for a record rolls the whole migration back with a 422
// migration_failed naming the record and, as a JSON pointer into the
// document, the formula.
//
// It returns the plan and how many records the recomputation changed.
func (s *Service) Apply(ctx context.Context, app *schema.App, opts store.ApplyOptions) (*store.Plan, int, error) {
	var (
		changed int
		next    *schema.App
		runs    []*logicRun
	)
	opts.Locked = func(ctx context.Context, tx store.Conn) error {
		// Taken before the migration's DDL locks any table: writes that
		// recompute across records wait for the migration (and it for
		// them), in the order they use, so neither sees the other halfway.
		return s.logicLock(ctx, tx, app.Name, true)
	}
	opts.Migrated = func(ctx context.Context, tx store.Conn, prev, doc *schema.App) error {
		next = doc
		s.applying.Store(doc, struct{}{})
		n, err := s.recomputeApplied(ctx, tx, prev, doc, &runs)
		changed = n
		return err
	}
	plan, err := s.db.Apply(ctx, app, opts)
	// Script log lines are written once the migration's transaction is
	// over: on SQLite it holds the one write slot.
	for _, r := range runs {
		r.flush(ctx)
	}
	if next != nil {
		s.forgetApplying(next)
	}
	if !opts.DryRun {
		s.catalog.Forget(app.Name)
	}
	if err != nil {
		return plan, 0, err
	}
	return plan, changed, nil
}

// forgetApplying drops what was cached from a document being applied.
func (s *Service) forgetApplying(doc *schema.App) {
	key := s.docKey(doc)
	s.applying.Delete(doc)
	s.entities.Range(func(k, _ any) bool {
		if ks, _ := k.(string); strings.Contains(ks, key) {
			s.entities.Delete(k)
		}
		return true
	})
}

// recomputeApplied recomputes, inside the migration's transaction tx, the
// computed fields of every record of each entity of next whose formulas or
// rollups are new or changed since prev (nil for a new app). It returns how
// many records changed; runs collects the logic runs, whose script log the
// caller writes.
func (s *Service) recomputeApplied(ctx context.Context, tx store.Conn, prev, next *schema.App, runs *[]*logicRun) (int, error) {
	total := 0
	for ei := range next.Entities {
		e := &next.Entities[ei]
		sig := computedSignature(next, e)
		if sig == "" {
			continue
		}
		if prev != nil {
			if pe := prev.Entity(e.Name); pe != nil && computedSignature(prev, pe) == sig {
				continue
			}
		}
		info := s.infoOf(next, e.Name)
		run, err := s.newRun(info, Caller{Admin: true, Path: PathSystem})
		if err != nil {
			return total, err
		}
		run.afresh = true
		*runs = append(*runs, run)
		n, err := s.recomputeEntity(ctx, tx, run, info)
		total += n
		if err != nil {
			return total, migrationFailed(next, err)
		}
	}
	return total, nil
}

// computedSignature describes an entity's computed fields; it changes when
// one is added or redefined, or when the field a rollup aggregates changes
// its type or scale (a write adjusts a stored sum by its change, so a
// migration that rewrites the children's values must aggregate anew).
func computedSignature(app *schema.App, e *schema.Entity) string {
	var b strings.Builder
	for _, f := range e.Fields {
		if f.Type != schema.Formula && f.Type != schema.Rollup {
			continue
		}
		fmt.Fprintf(&b, "%s|%s|%s|%s|%d|%v;", f.ID, f.Type, f.Expr, f.Returns, f.DecimalScale(), f.Rollup)
		if f.Rollup != nil {
			fmt.Fprintf(&b, "%s|%s|%s|%s|%s;", f.Rollup.Entity, f.Rollup.Via, f.Rollup.Op, f.Rollup.Field, f.Rollup.Filter)
			if ce := app.Entity(f.Rollup.Entity); ce != nil && f.Rollup.Field != "" {
				if cf := ce.Field(f.Rollup.Field); cf != nil {
					fmt.Fprintf(&b, "%s|%s|%d;", cf.Type, cf.StorageType(), cf.DecimalScale())
				}
			}
		}
	}
	return b.String()
}

// recomputeEntity recomputes every record of info in tx, reading them
// recomputeBatch at a time in id order, and propagates each change to the
// computed values that depend on it.
func (s *Service) recomputeEntity(ctx context.Context, tx store.Conn, run *logicRun, info *entityInfo) (int, error) {
	q := "SELECT " + info.selects + " FROM " + store.Quote(info.table) + fmt.Sprintf(` WHERE "id" > ? ORDER BY "id" LIMIT %d`, recomputeBatch)
	if s.dialect != "sqlite" {
		q += " FOR UPDATE" // as lockRow: writers of these records wait
	}
	changed, after := 0, ""
	for {
		rows, err := tx.QueryContext(ctx, q, after)
		if err != nil {
			return changed, fmt.Errorf("records: recompute %s: %w", info.entity.Name, err)
		}
		recs, err := s.scan(rows, info.fields)
		if err != nil {
			return changed, fmt.Errorf("records: recompute %s: %w", info.entity.Name, err)
		}
		if len(recs) == 0 {
			return changed, nil
		}
		after = recs[len(recs)-1].ID()
		// The batch's new values are written together, then each change
		// flows on: the rollups and formulas it feeds read them from the
		// table.
		var (
			writes   []computed
			olds, ns []*Record
		)
		for _, old := range recs {
			fields, values, new, err := run.recomputed(ctx, tx, info, old, nil)
			// A formula stopped by the time limit may only have met a busy
			// machine (a pause, other work): over thousands of records
			// that happens, and it must not fail the whole migration. A
			// formula that really runs too long is stopped every time.
			for try := 1; try < timeoutTries && timedOut(err); try++ {
				fields, values, new, err = run.recomputed(ctx, tx, info, old, nil)
			}
			if err != nil {
				return changed, err
			}
			if new != old {
				writes = append(writes, computed{id: old.ID(), fields: fields, values: values})
				olds, ns = append(olds, old), append(ns, new)
			}
		}
		if err := s.storeComputed(ctx, tx, info, writes); err != nil {
			return changed, fmt.Errorf("records: recompute %s: %w", info.entity.Name, err)
		}
		changed += len(writes)
		for i := range olds {
			if err := run.propagate(ctx, tx, change{info: info, old: olds[i], new: ns[i]}); err != nil {
				return changed, err
			}
		}
	}
}

// timeoutTries is how many times recomputing a record after a migration
// runs a formula that the time limit stopped before giving up.
const timeoutTries = 3

// timedOut reports whether err is a formula stopped by its time limit.
func timedOut(err error) bool {
	var re *Error
	return errors.As(err, &re) && re.Script != nil && re.Script.Kind == script.KindTimeout
}

// migrationFailed turns a formula or rollup that failed while recomputing
// a record under the new version app into the migration's 422: each detail
// points at the failing field's definition (/entities/i/fields/j/expr for a
// formula, …/rollup for a rollup) and names the record.
func migrationFailed(app *schema.App, err error) error {
	var rf *recomputeFailure
	if !errors.As(err, &rf) {
		return err
	}
	name, id := rf.info.entity.Name, rf.id
	ei := 0
	for i := range app.Entities {
		if app.Entities[i].Name == name {
			ei = i
		}
	}
	base := fmt.Sprintf("/entities/%d", ei)
	var details []schema.Problem
	for _, d := range rf.err.Details {
		path := base
		field := strings.TrimPrefix(d.Path, "/")
		for j, f := range app.Entities[ei].Fields {
			if field == "" || f.Name != field {
				continue
			}
			path = fmt.Sprintf("%s/fields/%d", base, j)
			switch f.Type {
			case schema.Formula:
				path += "/expr"
			case schema.Rollup:
				path += "/rollup"
			}
		}
		details = append(details, schema.Problem{Path: path, Code: d.Code, Params: withRecord(d.Params, name, id),
			Message: fmt.Sprintf("%s record %s: %s", name, id, d.Message)})
	}
	if len(details) == 0 {
		details = append(details, schema.Problem{Path: base, Code: ProblemFormula, Params: withRecord(nil, name, id),
			Message: fmt.Sprintf("%s record %s: %s", name, id, rf.err.Message)})
	}
	return &Error{Status: 422, Code: CodeMigrationFailed,
		Message: fmt.Sprintf("the new version's computed fields fail for %s record %s; nothing was changed", name, id), Details: details}
}

// withRecord is a problem's params with the entity and id of the record it
// was found on.
func withRecord(params map[string]any, entity, id string) map[string]any {
	out := map[string]any{"entity": entity, "record": id}
	for k, v := range params {
		out[k] = v
	}
	return out
}
