package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/oklog/ulid/v2"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Limits of saved views.
const (
	MaxViewBytes     = 64 << 10 // one view's body
	MaxViewsPerOwner = 100      // personal views of one user on one entity
)

// ViewKinds are the layouts a saved view may have.
var ViewKinds = []string{"list", "kanban", "calendar"}

// viewRoutes are the saved views of an entity's list. They are registered
// before the record routes, whose /:id would take "views".
func (s *Server) viewRoutes(data fiber.Router) {
	data.Get("/:app/:entity/views", s.listViews)
	data.Post("/:app/:entity/views", s.createView)
	data.Patch("/:app/:entity/views/:id", s.patchView)
	data.Delete("/:app/:entity/views/:id", s.deleteView)
}

// viewBody is what POST and PATCH take. On PATCH every key is optional
// but version.
type viewBody struct {
	Name     *string           `json:"name"`
	Labels   map[string]string `json:"labels"`
	Kind     *string           `json:"kind"`
	Filter   *string           `json:"filter"`
	Sort     *string           `json:"sort"`
	Columns  []string          `json:"columns"`
	Options  json.RawMessage   `json:"options"`
	Roles    []string          `json:"roles"`
	Position *int              `json:"position"`
	Version  *int64            `json:"version"`
}

// canSee reports whether the caller sees view v: their own, or shared with
// one of their roles (the admin sees every shared view).
func canSee(c records.Caller, v *store.View) bool {
	if v.Owner == c.UserID {
		return true
	}
	if len(v.Roles) == 0 {
		return false
	}
	if c.Admin {
		return true
	}
	for _, r := range c.Roles {
		if slices.Contains(v.Roles, r) {
			return true
		}
	}
	return false
}

// canChange: the owner changes their own views; a shared view is the
// admins'.
func canChange(c records.Caller, v *store.View) bool {
	return v.Owner == c.UserID || (c.Admin && len(v.Roles) > 0)
}

func (s *Server) listViews(c *fiber.Ctx) error {
	cl := caller(c)
	app, entity := c.Params("app"), c.Params("entity")
	// The caller must be able to list the entity: the same 404/403 as the list.
	if _, err := s.Records.CheckView(c.UserContext(), cl, app, entity, records.ViewQuery{}); err != nil {
		return err
	}
	vs, err := s.DB.Views(c.UserContext(), app, entity)
	if err != nil {
		return err
	}
	out := []viewOut{}
	for i := range vs {
		if !canSee(cl, &vs[i]) {
			continue
		}
		probs, err := s.viewProblems(c, cl, &vs[i])
		if err != nil {
			return err
		}
		out = append(out, viewOut{View: vs[i], Problems: probs})
	}
	return c.JSON(fiber.Map{"items": out})
}

// viewOut is a saved view as listed, flagged with what in it no longer
// applies: a publish carries renames into views (store.carryViews), but a
// removed field (or one the caller may no longer see) stays named in the
// view. The problems (at /filter, /sort, /columns/i, /options/by) let the
// UI open the view without those parts instead of failing.
type viewOut struct {
	store.View
	Problems schema.Problems `json:"problems,omitempty"`
}

// viewProblems checks a stored view as the list would run it for cl.
func (s *Server) viewProblems(c *fiber.Ctx, cl records.Caller, v *store.View) (schema.Problems, error) {
	cols := v.Columns
	var opts struct {
		By string `json:"by"`
	}
	_ = json.Unmarshal(v.Options, &opts)
	if opts.By != "" {
		cols = append(slices.Clip(cols), opts.By)
	}
	probs, err := s.Records.CheckView(c.UserContext(), cl, v.App, v.Entity, records.ViewQuery{Filter: v.Filter, Sort: v.Sort, Columns: cols})
	if err != nil {
		return nil, err
	}
	for i := range probs {
		if opts.By != "" && probs[i].Path == "/columns/"+strconv.Itoa(len(cols)-1) {
			probs[i].Path = "/options/by"
		}
	}
	return probs, nil
}

// checkViewBody validates a view as it will be stored, under the caller's
// rules; problems are answered as a 422.
func (s *Server) checkViewBody(c *fiber.Ctx, v *store.View, doc *schema.App) error {
	var probs schema.Problems
	add := func(path, code, format string, args ...any) {
		probs = append(probs, schema.Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(v.Name)); n == 0 || n > 100 {
		add("/name", "required", "a view needs a name of 1 to 100 characters")
	}
	if len(v.Labels) > 20 {
		add("/labels", "max_items", "at most 20 labels")
	}
	for k, l := range v.Labels {
		if len(k) > 20 || utf8.RuneCountInString(l) > 100 {
			add("/labels", "max_length", "labels are at most 100 characters, language tags at most 20")
			break
		}
	}
	if !slices.Contains(ViewKinds, v.Kind) {
		add("/kind", "option", "kind must be one of %s", strings.Join(ViewKinds, ", "))
	}
	if len(v.Filter) > 4096 {
		add("/filter", "max_length", "a filter is at most 4096 bytes")
	}
	if len(v.Sort) > 1000 {
		add("/sort", "max_length", "a sort is at most 1000 bytes")
	}
	if len(v.Columns) > 100 {
		add("/columns", "max_items", "at most 100 columns")
	}
	if len(v.Options) > 0 {
		var m map[string]any
		if json.Unmarshal(v.Options, &m) != nil || m == nil {
			add("/options", "type", "options must be a JSON object")
		}
	}
	if len(v.Roles) > 0 {
		if !user(c).Admin {
			add("/roles", "forbidden", "only an admin may share a view with roles")
		}
		eff := doc.EffectiveRoles()
		for i, r := range v.Roles {
			if eff[r] == nil {
				add("/roles/"+strconv.Itoa(i), "unknown_role", "app %s has no role %q", doc.Name, r)
			}
		}
	}
	if len(probs) > 0 {
		return &Error{Status: 422, Code: "validation_failed", Message: "the view is not valid", Details: probs}
	}
	// The query as the creator may run it.
	qp, err := s.Records.CheckView(c.UserContext(), caller(c), v.App, v.Entity,
		records.ViewQuery{Filter: v.Filter, Sort: v.Sort, Columns: v.Columns})
	if err != nil {
		return err
	}
	if len(qp) > 0 {
		return &Error{Status: 422, Code: "validation_failed", Message: "the view is not valid", Details: qp}
	}
	return nil
}

func (s *Server) readViewBody(c *fiber.Ctx) (*viewBody, error) {
	if len(c.Body()) > MaxViewBytes {
		return nil, apiError(413, "payload_too_large", "a view may be at most %d bytes", MaxViewBytes)
	}
	var in viewBody
	if err := decodeStrict(c.Body(), &in); err != nil {
		return nil, err
	}
	return &in, nil
}

func (s *Server) createView(c *fiber.Ctx) error {
	in, err := s.readViewBody(c)
	if err != nil {
		return err
	}
	app, entity := c.Params("app"), c.Params("entity")
	doc, err := s.memberApp(c)
	if err != nil {
		return err
	}
	if in.Version != nil {
		return &Error{Status: 422, Code: "validation_failed", Message: "a new view has no version",
			Details: schema.Problems{{Path: "/version", Code: "read_only", Message: "version is set by the server"}}}
	}
	now := s.now()
	v := &store.View{ID: strings.ToLower(ulid.Make().String()), App: app, Entity: entity, Owner: user(c).ID,
		Kind: "list", CreatedAt: now, UpdatedAt: now}
	in.applyTo(v)
	if err := s.checkViewBody(c, v, doc); err != nil {
		return err
	}
	all, err := s.DB.Views(c.UserContext(), app, entity)
	if err != nil {
		return err
	}
	mine := 0
	for _, x := range all {
		if x.Owner == v.Owner {
			mine++
		}
	}
	if mine >= MaxViewsPerOwner {
		return apiError(422, "too_many_views", "you have %d views of %s already (at most %d)", mine, entity, MaxViewsPerOwner)
	}
	if err := s.DB.CreateView(c.UserContext(), v); err != nil {
		return err
	}
	return c.Status(201).JSON(v)
}

// viewFor loads a view the caller may see, else 404 (a view they may not
// see does not exist for them).
func (s *Server) viewFor(c *fiber.Ctx) (*store.View, error) {
	v, err := s.DB.View(c.UserContext(), c.Params("app"), c.Params("entity"), c.Params("id"))
	if err != nil {
		return nil, err
	}
	if !canSee(caller(c), v) {
		return nil, store.ErrNotFound
	}
	if !canChange(caller(c), v) {
		return nil, apiError(403, "forbidden", "this view was shared with you by an admin; save a copy to change it")
	}
	return v, nil
}

func (s *Server) patchView(c *fiber.Ctx) error {
	in, err := s.readViewBody(c)
	if err != nil {
		return err
	}
	doc, err := s.memberApp(c)
	if err != nil {
		return err
	}
	v, err := s.viewFor(c)
	if err != nil {
		return err
	}
	if in.Version == nil {
		return &Error{Status: 422, Code: "validation_failed", Message: "the view is not valid",
			Details: schema.Problems{{Path: "/version", Code: "required", Params: map[string]any{"field": "version"},
				Message: "version is required: send the version you read"}}}
	}
	in.applyTo(v)
	if err := s.checkViewBody(c, v, doc); err != nil {
		return err
	}
	v.UpdatedAt = s.now()
	if err := s.DB.UpdateView(c.UserContext(), v, *in.Version); err != nil {
		if errors.Is(err, store.ErrViewStale) {
			return apiError(409, "version_conflict", "the view was changed since you read it; reload it and try again")
		}
		return err
	}
	return c.JSON(v)
}

func (s *Server) deleteView(c *fiber.Ctx) error {
	if _, err := s.memberApp(c); err != nil {
		return err
	}
	v, err := s.viewFor(c)
	if err != nil {
		return err
	}
	if err := s.DB.DeleteView(c.UserContext(), v.App, v.Entity, v.ID); err != nil {
		return err
	}
	return c.SendStatus(204)
}

// applyTo sets on v what the body gives, leaving the rest as it is: a
// create starts from a new view, a patch from the stored one.
func (in *viewBody) applyTo(v *store.View) {
	if in.Name != nil {
		v.Name = *in.Name
	}
	if in.Labels != nil {
		v.Labels = in.Labels
	}
	if in.Kind != nil {
		v.Kind = *in.Kind
	}
	if in.Filter != nil {
		v.Filter = *in.Filter
	}
	if in.Sort != nil {
		v.Sort = *in.Sort
	}
	if in.Columns != nil {
		v.Columns = in.Columns
	}
	if in.Options != nil {
		v.Options = in.Options
	}
	if in.Roles != nil {
		v.Roles = in.Roles
	}
	if in.Position != nil {
		v.Position = *in.Position
	}
}
