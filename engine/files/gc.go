package files

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// CollectEvery is how often the collector job runs.
const CollectEvery = time.Hour

// maxPerCollect bounds one run's removals per app; the rest wait for the
// next run.
const maxPerCollect = 500

// collectArgs is the collector job: it runs Collect.
type collectArgs struct{}

func (collectArgs) Kind() string { return "files_collect" }

// InsertOpts: one run at a time and no retry (the next run comes anyway).
func (collectArgs) InsertOpts() river.InsertOpts {
	return jobs.TickOpts()
}

// Register adds the collector's job kind and its periodic run to q; call it
// before the queue starts.
func (s *Service) Register(q *jobs.Queue) error {
	if err := jobs.Register(q, river.WorkFunc(func(ctx context.Context, _ *river.Job[collectArgs]) error {
		_, err := s.Collect(ctx)
		return err
	})); err != nil {
		return fmt.Errorf("files: %w", err)
	}
	if err := q.AddPeriodic(jobs.Periodic{ID: "files_collect", Cron: "@every " + CollectEvery.String(),
		Args: func() river.JobArgs { return collectArgs{} }}); err != nil {
		return fmt.Errorf("files: %w", err)
	}
	return nil
}

// Collect removes the files that were uploaded more than Grace ago (by the
// engine clock) and that no record references now: their row, their bytes
// and their thumbnail. It returns how many it removed. Any number of
// servers may collect at once: each file is removed in its own
// transaction that first locks its row and checks again that nothing
// references it (records share-lock the row of a file a write takes).
func (s *Service) Collect(ctx context.Context) (int, error) {
	cutoff := s.db.Now().Add(-Grace)
	apps, err := s.staleApps(ctx, cutoff)
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, name := range apps {
		app, err := s.catalog.App(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			app = &schema.App{Name: name} // no app: no record references its files
		} else if err != nil {
			errs = append(errs, err)
			continue
		}
		n, err := s.collectApp(ctx, app, cutoff)
		removed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

func (s *Service) staleApps(ctx context.Context, cutoff time.Time) ([]string, error) {
	rows, err := s.db.Pool().QueryContext(ctx, "SELECT DISTINCT app FROM "+table+" WHERE created_at < ?", cutoff)
	if err != nil {
		return nil, fmt.Errorf("files: collect: %w", err)
	}
	defer rows.Close()
	var apps []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("files: collect: %w", err)
		}
		apps = append(apps, a)
	}
	return apps, rows.Err()
}

// collectApp removes app's unreferenced files older than cutoff.
func (s *Service) collectApp(ctx context.Context, app *schema.App, cutoff time.Time) (int, error) {
	q := "SELECT id FROM " + table + " f WHERE app = ? AND created_at < ?"
	args := []any{app.Name, cutoff}
	for _, ref := range fileFields(app) {
		for _, col := range ref.columns {
			q += " AND NOT EXISTS (SELECT 1 FROM " + store.Quote(ref.table) + " r WHERE r." + store.Quote(col) + " = f.id)"
		}
	}
	rows, err := s.db.Pool().QueryContext(ctx, q+fmt.Sprintf(" ORDER BY created_at LIMIT %d", maxPerCollect), args...)
	if err != nil {
		return 0, fmt.Errorf("files: collect %s: %w", app.Name, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("files: collect %s: %w", app.Name, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("files: collect %s: %w", app.Name, err)
	}
	removed := 0
	var errs []error
	for _, id := range ids {
		ok, err := s.remove(ctx, app, id)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			removed++
		}
	}
	return removed, errors.Join(errs...)
}

// remove deletes file id when, its row locked, nothing references it; it
// reports whether it did.
func (s *Service) remove(ctx context.Context, app *schema.App, id string) (bool, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	lock := "SELECT " + columns + " FROM " + table + " WHERE id = ?"
	if s.db.Dialect.Name() == "postgres" {
		lock += " FOR UPDATE"
	}
	var f File
	err = tx.QueryRowContext(ctx, lock, id).
		Scan(&f.ID, &f.App, &f.Name, &f.Size, &f.ContentType, &f.SHA256, &f.key, &f.thumb, &f.Uploader, &f.CreatedAt)
	if errors.Is(err, errNoRows) {
		return false, nil // another server removed it
	} else if err != nil {
		return false, fmt.Errorf("files: collect %s: %w", id, err)
	}
	if ref, err := s.referenced(ctx, tx, app, id); err != nil || ref {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE id = ?", id); err != nil {
		return false, fmt.Errorf("files: collect %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("files: collect %s: %w", id, err)
	}
	// The row is gone: the bytes are unreachable whatever happens next. A
	// blob that cannot be deleted now is logged (deleteBlobs) and left.
	s.deleteBlobs(ctx, f.key, f.thumb)
	return true, nil
}
