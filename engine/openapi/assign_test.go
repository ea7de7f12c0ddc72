package openapi

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/formaapp/forma/schema"
)

// An entity with an assignment rule has the reassign and log routes;
// the document still validates; other entities have none.
func TestAssignRoutes(t *testing.T) {
	app := loadApp(t)
	app.Assignments = []schema.Assignment{{Name: "rr", Entity: "opportunity", Strategy: schema.StrategyRoundRobin}}
	doc := build(t, app, Options{})
	assign := doc.Paths.Find("/api/data/pipeline/opportunity/{id}/assign")
	log := doc.Paths.Find("/api/data/pipeline/opportunity/{id}/assignments")
	if assign == nil || assign.Post == nil || log == nil || log.Get == nil {
		t.Fatalf("assignment routes missing: %v", doc.Paths.InMatchingOrder())
	}
	if doc.Paths.Find("/api/data/pipeline/account/{id}/assign") != nil {
		t.Error("an entity without rules has the assign route")
	}
	for _, code := range []int{200, 403, 404, 409, 422} {
		if assign.Post.Responses.Status(code) == nil {
			t.Errorf("assign has no %d answer", code)
		}
	}
	req := component(t, doc, "AssignmentRequest")
	if err := req.VisitJSON(map[string]any{"to": "u1", "reason": "language", "version": 3.0}, openapi3.VisitAsRequest()); err != nil {
		t.Errorf("valid request rejected: %v", err)
	}
	if req.VisitJSON(map[string]any{"to": "u1"}, openapi3.VisitAsRequest()) == nil || req.VisitJSON(map[string]any{"reason": "r", "x": 1.0}, openapi3.VisitAsRequest()) == nil {
		t.Error("a request without a reason or with an unknown key was accepted")
	}
	d := map[string]any{"id": "01j", "app": "pipeline", "entity": "opportunity", "recordId": "01k", "rule": "rr", "strategy": "score",
		"fallback": 0.0, "reason": "highest score", "path": "api", "at": "2026-03-02T09:00:00Z",
		"candidates": []any{map[string]any{"user": "u1", "name": "Ray", "eligible": true, "load": 2.0, "stats": map[string]any{"win": 0.5, "resp": nil}, "score": 50.0}}}
	if err := component(t, doc, "AssignmentDecision").VisitJSON(d, openapi3.VisitAsResponse()); err != nil {
		t.Errorf("decision rejected: %v", err)
	}
	if plain := build(t, loadApp(t), Options{}); plain.Components.Schemas["AssignmentDecision"] != nil {
		t.Error("assignment components in an app without rules")
	}
}
