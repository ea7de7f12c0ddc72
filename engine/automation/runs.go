package automation

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/automation/ab"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// A run is one occurrence of one automation for one record: a row in
// _forma_automation_runs, unique by (app, automation, record, occurrence),
// and one row per action in _forma_automation_steps. Each step is a job
// (StepKind) whose effect and "step done, next step enqueued" commit in
// one transaction where the effect is a database write: a record write
// carries the step in its Caller and the event subscriber (events.go)
// marks it inside the write's transaction; a notification is stored with
// the mark. A retried job finds its step done and does nothing, so a
// retry never creates two records or notifies twice. Webhooks leave the
// database: they are sent at least once, with the same Idempotency-Key on
// every attempt.

// Run and step statuses.
const (
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusStopped   = "stopped" // the loop guard refused it
	StatusCancelled = "cancelled"

	StepPending   = "pending"
	StepRunning   = "running"
	StepSucceeded = "succeeded"
	StepFailed    = "failed"
	StepSkipped   = "skipped"
)

// StepKind is the job kind of automation steps.
const StepKind = "forma_automation_step"

// StepAttempts is how often a failing step runs before its run fails
// (River backs off between attempts).
const StepAttempts = 8

type runRow struct {
	ID         string    `gorm:"primaryKey;size:26;index:idx_forma_automation_runs_log,priority:3"`
	App        string    `gorm:"size:63;not null;uniqueIndex:idx_forma_automation_runs_key,priority:1;index:idx_forma_automation_runs_log,priority:1"`
	Automation string    `gorm:"size:63;not null;uniqueIndex:idx_forma_automation_runs_key,priority:2;index:idx_forma_automation_runs_log,priority:2"`
	RecordID   string    `gorm:"column:record_id;size:64;not null;uniqueIndex:idx_forma_automation_runs_key,priority:3"`
	Occurrence string    `gorm:"size:80;not null;uniqueIndex:idx_forma_automation_runs_key,priority:4"`
	Entity     string    `gorm:"size:63;not null"`
	Version    int       `gorm:"not null"`
	Variant    string    `gorm:"size:63"`
	Status     string    `gorm:"size:16;not null"`
	Message    string    `gorm:"size:2000"`
	Depth      int       `gorm:"not null"`
	Parent     string    `gorm:"size:26"` // the run whose write started this one
	Previous   string    // the record before the write, API form ("" for none)
	At         time.Time `gorm:"not null"`
	FinishedAt *time.Time
}

func (runRow) TableName() string { return "_forma_automation_runs" }

type stepRow struct {
	RunID    string `gorm:"column:run_id;primaryKey;size:26"`
	Idx      int    `gorm:"primaryKey;autoIncrement:false"`
	Type     string `gorm:"size:16;not null"`
	Status   string `gorm:"size:16;not null"`
	Detail   string `gorm:"size:4000"`
	Attempts int    `gorm:"not null"`
	At       *time.Time
}

func (stepRow) TableName() string { return "_forma_automation_steps" }

// variantRow keeps the variant a record got, forever: a later run (an
// update, a retry, an edited weight) keeps it.
type variantRow struct {
	App        string `gorm:"primaryKey;size:63"`
	Automation string `gorm:"primaryKey;size:63"`
	RecordID   string `gorm:"column:record_id;primaryKey;size:64"`
	Variant    string `gorm:"size:63;not null"`
}

func (variantRow) TableName() string { return "_forma_automation_variants" }

// Migrate creates the run tables (Register does it too): a service that
// only checks documents and reads run logs needs no queue.
func (s *Service) Migrate(ctx context.Context) error {
	if err := s.db.EnsureTables(ctx, &runRow{}, &stepRow{}, &variantRow{}); err != nil {
		return fmt.Errorf("automation: %w", err)
	}
	return nil
}

// stepArgs is one step's job.
type stepArgs struct {
	Run   string `json:"run"`
	Index int    `json:"index"`
}

func (stepArgs) Kind() string { return StepKind }

func (stepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: StepAttempts} }

func (s *Service) registerRuns(ctx context.Context) error {
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	s.records.Subscribe(s.onEvent)
	if s.jobs == nil {
		return errors.New("automation: no job queue")
	}
	return jobs.Register(s.jobs, river.WorkFunc(s.workStep))
}

func (s *Service) newID() string {
	return strings.ToLower(ulid.MustNew(ulid.Timestamp(s.db.Clock.Now()), rand.Reader).String())
}

type docKey struct{}

// withDocument hands StartTx the document a subscriber holds, so it need
// not read it (a subscriber may use its transaction only).
func withDocument(ctx context.Context, app *schema.App) context.Context {
	return context.WithValue(ctx, docKey{}, app)
}

// document returns version of app: from ctx when a subscriber put it
// there, else from the catalog (current) or the stored versions.
func (s *Service) document(ctx context.Context, app string, version int) (*schema.App, error) {
	if d, ok := ctx.Value(docKey{}).(*schema.App); ok && d.Name == app && (version == 0 || d.Version == version) {
		return d, nil
	}
	if s.catalog != nil {
		if d, err := s.catalog.App(ctx, app); err == nil && (version == 0 || d.Version == version) {
			return d, nil
		}
	}
	d, err := s.db.Document(ctx, app, version)
	if err != nil {
		return nil, fmt.Errorf("automation: app %s version %d: %w", app, version, err)
	}
	return d, nil
}

type batchKey struct{}

// stepBatch collects the step jobs one write's subscriber call enqueues
// (the first steps of every automation the event starts, the next step
// of the run whose step made the write), to insert them in one statement
// at its end: River's insert costs about as much for one job as for ten.
type stepBatch struct{ jobs []river.InsertManyParams }

func withBatch(ctx context.Context) (context.Context, *stepBatch) {
	b := &stepBatch{}
	return context.WithValue(ctx, batchKey{}, b), b
}

// enqueueStep enqueues a step's job inside tx, or adds it to the batch
// of ctx, which its owner flushes before tx commits.
func (s *Service) enqueueStep(ctx context.Context, tx store.Conn, args stepArgs) error {
	if b, ok := ctx.Value(batchKey{}).(*stepBatch); ok {
		b.jobs = append(b.jobs, river.InsertManyParams{Args: args})
		return nil
	}
	if _, err := s.jobs.InsertTx(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("automation: enqueue step: %w", err)
	}
	return nil
}

// flush inserts the batch's jobs inside tx.
func (s *Service) flush(ctx context.Context, tx store.Conn, b *stepBatch) error {
	if len(b.jobs) == 0 {
		return nil
	}
	if _, err := s.jobs.InsertManyTx(ctx, tx, b.jobs); err != nil {
		return fmt.Errorf("automation: enqueue steps: %w", err)
	}
	b.jobs = nil
	return nil
}

// StartTx begins the run st names inside tx (so it commits with whatever
// caused it, or not at all). Starting an occurrence that already has a run
// does nothing.
func (s *Service) StartTx(ctx context.Context, tx store.Conn, st Start) error {
	app, err := s.document(ctx, st.App, st.Version)
	if err != nil {
		return err
	}
	a := automationOf(app, st.Automation)
	if a == nil {
		return fmt.Errorf("automation: app %s version %d has no automation %q", st.App, app.Version, st.Automation)
	}
	if st.CheckCondition && a.Condition != "" {
		ok, err := s.matchTx(ctx, tx, app, a, st.RecordID, nil)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
	}
	id := s.newID()
	var prev any
	if len(st.Previous) > 0 {
		prev = string(st.Previous)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO _forma_automation_runs ("id", "app", "automation", "record_id", "occurrence", "entity", "version", "variant", "status", "message", "depth", "parent", "previous", "at")
VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, '', ?, ?, ?, ?) ON CONFLICT ("app", "automation", "record_id", "occurrence") DO NOTHING`,
		id, st.App, st.Automation, st.RecordID, st.Occurrence, st.Entity, app.Version, StatusRunning, st.Depth, st.Parent, prev, s.db.Now())
	if err != nil {
		return fmt.Errorf("automation: start %s for %s: %w", st.Automation, st.RecordID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // this occurrence has its run
	}
	actions := a.Actions
	if len(a.Variants) > 0 {
		v, err := s.variantTx(ctx, tx, st.App, a, st.RecordID)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE _forma_automation_runs SET "variant" = ? WHERE "id" = ?`, a.Variants[v].Name, id); err != nil {
			return fmt.Errorf("automation: store variant: %w", err)
		}
		actions = a.Variants[v].Actions
	}
	for i, x := range actions {
		if _, err := tx.ExecContext(ctx, `INSERT INTO _forma_automation_steps ("run_id", "idx", "type", "status", "detail", "attempts") VALUES (?, ?, ?, ?, '', 0)`,
			id, i, x.Type, StepPending); err != nil {
			return fmt.Errorf("automation: steps: %w", err)
		}
	}
	if len(actions) == 0 {
		_, err := tx.ExecContext(ctx, `UPDATE _forma_automation_runs SET "status" = ?, "finished_at" = ? WHERE "id" = ?`, StatusSucceeded, s.db.Now(), id)
		return err
	}
	return s.enqueueStep(ctx, tx, stepArgs{Run: id, Index: 0})
}

// variantTx returns the index of the variant record has in a: the one it
// got before (stored), else one picked by weight (ab.Pick) and stored.
func (s *Service) variantTx(ctx context.Context, tx store.Conn, app string, a *schema.Automation, recordID string) (int, error) {
	find := func() (int, bool, error) {
		var name string
		err := tx.QueryRowContext(ctx, `SELECT "variant" FROM _forma_automation_variants WHERE "app" = ? AND "automation" = ? AND "record_id" = ?`, app, a.Name, recordID).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("automation: read variant: %w", err)
		}
		for i, v := range a.Variants {
			if v.Name == name {
				return i, true, nil
			}
		}
		// The stored variant was removed from the document: the record
		// gets one of those there are (its run log shows which).
		return pickVariant(a, recordID), true, nil
	}
	if i, ok, err := find(); err != nil || ok {
		return i, err
	}
	i := pickVariant(a, recordID)
	if _, err := tx.ExecContext(ctx, `INSERT INTO _forma_automation_variants ("app", "automation", "record_id", "variant") VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		app, a.Name, recordID, a.Variants[i].Name); err != nil {
		return 0, fmt.Errorf("automation: store variant: %w", err)
	}
	if j, ok, err := find(); err != nil || ok {
		return j, err
	}
	return i, nil
}

func pickVariant(a *schema.Automation, recordID string) int {
	weights := make([]int, len(a.Variants))
	for i, v := range a.Variants {
		weights[i] = v.Weight
	}
	return ab.Pick(a.Name, recordID, weights)
}

// runInfo is a run as its steps need it.
type runInfo struct {
	ID, App, Automation, RecordID, Occurrence, Entity, Variant, Status, Previous string
	Version, Depth                                                               int
	At                                                                           time.Time
}

func (s *Service) loadRun(ctx context.Context, q store.Conn, id string) (*runInfo, error) {
	r := &runInfo{ID: id}
	var prev sql.NullString
	err := q.QueryRowContext(ctx, `SELECT "app", "automation", "record_id", "occurrence", "entity", "variant", "status", "previous", "version", "depth", "at" FROM _forma_automation_runs WHERE "id" = ?`, id).
		Scan(&r.App, &r.Automation, &r.RecordID, &r.Occurrence, &r.Entity, &r.Variant, &r.Status, &prev, &r.Version, &r.Depth, &r.At)
	if err != nil {
		return nil, fmt.Errorf("automation: run %s: %w", id, err)
	}
	r.Previous = prev.String
	return r, nil
}

// loadStep reads run id and its step idx in one query (a step job's
// first look): the step's status and detail are null when the run has no
// such step.
func (s *Service) loadStep(ctx context.Context, id string, idx int) (*runInfo, sql.NullString, string, error) {
	r := &runInfo{ID: id}
	var prev, status, detail sql.NullString
	err := s.db.Pool().QueryRowContext(ctx, `SELECT r."app", r."automation", r."record_id", r."occurrence", r."entity", r."variant", r."status", r."previous", r."version", r."depth", r."at", s."status", s."detail"
FROM _forma_automation_runs r LEFT JOIN _forma_automation_steps s ON s."run_id" = r."id" AND s."idx" = ? WHERE r."id" = ?`, idx, id).
		Scan(&r.App, &r.Automation, &r.RecordID, &r.Occurrence, &r.Entity, &r.Variant, &r.Status, &prev, &r.Version, &r.Depth, &r.At, &status, &detail)
	if err != nil {
		return nil, status, "", fmt.Errorf("automation: run %s: %w", id, err)
	}
	r.Previous = prev.String
	return r, status, detail.String, nil
}

// event is the kind of trigger occurrence ("updated@7" → "updated").
func (r *runInfo) event() string {
	e, _, _ := strings.Cut(r.Occurrence, "@")
	return e
}

// stepKey names a step in a Caller, a notification key and a webhook's
// Idempotency-Key.
func stepKey(run string, idx int) string { return run + "/" + strconv.Itoa(idx) }

func parseStepKey(k string) (string, int, bool) {
	run, i, ok := strings.Cut(k, "/")
	n, err := strconv.Atoi(i)
	return run, n, ok && err == nil && run != ""
}

// finishStepTx marks step idx of run succeeded inside tx and enqueues the
// next step, or ends the run after the last. A step already finished is
// left alone (false): whoever finished it enqueued what follows.
func (s *Service) finishStepTx(ctx context.Context, tx store.Conn, run string, idx int, detail string) (bool, error) {
	now := s.db.Now()
	res, err := tx.ExecContext(ctx, `UPDATE _forma_automation_steps SET "status" = ?, "detail" = CASE WHEN ? = '' THEN "detail" ELSE ? END, "at" = ?
WHERE "run_id" = ? AND "idx" = ? AND "status" IN (?, ?)`, StepSucceeded, detail, clip(detail, 4000), now, run, idx, StepPending, StepRunning)
	if err != nil {
		return false, fmt.Errorf("automation: finish step: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	var next int
	err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM _forma_automation_steps WHERE "run_id" = ? AND "idx" > ?`, run, idx).Scan(&next)
	if err != nil {
		return false, fmt.Errorf("automation: finish step: %w", err)
	}
	if next == 0 {
		_, err = tx.ExecContext(ctx, `UPDATE _forma_automation_runs SET "status" = ?, "finished_at" = ? WHERE "id" = ? AND "status" = ?`, StatusSucceeded, now, run, StatusRunning)
		return true, err
	}
	if err := s.enqueueStep(ctx, tx, stepArgs{Run: run, Index: idx + 1}); err != nil {
		return false, err
	}
	return true, nil
}

// finishStep is finishStepTx in a transaction of its own.
func (s *Service) finishStep(ctx context.Context, run string, idx int, detail string) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := s.finishStepTx(ctx, tx, run, idx, detail); err != nil {
		return err
	}
	return tx.Commit()
}

// failRun fails step idx and its run and skips the steps after it.
func (s *Service) failRun(ctx context.Context, run string, idx int, msg string) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := s.db.Now()
	if _, err := tx.ExecContext(ctx, `UPDATE _forma_automation_steps SET "status" = ?, "detail" = ?, "at" = ? WHERE "run_id" = ? AND "idx" = ? AND "status" IN (?, ?)`,
		StepFailed, clip(msg, 4000), now, run, idx, StepPending, StepRunning); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE _forma_automation_steps SET "status" = ? WHERE "run_id" = ? AND "idx" > ? AND "status" = ?`, StepSkipped, run, idx, StepPending); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE _forma_automation_runs SET "status" = ?, "message" = ?, "finished_at" = ? WHERE "id" = ? AND "status" = ?`,
		StatusFailed, clip(fmt.Sprintf("action %d failed: %s", idx, msg), 2000), now, run, StatusRunning); err != nil {
		return err
	}
	return tx.Commit()
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 1
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// permanent is a failure that retrying cannot mend.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// workStep runs one step job.
func (s *Service) workStep(ctx context.Context, job *river.Job[stepArgs]) error {
	a := job.Args
	run, status, detail, err := s.loadStep(ctx, a.Run, a.Index)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return river.JobCancel(err)
		}
		return err
	}
	if run.Status != StatusRunning {
		return nil
	}
	if !status.Valid {
		return fmt.Errorf("automation: step %s: %w", stepKey(a.Run, a.Index), sql.ErrNoRows)
	}
	if status.String != StepPending && status.String != StepRunning {
		return nil // done by an earlier attempt
	}
	if _, err := s.db.Pool().ExecContext(ctx, `UPDATE _forma_automation_steps SET "status" = ?, "attempts" = "attempts" + 1, "at" = ? WHERE "run_id" = ? AND "idx" = ? AND "status" IN (?, ?)`,
		StepRunning, s.db.Now(), a.Run, a.Index, StepPending, StepRunning); err != nil {
		return fmt.Errorf("automation: step %s: %w", stepKey(a.Run, a.Index), err)
	}
	app, err := s.document(ctx, run.App, run.Version)
	if err != nil {
		return err
	}
	au := automationOf(app, run.Automation)
	actions, err := runActions(au, run)
	if err == nil && a.Index >= len(actions) {
		err = fmt.Errorf("the automation has no action %d in version %d", a.Index, run.Version)
	}
	if err != nil {
		_ = s.failRun(ctx, run.ID, a.Index, err.Error())
		return river.JobCancel(err)
	}
	x := &actions[a.Index]
	out, done, err := s.act(ctx, app, au, run, a.Index, x, detail, job.Attempt)
	if err == nil && done {
		return nil // marked in the effect's transaction, which enqueued what follows
	}
	if err == nil {
		return s.finishStep(ctx, run.ID, a.Index, out)
	}
	var p permanent
	if errors.As(err, &p) || job.Attempt >= job.MaxAttempts {
		if ferr := s.failRun(ctx, run.ID, a.Index, err.Error()); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	// Retried: the step shows what the attempts got.
	_, _ = s.db.Pool().ExecContext(ctx, `UPDATE _forma_automation_steps SET "detail" = ? WHERE "run_id" = ? AND "idx" = ?`,
		clip(appendDetail(detail, fmt.Sprintf("attempt %d: %v", job.Attempt, err)), 4000), run.ID, a.Index)
	return err
}

// appendDetail keeps what earlier attempts left on a step.
func appendDetail(detail, line string) string {
	if detail == "" {
		return line
	}
	return detail + "; " + line
}

// runActions are the actions run follows: the automation's, or its
// variant's.
func runActions(a *schema.Automation, run *runInfo) ([]schema.Action, error) {
	if a == nil {
		return nil, fmt.Errorf("no automation %q in app version %d", run.Automation, run.Version)
	}
	if run.Variant == "" {
		return a.Actions, nil
	}
	for _, v := range a.Variants {
		if v.Name == run.Variant {
			return v.Actions, nil
		}
	}
	return nil, fmt.Errorf("automation %q has no variant %q in version %d", a.Name, run.Variant, run.Version)
}

// caller is who an automation's step acts as: its role (the whole record
// without one), on path automation, one level deeper than its run.
func caller(a *schema.Automation, run *runInfo, idx int) records.Caller {
	c := records.Caller{Path: records.PathAutomation, Automation: a.Name, Depth: run.Depth + 1, Step: stepKey(run.ID, idx)}
	if a.Role == "" {
		c.Admin = true
	} else {
		c.Roles = []string{a.Role}
	}
	return c
}

// encodeJSON marshals v; the values built here always marshal.
func encodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("null")
	}
	return b
}
