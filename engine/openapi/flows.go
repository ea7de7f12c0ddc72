package openapi

import (
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/formaapp/forma/schema"
)

// An entity a flow governs has two more routes (engine/api/flows.go):
// GET …/{id}/transitions, what the caller may take now, and POST
// …/{id}/transitions/{name}, taking one. Their shared shapes are the
// flow components below; the take's body and answer are per entity
// (<Entity>Take, <Entity>Taken). The approvals inbox and decisions
// (/api/me/approvals, /api/approvals/…) answer FlowApproval and are
// described with them (connectors.go); notifications are not.

// Shared flow component names (reserved only when the app has flows, so
// an app without keeps its entities' names).
const (
	flowTransitionsName = "FlowTransitions"
	flowOptionName      = "FlowTransition"
	flowStateName       = "FlowState"
	flowPendingName     = "FlowPending"
	flowLackName        = "FlowLack"
	approvalName        = "FlowApproval"
	approvalStepName    = "FlowApprovalStep"
	approverName        = "FlowApprover"
)

var flowComponents = []string{flowTransitionsName, flowOptionName, flowStateName, flowPendingName, flowLackName,
	approvalName, approvalStepName, approverName}

// codeRefused is engine/flow.CodeRefused (not imported: this package
// reads documents only).
const codeRefused = "transition_refused"

func object(props openapi3.Schemas, required ...string) *openapi3.Schema {
	s := typed(openapi3.TypeObject)
	s.Properties = props
	s.Required = required
	return s
}

func val(s *openapi3.Schema) *openapi3.SchemaRef { return &openapi3.SchemaRef{Value: s} }

func refTo(t *openapi3.T, name string) *openapi3.SchemaRef {
	return &openapi3.SchemaRef{Ref: ref(name), Value: t.Components.Schemas[name].Value}
}

func nullable(s *openapi3.Schema) *openapi3.Schema { s.Nullable = true; return s }

func arrayOf(items *openapi3.SchemaRef) *openapi3.Schema {
	a := openapi3.NewArraySchema()
	a.Items = items
	return a
}

func labelsSchema() *openapi3.Schema {
	s := typed(openapi3.TypeObject)
	s.AdditionalProperties = openapi3.AdditionalProperties{Schema: val(str())}
	s.Description = "Labels by locale, e.g. {\"zh-CN\": \"…\"}."
	return s
}

// addFlowComponents adds the shared flow schemas to t.
func addFlowComponents(t *openapi3.T) {
	add := func(name, title string, s *openapi3.Schema) {
		s.Title = title
		t.Components.Schemas[name] = val(s)
	}
	add(flowLackName, "What a transition still lacks", object(openapi3.Schemas{
		"path":    val(str().WithFormat("json-pointer")),
		"message": val(str()),
	}, "path", "message"))
	add(flowStateName, "A flow's state", object(openapi3.Schemas{
		"name": val(str()), "label": val(str()), "labels": val(labelsSchema()), "color": val(str()), "final": val(typed(openapi3.TypeBoolean)),
		"position": val(object(openapi3.Schemas{"x": val(openapi3.NewFloat64Schema()), "y": val(openapi3.NewFloat64Schema())}, "x", "y")),
	}, "name"))
	add(flowPendingName, "The request pending on a record", object(openapi3.Schemas{
		"id": val(str()), "transition": val(str()), "kind": val(str().WithEnum("approval", "handover")), "step": val(openapi3.NewIntegerSchema()),
		"requester": val(str()), "createdAt": val(str().WithFormat("date-time")),
	}, "id", "transition", "kind", "step", "requester", "createdAt"))
	transitionField := object(openapi3.Schemas{"field": val(str()), "required": val(typed(openapi3.TypeBoolean))}, "field")
	add(flowOptionName, "A transition as the caller sees it now", object(openapi3.Schemas{
		"name": val(str()), "label": val(str()), "labels": val(labelsSchema()), "to": val(str()),
		"allowed": {Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeBoolean},
			Description: "The caller may take it now (what it lacks, if anything, is filled while taking it)."}},
		"lacks":    val(arrayOf(refTo(t, flowLackName))),
		"fields":   val(arrayOf(val(transitionField))),
		"comment":  val(str().WithEnum(schema.CommentNone, schema.CommentOptional, schema.CommentRequired)),
		"approval": val(typed(openapi3.TypeBoolean)),
		"handover": val(typed(openapi3.TypeBoolean)),
	}, "name", "label", "to", "allowed", "lacks", "fields", "comment", "approval", "handover"))
	add(flowTransitionsName, "A record's flow state and the transitions the caller may take", object(openapi3.Schemas{
		"flow": val(str()), "field": val(str()), "state": val(str()),
		"states":  val(arrayOf(refTo(t, flowStateName))),
		"pending": {Ref: ref(flowPendingName), Value: t.Components.Schemas[flowPendingName].Value},
		"items":   val(arrayOf(refTo(t, flowOptionName))),
	}, "flow", "field", "state", "states", "pending", "items"))
	// pending is null when no request is pending: a nullable wrapper.
	t.Components.Schemas[flowTransitionsName].Value.Properties["pending"] = val(&openapi3.Schema{Nullable: true,
		AllOf: openapi3.SchemaRefs{refTo(t, flowPendingName)}, Description: "The request pending on the record; null when none."})
	at := func() *openapi3.Schema { return nullable(str().WithFormat("date-time")) }
	add(approverName, "An approver's part in a step", object(openapi3.Schemas{
		"userId": val(str()), "name": val(str()),
		"decision":    val(str().WithEnum("", "approved", "rejected", "delegated")),
		"delegatedTo": val(str()), "comment": val(str()), "at": val(at()),
	}, "userId", "name", "decision", "delegatedTo", "comment", "at"))
	add(approvalStepName, "A step of an approval", object(openapi3.Schemas{
		"name": val(str()), "label": val(str()), "mode": val(str()), "quorum": val(openapi3.NewIntegerSchema()),
		"status":    val(str().WithEnum("waiting", "pending", "approved", "rejected", "skipped", "escalated", "withdrawn")),
		"deadline":  val(at()),
		"approvers": val(arrayOf(refTo(t, approverName))),
	}, "name", "label", "mode", "quorum", "status", "deadline", "approvers"))
	anyValues := typed(openapi3.TypeObject)
	anyValues.AdditionalProperties = openapi3.AdditionalProperties{Schema: val(&openapi3.Schema{})}
	add(approvalName, "An approval (or hand-over) request", object(openapi3.Schemas{
		"id": val(str()), "app": val(str()), "entity": val(str()), "recordId": val(str()), "title": val(str()),
		"flow": val(str()), "transition": val(str()), "transitionLabel": val(str()), "from": val(str()), "to": val(str()),
		"kind":      val(str().WithEnum("approval", "handover")),
		"status":    val(str().WithEnum("pending", "approved", "rejected", "withdrawn")),
		"requester": val(str()), "requesterName": val(str()), "comment": val(str()),
		"fields": val(anyValues),
		"step":   val(openapi3.NewIntegerSchema()),
		"steps":  val(arrayOf(refTo(t, approvalStepName))),
		"version": {Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}, Format: "int64",
			Description: "Send it with a decision (POST /api/approvals/{id}/{decision})."}},
		"canDecide": val(typed(openapi3.TypeBoolean)),
		"createdAt": val(str().WithFormat("date-time")),
		"decidedAt": val(at()),
	}, "id", "app", "entity", "recordId", "title", "flow", "transition", "transitionLabel", "from", "to", "kind", "status",
		"requester", "requesterName", "comment", "fields", "step", "steps", "version", "canDecide", "createdAt", "decidedAt"))
}

// addFlowPaths adds the transition routes of ei, governed by f.
func (b *builder) addFlowPaths(t *openapi3.T, ei *entityInfo, f *schema.Flow) {
	name, title := ei.e.Name, ei.title()
	item := fmt.Sprintf("/api/data/%s/%s/{id}/transitions", b.app.Name, name)
	schemas := t.Components.Schemas

	// The take's fields: those of the flow's transitions the caller may
	// see and write.
	writable := map[string]*schema.Field{}
	for _, fi := range ei.fields {
		if fi.writable {
			writable[fi.f.Name] = fi.f
		}
	}
	fields := typed(openapi3.TypeObject)
	fields.Properties = openapi3.Schemas{}
	fields.AdditionalProperties = openapi3.AdditionalProperties{Has: new(bool)}
	fields.Description = "Values of the fields the transition fills (its `fields`); another field is refused."
	var names []string
	for i := range f.Transitions {
		names = append(names, f.Transitions[i].Name)
		for _, tf := range f.Transitions[i].Fields {
			if fd := writable[tf.Field]; fd != nil && fields.Properties[tf.Field] == nil {
				fields.Properties[tf.Field] = val(b.fieldSchema(fd, modePatch))
			}
		}
	}
	version := openapi3.NewInt64Schema().WithMin(1)
	version.Description = "The record's version the caller read (a stale one answers 409)."
	comment := str().WithMaxLength(4000)
	comment.Description = "The transition's comment, kept in the record's history."
	take := object(openapi3.Schemas{"version": val(version), "fields": val(fields), "comment": val(comment)}, "version")
	take.AdditionalProperties = openapi3.AdditionalProperties{Has: new(bool)}
	take.Title = title + " transition"
	schemas[ei.comp+"Take"] = val(take)
	taken := object(openapi3.Schemas{"record": refTo(t, ei.comp)}, "record")
	taken.Title = title + " moved"
	schemas[ei.comp+"Taken"] = val(taken)
	asked := object(openapi3.Schemas{"approval": refTo(t, approvalName)}, "approval")

	list := b.newOp(ei, "transitions", "Transitions of a "+title,
		fmt.Sprintf("The record's state in flow %s and the transitions leaving it that the caller's roles allow, each with what it still lacks.", f.Name))
	list.OperationID = "transitions_" + name
	list.ok(http.StatusOK, "The state and the transitions.", flowTransitionsName, schemas[flowTransitionsName].Value).errors(commonErrors...)

	takeOp := b.newOp(ei, "take", "Take a transition of a "+title,
		"Moves the record (200), or, for a transition with an approval or a hand-over, records the request (202). "+
			"A transition the record or the caller does not meet answers 422 `"+codeRefused+"` with every lack in `details` "+
			"(/guard, /evidence/<field>, /fields/<field>, /comment, /from, /pending, /roles).")
	takeOp.OperationID = "take_transition_" + name
	takeOp.body("The record's version, the transition's fields and comment.", ei.comp+"Take", take).
		ok(http.StatusOK, "The record as moved.", ei.comp+"Taken", taken)
	takeOp.AddResponse(http.StatusAccepted, openapi3.NewResponse().WithDescription("The request, pending approval (or the receiver's acceptance).").
		WithContent(openapi3.NewContentWithJSONSchema(asked)))
	takeOp.errors(commonErrors...).errors(http.StatusRequestEntityTooLarge)
	takeOp.AddResponse(http.StatusUnprocessableEntity, openapi3.NewResponse().
		WithDescription("`"+codeRefused+"`: what the transition lacks, each at its path; or `validation_failed`: a value it fills is invalid.").
		WithContent(errorContent(b.errSchema)))
	takeOp.conflict("Stale version: the record changed since it was read.")

	idParam := openapi3.NewPathParameter("id").WithSchema(str()).WithDescription("Record id.")
	nameSchema := str()
	for _, n := range names {
		nameSchema.Enum = append(nameSchema.Enum, n)
	}
	nameParam := openapi3.NewPathParameter("name").WithSchema(nameSchema).WithDescription("The transition's name.")
	t.Paths.Set(item, &openapi3.PathItem{Parameters: openapi3.Parameters{{Value: idParam}}, Get: list.Operation})
	t.Paths.Set(item+"/{name}", &openapi3.PathItem{Parameters: openapi3.Parameters{{Value: idParam}, {Value: nameParam}}, Post: takeOp.Operation})
}
