package flow

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// An approval request holds a transition (or a hand-over) until its steps
// decide. It lives in three tables of its own: the request (one row per
// request, its status, the step it waits on and a version that makes
// concurrent decisions exclusive), its steps (status and deadline) and the
// approvers' tasks (one row per approver of a step: decision, delegation,
// comment, time). Every change of a request bumps its version with a
// conditional UPDATE, so of two decisions on one step exactly one wins and
// the other answers 409.
//
// Times are stored as Unix milliseconds (BIGINT): the escalation tick
// compares deadlines in SQL, identically on both dialects.

// Kinds of request.
const (
	KindApproval = "approval"
	KindHandover = "handover"
)

// Request and step statuses.
const (
	StatusPending   = "pending"
	StatusApproved  = "approved"
	StatusRejected  = "rejected"
	StatusWithdrawn = "withdrawn"
	stepWaiting     = "waiting"   // a later step, not reached yet
	stepSkipped     = "skipped"   // its condition did not hold when reached
	stepEscalated   = "escalated" // passed on to the next step by its deadline
)

// Decisions an approver's task records.
const (
	DecisionApproved  = "approved"
	DecisionRejected  = "rejected"
	DecisionDelegated = "delegated"
)

// ApprovalView is a request as one viewer sees it (inbox, decisions, Take).
type ApprovalView struct {
	ID              string `json:"id"`
	App             string `json:"app"`
	Entity          string `json:"entity"`
	RecordID        string `json:"recordId"`
	Title           string `json:"title"` // the record's title field, as the viewer may read it
	Flow            string `json:"flow"`
	Transition      string `json:"transition"`
	TransitionLabel string `json:"transitionLabel"`
	// TransitionLabels is the transition's label per language, as the
	// document gives it; TransitionLabel is the fallback.
	TransitionLabels schema.Labels `json:"transitionLabels,omitempty"`
	From             string        `json:"from"`
	To               string        `json:"to"`
	// The states' labels (label or name) and labels per language, for the
	// inbox to show "草稿 → 已批准" rather than the state names.
	FromLabel     string                     `json:"fromLabel,omitempty"`
	FromLabels    schema.Labels              `json:"fromLabels,omitempty"`
	ToLabel       string                     `json:"toLabel,omitempty"`
	ToLabels      schema.Labels              `json:"toLabels,omitempty"`
	Kind          string                     `json:"kind"`   // approval | handover
	Status        string                     `json:"status"` // pending, approved, rejected, withdrawn
	Requester     string                     `json:"requester"`
	RequesterName string                     `json:"requesterName"`
	Comment       string                     `json:"comment"`
	Fields        map[string]json.RawMessage `json:"fields"`
	Step          int                        `json:"step"`
	Steps         []StepView                 `json:"steps"`
	Version       int64                      `json:"version"`
	CanDecide     bool                       `json:"canDecide"`
	CreatedAt     time.Time                  `json:"createdAt"`
	DecidedAt     *time.Time                 `json:"decidedAt"`
}

// StepView is one step of a request.
type StepView struct {
	Name      string        `json:"name"`
	Label     string        `json:"label"`
	Labels    schema.Labels `json:"labels,omitempty"` // the step's label per language; Label is the fallback
	Mode      string        `json:"mode"`
	Quorum    int           `json:"quorum"`
	Status    string        `json:"status"` // waiting, pending, approved, rejected, skipped, escalated
	Deadline  *time.Time    `json:"deadline"`
	Approvers []Approver    `json:"approvers"`
}

// Approver is one approver's task in a step.
type Approver struct {
	UserID      string     `json:"userId"`
	Name        string     `json:"name"`
	Decision    string     `json:"decision"` // "", approved, rejected, delegated
	DelegatedTo string     `json:"delegatedTo"`
	Comment     string     `json:"comment"`
	At          *time.Time `json:"at"`
}

// PendingInfo is what a record shows of the request pending on it.
type PendingInfo struct {
	ID         string    `json:"id"`
	Transition string    `json:"transition"`
	Kind       string    `json:"kind"`
	Step       int       `json:"step"`
	Requester  string    `json:"requester"`
	CreatedAt  time.Time `json:"createdAt"`
}

const (
	approvalsTable = "_forma_approvals"
	stepsTable     = "_forma_approval_steps"
	tasksTable     = "_forma_approval_tasks"
)

// approvalRow is one request (GORM model: only for EnsureTables; rows are
// read and written with SQL in the callers' transactions).
type approvalRow struct {
	ID          string `gorm:"primaryKey;size:26"`
	App         string `gorm:"size:63;not null;index:idx_forma_approvals_record,priority:1"`
	Entity      string `gorm:"size:63;not null;index:idx_forma_approvals_record,priority:2"`
	RecordID    string `gorm:"size:64;not null;index:idx_forma_approvals_record,priority:3"`
	Flow        string `gorm:"size:63;not null"`
	Transition  string `gorm:"size:63;not null"`
	Kind        string `gorm:"size:16;not null"`
	FromState   string `gorm:"size:63;not null"`
	Status      string `gorm:"size:16;not null;index:idx_forma_approvals_status"`
	Step        int    `gorm:"not null"`
	Version     int64  `gorm:"not null"`
	Requester   string `gorm:"size:26;not null;index:idx_forma_approvals_requester"`
	Fields      string `gorm:"type:text;not null"`
	Comment     string `gorm:"type:text;not null"`
	RequestedAt int64  `gorm:"not null"`
	DecidedAt   *int64
}

func (approvalRow) TableName() string { return approvalsTable }

// stepRow is one step of a request.
type stepRow struct {
	ApprovalID  string `gorm:"primaryKey;size:26"`
	Idx         int    `gorm:"primaryKey;autoIncrement:false"`
	Status      string `gorm:"size:16;not null"`
	Deadline    *int64 `gorm:"index:idx_forma_approval_steps_deadline"`
	Escalations int    `gorm:"not null"`
}

func (stepRow) TableName() string { return stepsTable }

// taskRow is one approver's part in a step.
type taskRow struct {
	ID          string `gorm:"primaryKey;size:26"`
	ApprovalID  string `gorm:"size:26;not null;index:idx_forma_approval_tasks_approval"`
	Step        int    `gorm:"not null"`
	UserID      string `gorm:"size:26;not null;index:idx_forma_approval_tasks_user"`
	Decision    string `gorm:"size:16;not null"`
	DelegatedTo string `gorm:"size:26;not null"`
	Comment     string `gorm:"type:text;not null"`
	At          *int64
	Origin      string `gorm:"size:16;not null"` // resolved, delegate, escalation
}

func (taskRow) TableName() string { return tasksTable }

var (
	idMu      sync.Mutex
	idEntropy = ulid.Monotonic(rand.Reader, 0)
)

// newID is a lower-case ULID from the engine clock.
func (s *Service) newID() string {
	idMu.Lock()
	defer idMu.Unlock()
	return strings.ToLower(ulid.MustNew(ulid.Timestamp(s.db.Clock.Now()), idEntropy).String())
}

func (s *Service) nowMs() int64 { return s.db.Now().UnixMilli() }

func msTime(ms *int64) *time.Time {
	if ms == nil {
		return nil
	}
	t := time.UnixMilli(*ms).UTC()
	return &t
}

// registerApprovals creates the approval tables and ticks escalations.
func (s *Service) registerApprovals(ctx context.Context) error {
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	return s.registerEscalation()
}

// Migrate creates the approval tables (Register does it too): a service
// that only lists transitions needs no queue.
func (s *Service) Migrate(ctx context.Context) error {
	if err := s.db.EnsureTables(ctx, &approvalRow{}, &stepRow{}, &taskRow{}); err != nil {
		return fmt.Errorf("flow: %w", err)
	}
	return nil
}

// request is a request with its steps and tasks, as read in one
// transaction.
type request struct {
	approvalRow
	steps []stepRow
	tasks []taskRow
	fresh []taskRow // tasks added since the request was read, to insert
}

func (r *request) step(i int) *stepRow {
	for k := range r.steps {
		if r.steps[k].Idx == i {
			return &r.steps[k]
		}
	}
	return nil
}

// tasksOf returns the tasks of step i.
func (r *request) tasksOf(i int) []*taskRow {
	var out []*taskRow
	for k := range r.tasks {
		if r.tasks[k].Step == i {
			out = append(out, &r.tasks[k])
		}
	}
	return out
}

// openTask is user's undecided task in the current step, or nil.
func (r *request) openTask(user string) *taskRow {
	if r.Status != StatusPending {
		return nil
	}
	for _, t := range r.tasksOf(r.Step) {
		if t.UserID == user && t.Decision == "" {
			return t
		}
	}
	return nil
}

// errNoRequest is the one answer for a request that does not exist and one
// on a record the caller may not read.
func errNoRequest(id string) error {
	return &records.Error{Status: 404, Code: records.CodeNotFound, Message: fmt.Sprintf("no approval with id %q", id)}
}

const approvalCols = `"id", "app", "entity", "record_id", "flow", "transition", "kind", "from_state", "status", "step", "version", "requester", "fields", "comment", "requested_at", "decided_at"`

func scanApproval(row interface{ Scan(...any) error }) (*approvalRow, error) {
	var a approvalRow
	var decided sql.NullInt64
	if err := row.Scan(&a.ID, &a.App, &a.Entity, &a.RecordID, &a.Flow, &a.Transition, &a.Kind, &a.FromState, &a.Status, &a.Step, &a.Version,
		&a.Requester, &a.Fields, &a.Comment, &a.RequestedAt, &decided); err != nil {
		return nil, err
	}
	if decided.Valid {
		v := decided.Int64
		a.DecidedAt = &v
	}
	return &a, nil
}

// load reads request id with its steps and tasks through q; nil when there
// is none.
func (s *Service) load(ctx context.Context, q store.Conn, id string) (*request, error) {
	a, err := scanApproval(q.QueryRowContext(ctx, `SELECT `+approvalCols+` FROM `+approvalsTable+` WHERE "id" = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("flow: read approval: %w", err)
	}
	r := &request{approvalRow: *a}
	rows, err := q.QueryContext(ctx, `SELECT "idx", "status", "deadline", "escalations" FROM `+stepsTable+` WHERE "approval_id" = ? ORDER BY "idx"`, id)
	if err != nil {
		return nil, fmt.Errorf("flow: read approval steps: %w", err)
	}
	for rows.Next() {
		st := stepRow{ApprovalID: id}
		var dl sql.NullInt64
		if err := rows.Scan(&st.Idx, &st.Status, &dl, &st.Escalations); err != nil {
			rows.Close()
			return nil, fmt.Errorf("flow: read approval steps: %w", err)
		}
		if dl.Valid {
			v := dl.Int64
			st.Deadline = &v
		}
		r.steps = append(r.steps, st)
	}
	rows.Close()
	rows, err = q.QueryContext(ctx, `SELECT "id", "step", "user_id", "decision", "delegated_to", "comment", "at", "origin" FROM `+tasksTable+` WHERE "approval_id" = ? ORDER BY "id"`, id)
	if err != nil {
		return nil, fmt.Errorf("flow: read approval tasks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t := taskRow{ApprovalID: id}
		var at sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Step, &t.UserID, &t.Decision, &t.DelegatedTo, &t.Comment, &at, &t.Origin); err != nil {
			return nil, fmt.Errorf("flow: read approval tasks: %w", err)
		}
		if at.Valid {
			v := at.Int64
			t.At = &v
		}
		r.tasks = append(r.tasks, t)
	}
	return r, rows.Err()
}

// pendingTx says whether a request is pending for the record.
func (s *Service) pendingTx(ctx context.Context, tx store.Conn, app, entity, id string) (*PendingInfo, error) {
	a, err := scanApproval(tx.QueryRowContext(ctx, `SELECT `+approvalCols+` FROM `+approvalsTable+
		` WHERE "app" = ? AND "entity" = ? AND "record_id" = ? AND "status" = ? ORDER BY "id" DESC LIMIT 1`, app, entity, id, StatusPending))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("flow: read pending approval: %w", err)
	}
	return &PendingInfo{ID: a.ID, Transition: a.Transition, Kind: a.Kind, Step: a.Step, Requester: a.Requester,
		CreatedAt: time.UnixMilli(a.RequestedAt).UTC()}, nil
}

// requestTx records a pending request in tx (the record locked by
// WithRecord, every check of the transition passed): the request, its
// first step that applies with its approvers (or the receiver of a
// hand-over), a "request" history entry, an audit entry and the
// approvers' notifications. It answers nil, and records nothing, when no
// step of the approval applies to the record: Take then moves it at once.
func (s *Service) requestTx(ctx context.Context, tx store.Conn, c records.Caller, app *schema.App, f *schema.Flow, t *schema.Transition, rec *records.Record, req TakeRequest) (*ApprovalView, error) {
	if p, err := s.pendingTx(ctx, tx, app.Name, f.Entity, rec.ID()); err != nil {
		return nil, err
	} else if p != nil {
		return nil, refused([]Lack{{Path: "/pending", Message: "an approval of this record is pending"}})
	}
	fields := req.Fields
	if fields == nil {
		fields = map[string]json.RawMessage{}
	}
	fb, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("flow: request: %w", err)
	}
	r := &request{approvalRow: approvalRow{ID: s.newID(), App: app.Name, Entity: f.Entity, RecordID: rec.ID(), Flow: f.Name,
		Transition: t.Name, Kind: KindApproval, FromState: stateOf(rec, f.Field), Status: StatusPending, Step: -1, Version: 1, Requester: c.UserID,
		Fields: string(fb), Comment: req.Comment, RequestedAt: s.nowMs()}}
	dir, err := s.directory(ctx)
	if err != nil {
		return nil, err
	}
	op := "request"
	if t.Handover != nil {
		r.Kind = KindHandover
		receiver, lacks, err := s.handoverReceiver(ctx, tx, dir, app, f, t, rec, c, fields)
		if err != nil {
			return nil, err
		}
		if len(lacks) > 0 {
			return nil, refused(lacks)
		}
		r.Step = 0
		r.steps = []stepRow{{ApprovalID: r.ID, Idx: 0, Status: StatusPending}}
		r.tasks = []taskRow{{ID: s.newID(), ApprovalID: r.ID, Step: 0, UserID: receiver, Origin: "resolved"}}
		op = "handover"
	} else {
		if t.Approval == nil || len(t.Approval.Steps) == 0 {
			return nil, fmt.Errorf("flow: request: transition %s has no approval steps", t.Name)
		}
		for i := range t.Approval.Steps {
			r.steps = append(r.steps, stepRow{ApprovalID: r.ID, Idx: i, Status: stepWaiting})
		}
		done, lack, err := s.advance(ctx, tx, dir, app, f, t, r, rec)
		if err != nil {
			return nil, err
		}
		if lack != nil {
			return nil, refused([]Lack{*lack})
		}
		if done {
			// No step applies to this record: nothing to wait for, nothing
			// recorded; Take moves the record at once.
			return nil, nil
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+approvalsTable+` (`+approvalCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.App, r.Entity, r.RecordID, r.Flow, r.Transition, r.Kind, r.FromState, r.Status, r.Step, r.Version, r.Requester, r.Fields, r.Comment, r.RequestedAt, r.DecidedAt); err != nil {
		return nil, fmt.Errorf("flow: request: %w", err)
	}
	for _, st := range r.steps {
		if err := s.insertStep(ctx, tx, st); err != nil {
			return nil, err
		}
	}
	for _, tk := range r.tasks {
		if err := s.insertTask(ctx, tx, tk); err != nil {
			return nil, err
		}
	}
	if err := s.records.NoteTx(ctx, tx, c, app.Name, f.Entity, rec.ID(), "request", f.Name+"/"+t.Name, req.Comment); err != nil {
		return nil, err
	}
	if err := s.notifyTx(ctx, tx, r, r.openApprovers(), "approval:"+r.ID+":step", s.askMessage(dir, app, f, t, r)); err != nil {
		return nil, err
	}
	if err := s.auditTx(ctx, tx, c.UserID, "approval_"+op, r, nil); err != nil {
		return nil, err
	}
	return s.viewOf(ctx, app, r, c, rec, dir)
}

func (s *Service) insertStep(ctx context.Context, tx store.Conn, st stepRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO `+stepsTable+` ("approval_id", "idx", "status", "deadline", "escalations") VALUES (?, ?, ?, ?, ?)`,
		st.ApprovalID, st.Idx, st.Status, st.Deadline, st.Escalations)
	if err != nil {
		return fmt.Errorf("flow: write approval step: %w", err)
	}
	return nil
}

func (s *Service) insertTask(ctx context.Context, tx store.Conn, t taskRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO `+tasksTable+` ("id", "approval_id", "step", "user_id", "decision", "delegated_to", "comment", "at", "origin") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.ApprovalID, t.Step, t.UserID, t.Decision, t.DelegatedTo, t.Comment, t.At, t.Origin)
	if err != nil {
		return fmt.Errorf("flow: write approval task: %w", err)
	}
	return nil
}

// openApprovers are the users with an undecided task in the current step.
func (r *request) openApprovers() []string {
	var out []string
	if r.Status != StatusPending {
		return nil
	}
	for _, t := range r.tasksOf(r.Step) {
		if t.Decision == "" {
			out = append(out, t.UserID)
		}
	}
	return out
}

// labelOf is a transition's or step's label: its label, else its name.
func labelOf(label, name string) string {
	if label != "" {
		return label
	}
	return name
}
