package jobs

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/riverqueue/river"
)

// The probe is a job kind for crash and load tests only, registered when
// Options.Probe is set (forma serve: the environment variable
// FORMA_JOBS_PROBE=1). Never set it in production: it creates two tables
// and runs whatever probe jobs are inserted.
//
// A probe job's effect is one row in _forma_probe_effects, inserted with
// the job's idempotency key as primary key, so running a job twice (at
// least once delivery, after a crash) cannot double the effect. Every run
// that committed also leaves a row in _forma_probe_runs, which tells how
// often jobs really ran and in which process.

// ProbeKind is the probe's job kind.
const ProbeKind = "forma_probe"

// ProbeArgs is a probe job.
type ProbeArgs struct {
	Key     string `json:"key" river:"unique"` // the idempotency key
	SleepMS int    `json:"sleep_ms"`           // work this long before the effect
}

func (ProbeArgs) Kind() string { return ProbeKind }

const probeTables = `CREATE TABLE IF NOT EXISTS _forma_probe_effects (key TEXT PRIMARY KEY, job_id BIGINT NOT NULL, pid INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS _forma_probe_runs (key TEXT NOT NULL, job_id BIGINT NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL)`

func (q *Queue) registerProbe(ctx context.Context) error {
	if _, err := q.db.SQL.ExecContext(ctx, probeTables); err != nil {
		return fmt.Errorf("jobs: probe tables: %w", err)
	}
	return Register(q, river.WorkFunc(q.workProbe))
}

func (q *Queue) workProbe(ctx context.Context, job *river.Job[ProbeArgs]) error {
	if d := time.Duration(job.Args.SleepMS) * time.Millisecond; d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	tx, err := q.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	pid := os.Getpid()
	if _, err := tx.ExecContext(ctx, `INSERT INTO _forma_probe_runs (key, job_id, attempt, pid) VALUES (?, ?, ?, ?)`, job.Args.Key, job.ID, job.Attempt, pid); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO _forma_probe_effects (key, job_id, pid) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`, job.Args.Key, job.ID, pid); err != nil {
		return err
	}
	return tx.Commit()
}
