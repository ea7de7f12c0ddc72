package openapi

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/formaapp/forma/schema"
)

func withConnectors(t *testing.T) *schema.App {
	t.Helper()
	app := loadApp(t)
	off := false
	app.Connectors = []schema.Connector{
		{Name: "website", Label: "Website form", Plugin: "webform", Trigger: "submission", Entity: "contact",
			Mapping: map[string]string{"name": "full_name", "email": "email"}, Honeypot: "company_url"},
		{Name: "ads", Plugin: "adsys", Trigger: "lead", Entity: "account", Enabled: &off, Mapping: map[string]string{"name": "company"}},
	}
	return app
}

// An app's connectors are public POST routes without the bearer token,
// with their form fields, their refusals and the throttle's Retry-After.
func TestConnectorRoutes(t *testing.T) {
	doc := build(t, withConnectors(t), Options{})
	p := doc.Paths.Find("/api/in/pipeline/website")
	if p == nil || p.Post == nil {
		t.Fatalf("connector route missing: %v", doc.Paths.InMatchingOrder())
	}
	post := p.Post
	if post.Security == nil || len(*post.Security) != 0 {
		t.Errorf("the inbound route must not ask for the bearer token: %v", post.Security)
	}
	for _, code := range []int{202, 303, 400, 401, 409, 413, 415, 422, 429} {
		if post.Responses.Status(code) == nil {
			t.Errorf("no %d answer", code)
		}
	}
	if h := post.Responses.Status(429).Value.Headers["Retry-After"]; h == nil {
		t.Error("429 without Retry-After")
	}
	form := post.RequestBody.Value.Content.Get("application/x-www-form-urlencoded").Schema.Value
	for _, f := range []string{"full_name", "email", "_token", "_redirect"} {
		if form.Properties[f] == nil {
			t.Errorf("form field %s missing: %v", f, keys(form.Properties))
		}
	}
	if err := form.VisitJSON(map[string]any{"full_name": "Ann", "email": "a@example.com", "_token": "t", "utm": "x"}, openapi3.VisitAsRequest()); err != nil {
		t.Errorf("a form submission is refused: %v", err)
	}
	if post.RequestBody.Value.Content.Get("application/json") == nil || post.RequestBody.Value.Content.Get("multipart/form-data") == nil {
		t.Error("JSON or multipart body missing")
	}
	if ads := doc.Paths.Find("/api/in/pipeline/ads"); ads == nil || ads.Post.Responses.Status(409) == nil {
		t.Error("a disabled connector is described (answering 409)")
	}

	// A role that does not see the entity does not see its connector.
	doc = build(t, withConnectors(t), Options{Entities: func(e string) bool { return e != "contact" }})
	if doc.Paths.Find("/api/in/pipeline/website") != nil || doc.Paths.Find("/api/in/pipeline/ads") == nil {
		t.Error("connector of an excluded entity described, or another missing")
	}
	// An app without connectors has no inbound routes and no such tag.
	doc = build(t, loadApp(t), Options{})
	for _, tag := range doc.Tags {
		if tag.Name == connectorsTag || tag.Name == approvalsTag {
			t.Errorf("tag %s in an app without connectors or flows", tag.Name)
		}
	}
}

// An app with flows describes the approvals inbox, an approval and a
// decision.
func TestApprovalRoutes(t *testing.T) {
	doc := build(t, withFlow(t), Options{})
	inbox := doc.Paths.Find("/api/me/approvals")
	one := doc.Paths.Find("/api/approvals/{id}")
	decide := doc.Paths.Find("/api/approvals/{id}/{decision}")
	if inbox == nil || inbox.Get == nil || one == nil || one.Get == nil || decide == nil || decide.Post == nil {
		t.Fatalf("approval routes missing: %v", doc.Paths.InMatchingOrder())
	}
	body := decide.Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	if err := body.VisitJSON(map[string]any{"version": 2.0, "comment": "ok"}, openapi3.VisitAsRequest()); err != nil {
		t.Errorf("a decision is refused: %v", err)
	}
	for name, bad := range map[string]map[string]any{"no version": {"comment": "x"}, "unknown key": {"version": 1.0, "status": "approved"}} {
		if body.VisitJSON(bad, openapi3.VisitAsRequest()) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if decide.Post.Responses.Status(409) == nil || decide.Post.Responses.Status(422) == nil {
		t.Error("decision without 409 or 422")
	}
	if build(t, loadApp(t), Options{}).Paths.Find("/api/me/approvals") != nil {
		t.Error("approvals described in an app without flows")
	}
}
