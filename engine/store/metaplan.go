package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/formaapp/forma/schema"
)

// OpMeta marks a plan step that changes the document only: a form layout,
// a list view, a role, a label, a script, a section of a later capability.
// It runs no SQL; it is listed so the publish plan shows every change.
const OpMeta = "meta"

// metaSteps appends a metadata-only step for every change between the old
// and new document that no table step covers.
func (p *planner) metaSteps() {
	old, nw := p.old, p.new
	if old == nil {
		old = &schema.App{}
	}
	meta := func(entity, path, format string, args ...any) {
		p.step(Step{Op: OpMeta, Entity: entity, Path: path, Description: fmt.Sprintf(format, args...)})
	}
	if old.Label != nw.Label || !same(old.Labels, nw.Labels) || old.Description != nw.Description {
		meta("", "/label", "app label or description: %q → %q", old.Label, nw.Label)
	}
	if !same(old.Settings, nw.Settings) {
		meta("", "/settings", "app settings changed")
	}

	// Entities present in both: labels, hooks, validations, reference flag,
	// field labels and the settings of fields no table step touched.
	oldByKey := map[string]*schema.Entity{}
	for i := range old.Entities {
		oldByKey[schema.EntityKey(&old.Entities[i])] = &old.Entities[i]
	}
	touched := map[string]bool{} // entity\x00field a table step already covers
	for _, s := range p.plan.Steps {
		touched[s.Entity+"\x00"+s.Field] = true
	}
	for i := range nw.Entities {
		ne := &nw.Entities[i]
		oe := oldByKey[schema.EntityKey(ne)]
		if oe == nil {
			continue // created: its table step says so
		}
		path := fmt.Sprintf("/entities/%d", i)
		if oe.Label != ne.Label || !same(oe.Labels, ne.Labels) {
			meta(ne.Name, path+"/label", "entity %s label: %q → %q", ne.Name, oe.Label, ne.Label)
		}
		if !same(oe.Hooks, ne.Hooks) {
			meta(ne.Name, path+"/hooks", "entity %s hooks changed", ne.Name)
		}
		if !same(oe.Validations, ne.Validations) {
			meta(ne.Name, path+"/validations", "entity %s validation rules changed (%d → %d)", ne.Name, len(oe.Validations), len(ne.Validations))
		}
		if oe.Reference != ne.Reference {
			meta(ne.Name, path+"/reference", "entity %s reference data: %t → %t", ne.Name, oe.Reference, ne.Reference)
		}
		for j := range ne.Fields {
			nf := &ne.Fields[j]
			if touched[ne.Name+"\x00"+nf.Name] {
				continue
			}
			var of *schema.Field
			for k := range oe.Fields {
				if oe.Fields[k].ID == nf.ID {
					of = &oe.Fields[k]
				}
			}
			if of == nil {
				continue
			}
			fpath := fmt.Sprintf("%s/fields/%d", path, j)
			switch {
			case of.Label != nf.Label || !same(of.Labels, nf.Labels):
				meta(ne.Name, fpath+"/label", "field %s.%s label: %q → %q", ne.Name, nf.Name, of.Label, nf.Label)
			case !same(of, nf):
				meta(ne.Name, fpath, "field %s.%s settings changed (no column change)", ne.Name, nf.Name)
			}
		}
	}

	// Forms and list views, by entity and kind.
	formKey := func(f schema.Form) string { return f.Entity + " " + f.Kind }
	oldForms := map[string]schema.Form{}
	for _, f := range old.Forms {
		oldForms[formKey(f)] = f
	}
	newForms := map[string]bool{}
	for i, f := range nw.Forms {
		newForms[formKey(f)] = true
		what := map[string]string{schema.FormRecord: "record form", schema.FormList: "list view"}[f.Kind]
		o, had := oldForms[formKey(f)]
		path := fmt.Sprintf("/forms/%d", i)
		switch {
		case !had:
			meta(f.Entity, path, "%s of %s added", what, f.Entity)
		case !same(o, f):
			meta(f.Entity, path, "%s of %s changed", what, f.Entity)
		}
	}
	for _, f := range old.Forms {
		if !newForms[formKey(f)] {
			what := map[string]string{schema.FormRecord: "record form", schema.FormList: "list view"}[f.Kind]
			meta(f.Entity, "/forms", "%s of %s removed", what, f.Entity)
		}
	}

	// Roles, by name.
	oldRoles := map[string]schema.Role{}
	for _, r := range old.Roles {
		oldRoles[r.Name] = r
	}
	newRoles := map[string]bool{}
	for i, r := range nw.Roles {
		newRoles[r.Name] = true
		o, had := oldRoles[r.Name]
		path := fmt.Sprintf("/roles/%d", i)
		switch {
		case !had && slices.Contains(schema.DefaultRoleNames, r.Name):
			meta("", path, "role %s written out (it replaces the default %s role)", r.Name, r.Name)
		case !had:
			meta("", path, "role %s added", r.Name)
		case !same(o, r):
			meta("", path, "role %s changed", r.Name)
		}
	}
	for _, r := range old.Roles {
		if !newRoles[r.Name] {
			meta("", "/roles", "role %s removed", r.Name)
		}
	}

	// Scripts, by name.
	names := map[string]bool{}
	for n := range old.Scripts {
		names[n] = true
	}
	for n := range nw.Scripts {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		o, had := old.Scripts[n]
		s, has := nw.Scripts[n]
		switch {
		case !had:
			meta("", "/scripts/"+n, "script %s added", n)
		case !has:
			meta("", "/scripts", "script %s removed", n)
		case o != s:
			meta("", "/scripts/"+n, "script %s changed", n)
		}
	}

	for _, sec := range []struct {
		name     string
		old, new any
		n, m     int
	}{{"flows", old.Flows, nw.Flows, len(old.Flows), len(nw.Flows)},
		{"automations", old.Automations, nw.Automations, len(old.Automations), len(nw.Automations)},
		{"assignments", old.Assignments, nw.Assignments, len(old.Assignments), len(nw.Assignments)},
		{"dashboards", old.Dashboards, nw.Dashboards, len(old.Dashboards), len(nw.Dashboards)}} {
		if !same(sec.old, sec.new) {
			meta("", "/"+sec.name, "%s changed (%d → %d)", sec.name, sec.n, sec.m)
		}
	}
}

// same compares two parts of a document by their JSON.
func same(a, b any) bool {
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	return string(aj) == string(bj)
}
