// Package schema holds the metadata model of a Forma app: the Go types of an
// app document, the JSON Schema that every document must satisfy, the
// semantic checks on top of it, and the diff between two versions.
//
// The package is pure: it knows nothing about databases or HTTP, so the CLI,
// the engine and tests can all use it on a document alone.
package schema

import "encoding/json"

// App is one app document: everything Forma needs to build tables, an API,
// and (in later capabilities) forms, flows, automations and dashboards.
type App struct {
	Name        string            `json:"name"`
	Label       string            `json:"label,omitempty"`
	Labels      Labels            `json:"labels,omitempty"`
	Description string            `json:"description,omitempty"`
	Version     int               `json:"version,omitempty"` // assigned by the server on apply; ignored on input
	Entities    []Entity          `json:"entities"`
	Scripts     map[string]string `json:"scripts,omitempty"`

	// Forms are the UI's record forms and list views (forms.go). The
	// sections after them belong to capabilities that interpret them; the
	// core engine stores them verbatim so one document carries a whole app.
	Forms       []Form       `json:"forms,omitempty"`
	Flows       []Flow       `json:"flows,omitempty"`       // flows.go
	Automations []Automation `json:"automations,omitempty"` // automations.go
	Dashboards  []Dashboard  `json:"dashboards,omitempty"`  // dashboards.go
	Assignments []Assignment `json:"assignments,omitempty"` // assignments.go
	Matching    []Matching   `json:"matching,omitempty"`    // matching.go
	Connectors  []Connector  `json:"connectors,omitempty"`  // plugins.go: inbound endpoints
	Roles       []Role       `json:"roles,omitempty"`

	// Settings tune how the app runs; nil means the defaults.
	Settings *Settings `json:"settings,omitempty"`
}

// Labels are a label's variants by language tag ("en", "zh-CN"): "label"
// is the one shown when the user's language has no variant of its own.
// The same map gives texts their variants: a form section's "titles", a
// validation's or notify action's "messages", a transition's
// "guardMessages".
type Labels map[string]string

// In is the variant for lang, else fallback: the single string that goes
// with the map ("label", "title", "message").
func (l Labels) In(lang, fallback string) string {
	if v := l[lang]; v != "" {
		return v
	}
	return fallback
}

// Settings are per-app options.
type Settings struct {
	// ScriptTimeoutMS is the wall-time limit of one script call (a hook, a
	// formula evaluation, a validation) in milliseconds; 0 means 100.
	ScriptTimeoutMS int `json:"scriptTimeoutMs,omitempty"`
	// MaxFileMB is the largest upload the app's file fields take, in
	// megabytes (1 to 100); 0 means 10.
	MaxFileMB int `json:"maxFileMB,omitempty"`
	// MaxImportMB is the largest spreadsheet an import takes, in megabytes
	// (1 to 1024); 0 means 200.
	MaxImportMB int `json:"maxImportMB,omitempty"`
}

// Validation is a rule every saved record of an entity must meet: Expr is a
// formula-language expression over the record's fields (and ref.field) that
// must be true; when it is not, Message is reported, at Field when given.
type Validation struct {
	Expr    string `json:"expr"`
	Message string `json:"message"`
	// Messages is Message per language; Message is the fallback.
	Messages Labels `json:"messages,omitempty"`
	Field    string `json:"field,omitempty"`
}

// Entity is one kind of record; it becomes one table named "<app>_<entity>".
type Entity struct {
	// ID is optional and stable across versions: when present, a changed name
	// is a rename (the table keeps its data). Without it, entities match by name.
	ID     string  `json:"id,omitempty"`
	Name   string  `json:"name"`
	Label  string  `json:"label,omitempty"`
	Labels Labels  `json:"labels,omitempty"`
	Fields []Field `json:"fields"`
	// Reference marks shared master data (stores, products, regions):
	// every role of the app may read all of its records, whatever its
	// own rules say; writing it stays as the roles grant.
	Reference bool              `json:"reference,omitempty"`
	Indexes   []Index           `json:"indexes,omitempty"`
	Hooks     map[string]string `json:"hooks,omitempty"`
	// Validations are checked on every create and update, after the
	// beforeSave hook and the formulas; every failing rule is reported.
	Validations []Validation `json:"validations,omitempty"`
}

// Field is one typed column of an entity. Fields are matched across versions
// by ID, so renaming a field keeps its data.
type Field struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Label    string    `json:"label,omitempty"`
	Labels   Labels    `json:"labels,omitempty"`
	Type     FieldType `json:"type"`
	Required bool      `json:"required,omitempty"`
	Unique   bool      `json:"unique,omitempty"`

	// text-like fields
	MaxLength *int `json:"maxLength,omitempty"`

	// integer and decimal fields; numbers are kept as written so decimals stay exact.
	Min       *json.Number `json:"min,omitempty"`
	Max       *json.Number `json:"max,omitempty"`
	Precision *int         `json:"precision,omitempty"` // decimal: total digits, default 18
	Scale     *int         `json:"scale,omitempty"`     // decimal: digits after the point, default 2
	// Currency makes a number money: an ISO 4217 code ("CNY", "USD") the UI
	// shows the value in, with thousands separators and the field's scale,
	// in the user's language. Display only: values and filters stay numbers.
	Currency string `json:"currency,omitempty"`

	// select and multiselect
	Options []string `json:"options,omitempty"`
	// OptionLabels shows options in other languages: option → language →
	// label ("won": {"zh-CN": "赢单"}). The option itself, in any language,
	// is what records store and filters compare.
	OptionLabels map[string]Labels `json:"optionLabels,omitempty"`

	// Default is the value a new record gets when the writer leaves the field out.
	Default json.RawMessage `json:"default,omitempty"`

	// ref fields
	Entity   string `json:"entity,omitempty"`   // target entity name in the same app
	OnDelete string `json:"onDelete,omitempty"` // restrict (default), cascade, setNull

	// formula fields
	Expr string `json:"expr,omitempty"`

	// formula and rollup fields: the stored type of the computed value.
	Returns FieldType `json:"returns,omitempty"`

	// rollup fields
	Rollup *RollupSpec `json:"rollup,omitempty"`
}

// RollupSpec aggregates the records of another entity that ref this one, e.g. an
// order's total from its lines.
type RollupSpec struct {
	Entity string `json:"entity"`          // child entity
	Via    string `json:"via"`             // child's ref field pointing at this entity
	Op     string `json:"op"`              // count, sum, min, max, avg
	Field  string `json:"field,omitempty"` // child field aggregated (not for count)
	Filter string `json:"filter,omitempty"`
	// Visibility says whose children the value counts: RollupAll (the
	// default) stores one value over every child, the same for every
	// reader; RollupReader aggregates, for each reader, only the children
	// that reader may read.
	Visibility string `json:"visibility,omitempty"`
}

// Rollup visibilities (RollupSpec.Visibility).
const (
	RollupAll    = "all"
	RollupReader = "reader"
)

// RollupVisibilities are the values RollupSpec.Visibility may take.
var RollupVisibilities = []string{RollupAll, RollupReader}

// PerReader reports whether the rollup's value depends on who reads it.
func (r *RollupSpec) PerReader() bool { return r != nil && r.Visibility == RollupReader }

// Index is a database index over one or more fields of an entity. A field
// written "-name" is descending in the index: an index in a sort's mixed
// directions ("-severity", "subject") serves that sort without sorting.
type Index struct {
	Name   string   `json:"name,omitempty"`
	Fields []string `json:"fields"`
	Unique bool     `json:"unique,omitempty"`
}

// IndexFieldPattern is what an index entry matches: a name, "-" before it
// for a descending column.
const IndexFieldPattern = "^-?[a-z][a-z0-9_]{0,62}$"

// IndexField splits an index entry into its field name and direction.
func IndexField(entry string) (name string, desc bool) {
	if len(entry) > 0 && entry[0] == '-' {
		return entry[1:], true
	}
	return entry, false
}

// FieldType names the kind of value a field holds.
type FieldType string

// The field types of DESIGN.md.
const (
	Text        FieldType = "text"
	LongText    FieldType = "longtext"
	Integer     FieldType = "integer"
	Decimal     FieldType = "decimal"
	Boolean     FieldType = "boolean"
	Date        FieldType = "date"
	DateTime    FieldType = "datetime"
	Select      FieldType = "select"
	MultiSelect FieldType = "multiselect"
	Email       FieldType = "email"
	Phone       FieldType = "phone"
	URL         FieldType = "url"
	Ref         FieldType = "ref"
	User        FieldType = "user"
	File        FieldType = "file"
	JSON        FieldType = "json"
	Formula     FieldType = "formula"
	Rollup      FieldType = "rollup"
	AutoNumber  FieldType = "autonumber"
)

// FieldTypes lists every field type in the order DESIGN.md gives them.
var FieldTypes = []FieldType{Text, LongText, Integer, Decimal, Boolean, Date, DateTime,
	Select, MultiSelect, Email, Phone, URL, Ref, User, File, JSON, Formula, Rollup, AutoNumber}

// Computed reports whether values of this type are produced by the engine
// (formula, rollup, autonumber) and are therefore read-only to writers.
func (t FieldType) Computed() bool {
	return t == Formula || t == Rollup || t == AutoNumber
}

// StorageType is the type the field's column holds: a formula or rollup is
// stored as the type it returns (decimal when unset); count rollups are integers.
func (f *Field) StorageType() FieldType {
	switch f.Type {
	case Formula:
		if f.Returns != "" {
			return f.Returns
		}
		return Decimal
	case Rollup:
		if f.Returns != "" {
			return f.Returns
		}
		if f.Rollup != nil && f.Rollup.Op == "count" {
			return Integer
		}
		return Decimal
	case AutoNumber:
		return Integer
	}
	return f.Type
}

// DecimalPrecision returns the total digits of a decimal field (default 18).
func (f *Field) DecimalPrecision() int {
	if f.Precision != nil {
		return *f.Precision
	}
	return 18
}

// DecimalScale returns the digits after the point of a decimal field (default 2).
func (f *Field) DecimalScale() int {
	if f.Scale != nil {
		return *f.Scale
	}
	return 2
}

// ReturnTypes are the types a formula or rollup may return.
var ReturnTypes = []FieldType{Text, Integer, Decimal, Boolean, Date, DateTime}

// SystemColumns are present on every entity table and cannot be declared as fields.
var SystemColumns = []string{"id", "created_at", "updated_at", "created_by", "owner", "version"}

// Entity returns the entity with that name, or nil.
func (a *App) Entity(name string) *Entity {
	for i := range a.Entities {
		if a.Entities[i].Name == name {
			return &a.Entities[i]
		}
	}
	return nil
}

// Field returns the field with that name, or nil.
func (e *Entity) Field(name string) *Field {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return &e.Fields[i]
		}
	}
	return nil
}

// TableName is the database table of an entity of app: "<app>_<entity>".
func TableName(app, entity string) string { return app + "_" + entity }
