package openapi

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/formaapp/forma/schema"
)

// An app's connectors (App.Connectors) are public routes (engine/api/
// inbound.go): POST /api/in/{app}/{connector}, called by websites and
// other services with the connector's token instead of a bearer token.
// Each is described with its form fields (the mapping's sources) when
// the entity it writes to is in the document. The plugin administration
// and the per-app plugin configuration are designer routes (/api/admin/…,
// /api/meta/…) and are not described.
//
// The approvals inbox and decisions (engine/api/approvals.go) are
// described in an app with flows: they answer the app's approval
// requests (FlowApproval), though the inbox lists every app's.

const (
	connectorsTag = "Inbound endpoints"
	approvalsTag  = "Approvals inbox"
	// codePluginDisabled is engine/api.CodePluginDisabled (not imported:
	// this package reads documents only).
	codePluginDisabled = "plugin_disabled"
)

// addConnectorPaths describes the app's connectors whose entity is in the
// document.
func (b *builder) addConnectorPaths(t *openapi3.T) {
	added := false
	for i := range b.app.Connectors {
		cn := &b.app.Connectors[i]
		ei := b.byName[cn.Entity]
		if ei == nil {
			continue
		}
		added = true
		t.Paths.Set(fmt.Sprintf("/api/in/%s/%s", b.app.Name, cn.Name), &openapi3.PathItem{Post: b.connectorOp(cn, ei).Operation})
	}
	if added {
		t.Tags = append(t.Tags, &openapi3.Tag{Name: connectorsTag,
			Description: "Public endpoints that create records from web forms and other services (the app's connectors). " +
				"Each takes its own token: the X-Forma-Token header, ?token= or the form field _token."})
	}
}

// connectorOp is the POST of one connector.
func (b *builder) connectorOp(cn *schema.Connector, ei *entityInfo) op {
	title := cn.Label
	if title == "" {
		title = cn.Name
	}
	desc := fmt.Sprintf("Runs the trigger %s of plugin %s on the submission and writes each item to %s (%s). ",
		cn.Trigger, cn.Plugin, ei.title(), ei.e.Name) +
		"Answers 202 `{\"ok\": true}` when accepted (a filled honeypot field is answered the same and dropped); " +
		"a browser's form post (Accept: text/html) with an http(s) `_redirect` field is sent there with 303. " +
		"Bodies up to 256 KiB: application/json, application/x-www-form-urlencoded or multipart/form-data without files. " +
		"CORS: any origin, no credentials."
	if !cn.IsEnabled() {
		desc += " This endpoint is disabled: it answers 409."
	}
	o := op{openapi3.NewOperation(), b}
	o.OperationID = "submit_" + cn.Name
	o.Tags = []string{connectorsTag}
	o.Summary = "Submit to " + title
	o.Description = desc
	o.Responses = openapi3.NewResponses()
	o.Security = &openapi3.SecurityRequirements{} // no bearer token: the connector's own

	// The form's fields: the mapping's sources, the token and _redirect.
	fields := openapi3.Schemas{
		"_token":    val(described(str(), "The endpoint's token (or send X-Forma-Token).")),
		"_redirect": val(described(str().WithFormat("uri"), "Where a browser is sent after an accepted post (http or https).")),
	}
	var sources []string
	for _, src := range cn.Mapping {
		if !slices.Contains(sources, src) {
			sources = append(sources, src)
		}
	}
	slices.Sort(sources)
	for _, src := range sources {
		fields[src] = val(str())
	}
	form := object(fields)
	form.AdditionalProperties = openapi3.AdditionalProperties{Schema: val(str())}
	jsonBody := object(openapi3.Schemas{})
	jsonBody.AdditionalProperties = openapi3.AdditionalProperties{Schema: val(&openapi3.Schema{})}
	jsonBody.Description = "The trigger reads the JSON as it was sent."
	o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
		WithDescription("The submission.").
		WithContent(openapi3.Content{
			"application/x-www-form-urlencoded": openapi3.NewMediaType().WithSchema(form),
			"multipart/form-data":               openapi3.NewMediaType().WithSchema(form),
			"application/json":                  openapi3.NewMediaType().WithSchema(jsonBody),
		})}
	o.Parameters = openapi3.Parameters{
		{Value: openapi3.NewHeaderParameter("X-Forma-Token").WithSchema(str()).WithDescription("The endpoint's token.")},
		{Value: openapi3.NewQueryParameter("token").WithSchema(str()).WithDescription("The endpoint's token, when no header can be set.")},
	}

	accepted := object(openapi3.Schemas{"ok": val(typed(openapi3.TypeBoolean))}, "ok")
	o.AddResponse(http.StatusAccepted, openapi3.NewResponse().WithDescription("Accepted.").
		WithContent(openapi3.NewContentWithJSONSchema(accepted)))
	redirect := openapi3.NewResponse().WithDescription("A browser's form post, sent on to its _redirect.")
	redirect.Headers = openapi3.Headers{"Location": {Value: &openapi3.Header{Parameter: openapi3.Parameter{Schema: val(str().WithFormat("uri"))}}}}
	o.AddResponse(http.StatusSeeOther, redirect)
	o.errors(http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusInternalServerError)
	o.AddResponse(http.StatusUnauthorized, openapi3.NewResponse().
		WithDescription("`invalid_token`: a wrong or missing token (an unknown endpoint answers the same).").
		WithContent(errorContent(b.errSchema)))
	o.conflict("`" + codePluginDisabled + "`: the endpoint or its plugin is disabled in the app.")
	o.AddResponse(http.StatusUnsupportedMediaType, openapi3.NewResponse().
		WithDescription("A Content-Encoding, or a file part in a multipart body.").WithContent(errorContent(b.errSchema)))
	o.AddResponse(http.StatusUnprocessableEntity, openapi3.NewResponse().
		WithDescription("`validation_failed`: an item breaks the entity's field rules; `details` lists each field.").
		WithContent(errorContent(b.errSchema)))
	throttled := openapi3.NewResponse().WithDescription("`too_many_requests`: over the endpoint's rate limit for this address.").
		WithContent(errorContent(b.errSchema))
	throttled.Headers = openapi3.Headers{"Retry-After": {Value: &openapi3.Header{Parameter: openapi3.Parameter{
		Description: "Seconds to wait.", Schema: val(openapi3.NewIntegerSchema())}}}}
	o.AddResponse(http.StatusTooManyRequests, throttled)
	return o
}

// addApprovalPaths describes the approvals inbox, an approval and a
// decision (the flow components must be in t).
func (b *builder) addApprovalPaths(t *openapi3.T) {
	newOp := func(id, summary, desc string) op {
		o := op{openapi3.NewOperation(), b}
		o.OperationID = id
		o.Tags = []string{approvalsTag}
		o.Summary = summary
		o.Description = desc
		o.Responses = openapi3.NewResponses()
		return o
	}
	approval := t.Components.Schemas[approvalName].Value

	page := object(openapi3.Schemas{
		"items":      val(arrayOf(refTo(t, approvalName))),
		"nextCursor": val(described(str(), "The next page's cursor; empty on the last page.")),
	}, "items", "nextCursor")
	inbox := newOp("list_approvals", "My approvals",
		"The caller's approval and hand-over requests, newest first: those waiting for their decision (pending), "+
			"those they decided (decided), or those they asked for (mine). It lists every app's.")
	inbox.Parameters = openapi3.Parameters{
		{Value: openapi3.NewQueryParameter("status").WithSchema(str().WithEnum("pending", "decided", "mine").WithDefault("pending"))},
		{Value: openapi3.NewQueryParameter("limit").WithSchema(openapi3.NewIntegerSchema().WithMin(1).WithMax(100))},
		{Value: openapi3.NewQueryParameter("cursor").WithSchema(str()).WithDescription("`nextCursor` of the previous page.")},
	}
	inbox.AddResponse(http.StatusOK, openapi3.NewResponse().WithDescription("One page of requests.").
		WithContent(openapi3.NewContentWithJSONSchema(page)))
	inbox.errors(http.StatusBadRequest, http.StatusUnauthorized, http.StatusInternalServerError)

	get := newOp("get_approval", "An approval request", "A request the caller may see (its requester, an approver, an admin).")
	get.ok(http.StatusOK, "The request with its steps.", approvalName, approval).errors(commonErrors...)

	comment := str().WithMaxLength(4000)
	comment.Description = "Required to reject; kept in the record's history."
	version := openapi3.NewInt64Schema().WithMin(1)
	version.Description = "The request's version the caller read (a stale one answers 409)."
	decision := object(openapi3.Schemas{
		"comment": val(comment),
		"to":      val(described(str(), "delegate: the user (id or email) the task passes to.")),
		"version": val(version),
	}, "version")
	decision.AdditionalProperties = openapi3.AdditionalProperties{Has: new(bool)}
	decide := newOp("decide_approval", "Decide an approval request",
		"approve, reject or delegate a pending step (an approver), or withdraw the request (its requester).")
	decide.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
		WithDescription("The decision's comment, the delegate and the version.").WithJSONSchema(decision)}
	decide.ok(http.StatusOK, "The request after the decision.", approvalName, approval).
		errors(bodyErrors...).
		conflict("Stale version, or the request was decided meanwhile.")

	idParam := openapi3.NewPathParameter("id").WithSchema(str()).WithDescription("The request's id.")
	decisionParam := openapi3.NewPathParameter("decision").WithSchema(str().WithEnum("approve", "reject", "delegate", "withdraw"))
	t.Paths.Set("/api/me/approvals", &openapi3.PathItem{Get: inbox.Operation})
	t.Paths.Set("/api/approvals/{id}", &openapi3.PathItem{Parameters: openapi3.Parameters{{Value: idParam}}, Get: get.Operation})
	t.Paths.Set("/api/approvals/{id}/{decision}", &openapi3.PathItem{
		Parameters: openapi3.Parameters{{Value: idParam}, {Value: decisionParam}}, Post: decide.Operation})
	t.Tags = append(t.Tags, &openapi3.Tag{Name: approvalsTag, Description: "Approval and hand-over requests of the app's flows."})
}

// described sets a schema's description.
func described(s *openapi3.Schema, desc string) *openapi3.Schema { s.Description = desc; return s }
