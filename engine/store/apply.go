package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/formaapp/forma/schema"
)

// ApplyOptions control Apply.
type ApplyOptions struct {
	DryRun           bool   // plan only; touch nothing
	AllowDestructive bool   // let drops and lossy conversions go ahead (data is archived)
	AppliedBy        string // user id stored with the version
	// BaseVersion, when non-zero, is the version the document was edited
	// from; if the app has moved on since, Apply answers ErrStale.
	BaseVersion int
	// New says the app must not exist yet (a template install): if it
	// does, Apply answers ErrStale, whoever installed it first. Under the
	// migration lock, an app that appeared since the check is ErrStale too.
	New bool

	// Locked, when set, runs first inside the migration's transaction, once
	// it holds the migration lock and before any step locks a table: the
	// caller takes its own locks here, in an order that cannot deadlock
	// with the migration's.
	Locked func(ctx context.Context, tx Conn) error
	// Migrated, when set, runs inside the migration's transaction after
	// every step and before the new version is recorded (engine/records
	// recomputes formulas and rollups there). Its error rolls the whole
	// migration back and is returned as it is. prev is the app's current
	// document (nil for a new app); next is the new one as it will be
	// stored, its Version set. tx must not be committed or rolled back.
	Migrated func(ctx context.Context, tx Conn, prev, next *schema.App) error
}

// ErrStale means the app changed since the document was read.
var ErrStale = errors.New("the app was changed by someone else since this document was read")

// RefusedError carries a plan that cannot be applied as asked.
type RefusedError struct{ Plan *Plan }

func (e *RefusedError) Error() string {
	return fmt.Sprintf("migration refused: %s", schema.Problems(e.Plan.Refused).Error())
}

// StepError is a migration that failed while running; nothing was changed.
type StepError struct {
	Step Step
	Err  error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("migration step %q failed: %v", e.Step.Description, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Apply plans the migration from the app's current version to app (which
// must have passed schema.Parse) and, unless DryRun, runs it in one
// transaction that also stores the document as the next version. If any step
// fails, schema, data and metadata stay exactly as they were.
//
// The plan that is run is made inside that transaction, after it has locked
// out other migrations: its checks (values that must fit a new type, unique
// values) read the very data it converts, and of two applies from the same
// version the second finds the version moved and answers ErrStale.
func (db *DB) Apply(ctx context.Context, app *schema.App, opts ApplyOptions) (*Plan, error) {
	current, err := db.Document(ctx, app.Name, 0)
	if errors.Is(err, ErrNotFound) {
		current = nil
	} else if err != nil {
		return nil, err
	}
	if current != nil && (opts.New || opts.BaseVersion != 0 && opts.BaseVersion != current.Version) {
		return nil, ErrStale
	}
	if opts.DryRun || (current != nil && sameDocument(current, app)) {
		plan, err := db.plan(ctx, db.SQL, current, app, opts.AllowDestructive)
		if err != nil {
			// Planning reads the tables; if another migration changed them
			// meanwhile, that is the error to report.
			if db.moved(ctx, app.Name, current) {
				return nil, ErrStale
			}
			return nil, err
		}
		if current != nil && len(plan.Steps) == 0 && sameDocument(current, app) {
			plan.ToVersion = plan.FromVersion // nothing to do: no new version
			return plan, nil
		}
		if opts.DryRun {
			return plan, nil
		}
	}
	return db.run(ctx, app, current, opts)
}

// moved reports whether the app's version is no longer that of current.
func (db *DB) moved(ctx context.Context, app string, current *schema.App) bool {
	now, err := db.Document(ctx, app, 0)
	switch {
	case errors.Is(err, ErrNotFound):
		return current != nil
	case err != nil:
		return false
	}
	return current == nil || now.Version != current.Version
}

func sameDocument(a, b *schema.App) bool {
	ac, bc := *a, *b
	ac.Version, bc.Version = 0, 0
	aj, _ := json.Marshal(ac)
	bj, _ := json.Marshal(bc)
	return string(aj) == string(bj)
}

// stepHook, when set (by tests), runs after each step of n; an error fails
// the migration there.
var stepHook func(i, n int, s *Step) error

// migrationLock is the PostgreSQL advisory lock (class, then the schema's
// hash as object) that serializes migrations. One lock per schema, not per
// app: two apps can name the same table ("a_b" + "c", "a" + "b_c"), and the
// loser must see the winner's table while planning. SQLite needs none: a
// migration's transaction takes the database's write lock at BEGIN.
const migrationLock = 0x466f726d // "Form"

func (db *DB) run(ctx context.Context, app *schema.App, current *schema.App, opts ApplyOptions) (*Plan, error) {
	sqlite := db.Dialect.Name() == "sqlite"
	if sqlite {
		// This process's writers queue on the write slot rather than in
		// SQLite's busy handler, which would give up on a migration that
		// recomputes many records.
		select {
		case db.writeSlot <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("store: migrate: %w", ctx.Err())
		}
		defer func() { <-db.writeSlot }()
	}
	conn, err := db.SQL.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if !sqlite {
		// Statements this connection prepared before the migration may not
		// survive its DDL, and inside the transaction a failed one would
		// abort the migration.
		if err := conn.Raw(func(dc any) error {
			if c, ok := dc.(interface{ Conn() *pgx.Conn }); ok {
				return c.Conn().DeallocateAll(ctx)
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("store: migrate: %w", err)
		}
	}
	if sqlite {
		// Table rebuilds drop and recreate parents; with foreign keys on,
		// that would cascade into children. SQLite only allows this switch
		// outside a transaction; foreign_key_check below makes up for it.
		if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
			return nil, fmt.Errorf("store: migrate: %w", err)
		}
		defer func() {
			// The connection goes back to the pool: it must enforce foreign
			// keys again, or be thrown away.
			if _, err := conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON"); err != nil {
				conn.Raw(func(any) error { return driver.ErrBadConn })
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tx.Rollback()
		}
	}()
	q := dconn{tx, db.Dialect}

	if !sqlite {
		if _, err := q.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))", migrationLock); err != nil {
			return nil, fmt.Errorf("store: migrate: lock: %w", err)
		}
	}
	// Re-read the version under the lock: two applies racing from the same
	// version cannot both win.
	from := 0
	if current != nil {
		from = current.Version
	}
	var have int
	switch err := q.QueryRowContext(ctx, "SELECT version FROM _forma_apps WHERE name = ?", app.Name).Scan(&have); {
	case errors.Is(err, sql.ErrNoRows):
		have = 0
	case err != nil:
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	if have != from {
		return nil, ErrStale
	}
	// The transaction as a Conn for the caller's hooks. Its write slot
	// (SQLite) is this function's: the hooks never release it.
	hookTx := Conn{db: db, tx: tx, done: &sync.Once{}}
	hookTx.done.Do(func() {})
	if opts.Locked != nil {
		if err := opts.Locked(ctx, hookTx); err != nil {
			return nil, err
		}
	}

	plan, err := db.plan(ctx, tx, current, app, opts.AllowDestructive)
	if err != nil {
		return nil, err
	}
	if current != nil && len(plan.Steps) == 0 && sameDocument(current, app) {
		plan.ToVersion = plan.FromVersion // nothing to do: no new version
		return plan, nil
	}
	if len(plan.Refused) > 0 {
		return plan, &RefusedError{Plan: plan}
	}

	for i := range plan.Steps {
		s := &plan.Steps[i]
		if s.exec != nil {
			if err := s.exec(ctx, q); err != nil {
				return plan, &StepError{Step: *s, Err: err}
			}
		}
		for _, stmt := range s.SQL {
			if s.Concurrently {
				break // after commit: startIndexBuilds
			}
			if _, err := q.ExecContext(ctx, stmt); err != nil {
				return plan, &StepError{Step: *s, Err: err}
			}
		}
		if stepHook != nil {
			if err := stepHook(i, len(plan.Steps), s); err != nil {
				return plan, &StepError{Step: *s, Err: err}
			}
		}
	}

	doc := *app
	doc.Version = plan.ToVersion
	// Saved views follow renamed entities and fields.
	if err := carryViews(ctx, q, current, &doc); err != nil {
		return plan, err
	}
	if opts.Migrated != nil {
		if err := opts.Migrated(ctx, hookTx, current, &doc); err != nil {
			return plan, err
		}
	}
	docJSON, err := json.Marshal(doc)
	if err != nil {
		return plan, fmt.Errorf("store: encode document: %w", err)
	}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return plan, fmt.Errorf("store: encode plan: %w", err)
	}
	now := db.Clock.Now().UTC()
	if _, err := q.ExecContext(ctx, "INSERT INTO _forma_app_versions (app, version, document, plan, applied_by, applied_at) VALUES (?, ?, ?, ?, ?, ?)",
		app.Name, plan.ToVersion, string(docJSON), string(planJSON), opts.AppliedBy, now); err != nil {
		return plan, fmt.Errorf("store: record version: %w", err)
	}
	if plan.FromVersion == 0 {
		_, err = q.ExecContext(ctx, "INSERT INTO _forma_apps (name, label, version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			app.Name, app.Label, plan.ToVersion, now, now)
	} else {
		_, err = q.ExecContext(ctx, "UPDATE _forma_apps SET label = ?, version = ?, updated_at = ? WHERE name = ?",
			app.Label, plan.ToVersion, now, app.Name)
	}
	if err != nil {
		return plan, fmt.Errorf("store: record app: %w", err)
	}
	if sqlite {
		rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
		if err != nil {
			return plan, fmt.Errorf("store: check foreign keys: %w", err)
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			return plan, fmt.Errorf("store: migration would leave records pointing at missing records")
		}
	}
	if err := tx.Commit(); err != nil {
		return plan, fmt.Errorf("store: commit migration: %w", err)
	}
	committed = true
	db.SchemaChanged()
	if slices.ContainsFunc(plan.Steps, func(s Step) bool { return s.Concurrently }) {
		db.startIndexBuilds()
	}
	return plan, nil
}
