package store

import (
	"context"
	"fmt"
	"hash/fnv"
)

// changeCounterRow counts the committed writes to one entity of one app.
// engine/records bumps it inside every write transaction, so a reader that
// sees a count also sees the writes it counts; caches (dashboard results)
// compare counts to know whether an answer is still current, on every
// process sharing the database.
//
// Each entity's count is spread over ChangeSlots rows, picked by record:
// on PostgreSQL a bumped row stays locked until its transaction ends, and
// one row per entity made concurrent writers of different records of it
// commit one after the other (patches −30% at 8 clients); the readers sum
// the slots.
type changeCounterRow struct {
	App    string `gorm:"primaryKey;size:63"`
	Entity string `gorm:"primaryKey;size:63"`
	Slot   int    `gorm:"primaryKey;autoIncrement:false"`
	N      int64  `gorm:"not null"`
}

// ChangeSlots is how many counter rows an entity's count is spread over.
const ChangeSlots = 16

func (changeCounterRow) TableName() string { return "_forma_change_counters" }

// BumpChanges counts one write to record id of entity of app, inside the
// write's transaction tx.
func BumpChanges(ctx context.Context, tx Conn, app, entity, id string) error {
	return BumpChangesBy(ctx, tx, app, entity, ChangeSlot(id), 1)
}

// ChangeSlot is the counter slot of record id's changes.
func ChangeSlot(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % ChangeSlots)
}

// BumpChangesBy counts n changes in one slot: what BumpChanges does for
// each record of a batch written at once (an import's COPY).
func BumpChangesBy(ctx context.Context, tx Conn, app, entity string, slot int, n int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO _forma_change_counters (app, entity, slot, n) VALUES (?, ?, ?, ?) `+
		`ON CONFLICT (app, entity, slot) DO UPDATE SET n = _forma_change_counters.n + excluded.n`, app, entity, slot, n)
	if err != nil {
		return fmt.Errorf("store: count change of %s.%s: %w", app, entity, err)
	}
	return nil
}

// ChangeCounters returns the write counts of app's entities (an entity
// never written is absent: count 0).
func (db *DB) ChangeCounters(ctx context.Context, app string) (map[string]int64, error) {
	rows, err := db.SQL.QueryContext(ctx, db.Rebind(`SELECT entity, SUM(n) FROM _forma_change_counters WHERE app = ? GROUP BY entity`), app)
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
