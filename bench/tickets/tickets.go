// Package tickets is the issue-22 benchmark's data: a ticket entity, the
// list a sales manager opens all day, and a fast loader, shared by the
// in-process benchmarks (bench/) and the load generator (bench/loadgen).
package tickets

import (
	"context"
	"fmt"

	"github.com/formaapp/forma/engine/store"
)

// The list: about 13% of the rows match (13,333 of 100,000; the issue's
// PocketBase run had 13,235), 50 shown.
const (
	Filter = `severity >= 4 && status = "open"`
	Sort   = "-severity,subject"
)

// App is the ticket app. With view, its list view is the list above, so it
// indexes itself (status, severity, subject desc, id); without, only the
// declared (status, severity) index exists and every page sorts its
// matches, as in the comparison.
func App(view bool) string {
	forms := ""
	if view {
		forms = `, "forms": [{"entity": "ticket", "kind": "list", "columns": ["subject", "severity", "status"],
   "sort": "-severity,subject", "filter": "status = \"open\""}]`
	}
	return `{"name": "desk", "entities": [{"name": "ticket", "fields": [
  {"id": "t1", "name": "subject", "type": "text", "maxLength": 200},
  {"id": "t2", "name": "severity", "type": "integer"},
  {"id": "t3", "name": "status", "type": "select", "options": ["open", "pending", "closed"]},
  {"id": "t4", "name": "amount", "type": "decimal", "scale": 2}
 ], "indexes": [{"fields": ["status", "severity"]}]}]` + forms + `}`
}

// Fill inserts n tickets with one statement (ids 0000000001…): severities
// 1–5, a third each open, pending and closed, subjects from a fixed
// pseudo-random sequence. PostgreSQL's table is analyzed after, as
// autovacuum would soon.
func Fill(ctx context.Context, db *store.DB, n int) error {
	var q string
	if db.Dialect.Name() == "postgres" {
		q = fmt.Sprintf(`INSERT INTO desk_ticket (id, created_at, updated_at, version, subject, severity, status, amount)
			SELECT lpad(i::text, 10, '0'), now(), now(), 1, 'Ticket ' || ((i::bigint * 7919) %% 100003),
				i %% 5 + 1, (ARRAY['open', 'pending', 'closed'])[i %% 3 + 1], (i %% 1000) * 1.25
			FROM generate_series(1, %d) AS i`, n)
	} else {
		q = fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
			INSERT INTO desk_ticket (id, created_at, updated_at, version, subject, severity, status, amount)
			SELECT printf('%%010d', i), '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1,
				'Ticket ' || ((i * 7919) %% 100003), i %% 5 + 1, CASE i %% 3 WHEN 0 THEN 'open' WHEN 1 THEN 'pending' ELSE 'closed' END,
				(i %% 1000) * 125
			FROM s`, n)
	}
	if _, err := db.SQL.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("fill tickets: %w", err)
	}
	if db.Dialect.Name() == "postgres" {
		if _, err := db.SQL.ExecContext(ctx, "ANALYZE desk_ticket"); err != nil {
			return fmt.Errorf("analyze tickets: %w", err)
		}
	}
	return nil
}

// ID is the id Fill gives ticket i (1…n).
func ID(i int) string { return fmt.Sprintf("%010d", i) }
