package flow

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/oklog/ulid/v2"

	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Decisions on a request: approve, reject (a comment is required; the
// record stays in its from-state), delegate (the approver's task passes to
// another active user who may read the record; recorded) and withdraw (the
// requester only). A hand-over's receiver approves (accept: ownership and
// state move) or rejects (refuse, with a comment: nothing changes).

// Decision names, as the API's path spells them.
const (
	Approve  = "approve"
	Reject   = "reject"
	Delegate = "delegate"
	Withdraw = "withdraw"
)

// DecisionInput is the body of a decision.
type DecisionInput struct {
	Comment string `json:"comment"`
	To      string `json:"to"`      // delegate: the user id (or email) the task passes to
	Version int64  `json:"version"` // the request's version the decider read
}

func conflict(format string, args ...any) error {
	return &records.Error{Status: 409, Code: records.CodeConflict, Message: fmt.Sprintf(format, args...)}
}

func invalidAt(path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &records.Error{Status: 422, Code: records.CodeInvalid, Message: msg, Details: []schema.Problem{{Path: path, Message: msg}}}
}

// Decide records c's decision on request id and answers the request as c
// then sees it. A request that does not exist and one on a record c may
// not read are the same 404; deciding when c has no open task in the
// current step is a 403; a request decided meanwhile or a stale version
// is a 409.
func (s *Service) Decide(ctx context.Context, c records.Caller, id, decision string, in DecisionInput) (*ApprovalView, error) {
	switch decision {
	case Approve, Reject, Delegate, Withdraw:
	default:
		return nil, &records.Error{Status: 404, Code: records.CodeNotFound,
			Message: fmt.Sprintf("no decision %q: approve, reject, delegate or withdraw", decision)}
	}
	id = strings.ToLower(id)
	if !validID(id) {
		return nil, errNoRequest(id)
	}
	r, err := s.load(ctx, s.db.Pool(), id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errNoRequest(id)
	}
	if ok, err := s.callerMayRead(ctx, c, r.App, r.Entity, r.RecordID); err != nil {
		return nil, err
	} else if !ok {
		return nil, errNoRequest(id)
	}
	in.Comment = strings.TrimSpace(in.Comment)
	switch {
	case len(in.Comment) > MaxComment:
		return nil, invalidAt("/comment", "a comment has at most %d bytes", MaxComment)
	case in.Version < 1:
		return nil, invalidAt("/version", "version is required: send the approval's version you read")
	case decision == Reject && in.Comment == "":
		return nil, invalidAt("/comment", "a rejection needs a comment saying why")
	case decision == Delegate && r.Kind == KindHandover:
		return nil, invalidAt("/to", "a hand-over is accepted or refused by its receiver; it cannot be delegated")
	case decision == Delegate && strings.TrimSpace(in.To) == "":
		return nil, invalidAt("/to", "to is required: the user the decision passes to")
	}
	if r.Status != StatusPending {
		return nil, conflict("this approval is already %s", r.Status)
	}
	if r.Version != in.Version {
		return nil, conflict("the approval changed since you read it (it is now at version %d); reload and try again", r.Version)
	}
	switch {
	case decision == Withdraw && c.UserID != r.Requester:
		return nil, &records.Error{Status: 403, Code: records.CodeForbidden, Message: "only the requester may withdraw a request"}
	case decision != Withdraw && r.openTask(c.UserID) == nil:
		msg := "you are not an approver of this approval's current step"
		if c.UserID == r.Requester {
			msg = "you cannot decide on your own request"
		}
		return nil, &records.Error{Status: 403, Code: records.CodeForbidden, Message: msg}
	}
	dir, err := s.directory(ctx)
	if err != nil {
		return nil, err
	}
	var to string
	if decision == Delegate {
		u, ok := dir.active(in.To)
		switch {
		case !ok:
			return nil, invalidAt("/to", "no active user %q", in.To)
		case u.ID == r.Requester:
			return nil, invalidAt("/to", "the requester cannot approve their own request")
		case u.ID == c.UserID:
			return nil, invalidAt("/to", "you cannot delegate to yourself")
		case r.openTask(u.ID) != nil:
			return nil, invalidAt("/to", "%s is already an approver of this step", dir.name(u.ID))
		}
		if ok, err := s.mayRead(ctx, u, r.App, r.Entity, r.RecordID); err != nil {
			return nil, err
		} else if !ok {
			return nil, invalidAt("/to", "%s may not read this record, so cannot decide on it", dir.name(u.ID))
		}
		to = u.ID
	}
	// One transaction, run again whole if a migration overtakes it or
	// PostgreSQL aborts it as a deadlock.
	if _, err := records.Retry(func() (struct{}, error) {
		app, err := s.catalog.App(ctx, r.App)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, s.decideTx(ctx, c, app, dir, id, decision, in, to)
	}); err != nil {
		return nil, err
	}
	app, err := s.catalog.App(ctx, r.App)
	if err != nil {
		return nil, err
	}
	r, err = s.load(ctx, s.db.Pool(), id)
	if err != nil {
		return nil, err
	}
	return s.viewOf(ctx, app, r, c, nil, dir)
}

// decideTx writes a decision in one transaction. When the decision
// approves the last step (or accepts a hand-over), the move it completes
// is written in that transaction too: the request approved and the record
// moved commit together, or, the move refused (the guard re-checked), the
// decision is rolled back with it — the request stays pending, nothing is
// recorded, and the approver is answered the lacks.
func (s *Service) decideTx(ctx context.Context, c records.Caller, app *schema.App, dir *directory, id, decision string, in DecisionInput, to string) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("flow: begin: %w", err)
	}
	defer tx.Rollback()
	// The conditional bump makes concurrent decisions exclusive: the
	// second waits for the first's row lock (PostgreSQL) or write slot
	// (SQLite), then finds the version moved.
	res, err := tx.ExecContext(ctx, `UPDATE `+approvalsTable+` SET "version" = "version" + 1 WHERE "id" = ? AND "version" = ? AND "status" = ?`, id, in.Version, StatusPending)
	if err != nil {
		return fmt.Errorf("flow: decide: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return conflict("the approval was decided or changed since you read it; reload and try again")
	}
	r, err := s.load(ctx, tx, id)
	if err != nil {
		return err
	}
	f, t := s.transitionOf(app, r)
	now := s.nowMs()
	op := decision
	if r.Kind == KindHandover && (decision == Approve || decision == Reject) {
		op = map[string]string{Approve: "accept", Reject: "refuse"}[decision]
	}
	var task *taskRow
	if decision != Withdraw {
		if task = r.openTask(c.UserID); task == nil {
			return conflict("your part in this step was decided meanwhile")
		}
		task.At, task.Comment = &now, in.Comment
		if decision == Delegate && in.Comment == "" {
			task.Comment = "delegated to " + dir.name(to)
		}
	}
	// The decision's history entry comes first: an automatic rejection
	// it leads to (nobody left for the next step) follows it.
	if err := s.records.NoteTx(ctx, tx, c, r.App, r.Entity, r.RecordID, op, r.Flow+"/"+r.Transition, task.commentOr(in.Comment)); err != nil {
		return err
	}
	notifyUsers, notifyMsg := []string(nil), ""
	var final *request
	switch decision {
	case Withdraw:
		r.Status, r.DecidedAt = StatusWithdrawn, &now
		s.closeStep(r)
	case Delegate:
		task.Decision, task.DelegatedTo = DecisionDelegated, to
		nt := taskRow{ID: s.newID(), ApprovalID: r.ID, Step: r.Step, UserID: to, Origin: "delegate"}
		r.tasks, r.fresh = append(r.tasks, nt), append(r.fresh, nt)
		notifyUsers, notifyMsg = []string{to}, fmt.Sprintf("%s passed an approval to you: %s of a %s record.", dir.name(c.UserID), r.Transition, r.Entity)
	case Approve, Reject:
		task.Decision = DecisionApproved
		if decision == Reject {
			task.Decision = DecisionRejected
		}
		switch s.outcome(r, t) {
		case StatusRejected:
			r.Status, r.DecidedAt = StatusRejected, &now
			r.step(r.Step).Status, r.step(r.Step).Deadline = StatusRejected, nil
		case StatusApproved:
			r.step(r.Step).Status, r.step(r.Step).Deadline = StatusApproved, nil
			done := true
			if r.Kind == KindApproval && f != nil && t != nil {
				rec, err := s.records.Get(ctx, records.Caller{Admin: true}, r.App, r.Entity, r.RecordID, "", "")
				if err != nil {
					return err
				}
				var lack *Lack
				if done, lack, err = s.advance(ctx, tx, dir, app, f, t, r, rec); err != nil {
					return err
				} else if lack != nil {
					// Nobody is left to decide the next step: the request
					// cannot pass, so it ends rejected, saying why.
					r.Status, r.DecidedAt = StatusRejected, &now
					s.closeStep(r)
					if err := s.records.NoteTx(ctx, tx, records.Caller{Path: records.PathSystem}, r.App, r.Entity, r.RecordID, "reject", r.Flow+"/"+r.Transition, lack.Message); err != nil {
						return err
					}
				}
			}
			if done {
				r.Status, r.DecidedAt = StatusApproved, &now
				final = r
			} else if r.Status == StatusPending {
				notifyUsers, notifyMsg = r.openApprovers(), s.askMessage(dir, app, f, t, r)
			}
		}
	}
	if err := s.save(ctx, tx, r, task); err != nil {
		return err
	}
	if r.Kind == KindHandover && (r.Status == StatusRejected || r.Status == StatusWithdrawn) {
		if err := s.releaseReceiverTx(ctx, tx, c, app, r); err != nil {
			return err
		}
	}
	if r.Status != StatusPending && r.Requester != c.UserID {
		notifyUsers, notifyMsg = []string{r.Requester}, fmt.Sprintf("%s: your request (%s of a %s record) is %s.", dir.name(c.UserID), r.Transition, r.Entity, r.Status)
	}
	if err := s.notifyTx(ctx, tx, r, notifyUsers, "approval:"+r.ID+":"+op, notifyMsg); err != nil {
		return err
	}
	detail := map[string]any{"decision": op}
	if to != "" {
		detail["to"] = to
	}
	if err := s.auditTx(ctx, tx, c.UserID, "approval_"+op, r, detail); err != nil {
		return err
	}
	if final != nil {
		if err := s.finishTx(ctx, tx, c, final); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("flow: decide: %w", err)
	}
	return nil
}

func (t *taskRow) commentOr(c string) string {
	if t == nil {
		return c
	}
	return t.Comment
}

// finishTx completes, inside tx, the move of an approved request
// (flow-core's complete: guard and evidence re-checked; a refusal is the
// caller's to roll back).
func (s *Service) finishTx(ctx context.Context, tx store.Conn, c records.Caller, r *request) error {
	var fields map[string]json.RawMessage
	_ = json.Unmarshal([]byte(r.Fields), &fields)
	newOwner := ""
	if r.Kind == KindHandover {
		newOwner = r.tasksOf(0)[0].UserID
	}
	_, err := s.complete(ctx, tx, c, r.App, r.Entity, r.RecordID, r.Transition, fields, r.Comment, newOwner)
	return err
}

func (s *Service) transitionOf(app *schema.App, r *request) (*schema.Flow, *schema.Transition) {
	f := app.Flow(r.Flow)
	if f == nil {
		return nil, nil
	}
	return f, f.Transition(r.Transition)
}

// closeStep ends the current step of a request that ended otherwise.
func (s *Service) closeStep(r *request) {
	if st := r.step(r.Step); st != nil && st.Status == StatusPending {
		st.Status, st.Deadline = r.Status, nil
	}
}

// outcome is what the current step's tasks decide: approved, rejected or
// "" (still waiting). A delegated task counts as its delegate's.
func (s *Service) outcome(r *request, t *schema.Transition) string {
	mode, quorum := schema.ApproveAny, 1
	if r.Kind == KindApproval && t != nil && t.Approval != nil && r.Step < len(t.Approval.Steps) {
		def := t.Approval.Steps[r.Step]
		if def.Mode != "" {
			mode = def.Mode
		}
		quorum = def.Quorum
	}
	var approved, rejected, open int
	for _, tk := range r.tasksOf(r.Step) {
		switch tk.Decision {
		case DecisionApproved:
			approved++
		case DecisionRejected:
			rejected++
		case "":
			open++
		}
	}
	switch mode {
	case schema.ApproveQuorum:
		if approved >= quorum {
			return StatusApproved
		}
		if approved+open < quorum {
			return StatusRejected
		}
	case schema.ApproveAll:
		if rejected > 0 {
			return StatusRejected
		}
		if open == 0 && approved > 0 {
			return StatusApproved
		}
	default:
		if rejected > 0 {
			return StatusRejected
		}
		if approved > 0 {
			return StatusApproved
		}
	}
	return ""
}

// advance moves request r to the first step, in order, that is not yet
// approved and whose condition holds for the record now (a step skipped
// earlier whose condition has come to hold — the discount was raised while
// waiting — is not passed by), and gives it its approvers and deadline.
// done: no step is left. lack: the step found has too few approvers.
func (s *Service) advance(ctx context.Context, tx store.Conn, dir *directory, app *schema.App, f *schema.Flow, t *schema.Transition, r *request, rec *records.Record) (done bool, lack *Lack, err error) {
	for i := range t.Approval.Steps {
		st, def := r.step(i), &t.Approval.Steps[i]
		if st == nil || st.Status == StatusApproved || st.Status == stepEscalated {
			continue
		}
		if def.Condition != "" {
			node, err := filter.Parse(def.Condition)
			if err != nil {
				return false, nil, fmt.Errorf("flow: step %s condition: %w", def.Name, err)
			}
			ok, err := s.records.MatchTx(ctx, tx, app, f.Entity, r.RecordID, node)
			if err != nil {
				return false, nil, err
			}
			if !ok {
				st.Status = stepSkipped
				continue
			}
		}
		users, err := s.resolveStep(ctx, dir, app, f.Entity, def, rec, r.Requester)
		if err != nil {
			return false, nil, err
		}
		path := fmt.Sprintf("/approval/steps/%d", i)
		if len(users) == 0 {
			return false, &Lack{Path: path, Message: fmt.Sprintf("nobody but the requester can approve step %q", labelOf(def.Label, def.Name))}, nil
		}
		if def.Mode == schema.ApproveQuorum && def.Quorum > len(users) {
			return false, &Lack{Path: path, Message: fmt.Sprintf("step %q needs %d approvals but only %d people can approve it", labelOf(def.Label, def.Name), def.Quorum, len(users))}, nil
		}
		r.Step, st.Status, st.Deadline = i, StatusPending, nil
		if def.Deadline != "" {
			if d, err := automation.ParseOffset(def.Deadline); err == nil && d > 0 {
				at := s.nowMs() + d.Milliseconds()
				st.Deadline = &at
			}
		}
		for _, u := range users {
			tk := taskRow{ID: s.newID(), ApprovalID: r.ID, Step: i, UserID: u, Origin: "resolved"}
			r.tasks, r.fresh = append(r.tasks, tk), append(r.fresh, tk)
		}
		return false, nil, nil
	}
	return true, nil, nil
}

// save writes what a decision changed: the request's status and step,
// every step's status and deadline, the decided task and new tasks.
func (s *Service) save(ctx context.Context, tx store.Conn, r *request, task *taskRow) error {
	if _, err := tx.ExecContext(ctx, `UPDATE `+approvalsTable+` SET "status" = ?, "step" = ?, "decided_at" = ? WHERE "id" = ?`, r.Status, r.Step, r.DecidedAt, r.ID); err != nil {
		return fmt.Errorf("flow: save approval: %w", err)
	}
	for _, st := range r.steps {
		if _, err := tx.ExecContext(ctx, `UPDATE `+stepsTable+` SET "status" = ?, "deadline" = ?, "escalations" = ? WHERE "approval_id" = ? AND "idx" = ?`,
			st.Status, st.Deadline, st.Escalations, r.ID, st.Idx); err != nil {
			return fmt.Errorf("flow: save approval step: %w", err)
		}
	}
	if task != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE `+tasksTable+` SET "decision" = ?, "delegated_to" = ?, "comment" = ?, "at" = ? WHERE "id" = ?`,
			task.Decision, task.DelegatedTo, task.Comment, task.At, task.ID); err != nil {
			return fmt.Errorf("flow: save approval task: %w", err)
		}
	}
	for _, tk := range r.fresh {
		if err := s.insertTask(ctx, tx, tk); err != nil {
			return err
		}
	}
	r.fresh = nil
	return nil
}

// validID says whether id is a lower-case ULID, as request ids are.
func validID(id string) bool {
	_, err := ulid.ParseStrict(id)
	return err == nil && len(id) == ulid.EncodedSize && strings.ToLower(id) == id
}
