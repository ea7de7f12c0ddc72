package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
)

// ErrNotFound is the error for a job id that does not exist.
var ErrNotFound = errors.New("jobs: no such job")

// InputError is a bad query value: Field names it.
type InputError struct{ Field, Message string }

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// States are the states a job can be in, as the admin view names them.
// "queued" is River's "available": due and waiting for a worker.
var States = []string{"queued", "scheduled", "running", "retryable", "completed", "discarded", "cancelled", "pending"}

func riverState(s string) rivertype.JobState {
	if s == "queued" {
		return rivertype.JobStateAvailable
	}
	return rivertype.JobState(s)
}

func riverStateOf(s string) rivertype.JobState { return rivertype.JobState(s) }

func viewState(s rivertype.JobState) string {
	if s == rivertype.JobStateAvailable {
		return "queued"
	}
	return string(s)
}

// MaxListLimit bounds one page of jobs.
const MaxListLimit = 500

// ListQuery selects jobs: by state and kind ("" for any), newest first.
type ListQuery struct {
	State, Kind string
	Limit       int    // default 50, at most MaxListLimit
	Cursor      string // NextCursor of the previous page
}

// Info is one job as the admin view shows it.
type Info struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	State       string          `json:"state"`
	Queue       string          `json:"queue"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"maxAttempts"`
	CreatedAt   time.Time       `json:"createdAt"`
	NextRunAt   *time.Time      `json:"nextRunAt,omitempty"` // when it runs (again), if it will
	AttemptedAt *time.Time      `json:"attemptedAt,omitempty"`
	FinalizedAt *time.Time      `json:"finalizedAt,omitempty"`
	LastError   string          `json:"lastError,omitempty"`
	Errors      []AttemptError  `json:"errors"`
	Args        json.RawMessage `json:"args"`
}

// AttemptError is the error of one failed attempt.
type AttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

func info(j *rivertype.JobRow) Info {
	in := Info{ID: j.ID, Kind: j.Kind, State: viewState(j.State), Queue: j.Queue, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts,
		CreatedAt: j.CreatedAt.UTC(), AttemptedAt: utc(j.AttemptedAt), FinalizedAt: utc(j.FinalizedAt), Args: json.RawMessage(j.EncodedArgs),
		Errors: []AttemptError{}}
	switch j.State {
	case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable:
		in.NextRunAt = utc(&j.ScheduledAt)
	}
	for _, e := range j.Errors {
		in.Errors = append(in.Errors, AttemptError{Attempt: e.Attempt, At: e.At.UTC(), Error: e.Error})
	}
	if n := len(j.Errors); n > 0 {
		in.LastError = j.Errors[n-1].Error
	}
	if len(in.Args) == 0 {
		in.Args = json.RawMessage("null")
	}
	return in
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Page is one page of jobs with the count of every state (all kinds).
type Page struct {
	Items      []Info         `json:"items"`
	NextCursor string         `json:"nextCursor,omitempty"`
	Counts     map[string]int `json:"counts"`
}

// List answers one page of jobs, newest first.
func (q *Queue) List(ctx context.Context, lq ListQuery) (*Page, error) {
	if lq.Limit == 0 {
		lq.Limit = 50
	}
	if lq.Limit < 1 || lq.Limit > MaxListLimit {
		return nil, &InputError{"limit", fmt.Sprintf("limit must be between 1 and %d", MaxListLimit)}
	}
	p := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(lq.Limit)
	if lq.State != "" {
		if !slices.Contains(States, lq.State) {
			return nil, &InputError{"state", fmt.Sprintf("state must be one of %s, not %q", strings.Join(States, ", "), lq.State)}
		}
		p = p.States(riverState(lq.State))
	}
	if lq.Kind != "" {
		p = p.Kinds(lq.Kind)
	}
	if lq.Cursor != "" {
		var c river.JobListCursor
		if err := c.UnmarshalText([]byte(lq.Cursor)); err != nil {
			return nil, &InputError{"cursor", "cursor must be the nextCursor of an earlier page"}
		}
		p = p.After(&c)
	}
	res, err := q.ins.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("jobs: list: %w", err)
	}
	page := &Page{Items: make([]Info, 0, len(res.Jobs))}
	for _, j := range res.Jobs {
		page.Items = append(page.Items, info(j))
	}
	if len(res.Jobs) == lq.Limit && res.LastCursor != nil {
		b, err := res.LastCursor.MarshalText()
		if err != nil {
			return nil, fmt.Errorf("jobs: cursor: %w", err)
		}
		page.NextCursor = string(b)
	}
	if page.Counts, err = q.Counts(ctx); err != nil {
		return nil, err
	}
	return page, nil
}

// Counts counts the jobs in every state (all of States, zeros included).
func (q *Queue) Counts(ctx context.Context) (map[string]int, error) {
	byState, err := q.ins.Driver().GetExecutor().JobCountByAllStates(ctx, &riverdriver.JobCountByAllStatesParams{Schema: q.ins.Schema()})
	if err != nil {
		return nil, fmt.Errorf("jobs: count: %w", err)
	}
	out := make(map[string]int, len(States))
	for _, s := range States {
		out[s] = byState[riverState(s)]
	}
	return out, nil
}

// Get returns one job.
func (q *Queue) Get(ctx context.Context, id int64) (*Info, error) {
	j, err := q.ins.JobGet(ctx, id)
	if err != nil {
		return nil, q.notFound(err)
	}
	in := info(j)
	return &in, nil
}

// Retry makes a job run again as soon as possible, whatever its state (a
// running one is left alone); a discarded or cancelled job gets one more
// attempt.
func (q *Queue) Retry(ctx context.Context, id int64) (*Info, error) {
	j, err := q.ins.JobRetry(ctx, id)
	if err != nil {
		return nil, q.notFound(err)
	}
	in := info(j)
	return &in, nil
}

// Cancel cancels a job: one that has not run yet never will; a running one
// is told to stop (its context is cancelled) and is not retried. A
// finished job is left as it is.
func (q *Queue) Cancel(ctx context.Context, id int64) (*Info, error) {
	j, err := q.ins.JobCancel(ctx, id)
	if err != nil {
		return nil, q.notFound(err)
	}
	in := info(j)
	return &in, nil
}

func (q *Queue) notFound(err error) error {
	if errors.Is(err, river.ErrNotFound) || errors.Is(err, rivertype.ErrNotFound) {
		return ErrNotFound
	}
	return fmt.Errorf("jobs: %w", err)
}
