package records

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// This file gives rollups with "visibility": "reader" their per-reader
// value. The stored column holds the aggregate over every child, which is
// what a reader who may read every child sees; anyone else gets, at read
// time, the aggregate over only the children they may read, computed with
// one grouped query per rollup and page. Such a value exists only in the
// answer, so a reader who gets it cannot filter or sort by it (the database
// holds no column to compare), and a history entry never shows it.

// readerRollup is a rollup whose value the caller gets computed over the
// children they may read.
type readerRollup struct {
	field *schema.Field
	g     *grant // the caller's read grant on the child entity: never all
}

// readerRollups returns the rollups of view (the caller's view of an
// entity, hidden fields removed) whose stored value is not the caller's.
func (s *Service) readerRollups(view *entityInfo, c Caller) ([]readerRollup, error) {
	var out []readerRollup
	for i := range view.entity.Fields {
		f := &view.entity.Fields[i]
		if f.Type != schema.Rollup || !f.Rollup.PerReader() || view.byName[f.Name] == nil {
			continue
		}
		child := s.infoOf(view.app, f.Rollup.Entity)
		if child == nil {
			continue
		}
		g, err := s.grant(child, c, schema.OpRead)
		if err != nil {
			return nil, err
		}
		if !g.all {
			out = append(out, readerRollup{field: view.byName[f.Name], g: g})
		}
	}
	return out, nil
}

// perReaderNames returns the names of the caller's per-reader rollups.
func perReaderNames(rr []readerRollup) map[string]bool {
	if len(rr) == 0 {
		return nil
	}
	m := make(map[string]bool, len(rr))
	for _, r := range rr {
		m[r.field.Name] = true
	}
	return m
}

// refusePerReader answers a list whose filter or sort uses a rollup the
// caller gets per reader: no column holds their value.
func refusePerReader(rr []readerRollup, node filter.Node, keys []sortKey) error {
	names := perReaderNames(rr)
	if names == nil {
		return nil
	}
	var ferr error
	if node != nil {
		filter.Fields(node, func(c *filter.Compare) {
			if ferr == nil && names[c.Field] {
				ferr = filterError(&filter.Error{Pos: c.Pos, Message: fmt.Sprintf(
					"%s counts only the records you may read, so it cannot be used in a filter", c.Field)})
			}
		})
	}
	if ferr != nil {
		return ferr
	}
	for _, k := range keys {
		if names[k.field.Name] {
			return errorf(400, CodeBadQuery, "sort: %s counts only the records you may read, so it cannot be sorted by", k.field.Name)
		}
	}
	return nil
}

// perReader gives recs (records of view, read for c) c's values of the
// per-reader rollups.
func (s *Service) perReader(ctx context.Context, c Caller, view *entityInfo, recs []*Record) error {
	rr, err := s.readerRollups(view, c)
	if err != nil {
		return err
	}
	return s.fillPerReader(ctx, s.db.Pool(), view, rr, recs)
}

// fillPerReader replaces, in recs (records of view read for the caller),
// the stored values of the caller's per-reader rollups by the aggregates
// over the children they may read.
func (s *Service) fillPerReader(ctx context.Context, q store.Conn, view *entityInfo, rr []readerRollup, recs []*Record) error {
	if len(rr) == 0 || len(recs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(recs))
	for _, r := range recs {
		if id := r.ID(); id != "" {
			ids = append(ids, id)
		}
	}
	for _, r := range rr {
		at := -1
		for i, f := range recs[0].fields {
			if f.Name == r.field.Name {
				at = i
			}
		}
		if at < 0 {
			continue // not selected
		}
		vals, err := s.rollupValues(ctx, q, view, r.field, ids, r.g)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			rec.values[at] = vals[rec.ID()]
		}
	}
	return nil
}

// rollupValues aggregates, for rollup field f of info, the children of each
// record in ids, with one grouped query. g (nil = every child) narrows the
// children to those a reader may read. Every id gets a value: count and sum
// of no children are 0; min, max and avg are null.
func (s *Service) rollupValues(ctx context.Context, q store.Conn, info *entityInfo, f *schema.Field, ids []string, g *grant) (map[string]any, error) {
	ru := f.Rollup
	out := make(map[string]any, len(ids))
	none, err := s.rollupResult(f, nil, nil, 0, nil)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		out[id] = none
	}
	if len(ids) == 0 || (g != nil && g.none) {
		return out, nil
	}
	cinfo := s.infoOf(info.app, ru.Entity)
	if cinfo == nil {
		return nil, fmt.Errorf("records: rollup %s: no entity %s", f.Name, ru.Entity)
	}
	via := store.Quote(ru.Via)
	where := via + " IN (?" + strings.Repeat(", ?", len(ids)-1) + ")"
	args := make([]any, 0, len(ids))
	for _, id := range ids {
		args = append(args, id)
	}
	if ru.Filter != "" {
		node, err := filter.Parse(ru.Filter)
		if err != nil {
			return nil, fmt.Errorf("records: rollup %s filter: %w", f.Name, err)
		}
		cond, cargs, err := filter.Compile(node, cinfo, s.encodeLiteral(cinfo, nil), s.dialect)
		if err != nil {
			return nil, fmt.Errorf("records: rollup %s filter: %w", f.Name, err)
		}
		where += " AND (" + cond + ")"
		args = append(args, cargs...)
	}
	if g != nil && !g.all {
		where += " AND " + g.where
		args = append(args, g.args...)
	}
	cf := cinfo.byName[ru.Field]
	var aggs string
	switch ru.Op {
	case "count":
		col := "*"
		if cf != nil {
			col = store.Quote(cf.Name)
		}
		aggs = "COUNT(" + col + "), NULL"
	case "sum", "avg":
		if cf == nil {
			return nil, fmt.Errorf("records: rollup %s: no field %s", f.Name, ru.Field)
		}
		col := store.Quote(cf.Name)
		aggs = "COUNT(" + col + "), SUM(" + col + ")"
	case "min", "max":
		if cf == nil {
			return nil, fmt.Errorf("records: rollup %s: no field %s", f.Name, ru.Field)
		}
		aggs = "COUNT(*), " + strings.ToUpper(ru.Op) + "(" + store.Quote(cf.Name) + ")"
	default:
		return nil, fmt.Errorf("records: rollup %s: unknown op %q", f.Name, ru.Op)
	}
	rows, err := q.QueryContext(ctx, "SELECT "+via+", "+aggs+" FROM "+store.Quote(cinfo.table)+" WHERE "+where+" GROUP BY "+via, args...)
	if err != nil {
		return nil, fmt.Errorf("records: rollup %s: %w", f.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  sql.NullString
			n   int64
			agg any
		)
		if err := rows.Scan(&id, &n, &agg); err != nil {
			return nil, fmt.Errorf("records: rollup %s: %w", f.Name, err)
		}
		v, err := s.rollupResult(f, cf, agg, n, agg)
		if err != nil {
			return nil, err
		}
		out[id.String] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("records: rollup %s: %w", f.Name, err)
	}
	return out, nil
}

// rollupResult turns what the aggregate query gave for one parent into the
// rollup's stored value: n is the count (of non-null values for sum and
// avg), sum the SUM and extreme the MIN or MAX, as the driver returned them.
func (s *Service) rollupResult(f *schema.Field, cf *schema.Field, sum any, n int64, extreme any) (any, error) {
	var result any
	switch f.Rollup.Op {
	case "count":
		result = n
	case "sum", "avg":
		total := decimal.Zero
		if sum != nil {
			v, err := decode(s.dialect, cf, sum)
			if err != nil {
				return nil, fmt.Errorf("records: rollup %s: %w", f.Name, err)
			}
			total, err = decimal.NewFromString(fmt.Sprint(v))
			if err != nil {
				return nil, fmt.Errorf("records: rollup %s: %w", f.Name, err)
			}
		}
		if f.Rollup.Op == "avg" {
			if n == 0 {
				return nil, nil
			}
			total = total.DivRound(decimal.NewFromInt(n), 12)
		}
		result = total.String()
	case "min", "max":
		if extreme == nil {
			return nil, nil
		}
		v, err := decode(s.dialect, cf, extreme)
		if err != nil {
			return nil, fmt.Errorf("records: rollup %s: %w", f.Name, err)
		}
		result = plainValue(v)
	}
	v, err := fromScript(storedAs(f), result, true)
	if err != nil {
		return nil, fmt.Errorf("records: rollup %s gave %v: %w", f.Name, result, err)
	}
	return v, nil
}
