// Package api serves Forma's REST API with fiber: authentication, metadata
// (apps, versions, OpenAPI) and records. Handlers are thin: they parse the
// request, call the engine and write the answer or the error shape of
// DESIGN.md.
package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
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
)

// Limits on requests.
const (
	MaxBodyBytes   = 8 << 20  // app documents
	MaxRecordBytes = 1 << 20  // one record
	MaxHeaderBytes = 32 << 10 // request line and headers
)

// Server holds what the handlers need.
type Server struct {
	DB      *store.DB
	Catalog *store.Catalog
	Access  *access.Service
	Records *records.Service
	Log     *slog.Logger
	// ScriptLog holds the console lines and failures of app scripts.
	ScriptLog *scriptlog.Log
	// Jobs is the durable job queue (the admin's jobs routes); nil: none.
	Jobs *jobs.Queue
	// MetricsToken, when set, lets a scraper read /metrics with
	// "Authorization: Bearer <MetricsToken>" (metrics.go); admins always may.
	MetricsToken string
	metrics      *httpMetrics
	// UI is the built web UI served at every path outside /api (nil: none).
	UI fs.FS
	// ReadTimeout bounds the reading of a request's headers, and with the
	// body's length its body (edge.go); 0 is DefaultReadTimeout.
	ReadTimeout time.Duration
	// Query answers dashboards and ad-hoc queries (nil: built by New).
	Query *query.Engine
	// Notify keeps users' in-app notifications (nil: built by New).
	Notify *notify.Service
	// Webhooks keeps the apps' webhook secrets and allowances (nil: built
	// by New; the engine passes the one its automations deliver with).
	Webhooks *webhook.Service
	// Automations checks apps' automations when they are applied and
	// serves their run log, dry run and variant report (nil: none).
	Automations *automation.Service
	// Flows takes transitions and serves approvals (nil: none).
	Flows *flow.Service
	// Assign runs assignment rules: manual reassignment, claims, pools,
	// the decision log and previews (nil: none).
	Assign *assign.Service
	// Files stores uploads for file fields (nil: none).
	Files *files.Service
	// Plugins installs, configures and runs connector plugins.
	Plugins *plugin.Service
	// Bulk runs imports, exports and duplicate checks (nil: none).
	Bulk *bulk.Service
	// Templates are the templates the gallery offers (nil: none; the
	// engine passes the built-in ones, templates.FS, as it passes the UI).
	Templates fs.FS

	openapiMu    sync.Mutex
	openapiCache map[string][]byte // app\x00version → document
}

// New builds the fiber app with every route.
func (s *Server) New() *fiber.App {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	s.openapiCache = map[string][]byte{}
	app := fiber.New(fiber.Config{
		BodyLimit:             MaxBodyBytes,
		ErrorHandler:          s.errorHandler,
		DisableStartupMessage: true,
		AppName:               "forma",
		// The request line carries filters (up to 4 KiB, three times that
		// once URL-encoded) and cursors (up to 8 KiB): fasthttp's default
		// 4 KiB header buffer would refuse long but valid lists.
		ReadBufferSize: MaxHeaderBytes,
		// Handlers keep app and entity names in caches; fiber would otherwise
		// hand out strings backed by a reused request buffer.
		Immutable:    true,
		ReadTimeout:  cmp.Or(s.ReadTimeout, DefaultReadTimeout),
		WriteTimeout: DefaultWriteTimeout,
		IdleTimeout:  DefaultIdleTimeout,
	})
	s.harden(app)
	metrics := s.initMetrics() // metrics.go
	app.Use(s.countRequests)   // first, so it counts every answer
	app.Use(guardEdge)
	app.Get("/metrics", metrics...)
	app.Get("/api/health", func(c *fiber.Ctx) error {
		return c.JSON(fiber.Map{"status": "ok"})
	})
	s.userRoutes(app) // users.go; before the /api/auth group's requireUser

	auth := app.Group("/api/auth")
	auth.Post("/login", s.login)
	auth.Post("/setup", s.setup)
	authed := auth.Group("", s.requireUser)
	authed.Post("/logout", s.logout)
	authed.Get("/me", s.me)
	authed.Get("/tokens", s.listTokens)
	authed.Post("/tokens", s.createToken)
	authed.Delete("/tokens/:id", s.revokeToken)

	meta := app.Group("/api/meta", s.requireUser)
	meta.Get("/apps", s.listApps)
	meta.Post("/apps", s.requireAdmin, s.applyApp)
	meta.Get("/apps/:app", s.getApp)
	meta.Get("/apps/:app/versions", s.listVersions)
	meta.Get("/apps/:app/versions/:version", s.getVersion)
	meta.Get("/apps/:app/openapi.json", s.openAPI)
	meta.Get("/apps/:app/scripts/log", s.requireAdmin, s.listScriptLog)
	meta.Delete("/apps/:app/scripts/log", s.requireAdmin, s.clearScriptLog)
	meta.Post("/apps/:app/scripts/test", s.requireAdmin, s.testScript)
	// exprcheck.go: the formula and filter editors' live check
	meta.Post("/apps/:app/expressions/check", s.checkExpression)
	s.designRoutes(meta)       // design.go: names, drafts
	s.indexRoutes(meta)        // advice.go
	s.webhookRoutes(meta, app) // webhooks.go
	s.automationRoutes(meta)   // automations.go
	s.pluginRoutes(app, meta)  // plugins.go: /api/admin/plugins…, …/{app}/plugins…, …/{app}/connectors…
	s.templateRoutes(meta)     // templates.go: /api/meta/templates…, …/apps/{app}/template

	// The list, the most frequent read, confirms a cached authentication
	// in its own statement (data.go): registered before the /api/data
	// group, whose requireUser would read the auth epoch on its own first.
	// No other GET under /api/data has two segments.
	app.Get("/api/data/:app/:entity", s.requireCachedUser, s.listRecords)
	data := app.Group("/api/data", s.requireUser)
	s.viewRoutes(data)      // views.go; before /:id, which would take "views"
	s.bulkRoutes(data)      // bulk.go; before /:id, which would take "bulk"
	s.importRoutes(data)    // imports.go: …/{entity}/imports[/{id}[/errors.csv]], …/imports/preview
	s.exportRoutes(data)    // export.go: …/{entity}/export
	s.duplicateRoutes(data) // duplicates.go: …/{entity}/duplicates, …/{id}/duplicates, …/{id}/merge
	data.Post("/:app/:entity", s.createRecord)
	data.Get("/:app/:entity/:id", s.getRecord)
	data.Patch("/:app/:entity/:id", s.patchRecord)
	data.Delete("/:app/:entity/:id", s.deleteRecord)
	data.Get("/:app/:entity/:id/history", s.recordHistory)
	s.flowRoutes(data)   // flows.go
	s.assignRoutes(data) // assign.go: …/{id}/assign, …/{id}/assignments
	s.poolRoutes(data)   // pools.go: …/{id}/claim

	app.Get("/api/admin/audit", s.requireUser, s.requireAdmin, s.listAudit)
	s.jobRoutes(app) // jobs.go
	app.Get("/api/directory/users", s.requireUser, s.listDirectory)
	s.dashRoutes(app)         // dash.go
	s.notificationRoutes(app) // notifications.go
	s.approvalRoutes(app)     // approvals.go
	s.fileRoutes(app)         // files.go
	s.assignMetaRoutes(app)   // assign.go: previews, variant reports
	s.meRoutes(app)           // pools.go: /api/me/pools, /api/me/availability
	s.inboundRoutes(app)      // inbound.go: POST /api/in/{app}/{endpoint}, no session

	app.Use("/api", func(c *fiber.Ctx) error {
		return apiError(404, "not_found", "no such API route: %s %s", c.Method(), c.Path())
	})
	if s.UI != nil {
		serveUI(app, s.UI)
	}
	return app
}

// Error is an API error in the shape of DESIGN.md.
type Error struct {
	Status  int              `json:"-"`
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Details []schema.Problem `json:"details,omitempty"`
	// Script names the script that refused or failed, with its line.
	Script *records.ScriptFault `json:"script,omitempty"`
}

func (e *Error) Error() string { return e.Message }

func apiError(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

var fiberCodes = map[int]string{
	400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
	405: "method_not_allowed", 408: "request_timeout", 409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type",
	422: "validation_failed", 429: "too_many_requests", 431: "headers_too_large",
}

// errorHandler writes every error as {"error": {...}} with its status.
// Unexpected errors are logged and answered with a generic 500, so internals
// (SQL, paths) never reach the caller.
func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	e := toAPIError(err)
	if e.Code == "payload_too_large" && strings.TrimSuffix(c.Path(), "/") == UploadPath {
		// fasthttp refused the upload from its length (files.go).
		e = apiError(413, files.CodeTooLarge, "the file is larger than any app allows (%d MB)", files.MaxMB)
	} else if e.Code == "payload_too_large" && strings.TrimSuffix(c.Path(), "/") == PluginsPath {
		e = tooLargePlugin()
	} else if e.Code == "payload_too_large" && strings.HasPrefix(c.Path(), InboundPrefix) {
		inboundCORS(c) // a website's script reads the answer
		e = apiError(413, "payload_too_large", "a submission may be at most %d KiB", MaxInboundBytes>>10)
	} else if e.Code == "payload_too_large" && isImportPath(c.Path()) {
		e = apiError(413, "file_too_large", "the file is larger than this app's import limit (settings.maxImportMB)")
	}
	if e.Status >= 500 {
		s.Log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	e = localize(e, readerLanguage(c))
	return c.Status(e.Status).JSON(fiber.Map{"error": e})
}

func toAPIError(err error) *Error {
	var (
		ae  *Error
		re  *records.Error
		fe  *fiber.Error
		ie  *access.InputError
		ref *store.RefusedError
		se  *store.StepError
		ps  schema.Problems
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &re):
		if re.Status >= 500 {
			return apiError(500, "internal", "internal error") // its message may hold SQL
		}
		return &Error{Status: re.Status, Code: re.Code, Message: re.Message, Details: re.Details, Script: re.Script}
	case errors.As(err, &fe):
		code := fiberCodes[fe.Code]
		if code == "" {
			code = "error"
		}
		if fe.Code >= 500 {
			return apiError(500, "internal", "internal error")
		}
		msg := fe.Message
		if fe.Code == 413 {
			msg = "the request body is too large"
		}
		return &Error{Status: fe.Code, Code: code, Message: msg}
	case errors.As(err, &ie):
		return &Error{Status: 422, Code: "validation_failed", Message: ie.Error(),
			Details: []schema.Problem{{Path: "/" + ie.Field, Code: "invalid", Params: map[string]any{"field": ie.Field}, Message: ie.Message}}}
	case errors.As(err, &ps):
		return &Error{Status: 422, Code: "validation_failed", Message: fmt.Sprintf("the app document has %d problem(s)", len(ps)), Details: ps}
	case errors.As(err, &ref):
		return &Error{Status: 422, Code: "migration_refused", Message: "the migration was refused; nothing was changed", Details: ref.Plan.Refused}
	case errors.As(err, &se):
		return &Error{Status: 422, Code: "migration_failed", Message: se.Error() + "; nothing was changed"}
	case errors.Is(err, store.ErrStale):
		return apiError(409, "version_conflict", "%s", err.Error())
	case errors.Is(err, access.ErrUnauthorized):
		return apiError(401, "unauthorized", "missing, expired or revoked token")
	case errors.Is(err, access.ErrThrottled): // the login handler also sets Retry-After
		return apiError(429, "too_many_attempts", "%s", err.Error())
	case errors.Is(err, access.ErrBadCredentials):
		return apiError(401, "bad_credentials", "wrong email or password")
	case errors.Is(err, access.ErrExists):
		return apiError(409, "exists", "%s", err.Error())
	case errors.Is(err, access.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return apiError(404, "not_found", "not found")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apiError(503, "unavailable", "the request was cancelled or timed out")
	}
	return apiError(500, "internal", "internal error")
}

// boolParam reads a query flag: absent, "", "0", "false" are false; "1",
// "true" are true; anything else is a 400.
func boolParam(c *fiber.Ctx, name string) (bool, error) {
	v := c.Query(name)
	switch strings.ToLower(v) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, apiError(400, "invalid_query", "%s must be 1 or 0, not %q", name, v)
}

func intParam(c *fiber.Ctx, name string) (int, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, apiError(400, "invalid_query", "%s must be a whole number, not %q", name, v)
	}
	return n, nil
}

// limitParam reads ?limit= for routes that check it themselves: 0 when
// absent, else a whole number from 1 to max (400 otherwise).
func limitParam(c *fiber.Ctx, max int) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, apiError(400, "invalid_query", "limit must be a whole number between 1 and %d, not %q", max, v)
	}
	return n, nil
}

// sendJSON writes pre-encoded JSON.
func sendJSON(c *fiber.Ctx, status int, body []byte) error {
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(body)
}
