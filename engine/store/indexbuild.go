package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// indexBuildRow is a list view's index on PostgreSQL, built with CREATE
// INDEX CONCURRENTLY after the migration that asked for it committed: such
// a build cannot run inside a transaction, and it does not block writes.
// The row is inserted in the migration's transaction, so a build is never
// lost: a crash or a failed build leaves it "pending" or "failed", and the
// next migration or server start builds it again.
type indexBuildRow struct {
	Name      string `gorm:"primaryKey;size:63"`
	App       string `gorm:"size:63;not null;index"`
	Entity    string `gorm:"size:63;not null"`
	Columns   string `gorm:"not null"` // as the plan shows them
	SQL       string `gorm:"column:create_sql;not null"`
	State     string `gorm:"size:16;not null"` // pending, building, ready, failed
	Error     string
	UpdatedAt time.Time
}

func (indexBuildRow) TableName() string { return "_forma_index_builds" }

// Index build states.
const (
	IndexPending  = "pending"
	IndexBuilding = "building"
	IndexReady    = "ready"
	IndexFailed   = "failed"
)

// IndexBuild is the state of one concurrently built index.
type IndexBuild struct {
	Name      string    `json:"name"`
	Entity    string    `json:"entity"`
	Columns   string    `json:"columns"`
	State     string    `json:"state"`
	Error     string    `json:"error,omitempty"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// IndexBuilds lists an app's concurrently built indexes and their states.
func (db *DB) IndexBuilds(ctx context.Context, app string) ([]IndexBuild, error) {
	var rows []indexBuildRow
	if err := db.Gorm.WithContext(ctx).Where("app = ?", app).Order("entity, name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: index builds: %w", err)
	}
	out := make([]IndexBuild, len(rows))
	for i, r := range rows {
		out[i] = IndexBuild{Name: r.Name, Entity: r.Entity, Columns: r.Columns, State: r.State, Error: r.Error, UpdatedAt: r.UpdatedAt.UTC()}
	}
	return out, nil
}

// concurrentIndexStep is a step that records an index to build after the
// migration commits (the record is part of the migration); run starts the
// build once the transaction has committed.
func concurrentIndexStep(app, entity string, ix physIndex) Step {
	create := strings.Replace(createIndexSQL(Postgres{}, ix), "CREATE INDEX ", "CREATE INDEX CONCURRENTLY IF NOT EXISTS ", 1)
	cols := describeIndex(ix)
	return Step{Op: "add_index", Entity: entity, Concurrently: true,
		Description: fmt.Sprintf("index %s, built after the migration commits without blocking writes (state in the app's indexes)", cols),
		SQL:         []string{create},
		exec: func(ctx context.Context, tx dconn) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO _forma_index_builds (name, app, entity, columns, create_sql, state, error, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, '', ?)
				ON CONFLICT (name) DO UPDATE SET app = excluded.app, entity = excluded.entity, columns = excluded.columns,
					create_sql = excluded.create_sql, state = excluded.state, error = '', updated_at = excluded.updated_at`,
				ix.Name, app, entity, cols, create, IndexPending, time.Now().UTC())
			return err
		}}
}

// addIndexStep creates an index of an entity that exists already. On
// PostgreSQL a list view's index is built concurrently after commit; every
// other index is built in the migration's transaction (SQLite has no
// concurrent build, and its writers wait for the migration anyway).
func (p *planner) addIndexStep(entity string, ix physIndex, rebuilt bool) Step {
	if ix.View && p.d.Name() == "postgres" && !rebuilt {
		return concurrentIndexStep(p.app, entity, ix)
	}
	return Step{Op: "add_index", Entity: entity, Description: fmt.Sprintf("index %s", describeIndex(ix)),
		SQL: []string{createIndexSQL(p.d, ix)}}
}

// dropIndexStep drops an index no longer needed, and forgets its build.
func (p *planner) dropIndexStep(entity string, ix physIndex) Step {
	s := Step{Op: "drop_index", Entity: entity, Description: fmt.Sprintf("drop index on %s", describeIndex(ix)),
		SQL: []string{dropIndexSQL(ix)}}
	if ix.View && p.d.Name() == "postgres" {
		s.exec = func(ctx context.Context, tx dconn) error {
			_, err := tx.ExecContext(ctx, "DELETE FROM _forma_index_builds WHERE name = ?", ix.Name)
			return err
		}
	}
	return s
}

// startIndexBuilds builds, in the background, every index whose build is
// not done (this migration's, and any left pending or failed before).
func (db *DB) startIndexBuilds() {
	if db.Dialect.Name() != "postgres" {
		return
	}
	db.builds.Add(1)
	go func() {
		defer db.builds.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		db.BuildIndexes(ctx) // failures are recorded in the rows
	}()
}

// WaitIndexBuilds waits for the background builds this process started.
func (db *DB) WaitIndexBuilds() { db.builds.Wait() }

// BuildIndexes builds every concurrent index not yet ready, one at a time,
// and returns the first failure (each is also recorded in its row). A
// build another server is running is skipped (an advisory lock per index).
// An index left INVALID by a failed or interrupted build is dropped and
// built again.
func (db *DB) BuildIndexes(ctx context.Context) error {
	if db.Dialect.Name() != "postgres" {
		return nil
	}
	var rows []indexBuildRow
	if err := db.Gorm.WithContext(ctx).Where("state <> ?", IndexReady).Order("name").Find(&rows).Error; err != nil {
		return fmt.Errorf("store: index builds: %w", err)
	}
	var first error
	for _, r := range rows {
		if err := db.buildIndex(ctx, r); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (db *DB) buildIndex(ctx context.Context, r indexBuildRow) error {
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: build index %s: %w", r.Name, err)
	}
	defer conn.Close()
	q := dconn{conn, db.Dialect}
	var got bool
	if err := q.QueryRowContext(ctx, "SELECT pg_try_advisory_lock(?, hashtext(current_schema() || '.' || ?))", migrationLock+1, r.Name).Scan(&got); err != nil {
		return fmt.Errorf("store: build index %s: %w", r.Name, err)
	}
	if !got {
		return nil // another server builds it
	}
	defer q.ExecContext(context.Background(), "SELECT pg_advisory_unlock(?, hashtext(current_schema() || '.' || ?))", migrationLock+1, r.Name)
	// Re-read under the lock: the build may be done, or the index dropped.
	var state string
	switch err := q.QueryRowContext(ctx, "SELECT state FROM _forma_index_builds WHERE name = ?", r.Name).Scan(&state); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("store: build index %s: %w", r.Name, err)
	case state == IndexReady:
		return nil
	}
	setState := func(state, msg string) {
		q.ExecContext(context.Background(), "UPDATE _forma_index_builds SET state = ?, error = ?, updated_at = ? WHERE name = ?",
			state, msg, time.Now().UTC(), r.Name)
	}
	setState(IndexBuilding, "")
	err = func() error {
		// A failed CONCURRENTLY build leaves an INVALID index behind, which
		// IF NOT EXISTS would take for done: drop it first.
		var invalid bool
		err := q.QueryRowContext(ctx, `SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = ? AND n.nspname = current_schema()`, r.Name).Scan(&invalid)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case invalid:
			if _, err := q.ExecContext(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+Quote(r.Name)); err != nil {
				return fmt.Errorf("drop the invalid index left by a failed build: %w", err)
			}
		}
		if buildHook != nil {
			if err := buildHook(r.Name); err != nil {
				return err
			}
		}
		_, err = q.ExecContext(ctx, r.SQL)
		return err
	}()
	if err != nil {
		setState(IndexFailed, err.Error())
		return fmt.Errorf("store: build index %s: %w", r.Name, err)
	}
	setState(IndexReady, "")
	return nil
}

// buildHook, when set (by tests), runs before each concurrent build; an
// error fails the build there.
var buildHook func(name string) error

// indexKnown reports whether a list view's index exists, or (PostgreSQL)
// is queued or being built after an earlier migration.
func (p *planner) indexKnown(ctx context.Context, ix physIndex) (bool, error) {
	var query string
	if p.d.Name() == "postgres" {
		query = `SELECT (SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?)
			+ (SELECT COUNT(*) FROM _forma_index_builds WHERE name = ?)`
	} else {
		query = "SELECT COUNT(*) + 0 * LENGTH(?) FROM sqlite_master WHERE type = 'index' AND name = ?"
	}
	var n int
	if err := p.q.QueryRowContext(ctx, query, ix.Name, ix.Name).Scan(&n); err != nil {
		return false, fmt.Errorf("store: look up index %s: %w", ix.Name, err)
	}
	return n > 0, nil
}
