package store

import (
	"context"
	"fmt"
)

// changeCounterRow counts the committed writes to one entity of one app.
// engine/records bumps it inside every write transaction, so a reader that
// sees a count also sees the writes it counts; caches (dashboard results)
// compare counts to know whether an answer is still current, on every
// process sharing the database.
type changeCounterRow struct {
	App    string `gorm:"primaryKey;size:63"`
	Entity string `gorm:"primaryKey;size:63"`
	N      int64  `gorm:"not null"`
}

func (changeCounterRow) TableName() string { return "_forma_change_counters" }

// BumpChanges counts one write to entity of app, inside the write's
// transaction tx. On PostgreSQL the counter row stays locked until tx
// ends, so writers of the same entity commit one after the other.
func BumpChanges(ctx context.Context, tx Conn, app, entity string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO _forma_change_counters (app, entity, n) VALUES (?, ?, 1) `+
		`ON CONFLICT (app, entity) DO UPDATE SET n = _forma_change_counters.n + 1`, app, entity)
	if err != nil {
		return fmt.Errorf("store: count change of %s.%s: %w", app, entity, err)
	}
	return nil
}

// ChangeCounters returns the write counts of app's entities (an entity
// never written is absent: count 0).
func (db *DB) ChangeCounters(ctx context.Context, app string) (map[string]int64, error) {
	rows, err := db.SQL.QueryContext(ctx, db.Rebind(`SELECT entity, n FROM _forma_change_counters WHERE app = ?`), app)
	if err != nil {
		return nil, fmt.Errorf("store: read change counters: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var e string
		var n int64
		if err := rows.Scan(&e, &n); err != nil {
			return nil, fmt.Errorf("store: read change counters: %w", err)
		}
		out[e] = n
	}
	return out, rows.Err()
}
