package openapi

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/formaapp/forma/schema"
)

func loadApp(t *testing.T) *schema.App {
	t.Helper()
	raw, err := os.ReadFile("testdata/app.json")
	if err != nil {
		t.Fatal(err)
	}
	var app schema.App
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&app); err != nil {
		t.Fatalf("fixture does not decode into schema.App: %v", err)
	}
	return &app
}

func build(t *testing.T, app *schema.App, opts Options) *openapi3.T {
	t.Helper()
	doc, err := Build(app, opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return doc
}

func component(t *testing.T, doc *openapi3.T, name string) *openapi3.Schema {
	t.Helper()
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		t.Fatalf("no component schema %q", name)
	}
	return ref.Value
}

func prop(t *testing.T, s *openapi3.Schema, name string) *openapi3.Schema {
	t.Helper()
	ref := s.Properties[name]
	if ref == nil || ref.Value == nil {
		t.Fatalf("schema %q has no property %q", s.Title, name)
	}
	return ref.Value
}

func marshal(t *testing.T, doc *openapi3.T) string {
	t.Helper()
	raw, err := JSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestFixtureCoversEveryFieldType(t *testing.T) {
	app := loadApp(t)
	seen := map[schema.FieldType]bool{}
	for _, e := range app.Entities {
		for _, f := range e.Fields {
			seen[f.Type] = true
		}
	}
	for _, ft := range schema.FieldTypes {
		if !seen[ft] {
			t.Errorf("fixture has no %s field", ft)
		}
	}
}

func TestBuildValidDocument(t *testing.T) {
	doc := build(t, loadApp(t), Options{ServerURL: "http://127.0.0.1:8090"})

	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	if doc.Info.Title != "Sales pipeline" || doc.Info.Version != "3" {
		t.Errorf("info = %q %q", doc.Info.Title, doc.Info.Version)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "http://127.0.0.1:8090" {
		t.Errorf("servers = %+v", doc.Servers)
	}
	ss := doc.Components.SecuritySchemes["bearerAuth"]
	if ss == nil || ss.Value.Type != "http" || ss.Value.Scheme != "bearer" {
		t.Errorf("bearerAuth = %+v", ss)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("security = %+v", doc.Security)
	}

	for _, e := range []struct{ name, comp, tag string }{
		{"account", "Account", "Account"}, {"contact", "Contact", "Contact"}, {"opportunity", "Opportunity", "Opportunity"},
	} {
		coll := doc.Paths.Find("/api/data/pipeline/" + e.name)
		item := doc.Paths.Find("/api/data/pipeline/" + e.name + "/{id}")
		if coll == nil || item == nil {
			t.Fatalf("paths of %s missing: %v", e.name, doc.Paths.InMatchingOrder())
		}
		ops := map[string]*openapi3.Operation{
			"list": coll.Get, "create": coll.Post, "get": item.Get, "update": item.Patch, "delete": item.Delete,
		}
		for verb, o := range ops {
			if o == nil {
				t.Fatalf("%s %s: missing", verb, e.name)
			}
			if want := verb + "_" + e.name; o.OperationID != want {
				t.Errorf("operationId = %q, want %q", o.OperationID, want)
			}
			if !slices.Equal(o.Tags, []string{e.tag}) {
				t.Errorf("%s tags = %v", o.OperationID, o.Tags)
			}
			// Error responses, all with the shared Error schema.
			want := []int{400, 401, 403, 404, 500}
			if verb == "create" || verb == "update" {
				want = append(want, 413, 422)
			}
			if verb == "update" {
				want = append(want, 409)
			}
			for _, code := range want {
				r := o.Responses.Status(code)
				if r == nil || r.Value == nil {
					t.Errorf("%s: no %d response", o.OperationID, code)
					continue
				}
				mt := r.Value.Content.Get("application/json")
				if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("%s %d: not the Error schema", o.OperationID, code)
				}
			}
		}
		if r := coll.Get.Responses.Status(200); r == nil ||
			r.Value.Content.Get("application/json").Schema.Ref != "#/components/schemas/"+e.comp+"List" {
			t.Errorf("list_%s 200 is not %sList", e.name, e.comp)
		}
		if r := coll.Post.Responses.Status(201); r == nil ||
			r.Value.Content.Get("application/json").Schema.Ref != "#/components/schemas/"+e.comp {
			t.Errorf("create_%s 201 is not %s", e.name, e.comp)
		}
		if coll.Post.RequestBody.Value.Content.Get("application/json").Schema.Ref != "#/components/schemas/"+e.comp+"Input" {
			t.Errorf("create_%s body is not %sInput", e.name, e.comp)
		}
		if item.Patch.RequestBody.Value.Content.Get("application/json").Schema.Ref != "#/components/schemas/"+e.comp+"Patch" {
			t.Errorf("update_%s body is not %sPatch", e.name, e.comp)
		}
		if r := item.Delete.Responses.Status(204); r == nil || r.Value.Content != nil {
			t.Errorf("delete_%s: no empty 204", e.name)
		}
		for _, n := range []string{e.comp, e.comp + "Input", e.comp + "Patch", e.comp + "List"} {
			component(t, doc, n)
		}
	}

	// account is ref'd with onDelete restrict, contact only with setNull.
	if doc.Paths.Find("/api/data/pipeline/account/{id}").Delete.Responses.Status(409) == nil {
		t.Error("delete_account: no 409 although opportunity.account restricts deletes")
	}

	// List parameters.
	list := doc.Paths.Find("/api/data/pipeline/opportunity").Get
	for _, name := range []string{"filter", "sort", "limit", "cursor", "fields", "expand"} {
		if list.Parameters.GetByInAndName("query", name) == nil {
			t.Errorf("list_opportunity: no %q parameter", name)
		}
	}
	limit := list.Parameters.GetByInAndName("query", "limit").Schema.Value
	if *limit.Min != 1 || *limit.Max != 500 || limit.Default != 50 {
		t.Errorf("limit = min %v max %v default %v", *limit.Min, *limit.Max, limit.Default)
	}
	expand := list.Parameters.GetByInAndName("query", "expand")
	if got := expand.Schema.Value.Items.Value.Enum; !slices.Equal(got, []any{"account", "primary_contact"}) {
		t.Errorf("expand enum = %v", got)
	}
	if expand.Explode == nil || *expand.Explode || expand.Style != "form" {
		t.Error("expand is not a comma list (form, explode=false)")
	}
	if doc.Paths.Find("/api/data/pipeline/account").Get.Parameters.GetByInAndName("query", "expand") != nil {
		t.Error("account has no ref fields, yet list_account offers expand")
	}

	// Error schema.
	errSchema := component(t, doc, "Error")
	if !slices.Equal(errSchema.Required, []string{"error"}) {
		t.Errorf("Error.required = %v", errSchema.Required)
	}
	inner := prop(t, errSchema, "error")
	for _, p := range []string{"code", "message", "details"} {
		prop(t, inner, p)
	}
	detail := prop(t, inner, "details").Items.Value
	prop(t, detail, "path")
	prop(t, detail, "message")

	// List shape.
	ol := component(t, doc, "OpportunityList")
	if prop(t, ol, "items").Items.Ref != "#/components/schemas/Opportunity" {
		t.Error("OpportunityList.items is not Opportunity")
	}
	if nc := prop(t, ol, "nextCursor"); !nc.Type.Is("string") || !nc.Nullable {
		t.Error("nextCursor is not a nullable string")
	}
}

func TestRecordSchema(t *testing.T) {
	doc := build(t, loadApp(t), Options{})
	opp := component(t, doc, "Opportunity")

	for name, want := range map[string]struct {
		typ, format string
		readOnly    bool
	}{
		"id":         {"string", "", true},
		"created_at": {"string", "date-time", true},
		"updated_at": {"string", "date-time", true},
		"created_by": {"string", "", true},
		"owner":      {"string", "", false},
		"version":    {"integer", "int64", true},
	} {
		p := prop(t, opp, name)
		if !p.Type.Is(want.typ) || p.Format != want.format || p.ReadOnly != want.readOnly {
			t.Errorf("%s = %v %q readOnly=%v", name, p.Type, p.Format, p.ReadOnly)
		}
	}

	// Field types.
	for _, c := range []struct {
		entity, field, typ, format string
	}{
		{"Account", "name", "string", ""},
		{"Account", "website", "string", "uri"},
		{"Account", "industry", "string", ""},
		{"Account", "employees", "integer", "int64"},
		{"Account", "annual_revenue", "number", "decimal"},
		{"Account", "account_manager", "string", ""},
		{"Account", "notes", "string", ""},
		{"Account", "open_pipeline", "number", "decimal"},
		{"Account", "deal_count", "integer", "int64"},
		{"Contact", "email", "string", "email"},
		{"Contact", "phone", "string", ""},
		{"Contact", "account", "string", ""},
		{"Contact", "birthday", "string", "date"},
		{"Contact", "do_not_call", "boolean", ""},
		{"Contact", "interests", "array", ""},
		{"Contact", "avatar", "string", ""},
		{"Contact", "full_name", "string", ""},
		{"Opportunity", "number", "integer", "int64"},
		{"Opportunity", "closed_at", "string", "date-time"},
		{"Opportunity", "weighted", "number", "decimal"},
		{"Opportunity", "is_big", "boolean", ""},
	} {
		p := prop(t, component(t, doc, c.entity), c.field)
		if !p.Type.Is(c.typ) || p.Format != c.format {
			t.Errorf("%s.%s = %v %q, want %s %q", c.entity, c.field, p.Type, p.Format, c.typ, c.format)
		}
	}

	// json: the empty schema, nullable.
	if m := prop(t, component(t, doc, "Account"), "metadata"); m.Type != nil || !m.Nullable {
		t.Errorf("metadata = %+v", m)
	}
	// Titles from labels; maxLength; min/max.
	title := prop(t, opp, "title")
	if title.Title != "Title" || title.MaxLength == nil || *title.MaxLength != 200 || title.Nullable {
		t.Errorf("title = %+v", title)
	}
	prob := prop(t, opp, "probability")
	if *prob.Min != 0 || *prob.Max != 100 || !prob.Nullable {
		t.Errorf("probability = %+v", prob)
	}
	amount := prop(t, opp, "amount")
	if amount.MultipleOf != nil || *amount.Min != 0 || *amount.Max != 1e9 || !strings.Contains(amount.Description, "decimal with 2 digits after the point") {
		t.Errorf("amount = %+v", amount)
	}
	// Enums: a required select lists exactly its options; an optional one adds null.
	if got := prop(t, opp, "stage").Enum; !slices.Equal(got, []any{"lead", "qualified", "proposal", "won", "lost"}) {
		t.Errorf("stage enum = %v", got)
	}
	if got := prop(t, component(t, doc, "Account"), "industry").Enum; !slices.Equal(got, []any{"software", "retail", "manufacturing", "services", nil}) {
		t.Errorf("industry enum = %v", got)
	}
	interests := prop(t, component(t, doc, "Contact"), "interests")
	if !interests.UniqueItems || !slices.Equal(interests.Items.Value.Enum, []any{"crm", "analytics", "support"}) {
		t.Errorf("interests = %+v", interests)
	}
	// Refs describe their target.
	if d := prop(t, opp, "account").Description; d != "id of a account record" {
		t.Errorf("account description = %q", d)
	}
	// Computed fields are read-only, described as computed, and absent from bodies.
	for _, c := range []struct{ entity, field string }{
		{"Opportunity", "weighted"}, {"Opportunity", "is_big"}, {"Opportunity", "number"},
		{"Account", "open_pipeline"}, {"Account", "deal_count"}, {"Contact", "full_name"},
	} {
		p := prop(t, component(t, doc, c.entity), c.field)
		if !p.ReadOnly || !strings.HasPrefix(p.Description, "computed") {
			t.Errorf("%s.%s: readOnly=%v description=%q", c.entity, c.field, p.ReadOnly, p.Description)
		}
		for _, body := range []string{"Input", "Patch"} {
			if component(t, doc, c.entity+body).Properties[c.field] != nil {
				t.Errorf("%s%s has computed %s", c.entity, body, c.field)
			}
		}
	}
	// expand: one $ref per ref field, to the target's record schema.
	exp := prop(t, opp, "expand")
	if !exp.ReadOnly || len(exp.Properties) != 2 ||
		exp.Properties["account"].Ref != "#/components/schemas/Account" ||
		exp.Properties["primary_contact"].Ref != "#/components/schemas/Contact" {
		t.Errorf("expand = %+v", exp)
	}
	if component(t, doc, "Account").Properties["expand"] != nil {
		t.Error("Account has no ref fields but an expand property")
	}
}

func TestInputAndPatchSchemas(t *testing.T) {
	doc := build(t, loadApp(t), Options{})

	in := component(t, doc, "OpportunityInput")
	// stage is required but has a default, so a writer may leave it out.
	if got := sorted(in.Required); !slices.Equal(got, []string{"account", "sales_rep", "title"}) {
		t.Errorf("OpportunityInput.required = %v", got)
	}
	if got := sorted(component(t, doc, "ContactInput").Required); !slices.Equal(got, []string{"email", "first_name"}) {
		t.Errorf("ContactInput.required = %v", got)
	}
	if in.AdditionalProperties.Has == nil || *in.AdditionalProperties.Has {
		t.Error("OpportunityInput allows additional properties")
	}
	for _, sys := range []string{"id", "created_at", "updated_at", "created_by", "version", "expand"} {
		if in.Properties[sys] != nil {
			t.Errorf("OpportunityInput has %s", sys)
		}
	}
	prop(t, in, "owner")
	if d := prop(t, in, "stage").Default; d != "lead" {
		t.Errorf("stage default = %v", d)
	}
	if d := prop(t, in, "probability").Default; d != float64(10) {
		t.Errorf("probability default = %v", d)
	}

	patch := component(t, doc, "OpportunityPatch")
	if !slices.Equal(patch.Required, []string{"version"}) {
		t.Errorf("OpportunityPatch.required = %v", patch.Required)
	}
	if v := prop(t, patch, "version"); !v.Type.Is("integer") || v.ReadOnly {
		t.Errorf("patch version = %+v", v)
	}
	if patch.AdditionalProperties.Has == nil || *patch.AdditionalProperties.Has {
		t.Error("OpportunityPatch allows additional properties")
	}
	if len(patch.Properties) != len(in.Properties)+1 {
		t.Errorf("Patch has %d properties, Input %d", len(patch.Properties), len(in.Properties))
	}
	for name := range in.Properties {
		if p := patch.Properties[name]; p == nil || p.Value.Default != nil {
			t.Errorf("patch property %s missing or with a default", name)
		}
	}

	// Decimal input: a number or a numeric string within the field's digits.
	amount := prop(t, in, "amount")
	if len(amount.OneOf) != 2 {
		t.Fatalf("amount input = %+v", amount)
	}
	for _, c := range []struct {
		v  any
		ok bool
	}{
		{12.5, true}, {"12.50", true}, {"-3", true}, {nil, true},
		{"12.505", false}, {"abc", false}, {-1.0, false}, {true, false},
	} {
		err := amount.VisitJSON(c.v)
		if (err == nil) != c.ok {
			t.Errorf("amount %#v: err = %v, want ok=%v", c.v, err, c.ok)
		}
	}
	cost := prop(t, in, "cost_basis") // precision 12, scale 4
	if cost.VisitJSON("12345678.1234") != nil || cost.VisitJSON("123456789.1") == nil {
		t.Error("cost_basis pattern does not follow precision 12 scale 4")
	}
}

func TestPayloadsValidate(t *testing.T) {
	doc := build(t, loadApp(t), Options{})
	in := component(t, doc, "OpportunityInput")
	good := map[string]any{
		"title": "Acme renewal", "amount": "25000.00", "account": "01J0ACC", "sales_rep": "u1",
		"stage": "proposal", "primary_contact": nil, "close_date": "2025-06-30",
	}
	if err := in.VisitJSON(good, openapi3.VisitAsRequest()); err != nil {
		t.Errorf("valid input rejected: %v", err)
	}
	for name, bad := range map[string]map[string]any{
		"unknown field": {"title": "x", "account": "a", "sales_rep": "u", "bogus": 1},
		"computed":      {"title": "x", "account": "a", "sales_rep": "u", "weighted": 1},
		"bad option":    {"title": "x", "account": "a", "sales_rep": "u", "stage": "maybe"},
		"missing":       {"account": "a", "sales_rep": "u"},
		"too long":      {"title": strings.Repeat("x", 201), "account": "a", "sales_rep": "u"},
	} {
		if in.VisitJSON(bad, openapi3.VisitAsRequest()) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	patch := component(t, doc, "OpportunityPatch")
	if err := patch.VisitJSON(map[string]any{"version": 4.0, "stage": "won"}, openapi3.VisitAsRequest()); err != nil {
		t.Errorf("valid patch rejected: %v", err)
	}
	if patch.VisitJSON(map[string]any{"stage": "won"}, openapi3.VisitAsRequest()) == nil {
		t.Error("patch without version accepted")
	}

	record := map[string]any{
		"id": "01J0OPP", "created_at": "2025-01-02T03:04:05Z", "updated_at": "2025-01-02T03:04:05Z",
		"created_by": "u1", "owner": "u1", "version": 1.0, "number": 7.0,
		"title": "Acme renewal", "amount": 25000.0, "probability": 10.0, "stage": "lead",
		"account": "01J0ACC", "primary_contact": nil, "close_date": nil, "closed_at": nil,
		"weighted": 2500.0, "is_big": false, "cost_basis": nil, "sales_rep": "u1",
		"expand": map[string]any{"account": map[string]any{"id": "01J0ACC", "name": "Acme", "version": 2.0}},
	}
	page := map[string]any{"items": []any{record}, "nextCursor": nil}
	if err := component(t, doc, "OpportunityList").VisitJSON(page, openapi3.VisitAsResponse()); err != nil {
		t.Errorf("valid page rejected: %v", err)
	}
}

func TestOptionsFilter(t *testing.T) {
	opts := Options{
		Entities: func(e string) bool { return e != "contact" },
		Fields: func(e, f string) (bool, bool) {
			switch {
			case e == "opportunity" && f == "cost_basis":
				return false, false
			case e == "opportunity" && f == "probability":
				return true, false
			case e == "opportunity" && f == "weighted":
				return true, true // computed stays read-only whatever the filter says
			}
			return true, true
		},
	}
	doc := build(t, loadApp(t), opts)
	raw := marshal(t, doc)

	// The hidden field appears nowhere.
	if strings.Contains(raw, "cost_basis") {
		t.Error("hidden field cost_basis appears in the document")
	}
	// The excluded entity: no paths, no schemas, no tag, no fields, no expand.
	if strings.Contains(raw, "/api/data/pipeline/contact") || strings.Contains(raw, "first_name") ||
		strings.Contains(raw, "#/components/schemas/Contact") {
		t.Error("excluded entity contact leaks into the document")
	}
	for name := range doc.Components.Schemas {
		if strings.HasPrefix(name, "Contact") {
			t.Errorf("schema %s of excluded entity", name)
		}
	}
	for _, tag := range doc.Tags {
		if tag.Name == "Contact" {
			t.Error("tag of excluded entity")
		}
	}
	opp := component(t, doc, "Opportunity")
	if pc := prop(t, opp, "primary_contact"); pc.Description != "id of a related record" {
		t.Errorf("ref to excluded entity described as %q", pc.Description)
	}
	exp := prop(t, opp, "expand")
	if _, ok := exp.Properties["primary_contact"]; ok || exp.Properties["account"] == nil {
		t.Errorf("expand = %v", exp.Properties)
	}
	list := doc.Paths.Find("/api/data/pipeline/opportunity").Get
	if got := list.Parameters.GetByInAndName("query", "expand").Schema.Value.Items.Value.Enum; !slices.Equal(got, []any{"account"}) {
		t.Errorf("expand enum = %v", got)
	}
	// Non-writable: read-only in the record, absent from the bodies.
	if !prop(t, opp, "probability").ReadOnly {
		t.Error("non-writable probability is not readOnly")
	}
	for _, body := range []string{"OpportunityInput", "OpportunityPatch"} {
		s := component(t, doc, body)
		if s.Properties["probability"] != nil || s.Properties["weighted"] != nil {
			t.Errorf("%s has a non-writable field", body)
		}
		if s.Properties["title"] == nil {
			t.Errorf("%s lost a writable field", body)
		}
	}
	// Other entities are untouched.
	if doc.Paths.Find("/api/data/pipeline/account") == nil {
		t.Error("account paths missing")
	}

	// Excluding everything still gives a valid (empty) document.
	empty := build(t, loadApp(t), Options{Entities: func(string) bool { return false }})
	if empty.Paths.Len() != 0 {
		t.Errorf("paths = %v", empty.Paths.InMatchingOrder())
	}
}

func TestRoundTrip(t *testing.T) {
	for _, opts := range []Options{{}, {ServerURL: "https://forma.example.com"}} {
		doc := build(t, loadApp(t), opts)
		raw, err := JSON(doc)
		if err != nil {
			t.Fatal(err)
		}
		loaded, err := openapi3.NewLoader().LoadFromData(raw)
		if err != nil {
			t.Fatalf("LoadFromData: %v", err)
		}
		if err := loaded.Validate(context.Background()); err != nil {
			t.Fatalf("reloaded document invalid: %v", err)
		}
		if loaded.Paths.Len() != doc.Paths.Len() || len(loaded.Components.Schemas) != len(doc.Components.Schemas) {
			t.Error("round trip lost paths or schemas")
		}
		want := opts.ServerURL
		if want == "" {
			want = "/"
		}
		if loaded.Servers[0].URL != want {
			t.Errorf("server = %q, want %q", loaded.Servers[0].URL, want)
		}
		// Marshalling again gives the same bytes.
		again, err := JSON(loaded)
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(raw) {
			t.Error("document changes on a second round trip")
		}
	}
}

func TestComponentNames(t *testing.T) {
	app := &schema.App{Name: "shop", Entities: []schema.Entity{
		{Name: "sales_order", Fields: []schema.Field{{ID: "1", Name: "total", Type: schema.Decimal}}},
		{Name: "sales_order_input", Fields: []schema.Field{{ID: "2", Name: "note", Type: schema.Text}}},
		{Name: "error", Fields: []schema.Field{{ID: "3", Name: "message", Type: schema.Text}}},
		{Name: "line2", Fields: []schema.Field{{ID: "4", Name: "order", Type: schema.Ref, Entity: "sales_order"}}},
	}}
	doc := build(t, app, Options{})
	for _, n := range []string{"SalesOrder", "SalesOrderInput", "SalesOrderPatch", "SalesOrderList",
		"SalesOrderInput2", "SalesOrderInput2Input", "Error", "Error2", "Error2Patch", "Line2", "Line2List"} {
		component(t, doc, n)
	}
	if component(t, doc, "Error").Properties["error"] == nil {
		t.Error("entity error replaced the Error schema")
	}
	if doc.Info.Title != "shop" || doc.Info.Version != "0" {
		t.Errorf("info = %q %q", doc.Info.Title, doc.Info.Version)
	}
	if doc.Servers[0].URL != "/" {
		t.Errorf("server = %q", doc.Servers[0].URL)
	}
	if got := pascal("a_b__c9_d"); got != "ABC9D" {
		t.Errorf("pascal = %q", got)
	}
}

func TestDefaultsAndEdgeCases(t *testing.T) {
	app := &schema.App{Name: "x", Label: "X", Entities: []schema.Entity{{Name: "thing", Label: "Thing", Fields: []schema.Field{
		{ID: "1", Name: "count", Type: schema.Integer, Required: true, Default: json.RawMessage(`"many"`)},
		{ID: "2", Name: "when", Type: schema.Date, Default: json.RawMessage(`"2025-01-01"`)},
		{ID: "3", Name: "price", Type: schema.Decimal, Scale: new(0), Default: json.RawMessage(`"10"`), Currency: "CNY"},
		{ID: "4", Name: "tags", Type: schema.MultiSelect, Options: []string{"a", "b"}, Default: json.RawMessage(`["a"]`)},
		{ID: "5", Name: "expand", Type: schema.Text}, // shadows the expand object
		{ID: "6", Name: "parent", Type: schema.Ref, Entity: "thing"},
		{ID: "7", Name: "total", Type: schema.Rollup, Rollup: &schema.RollupSpec{Entity: "thing", Via: "parent", Op: "count"}},
	}}, {Name: "other", Label: "Thing", Fields: []schema.Field{}}}}
	doc := build(t, app, Options{})
	in := component(t, doc, "ThingInput")
	if prop(t, in, "count").Default != nil {
		t.Error("invalid default kept")
	}
	if !slices.Contains(in.Required, "count") {
		t.Error("required field whose default is invalid is not required")
	}
	if prop(t, in, "when").Default != "2025-01-01" || prop(t, in, "price").Default != "10" {
		t.Error("valid defaults dropped")
	}
	if d, ok := prop(t, in, "tags").Default.([]any); !ok || len(d) != 1 {
		t.Error("multiselect default dropped")
	}
	if err := prop(t, in, "price").VisitJSON("10.5"); err == nil {
		t.Error("scale 0 decimal accepted a fraction")
	}
	if d := prop(t, in, "price").Description; !strings.Contains(d, "money in CNY") {
		t.Errorf("price description lacks its currency: %q", d)
	}
	rec := component(t, doc, "Thing")
	if e := prop(t, rec, "expand"); !e.Type.Is("string") {
		t.Error("field named expand lost to the expand object")
	}
	if doc.Paths.Find("/api/data/x/thing").Get.Parameters.GetByInAndName("query", "expand") != nil {
		t.Error("expand parameter offered although a field takes its name")
	}
	if total := prop(t, rec, "total"); !total.Type.Is("integer") || !total.ReadOnly {
		t.Errorf("count rollup = %+v", total)
	}
	// Two entities with the same label get distinct tags.
	if len(doc.Tags) != 2 || doc.Tags[0].Name == doc.Tags[1].Name {
		t.Errorf("tags = %v, %v", doc.Tags[0].Name, doc.Tags[1].Name)
	}
}

func TestBuildRefusesBrokenDocuments(t *testing.T) {
	field := func(name string, typ schema.FieldType) schema.Field {
		return schema.Field{ID: name, Name: name, Type: typ}
	}
	for name, app := range map[string]*schema.App{
		"nil":             nil,
		"bad app name":    {Name: "Bad Name"},
		"bad entity name": {Name: "a", Entities: []schema.Entity{{Name: "9x"}}},
		"dup entity":      {Name: "a", Entities: []schema.Entity{{Name: "e"}, {Name: "e"}}},
		"dup field":       {Name: "a", Entities: []schema.Entity{{Name: "e", Fields: []schema.Field{field("f", schema.Text), field("f", schema.Text)}}}},
		"system column":   {Name: "a", Entities: []schema.Entity{{Name: "e", Fields: []schema.Field{field("version", schema.Integer)}}}},
		"unknown type":    {Name: "a", Entities: []schema.Entity{{Name: "e", Fields: []schema.Field{field("f", "money")}}}},
		"empty field":     {Name: "a", Entities: []schema.Entity{{Name: "e", Fields: []schema.Field{field("", schema.Text)}}}},
	} {
		if _, err := Build(app, Options{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := JSON(nil); err == nil {
		t.Error("JSON(nil): no error")
	}
}

func benchApp(b *testing.B) *schema.App {
	raw, err := os.ReadFile("testdata/app.json")
	if err != nil {
		b.Fatal(err)
	}
	var app schema.App
	if err := json.Unmarshal(raw, &app); err != nil {
		b.Fatal(err)
	}
	return &app
}

func BenchmarkBuild(b *testing.B) {
	app := benchApp(b)
	for b.Loop() {
		if _, err := Build(app, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJSON(b *testing.B) {
	doc, err := Build(benchApp(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := JSON(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDump writes the fixture's document to $FORMA_OPENAPI_DUMP, for eyeballing.
func TestDump(t *testing.T) {
	path := os.Getenv("FORMA_OPENAPI_DUMP")
	if path == "" {
		t.Skip("set FORMA_OPENAPI_DUMP=file to write the fixture's document")
	}
	if err := os.WriteFile(path, []byte(marshal(t, build(t, loadApp(t), Options{}))), 0o644); err != nil {
		t.Fatal(err)
	}
}
