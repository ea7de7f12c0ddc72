package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/schema"
)

// automationRoutes are an automation's run log, its dry run and its A/B
// report, for the app's admins (as the app's other designer routes).
func (s *Server) automationRoutes(meta fiber.Router) {
	if s.Automations == nil {
		return
	}
	meta.Get("/apps/:app/automations/:name/runs", s.requireAdmin, s.automationRuns)
	meta.Post("/apps/:app/automations/:name/test", s.requireAdmin, s.testAutomation)
	meta.Get("/apps/:app/automations/:name/variants", s.requireAdmin, s.automationVariants)
}

// automationOf returns the app's current document and its automation
// named in the path: 404 for an unknown app or automation.
func (s *Server) automationOf(c *fiber.Ctx) (*schema.App, *schema.Automation, error) {
	app, err := s.Catalog.App(c.UserContext(), c.Params("app"))
	if err != nil {
		return nil, nil, err
	}
	name := c.Params("name")
	a := app.Automation(name)
	if a == nil {
		return app, nil, apiError(404, "not_found", "app %s has no automation %q", app.Name, clipText(name, 80))
	}
	return app, a, nil
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// automationRuns answers GET …/automations/{name}/runs?limit=&cursor=&record=.
// The log of an automation removed from the document stays readable by
// name while the app exists.
func (s *Server) automationRuns(c *fiber.Ctx) error {
	app, err := s.Catalog.App(c.UserContext(), c.Params("app"))
	if err != nil {
		return err
	}
	// A countdown step's name ("@rule/i") comes escaped (%40rule%2F0):
	// the router does not unescape parameters.
	name, uerr := url.PathUnescape(c.Params("name"))
	if uerr != nil || !schema.ValidName(name) && !schema.IsCountdownName(name) {
		return apiError(404, "not_found", "app %s has no automation %q", app.Name, clipText(c.Params("name"), 80))
	}
	limit, err := limitParam(c, 200)
	if err != nil {
		return err
	}
	page, err := s.Automations.Runs(c.UserContext(), app.Name, name, automation.RunQuery{Limit: limit, Cursor: c.Query("cursor"), Record: c.Query("record")})
	if errors.Is(err, automation.ErrBadQuery) {
		return apiError(400, "invalid_query", "%s", strings.TrimPrefix(err.Error(), automation.ErrBadQuery.Error()+": "))
	}
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// testBody is what POST …/test takes: the record, and optionally an
// unsaved version of the automation to try.
type testBody struct {
	ID         string          `json:"id"`
	Automation json.RawMessage `json:"automation"`
}

// testAutomation answers POST …/automations/{name}/test: the dry run, which
// changes nothing.
func (s *Server) testAutomation(c *fiber.Ctx) error {
	app, a, err := s.automationOf(c)
	var ae *Error
	if err != nil && !(errors.As(err, &ae) && ae.Status == 404 && app != nil) {
		return err
	}
	var in testBody
	if b := bytes.TrimSpace(c.Body()); len(b) > 0 && b[0] != '{' && json.Valid(b) {
		return apiError(400, "invalid_json", "the body must be a JSON object such as {\"id\": \"…\"}")
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	if in.ID == "" || len(in.ID) > 64 {
		return &Error{Status: 422, Code: "validation_failed", Message: "id must be a record id",
			Details: []schema.Problem{{Path: "/id", Code: "invalid_id", Params: map[string]any{"field": "id"}, Message: "id must be the id of a record (1 to 64 characters)"}}}
	}
	if len(in.Automation) > 0 && string(in.Automation) != "null" {
		if a, err = s.draftAutomation(c, app, in.Automation); err != nil {
			return err
		}
	} else if a == nil {
		return err // the named automation does not exist and none was sent
	}
	res, err := s.Automations.Test(c.UserContext(), app, a, in.ID)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// draftAutomation reads an unsaved automation and checks it as applying
// the app with it would (problems at /automation/…).
func (s *Server) draftAutomation(c *fiber.Ctx, app *schema.App, raw json.RawMessage) (*schema.Automation, error) {
	var draft schema.Automation
	if err := decodeDraft(raw, &draft, "/automation"); err != nil {
		return nil, err
	}
	list := append([]schema.Automation(nil), app.Automations...)
	at := -1
	for i := range list {
		if list[i].Name == draft.Name {
			at = i
		}
	}
	if at < 0 {
		list = append(list, draft)
		at = len(list) - 1
	} else {
		list[at] = draft
	}
	next, err := s.draftDocument(c, app, "automations", list, fmt.Sprintf("/automations/%d", at), "/automation")
	if err != nil {
		return nil, err
	}
	return next.Automation(draft.Name), nil
}

// decodeDraft decodes a designer's draft strictly, its problems at
// pointers under as.
func decodeDraft(raw json.RawMessage, v any, as string) error {
	err := decodeStrict(raw, v)
	var e *Error
	if errors.As(err, &e) {
		for i := range e.Details {
			e.Details[i].Path = as + e.Details[i].Path
		}
	}
	return err
}

// draftDocument is app with section replaced by list (which holds a
// designer's draft at pointer prefix), checked as applying it would:
// problems of the draft are reported under as instead of prefix.
func (s *Server) draftDocument(c *fiber.Ctx, app *schema.App, section string, list any, prefix, as string) (*schema.App, error) {
	var doc map[string]json.RawMessage
	cur, _ := json.Marshal(app)
	if err := json.Unmarshal(cur, &doc); err != nil {
		return nil, err
	}
	doc[section], _ = json.Marshal(list)
	full, _ := json.Marshal(doc)
	next, problems := schema.Parse(full)
	if len(problems) == 0 {
		problems = s.checkAutomations(c.UserContext(), next)
	}
	var mine schema.Problems
	for _, p := range problems {
		if p.Path == prefix || strings.HasPrefix(p.Path, prefix+"/") {
			p.Path = as + strings.TrimPrefix(p.Path, prefix)
			mine = append(mine, p)
		}
	}
	if len(mine) > 0 {
		return nil, mine
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return next, nil
}

// automationVariants answers GET …/automations/{name}/variants?goal=FILTER.
func (s *Server) automationVariants(c *fiber.Ctx) error {
	app, a, err := s.automationOf(c)
	if err != nil {
		return err
	}
	if len(a.Variants) == 0 {
		return apiError(400, "invalid_query", "automation %s has no variants", a.Name)
	}
	return variantReport(c, func(goal string) (any, error) {
		return s.Automations.Variants(c.UserContext(), caller(c), app, a, goal)
	})
}

// variantReport answers an A/B report's GET …?goal=FILTER with what
// report counts for the goal: a goal too long or that does not compile is
// 400 invalid_filter.
func variantReport(c *fiber.Ctx, report func(goal string) (any, error)) error {
	goal := c.Query("goal")
	if len(goal) > filter.MaxLength {
		return apiError(400, "invalid_filter", "goal is longer than %d bytes", filter.MaxLength)
	}
	rep, err := report(goal)
	var fe *filter.Error
	if errors.As(err, &fe) {
		return apiError(400, "invalid_filter", "goal: %s", fe.Error())
	}
	if err != nil {
		return err
	}
	return c.JSON(rep)
}
