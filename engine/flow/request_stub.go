package flow

// STUB — the approvals helper DELETES this file when approvals land: it
// replaces requestTx and pendingTx with the real ones (approvals.go) and
// defines ApprovalView, StepView, Approver and PendingInfo there, in the
// shapes CONTRACT-13 fixes. Until then a transition with an approval or a
// hand-over is refused, and no record is ever pending.

import (
	"context"
	"encoding/json"
	"time"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// ApprovalView is an approval request as a viewer sees it (CONTRACT-13).
type ApprovalView struct {
	ID              string                     `json:"id"`
	App             string                     `json:"app"`
	Entity          string                     `json:"entity"`
	RecordID        string                     `json:"recordId"`
	Title           string                     `json:"title"`
	Flow            string                     `json:"flow"`
	Transition      string                     `json:"transition"`
	TransitionLabel string                     `json:"transitionLabel"`
	From            string                     `json:"from"`
	To              string                     `json:"to"`
	Kind            string                     `json:"kind"`
	Status          string                     `json:"status"`
	Requester       string                     `json:"requester"`
	RequesterName   string                     `json:"requesterName"`
	Comment         string                     `json:"comment"`
	Fields          map[string]json.RawMessage `json:"fields"`
	Step            int                        `json:"step"`
	Steps           []StepView                 `json:"steps"`
	Version         int64                      `json:"version"`
	CanDecide       bool                       `json:"canDecide"`
	CreatedAt       time.Time                  `json:"createdAt"`
	DecidedAt       *time.Time                 `json:"decidedAt"`
}

// StepView is one step of an approval (CONTRACT-13).
type StepView struct {
	Name      string     `json:"name"`
	Label     string     `json:"label"`
	Mode      string     `json:"mode"`
	Quorum    int        `json:"quorum"`
	Status    string     `json:"status"`
	Deadline  *time.Time `json:"deadline"`
	Approvers []Approver `json:"approvers"`
}

// Approver is one approver of a step and their decision (CONTRACT-13).
type Approver struct {
	UserID      string     `json:"userId"`
	Name        string     `json:"name"`
	Decision    string     `json:"decision"`
	DelegatedTo string     `json:"delegatedTo"`
	Comment     string     `json:"comment"`
	At          *time.Time `json:"at"`
}

// PendingInfo is the request pending on a record (CONTRACT-13).
type PendingInfo struct {
	ID         string    `json:"id"`
	Transition string    `json:"transition"`
	Kind       string    `json:"kind"`
	Step       int       `json:"step"`
	Requester  string    `json:"requester"`
	CreatedAt  time.Time `json:"createdAt"`
}

// requestTx records a pending request in tx (the record locked by WithRecord, every check passed).
func (s *Service) requestTx(ctx context.Context, tx store.Conn, c records.Caller, app *schema.App, f *schema.Flow, t *schema.Transition, rec *records.Record, req TakeRequest) (*ApprovalView, error) {
	return nil, &records.Error{Status: 422, Code: CodeRefused, Message: "approvals not built: this transition needs an approval or a hand-over",
		Details: schema.Problems{{Path: "/approval", Message: "approvals not built"}}}
}

// pendingTx says whether a request is pending for the record (Take refuses with /pending; Transitions fills Pending).
func (s *Service) pendingTx(ctx context.Context, tx store.Conn, app, entity, id string) (*PendingInfo, error) {
	return nil, nil
}
