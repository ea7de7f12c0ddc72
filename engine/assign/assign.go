// Package assign runs an app's assignment rules: who may receive a record
// (candidates by role, team, user and a condition on their profile), who
// of them is eligible now (capacity, working hours, absence), how one is
// chosen (round-robin with its position stored in the database, least
// open load, or a score expression over declared statistics, ties going
// round-robin), fallbacks, the claim pool, manual reassignment, A/B
// variants of a rule, and the decision log that explains every
// assignment. Every assignment is a write through the records service
// (its history, events and row rules apply); the golden-hours countdown
// runs as timer automations derived from the rule (engine/automation).
//
// The pieces, by file:
//   - assign.go: the Service, its types and how the engine wires it.
//   - candidates.go, eligible.go: who may and who can receive a record.
//   - strategy.go, stats.go, score.go: choosing the winner.
//   - decide.go: one assignment in a transaction, and its decision log.
//   - log.go: reading the log; the automation action and its preview.
//   - reassign.go: a manager's reassignment.
//   - pool.go, claim.go: the claim pool, claims and pool deadlines.
//   - variants.go: A/B variants of a rule and their report.
//   - enter.go: a record entering its rule's pool (the pool's hook).
//   - check.go: what is refused when an app is applied.
package assign

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Service assigns records by rules. Create it with New, wire notify, and
// call Register before the job queue starts.
type Service struct {
	db      *store.DB
	catalog *store.Catalog
	records *records.Service
	access  *access.Service
	jobs    *jobs.Queue
	log     *slog.Logger
	notify  *notify.Service // claim-pool and reassignment notices (nil: none)

	scores scorers   // compiled score expressions (score.go)
	stats  statCache // statistics other than openLoad (stats.go)
}

// New returns the assignment service over the engine's services.
func New(db *store.DB, cat *store.Catalog, recs *records.Service, acc *access.Service, q *jobs.Queue, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: db, catalog: cat, records: recs, access: acc, jobs: q, log: log}
}

// UseNotify makes assignments notify through n.
func (s *Service) UseNotify(n *notify.Service) { s.notify = n }

// Register creates the assignment tables and registers the job kinds
// (the pool-deadline tick) on the queue, before it starts.
func (s *Service) Register(ctx context.Context) error {
	if err := s.db.EnsureTables(ctx, &stateRow{}, &decisionRow{}, &variantRow{}); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	return s.registerPool(ctx)
}

// CheckApp returns what the engine refuses in app's assignment rules
// beyond the schema's own checks (filters and conditions compiled, score
// expressions parsed over the rule's statistics), each at its pointer.
func (s *Service) CheckApp(ctx context.Context, app *schema.App) schema.Problems {
	return s.checkApp(app)
}

// ErrNotImplemented marks what the skeleton does not do yet.
var ErrNotImplemented = errors.New("assign: not implemented")

// Options say how one assignment runs.
type Options struct {
	// Caller writes the record: its Path ("automation", "api", "system")
	// and Step carry into the history entry and the event.
	Caller records.Caller
	// Exclude are users who may not win (a countdown's reassign step
	// excludes the current owner).
	Exclude []string
	// Reason is the note in the record's history ("golden hours: no
	// first contact after 6h").
	Reason string
	// DryRun decides and explains but writes nothing (the designer's
	// preview, an automation's test).
	DryRun bool
	// SkipPool assigns by the rule's strategy even when the rule has a
	// pool (a pooled record past its deadline).
	SkipPool bool
}

// Decision is one assignment as the log keeps it and the record shows it.
type Decision struct {
	ID       string `json:"id"`
	App      string `json:"app"`
	Entity   string `json:"entity"`
	RecordID string `json:"recordId"`
	Rule     string `json:"rule"`
	Variant  string `json:"variant,omitempty"`
	Strategy string `json:"strategy"` // roundRobin, leastLoad, score, manual, claim, pool
	// Winner is the user who got the record ("" when it went to the pool
	// or nobody was eligible); Previous the one who had it.
	Winner     string `json:"winner,omitempty"`
	WinnerName string `json:"winnerName,omitempty"`
	Previous   string `json:"previous,omitempty"`
	Pool       string `json:"pool,omitempty"`
	// Fallback is 0 when the rule's own candidates gave the winner, i
	// when its Fallbacks[i-1] did.
	Fallback int `json:"fallback"`
	// Candidates is every candidate considered, eligible or not, with
	// their statistics and score; hidden from callers who may not
	// reassign (they see the winner and the reason only).
	Candidates []Candidate `json:"candidates,omitempty"`
	// Reason says in a sentence why the winner won (or why nobody did).
	Reason string    `json:"reason"`
	Note   string    `json:"note,omitempty"` // a manager's reason, a countdown step
	Path   string    `json:"path"`
	Actor  string    `json:"actor,omitempty"`
	At     time.Time `json:"at"`
}

// Candidate is one user as a decision weighed them.
type Candidate struct {
	User     string `json:"user"`
	Name     string `json:"name"`
	Eligible bool   `json:"eligible"`
	// Why says why an ineligible candidate was left out ("away", "at
	// capacity (30 of 30)", "outside working hours", "excluded").
	Why   string              `json:"why,omitempty"`
	Stats map[string]*float64 `json:"stats,omitempty"` // statistic → value (nil: none)
	Score *float64            `json:"score,omitempty"`
	Load  int64               `json:"load"`
}

// Assign runs the rule named rule on the record id of app, in its own
// transaction (retried on a migration or a serialization failure).
func (s *Service) Assign(ctx context.Context, app *schema.App, rule, id string, o Options) (*Decision, error) {
	return s.assign(ctx, app, rule, id, o)
}

// AssignTx is Assign inside tx, a transaction the caller began with the
// store and commits itself.
func (s *Service) AssignTx(ctx context.Context, tx store.Conn, app *schema.App, rule, id string, o Options) (*Decision, error) {
	return s.assignTx(ctx, tx, app, rule, id, o)
}

// Preview decides for the record id as the rule r (a draft from the
// designer, or the app's own) would now, and writes nothing.
func (s *Service) Preview(ctx context.Context, app *schema.App, r *schema.Assignment, id string) (*Decision, error) {
	return s.preview(ctx, app, r, id)
}

// ReassignRequest is a manager's reassignment: To a user (id or email),
// or, with To empty, by Rule (the entity's only rule when empty) to
// someone other than the owner; Reason goes into the history.
type ReassignRequest struct {
	To      string `json:"to,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason"`
	Version int64  `json:"version,omitempty"`
}

// Reassign is POST …/{id}/assign: c must be an admin, hold one of the
// rule's Reassigners roles or manage the current owner's team.
func (s *Service) Reassign(ctx context.Context, c records.Caller, app, entity, id string, req ReassignRequest) (*records.Record, *Decision, error) {
	return s.reassign(ctx, c, app, entity, id, req)
}

// Decisions lists the record's assignment log, newest first, as c may see
// it (404 when c may not read the record; candidates' figures only for
// callers who may reassign it).
func (s *Service) Decisions(ctx context.Context, c records.Caller, app, entity, id string) ([]Decision, error) {
	return s.decisions(ctx, c, app, entity, id)
}

// Claim is POST …/{id}/claim: c takes the pooled record. Exactly one of
// several simultaneous claimants wins; the others get 409 already_claimed.
// A caller not eligible for the pool gets 404 (the record does not exist
// for them), one over the daily limit 429 claim_limit.
func (s *Service) Claim(ctx context.Context, c records.Caller, app, entity, id string) (*records.Record, error) {
	return s.claim(ctx, c, app, entity, id)
}

// Tick does what the clock says is due: records left in a pool past its
// deadline go to the rule's strategy. The clock job runs it; tests call
// it after moving the clock.
func (s *Service) Tick(ctx context.Context) error { return s.poolTick(ctx) }

// AssignAction is an automation's assign action (automation.Assigner).
func (s *Service) AssignAction(ctx context.Context, c records.Caller, app *schema.App, rule, id string, reassign bool) (string, bool, error) {
	return s.assignAction(ctx, c, app, rule, id, reassign)
}

// PreviewAction is an automation's dry run of an assign action.
func (s *Service) PreviewAction(ctx context.Context, app *schema.App, rule, id string, reassign bool) (map[string]any, error) {
	return s.previewAction(ctx, app, rule, id, reassign)
}
