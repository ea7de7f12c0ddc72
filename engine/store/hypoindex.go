package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/formaapp/forma/schema"
)

// MaxHypotheticalRows is the largest table ExplainWithIndex builds an index
// on: the build holds a write lock on the table (SQLite: the database) for
// as long as it runs. Past it the advisor's effect is an estimate.
var MaxHypotheticalRows int64 = 250_000

// Hypothetical index builds on PostgreSQL give up rather than wait behind
// another transaction's lock, or hold theirs for long.
const (
	hypoLockTimeout      = "200ms"
	hypoStatementTimeout = "3s"
)

// ExplainWithIndex answers the plan of explain (an EXPLAIN or EXPLAIN QUERY
// PLAN statement without arguments) as the database would run it if entity
// e of doc had index ix: the index is built inside a transaction that is
// rolled back, so nothing stays. The plan's rows are one string per row
// (PostgreSQL's lines; SQLite's detail column). On PostgreSQL the build
// waits at most 200 ms for a lock and runs at most 3 s; built is false
// when the table has more than MaxHypotheticalRows rows (none is built).
func (db *DB) ExplainWithIndex(ctx context.Context, doc *schema.App, e *schema.Entity, ix schema.Index, explain string) (plan []string, built bool, err error) {
	probe := *e
	probe.Indexes = []schema.Index{ix}
	want := entityIndexes(doc.Name, &probe)
	if len(want) == 0 {
		return nil, false, nil
	}
	pix := want[0]
	pix.Name = "hypo_" + pix.Name[len("ix_"):]
	rows, err := db.tableRows(ctx, pix.Table)
	if err != nil {
		return nil, false, err
	}
	if rows > MaxHypotheticalRows {
		return nil, false, nil
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback() // the index never stays
	if db.Dialect.Name() == "postgres" {
		for _, set := range []string{"SET LOCAL lock_timeout = '" + hypoLockTimeout + "'", "SET LOCAL statement_timeout = '" + hypoStatementTimeout + "'"} {
			if _, err := tx.tx.ExecContext(ctx, set); err != nil {
				return nil, false, fmt.Errorf("store: hypothetical index: %w", err)
			}
		}
	}
	if _, err := tx.tx.ExecContext(ctx, createIndexSQL(db.Dialect, pix)); err != nil {
		return nil, false, fmt.Errorf("store: hypothetical index: %w", err)
	}
	r, err := tx.tx.QueryContext(ctx, explain)
	if err != nil {
		return nil, false, fmt.Errorf("store: hypothetical index: %w", err)
	}
	plan, err = PlanLines(r)
	return plan, err == nil, err
}

// tableRows is the table's row count: PostgreSQL's planner estimate
// (reltuples, -1 before the first ANALYZE counts), SQLite's count.
func (db *DB) tableRows(ctx context.Context, table string) (int64, error) {
	var n float64
	var err error
	if db.Dialect.Name() == "postgres" {
		err = db.SQL.QueryRowContext(ctx, "SELECT reltuples FROM pg_class WHERE oid = to_regclass($1)", Quote(table)).Scan(&n)
		if err == nil && n < 0 {
			err = db.SQL.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+Quote(table)).Scan(&n)
		}
	} else {
		err = db.SQL.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+Quote(table)).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("store: count %s: %w", table, err)
	}
	return int64(n), nil
}

// PlanLines reads an EXPLAIN's rows, one string each: PostgreSQL's text
// lines, or the detail column of SQLite's EXPLAIN QUERY PLAN (id, parent,
// notused, detail). It closes rows.
func PlanLines(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		var line string
		if len(cols) == 4 {
			var id, parent, unused int
			err = rows.Scan(&id, &parent, &unused, &line)
		} else {
			err = rows.Scan(&line)
		}
		if err != nil {
			return nil, fmt.Errorf("store: explain: %w", err)
		}
		out = append(out, line)
	}
	return out, rows.Err()
}
