// Package openapi describes an app's data API (the /api/data routes of
// DESIGN.md, with the approvals inbox of an app with flows and the app's
// public inbound endpoints) as an OpenAPI 3.0.3 document built with
// kin-openapi.
//
// Build is pure: it reads an app document and two optional filters that access
// control supplies, so one role's document shows only the entities and fields
// that role may use. The API layer serves the result at
// GET /api/meta/apps/{app}/openapi.json.
package openapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/formaapp/forma/schema"
)

// Version is the OpenAPI version of the documents Build produces.
const Version = "3.0.3"

// Options tune the document Build produces.
type Options struct {
	// ServerURL is the base URL the API is served from, e.g.
	// "http://127.0.0.1:8090". Empty means "/" (same origin as the document).
	ServerURL string

	// Entities, when set, says which entities to include; nil includes all.
	// An excluded entity gets no paths and no schemas, and ref fields that
	// point at it are not expandable.
	Entities func(entity string) bool

	// Fields, when set, says whether a declared field of an included entity is
	// visible and writable; nil makes every field both. An invisible field
	// appears nowhere in the document; a visible but non-writable one appears
	// only (read-only) in the record schema. It is asked about the entity's
	// declared fields only: the system columns (id, created_at, updated_at,
	// created_by, owner, version) are always described. Computed fields
	// (formula, rollup, autonumber) are never writable, whatever it answers.
	Fields func(entity, field string) (visible, writable bool)
}

var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// Build describes the data API of app as an OpenAPI 3.0.3 document: list,
// create, get, update and delete for each entity, with schemas for records,
// create bodies, patch bodies, list pages and errors.
//
// It fails only on a document that cannot be described: nil, a name that is
// not a valid app/entity name, duplicate entity or field names, a field that
// reuses a system column name, or an unknown field type.
func Build(app *schema.App, opts Options) (*openapi3.T, error) {
	if app == nil {
		return nil, errors.New("openapi: nil app")
	}
	b := &builder{app: app, opts: opts, byName: map[string]*entityInfo{}}
	if err := b.collect(); err != nil {
		return nil, err
	}
	return b.document(), nil
}

// JSON marshals a document built by Build (indented, keys sorted).
func JSON(t *openapi3.T) ([]byte, error) {
	if t == nil {
		return nil, errors.New("openapi: nil document")
	}
	return json.MarshalIndent(t, "", "  ")
}

// builder holds the state of one Build call.
type builder struct {
	app    *schema.App
	opts   Options
	ents   []*entityInfo // included entities, in document order
	byName map[string]*entityInfo
	// deleteConflict lists entities that another entity refs with onDelete
	// restrict, so deleting one of their records can answer 409.
	deleteConflict map[string]bool

	errSchema    *openapi3.Schema
	errResponses openapi3.ResponseBodies
}

// entityInfo is one included entity and what the caller may see of it.
type entityInfo struct {
	e      *schema.Entity
	comp   string // component schema base name, e.g. "Opportunity"
	tag    string
	fields []fieldInfo // visible declared fields, in document order
	record *openapi3.Schema
}

type fieldInfo struct {
	f        *schema.Field
	writable bool
}

func (ei *entityInfo) title() string {
	if ei.e.Label != "" {
		return ei.e.Label
	}
	return ei.e.Name
}

// collect checks the document and resolves the options into entityInfos.
func (b *builder) collect() error {
	if !nameRe.MatchString(b.app.Name) {
		return fmt.Errorf("openapi: invalid app name %q", b.app.Name)
	}
	seen := map[string]bool{}
	b.deleteConflict = map[string]bool{}
	for i := range b.app.Entities {
		e := &b.app.Entities[i]
		if !nameRe.MatchString(e.Name) {
			return fmt.Errorf("openapi: entity %d: invalid name %q", i, e.Name)
		}
		if seen[e.Name] {
			return fmt.Errorf("openapi: duplicate entity %q", e.Name)
		}
		seen[e.Name] = true
		fseen := map[string]bool{}
		for j := range e.Fields {
			f := &e.Fields[j]
			switch {
			case f.Name == "":
				return fmt.Errorf("openapi: entity %q field %d: empty name", e.Name, j)
			case fseen[f.Name]:
				return fmt.Errorf("openapi: entity %q: duplicate field %q", e.Name, f.Name)
			case slices.Contains(schema.SystemColumns, f.Name):
				return fmt.Errorf("openapi: entity %q: field %q reuses a system column name", e.Name, f.Name)
			case !slices.Contains(schema.FieldTypes, f.Type):
				return fmt.Errorf("openapi: entity %q field %q: unknown type %q", e.Name, f.Name, f.Type)
			}
			fseen[f.Name] = true
			if f.Type == schema.Ref && (f.OnDelete == "" || f.OnDelete == "restrict") {
				b.deleteConflict[f.Entity] = true
			}
		}
	}

	names := newNamer(len(b.app.Flows) > 0, len(b.app.Assignments) > 0)
	tags := map[string]bool{}
	for i := range b.app.Entities {
		e := &b.app.Entities[i]
		if b.opts.Entities != nil && !b.opts.Entities(e.Name) {
			continue
		}
		ei := &entityInfo{e: e, comp: names.entity(e.Name), record: &openapi3.Schema{}}
		ei.tag = ei.title()
		if tags[ei.tag] {
			ei.tag = fmt.Sprintf("%s (%s)", ei.tag, e.Name)
		}
		tags[ei.tag] = true
		for j := range e.Fields {
			f := &e.Fields[j]
			visible, writable := true, true
			if b.opts.Fields != nil {
				visible, writable = b.opts.Fields(e.Name, f.Name)
			}
			if !visible {
				continue
			}
			ei.fields = append(ei.fields, fieldInfo{f: f, writable: writable && !f.Type.Computed()})
		}
		b.ents = append(b.ents, ei)
		b.byName[e.Name] = ei
	}
	return nil
}

// expandable reports the ref fields of ei that ?expand= may follow: visible
// refs whose target entity is included.
func (b *builder) expandable(ei *entityInfo) []fieldInfo {
	if ei.e.Field(expandProp) != nil {
		return nil // a declared field named "expand" takes the property's place
	}
	var out []fieldInfo
	for _, fi := range ei.fields {
		if fi.f.Type == schema.Ref && b.byName[fi.f.Entity] != nil {
			out = append(out, fi)
		}
	}
	return out
}

func (b *builder) document() *openapi3.T {
	title := b.app.Label
	if title == "" {
		title = b.app.Name
	}
	desc := fmt.Sprintf("Data API of the Forma app %q. ", b.app.Name)
	if b.app.Description != "" {
		desc = b.app.Description + "\n\n" + desc
	}
	desc += "Every call needs `Authorization: Bearer <token>` (from `POST /api/auth/login`). " +
		"Errors are JSON: `{\"error\": {\"code\", \"message\", \"details\"}}`."

	b.errSchema = errorSchema()
	b.errResponses = errorResponses(b.errSchema)

	server := b.opts.ServerURL
	if server == "" {
		server = "/"
	}

	t := &openapi3.T{
		OpenAPI: Version,
		Info: &openapi3.Info{
			Title:       title,
			Description: desc,
			Version:     fmt.Sprint(b.app.Version),
		},
		Servers: openapi3.Servers{{URL: server}},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				securityScheme: {Value: &openapi3.SecurityScheme{
					Type:        "http",
					Scheme:      "bearer",
					Description: "Token from POST /api/auth/login.",
				}},
			},
			Responses: b.errResponses,
		},
		Security: openapi3.SecurityRequirements{{securityScheme: []string{}}},
	}
	t.Components.Schemas[errorSchemaName] = &openapi3.SchemaRef{Value: b.errSchema}

	if len(b.app.Flows) > 0 {
		addFlowComponents(t)
	}
	if len(b.app.Assignments) > 0 {
		addAssignComponents(t)
	}
	// Record schemas first: expand properties of one entity $ref another's.
	for _, ei := range b.ents {
		t.Components.Schemas[ei.comp] = &openapi3.SchemaRef{Value: ei.record}
	}
	for _, ei := range b.ents {
		b.fillRecord(ei)
		t.Components.Schemas[ei.comp+"Input"] = &openapi3.SchemaRef{Value: b.inputSchema(ei)}
		t.Components.Schemas[ei.comp+"Patch"] = &openapi3.SchemaRef{Value: b.patchSchema(ei)}
		t.Components.Schemas[ei.comp+"List"] = &openapi3.SchemaRef{Value: listSchema(ei)}
		t.Tags = append(t.Tags, &openapi3.Tag{Name: ei.tag, Description: fmt.Sprintf("Records of %s (`%s`).", ei.title(), ei.e.Name)})
		b.addPaths(t, ei)
		if f := b.app.FlowOf(ei.e.Name); f != nil {
			b.addFlowPaths(t, ei, f)
		}
		for i := range b.app.Assignments {
			if b.app.Assignments[i].Entity == ei.e.Name {
				b.addAssignPaths(t, ei)
				break
			}
		}
	}
	if len(b.app.Flows) > 0 {
		b.addApprovalPaths(t) // connectors.go
	}
	b.addConnectorPaths(t) // connectors.go
	return t
}
