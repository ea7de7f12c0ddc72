package api

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/assign"
	"github.com/formaapp/forma/schema"
)

// assignRoutes serves a manager's reassignment (POST …/{id}/assign) and a
// record's assignment log (GET …/{id}/assignments).
func (s *Server) assignRoutes(data fiber.Router) {
	if s.Assign == nil {
		return
	}
	data.Post("/:app/:entity/:id/assign", s.reassignRecord)
	data.Get("/:app/:entity/:id/assignments", s.recordAssignments)
}

// assignMetaRoutes serves the designer's preview of a rule
// (POST /api/meta/apps/{app}/assignments/{name}/preview) and a rule's A/B
// report (GET …/assignments/{name}/variants?goal=).
func (s *Server) assignMetaRoutes(app *fiber.App) {
	if s.Assign == nil {
		return
	}
	app.Post("/api/meta/apps/:app/assignments/:name/preview", s.requireUser, s.requireAdmin, s.previewAssignment)
	app.Get("/api/meta/apps/:app/assignments/:name/variants", s.requireUser, s.requireAdmin, s.assignmentVariants)
}

// objectBody refuses a body that is JSON but not an object.
func objectBody(b []byte, example string) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] != '{' && json.Valid(b) {
		return apiError(400, "invalid_json", "the body must be a JSON object such as %s", example)
	}
	return nil
}

// reassignRecord answers POST /api/data/{app}/{entity}/{id}/assign.
func (s *Server) reassignRecord(c *fiber.Ctx) error {
	if err := objectBody(c.Body(), `{"to": "…", "reason": "…"}`); err != nil {
		return err
	}
	var in assign.ReassignRequest
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	rec, d, err := s.Assign.Reassign(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"), in)
	if err != nil {
		return err
	}
	raw, _ := rec.MarshalJSON()
	return c.JSON(fiber.Map{"record": json.RawMessage(raw), "assignment": d})
}

// recordAssignments answers GET /api/data/{app}/{entity}/{id}/assignments.
func (s *Server) recordAssignments(c *fiber.Ctx) error {
	ds, err := s.Assign.Decisions(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": ds})
}

// previewBody is what POST …/preview takes: the record, and optionally a
// draft of the rule.
type previewBody struct {
	ID   string          `json:"id"`
	Rule json.RawMessage `json:"rule"`
}

// previewAssignment answers POST …/assignments/{name}/preview: the
// decision the rule (or the draft sent) would make now, writing nothing.
func (s *Server) previewAssignment(c *fiber.Ctx) error {
	app, err := s.Catalog.App(c.UserContext(), c.Params("app"))
	if err != nil {
		return err
	}
	if err := objectBody(c.Body(), `{"id": "…"}`); err != nil {
		return err
	}
	var in previewBody
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	if in.ID == "" || len(in.ID) > 64 {
		return &Error{Status: 422, Code: "validation_failed", Message: "id must be a record id",
			Details: []schema.Problem{{Path: "/id", Code: "invalid_id", Params: map[string]any{"field": "id"}, Message: "id must be the id of a record (1 to 64 characters)"}}}
	}
	r := app.Assignment(c.Params("name"))
	if len(in.Rule) > 0 && string(in.Rule) != "null" {
		if r, err = s.draftAssignment(c, app, in.Rule); err != nil {
			return err
		}
	} else if r == nil {
		return apiError(404, "not_found", "app %s has no assignment rule %q", app.Name, clipText(c.Params("name"), 80))
	}
	d, err := s.Assign.Preview(c.UserContext(), app, r, in.ID)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// draftAssignment reads an unsaved rule and checks it as applying the app
// with it would (problems at /rule/…).
func (s *Server) draftAssignment(c *fiber.Ctx, app *schema.App, raw json.RawMessage) (*schema.Assignment, error) {
	var draft schema.Assignment
	if err := decodeDraft(raw, &draft, "/rule"); err != nil {
		return nil, err
	}
	list := append([]schema.Assignment(nil), app.Assignments...)
	at := len(list)
	for i := range list {
		if list[i].Name == draft.Name {
			at = i
		}
	}
	if at == len(list) {
		list = append(list, draft)
	} else {
		list[at] = draft
	}
	next, err := s.draftDocument(c, app, "assignments", list, fmt.Sprintf("/assignments/%d", at), "/rule")
	if err != nil {
		return nil, err
	}
	return next.Assignment(draft.Name), nil
}

// assignmentVariants answers GET …/assignments/{name}/variants?goal=FILTER.
func (s *Server) assignmentVariants(c *fiber.Ctx) error {
	app, err := s.Catalog.App(c.UserContext(), c.Params("app"))
	if err != nil {
		return err
	}
	r := app.Assignment(c.Params("name"))
	if r == nil {
		return apiError(404, "not_found", "app %s has no assignment rule %q", app.Name, clipText(c.Params("name"), 80))
	}
	if len(r.Variants) == 0 {
		return apiError(400, "invalid_query", "assignment rule %s has no variants", r.Name)
	}
	return variantReport(c, func(goal string) (any, error) {
		return s.Assign.VariantReport(c.UserContext(), caller(c), app, r, goal)
	})
}
