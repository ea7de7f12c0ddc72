package openapi

import (
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

// An entity with assignment rules has two more routes (engine/api/
// assign.go): POST …/{id}/assign, a manager's reassignment, and GET
// …/{id}/assignments, the record's decision log. Their shared shapes are
// the assignment components below. The rule's preview and A/B report are
// designer routes (/api/meta/…) and are not described.

// Shared assignment component names (reserved only when the app has
// assignment rules).
const (
	assignDecisionName  = "AssignmentDecision"
	assignCandidateName = "AssignmentCandidate"
	assignRequestName   = "AssignmentRequest"
)

var assignComponents = []string{assignDecisionName, assignCandidateName, assignRequestName}

// addAssignComponents adds the shared assignment schemas to t.
func addAssignComponents(t *openapi3.T) {
	add := func(name, title string, s *openapi3.Schema) {
		s.Title = title
		t.Components.Schemas[name] = val(s)
	}
	num := openapi3.NewFloat64Schema()
	num.Nullable = true
	stats := typed(openapi3.TypeObject)
	stats.AdditionalProperties = openapi3.AdditionalProperties{Schema: val(num)}
	add(assignCandidateName, "A candidate as a decision weighed them", object(openapi3.Schemas{
		"user": val(str()), "name": val(str()), "eligible": val(typed(openapi3.TypeBoolean)),
		"why": val(str()), "stats": val(stats), "score": val(nullable(openapi3.NewFloat64Schema())), "load": val(openapi3.NewInt64Schema()),
	}, "user", "name", "eligible", "load"))
	add(assignDecisionName, "An assignment decision", object(openapi3.Schemas{
		"id": val(str()), "app": val(str()), "entity": val(str()), "recordId": val(str()), "rule": val(str()),
		"variant": val(str()), "strategy": val(str().WithEnum("roundRobin", "leastLoad", "score", "manual", "claim", "pool")),
		"winner": val(str()), "winnerName": val(str()), "previous": val(str()), "pool": val(str()),
		"fallback":   val(openapi3.NewInt64Schema()),
		"candidates": val(arrayOf(refTo(t, assignCandidateName))),
		"reason":     val(str()), "note": val(str()), "path": val(str()), "actor": val(str()),
		"at": val(str().WithFormat("date-time")),
	}, "id", "app", "entity", "recordId", "rule", "strategy", "fallback", "reason", "path", "at"))
	version := openapi3.NewInt64Schema().WithMin(0)
	version.Description = "The record's version the caller read (a stale one answers 409)."
	req := object(openapi3.Schemas{
		"to":      val(str().WithMaxLength(320)),
		"rule":    val(str()),
		"reason":  val(str().WithMinLength(1).WithMaxLength(1000)),
		"version": val(version),
	}, "reason")
	req.AdditionalProperties = openapi3.AdditionalProperties{Has: new(bool)}
	req.Description = "To a user (id or email), or by a rule (to someone other than the owner); the reason goes into the history."
	add(assignRequestName, "A reassignment", req)
}

// addAssignPaths adds the assignment routes of ei.
func (b *builder) addAssignPaths(t *openapi3.T, ei *entityInfo) {
	name, title := ei.e.Name, ei.title()
	item := fmt.Sprintf("/api/data/%s/%s/{id}", b.app.Name, name)
	schemas := t.Components.Schemas
	answer := object(openapi3.Schemas{"record": refTo(t, ei.comp), "assignment": refTo(t, assignDecisionName)}, "record", "assignment")
	reassign := b.newOp(ei, "assign", "Reassign a "+title,
		"Admins, the rule's reassigners and the manager of the owner's team may; anyone else answers 403. "+
			"An unknown or inactive target answers 422.")
	reassign.body("The target or rule, the reason and the version read.", assignRequestName, schemas[assignRequestName].Value)
	reassign.AddResponse(http.StatusOK, openapi3.NewResponse().WithDescription("The record as written and the decision.").
		WithContent(openapi3.NewContentWithJSONSchema(answer)))
	reassign.errors(commonErrors...).errors(http.StatusUnprocessableEntity)
	reassign.conflict("Stale version: the record changed since it was read.")
	log := b.newOp(ei, "assignments", "Assignment log of a "+title,
		"Every decision, newest first; candidates' figures only for callers who may reassign the record.")
	log.AddResponse(http.StatusOK, openapi3.NewResponse().WithDescription("The decisions.").
		WithContent(openapi3.NewContentWithJSONSchema(object(openapi3.Schemas{"items": val(arrayOf(refTo(t, assignDecisionName)))}, "items"))))
	log.errors(commonErrors...)
	idParam := openapi3.NewPathParameter("id").WithSchema(str()).WithDescription("Record id.")
	t.Paths.Set(item+"/assign", &openapi3.PathItem{Parameters: openapi3.Parameters{{Value: idParam}}, Post: reassign.Operation})
	t.Paths.Set(item+"/assignments", &openapi3.PathItem{Parameters: openapi3.Parameters{{Value: idParam}}, Get: log.Operation})
}
