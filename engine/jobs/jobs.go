// Package jobs runs Forma's durable jobs on River (riverqueue/river): work
// that must happen later and reliably — after-hooks, automations,
// reminders — inserted in the transaction of the write that asked for it,
// so a write commits with its jobs or neither exists.
//
// On PostgreSQL the workers run on River's pgx driver (LISTEN/NOTIFY wakes
// them as soon as a job commits) and jobs are inserted through River's
// database/sql driver inside Forma's own transaction; any number of
// `forma serve` processes share the queue (rows are claimed with FOR UPDATE
// SKIP LOCKED). On SQLite one River driver does both, over its own pool of
// one connection, polling for work.
//
// Delivery is at least once: a job whose process died while running it is
// rescued (run again) after Options.RescueAfter. Effects that must happen
// exactly once carry an idempotency key (River's unique jobs, and a key the
// effect itself checks).
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"github.com/robfig/cron/v3"

	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/store"
)

// Options configure a Queue. Zero values take the defaults.
type Options struct {
	// Workers is how many jobs this process runs at once (default 50 on
	// PostgreSQL, SQLiteWorkers on SQLite).
	Workers int
	// FetchCooldown is the least time between two fetches of due jobs by
	// this process (default 20ms). A process runs at most Workers jobs per
	// cooldown: River's own default, 100ms, held 20 workers to 200 jobs/s.
	FetchCooldown time.Duration
	// RescueAfter is how long a job may stay running before another
	// process (or this one, restarted) takes it to be lost and runs it
	// again (default 1h). Jobs time out at the same bound.
	RescueAfter time.Duration
	// PollInterval is how often workers look for due jobs without being
	// told (default 200ms: all there is on SQLite, and on PostgreSQL the
	// bound for a job whose insert notification River left out).
	PollInterval time.Duration
	// MaxAttempts is how often a job runs before it is discarded, unless
	// its kind says otherwise (default 10).
	MaxAttempts int
	// Backoff is the pause before a failed job's first retry; each retry
	// doubles it, up to MaxBackoff (defaults 1s and 1h), with ±10% jitter.
	Backoff, MaxBackoff time.Duration
	// Periodic jobs: enqueued on a cron schedule by the one leader among
	// the processes sharing the database.
	Periodic []Periodic
	// NoWork makes a queue that inserts and manages jobs but runs none
	// (Start only starts nothing): CLI commands.
	NoWork bool
	// Probe registers the test-only probe job kind (probe.go).
	Probe bool
	Log   *slog.Logger
}

// Periodic is a job enqueued on a cron schedule.
type Periodic struct {
	// ID names the schedule durably (River keeps its next run under it).
	ID string
	// Cron is a robfig/cron/v3 standard spec: five fields (minute hour
	// day-of-month month day-of-week) or a descriptor such as @hourly,
	// @daily, @every 90s.
	Cron string
	// TimeZone is where the spec's hours are read (default UTC): "0 9 * *
	// 1-5" in Asia/Shanghai is 09:00 Beijing time on weekdays.
	TimeZone *time.Location
	// Args builds the job to insert at each run.
	Args func() river.JobArgs
	// RunOnStart also enqueues it when the leader starts.
	RunOnStart bool
}

// Queue is the durable job queue of one Forma database.
type Queue struct {
	db      *store.DB
	clock   clock.Clock
	log     *slog.Logger
	opts    Options
	workers *river.Workers

	// ins inserts jobs inside Forma's database/sql transactions and serves
	// the admin operations; on SQLite it also runs the workers.
	ins *river.Client[*sql.Tx]
	// work runs the workers on PostgreSQL (nil on SQLite).
	work *river.Client[pgx.Tx]
	pool *pgxpool.Pool // PostgreSQL: River's own pgx pool
	side *sql.DB       // SQLite: River's own pool of one connection

	started     bool
	m           *metrics
	unsubscribe func()
}

// DefaultMaxAttempts is how often a job runs at most unless its kind says
// otherwise.
const DefaultMaxAttempts = 10

// SQLiteWorkers is the default number of workers on SQLite. Its one
// writer at a time makes more workers no faster, only a longer queue at the
// write slot for everyone: after a sample install set off ~2,100 automation
// jobs, 50 workers kept a request waiting 6–79 s for over 8 minutes and
// finished 142 jobs; one worker finished all 2,138 in under a minute with
// requests under 0.15 s. Two let one slow call (a webhook at its time limit)
// not hold up every other job.
const SQLiteWorkers = 2

// New opens the queue of db and brings River's tables up to date (on both
// dialects, at start-up). Register the job kinds, then Start.
func New(ctx context.Context, db *store.DB, opts Options) (*Queue, error) {
	if opts.Workers <= 0 {
		opts.Workers = 50
		if db.Dialect.Name() == "sqlite" {
			opts.Workers = SQLiteWorkers
		}
	}
	if opts.FetchCooldown <= 0 {
		opts.FetchCooldown = 20 * time.Millisecond
	}
	if opts.RescueAfter <= 0 {
		opts.RescueAfter = time.Hour
	}
	if opts.PollInterval <= 0 {
		// 200ms on both dialects. PostgreSQL's LISTEN/NOTIFY does not wake
		// workers for every insert: River sends at most one insert
		// notification per queue per FetchCooldown, so a job committed just
		// after a notified fetch waits for the next poll (an automation's
		// webhook arrived after 1s at p99 with a 1s poll, 129ms with 100ms).
		opts.PollInterval = 200 * time.Millisecond
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	q := &Queue{db: db, clock: db.Clock, log: opts.Log, opts: opts, workers: river.NewWorkers(), m: newMetrics()}
	if err := q.open(ctx); err != nil {
		q.close()
		return nil, err
	}
	if opts.Probe {
		if err := q.registerProbe(ctx); err != nil {
			q.close()
			return nil, err
		}
	}
	return q, nil
}

func (q *Queue) config(work bool, schema string) (*river.Config, error) {
	role := "insert"
	if work {
		role = "work"
	}
	cfg := &river.Config{
		// The process id in the client id tells, in a job's attempted_by,
		// which process ran it.
		ID:                   fmt.Sprintf("forma_%d_%s_%d", os.Getpid(), role, time.Now().UnixNano()),
		Schema:               schema,
		Workers:              q.workers,
		MaxAttempts:          q.opts.MaxAttempts,
		RetryPolicy:          &backoff{clock: q.clock, base: q.opts.Backoff, max: q.opts.MaxBackoff},
		RescueStuckJobsAfter: q.opts.RescueAfter,
		JobTimeout:           min(time.Minute, q.opts.RescueAfter),
		FetchPollInterval:    q.opts.PollInterval,
		FetchCooldown:        min(q.opts.FetchCooldown, q.opts.PollInterval),
		ErrorHandler:         &errorLog{log: q.log},
		Logger:               q.riverLog(),
		Test:                 river.TestConfig{Time: q.clock},
	}
	if work && !q.opts.NoWork {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.opts.Workers}}
		for _, p := range q.opts.Periodic {
			pj, err := periodicJob(p)
			if err != nil {
				return nil, err
			}
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, pj)
		}
	}
	return cfg, nil
}

// riverLog passes River's own warnings and errors to the engine's log.
func (q *Queue) riverLog() *slog.Logger {
	return slog.New(levelFloor{q.log.Handler(), slog.LevelWarn})
}

func (q *Queue) open(ctx context.Context) error {
	if q.db.Dialect.Name() == "sqlite" {
		side, err := q.db.OpenSQLitePool(1)
		if err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		q.side = side
		drv := riversqlite.New(side)
		if err := migrate(ctx, drv, ""); err != nil {
			return err
		}
		cfg, err := q.config(true, "")
		if err != nil {
			return err
		}
		if q.ins, err = river.NewClient(drv, cfg); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
		return nil
	}
	var schema string
	if err := q.db.SQL.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return fmt.Errorf("jobs: current schema: %w", err)
	}
	pool, err := pgxpool.New(ctx, q.db.URL)
	if err != nil {
		return fmt.Errorf("jobs: connect: %w", err)
	}
	q.pool = pool
	drv := riverpgxv5.New(pool)
	if err := migratePG(ctx, pool, drv, schema); err != nil {
		return err
	}
	cfg, err := q.config(false, schema)
	if err != nil {
		return err
	}
	if q.ins, err = river.NewClient(riverdatabasesql.New(q.db.SQL), cfg); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if cfg, err = q.config(true, schema); err != nil {
		return err
	}
	if q.work, err = river.NewClient(drv, cfg); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	return nil
}

// migratePG runs River's migrations (each version in its own transaction,
// as River requires) under a session advisory lock, so servers starting
// together do not race each other through them.
func migratePG(ctx context.Context, pool *pgxpool.Pool, drv *riverpgxv5.Driver, schema string) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	defer conn.Release()
	const key = "SELECT hashtext('forma river migrate ' || current_schema())"
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(("+key+"))"); err != nil {
		return fmt.Errorf("jobs: migrate lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(("+key+"))")
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate River's tables: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, drv *riversqlite.Driver, schema string) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate River's tables: %w", err)
	}
	return nil
}

// Register adds the worker of one job kind. Register every kind before
// Start; a kind inserted without a registered worker is refused.
func Register[T river.JobArgs](q *Queue, w river.Worker[T]) error {
	if q.started {
		return errors.New("jobs: register job kinds before Start")
	}
	if err := river.AddWorkerSafely(q.workers, w); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	return nil
}

// TickOpts are the insert options of a clock job that a periodic schedule
// enqueues (automation ticks, approval escalations, the file collector):
// one at a time, so a slow run is not piled upon, and no retry, since the
// next tick comes anyway.
func TickOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
		rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
}

// RegisterTick registers a clock job of kind T that runs tick, and its
// periodic schedule (every every, the first at start) under id, on a
// queue not started yet. T's InsertOpts should be TickOpts.
func RegisterTick[T river.JobArgs](q *Queue, id string, every time.Duration, tick func(context.Context) error) error {
	if err := Register(q, river.WorkFunc(func(ctx context.Context, _ *river.Job[T]) error { return tick(ctx) })); err != nil {
		return err
	}
	var args T
	return q.AddPeriodic(Periodic{ID: id, Cron: "@every " + every.String(), Args: func() river.JobArgs { return args }, RunOnStart: true})
}

// AddPeriodic adds a periodic job to a queue already opened, for a
// service that registers its own job kinds and ticks (Options.Periodic is
// for those known when the queue is opened). Call it before Start; a queue
// that runs no work (NoWork) ignores it.
func (q *Queue) AddPeriodic(p Periodic) error {
	if q.opts.NoWork {
		return nil
	}
	pj, err := periodicJob(p)
	if err != nil {
		return err
	}
	if q.work != nil {
		_, err = q.work.PeriodicJobs().AddSafely(pj)
	} else {
		_, err = q.ins.PeriodicJobs().AddSafely(pj)
	}
	if err != nil {
		return fmt.Errorf("jobs: periodic job %s: %w", p.ID, err)
	}
	return nil
}

// Start runs the workers (and, on the leader, the periodic jobs and River's
// maintenance: rescuing lost jobs, scheduling due ones, cleaning old ones).
func (q *Queue) Start(ctx context.Context) error {
	q.started = true
	if q.opts.NoWork {
		return nil
	}
	c := q.runner()
	events, unsubscribe := c.subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled, river.EventKindJobSnoozed)
	q.unsubscribe = unsubscribe
	go q.observe(events)
	if err := c.start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

type starter struct {
	start     func(context.Context) error
	stop      func(context.Context) error
	subscribe func(...river.EventKind) (<-chan *river.Event, func())
}

func (q *Queue) runner() starter {
	if q.work != nil {
		return starter{q.work.Start, q.work.Stop, q.work.Subscribe}
	}
	return starter{q.ins.Start, q.ins.Stop, q.ins.Subscribe}
}

// Stop waits for running jobs to finish (until ctx ends; then they are
// cancelled, and rescued later) and closes the queue's connections.
func (q *Queue) Stop(ctx context.Context) error {
	var err error
	if q.started && !q.opts.NoWork {
		err = q.runner().stop(ctx)
		q.unsubscribe()
	}
	q.close()
	return err
}

func (q *Queue) close() {
	if q.pool != nil {
		q.pool.Close()
	}
	if q.side != nil {
		q.side.Close()
	}
}

// InsertTx inserts a job inside the write transaction tx: it exists if and
// only if tx commits. opts may be nil.
func (q *Queue) InsertTx(ctx context.Context, tx store.Conn, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	if tx.Tx() == nil {
		return nil, errors.New("jobs: InsertTx needs a transaction")
	}
	if now := q.clock.NowOrNil(); now != nil && (opts == nil || opts.ScheduledAt.IsZero()) {
		// A test clock: "now" is its time, not the database's, so a job
		// is due exactly when the clock says.
		o := river.InsertOpts{}
		if opts != nil {
			o = *opts
		}
		o.ScheduledAt = *now
		opts = &o
	}
	res, err := q.ins.InsertTx(ctx, tx.Tx(), args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}

// InsertManyTx inserts jobs inside the write transaction tx in one
// statement: several jobs one write asks for cost River's (large) insert
// once instead of once each. Each job's InsertOpts may be nil.
func (q *Queue) InsertManyTx(ctx context.Context, tx store.Conn, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	if tx.Tx() == nil {
		return nil, errors.New("jobs: InsertManyTx needs a transaction")
	}
	if len(params) == 0 {
		return nil, nil
	}
	if now := q.clock.NowOrNil(); now != nil {
		// A test clock: as in InsertTx.
		ps := make([]river.InsertManyParams, len(params))
		for i, p := range params {
			if p.InsertOpts == nil || p.InsertOpts.ScheduledAt.IsZero() {
				o := river.InsertOpts{}
				if p.InsertOpts != nil {
					o = *p.InsertOpts
				}
				o.ScheduledAt = *now
				p.InsertOpts = &o
			}
			ps[i] = p
		}
		params = ps
	}
	res, err := q.ins.InsertManyTx(ctx, tx.Tx(), params)
	if err != nil {
		return nil, fmt.Errorf("jobs: insert %d jobs (%s…): %w", len(params), params[0].Args.Kind(), err)
	}
	return res, nil
}

// Insert inserts a job on its own.
func (q *Queue) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	tx, err := q.db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res, err := q.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("jobs: insert %s: %w", args.Kind(), err)
	}
	return res, nil
}

// Client is River's client for the admin operations (list, retry, cancel)
// that this package does not wrap.
func (q *Queue) Client() *river.Client[*sql.Tx] { return q.ins }

// backoff is the retry policy: Backoff × 2^(attempt-1), capped at
// MaxBackoff, with ±10% jitter so retries of a burst spread out, on the
// engine's clock.
type backoff struct {
	clock     clock.Clock
	base, max time.Duration
}

func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return b.clock.Now().Add(b.delay(job.Attempt))
}

func (b *backoff) delay(attempt int) time.Duration {
	d := b.max
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 40 {
		if x := b.base << (attempt - 1); x > 0 && x < b.max {
			d = x
		}
	}
	jitter := time.Duration(float64(d) * 0.1 * (2*rand.Float64() - 1))
	return d + jitter
}

// periodicJob turns a cron schedule into River's periodic job.
func periodicJob(p Periodic) (*river.PeriodicJob, error) {
	if p.ID == "" || p.Args == nil {
		return nil, fmt.Errorf("jobs: periodic job %q needs an ID and Args", p.ID)
	}
	s, err := ParseCron(p.Cron, p.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("jobs: periodic job %s: %w", p.ID, err)
	}
	return river.NewPeriodicJob(s, func() (river.JobArgs, *river.InsertOpts) { return p.Args(), nil },
		&river.PeriodicJobOpts{ID: p.ID, RunOnStart: p.RunOnStart}), nil
}

// Schedule is a parsed cron schedule in its time zone.
type Schedule struct {
	spec cron.Schedule
	loc  *time.Location
}

// ParseCron parses a robfig/cron/v3 standard spec read in loc (nil: UTC).
func ParseCron(spec string, loc *time.Location) (*Schedule, error) {
	if loc == nil {
		loc = time.UTC
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("cron spec %q: %w", spec, err)
	}
	return &Schedule{spec: s, loc: loc}, nil
}

// Next is the first run after t.
func (s *Schedule) Next(t time.Time) time.Time { return s.spec.Next(t.In(s.loc)) }

// errorLog writes each failed attempt to the engine's log; River then
// retries the job or, after its last attempt, discards it. A panicking
// worker is caught by River and treated like a failure.
type errorLog struct{ log *slog.Logger }

func (e *errorLog) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	e.log.Warn("job failed", "id", job.ID, "kind", job.Kind, "attempt", job.Attempt, "max_attempts", job.MaxAttempts, "error", err)
	return nil
}

func (e *errorLog) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	e.log.Error("job panicked", "id", job.ID, "kind", job.Kind, "attempt", job.Attempt, "panic", fmt.Sprint(panicVal))
	return nil
}

// levelFloor drops records below a level.
type levelFloor struct {
	slog.Handler
	floor slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.floor && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(as), h.floor}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(name), h.floor}
}

// RescueAfter is how long a job may run before another server counts it
// lost and runs it again: the longest a job that must survive its
// process's death may take (a kind's own Timeout beyond it delays the
// rescue to that timeout).
func (q *Queue) RescueAfter() time.Duration { return q.opts.RescueAfter }
