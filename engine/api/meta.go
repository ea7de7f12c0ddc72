package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/openapi"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// listApps lists the installed apps: every one for the admin, for anyone
// else those they are in (records.Member).
func (s *Server) listApps(c *fiber.Ctx) error {
	apps, err := s.DB.Apps(c.UserContext())
	if err != nil {
		return err
	}
	if cl := caller(c); !cl.Admin {
		mine := []store.AppInfo{}
		for _, a := range apps {
			doc, err := s.Catalog.App(c.UserContext(), a.Name)
			if errors.Is(err, store.ErrNotFound) {
				continue // removed meanwhile
			}
			if err != nil {
				return err
			}
			if s.Records.Member(doc, cl) {
				mine = append(mine, a)
			}
		}
		apps = mine
	}
	return c.JSON(fiber.Map{"items": apps})
}

// memberApp returns the current document of the app named in the path, or
// store.ErrNotFound when there is none or the caller is not in it: a user
// with no role in an app gets the very answer of an app that does not
// exist, so the routes tell nothing of other teams' apps.
func (s *Server) memberApp(c *fiber.Ctx) (*schema.App, error) {
	doc, err := s.DB.Document(c.UserContext(), c.Params("app"), 0)
	if err != nil {
		return nil, err
	}
	if !s.Records.Member(doc, caller(c)) {
		return nil, store.ErrNotFound
	}
	return doc, nil
}

// applyApp validates an app document and migrates to it, or with dryRun=1
// only answers the plan. allowDestructive=1 lets drops and lossy conversions
// through (their data is archived).
func (s *Server) applyApp(c *fiber.Ctx) error {
	return s.apply(c, c.Body(), applyFrom{})
}

// apply validates doc and migrates to it, or with dryRun=1 only answers
// the plan; from says whether it is a draft (publishDraft).
func (s *Server) apply(c *fiber.Ctx, doc []byte, from applyFrom) error {
	dry, err := boolParam(c, "dryRun")
	if err != nil {
		return err
	}
	allow, err := boolParam(c, "allowDestructive")
	if err != nil {
		return err
	}
	if from.draft {
		// A draft may leave its app's name out; the path names it.
		var m map[string]json.RawMessage
		if json.Unmarshal(doc, &m) == nil && m != nil {
			m["name"], _ = json.Marshal(from.name)
			m["version"], _ = json.Marshal(from.base)
			doc, _ = json.Marshal(m)
		}
	}
	app, problems, err := s.parseApp(c, doc)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		if !json.Valid(doc) {
			// Not JSON at all: the same answer as a malformed record body,
			// with where the syntax breaks.
			return &Error{Status: 400, Code: "invalid_json", Message: "the app document is not valid JSON", Details: problems}
		}
		return problems
	}
	if problems := s.Records.CheckApp(app); len(problems) > 0 {
		return problems
	}
	if problems := s.Query.CheckApp(app); len(problems) > 0 {
		return problems
	}
	if problems := s.checkAutomations(c.UserContext(), app); len(problems) > 0 {
		return problems
	}
	// The migration and the recomputation of the formulas and rollups it
	// adds or redefines commit together, or not at all.
	plan, _, err := s.Records.Apply(c.UserContext(), app, store.ApplyOptions{
		DryRun: dry, AllowDestructive: allow, AppliedBy: user(c).ID, BaseVersion: app.Version,
	})
	if errors.Is(err, store.ErrStale) {
		return apiError(409, "version_conflict", "app %s was published by someone else after version %d, which this document was edited from; "+
			"reload the current version, bring your changes over and publish again (nothing was changed)", app.Name, app.Version)
	}
	if err != nil {
		return err
	}
	if !dry {
		s.Catalog.Forget(app.Name)
	}
	if !dry && plan.ToVersion != plan.FromVersion {
		s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditAppApply, Target: app.Name,
			Detail: map[string]any{"fromVersion": plan.FromVersion, "toVersion": plan.ToVersion, "destructive": plan.Destructive}})
	}
	if !dry && from.draft {
		if err := s.DB.DeleteDraft(c.UserContext(), from.name, user(c).ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	status := 200
	if !dry && plan.ToVersion != plan.FromVersion {
		status = 201
	}
	return c.Status(status).JSON(fiber.Map{
		"app":     app.Name,
		"version": plan.ToVersion,
		"dryRun":  dry,
		"applied": !dry && plan.ToVersion != plan.FromVersion,
		"plan":    plan,
		// Traps the designer warns of; they do not stop the apply.
		"warnings": nonNil(app.RoleWarnings()),
	})
}

// getApp answers an app's current document: whole for the admin, for a
// member the view of records.DocumentView (no scripts, hooks or role rules,
// nothing hidden from them).
func (s *Server) getApp(c *fiber.Ctx) error {
	doc, err := s.memberApp(c)
	if err != nil {
		return err
	}
	return sendDocument(c, s.Records.DocumentView(doc, doc, caller(c)))
}

// memberVersion is what a member who is not the admin may know of a
// version: when it was applied. The plan (the migration steps, naming every
// field it touched) and who applied it are the admin's.
type memberVersion struct {
	Version   int       `json:"version"`
	AppliedAt time.Time `json:"appliedAt"`
}

func (s *Server) listVersions(c *fiber.Ctx) error {
	if _, err := s.memberApp(c); err != nil {
		return err
	}
	vs, err := s.DB.Versions(c.UserContext(), c.Params("app"))
	if err != nil {
		return err
	}
	if caller(c).Admin {
		return c.JSON(fiber.Map{"items": vs})
	}
	out := make([]memberVersion, len(vs))
	for i, v := range vs {
		out[i] = memberVersion{Version: v.Version, AppliedAt: v.AppliedAt}
	}
	return c.JSON(fiber.Map{"items": out})
}

// getVersion answers one version's document. A member who is not the admin
// sees it filtered by the roles of that version and of the current one
// (records.DocumentView): what is hidden from them today stays hidden in
// every old version.
func (s *Server) getVersion(c *fiber.Ctx) error {
	n, err := strconv.Atoi(c.Params("version"))
	if err != nil || n < 1 {
		return apiError(400, "invalid_query", "version must be a positive whole number")
	}
	current, err := s.memberApp(c)
	if err != nil {
		return err
	}
	doc := current
	if n != current.Version {
		if doc, err = s.DB.Document(c.UserContext(), c.Params("app"), n); err != nil {
			return err
		}
	}
	return sendDocument(c, s.Records.DocumentView(doc, current, caller(c)))
}

// maxOpenAPICache bounds the cached OpenAPI documents (apps × versions ×
// server URLs).
const maxOpenAPICache = 64

// openAPI answers the OpenAPI 3 description of one app's data API, built
// from its current document and cached per version (building and encoding
// it takes milliseconds).
func (s *Server) openAPI(c *fiber.Ctx) error {
	app, err := s.Catalog.App(c.UserContext(), c.Params("app"))
	if err != nil {
		return err
	}
	if !s.Records.Member(app, caller(c)) {
		return store.ErrNotFound // as for an app that does not exist
	}
	u := user(c)
	who := "admin"
	if !u.Admin {
		// A role sees only what it may use: the document depends on the
		// caller's roles, so they are part of the cache key.
		who = "roles:" + strings.Join(u.Roles, ",")
	}
	key := fmt.Sprintf("%s\x00%d\x00%s\x00%s", app.Name, app.Version, c.BaseURL(), who)
	s.openapiMu.Lock()
	body, ok := s.openapiCache[key]
	s.openapiMu.Unlock()
	if !ok {
		opts := openapi.Options{ServerURL: c.BaseURL()}
		if !u.Admin {
			perm := s.Records.Permissions(app, caller(c))
			opts.Entities, opts.Fields = perm.Entity, perm.Field
		}
		doc, err := openapi.Build(app, opts)
		if err != nil {
			return err
		}
		if body, err = openapi.JSON(doc); err != nil {
			return err
		}
		s.openapiMu.Lock()
		if len(s.openapiCache) >= maxOpenAPICache {
			// The key holds the Host header, which the caller chooses:
			// start afresh rather than grow without bound.
			clear(s.openapiCache)
		}
		s.openapiCache[key] = body
		s.openapiMu.Unlock()
	}
	return sendJSON(c, 200, body)
}

// nonNil answers an empty list rather than null.
func nonNil(p schema.Problems) schema.Problems {
	if p == nil {
		return schema.Problems{}
	}
	return p
}

// checkAutomations compiles app's automations (conditions, expressions,
// crons, webhook addresses) and flows (guards, approvers, deadlines), and
// checks its plugin actions and connectors against the installed plugins,
// when the services are there.
func (s *Server) checkAutomations(ctx context.Context, app *schema.App) schema.Problems {
	var p schema.Problems
	if s.Automations != nil {
		p = s.Automations.CheckApp(ctx, app)
	}
	if s.Flows != nil {
		p = append(p, s.Flows.CheckApp(ctx, app)...)
	}
	if s.Assign != nil {
		p = append(p, s.Assign.CheckApp(ctx, app)...)
	}
	if s.Bulk != nil {
		p = append(p, s.Bulk.CheckApp(ctx, app)...)
	}
	if s.Plugins != nil {
		p = append(p, s.Plugins.CheckApp(ctx, app)...)
	}
	return p
}
