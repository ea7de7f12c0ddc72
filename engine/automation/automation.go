// Package automation runs an app's automations: it watches record events
// (and the clock, for timers and schedules), checks each automation's
// trigger and condition, and runs its actions as durable jobs — writing
// only through the records service, with path "automation".
//
// The pieces, by file:
//   - automation.go: the Service and the Start contract every trigger uses.
//   - events.go, condition.go: event triggers (created, updated,
//     fieldChanged, deleted, transition) and conditions.
//   - runs.go, actions.go: runs, their step jobs, idempotency, the run log.
//   - timers.go, schedules.go: timer and schedule triggers on the clock.
//   - check.go: what is refused when an app is applied.
package automation

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/webhook"
	"github.com/formaapp/forma/schema"
)

// MaxDepth is how many automation writes may lead to one another (an
// automation's write triggering an automation whose write triggers …)
// before the next start is refused and logged as a stopped loop.
const MaxDepth = 5

// Start is one occurrence of one automation's trigger for one record. The
// run it begins is keyed by (App, Automation, RecordID, Occurrence):
// starting the same occurrence twice is one run, so a retried trigger
// never runs the actions twice.
type Start struct {
	App        string `json:"app"`
	Version    int    `json:"version"` // the app version whose automation runs
	Automation string `json:"automation"`
	Entity     string `json:"entity"`
	RecordID   string `json:"recordId"`
	// Occurrence names the trigger occurrence within (automation, record):
	// "created", "updated@7" (the record's version), "deleted",
	// "timer@2026-03-05T09:00:00Z" (the firing time),
	// "schedule@2026-03-09T01:00:00Z" (the cron slot, UTC).
	Occurrence string `json:"occurrence"`
	// CheckCondition makes the run check the automation's condition on
	// the record as it is when the run starts (timers and schedules); event
	// triggers check it inside the write's transaction instead.
	CheckCondition bool `json:"checkCondition,omitempty"`
	// Depth counts the automation writes that led to this start (0 for a
	// person's write or the clock).
	Depth int `json:"depth,omitempty"`
	// Parent is the run whose action's write made this start (event
	// triggers), so a stopped loop can show its chain.
	Parent string `json:"parent,omitempty"`
	// Previous is the record before the write, in the API's form (event
	// triggers of updates and deletes): what webhooks send as previous.
	Previous json.RawMessage `json:"previous,omitempty"`
}

// Service runs automations. Create it with New, call Register before the
// job queue starts.
type Service struct {
	db      *store.DB
	catalog *store.Catalog
	records *records.Service
	access  *access.Service
	jobs    *jobs.Queue
	log     *slog.Logger
	// start is StartTx; tests of one trigger replace it to see the starts
	// their trigger makes.
	start func(ctx context.Context, tx store.Conn, st Start) error

	notify   *notify.Service // notify actions (wired by the engine)
	webhooks Webhooks        // webhook actions (engine/webhook, wired by the engine)
	assigner Assigner        // assign actions (engine/assign, wired by the engine)
	plugins  Plugins         // plugin actions (engine/plugin, wired by the engine)
	exprs    exprs
}

// User is a recipient as the dry run shows it.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Webhooks delivers webhook actions: engine/webhook's Service (an
// interface so the engine's tests may stand in a failing receiver).
type Webhooks interface {
	AllowsPrivate(ctx context.Context, app string) (bool, error)
	// Deliver POSTs d, signed; err != nil for a non-2xx or a network failure.
	Deliver(ctx context.Context, d webhook.Delivery) (webhook.Result, error)
}

// Assigner runs assign actions: engine/assign's rules (an interface, as
// engine/assign sits beside this package, not below it).
type Assigner interface {
	// AssignAction assigns the record id by rule as c (c's Path and Step
	// carry into the write, whose event then marks the step done: wrote
	// says whether it wrote), to someone other than the owner when
	// reassign; detail says what it decided, for the run log.
	AssignAction(ctx context.Context, c records.Caller, app *schema.App, rule, id string, reassign bool) (detail string, wrote bool, err error)
	// PreviewAction says what AssignAction would decide, writing nothing.
	PreviewAction(ctx context.Context, app *schema.App, rule, id string, reassign bool) (map[string]any, error)
}

// UseAssigner makes assign actions assign through a.
func (s *Service) UseAssigner(a Assigner) { s.assigner = a }

// Plugins runs plugin actions (engine/plugin implements it).
type Plugins interface {
	// Call runs plugin's action in app with input; meta says which
	// automation asks. A *plugin.Error with Retry false is permanent.
	Call(ctx context.Context, app, plugin, action string, input map[string]any, meta PluginCall) (map[string]any, error)
}

// PluginCall says which automation step calls a plugin.
type PluginCall struct {
	Automation string
	Key        string // the step's idempotency key
}

// UsePlugins makes plugin actions run through p.
func (s *Service) UsePlugins(p Plugins) { s.plugins = p }

// UseNotify makes notify actions store notifications through n.
func (s *Service) UseNotify(n *notify.Service) { s.notify = n }

// UseWebhooks makes webhook actions deliver through w.
func (s *Service) UseWebhooks(w Webhooks) { s.webhooks = w }

// New returns the automation service over the engine's services.
func New(db *store.DB, cat *store.Catalog, recs *records.Service, acc *access.Service, q *jobs.Queue, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{db: db, catalog: cat, records: recs, access: acc, jobs: q, log: log}
	s.start = s.StartTx
	return s
}

// Register subscribes to record events and registers the job kinds on the
// queue (before it starts).
func (s *Service) Register(ctx context.Context) error {
	if err := s.registerRuns(ctx); err != nil {
		return err
	}
	return s.registerTimers(ctx)
}
