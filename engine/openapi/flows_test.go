package openapi

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/formaapp/forma/schema"
)

func withFlow(t *testing.T) *schema.App {
	t.Helper()
	app := loadApp(t)
	app.Flows = []schema.Flow{{Name: "sales", Entity: "opportunity", Field: "stage",
		States: []schema.State{{Name: "lead"}, {Name: "qualified"}, {Name: "won", Final: true}, {Name: "lost", Final: true}},
		Transitions: []schema.Transition{
			{Name: "qualify", From: []string{"lead"}, To: "qualified", Guard: "amount > 0"},
			{Name: "win", From: []string{"qualified"}, To: "won", Approval: &schema.Approval{Steps: []schema.ApprovalStep{{Name: "boss"}}}},
			{Name: "lose", To: "lost", Fields: []schema.TransitionField{{Field: "close_date", Required: true}, {Field: "weighted"}}},
		}}}
	return app
}

// An entity a flow governs has its transition routes, with their bodies
// and answers; the document still validates, and other entities have none.
func TestFlowRoutes(t *testing.T) {
	doc := build(t, withFlow(t), Options{})
	list := doc.Paths.Find("/api/data/pipeline/opportunity/{id}/transitions")
	take := doc.Paths.Find("/api/data/pipeline/opportunity/{id}/transitions/{name}")
	if list == nil || list.Get == nil || take == nil || take.Post == nil {
		t.Fatalf("transition routes missing: %v", doc.Paths.InMatchingOrder())
	}
	if doc.Paths.Find("/api/data/pipeline/account/{id}/transitions") != nil {
		t.Error("an entity without a flow has transition routes")
	}
	if list.Get.OperationID != "transitions_opportunity" || take.Post.OperationID != "take_transition_opportunity" {
		t.Errorf("operation ids: %s %s", list.Get.OperationID, take.Post.OperationID)
	}
	for _, code := range []int{200, 202, 400, 404, 409, 422} {
		if take.Post.Responses.Status(code) == nil {
			t.Errorf("take has no %d answer", code)
		}
	}
	var names []any
	for _, p := range take.Parameters {
		if p.Value.Name == "name" {
			names = p.Value.Schema.Value.Enum
		}
	}
	if len(names) != 3 || names[0] != "qualify" || names[2] != "lose" {
		t.Errorf("name enum: %v", names)
	}

	body := component(t, doc, "OpportunityTake")
	fields := prop(t, body, "fields")
	if fields.Properties["close_date"] == nil || fields.Properties["weighted"] != nil || len(fields.Properties) != 1 {
		t.Errorf("take fields (computed weighted is not writable): %v", fields.Properties)
	}
	if err := body.VisitJSON(map[string]any{"version": 3.0, "fields": map[string]any{"close_date": "2026-01-31"}, "comment": "budget cut"}, openapi3.VisitAsRequest()); err != nil {
		t.Errorf("valid take rejected: %v", err)
	}
	for name, bad := range map[string]map[string]any{
		"no version":    {"fields": map[string]any{}},
		"unknown key":   {"version": 1.0, "state": "won"},
		"unknown field": {"version": 1.0, "fields": map[string]any{"title": "x"}},
	} {
		if body.VisitJSON(bad, openapi3.VisitAsRequest()) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	avail := map[string]any{"flow": "sales", "field": "stage", "state": "lead",
		"states":  []any{map[string]any{"name": "lead", "color": "#888"}, map[string]any{"name": "won", "final": true}},
		"pending": nil,
		"items": []any{map[string]any{"name": "qualify", "label": "", "to": "qualified", "allowed": false,
			"lacks":  []any{map[string]any{"path": "/guard", "message": "an amount is needed"}},
			"fields": []any{}, "comment": "optional", "approval": false, "handover": false}}}
	if err := component(t, doc, "FlowTransitions").VisitJSON(avail, openapi3.VisitAsResponse()); err != nil {
		t.Errorf("transitions answer rejected: %v", err)
	}
	avail["pending"] = map[string]any{"id": "01j", "transition": "win", "kind": "approval", "step": 0.0, "requester": "u1", "createdAt": "2026-03-02T09:00:00Z"}
	if err := component(t, doc, "FlowTransitions").VisitJSON(avail, openapi3.VisitAsResponse()); err != nil {
		t.Errorf("transitions answer with a pending request rejected: %v", err)
	}
}

// An app without flows keeps its component names; with one, a flow
// component's name is not an entity's.
func TestFlowComponentNames(t *testing.T) {
	plain := build(t, loadApp(t), Options{})
	if plain.Components.Schemas["FlowTransitions"] != nil || plain.Components.Schemas["OpportunityTake"] != nil {
		t.Error("flow components in an app without flows")
	}
	app := withFlow(t)
	app.Entities = append(app.Entities, schema.Entity{Name: "flow_approval", Fields: []schema.Field{{ID: "x1", Name: "note", Type: schema.Text}}})
	doc := build(t, app, Options{})
	if doc.Paths.Find("/api/data/pipeline/flow_approval") == nil || doc.Components.Schemas["FlowApproval2"] == nil {
		t.Errorf("entity flow_approval: %v", keys(doc.Components.Schemas))
	}
	if a := component(t, doc, "FlowApproval"); a.Properties["canDecide"] == nil {
		t.Errorf("FlowApproval is not the approval: %v", a.Properties)
	}
}

func keys(m openapi3.Schemas) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
