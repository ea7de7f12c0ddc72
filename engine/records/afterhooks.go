package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// After-hooks (afterSave, afterDelete) run as durable jobs: the write's
// event enqueues one in the write's transaction, so a committed write's
// after-hook runs even if the server dies right after the commit, and a
// rolled-back write's never runs. A failing after-hook is logged to the
// app's script log on every attempt and retried with backoff; after its
// last attempt the job is discarded (GET /api/admin/jobs?state=discarded).

// AfterHookAttempts is how often a failing after-hook runs before its job
// is discarded.
const AfterHookAttempts = 5

// AfterHookKind is the job kind of after-hooks.
const AfterHookKind = "forma_after_hook"

// afterHookArgs is an after-hook job: the record as written (in the API's
// value form) and who wrote it, so the hook sees what it would have seen
// right after the commit.
type afterHookArgs struct {
	App      string          `json:"app"`
	Version  int             `json:"version"` // the app version the write ran under
	Entity   string          `json:"entity"`
	Event    string          `json:"event"` // logic.AfterSave or logic.AfterDelete
	ID       string          `json:"id"`
	Record   json.RawMessage `json:"record"`
	Previous json.RawMessage `json:"previous,omitempty"`
	Caller   Caller          `json:"caller"`
}

func (afterHookArgs) Kind() string { return AfterHookKind }

func (afterHookArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: AfterHookAttempts}
}

// UseJobs makes after-hooks durable jobs on q (register before q.Start).
// Without a queue (tools that embed the records service alone) after-hooks
// run once the write committed, with no retry.
func (s *Service) UseJobs(q *jobs.Queue) error {
	if err := jobs.Register(q, river.WorkFunc(s.workAfterHook)); err != nil {
		return err
	}
	if err := s.useBulkJobs(q); err != nil { // bulk.go
		return err
	}
	s.jobs = q
	s.Subscribe(s.enqueueAfterHook)
	return nil
}

// enqueueAfterHook is the event subscriber that turns a direct write of a
// record whose entity has an after-hook into its job. Changes another
// write caused (cascades) and bulk ones (owner transfer) run no hook, as
// before hooks became jobs.
func (s *Service) enqueueAfterHook(ctx context.Context, tx store.Conn, ev *Event) error {
	if ev.Cause != "" {
		return nil
	}
	event, rec := logic.AfterSave, ev.Record
	if ev.Kind == EventDeleted {
		event, rec = logic.AfterDelete, ev.Previous
	}
	if rec == nil {
		return nil
	}
	// The document of the write's own version, in hand: no query (see
	// Subscriber).
	if _, ok := ev.info.entity.Hooks[event]; !ok {
		return nil
	}
	args := afterHookArgs{App: ev.App, Version: ev.info.app.Version, Entity: ev.Entity, Event: event, ID: ev.ID, Caller: ev.Caller}
	args.Record, _ = rec.MarshalJSON()
	if ev.Kind == EventUpdated && ev.Previous != nil {
		args.Previous, _ = ev.Previous.MarshalJSON()
	}
	if ev.Kind == EventDeleted {
		args.Previous = args.Record // afterDelete sees the deleted record as ctx.previous too
	}
	_, err := s.jobs.InsertTx(ctx, tx, args, nil)
	return err
}

// workAfterHook runs one after-hook job. Its error (the script threw,
// timed out, or the job cannot run any more) makes River retry it and,
// after the last attempt, discard it.
func (s *Service) workAfterHook(ctx context.Context, job *river.Job[afterHookArgs]) error {
	a := job.Args
	app, err := s.catalog.App(ctx, a.App)
	if err != nil {
		return fmt.Errorf("after-hook of %s.%s %s: app: %w", a.App, a.Entity, a.ID, err)
	}
	if app.Version != a.Version {
		// The hook that belongs to the write is the one of the version it
		// ran under.
		if app, err = s.db.Document(ctx, a.App, a.Version); err != nil {
			return fmt.Errorf("after-hook of %s.%s %s: app version %d: %w", a.App, a.Entity, a.ID, a.Version, err)
		}
	}
	info := s.infoOf(app, a.Entity)
	if info == nil {
		return fmt.Errorf("after-hook of %s.%s %s: no entity %q in version %d", a.App, a.Entity, a.ID, a.Entity, a.Version)
	}
	rec, err := decodeRecord(info, a.Record)
	if err != nil {
		return fmt.Errorf("after-hook of %s.%s %s: record: %w", a.App, a.Entity, a.ID, err)
	}
	if rec == nil {
		return fmt.Errorf("after-hook of %s.%s %s: the job holds no record", a.App, a.Entity, a.ID)
	}
	prev, err := decodeRecord(info, a.Previous)
	if err != nil {
		return fmt.Errorf("after-hook of %s.%s %s: previous record: %w", a.App, a.Entity, a.ID, err)
	}
	run, err := s.newRun(info, a.Caller)
	if err != nil {
		return err
	}
	herr := run.afterHook(ctx, info, a.Event, rec, prev)
	if herr != nil {
		final := job.Attempt >= job.MaxAttempts
		for i := range run.entries {
			if run.entries[i].Level == "error" {
				if final {
					run.entries[i].Message += fmt.Sprintf(" (attempt %d of %d; the job is discarded)", job.Attempt, job.MaxAttempts)
				} else {
					run.entries[i].Message += fmt.Sprintf(" (attempt %d of %d; retried)", job.Attempt, job.MaxAttempts)
				}
			}
		}
	}
	run.flush(ctx)
	if herr != nil {
		var re *Error
		if errors.As(herr, &re) {
			return errors.New(re.Message)
		}
		return herr
	}
	return nil
}

// decodeRecord reads a record in the API's value form back into engine
// values (nil for an empty document).
func decodeRecord(info *entityInfo, raw json.RawMessage) (*Record, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	obj, err := decodeBody(raw)
	if err != nil {
		return nil, err
	}
	var problems schema.Problems
	rec := &Record{fields: info.fields, values: make([]any, len(info.fields))}
	for i, f := range info.fields {
		v, ok := obj[f.Name]
		if !ok {
			continue
		}
		if rec.values[i], err = coerce(storedAs(f), v); err != nil {
			problems.AddCode("/"+f.Name, "type", map[string]any{"field": f.Name}, "%s %v", f.Name, err)
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return rec, nil
}
