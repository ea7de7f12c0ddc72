// Package engine wires Forma's runtime together: storage, the metadata
// catalog, authentication, records and the HTTP API. The CLI and tests open
// an Engine and serve its Handler.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/gofiber/fiber/v2"

	builderui "github.com/formaapp/forma/builder-ui"
	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/assign"
	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/bulk"
	"github.com/formaapp/forma/engine/files"
	"github.com/formaapp/forma/engine/flow"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/query"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/scriptlog"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/webhook"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// Config says where the data lives and how the engine behaves.
type Config struct {
	DataDir string // SQLite folder when DBURL is empty (default ./forma_data)
	DBURL   string // postgres://… for PostgreSQL
	Access  access.Options
	// MetricsToken lets a scraper read /metrics with this bearer token
	// (admins always may); "" for none.
	MetricsToken string
	// FilesURL is the gocloud.dev/blob bucket uploads are kept in
	// (file:///path, s3://bucket?region=…&endpoint=…); "" is DataDir/files.
	FilesURL string
	// Jobs configures the durable job queue (workers, rescue timeout…).
	Jobs jobs.Options
	// Plugins configures connector plugins: the secrets key, trusted
	// signing keys, the built-ins (cmd/forma hands in plugins.FS).
	Plugins plugin.Options
	Log     *slog.Logger
}

// Engine is an open Forma runtime.
type Engine struct {
	DB      *store.DB
	Catalog *store.Catalog
	Access  *access.Service
	Records *records.Service
	// ScriptLog is where app scripts' console lines and failures go.
	ScriptLog *scriptlog.Log
	// Jobs is the durable job queue; its workers run once Start is called
	// (forma serve), while every command may enqueue.
	Jobs *jobs.Queue
	// Notify keeps in-app notifications; Automations runs the apps'
	// automations (subscribed to record events, step jobs registered).
	Notify       *notify.Service
	Webhooks     *webhook.Service
	Automations  *automation.Service
	Flows        *flow.Service
	Assign       *assign.Service
	Bulk         *bulk.Service
	Files        *files.Service
	Plugins      *plugin.Service
	log          *slog.Logger
	metricsToken string
}

// Open opens (and if needed creates) the database and the services on it.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	db, err := store.Open(ctx, cfg.DBURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	acc, err := access.New(ctx, db, cfg.Access)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	cat := store.NewCatalog(db)
	scripts := scriptlog.New(db, 0)
	recs := records.New(db, cat)
	recs.SetScriptLog(scripts)
	if cfg.Jobs.Log == nil {
		cfg.Jobs.Log = cfg.Log
	}
	q, err := jobs.New(ctx, db, cfg.Jobs)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	if err := recs.UseJobs(q); err != nil {
		q.Stop(ctx)
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	// Automations subscribe to record events and register their job
	// kinds before the queue starts.
	notes := notify.New(db, acc)
	autos := automation.New(db, cat, recs, acc, q, cfg.Log)
	autos.UseNotify(notes)
	hooks := webhook.New(db)
	if err := hooks.Migrate(ctx); err != nil {
		q.Stop(ctx)
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	autos.UseWebhooks(hooks)
	if err := autos.Register(ctx); err != nil {
		q.Stop(ctx)
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	flows := flow.New(db, cat, recs, acc, q, cfg.Log)
	flows.UseNotify(notes)
	flows.UseAutomations(autos)
	if err := flows.Register(ctx); err != nil {
		q.Stop(ctx)
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	// Assignment rules: the assign action of automations, pools, the
	// pool-deadline clock job.
	assigner := assign.New(db, cat, recs, acc, q, cfg.Log)
	assigner.UseNotify(notes)
	autos.UseAssigner(assigner)
	if err := assigner.Register(ctx); err != nil {
		q.Stop(ctx)
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	// Imports (a job kind), exports and duplicate checks.
	bulkSvc := bulk.New(db, cat, recs, acc, q, cfg.Log)
	if err := bulkSvc.Register(ctx); err != nil {
		q.Stop(ctx)
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	// Uploads for file fields; its collector removes the files no record
	// references once their grace period is over.
	fileStore, err := files.New(db, cat, recs, cfg.FilesURL, cfg.DataDir, cfg.Log)
	if err == nil {
		err = fileStore.Register(q)
	}
	if err != nil {
		q.Stop(ctx)
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	bulkSvc.UseTemp(fileStore) // an import's upload waits in the files bucket
	// Connector plugins: plugin actions of automations, inbound endpoints.
	if cfg.Plugins.KeyFile == "" {
		dir := cfg.DataDir
		if dir == "" {
			dir = "forma_data"
		}
		cfg.Plugins.KeyFile = filepath.Join(dir, "secret.key")
	}
	plugs, err := plugin.New(ctx, db, cat, recs, q, cfg.Plugins, cfg.Log)
	if err != nil {
		q.Stop(ctx)
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	autos.UsePlugins(pluginActions{plugs})
	return &Engine{Plugins: plugs, DB: db, Catalog: cat, Access: acc, Records: recs, ScriptLog: scripts, Jobs: q, Notify: notes, Webhooks: hooks, Automations: autos, Flows: flows, Assign: assigner, Bulk: bulkSvc, Files: fileStore,
		log: cfg.Log, metricsToken: cfg.MetricsToken}, nil
}

// pluginActions lets automations call plugin actions.
type pluginActions struct{ p *plugin.Service }

func (a pluginActions) Call(ctx context.Context, app, name, action string, input map[string]any, meta automation.PluginCall) (map[string]any, error) {
	return a.p.Call(ctx, app, name, action, input, plugin.CallMeta{Kind: "action", Automation: meta.Automation, Key: meta.Key})
}

// Check runs every check an app document passes before it is applied
// (`forma app apply`, template installs): role rules, scripts, formulas and
// rules (records, which compiles the logic), dashboard filters (query),
// automations, flows, assignment rules, bulk settings and plugin actions
// and connectors against the installed plugins. app must have passed
// schema.Parse. The problems of every check are gathered, so one run shows
// them all.
func (e *Engine) Check(ctx context.Context, app *schema.App) schema.Problems {
	p := e.Records.CheckApp(app)
	// Only the filter check of the query engine is used: no cache or
	// watcher is started.
	p = append(p, query.New(e.DB, e.Records, e.Catalog).CheckApp(app)...)
	p = append(p, e.Automations.CheckApp(ctx, app)...)
	p = append(p, e.Flows.CheckApp(ctx, app)...)
	p = append(p, e.Assign.CheckApp(ctx, app)...)
	p = append(p, e.Bulk.CheckApp(ctx, app)...)
	p = append(p, e.Plugins.CheckApp(ctx, app)...)
	return p
}

// Start runs the job workers (forma serve). Register extra job kinds
// (jobs.Register on e.Jobs) before it.
func (e *Engine) Start(ctx context.Context) error { return e.Jobs.Start(ctx) }

// Handler returns the HTTP application serving the REST API.
func (e *Engine) Handler() *fiber.App {
	s := &api.Server{DB: e.DB, Catalog: e.Catalog, Access: e.Access, Records: e.Records, Log: e.log, ScriptLog: e.ScriptLog, Jobs: e.Jobs, MetricsToken: e.metricsToken, UI: builderui.FS(), Templates: templates.FS(),
		Notify: e.Notify, Webhooks: e.Webhooks, Automations: e.Automations, Flows: e.Flows, Assign: e.Assign, Bulk: e.Bulk, Files: e.Files, Plugins: e.Plugins}
	return s.New()
}

// Close stops the job workers, letting running jobs finish for up to 10
// seconds (those still running then are cancelled and rescued later), and
// releases the database.
func (e *Engine) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	jerr := e.Jobs.Stop(ctx)
	ferr := e.Files.Close()
	// The index advisor's gathered list shapes go to the shared table.
	aerr := e.Records.FlushAdvice(ctx)
	if err := e.DB.Close(); err != nil {
		return err
	}
	return errors.Join(jerr, ferr, aerr)
}
