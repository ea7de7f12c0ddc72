package store

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// listShapeRow is one shape of slow list query the index advisor saw, on
// any server sharing the database: the entity, the filter's skeleton (its
// fields and operators, values replaced by "?"), the sort — never values —
// with how often it was slow and how long it took. Servers aggregate in
// memory and add their counts here now and then in one upsert, so a list
// request never writes.
type listShapeRow struct {
	ID      string `gorm:"primaryKey;size:40"` // hash of app, entity, filter, sort
	App     string `gorm:"size:63;not null;index:idx_forma_list_shapes_app"`
	Entity  string `gorm:"size:63;not null"`
	Filter  string `gorm:"column:shape_filter;not null"`
	Eq      string `gorm:"column:eq_fields;not null"` // fields fixed by equality, comma-separated
	Sort    string `gorm:"column:sort_keys;not null"` // "-severity,subject,-id"
	N       int64  `gorm:"column:n;not null"`
	TotalUS int64  `gorm:"column:total_us;not null"`
	MaxUS   int64  `gorm:"column:max_us;not null"`
	LastUS  int64  `gorm:"column:last_us;not null"` // unix microseconds
}

func (listShapeRow) TableName() string { return "_forma_list_shapes" }

// ListShape is a shape of slow list query with its counts.
type ListShape struct {
	App, Entity string
	Filter      string   // skeleton: "(severity >= ? && status = ?)"
	Eq          []string // fields the filter fixes to one value
	Sort        string   // "-severity,subject,-id"
	Count       int64
	Total, Max  time.Duration
	Last        time.Time
}

// maxListShapes bounds the shapes read back per app (the most time spent
// first).
const maxListShapes = 500

func listShapeID(s ListShape) string {
	h := sha1.Sum([]byte(s.App + "\x00" + s.Entity + "\x00" + s.Filter + "\x00" + s.Sort))
	return hex.EncodeToString(h[:16])
}

// AddListShapes adds shapes' counts and times to the stored ones, in one
// statement. Rows are written in the order of their ids, so two servers
// adding overlapping shapes at the same moment cannot deadlock.
func (db *DB) AddListShapes(ctx context.Context, shapes []ListShape) error {
	if len(shapes) == 0 {
		return nil
	}
	type row struct {
		id string
		s  ListShape
	}
	rows := make([]row, 0, len(shapes))
	seen := map[string]int{}
	for _, s := range shapes {
		id := listShapeID(s)
		if i, ok := seen[id]; ok { // one statement may not touch a row twice
			r := &rows[i].s
			r.Count += s.Count
			r.Total += s.Total
			r.Max = max(r.Max, s.Max)
			if s.Last.After(r.Last) {
				r.Last = s.Last
			}
			continue
		}
		seen[id] = len(rows)
		rows = append(rows, row{id, s})
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.id, b.id) })
	var sb strings.Builder
	sb.WriteString("INSERT INTO _forma_list_shapes (id, app, entity, shape_filter, eq_fields, sort_keys, n, total_us, max_us, last_us) VALUES ")
	args := make([]any, 0, len(rows)*10)
	for i, r := range rows {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, r.id, r.s.App, r.s.Entity, r.s.Filter, strings.Join(r.s.Eq, ","), r.s.Sort,
			r.s.Count, r.s.Total.Microseconds(), r.s.Max.Microseconds(), r.s.Last.UnixMicro())
	}
	sb.WriteString(` ON CONFLICT (id) DO UPDATE SET n = _forma_list_shapes.n + excluded.n,` +
		` total_us = _forma_list_shapes.total_us + excluded.total_us,` +
		` max_us = CASE WHEN excluded.max_us > _forma_list_shapes.max_us THEN excluded.max_us ELSE _forma_list_shapes.max_us END,` +
		` last_us = CASE WHEN excluded.last_us > _forma_list_shapes.last_us THEN excluded.last_us ELSE _forma_list_shapes.last_us END`)
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("store: add list shapes: %w", err)
	}
	defer tx.Rollback()
	// Not through the statement cache: each number of rows is another text.
	if _, err := tx.tx.ExecContext(ctx, db.Rebind(sb.String()), args...); err != nil {
		return fmt.Errorf("store: add list shapes: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: add list shapes: %w", err)
	}
	return nil
}

// ListShapes returns app's stored shapes of slow list queries, those that
// cost the most time first.
func (db *DB) ListShapes(ctx context.Context, app string) ([]ListShape, error) {
	rows, err := db.SQL.QueryContext(ctx, db.Rebind(`SELECT app, entity, shape_filter, eq_fields, sort_keys, n, total_us, max_us, last_us `+
		`FROM _forma_list_shapes WHERE app = ? ORDER BY total_us DESC, id LIMIT `+fmt.Sprint(maxListShapes)), app)
	if err != nil {
		return nil, fmt.Errorf("store: list shapes: %w", err)
	}
	defer rows.Close()
	var out []ListShape
	for rows.Next() {
		var s ListShape
		var eq string
		var total, mx, last int64
		if err := rows.Scan(&s.App, &s.Entity, &s.Filter, &eq, &s.Sort, &s.Count, &total, &mx, &last); err != nil {
			return nil, fmt.Errorf("store: list shapes: %w", err)
		}
		if eq != "" {
			s.Eq = strings.Split(eq, ",")
		}
		s.Total, s.Max = time.Duration(total)*time.Microsecond, time.Duration(mx)*time.Microsecond
		s.Last = time.UnixMicro(last).UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}
