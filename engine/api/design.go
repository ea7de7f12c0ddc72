package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// MaxDraftBytes bounds one saved draft: a whole app document in progress.
// The largest templates are well under 1 MiB; an app document may be up to
// MaxBodyBytes, but a draft is saved on every change, so it is kept smaller.
const MaxDraftBytes = 2 << 20

// designRoutes are the designer's: name previews and drafts.
func (s *Server) designRoutes(meta fiber.Router) {
	meta.Get("/names", s.previewName)
	meta.Get("/apps/:app/draft", s.requireAdmin, s.getDraft)
	meta.Put("/apps/:app/draft", s.requireAdmin, s.putDraft)
	meta.Delete("/apps/:app/draft", s.requireAdmin, s.deleteDraft)
	meta.Post("/apps/:app/draft/publish", s.requireAdmin, s.publishDraft)
	meta.Get("/apps/:app/drafts", s.requireAdmin, s.listDrafts)
}

// previewName answers the API name a label gets:
// GET /api/meta/names?label=门店&kind=entity&taken=mendian,dingdan →
// {"name": "mendian_2", "base": "mendian"}. "base" is the name the label
// spells by itself (what the browser's preview shows before collisions);
// "name" is what the server would give it among the taken names.
func (s *Server) previewName(c *fiber.Ctx) error {
	label := c.Query("label")
	kind := c.Query("kind", schema.KindField)
	if !slices.Contains(schema.NameKinds, kind) {
		return apiError(400, "invalid_query", "kind must be one of %s, not %q", strings.Join(schema.NameKinds, ", "), kind)
	}
	if len(label) > 255 {
		return apiError(400, "invalid_query", "label is longer than 255 bytes")
	}
	taken := map[string]bool{}
	if t := c.Query("taken"); t != "" {
		names := strings.Split(t, ",")
		if len(names) > 1000 {
			return apiError(400, "invalid_query", "taken lists more than 1000 names")
		}
		for _, n := range names {
			taken[strings.TrimSpace(n)] = true
		}
	}
	return c.JSON(fiber.Map{
		"base": schema.NameFromLabel(label),
		"name": schema.DeriveName(kind, label, func(n string) bool { return taken[n] }),
	})
}

// parseApp parses an app document for applying it, deriving the names it
// leaves out from labels: an entity or field already published keeps the
// name it was published with (matched by id); a document without an app
// name is a new app, named past the apps there are.
func (s *Server) parseApp(c *fiber.Ctx, doc []byte) (*schema.App, schema.Problems, error) {
	var head struct {
		Name *string `json:"name"`
	}
	_ = json.Unmarshal(doc, &head) // Parse reports what is wrong with it
	var opts schema.DeriveOptions
	if head.Name != nil {
		if schema.ValidName(*head.Name) {
			prev, err := s.DB.Document(c.UserContext(), *head.Name, 0)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, nil, err
			}
			opts.Previous = prev
		}
	} else {
		apps, err := s.DB.Apps(c.UserContext())
		if err != nil {
			return nil, nil, err
		}
		names := map[string]bool{}
		for _, a := range apps {
			names[a.Name] = true
		}
		opts.AppTaken = func(n string) bool { return names[n] }
	}
	app, problems := schema.ParseWith(doc, opts)
	return app, problems, nil
}

// draftAnswer is a draft as the designer reads it.
type draftAnswer struct {
	store.Draft
	Document json.RawMessage `json:"document"`
	// Saved is false when the admin has no draft: Document is then where a
	// new draft starts (the published document, or a blank app).
	Saved bool `json:"saved"`
	// CurrentVersion is the app's published version (0: never published);
	// Stale says the draft's base is behind it, so publishing it is refused.
	CurrentVersion int  `json:"currentVersion"`
	Stale          bool `json:"stale"`
	// Problems are what publishing the document would be refused for now
	// (the document's own problems; the migration's show on a dry run).
	Problems schema.Problems `json:"problems"`
	// Warnings are traps that do not stop publishing (schema.RoleWarnings).
	Warnings schema.Problems `json:"warnings"`
	// RoleDefaults are the scopes the three sales roles grant on an entity
	// (rep own, manager team, executive all): a role written out in the
	// document grants only what it lists, so the designer gives each new
	// entity these rules.
	RoleDefaults map[string]string `json:"roleDefaults"`
}

var roleDefaults = map[string]string{"rep": schema.ScopeOwn, "manager": schema.ScopeTeam, "executive": schema.ScopeAll}

// defaultRoleLabels name the three sales roles in the designer's languages.
var defaultRoleLabels = map[string]struct{ zh, en string }{
	"rep":       {"销售代表", "Sales rep"},
	"manager":   {"销售经理", "Sales manager"},
	"executive": {"销售总监", "Sales executive"},
}

// appName reads and checks the {app} path segment.
func appName(c *fiber.Ctx) (string, error) {
	name := c.Params("app")
	if !schema.ValidName(name) {
		return "", apiError(400, "invalid_path", "%q is not an app name: %s", name, "lowercase letters, digits and underscores, starting with a letter")
	}
	return name, nil
}

// current returns the app's published document, or nil when there is none.
func (s *Server) current(c *fiber.Ctx, name string) (*schema.App, error) {
	doc, err := s.DB.Document(c.UserContext(), name, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return doc, err
}

func (s *Server) getDraft(c *fiber.Ctx) error {
	name, err := appName(c)
	if err != nil {
		return err
	}
	cur, err := s.current(c, name)
	if err != nil {
		return err
	}
	d, err := s.DB.Draft(c.UserContext(), name, user(c).ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return c.JSON(s.draftAnswer(c, startDraft(name, cur, user(c).ID), cur, false))
	case err != nil:
		return err
	}
	return c.JSON(s.draftAnswer(c, d, cur, true))
}

// startDraft is where an admin without a draft starts: the published
// document with the default sales roles written out (so they can be
// edited), or for an app not published yet a blank app with them.
func startDraft(name string, cur *schema.App, userID string) *store.Draft {
	app := &schema.App{Name: name, Entities: []schema.Entity{}}
	base := 0
	if cur != nil {
		cp := *cur
		app, base = &cp, cur.Version
	}
	eff := app.EffectiveRoles()
	roles := slices.Clone(app.Roles)
	for _, rn := range schema.DefaultRoleNames {
		if app.Entities != nil && slices.ContainsFunc(roles, func(r schema.Role) bool { return r.Name == rn }) {
			continue
		}
		r := *eff[rn]
		l := defaultRoleLabels[rn]
		r.Label, r.Labels = l.en, schema.Labels{"en": l.en, "zh-CN": l.zh}
		roles = append(roles, r)
	}
	app.Roles = roles
	app.Version = base
	b, _ := json.Marshal(app)
	return &store.Draft{App: name, UserID: userID, BaseVersion: base, Document: string(b)}
}

func (s *Server) draftAnswer(c *fiber.Ctx, d *store.Draft, cur *schema.App, saved bool) draftAnswer {
	a := draftAnswer{Draft: *d, Document: json.RawMessage(d.Document), Saved: saved, RoleDefaults: roleDefaults}
	if cur != nil {
		a.CurrentVersion = cur.Version
	}
	a.Stale = a.CurrentVersion != d.BaseVersion
	app, probs := schema.ParseWith([]byte(d.Document), schema.DeriveOptions{Previous: cur})
	a.Warnings = schema.Problems{}
	if app != nil {
		probs = append(s.Records.CheckApp(app), s.checkAutomations(c.UserContext(), app)...)
		a.Warnings = nonNil(app.RoleWarnings())
	}
	a.Problems = probs
	if a.Problems == nil {
		a.Problems = schema.Problems{}
	}
	return a
}

// draftBody is what PUT …/draft takes.
type draftBody struct {
	BaseVersion *int            `json:"baseVersion"`
	Document    json.RawMessage `json:"document"`
}

func (s *Server) putDraft(c *fiber.Ctx) error {
	name, err := appName(c)
	if err != nil {
		return err
	}
	body := c.Body()
	if len(body) > MaxDraftBytes {
		return apiError(413, "payload_too_large", "a draft may be at most %d bytes; this one is %d", MaxDraftBytes, len(body))
	}
	var in draftBody
	if err := decodeStrict(body, &in); err != nil {
		return err
	}
	var probs schema.Problems
	if in.BaseVersion == nil {
		probs.Add("", "missing required field \"baseVersion\": the published version this draft starts from (0 for a new app)")
	} else if *in.BaseVersion < 0 {
		probs.Add("/baseVersion", "must be 0 or more, not %d", *in.BaseVersion)
	}
	doc := bytes.TrimSpace(in.Document)
	var head map[string]json.RawMessage
	if len(doc) == 0 || doc[0] != '{' || json.Unmarshal(doc, &head) != nil {
		probs.Add("/document", "must be an app document (a JSON object)")
	} else if raw, ok := head["name"]; ok {
		var n string
		if json.Unmarshal(raw, &n) != nil || n != name {
			probs.Add("/document/name", "the draft of app %s must be named %q (or leave the name out)", name, name)
		}
	}
	if len(probs) > 0 {
		return &Error{Status: 422, Code: "validation_failed", Message: "the draft cannot be saved", Details: probs}
	}
	cur, err := s.current(c, name)
	if err != nil {
		return err
	}
	curVersion := 0
	if cur != nil {
		curVersion = cur.Version
	}
	if *in.BaseVersion > curVersion {
		return &Error{Status: 422, Code: "validation_failed",
			Message: fmt.Sprintf("app %s has no version %d (its current version is %d)", name, *in.BaseVersion, curVersion),
			Details: schema.Problems{{Path: "/baseVersion", Code: "max", Params: map[string]any{"limit": curVersion}, Message: fmt.Sprintf("at most %d", curVersion)}}}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, doc); err != nil {
		return apiError(400, "invalid_json", "the draft's document is not valid JSON: %v", err)
	}
	d := store.Draft{App: name, UserID: user(c).ID, BaseVersion: *in.BaseVersion, Document: compact.String(),
		UpdatedAt: s.now()}
	if err := s.DB.SaveDraft(c.UserContext(), d); err != nil {
		return err
	}
	return c.JSON(s.draftAnswer(c, &d, cur, true))
}

func (s *Server) deleteDraft(c *fiber.Ctx) error {
	name, err := appName(c)
	if err != nil {
		return err
	}
	if err := s.DB.DeleteDraft(c.UserContext(), name, user(c).ID); err != nil {
		return err
	}
	return c.SendStatus(204)
}

// draftInfo is another admin's draft as the list shows it.
type draftInfo struct {
	store.Draft
	Mine  bool   `json:"mine"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Stale bool   `json:"stale"`
}

// listDrafts shows every admin's draft of an app, so two admins editing it
// know of each other; each draft's document is read with GET …/draft by
// its admin.
func (s *Server) listDrafts(c *fiber.Ctx) error {
	name, err := appName(c)
	if err != nil {
		return err
	}
	cur, err := s.current(c, name)
	if err != nil {
		return err
	}
	ds, err := s.DB.Drafts(c.UserContext(), name)
	if err != nil {
		return err
	}
	out := make([]draftInfo, len(ds))
	for i, d := range ds {
		out[i] = draftInfo{Draft: d, Mine: d.UserID == user(c).ID, Stale: cur == nil && d.BaseVersion != 0 || cur != nil && cur.Version != d.BaseVersion}
		if u, err := s.Access.UserByID(c.UserContext(), d.UserID); err == nil {
			out[i].Email, out[i].Name = u.Email, u.Name
		}
	}
	return c.JSON(fiber.Map{"items": out})
}

// publishDraft applies the caller's draft as the next version
// (?dryRun=1: only the plan), refusing with a 409 when the app was
// published since the draft's base version. The draft is removed once
// published.
func (s *Server) publishDraft(c *fiber.Ctx) error {
	name, err := appName(c)
	if err != nil {
		return err
	}
	d, err := s.DB.Draft(c.UserContext(), name, user(c).ID)
	if errors.Is(err, store.ErrNotFound) {
		return apiError(404, "not_found", "you have no draft of app %s to publish", name)
	}
	if err != nil {
		return err
	}
	cur, err := s.current(c, name)
	if err != nil {
		return err
	}
	if curV := currentVersion(cur); curV != d.BaseVersion {
		return apiError(409, "version_conflict",
			"app %s was published as version %d after this draft was started from version %d; "+
				"open version %d, bring your changes over and publish again (nothing was changed)", name, curV, d.BaseVersion, curV)
	}
	return s.apply(c, []byte(d.Document), applyFrom{name: name, base: d.BaseVersion, draft: true})
}

func currentVersion(a *schema.App) int {
	if a == nil {
		return 0
	}
	return a.Version
}

// applyFrom says where a document to apply comes from: a draft of app name
// started from version base.
type applyFrom struct {
	name  string
	base  int
	draft bool
}

// now stamps drafts; it decides nothing.
func (s *Server) now() time.Time { return time.Now().UTC() }

// sendDocument answers an app document with, beside it, the system fields
// every entity has and their labels ("systemFields"), which the UI shows in
// lists and filters. The key is not part of the document: a document read
// and sent back is refused for it, so the designer drops it (as "version"
// is ignored).
func sendDocument(c *fiber.Ctx, app *schema.App) error {
	b, err := json.Marshal(app)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	m["systemFields"], _ = json.Marshal(schema.SystemFields())
	return c.JSON(m)
}
