package records

import (
	"context"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/schema"
)

// This file answers what a caller may know of an app's metadata: whether
// they are in the app at all (Member), and the app document as they may
// see it (DocumentView). It reuses the rules of policy.go (grant and
// fieldRules, through Permissions), so the document hides exactly what the
// data API hides.

// Member reports whether the caller is in app: the platform admin always
// is; anyone else when they hold a role the app has — one it defines, or a
// default role (rep, manager, executive) it keeps. A user with no role in
// an app is told nothing about it, not even that it exists.
func (s *Service) Member(app *schema.App, c Caller) bool {
	if c.Admin {
		return true
	}
	roles := s.roles(app)
	for _, r := range c.Roles {
		if roles[r] != nil {
			return true
		}
	}
	return false
}

// DocumentView returns doc as the caller may see it. The admin sees it
// whole. Anyone else gets a copy holding only what the runtime needs to show
// and edit the records they may use (names, labels, types, options,
// defaults, refs, forms and list views) and nothing else:
//
//   - no scripts, hooks, roles (the role rules), settings, flows,
//     automations or dashboards; of assignment rules only the countdown
//     (see countdown), where its fields are visible;
//   - no entity they can neither read nor create;
//   - no field hidden from them, including formulas and rollups that read a
//     hidden field (fieldRules);
//   - no validation rule that reads a hidden field or is attached to one;
//     a visible formula or rollup keeps its expression only when all it
//     reads is visible (else it shows as a plain computed field);
//   - forms, list views and indexes without hidden fields; a list view's
//     default filter or sort key that names one is dropped.
//
// current is the app's current document. doc may be an older version: its
// entities and fields are then shown only where both that version's roles
// and the current ones let the caller see them (matched by id, so a renamed
// field keeps its answer; what the current version dropped is not shown).
// A role hidden today thus stays hidden in every old version too.
func (s *Service) DocumentView(doc, current *schema.App, c Caller) *schema.App {
	if c.Admin {
		return doc
	}
	v := &view{old: s.Permissions(doc, c), cur: s.Permissions(current, c), doc: doc, current: current,
		fields: map[string]map[string]bool{}}
	out := &schema.App{Name: doc.Name, Label: doc.Label, Labels: doc.Labels, Description: doc.Description, Version: doc.Version,
		Entities: []schema.Entity{}}
	for i := range doc.Entities {
		if e, ok := v.entity(&doc.Entities[i]); ok {
			out.Entities = append(out.Entities, e)
		}
	}
	for _, f := range doc.Forms {
		if f, ok := v.form(f); ok {
			out.Forms = append(out.Forms, f)
		}
	}
	for i := range doc.Assignments {
		if a, ok := v.countdown(&doc.Assignments[i]); ok {
			out.Assignments = append(out.Assignments, a)
		}
	}
	return out
}

// countdown is what a member sees of an assignment rule: its name, labels,
// entity and golden-hours countdown (start, until, within, the steps'
// times — not their messages), so lists and records can show the time
// left; only when the entity and both fields are visible to them. Who the
// candidates are, the score and the pool stay the designer's.
func (v *view) countdown(a *schema.Assignment) (schema.Assignment, bool) {
	cd := a.Countdown
	if cd == nil || !v.entityVisible(a.Entity) {
		return schema.Assignment{}, false
	}
	start := cd.Start
	if start == "" {
		start = "created_at"
	}
	if !v.fieldVisible(a.Entity, start) || !v.fieldVisible(a.Entity, cd.Until) {
		return schema.Assignment{}, false
	}
	out := schema.Countdown{Start: cd.Start, Until: cd.Until, Within: cd.Within}
	for _, st := range cd.Steps {
		out.Steps = append(out.Steps, schema.CountdownStep{After: st.After, Do: st.Do})
	}
	return schema.Assignment{Name: a.Name, Label: a.Label, Labels: a.Labels, Entity: a.Entity, Countdown: &out}, true
}

type view struct {
	old, cur     *Permissions
	doc, current *schema.App
	fields       map[string]map[string]bool // entity → field → visible (memo)
}

// counterpart returns the current version's entity matching e (by id, else
// by name), or nil.
func (v *view) counterpart(e *schema.Entity) *schema.Entity {
	if v.doc == v.current {
		return v.current.Entity(e.Name)
	}
	for i := range v.current.Entities {
		ce := &v.current.Entities[i]
		if (e.ID != "" && ce.ID == e.ID) || (e.ID == "" && ce.Name == e.Name) {
			return ce
		}
	}
	return nil
}

// entityVisible reports whether the caller may use entity (of doc).
func (v *view) entityVisible(name string) bool {
	e := v.doc.Entity(name)
	if e == nil || !v.old.Entity(name) {
		return false
	}
	ce := v.counterpart(e)
	return ce != nil && v.cur.Entity(ce.Name)
}

// fieldVisible reports whether the caller may see field (a declared field
// or a system column) of entity (of doc).
func (v *view) fieldVisible(entity, field string) bool {
	m := v.fields[entity]
	if m == nil {
		m = map[string]bool{}
		v.fields[entity] = m
	}
	if vis, ok := m[field]; ok {
		return vis
	}
	vis := v.computeFieldVisible(entity, field)
	m[field] = vis
	return vis
}

func (v *view) computeFieldVisible(entity, field string) bool {
	if !v.entityVisible(entity) {
		return false
	}
	e := v.doc.Entity(entity)
	if ok, _ := v.old.Field(entity, field); !ok {
		return false
	}
	ce := v.counterpart(e)
	name := field
	if f := e.Field(field); f != nil {
		var cf *schema.Field
		for i := range ce.Fields {
			if (f.ID != "" && ce.Fields[i].ID == f.ID) || (f.ID == "" && ce.Fields[i].Name == f.Name) {
				cf = &ce.Fields[i]
				break
			}
		}
		if cf == nil {
			return false // dropped since: not the caller's to see
		}
		name = cf.Name
	} else if !schema.IsSystemColumn(field) {
		return false
	}
	ok, _ := v.cur.Field(ce.Name, name)
	return ok
}

// readsVisible reports whether every name an expression of entity reads
// ("field" or "ref.field") is visible to the caller.
func (v *view) readsVisible(entity string, refs []string) bool {
	e := v.doc.Entity(entity)
	for _, r := range refs {
		ref, field, dotted := strings.Cut(r, ".")
		if !v.fieldVisible(entity, ref) {
			return false
		}
		if !dotted {
			continue
		}
		rf := e.Field(ref)
		if rf == nil || rf.Type != schema.Ref || !v.fieldVisible(rf.Entity, field) {
			return false
		}
	}
	return true
}

func (v *view) formulaVisible(entity, expr string) bool {
	refs, err := schema.FormulaRefs(expr)
	return err == nil && v.readsVisible(entity, refs)
}

func (v *view) filterVisible(entity, src string) bool {
	node, err := filter.Parse(src)
	if err != nil {
		return false
	}
	var names []string
	filter.Fields(node, func(c *filter.Compare) { names = append(names, c.Field) })
	return v.readsVisible(entity, names)
}

func (v *view) entity(e *schema.Entity) (schema.Entity, bool) {
	if !v.entityVisible(e.Name) {
		return schema.Entity{}, false
	}
	out := schema.Entity{ID: e.ID, Name: e.Name, Label: e.Label, Labels: e.Labels, Reference: e.Reference, Fields: []schema.Field{}}
	for _, f := range e.Fields {
		if !v.fieldVisible(e.Name, f.Name) {
			continue
		}
		switch f.Type {
		case schema.Formula:
			if !v.formulaVisible(e.Name, f.Expr) {
				f.Expr = ""
			}
		case schema.Rollup:
			if r := f.Rollup; r != nil && !v.rollupVisible(e.Name, r) {
				f.Rollup = nil
			}
		}
		out.Fields = append(out.Fields, f)
	}
	for _, ix := range e.Indexes {
		names := make([]string, len(ix.Fields))
		for i, entry := range ix.Fields {
			names[i], _ = schema.IndexField(entry)
		}
		if v.readsVisible(e.Name, names) {
			out.Indexes = append(out.Indexes, ix)
		}
	}
	for _, r := range e.Validations {
		if (r.Field == "" || v.fieldVisible(e.Name, r.Field)) && v.formulaVisible(e.Name, r.Expr) {
			out.Validations = append(out.Validations, r)
		}
	}
	return out, true
}

// rollupVisible reports whether the caller may see all a rollup reads: its
// child entity, the ref back, the aggregated field and the filter's fields.
func (v *view) rollupVisible(entity string, r *schema.RollupSpec) bool {
	child := []string{r.Via}
	if r.Field != "" {
		child = append(child, r.Field)
	}
	return v.entityVisible(r.Entity) && v.readsVisible(r.Entity, child) &&
		(r.Filter == "" || v.filterVisible(r.Entity, r.Filter))
}

func (v *view) form(f schema.Form) (schema.Form, bool) {
	if !v.entityVisible(f.Entity) {
		return f, false
	}
	switch f.Kind {
	case schema.FormRecord:
		var sections []schema.FormSection
		for _, s := range f.Sections {
			var names []string
			for _, n := range s.Fields {
				if v.fieldVisible(f.Entity, n) {
					names = append(names, n)
				}
			}
			if len(names) > 0 {
				s.Fields = names
				sections = append(sections, s)
			}
		}
		if len(sections) == 0 {
			// Nothing of the layout is left: the UI lays out the visible
			// fields itself.
			return f, false
		}
		f.Sections = sections
	case schema.FormList:
		var cols []string
		for _, n := range f.Columns {
			if v.fieldVisible(f.Entity, n) {
				cols = append(cols, n)
			}
		}
		f.Columns = cols
		var keys []string
		for _, k := range strings.Split(f.Sort, ",") {
			if n := strings.TrimPrefix(strings.TrimSpace(k), "-"); n != "" && v.fieldVisible(f.Entity, n) {
				keys = append(keys, strings.TrimSpace(k))
			}
		}
		f.Sort = strings.Join(keys, ",")
		if f.Filter != "" && !v.filterVisible(f.Entity, f.Filter) {
			// A default filter on a hidden field would fail the list (the
			// field is unknown to the caller) and names it: drop it. It is
			// a convenience, not a restriction (roles restrict rows).
			f.Filter = ""
		}
	default:
		return f, false
	}
	return f, true
}

// entityFor resolves an entity for a caller of the data API, from the
// document this process has cached (requestEntity; the caller ends with
// settled). To a caller who is not in the app it does not exist (the same
// 404 as an unknown app), and an entity whose records they may neither read
// nor create does not exist either (the same 404 as an unknown entity), so
// status codes and error texts reveal nothing that the metadata view hides.
// These refusals are settled here: a migration may just have given the
// caller a role.
func (s *Service) entityFor(ctx context.Context, c Caller, app, entity string) (*entityInfo, error) {
	info, err := s.requestEntity(ctx, app, entity)
	if err != nil || c.Admin {
		return info, err
	}
	if !s.Member(info.app, c) {
		return nil, s.settled(ctx, info, true, errorf(404, CodeNotFound, "no app %q", app))
	}
	roles := s.roles(info.app)
	for _, name := range c.Roles {
		if r := roles[name]; r != nil {
			rule := r.Entities[info.entity.Name]
			if rule.Grant(schema.OpRead) != nil || rule.Grant(schema.OpCreate) != nil {
				return info, nil
			}
		}
	}
	return nil, s.settled(ctx, info, true, errorf(404, CodeNotFound, "no entity %q in app %q", entity, app))
}
