package api

import (
	"encoding/json"
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// checkExpression answers whether a formula or filter is valid for an
// entity, with each problem at its character offset, and previews a valid
// one on the app's records: POST /api/meta/apps/{app}/expressions/check
// with records.ExprCheck → records.ExprResult. The editors call it as the
// user types.
//
// Filters as lists take them are open to every member of the app and are
// checked and counted under the caller's rules; formulas, filters written
// into the document (scope "document") and checks against the draft are
// the designer's, so admins only.
func (s *Server) checkExpression(c *fiber.Ctx) error {
	name, err := appName(c)
	if err != nil {
		return err
	}
	var q records.ExprCheck
	if err := decodeStrict(c.Body(), &q); err != nil {
		return err
	}
	var problems schema.Problems
	switch {
	case q.Entity == "":
		problems.Add("/entity", "entity is required")
	case !schema.ValidName(q.Entity):
		problems.Add("/entity", "%q is not an entity name", q.Entity)
	}
	switch q.Mode {
	case records.ExprFormula:
		if q.Scope != "" {
			problems.Add("/scope", "scope is for filters")
		}
		if q.Count {
			problems.Add("/count", "count is for filters")
		}
	case records.ExprFilter:
		if q.Scope != "" && q.Scope != records.ScopeList && q.Scope != records.ScopeDocument && q.Scope != records.ScopeRole {
			problems.Add("/scope", "scope must be %q, %q or %q", records.ScopeList, records.ScopeDocument, records.ScopeRole)
		}
		if q.Field != "" {
			problems.Add("/field", "field is for formulas")
		}
		if q.Draft && q.Scope != records.ScopeDocument && q.Scope != records.ScopeRole {
			problems.Add("/draft", "a list filter is checked against the published app; draft needs scope %q or %q", records.ScopeDocument, records.ScopeRole)
		}
	default:
		problems.Add("/mode", "mode must be %q or %q", records.ExprFormula, records.ExprFilter)
	}
	if len(q.Expr) > records.MaxExprBytes {
		problems.Add("/expr", "the expression is longer than %d bytes", records.MaxExprBytes)
	}
	if q.Field != "" && !schema.ValidName(q.Field) {
		problems.Add("/field", "%q is not a field name", q.Field)
	}
	if q.RecordID != "" && !records.ValidRecordID(q.RecordID) {
		problems.Add("/recordId", "%q is not a record id", q.RecordID)
	}
	if len(problems) > 0 {
		return &Error{Status: 422, Code: "validation_failed", Message: "the check request is not valid", Details: problems}
	}
	u := user(c)
	designer := q.Mode == records.ExprFormula || q.Scope == records.ScopeDocument || q.Scope == records.ScopeRole || q.Draft
	published, err := s.current(c, name)
	if err != nil {
		return err
	}
	if !u.Admin {
		if published == nil || !s.Records.Member(published, caller(c)) {
			return apiError(404, "not_found", "no app %q", name)
		}
		if designer {
			return apiError(403, "forbidden", "only an admin may check formulas and the app's conditions")
		}
	}
	doc := published
	if q.Draft {
		d, err := s.DB.Draft(c.UserContext(), name, u.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			if app := s.looseDraft(c, d); app != nil {
				doc = app
			}
		}
	}
	if doc == nil {
		return apiError(404, "not_found", "no app %q", name)
	}
	res, err := s.Records.CheckExpression(c.UserContext(), caller(c), doc, q)
	if err != nil {
		return err
	}
	return c.JSON(res)
}

// looseDraft reads a saved draft as far as it goes: an unfinished draft
// still names its entities and fields, which is all a check needs.
func (s *Server) looseDraft(c *fiber.Ctx, d *store.Draft) *schema.App {
	app, _, err := s.parseApp(c, []byte(d.Document))
	if err == nil && app != nil {
		return app
	}
	var loose schema.App
	if json.Unmarshal([]byte(d.Document), &loose) != nil || loose.Name == "" {
		return nil
	}
	return &loose
}
