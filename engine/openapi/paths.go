package openapi

import (
	"fmt"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

// Shared error responses, in components.responses.
const (
	respBadRequest   = "BadRequest"
	respUnauthorized = "Unauthorized"
	respForbidden    = "Forbidden"
	respNotFound     = "NotFound"
	respTooLarge     = "PayloadTooLarge"
	respValidation   = "ValidationFailed"
	respInternal     = "InternalError"
)

var errorDescriptions = []struct {
	name, desc string
}{
	{respBadRequest, "Bad request: the body or a parameter cannot be understood (invalid_json, invalid_filter, …)."},
	{respUnauthorized, "No valid bearer token."},
	{respForbidden, "The caller's role may not do this."},
	{respNotFound, "No such app, entity or record (or the caller may not see it)."},
	{respTooLarge, "The request body is too large."},
	{respValidation, "validation_failed: values break the entity's field rules; `details` lists each one."},
	{respInternal, "Unexpected server error."},
}

// errorResponses builds the shared error responses (components.responses)
// around the Error schema es.
func errorResponses(es *openapi3.Schema) openapi3.ResponseBodies {
	out := openapi3.ResponseBodies{}
	for _, d := range errorDescriptions {
		out[d.name] = &openapi3.ResponseRef{Value: openapi3.NewResponse().
			WithDescription(d.desc).
			WithContent(errorContent(es))}
	}
	return out
}

func errorContent(es *openapi3.Schema) openapi3.Content {
	return openapi3.NewContentWithJSONSchemaRef(&openapi3.SchemaRef{Ref: ref(errorSchemaName), Value: es})
}

// op is one operation being assembled.
type op struct {
	*openapi3.Operation
	b *builder
}

func (b *builder) newOp(ei *entityInfo, verb, summary, desc string) op {
	o := openapi3.NewOperation()
	o.OperationID = verb + "_" + ei.e.Name
	o.Tags = []string{ei.tag}
	o.Summary = summary
	o.Description = desc
	o.Responses = openapi3.NewResponses()
	return op{o, b}
}

func (o op) ok(status int, desc string, schemaName string, value *openapi3.Schema) op {
	r := openapi3.NewResponse().WithDescription(desc)
	if schemaName != "" {
		r.Content = openapi3.NewContentWithJSONSchemaRef(&openapi3.SchemaRef{Ref: ref(schemaName), Value: value})
	}
	o.AddResponse(status, r)
	return o
}

func (o op) errors(status ...int) op {
	names := map[int]string{
		http.StatusBadRequest:            respBadRequest,
		http.StatusUnauthorized:          respUnauthorized,
		http.StatusForbidden:             respForbidden,
		http.StatusNotFound:              respNotFound,
		http.StatusRequestEntityTooLarge: respTooLarge,
		http.StatusUnprocessableEntity:   respValidation,
		http.StatusInternalServerError:   respInternal,
	}
	for _, s := range status {
		name := names[s]
		o.Responses.Set(fmt.Sprint(s), &openapi3.ResponseRef{
			Ref:   "#/components/responses/" + name,
			Value: o.b.errResponses[name].Value,
		})
	}
	return o
}

func (o op) conflict(desc string) op {
	o.AddResponse(http.StatusConflict, openapi3.NewResponse().WithDescription(desc).WithContent(errorContent(o.b.errSchema)))
	return o
}

func (o op) body(desc, schemaName string, value *openapi3.Schema) op {
	o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().
		WithDescription(desc).
		WithRequired(true).
		WithJSONSchemaRef(&openapi3.SchemaRef{Ref: ref(schemaName), Value: value})}
	return o
}

var commonErrors = []int{
	http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
	http.StatusNotFound, http.StatusInternalServerError,
}

var bodyErrors = append(append([]int{}, commonErrors...),
	http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)

func (b *builder) addPaths(t *openapi3.T, ei *entityInfo) {
	name, title := ei.e.Name, ei.title()
	coll := fmt.Sprintf("/api/data/%s/%s", b.app.Name, name)
	schemas := t.Components.Schemas
	rec := ei.record

	list := b.newOp(ei, "list", "List "+title,
		"Pages through the records the caller may see, filtered and sorted.")
	list.Parameters = b.listParams(ei)
	list.ok(http.StatusOK, "One page of records.", ei.comp+"List", schemas[ei.comp+"List"].Value).errors(commonErrors...)

	create := b.newOp(ei, "create", "Create "+title, "")
	create.body("The new record.", ei.comp+"Input", schemas[ei.comp+"Input"].Value).
		ok(http.StatusCreated, "The record as stored, with its id and version.", ei.comp, rec).
		errors(bodyErrors...)

	get := b.newOp(ei, "get", "Get "+title, "")
	get.ok(http.StatusOK, "The record.", ei.comp, rec).errors(commonErrors...)

	update := b.newOp(ei, "update", "Update "+title,
		"Changes the fields sent. `version` must match the stored record (optimistic lock).")
	update.body("The changes and the version they are based on.", ei.comp+"Patch", schemas[ei.comp+"Patch"].Value).
		ok(http.StatusOK, "The record as stored after the change.", ei.comp, rec).
		errors(bodyErrors...).
		conflict("Stale version: the record changed since it was read. Fetch it again and retry.")

	del := b.newOp(ei, "delete", "Delete "+title, "")
	del.ok(http.StatusNoContent, "Deleted.", "", nil).errors(commonErrors...)
	if b.deleteConflict[name] {
		del.conflict("Other records still ref this one (onDelete restrict).")
	}

	idParam := openapi3.NewPathParameter("id").WithSchema(str()).WithDescription("Record id.")
	t.Paths.Set(coll, &openapi3.PathItem{Get: list.Operation, Post: create.Operation})
	t.Paths.Set(coll+"/{id}", &openapi3.PathItem{
		Parameters: openapi3.Parameters{{Value: idParam}},
		Get:        get.Operation,
		Patch:      update.Operation,
		Delete:     del.Operation,
	})
}

// commaList describes a query parameter sent as a comma-separated list.
func commaList(name, desc string, values []string) *openapi3.Parameter {
	item := str()
	for _, v := range values {
		item.Enum = append(item.Enum, v)
	}
	no := false
	p := openapi3.NewQueryParameter(name).WithDescription(desc).
		WithSchema(openapi3.NewArraySchema().WithItems(item))
	p.Style = openapi3.SerializationForm
	p.Explode = &no
	return p
}

func (b *builder) listParams(ei *entityInfo) openapi3.Parameters {
	readable := []string{"id", "created_at", "updated_at", "created_by", "owner", "version"}
	for _, fi := range ei.fields {
		readable = append(readable, fi.f.Name)
	}

	filter := openapi3.NewQueryParameter("filter").WithSchema(str()).WithDescription(
		"Filter expression over the entity's fields, e.g. " +
			"`amount >= 1000 && (stage = \"won\" || stage = \"lost\") && title ~ \"acme\" && closed_at != null`. " +
			"Operators: `= != > >= < <= ~ !~ in`, combined with `&& || !` and parentheses. " +
			"Only fields the caller may read can be used.")

	sort := openapi3.NewQueryParameter("sort").WithSchema(str()).WithDescription(
		"Comma-separated fields to sort by, `-` for descending, e.g. `-amount,title`.")
	sort.Example = "-created_at"

	limit := openapi3.NewQueryParameter("limit").WithDescription("Page size.").
		WithSchema(openapi3.NewIntegerSchema().WithMin(1).WithMax(500).WithDefault(50))

	cursor := openapi3.NewQueryParameter("cursor").WithSchema(str()).
		WithDescription("`nextCursor` of the previous page.")

	params := openapi3.Parameters{
		{Value: filter}, {Value: sort}, {Value: limit}, {Value: cursor},
		{Value: commaList("fields", "Comma-separated properties to return (default: all).", readable)},
	}
	if refs := b.expandable(ei); len(refs) > 0 {
		var names []string
		for _, fi := range refs {
			names = append(names, fi.f.Name)
		}
		params = append(params, &openapi3.ParameterRef{Value: commaList("expand",
			"Comma-separated ref fields whose records to embed under `expand`.", names)})
	}
	return params
}
