// Package flow runs an app's flows: state machines over one entity whose
// transitions move a record only when their roles, guard and evidence allow
// it, approvals that hold a transition until its steps decide, escalation
// of steps that outlive their deadline, and the two-signature hand-over.
// Every move is written through the records service with path "flow", so
// it is in the record's history and emits the event automations react to.
//
// The pieces, by file:
//   - flow.go: the Service and how the engine wires it.
//   - transitions.go: what a caller may take now, taking a transition.
//   - check.go: what is refused when an app is applied.
//   - approvals.go, decide.go, escalate.go: approval requests, decisions,
//     the inbox and deadlines (durable jobs).
//   - handover.go: the two-signature hand-over.
package flow

import (
	"context"
	"log/slog"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Service takes transitions and runs approvals. Create it with New, wire
// notify and automations, and call Register before the job queue starts.
type Service struct {
	db      *store.DB
	catalog *store.Catalog
	records *records.Service
	access  *access.Service
	jobs    *jobs.Queue
	log     *slog.Logger

	notify *notify.Service     // approval requests, escalations (nil: none sent)
	autos  *automation.Service // a transition's actions on enter (nil: none run)
}

// New returns the flow service over the engine's services.
func New(db *store.DB, cat *store.Catalog, recs *records.Service, acc *access.Service, q *jobs.Queue, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: db, catalog: cat, records: recs, access: acc, jobs: q, log: log}
}

// UseNotify makes approval requests and escalations notify through n.
func (s *Service) UseNotify(n *notify.Service) { s.notify = n }

// UseAutomations makes transitions run their actions on enter through a.
func (s *Service) UseAutomations(a *automation.Service) { s.autos = a }

// Register creates the flow tables and registers the job kinds on the
// queue (before it starts).
func (s *Service) Register(ctx context.Context) error {
	if err := s.registerTransitions(ctx); err != nil {
		return err
	}
	return s.registerApprovals(ctx)
}

// CheckApp returns what the engine refuses in app's flows beyond the
// schema's own checks (guards and step conditions compiled against the
// entity, approver roles and fields, deadlines), each at its pointer.
func (s *Service) CheckApp(ctx context.Context, app *schema.App) schema.Problems {
	return append(s.checkFlows(ctx, app), s.checkApprovals(ctx, app)...)
}
