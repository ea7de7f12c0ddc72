package records

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
	"github.com/shopspring/decimal"
)

// maxRecomputes bounds the records one write may recompute (cycles are
// refused when the app is applied, so this only stops a runaway fan-out).
const maxRecomputes = 100000

// change is one record written (old nil: created; new nil: deleted).
type change struct {
	info     *entityInfo
	old, new *Record
	cause    string // for the fallout of a delete: why (see fallout)
}

func (c change) id() string {
	if c.new != nil {
		return c.new.ID()
	}
	return c.old.ID()
}

// propagate brings up to date, inside tx, the computed values that the
// write ch made stale: the rollups of the records it is rolled up into
// (through its via ref, before and after the change) and the formulas of the
// records that read its fields through a ref; and then, in turn, whatever
// depends on those.
func (r *logicRun) propagate(ctx context.Context, tx store.Conn, first change) error {
	queue := []change{first}
	done := 0
	for len(queue) > 0 {
		ch := queue[0]
		queue = queue[1:]
		if !ch.info.feeds {
			continue // nothing computed elsewhere reads this entity
		}
		changed := changedNames(ch.info.fields, ch.old, ch.new)
		if len(changed) == 0 {
			continue
		}
		app := ch.info.app
		name := ch.info.entity.Name
		for pi := range app.Entities {
			pe := &app.Entities[pi]
			targets := map[string]bool{}
			for _, f := range pe.Fields {
				if f.Type != schema.Rollup || f.Rollup == nil || f.Rollup.Entity != name {
					continue
				}
				for _, rec := range []*Record{ch.old, ch.new} {
					if rec == nil {
						continue
					}
					if id, _ := rec.Get(f.Rollup.Via).(string); id != "" {
						targets[id] = true
					}
				}
			}
			if ch.old != nil && ch.new != nil {
				le := r.prog.Entity(pe.Name)
				for _, f := range pe.Fields {
					if f.Type != schema.Ref || f.Entity != name || !overlaps(le.RefReads[f.Name], changed) {
						continue
					}
					ids, err := r.referrers(ctx, tx, app, pe.Name, f.Name, ch.id())
					if err != nil {
						return err
					}
					for _, id := range ids {
						targets[id] = true
					}
				}
			}
			if len(targets) == 0 {
				continue
			}
			pinfo := r.s.infoOf(app, pe.Name)
			for _, id := range sortedSet(targets) {
				if done++; done > maxRecomputes {
					return errorf(422, CodeInvalid, "this change would recompute more than %d records; split it up", maxRecomputes)
				}
				by := &ch
				if r.afresh {
					by = nil
				}
				old, new, err := r.recompute(ctx, tx, pinfo, id, by)
				if err != nil {
					return err
				}
				if old != nil && new != old {
					queue = append(queue, change{info: pinfo, old: old, new: new})
				}
			}
		}
	}
	return nil
}

// referrers lists the records of entity whose ref field points at id.
func (r *logicRun) referrers(ctx context.Context, tx store.Conn, app *schema.App, entity, ref, id string) ([]string, error) {
	table := schema.TableName(app.Name, entity)
	rows, err := tx.QueryContext(ctx, `SELECT "id" FROM `+store.Quote(table)+" WHERE "+store.Quote(ref)+" = ?", id)
	if err != nil {
		return nil, fmt.Errorf("records: find %s records referring to %s: %w", entity, id, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		ids = append(ids, s)
	}
	return ids, rows.Err()
}

// recompute recalculates the rollups and formulas of record id and stores
// the ones that changed, without a new version: computed values are not an
// edit, so they neither bump the version (a user's open form stays valid)
// nor enter the history. It returns the record before and after (the same
// pointer when nothing changed; nil when the record does not exist).
//
// by is the write that made the record stale, or nil to aggregate every
// rollup afresh: with it, rollups over other entities keep their stored
// value and sums and counts are adjusted by by's change (see adjusted).
func (r *logicRun) recompute(ctx context.Context, tx store.Conn, info *entityInfo, id string, by *change) (old, new *Record, err error) {
	old, err = r.s.lockRow(ctx, tx, info, id)
	if err != nil || old == nil {
		return nil, nil, err
	}
	return r.recomputeFrom(ctx, tx, info, old, by)
}

// recomputeFailure is a formula or rollup that failed while recomputing a
// record: the *Error for the caller, and which record it was.
type recomputeFailure struct {
	info *entityInfo
	id   string
	err  *Error
}

func (f *recomputeFailure) Error() string { return f.err.Error() }
func (f *recomputeFailure) Unwrap() error { return f.err }

// recomputeFrom is recompute of old, the record as locked and read in tx.
func (r *logicRun) recomputeFrom(ctx context.Context, tx store.Conn, info *entityInfo, old *Record, by *change) (_, new *Record, err error) {
	fields, values, new, err := r.recomputed(ctx, tx, info, old, by)
	if err != nil || len(fields) == 0 {
		return old, new, err
	}
	if err := r.s.storeComputed(ctx, tx, info, []computed{{id: old.ID(), fields: fields, values: values}}); err != nil {
		return nil, nil, err
	}
	return old, new, nil
}

// computed is the new computed values of one record, to be stored.
type computed struct {
	id     string
	fields []*schema.Field
	values []any
}

// recomputed calculates the rollups and formulas of old (as read in tx)
// without storing them: the fields whose value changed, their values, and
// the record as it will be (old itself when nothing changed). by is as for
// recompute.
func (r *logicRun) recomputed(ctx context.Context, tx store.Conn, info *entityInfo, old *Record, by *change) ([]*schema.Field, []any, *Record, error) {
	id := old.ID()
	w := newWorking(info, old)
	for _, f := range info.entity.Fields {
		if f.Type != schema.Rollup || f.Rollup == nil {
			continue
		}
		if by != nil && f.Rollup.Entity != by.info.entity.Name {
			continue // by's write cannot have changed it
		}
		f := info.byName[f.Name]
		v, ok := adjusted(f, by, id, w.values[f.Name])
		if !ok {
			var err error
			if v, err = r.s.rollupValue(ctx, tx, info, f, id); err != nil {
				return nil, nil, nil, err
			}
		}
		if !sameValue(v, w.values[f.Name]) {
			w.put(f, v)
		}
	}
	if err := r.compute(ctx, tx, w, false); err != nil {
		if e, ok := err.(*Error); ok {
			e.Message = fmt.Sprintf("recomputing %s %s: %s", info.entity.Name, id, e.Message)
			return nil, nil, nil, &recomputeFailure{info: info, id: id, err: e}
		}
		return nil, nil, nil, err
	}
	fields, values := w.list()
	if len(fields) == 0 {
		return nil, nil, old, nil
	}
	new := &Record{fields: old.fields, values: make([]any, len(old.values))}
	for i, f := range old.fields {
		new.values[i] = w.values[f.Name]
	}
	return fields, values, new, nil
}

// storeComputed writes recomputed values of info's records in tx. On
// PostgreSQL, records that changed the same fields are written by one
// UPDATE … FROM (VALUES …) per batch, one round trip instead of one per
// record; SQLite runs in process, where one UPDATE per record costs little.
func (s *Service) storeComputed(ctx context.Context, tx store.Conn, info *entityInfo, recs []computed) error {
	table := store.Quote(info.table)
	if s.dialect == "sqlite" || len(recs) == 1 {
		for _, c := range recs {
			sets := make([]string, len(c.fields))
			args := make([]any, 0, len(c.fields)+1)
			for i, f := range c.fields {
				sets[i] = store.Quote(f.Name) + " = ?"
				args = append(args, encode(s.dialect, f, c.values[i]))
			}
			args = append(args, c.id)
			if _, err := tx.ExecContext(ctx, "UPDATE "+table+" SET "+strings.Join(sets, ", ")+` WHERE "id" = ?`, args...); err != nil {
				return s.writeError(err)
			}
		}
		return nil
	}
	var order []string
	groups := map[string][]computed{}
	for _, c := range recs {
		names := make([]string, len(c.fields))
		for i, f := range c.fields {
			names[i] = f.Name
		}
		key := strings.Join(names, ",")
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], c)
	}
	for _, key := range order {
		group := groups[key]
		fields := group[0].fields
		cols := []string{`"id"`}
		sets := make([]string, len(fields))
		row := []string{"CAST(? AS text)"}
		for i, f := range fields {
			cols = append(cols, store.Quote(f.Name))
			sets[i] = store.Quote(f.Name) + " = v." + store.Quote(f.Name)
			row = append(row, "CAST(? AS "+s.db.Dialect.ColumnType(f)+")")
		}
		tuple := "(" + strings.Join(row, ", ") + ")"
		per := 60000 / len(row) // PostgreSQL takes at most 65535 parameters
		for len(group) > 0 {
			chunk := group[:min(per, len(group))]
			group = group[len(chunk):]
			tuples := make([]string, len(chunk))
			args := make([]any, 0, len(chunk)*len(row))
			for i, c := range chunk {
				tuples[i] = tuple
				args = append(args, c.id)
				for j, f := range fields {
					args = append(args, encode(s.dialect, f, c.values[j]))
				}
			}
			q := "UPDATE " + table + " AS t SET " + strings.Join(sets, ", ") + " FROM (VALUES " + strings.Join(tuples, ", ") + ") AS v(" + strings.Join(cols, ", ") + `) WHERE t."id" = v."id"`
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return s.writeError(err)
			}
		}
	}
	return nil
}

// rollupValue aggregates the children of record id for rollup field f.
// Rollups see every child, whatever the caller may read: a stored value is
// the same for everyone (so an account's won amount includes deals its
// viewer cannot open). count and sum of no children are 0; min, max and
// avg are null.
func (s *Service) rollupValue(ctx context.Context, tx store.Conn, info *entityInfo, f *schema.Field, id string) (any, error) {
	vals, err := s.rollupValues(ctx, tx, info, f, []string{id}, nil)
	if err != nil {
		return nil, err
	}
	return vals[id], nil
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// fallout is what deleting one record does to others: the records that
// onDelete cascade removes (and those theirs remove, in turn) and those
// whose onDelete setNull refs are cleared. It is collected before the
// delete, so that each gets its own history entry (with the deleting user
// and the cause) and the computed values that depend on them follow.
type fallout struct {
	deleted []change   // old set, new nil
	nulled  []change   // old set, new = old with the refs cleared (by clearRefs)
	refs    [][]string // per nulled record, the ref fields cleared
}

// maxFallout bounds the records one delete may remove or change through
// onDelete cascade and setNull, and maxCascadeDepth how deep a cascade may go.
const (
	maxFallout      = maxRecomputes
	maxCascadeDepth = 32
)

// deleteFallout collects, in tx, the fallout of deleting record id of
// info. On PostgreSQL the records found are locked (FOR UPDATE): none can
// move to or from the deleted records before the delete. The root record
// is locked already, so no record can come to refer to it.
func (s *Service) deleteFallout(ctx context.Context, tx store.Conn, info *entityInfo, id string) (*fallout, error) {
	out := &fallout{}
	app := info.app
	type node struct {
		info  *entityInfo
		id    string
		depth int
	}
	root := info.entity.Name + " " + id
	cause := func(kind string, parent node) string {
		c := fmt.Sprintf("%s from %s %s", kind, parent.info.entity.Name, parent.id)
		if parent.depth > 0 {
			c += " (deleting " + root + ")"
		}
		return c
	}
	referring := func(k *entityInfo, ref, id string) ([]*Record, error) {
		q := "SELECT " + k.selects + " FROM " + store.Quote(k.table) + " WHERE " + store.Quote(ref) + ` = ? ORDER BY "id"`
		if s.dialect != "sqlite" {
			q += " FOR UPDATE"
		}
		rows, err := tx.QueryContext(ctx, q, id)
		if err != nil {
			return nil, fmt.Errorf("records: read %s records referring to %s: %w", k.entity.Name, id, err)
		}
		return s.scan(rows, k.fields)
	}
	tooMuch := errorf(422, CodeInvalid, "deleting this record would remove or change more than %d other records, or cascade more than %d levels deep; delete its dependents first", maxFallout, maxCascadeDepth)

	// The records cascade deletes, breadth first from the root.
	deleted := map[string]bool{info.entity.Name + "\x00" + id: true}
	queue := []node{{info, id, 0}}
	var gone []node // the root and every record deleted with it
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		gone = append(gone, n)
		for ki := range app.Entities {
			k := &app.Entities[ki]
			for _, f := range k.Fields {
				if f.Type != schema.Ref || f.Entity != n.info.entity.Name || f.OnDelete != "cascade" {
					continue
				}
				kinfo := s.infoOf(app, k.Name)
				recs, err := referring(kinfo, f.Name, n.id)
				if err != nil {
					return nil, err
				}
				for _, rec := range recs {
					key := k.Name + "\x00" + rec.ID()
					if deleted[key] {
						continue
					}
					if n.depth+1 > maxCascadeDepth || len(out.deleted) >= maxFallout {
						return nil, tooMuch
					}
					deleted[key] = true
					out.deleted = append(out.deleted, change{info: kinfo, old: rec, cause: cause("cascade", n)})
					queue = append(queue, node{kinfo, rec.ID(), n.depth + 1})
				}
			}
		}
	}
	// The records that stay but whose setNull refs point at one that goes.
	nulled := map[string]int{} // key → index in out.nulled
	for _, n := range gone {
		for ki := range app.Entities {
			k := &app.Entities[ki]
			for _, f := range k.Fields {
				if f.Type != schema.Ref || f.Entity != n.info.entity.Name || f.OnDelete != "setNull" {
					continue
				}
				kinfo := s.infoOf(app, k.Name)
				recs, err := referring(kinfo, f.Name, n.id)
				if err != nil {
					return nil, err
				}
				for _, rec := range recs {
					key := k.Name + "\x00" + rec.ID()
					if deleted[key] {
						continue
					}
					i, ok := nulled[key]
					if !ok {
						if len(out.deleted)+len(out.nulled) >= maxFallout {
							return nil, tooMuch
						}
						i = len(out.nulled)
						nulled[key] = i
						cleared := &Record{fields: rec.fields, values: append([]any(nil), rec.values...)}
						out.nulled = append(out.nulled, change{info: kinfo, old: rec, new: cleared, cause: cause("setNull", n)})
						out.refs = append(out.refs, nil)
					}
					ch := out.nulled[i]
					for vi, cf := range ch.new.fields {
						if cf.Name == f.Name {
							ch.new.values[vi] = nil
						}
					}
					out.refs[i] = append(out.refs[i], f.Name)
				}
			}
		}
	}
	return out, nil
}

// clearRefs clears the setNull refs of the fallout's records before the
// delete, which the database would otherwise do on its own, and does it as
// an edit: each such record gets a new version (so a form open on it must
// reload rather than write the old ref back) and updated_at.
func (s *Service) clearRefs(ctx context.Context, tx store.Conn, f *fallout, now time.Time) error {
	for i, ch := range f.nulled {
		sets := []string{`"version" = "version" + 1`, `"updated_at" = ?`}
		for _, ref := range f.refs[i] {
			sets = append(sets, store.Quote(ref)+" = NULL")
		}
		q := "UPDATE " + store.Quote(ch.info.table) + " SET " + strings.Join(sets, ", ") + ` WHERE "id" = ?`
		if _, err := tx.ExecContext(ctx, q, encode(s.dialect, systemFields[2], now), ch.old.ID()); err != nil {
			return s.writeError(err)
		}
		for vi, cf := range ch.new.fields {
			switch cf.Name {
			case "version":
				ch.new.values[vi] = recordVersion(ch.old) + 1
			case "updated_at":
				ch.new.values[vi] = now
			}
		}
	}
	return nil
}

// writeHistory gives every record of the fallout its own history entry,
// by the caller who deleted, with its cause.
func (f *fallout) writeHistory(ctx context.Context, tx store.Conn, s *Service, c Caller, now time.Time) error {
	for _, ch := range f.deleted {
		if err := s.writeHistoryCause(ctx, tx, ch.info, c, ch.old.ID(), recordVersion(ch.old), OpDelete, now, changesJSON(ch.info.fields, ch.old, nil), ch.cause, ch.old, nil); err != nil {
			return err
		}
	}
	for _, ch := range f.nulled {
		if err := s.writeHistoryCause(ctx, tx, ch.info, c, ch.old.ID(), recordVersion(ch.new), OpUpdate, now, changesJSON(ch.info.fields, ch.old, ch.new), ch.cause, ch.old, ch.new); err != nil {
			return err
		}
	}
	return nil
}

// apply brings computed values up to date after the delete happened.
func (f *fallout) apply(ctx context.Context, tx store.Conn, r *logicRun) error {
	for _, ch := range f.deleted {
		if err := r.propagate(ctx, tx, ch); err != nil {
			return err
		}
	}
	for _, ch := range f.nulled {
		old, new, err := r.recompute(ctx, tx, ch.info, ch.old.ID(), nil)
		if err != nil {
			return err
		}
		if old == nil {
			continue
		}
		if err := r.propagate(ctx, tx, change{info: ch.info, old: ch.old, new: new}); err != nil {
			return err
		}
	}
	return nil
}

// rolledUp reports whether a rollup aggregates info's records.
func rolledUp(info *entityInfo) bool {
	for i := range info.app.Entities {
		for _, f := range info.app.Entities[i].Fields {
			if f.Type == schema.Rollup && f.Rollup != nil && f.Rollup.Entity == info.entity.Name {
				return true
			}
		}
	}
	return false
}

// hasCascades reports whether deleting info's records deletes or clears
// others (onDelete cascade or setNull).
func hasCascades(info *entityInfo) bool {
	for i := range info.app.Entities {
		for _, f := range info.app.Entities[i].Fields {
			if f.Type == schema.Ref && f.Entity == info.entity.Name && (f.OnDelete == "cascade" || f.OnDelete == "setNull") {
				return true
			}
		}
	}
	return false
}

// logicLockClass is the class of the PostgreSQL advisory lock (per app)
// that orders writes whose recomputation crosses records ("Frml").
const logicLockClass = 0x46726d6c

// lockForRecompute prevents deadlocks between writes that recompute other
// records. A write that updates the rollups of its parents locks child
// first, parent second; a write whose change flows down into the formulas
// of the records that reference it locks parent first, children second.
// Two such writes could each hold what the other waits for. So, on
// PostgreSQL, before touching any row, writes that flow down take the
// app's logic lock exclusively and writes that only flow up take it
// shared: upward writes still run side by side (their parent locks follow
// one order), and a downward write waits until they are done. SQLite runs
// one write at a time and needs none.
func (s *Service) lockForRecompute(ctx context.Context, tx store.Conn, info *entityInfo, deleting bool) error {
	switch {
	case info.flowsDown || (deleting && info.cascades):
		return s.logicLock(ctx, tx, info.app.Name, true)
	case info.feeds:
		return s.logicLock(ctx, tx, info.app.Name, false)
	}
	return nil
}

// logicLock takes the app's logic lock on PostgreSQL, exclusive or shared,
// for the rest of tx (see lockForRecompute).
func (s *Service) logicLock(ctx context.Context, tx store.Conn, app string, exclusive bool) error {
	if s.dialect == "sqlite" {
		return nil
	}
	fn := "pg_advisory_xact_lock_shared"
	if exclusive {
		fn = "pg_advisory_xact_lock"
	}
	if _, err := tx.ExecContext(ctx, "SELECT "+fn+"(?, hashtext(?))", logicLockClass, app); err != nil {
		return fmt.Errorf("records: lock for recomputation: %w", err)
	}
	return nil
}

// flowsDown reports whether a formula of another record reads info's
// records through a ref, so that a change to one recomputes those.
func flowsDown(info *entityInfo) bool {
	for i := range info.app.Entities {
		e := &info.app.Entities[i]
		for _, f := range e.Fields {
			if f.Type == schema.Ref && f.Entity == info.entity.Name && formulaReadsRef(e, f.Name) {
				return true
			}
		}
	}
	return false
}

// adjusted is rollup f of record id after by's write, worked out from the
// value stored before it (stored) and by's record before and after, rather
// than by aggregating every child again: over a parent with many children
// (a store's orders, a SKU's order lines) aggregating afresh on every write
// made bulk writes quadratic. ok is false where only aggregating is exact:
// by is nil; min, max and avg (a removed extreme needs the others); a filter
// (not judged outside SQL); a stored value missing or not a number; or a
// sum the rounding to f's scale could make differ from the rounded total.
//
// The adjustment is exact because each write's change is propagated exactly
// once, right after it is stored, and the parent row is locked meanwhile
// (lockRow): the stored value is always the aggregate of the children as
// stored. TestRollupsAdjustedEqualAggregated checks it against aggregating.
func adjusted(f *schema.Field, by *change, id string, stored any) (v any, ok bool) {
	ru := f.Rollup
	if by == nil || ru.Filter != "" || stored == nil || (ru.Op != "sum" && ru.Op != "count") {
		return nil, false
	}
	var cf *schema.Field
	if ru.Field != "" {
		if cf = by.info.byName[ru.Field]; cf == nil {
			return nil, false
		}
	}
	// contribution is what rec adds to id's aggregate: how many rows it
	// counts as, and its value for a sum.
	contribution := func(rec *Record) (n int64, sum decimal.Decimal, ok bool) {
		if rec == nil {
			return 0, decimal.Zero, true
		}
		if via, _ := rec.Get(ru.Via).(string); via != id {
			return 0, decimal.Zero, true
		}
		if cf == nil {
			return 1, decimal.Zero, true
		}
		x := rec.Get(cf.Name)
		if x == nil {
			return 0, decimal.Zero, true
		}
		d, ok := asDecimal(x)
		return 1, d, ok
	}
	n0, s0, ok0 := contribution(by.old)
	n1, s1, ok1 := contribution(by.new)
	if !ok0 || !ok1 {
		return nil, false
	}
	if n0 == n1 && s0.Equal(s1) {
		return stored, true // by's write moved nothing in or out of id
	}
	now, ok := asDecimal(stored)
	if !ok {
		return nil, false
	}
	st := f.StorageType()
	switch ru.Op {
	case "count":
		v = now.IntPart() + n1 - n0
	case "sum":
		if cf == nil {
			return nil, false
		}
		switch cst := cf.StorageType(); {
		case st == schema.Integer && cst == schema.Integer:
		case st == schema.Decimal && cst == schema.Integer:
		case st == schema.Decimal && cst == schema.Decimal && cf.DecimalScale() <= f.DecimalScale():
		default:
			return nil, false // a rounded sum of rounded parts may drift
		}
		v = now.Add(s1).Sub(s0).String()
	}
	v, err := fromScript(storedAs(f), v, true)
	if err != nil {
		return nil, false
	}
	return v, true
}

// asDecimal reads a stored number (an integer, a decimal's text or
// json.Number, a float) exactly.
func asDecimal(v any) (decimal.Decimal, bool) {
	switch x := v.(type) {
	case int64:
		return decimal.NewFromInt(x), true
	case int:
		return decimal.NewFromInt(int64(x)), true
	case float64:
		return decimal.NewFromFloat(x), true
	case decimal.Decimal:
		return x, true
	case json.Number:
		d, err := decimal.NewFromString(string(x))
		return d, err == nil
	case string:
		d, err := decimal.NewFromString(x)
		return d, err == nil
	}
	return decimal.Decimal{}, false
}
