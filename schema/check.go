package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/currency"
)

// Hooks are the entity events a script function can be attached to, in the
// order they run.
var Hooks = []string{"beforeSave", "afterSave", "beforeDelete", "afterDelete"}

// RollupOps are the aggregations a rollup field may use.
var RollupOps = []string{"count", "sum", "min", "max", "avg"}

// OnDeleteActions are the values of a ref field's onDelete; "" means restrict.
var OnDeleteActions = []string{"restrict", "cascade", "setNull"}

// Limits of a document. The JSON Schema enforces the same bounds.
const (
	MaxEntities  = 200
	MaxFields    = 500
	MaxOptions   = 500
	MaxMaxLength = 1 << 20
	MaxPrecision = 18
)

// textLike are the types whose value is a string and that take maxLength.
var textLike = []FieldType{Text, LongText, Email, Phone, URL}

// IsTextLike reports whether values of t are strings bounded by maxLength
// (text, longtext, email, phone, url).
func (t FieldType) IsTextLike() bool { return hasType(textLike, t) }

// IsNumeric reports whether t holds integers or decimals.
func (t FieldType) IsNumeric() bool { return t == Integer || t == Decimal }

// Valid reports whether t is one of FieldTypes.
func (t FieldType) Valid() bool { return hasType(FieldTypes, t) }

// ParseHook splits a hook value "script#function" into the script name and
// the function name; ok is false when the value does not have that form.
func ParseHook(v string) (script, function string, ok bool) {
	script, function, ok = strings.Cut(v, "#")
	if !ok || !ValidName(script) || !jsIdentRE.MatchString(function) {
		return "", "", false
	}
	return script, function, true
}

var jsIdentRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// Check runs the semantic checks of an app document — names, uniqueness,
// type-specific attributes, defaults, references between entities, indexes,
// hooks, formulas, rollups and cycles — and returns every problem found,
// ordered by path. Parse runs it after the JSON Schema; call it directly on
// an App built in Go.
func (a *App) Check() Problems {
	if a == nil {
		return Problems{{Path: "", Code: "required", Message: "no app document"}}
	}
	c := &checker{app: a, ents: map[string]int{}}
	c.run()
	c.checkAutomations()
	c.checkFlows()
	c.checkAssignments()
	c.checkMatching()
	c.checkConnectors()
	a.checkRoles(&c.p)
	a.checkForms(&c.p)
	a.checkDashboards(&c.p)
	sortProblems(c.p)
	return c.p
}

type checker struct {
	app    *App
	p      Problems
	ents   map[string]int   // entity name → index of its first occurrence
	fields []map[string]int // per entity: field name → index of its first occurrence
}

// entity returns the entity named name, or nil.
func (c *checker) entity(name string) *Entity {
	if i, ok := c.ents[name]; ok {
		return &c.app.Entities[i]
	}
	return nil
}

// field returns the field name of the entity at index ei, or nil.
func (c *checker) field(ei int, name string) *Field {
	if j, ok := c.fields[ei][name]; ok {
		return &c.app.Entities[ei].Fields[j]
	}
	return nil
}

// fieldType returns the stored type of entity ei's field name, also for
// system columns.
func (c *checker) fieldType(ei int, name string) (FieldType, bool) {
	if f := c.field(ei, name); f != nil {
		return f.StorageType(), true
	}
	return SystemColumnType(name)
}

func (c *checker) run() {
	a := c.app
	if a.Name == "" {
		c.p.Add("", "missing required field %q", "name")
	} else if msg := nameProblem("app", a.Name); msg != "" {
		c.p.AddCode("/name", "invalid_name", map[string]any{"name": c.app.Name}, "%s", msg)
	}
	if len(a.Entities) > MaxEntities {
		c.p.Add("/entities", "must have at most %d items", MaxEntities)
	}

	// Index names and fields first: references may point forward.
	c.fields = make([]map[string]int, len(a.Entities))
	ids := map[string]int{}
	for i := range a.Entities {
		e := &a.Entities[i]
		ep := ptr("entities", i)
		switch {
		case e.Name == "":
			c.p.Add(ep, "missing required field %q", "name")
		case nameProblem("entity", e.Name) != "":
			c.p.AddCode(ep+"/name", "invalid_name", map[string]any{"name": e.Name}, "%s", nameProblem("entity", e.Name))
		default:
			if j, dup := c.ents[e.Name]; dup {
				c.p.Add(ep+"/name", "duplicate entity name %q (also at %s)", e.Name, ptr("entities", j))
			} else if t := TableName(a.Name, e.Name); ValidName(a.Name) && len(t) > MaxIdentifierBytes {
				c.p.Add(ep+"/name", "table name %q is %d bytes; PostgreSQL allows at most %d, so shorten the app or entity name", t, len(t), MaxIdentifierBytes)
			}
		}
		if _, dup := c.ents[e.Name]; !dup && e.Name != "" {
			c.ents[e.Name] = i
		}
		if e.ID != "" {
			if !ValidID(e.ID) {
				c.p.AddCode(ep+"/id", "id_format", nil, "%s", idRule)
			} else if j, dup := ids[e.ID]; dup {
				c.p.Add(ep+"/id", "duplicate entity id %q (also at %s)", e.ID, ptr("entities", j))
			} else {
				ids[e.ID] = i
			}
		}
		c.fields[i] = map[string]int{}
		for j := range e.Fields {
			if n := e.Fields[j].Name; n != "" {
				if _, dup := c.fields[i][n]; !dup {
					c.fields[i][n] = j
				}
			}
		}
	}

	for i := range a.Entities {
		c.checkEntity(i)
	}
	c.checkScripts()
	c.checkComputedCycles()
	c.checkReaderRollups()
	c.checkRequiredRefCycles()
}

// checkReaderRollups refuses stored values computed from a rollup whose
// value depends on the reader ("visibility": "reader"): a formula, rule or
// other rollup would otherwise store the aggregate over every child and show
// it to readers the rollup counts only some children for.
func (c *checker) checkReaderRollups() {
	perReader := func(dep string) bool {
		en, fn, _ := strings.Cut(dep, ".")
		ei, ok := c.ents[en]
		if !ok {
			return false
		}
		f := c.field(ei, fn)
		return f != nil && f.Type == Rollup && f.Rollup.PerReader()
	}
	refuse := func(path, what, dep string) {
		c.p.Add(path, "%s reads %s, a rollup with \"visibility\": \"reader\" whose value depends on who reads it; a stored value cannot be computed from it", what, dep)
	}
	for ei := range c.app.Entities {
		e := &c.app.Entities[ei]
		if c.ents[e.Name] != ei {
			continue
		}
		for fi := range e.Fields {
			f := &e.Fields[fi]
			fp := ptr("entities", ei) + ptr("fields", fi)
			switch {
			case f.Type == Formula && f.Expr != "":
				for _, d := range c.formulaDeps(ei, f.Expr) {
					if perReader(d) {
						refuse(fp+"/expr", "formula "+f.Name, d)
						break
					}
				}
			case f.Type == Rollup && f.Rollup != nil && f.Rollup.Field != "":
				if d := f.Rollup.Entity + "." + f.Rollup.Field; perReader(d) {
					refuse(fp+"/rollup/field", "rollup "+f.Name, d)
				}
			}
		}
		for i, v := range e.Validations {
			for _, d := range c.formulaDeps(ei, v.Expr) {
				if perReader(d) {
					refuse(ptr("entities", ei)+ptr("validations", i)+"/expr", "this rule", d)
					break
				}
			}
		}
	}
}

func (c *checker) checkEntity(ei int) {
	e := &c.app.Entities[ei]
	ep := ptr("entities", ei)
	if len(e.Fields) > MaxFields {
		c.p.Add(ep+"/fields", "must have at most %d items", MaxFields)
	}
	names := map[string]int{}
	ids := map[string]int{}
	for fi := range e.Fields {
		f := &e.Fields[fi]
		fp := ep + ptr("fields", fi)
		if f.ID == "" {
			c.p.Add(fp, "missing required field %q", "id")
		} else if !ValidID(f.ID) {
			c.p.AddCode(fp+"/id", "id_format", nil, "%s", idRule)
		} else if j, dup := ids[f.ID]; dup {
			c.p.Add(fp+"/id", "duplicate field id %q in entity %q (also at %s)", f.ID, e.Name, ep+ptr("fields", j))
		} else {
			ids[f.ID] = fi
		}
		if f.Name == "" {
			c.p.Add(fp, "missing required field %q", "name")
		} else if msg := nameProblem("field", f.Name); msg != "" {
			c.p.AddCode(fp+"/name", "invalid_name", map[string]any{"name": f.Name}, "%s", msg)
		} else if j, dup := names[f.Name]; dup {
			c.p.Add(fp+"/name", "duplicate field name %q in entity %q (also at %s)", f.Name, e.Name, ep+ptr("fields", j))
		} else {
			names[f.Name] = fi
		}
		c.checkField(ei, fi)
	}
	c.checkIndexes(ei)
	c.checkHooks(ei)
	c.checkValidations(ei)
}

// checkValidations checks each rule's expression and the field it reports at.
func (c *checker) checkValidations(ei int) {
	e := &c.app.Entities[ei]
	for i, v := range e.Validations {
		vp := ptr("entities", ei) + ptr("validations", i)
		if strings.TrimSpace(v.Expr) == "" {
			c.p.Add(vp+"/expr", "a validation needs \"expr\": what must be true, e.g. \"discount <= 20 || approved\"")
		} else {
			c.checkExprRefs(ei, vp+"/expr", v.Expr)
		}
		if strings.TrimSpace(v.Message) == "" {
			c.p.Add(vp+"/message", "a validation needs \"message\": what the user sees when the rule fails")
		}
		blankTexts(&c.p, vp+"/messages", v.Messages)
		if v.Field != "" {
			if _, ok := c.fieldType(ei, v.Field); !ok {
				c.p.Add(vp+"/field", "unknown field %q: entity %q has no such field%s", v.Field, e.Name, didYouMean(v.Field, c.fieldNames(ei)))
			}
		}
	}
}

// blankTexts reports the variants of a per-language text (titles,
// messages) that hold only white space: the JSON Schema refuses "", and a
// blank variant would hide its fallback just the same.
func blankTexts(p *Problems, path string, ts Labels) {
	for _, lang := range sortedKeys(ts) {
		if strings.TrimSpace(ts[lang]) == "" {
			p.Add(path+"/"+escapePtr(lang), "must not be empty")
		}
	}
}

// attrRule says which field types an optional attribute applies to.
type attrRule struct {
	key     string
	present func(*Field) bool
	types   []FieldType
}

var attrRules = []attrRule{
	{"maxLength", func(f *Field) bool { return f.MaxLength != nil }, textLike},
	{"min", func(f *Field) bool { return f.Min != nil }, []FieldType{Integer, Decimal}},
	{"max", func(f *Field) bool { return f.Max != nil }, []FieldType{Integer, Decimal}},
	{"precision", func(f *Field) bool { return f.Precision != nil }, []FieldType{Decimal}},
	{"scale", func(f *Field) bool { return f.Scale != nil }, []FieldType{Decimal}},
	{"currency", func(f *Field) bool { return f.Currency != "" }, []FieldType{Integer, Decimal, Formula, Rollup}},
	{"options", func(f *Field) bool { return f.Options != nil }, []FieldType{Select, MultiSelect}},
	{"optionLabels", func(f *Field) bool { return f.OptionLabels != nil }, []FieldType{Select, MultiSelect}},
	{"entity", func(f *Field) bool { return f.Entity != "" }, []FieldType{Ref}},
	{"onDelete", func(f *Field) bool { return f.OnDelete != "" }, []FieldType{Ref}},
	{"expr", func(f *Field) bool { return f.Expr != "" }, []FieldType{Formula}},
	{"rollup", func(f *Field) bool { return f.Rollup != nil }, []FieldType{Rollup}},
	{"returns", func(f *Field) bool { return f.Returns != "" }, []FieldType{Formula, Rollup}},
}

func (c *checker) checkField(ei, fi int) {
	e := &c.app.Entities[ei]
	f := &e.Fields[fi]
	fp := ptr("entities", ei) + ptr("fields", fi)
	if f.Type == "" {
		c.p.Add(fp, "missing required field %q", "type")
		return
	}
	if !f.Type.Valid() {
		c.p.Add(fp+"/type", "must be one of %s%s", joinTypes(FieldTypes), didYouMean(string(f.Type), typeNames(FieldTypes)))
		return
	}
	for _, r := range attrRules {
		if r.present(f) && !hasType(r.types, f.Type) {
			c.p.Add(fp+"/"+r.key, "%q does not apply to %s fields; it is only for %s fields", r.key, f.Type, joinTypesAnd(r.types))
		}
	}
	c.checkCurrency(f, fp)
	hasDefault := len(f.Default) > 0 && string(bytes.TrimSpace(f.Default)) != "null"
	if f.Type.Computed() {
		if f.Required {
			c.p.Add(fp+"/required", "%s field is computed by Forma, so it cannot be required", article(string(f.Type)))
		}
		if f.Unique {
			c.p.Add(fp+"/unique", "%s field is computed by Forma, so it cannot be unique", article(string(f.Type)))
		}
		if hasDefault {
			c.p.Add(fp+"/default", "%s field is computed by Forma, so it cannot have a default", article(string(f.Type)))
		}
	}
	if f.Returns != "" && hasType([]FieldType{Formula, Rollup}, f.Type) && !hasType(ReturnTypes, f.Returns) {
		c.p.Add(fp+"/returns", "must be one of %s", joinTypes(ReturnTypes))
	}

	// Bounds of the attributes that apply; misplaced ones are reported above.
	if f.MaxLength != nil && f.Type.IsTextLike() && (*f.MaxLength < 1 || *f.MaxLength > MaxMaxLength) {
		c.p.Add(fp+"/maxLength", "must be between 1 and %d", MaxMaxLength)
	}
	if f.Precision != nil && f.Type == Decimal && (*f.Precision < 1 || *f.Precision > MaxPrecision) {
		c.p.Add(fp+"/precision", "must be between 1 and %d", MaxPrecision)
	}
	if f.Scale != nil && f.Type == Decimal {
		if *f.Scale < 0 || *f.Scale > MaxPrecision {
			c.p.Add(fp+"/scale", "must be between 0 and %d", MaxPrecision)
		} else if *f.Scale > f.DecimalPrecision() {
			c.p.Add(fp+"/scale", "scale (%d) cannot be larger than precision (%d): scale counts the digits after the point out of precision digits in all", *f.Scale, f.DecimalPrecision())
		}
	} else if f.Precision != nil && f.Type == Decimal && *f.Precision >= 1 && *f.Precision < f.DecimalScale() {
		c.p.Add(fp+"/precision", "precision (%d) is less than the default scale (%d): set \"scale\" too", *f.Precision, f.DecimalScale())
	}
	lo := c.bound(f, fp, "min", f.Min)
	hi := c.bound(f, fp, "max", f.Max)
	if lo != nil && hi != nil && lo.Cmp(hi) > 0 {
		c.p.Add(fp+"/max", "max (%s) is less than min (%s)", f.Max.String(), f.Min.String())
	}
	if f.Options != nil && (f.Type == Select || f.Type == MultiSelect) {
		c.checkOptions(f, fp)
	}

	switch f.Type {
	case Select, MultiSelect:
		if f.Options == nil {
			c.p.Add(fp, "%s fields need \"options\": the values a user may pick", f.Type)
		}
	case Ref:
		c.checkRef(ei, fi)
	case Formula:
		c.checkFormula(ei, fi)
	case Rollup:
		c.checkRollup(ei, fi)
	}
	if hasDefault && !f.Type.Computed() {
		c.checkDefault(f, fp, lo, hi)
	}
}

// bound parses min or max of a numeric field; nil when absent or invalid.
func (c *checker) bound(f *Field, fp, key string, n *json.Number) *big.Rat {
	if n == nil || !f.Type.IsNumeric() {
		return nil
	}
	r, ok := parseNumber(string(*n))
	if !ok {
		c.p.Add(fp+"/"+key, "must be a number, not %q", string(*n))
		return nil
	}
	if f.Type == Integer && !r.IsInt() {
		c.p.Add(fp+"/"+key, "must be a whole number for an integer field, not %s", string(*n))
		return nil
	}
	if f.Type == Decimal {
		if msg := decimalFit(r, f.DecimalPrecision(), f.DecimalScale(), false); msg != "" {
			c.p.AddCode(fp+"/"+key, "number", map[string]any{"value": string(*n)}, "%s %s", string(*n), msg)
			return nil
		}
	}
	return r
}

func (c *checker) checkOptions(f *Field, fp string) {
	if len(f.Options) == 0 {
		c.p.Add(fp+"/options", "must have at least 1 item")
	}
	if len(f.Options) > MaxOptions {
		c.p.Add(fp+"/options", "must have at most %d items", MaxOptions)
	}
	seen := map[string]int{}
	for k, o := range f.Options {
		op := fp + ptr("options", k)
		if o == "" {
			c.p.Add(op, "must not be empty")
		} else if j, dup := seen[o]; dup {
			c.p.Add(op, "duplicate value %q (same as item %d)", o, j)
		} else {
			seen[o] = k
		}
	}
	for _, o := range sortedKeys(f.OptionLabels) {
		if _, ok := seen[o]; !ok {
			c.p.Add(fp+"/optionLabels/"+escapePtr(o), "%q is not one of the field's options", o)
		}
	}
}

func (c *checker) checkRef(ei, fi int) {
	f := &c.app.Entities[ei].Fields[fi]
	fp := ptr("entities", ei) + ptr("fields", fi)
	if f.Entity == "" {
		c.p.Add(fp, "ref fields need \"entity\": the name of the entity they point to")
	} else if c.entity(f.Entity) == nil {
		c.p.Add(fp+"/entity", "no entity named %q in this app%s", f.Entity, didYouMean(f.Entity, c.entityNames()))
	}
	switch f.OnDelete {
	case "", "restrict", "cascade":
	case "setNull":
		if f.Required {
			c.p.Add(fp+"/onDelete", "onDelete \"setNull\" contradicts \"required\": true: a required ref cannot be emptied when its target is deleted; use \"restrict\" or \"cascade\", or make the field optional")
		}
	default:
		c.p.Add(fp+"/onDelete", "must be one of %s%s", strings.Join(OnDeleteActions, ", "), didYouMean(f.OnDelete, OnDeleteActions))
	}
}

// checkFormula checks that a formula parses and that every field it reads
// exists: a field of the entity, a system column, or ref.field.
func (c *checker) checkFormula(ei, fi int) {
	e := &c.app.Entities[ei]
	f := &e.Fields[fi]
	fp := ptr("entities", ei) + ptr("fields", fi)
	if strings.TrimSpace(f.Expr) == "" {
		c.p.Add(fp, "formula fields need \"expr\": the expression that computes them, e.g. \"amount * probability / 100\"")
		return
	}
	c.checkExprRefs(ei, fp+"/expr", f.Expr)
}

// checkExprRefs checks that an expression (a formula or a validation rule)
// parses and that every field it reads exists: a field of the entity, a
// system column, or ref.field.
func (c *checker) checkExprRefs(ei int, path, expr string) {
	e := &c.app.Entities[ei]
	refs, err := FormulaRefs(expr)
	if err != nil {
		c.p.AddCode(path, "expression", nil, "%s", err.Error())
		return
	}
	for _, ref := range refs {
		parts := strings.Split(ref, ".")
		if len(parts) > 2 {
			c.p.Add(path, "%q: a formula can follow only one ref (write a formula on %q and use that)", ref, parts[0])
			continue
		}
		if _, ok := c.fieldType(ei, parts[0]); !ok {
			c.p.Add(path, "unknown field %q: entity %q has no such field%s", parts[0], e.Name, didYouMean(parts[0], c.fieldNames(ei)))
			continue
		}
		if len(parts) == 1 {
			continue
		}
		rf := c.field(ei, parts[0])
		if rf == nil || rf.Type != Ref {
			c.p.Add(path, "%q: %q is not a ref field, so it has no fields to read", ref, parts[0])
			continue
		}
		ti, ok := c.ents[rf.Entity]
		if !ok {
			continue // reported at the ref field
		}
		if _, ok := c.fieldType(ti, parts[1]); !ok {
			c.p.Add(path, "%q: entity %q has no field %q%s", ref, rf.Entity, parts[1], didYouMean(parts[1], c.fieldNames(ti)))
		}
	}
}

// formulaDeps lists the fields ("entity.field") that a formula of entity ei
// reads, ignoring references that do not resolve (reported elsewhere).
func (c *checker) formulaDeps(ei int, expr string) []string {
	refs, err := FormulaRefs(expr)
	if err != nil {
		return nil
	}
	e := &c.app.Entities[ei]
	var deps []string
	for _, ref := range refs {
		parts := strings.Split(ref, ".")
		switch len(parts) {
		case 1:
			if c.field(ei, parts[0]) != nil {
				deps = append(deps, e.Name+"."+parts[0])
			}
		case 2:
			rf := c.field(ei, parts[0])
			if rf == nil || rf.Type != Ref {
				continue
			}
			if ti, ok := c.ents[rf.Entity]; ok && c.field(ti, parts[1]) != nil {
				deps = append(deps, rf.Entity+"."+parts[1])
			}
		}
	}
	return deps
}

func (c *checker) checkRollup(ei, fi int) {
	e := &c.app.Entities[ei]
	f := &e.Fields[fi]
	fp := ptr("entities", ei) + ptr("fields", fi)
	r := f.Rollup
	if r == nil {
		c.p.Add(fp, "rollup fields need \"rollup\": {\"entity\", \"via\", \"op\", \"field\"}")
		return
	}
	rp := fp + "/rollup"
	opOK := false
	switch {
	case r.Op == "":
		c.p.Add(rp, "missing required field %q", "op")
	case !hasString(RollupOps, r.Op):
		c.p.Add(rp+"/op", "must be one of %s%s", strings.Join(RollupOps, ", "), didYouMean(r.Op, RollupOps))
	default:
		opOK = true
	}
	if r.Visibility != "" && !hasString(RollupVisibilities, r.Visibility) {
		c.p.Add(rp+"/visibility", "must be one of %s%s", strings.Join(RollupVisibilities, ", "), didYouMean(r.Visibility, RollupVisibilities))
	}
	ci := -1
	if r.Entity == "" {
		c.p.Add(rp, "missing required field %q", "entity")
	} else if i, ok := c.ents[r.Entity]; !ok {
		c.p.Add(rp+"/entity", "no entity named %q in this app%s", r.Entity, didYouMean(r.Entity, c.entityNames()))
	} else {
		ci = i
	}
	if r.Via == "" {
		c.p.Add(rp, "missing required field %q", "via")
	} else if ci >= 0 {
		via := c.field(ci, r.Via)
		switch {
		case via == nil:
			c.p.Add(rp+"/via", "entity %q has no field %q; via must be a ref field of %q that points at %q%s", r.Entity, r.Via, r.Entity, e.Name, didYouMean(r.Via, c.fieldNames(ci)))
		case via.Type != Ref:
			c.p.Add(rp+"/via", "%s.%s is %s field; via must be a ref field of %q that points at %q", r.Entity, r.Via, article(string(via.Type)), r.Entity, e.Name)
		case via.Entity != e.Name:
			c.p.Add(rp+"/via", "%s.%s points at %q, not at %q; via must be a ref field of %q that points at this entity", r.Entity, r.Via, via.Entity, e.Name, r.Entity)
		}
	}
	if !opOK {
		return
	}
	if r.Field == "" {
		if r.Op != "count" {
			c.p.Add(rp, "%s needs \"field\": the field of %q to aggregate", r.Op, r.Entity)
		} else if f.Returns != "" && !f.Returns.IsNumeric() {
			c.p.Add(fp+"/returns", "a count is a number: returns must be integer or decimal")
		}
		return
	}
	if ci < 0 {
		return
	}
	ft, ok := c.fieldType(ci, r.Field)
	if !ok {
		c.p.Add(rp+"/field", "entity %q has no field %q%s", r.Entity, r.Field, didYouMean(r.Field, c.fieldNames(ci)))
		return
	}
	kind := valueKind(ft)
	switch r.Op {
	case "count":
		if f.Returns != "" && !f.Returns.IsNumeric() {
			c.p.Add(fp+"/returns", "a count is a number: returns must be integer or decimal")
		}
	case "sum", "avg":
		if !ft.IsNumeric() {
			c.p.Add(rp+"/field", "cannot %s %s.%s: it holds %s values; %s needs an integer or decimal field", r.Op, r.Entity, r.Field, ft, r.Op)
		} else if f.Returns != "" && !f.Returns.IsNumeric() {
			c.p.Add(fp+"/returns", "a %s is a number: returns must be integer or decimal", r.Op)
		}
	case "min", "max":
		if !orderable(ft) {
			c.p.Add(rp+"/field", "cannot take the %s of %s.%s: %s values have no order; use an integer, decimal, date, datetime or text field", r.Op, r.Entity, r.Field, ft)
		} else if ft.IsNumeric() {
			if f.Returns != "" && !f.Returns.IsNumeric() {
				c.p.Add(fp+"/returns", "the %s of a number is a number: returns must be integer or decimal", r.Op)
			}
		} else if f.Returns == "" {
			c.p.Add(fp, "the %s of a %s field is a %s: add \"returns\": %q", r.Op, ft, kind, kind)
		} else if f.Returns != kind {
			c.p.Add(fp+"/returns", "the %s of a %s field is a %s: returns must be %q", r.Op, ft, kind, kind)
		}
	}
}

func (c *checker) checkDefault(f *Field, fp string, lo, hi *big.Rat) {
	dp := fp + "/default"
	var v any
	d := json.NewDecoder(bytes.NewReader(f.Default))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		c.p.Add(dp, "is not valid JSON: %v", err)
		return
	}
	str, isStr := v.(string)
	switch f.Type {
	case Text, LongText, Email, Phone, URL:
		if !isStr {
			c.p.Add(dp, "must be a string for a %s field, not %s", f.Type, describe(v))
			return
		}
		if f.MaxLength != nil && utf8.RuneCountInString(str) > *f.MaxLength {
			c.p.Add(dp, "is %d characters long; maxLength is %d", utf8.RuneCountInString(str), *f.MaxLength)
		}
		if str == "" {
			return
		}
		if err := CheckFormat(f.Type, str); err != nil {
			c.p.AddCode(dp, "format", map[string]any{"type": string(f.Type)}, "%s, not %s", err, describe(v))
		}
	case Integer, Decimal:
		var r *big.Rat
		var lit string
		switch n := v.(type) {
		case json.Number:
			lit = string(n)
			r, _ = parseNumber(lit)
		case string:
			if f.Type == Decimal && decimalStringRE.MatchString(n) {
				lit = n
				r, _ = parseNumber(n)
			}
		}
		if r == nil {
			if f.Type == Integer {
				c.p.Add(dp, "must be a whole number for an integer field, not %s", describe(v))
			} else {
				c.p.Add(dp, "must be a number or a numeric string such as \"12.50\" for a decimal field, not %s", describe(v))
			}
			return
		}
		if f.Type == Integer {
			if !r.IsInt() || !r.Num().IsInt64() {
				c.p.Add(dp, "must be a whole number for an integer field, not %s", lit)
				return
			}
		} else if msg := decimalFit(r, f.DecimalPrecision(), f.DecimalScale(), true); msg != "" {
			c.p.AddCode(dp, "number", map[string]any{"value": lit}, "%s %s", lit, msg)
			return
		}
		if lo != nil && r.Cmp(lo) < 0 {
			c.p.Add(dp, "%s is less than min (%s)", lit, f.Min.String())
		}
		if hi != nil && r.Cmp(hi) > 0 {
			c.p.Add(dp, "%s is greater than max (%s)", lit, f.Max.String())
		}
	case Boolean:
		if _, ok := v.(bool); !ok {
			c.p.Add(dp, "must be true or false for a boolean field, not %s", describe(v))
		}
	case Date, DateTime:
		if err := CheckFormat(f.Type, str); !isStr || err != nil {
			if err == nil {
				err = CheckFormat(f.Type, "")
			}
			c.p.AddCode(dp, "format", map[string]any{"type": string(f.Type)}, "%s, not %s", err, describe(v))
		}
	case Select:
		if !isStr {
			c.p.Add(dp, "must be one of the options (a string), not %s", describe(v))
		} else if f.Options != nil && !hasString(f.Options, str) {
			c.p.Add(dp, "%q is not one of the options: %s", str, strings.Join(f.Options, ", "))
		}
	case MultiSelect:
		arr, ok := v.([]any)
		if !ok {
			c.p.Add(dp, "must be an array of options for a multiselect field, e.g. [%q], not %s", firstOr(f.Options, "a"), describe(v))
			return
		}
		seen := map[string]bool{}
		for k, item := range arr {
			s, ok := item.(string)
			switch {
			case !ok:
				c.p.Add(dp+ptr(k), "must be one of the options (a string), not %s", describe(item))
			case f.Options != nil && !hasString(f.Options, s):
				c.p.Add(dp+ptr(k), "%q is not one of the options: %s", s, strings.Join(f.Options, ", "))
			case seen[s]:
				c.p.Add(dp+ptr(k), "%q is listed twice", s)
			}
			seen[s] = true
		}
	case Ref, User:
		if !isStr || str == "" {
			c.p.Add(dp, "must be the id of a %s (a string), not %s", map[FieldType]string{Ref: "record", User: "user"}[f.Type], describe(v))
		}
	case File:
		c.p.Add(dp, "file fields cannot have a default")
	case JSON:
		// any JSON value
	}
}

func (c *checker) checkIndexes(ei int) {
	e := &c.app.Entities[ei]
	ep := ptr("entities", ei)
	names := map[string]int{}
	for k, ix := range e.Indexes {
		ip := ep + ptr("indexes", k)
		if ix.Name != "" {
			if !ValidName(ix.Name) {
				c.p.AddCode(ip+"/name", "invalid_name", map[string]any{"name": ix.Name}, "%s", nameRule)
			} else if j, dup := names[ix.Name]; dup {
				c.p.Add(ip+"/name", "duplicate index name %q in entity %q (also at %s)", ix.Name, e.Name, ep+ptr("indexes", j))
			} else {
				names[ix.Name] = k
			}
		}
		if len(ix.Fields) == 0 {
			c.p.Add(ip+"/fields", "an index needs at least one field")
			continue
		}
		seen := map[string]int{}
		for m, entry := range ix.Fields {
			fp := ip + ptr("fields", m)
			name, _ := IndexField(entry)
			if _, ok := c.fieldType(ei, name); !ok {
				c.p.Add(fp, "unknown field %q: entity %q has no such field or system column%s", name, e.Name, didYouMean(name, c.fieldNames(ei)))
			} else if j, dup := seen[name]; dup {
				c.p.Add(fp, "%q is already in this index (item %d)", name, j)
			} else {
				seen[name] = m
			}
		}
	}
}

func (c *checker) checkHooks(ei int) {
	e := &c.app.Entities[ei]
	ep := ptr("entities", ei)
	for _, k := range sortedKeys(e.Hooks) {
		hp := ep + "/hooks/" + escapePtr(k)
		if !hasString(Hooks, k) {
			c.p.Add(hp, "unknown hook %q: hooks are %s%s", k, strings.Join(Hooks, ", "), didYouMean(k, Hooks))
			continue
		}
		script, _, ok := ParseHook(e.Hooks[k])
		if !ok {
			c.p.Add(hp, "must be \"script#function\", e.g. \"%s#%s\", not %q", firstOr([]string{e.Name}, "script"), k, e.Hooks[k])
			continue
		}
		if _, ok := c.app.Scripts[script]; !ok {
			c.p.Add(hp, "no script named %q in \"scripts\"%s", script, didYouMean(script, sortedKeys(c.app.Scripts)))
		}
	}
}

func (c *checker) checkScripts() {
	for _, name := range sortedKeys(c.app.Scripts) {
		if !ValidName(name) {
			c.p.Add("/scripts/"+escapePtr(name), "script name %q %s", name, nameRule)
		}
	}
}

// checkComputedCycles refuses formulas and rollups that depend on themselves.
func (c *checker) checkComputedCycles() {
	type site struct {
		path    string
		formula bool
	}
	g := graph{edges: map[string][]edge{}}
	sites := map[string]site{}
	for ei := range c.app.Entities {
		e := &c.app.Entities[ei]
		if c.ents[e.Name] != ei {
			continue // duplicate entity name, reported
		}
		for fi := range e.Fields {
			f := &e.Fields[fi]
			if c.fields[ei][f.Name] != fi {
				continue
			}
			node := e.Name + "." + f.Name
			fp := ptr("entities", ei) + ptr("fields", fi)
			switch {
			case f.Type == Formula && f.Expr != "":
				g.nodes = append(g.nodes, node)
				sites[node] = site{fp + "/expr", true}
				for _, d := range c.formulaDeps(ei, f.Expr) {
					g.edges[node] = append(g.edges[node], edge{to: d})
				}
			case f.Type == Rollup && f.Rollup != nil:
				g.nodes = append(g.nodes, node)
				sites[node] = site{fp + "/rollup", false}
				if ci, ok := c.ents[f.Rollup.Entity]; ok && c.field(ci, f.Rollup.Field) != nil {
					g.edges[node] = append(g.edges[node], edge{to: f.Rollup.Entity + "." + f.Rollup.Field})
				}
			}
		}
	}
	for _, cyc := range g.cycles(10) {
		kind := "formula cycle"
		for _, e := range cyc {
			if !sites[e.from].formula {
				kind = "cycle of computed fields"
			}
		}
		spelled := cyc[0].from
		for _, e := range cyc {
			spelled += " → " + e.to
		}
		c.p.AddCode(sites[cyc[0].from].path, "cycle", nil, "%s: %s; a computed field cannot depend on itself", kind, spelled)
	}
}

// checkRequiredRefCycles refuses required refs that go round in a circle:
// every record would need an existing record of the next entity first.
func (c *checker) checkRequiredRefCycles() {
	g := graph{edges: map[string][]edge{}}
	paths := map[string]string{}
	for ei := range c.app.Entities {
		e := &c.app.Entities[ei]
		if c.ents[e.Name] != ei {
			continue
		}
		g.nodes = append(g.nodes, e.Name)
		for fi := range e.Fields {
			f := &e.Fields[fi]
			if f.Type != Ref || !f.Required || c.entity(f.Entity) == nil {
				continue
			}
			label := e.Name + "." + f.Name
			paths[label] = ptr("entities", ei) + ptr("fields", fi) + "/required"
			g.edges[e.Name] = append(g.edges[e.Name], edge{to: f.Entity, label: label})
		}
	}
	for _, cyc := range g.cycles(10) {
		if len(cyc) == 1 {
			c.p.Add(paths[cyc[0].label], "%s is a required ref to its own entity: no first %s could ever be created, so make it optional", cyc[0].label, cyc[0].to)
			continue
		}
		var parts []string
		for _, e := range cyc {
			parts = append(parts, e.label)
		}
		c.p.Add(paths[cyc[0].label], "required refs form a cycle: %s → %s; no first record could ever be created, so make one of these refs optional",
			strings.Join(parts, " → "), cyc[len(cyc)-1].to)
	}
}

func (c *checker) entityNames() []string {
	var out []string
	for _, e := range c.app.Entities {
		out = append(out, e.Name)
	}
	return out
}

func (c *checker) fieldNames(ei int) []string {
	var out []string
	for _, f := range c.app.Entities[ei].Fields {
		out = append(out, f.Name)
	}
	return append(out, SystemColumns...)
}

// graph is a directed graph with nodes in a fixed order, so cycles are found
// and reported the same way every time.
type graph struct {
	nodes []string
	edges map[string][]edge
}

type edge struct {
	from, to, label string
}

// cycles returns the cycles of g, each as its edges, at most maxPerComponent
// for each strongly connected component.
func (g graph) cycles(maxPerComponent int) [][]edge {
	for n, es := range g.edges {
		for i := range es {
			es[i].from = n
		}
	}
	// Tarjan's algorithm.
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	comp := map[string]int{}
	ncomp := 0
	var visit func(string)
	visit = func(v string) {
		index[v] = len(index)
		low[v] = index[v]
		stack = append(stack, v)
		onStack[v] = true
		for _, e := range g.edges[v] {
			if _, seen := index[e.to]; !seen {
				visit(e.to)
				low[v] = min(low[v], low[e.to])
			} else if onStack[e.to] {
				low[v] = min(low[v], index[e.to])
			}
		}
		if low[v] == index[v] {
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp[w] = ncomp
				if w == v {
					break
				}
			}
			ncomp++
		}
	}
	for _, n := range g.nodes {
		if _, seen := index[n]; !seen {
			visit(n)
		}
	}
	// For each node in order, the shortest cycle through it inside its
	// component, when that cycle takes an edge no reported cycle took: every
	// loop is shown without listing each rotation of the same one.
	used := map[edge]bool{}
	perComp := map[int]int{}
	var out [][]edge
	for _, start := range g.nodes {
		cid, ok := comp[start]
		if !ok || perComp[cid] >= maxPerComponent {
			continue
		}
		cyc := g.shortestCycle(start, func(n string) bool { return comp[n] == cid })
		fresh := false
		for _, e := range cyc {
			if !used[e] {
				fresh = true
			}
			used[e] = true
		}
		if fresh {
			perComp[cid]++
			out = append(out, cyc)
		}
	}
	return out
}

// shortestCycle returns the shortest cycle from start back to start through
// nodes for which in is true (breadth first), or nil.
func (g graph) shortestCycle(start string, in func(string) bool) []edge {
	prev := map[string]edge{}
	queue := []string{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, e := range g.edges[v] {
			if !in(e.to) {
				continue
			}
			if e.to == start {
				cyc := []edge{e}
				for v := e.from; v != start; v = prev[v].from {
					cyc = append([]edge{prev[v]}, cyc...)
				}
				return cyc
			}
			if _, seen := prev[e.to]; !seen {
				prev[e.to] = e
				queue = append(queue, e.to)
			}
		}
	}
	return nil
}

// orderable reports whether min and max make sense on values of t.
func orderable(t FieldType) bool {
	return hasType([]FieldType{Integer, Decimal, Date, DateTime, Text, Email, Phone, URL}, t)
}

// valueKind maps a stored type to the type a formula or rollup would return
// for it: text-like types are text.
func valueKind(t FieldType) FieldType {
	if t.IsTextLike() {
		return Text
	}
	return t
}

var (
	decimalStringRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
	jsonNumberRE    = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)
)

// parseNumber parses a JSON number literal exactly.
func parseNumber(s string) (*big.Rat, bool) {
	if !jsonNumberRE.MatchString(s) && !decimalStringRE.MatchString(s) {
		return nil, false
	}
	if !saneNumber(s) {
		return nil, false // refuse 1e999999-style literals before big.Rat expands them
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// decimalFit says why r does not fit a decimal(precision, scale), or returns
// "". The digits after the point are checked only when checkScale is true
// (a bound such as min 0.001 on a scale-2 field is still a valid bound).
func decimalFit(r *big.Rat, precision, scale int, checkScale bool) string {
	if precision < 1 || precision > MaxPrecision || scale < 0 || scale > precision {
		return "" // reported at precision or scale
	}
	pow10 := func(n int) *big.Rat {
		return new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil))
	}
	if checkScale && !new(big.Rat).Mul(r, pow10(scale)).IsInt() {
		return fmt.Sprintf("has more than %d digits after the point (scale %d)", scale, scale)
	}
	intDigits := precision - scale
	if new(big.Rat).Abs(r).Cmp(pow10(intDigits)) >= 0 {
		return fmt.Sprintf("does not fit: at most %d digits before the point (precision %d, scale %d)", intDigits, precision, scale)
	}
	return ""
}

// describe names a decoded JSON value for a message: `the string "yes"`.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	case json.Number:
		return "the number " + string(v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case string:
		if len(v) > 60 {
			v = v[:57] + "..."
		}
		return "the string " + quote(v)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func hasType(list []FieldType, t FieldType) bool {
	for _, x := range list {
		if x == t {
			return true
		}
	}
	return false
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func typeNames(ts []FieldType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

func joinTypes(ts []FieldType) string { return strings.Join(typeNames(ts), ", ") }

func joinTypesAnd(ts []FieldType) string {
	names := typeNames(ts)
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// article prefixes a word with "a" or "an".
func article(w string) string {
	if w != "" && strings.ContainsRune("aeiou", rune(w[0])) {
		return "an " + w
	}
	return "a " + w
}

func firstOr(list []string, def string) string {
	if len(list) > 0 && list[0] != "" {
		return list[0]
	}
	return def
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkCurrency: a currency is an ISO 4217 code, on a number (a formula or
// rollup that returns one).
func (c *checker) checkCurrency(f *Field, fp string) {
	if f.Currency == "" {
		return
	}
	if u, err := currency.ParseISO(f.Currency); err != nil || u == (currency.Unit{}) || u.String() != f.Currency {
		c.p.Add(fp+"/currency", "%q is not an ISO 4217 currency code such as CNY, USD or EUR", f.Currency)
		return
	}
	if f.Type.Computed() && f.Returns != "" && f.Returns != Integer && f.Returns != Decimal {
		c.p.Add(fp+"/currency", "a currency needs a number: this %s returns %s", f.Type, f.Returns)
	}
}
