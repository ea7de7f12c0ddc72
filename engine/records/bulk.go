package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Bulk edits and deletes: one request changes the selected records (ids) or
// every record a filter matches, as one durable job. The job runs every
// record through the same steps as a single patch or delete (row and field
// rules, hooks, formulas, history, events) inside one transaction, so one
// record that fails leaves every record as it was, and the job's result
// names it.

// BulkKind is the job kind of bulk changes.
const BulkKind = "forma_bulk"

// MaxBulkRecords bounds the records one bulk change touches.
const MaxBulkRecords = 10000

// BulkAttempts: a bulk change that fails for a record is not retried (it
// would fail again); a database failure is, twice.
const BulkAttempts = 3

// bulkTimeout bounds one run: 10,000 records with hooks take far longer
// than River's default minute.
const bulkTimeout = 20 * time.Minute

// BulkRequest is what to change: exactly one of IDs and Filter (the empty
// filter is every record the caller may read), and exactly one of Set (the
// fields to set, as in a patch without version) and Delete.
type BulkRequest struct {
	IDs    []string        `json:"ids,omitempty"`
	Filter *string         `json:"filter,omitempty"`
	Set    json.RawMessage `json:"set,omitempty"`
	Delete bool            `json:"delete,omitempty"`
	// Expected is the count the user confirmed; when the records to change
	// are not that many any more, nothing is changed.
	Expected *int `json:"expected,omitempty"`
}

// bulkArgs is a bulk job: the request and who made it.
type bulkArgs struct {
	App    string `json:"app"`
	Entity string `json:"entity"`
	BulkRequest
	Caller Caller `json:"caller"`
}

func (bulkArgs) Kind() string { return BulkKind }

func (bulkArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: BulkAttempts} }

// BulkStarted answers a bulk request: the job and how many records it
// will change (as counted when it was asked).
type BulkStarted struct {
	Job   int64 `json:"job"`
	Count int   `json:"count"`
}

// BulkResult is the outcome of a bulk job.
type BulkResult struct {
	OK      bool         `json:"ok"`
	Changed int          `json:"changed"`
	Failed  *BulkFailure `json:"failed,omitempty"`
}

// BulkFailure is the record that stopped a bulk change (ID empty when the
// change failed as a whole, e.g. a stale count).
type BulkFailure struct {
	ID      string           `json:"id,omitempty"`
	Status  int              `json:"status"`
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Details []schema.Problem `json:"details,omitempty"`
}

// BulkStatus is a bulk job as its owner follows it.
type BulkStatus struct {
	Job    int64  `json:"job"`
	State  string `json:"state"` // queued, running, completed, failed, retrying
	App    string `json:"app"`
	Entity string `json:"entity"`
	Op     string `json:"op"` // update or delete
	// Total and Done: progress while it runs (on the server running it).
	Total  int         `json:"total,omitempty"`
	Done   int         `json:"done,omitempty"`
	Result *BulkResult `json:"result,omitempty"`
	Error  string      `json:"error,omitempty"`
}

type bulkProgress struct{ total, done atomic.Int64 }

// progress of the bulk jobs this process runs, by service and job id.
var progress sync.Map

func progressKey(s *Service, id int64) string { return fmt.Sprintf("%p/%d", s, id) }

// bulkWorker runs bulk jobs.
type bulkWorker struct {
	river.WorkerDefaults[bulkArgs]
	s *Service
}

func (w *bulkWorker) Timeout(*river.Job[bulkArgs]) time.Duration { return bulkTimeout }

func (w *bulkWorker) Work(ctx context.Context, job *river.Job[bulkArgs]) error {
	key := progressKey(w.s, job.ID)
	p := &bulkProgress{}
	progress.Store(key, p)
	defer progress.Delete(key)
	res, err := w.s.runBulk(ctx, job.Args, p)
	if res != nil {
		_ = river.RecordOutput(ctx, res)
	}
	var re *Error
	if errors.As(err, &re) {
		return river.JobCancel(err) // the records' fault: it would fail again
	}
	return err
}

// useBulkJobs registers the bulk worker on q.
func (s *Service) useBulkJobs(q *jobs.Queue) error {
	return jobs.Register(q, &bulkWorker{s: s})
}

// StartBulk checks a bulk request and queues its job. What can be checked
// now is: the fields and values to set (as a patch checks them, for the
// caller's field rules), the ids, the filter, and the count.
func (s *Service) StartBulk(ctx context.Context, c Caller, app, entity string, req BulkRequest) (*BulkStarted, error) {
	if s.jobs == nil {
		return nil, errorf(501, "not_implemented", "bulk changes need the job queue")
	}
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	var problems schema.Problems
	switch {
	case (req.IDs == nil) == (req.Filter == nil):
		problems.Add("", "give exactly one of ids (the selected records) and filter (every record it matches; \"\" for all)")
	case req.IDs != nil && len(req.IDs) == 0:
		problems.Add("/ids", "ids is empty: select at least one record")
	case len(req.IDs) > MaxBulkRecords:
		addProblem(&problems, "/ids", "", "max_items", map[string]any{"limit": MaxBulkRecords}, "at most %d records at once", MaxBulkRecords)
	}
	seen := make(map[string]bool, len(req.IDs))
	for i, id := range req.IDs {
		switch {
		case !ValidRecordID(id):
			addProblem(&problems, fmt.Sprintf("/ids/%d", i), "", ProblemInvalidID, nil, "%q is not a record id", clipText(id))
		case seen[id]:
			problems.Add(fmt.Sprintf("/ids/%d", i), "%q is listed twice", id)
		}
		seen[id] = true
		if len(problems) > 20 {
			break
		}
	}
	hasSet := len(req.Set) > 0 && string(req.Set) != "null"
	if hasSet == req.Delete {
		problems.Add("", "give exactly one of set (the fields to change) and delete: true")
	}
	if len(problems) > 0 {
		return nil, &Error{Status: 422, Code: CodeInvalid, Message: "the bulk request is not valid", Details: problems}
	}
	op := schema.OpUpdate
	if req.Delete {
		op = schema.OpDelete
	}
	rg, _, err := s.grants(info, c, op)
	if err != nil {
		return nil, err
	}
	if hasSet {
		if _, _, err := s.bulkValues(info, c, req.Set); err != nil {
			return nil, err
		}
	}
	n := len(req.IDs)
	if req.Filter != nil {
		lp, err := s.planList(info, rg, c, Query{Filter: *req.Filter, Limit: 1})
		if err != nil {
			return nil, err
		}
		w, args := lp.whereClause(false)
		var count int64
		if err := s.db.Pool().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+store.Quote(info.table)+w, args...).Scan(&count); err != nil {
			return nil, fmt.Errorf("records: count the bulk change: %w", err)
		}
		n = int(count)
		if n > MaxBulkRecords {
			return nil, &Error{Status: 422, Code: CodeInvalid, Message: fmt.Sprintf("the filter matches %d records; a bulk change takes at most %d: narrow it", n, MaxBulkRecords),
				Details: []schema.Problem{{Path: "/filter", Code: "max_items", Params: map[string]any{"limit": MaxBulkRecords, "count": n}, Message: "too many records"}}}
		}
	}
	if req.Expected != nil && *req.Expected != n {
		return nil, staleCount(n, *req.Expected)
	}
	res, err := s.jobs.Insert(ctx, bulkArgs{App: info.app.Name, Entity: info.entity.Name, BulkRequest: req, Caller: c}, nil)
	if err != nil {
		return nil, fmt.Errorf("records: queue the bulk change: %w", err)
	}
	return &BulkStarted{Job: res.Job.ID, Count: n}, nil
}

func staleCount(now, confirmed int) *Error {
	return &Error{Status: 409, Code: CodeConflict,
		Message: fmt.Sprintf("the records changed since you confirmed: there are %d to change now, not %d; nothing was changed", now, confirmed),
		Details: []schema.Problem{{Path: "/expected", Code: "stale", Params: map[string]any{"count": now, "expected": confirmed}, Message: "the count changed"}}}
}

func clipText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// bulkValues checks the fields to set as a patch checks its body, for the
// caller, with problems at /set/<field>.
func (s *Service) bulkValues(info *entityInfo, c Caller, raw json.RawMessage) ([]*schema.Field, []any, error) {
	obj, err := decodeBody(raw)
	if err != nil {
		return nil, nil, atSet(err)
	}
	var problems schema.Problems
	if _, ok := obj["version"]; ok {
		delete(obj, "version")
		problems.Add("/version", "a bulk change takes no version: each record is changed as it is when the job runs")
	}
	if len(obj) == 0 && len(problems) == 0 {
		problems.Add("", "set is empty: name at least one field to change")
	}
	fields, values, more, err := s.validateFor(info, c, obj, false)
	if err != nil {
		return nil, nil, atSet(err)
	}
	problems = append(problems, more...)
	if len(problems) > 0 {
		sortProblems(problems)
		return nil, nil, atSet(&Error{Status: 422, Code: CodeInvalid, Message: "the fields to set are not valid", Details: problems})
	}
	return fields, values, nil
}

// atSet moves an error's problem paths under /set.
func atSet(err error) error {
	var re *Error
	if !errors.As(err, &re) {
		return err
	}
	out := *re
	out.Details = make([]schema.Problem, len(re.Details))
	for i, p := range re.Details {
		p.Path = "/set" + p.Path
		out.Details[i] = p
	}
	return &out
}

// runBulk is one run of a bulk job: everything in one transaction.
func (s *Service) runBulk(ctx context.Context, a bulkArgs, p *bulkProgress) (res *BulkResult, err error) {
	c := a.Caller
	fail := func(id string, err error) (*BulkResult, error) {
		var re *Error
		if !errors.As(err, &re) {
			return nil, err // the database's trouble: retried
		}
		f := &BulkFailure{ID: id, Status: re.Status, Code: re.Code, Message: re.Message, Details: re.Details}
		if id != "" {
			return &BulkResult{Failed: f}, fmt.Errorf("record %s: %w", id, err)
		}
		return &BulkResult{Failed: f}, err
	}
	info, err := s.entityFor(ctx, c, a.App, a.Entity)
	if err != nil {
		return fail("", err)
	}
	defer func() { err = s.settled(ctx, info, false, err) }()
	op := schema.OpUpdate
	if a.Delete {
		op = schema.OpDelete
	}
	rg, wg, err := s.grants(info, c, op)
	if err != nil {
		return fail("", err)
	}
	var fields []*schema.Field
	var values []any
	if !a.Delete {
		// Checked again: the app may have changed since the request.
		if fields, values, err = s.bulkValues(info, c, a.Set); err != nil {
			return fail("", err)
		}
	}
	var run *logicRun
	if info.logic {
		if run, err = s.newRun(info, c); err != nil {
			return nil, err
		}
		defer run.flush(ctx)
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("records: begin: %w", err)
	}
	defer tx.Rollback()
	if run != nil {
		if err := s.lockForRecompute(ctx, tx, info, a.Delete); err != nil {
			return nil, err
		}
	}
	ids, err := s.bulkIDs(ctx, tx, info, rg, c, a.BulkRequest)
	if err != nil {
		return fail("", err)
	}
	var missing string
	if a.IDs != nil {
		found := make(map[string]bool, len(ids))
		for _, id := range ids {
			found[id] = true
		}
		for _, id := range a.IDs {
			if !found[id] {
				missing = id
				break
			}
		}
		ids = a.IDs // in the order given
	}
	if missing != "" {
		return fail(missing, errorf(404, CodeNotFound, "no %s record with id %q (or you may not see it); nothing was changed", info.entity.Name, missing))
	}
	if a.Expected != nil && *a.Expected != len(ids) {
		return fail("", staleCount(len(ids), *a.Expected))
	}
	if len(ids) > MaxBulkRecords {
		return fail("", errorf(422, CodeInvalid, "%d records to change; a bulk change takes at most %d", len(ids), MaxBulkRecords))
	}
	p.total.Store(int64(len(ids)))
	now := s.db.Now()
	for i, id := range ids {
		if a.Delete {
			_, err = s.deleteTx(ctx, tx, info, c, run, rg, wg, id, 0, now)
			var re *Error
			if errors.As(err, &re) && re.Status == 404 && info.cascades {
				err = nil // removed by the cascade of a record deleted before it in this job
			}
		} else {
			_, _, err = s.patchTx(ctx, tx, info, c, run, rg, wg, id, fields, values, nil, now, nil)
		}
		if err != nil {
			return fail(id, err)
		}
		p.done.Store(int64(i + 1))
	}
	if err := s.stillCurrent(ctx, tx, info); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return fail("", s.writeError(err))
	}
	return &BulkResult{OK: true, Changed: len(ids)}, nil
}

// bulkIDs are the ids of the records the request names that the caller may
// read, read inside the job's transaction: what the filter matches now, or
// which of the given ids exist for the caller.
func (s *Service) bulkIDs(ctx context.Context, tx store.Conn, info *entityInfo, rg *grant, c Caller, req BulkRequest) ([]string, error) {
	var out []string
	scan := func(q string, args []any) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("records: select the bulk change's records: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("records: select the bulk change's records: %w", err)
			}
			out = append(out, id)
		}
		return rows.Err()
	}
	from := `SELECT "id" FROM ` + store.Quote(info.table)
	if req.Filter != nil {
		lp, err := s.planList(info, rg, c, Query{Filter: *req.Filter, Limit: 1})
		if err != nil {
			return nil, err
		}
		w, args := lp.whereClause(false)
		// One more than the most a job takes, to know it is too many.
		return out, scan(from+w+` ORDER BY "id" LIMIT `+fmt.Sprint(MaxBulkRecords+1), args)
	}
	const chunk = 500
	for i := 0; i < len(req.IDs); i += chunk {
		part := req.IDs[i:min(i+chunk, len(req.IDs))]
		where := []string{`"id" IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(part)), ", ") + ")"}
		args := make([]any, 0, len(part)+len(rg.args))
		for _, id := range part {
			args = append(args, id)
		}
		if !rg.all {
			where, args = append(where, rg.where), append(args, rg.args...)
		}
		if err := scan(from+" WHERE "+strings.Join(where, " AND "), args); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BulkStatus answers a bulk job to the user who asked for it (or an
// admin); anyone else gets 404.
func (s *Service) BulkStatus(ctx context.Context, c Caller, id int64) (*BulkStatus, error) {
	notFound := errorf(404, CodeNotFound, "no bulk job %d", id)
	if s.jobs == nil {
		return nil, notFound
	}
	j, err := s.jobs.Client().JobGet(ctx, id)
	if err != nil || j.Kind != BulkKind {
		return nil, notFound
	}
	var a bulkArgs
	if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
		return nil, fmt.Errorf("records: bulk job %d: %w", id, err)
	}
	if a.Caller.UserID != c.UserID && !c.Admin {
		return nil, notFound
	}
	st := &BulkStatus{Job: j.ID, App: a.App, Entity: a.Entity, Op: schema.OpUpdate}
	if a.Delete {
		st.Op = schema.OpDelete
	}
	switch j.State {
	case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStatePending:
		st.State = "queued"
	case rivertype.JobStateRunning:
		st.State = "running"
	case rivertype.JobStateRetryable:
		st.State = "retrying"
	case rivertype.JobStateCompleted:
		st.State = "completed"
	default:
		st.State = "failed"
	}
	if v, ok := progress.Load(progressKey(s, id)); ok {
		p := v.(*bulkProgress)
		st.Total, st.Done = int(p.total.Load()), int(p.done.Load())
	}
	if out := j.Output(); len(out) > 0 {
		var r BulkResult
		if json.Unmarshal(out, &r) == nil {
			st.Result = &r
		}
	}
	if n := len(j.Errors); n > 0 && st.State != "completed" {
		st.Error = j.Errors[n-1].Error
	}
	return st, nil
}
