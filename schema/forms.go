package schema

import (
	"fmt"
	"strings"
)

// Form is how the UI lays out an entity's records: the record form
// ("kind": "form": sections of fields in up to three columns) or the list
// view ("kind": "list": its columns, default sort and filter). An entity has
// at most one of each; without them the UI lays out every field itself.
type Form struct {
	Entity   string        `json:"entity"`
	Kind     string        `json:"kind"`
	Sections []FormSection `json:"sections,omitempty"`
	Columns  []string      `json:"columns,omitempty"`
	Sort     string        `json:"sort,omitempty"`
	Filter   string        `json:"filter,omitempty"`
}

// FormSection is a titled group of fields on a record form.
type FormSection struct {
	Title   string   `json:"title,omitempty"`
	Titles  Labels   `json:"titles,omitempty"`  // Title per language; Title is the fallback
	Columns int      `json:"columns,omitempty"` // 1–3; 0 means 1
	Fields  []string `json:"fields"`
}

// Form kinds.
const (
	FormRecord = "form"
	FormList   = "list"
)

// checkForms checks that forms name existing entities and fields, place a
// field once, and that list views sort by existing fields. List filters are
// compiled by the records layer, which owns the filter language.
func (a *App) checkForms(p *Problems) {
	seen := map[string]int{}
	for i, f := range a.Forms {
		path := fmt.Sprintf("/forms/%d", i)
		e := a.Entity(f.Entity)
		if e == nil {
			p.Add(path+"/entity", "no entity %q in this app%s", f.Entity, didYouMean(f.Entity, entityNames(a)))
			continue
		}
		key := f.Entity + "\x00" + f.Kind
		if j, dup := seen[key]; dup {
			p.Add(path, "entity %s already has a %s layout at /forms/%d", f.Entity, f.Kind, j)
			continue
		}
		seen[key] = i
		known := func(name string) bool { return e.Field(name) != nil || IsSystemColumn(name) }
		switch f.Kind {
		case FormRecord:
			if len(f.Columns) > 0 || f.Sort != "" || f.Filter != "" {
				p.Add(path, "a record form has sections, not columns, sort or filter (those belong to a \"list\" layout)")
			}
			placed := map[string]string{}
			for si, s := range f.Sections {
				blankTexts(p, fmt.Sprintf("%s/sections/%d/titles", path, si), s.Titles)
				for fi, name := range s.Fields {
					fp := fmt.Sprintf("%s/sections/%d/fields/%d", path, si, fi)
					switch {
					case IsSystemColumn(name):
						p.Add(fp, "%s is a system column; the form shows system columns itself", name)
					case e.Field(name) == nil:
						p.Add(fp, "no field %q in entity %s%s", name, f.Entity, didYouMean(name, fieldNamesOf(e)))
					case placed[name] != "":
						p.Add(fp, "%s is already placed at %s", name, placed[name])
					default:
						placed[name] = fp
					}
				}
			}
		case FormList:
			if len(f.Sections) > 0 {
				p.Add(path+"/sections", "a list view has columns, not sections (those belong to a \"form\" layout)")
			}
			cols := map[string]bool{}
			for ci, name := range f.Columns {
				cp := fmt.Sprintf("%s/columns/%d", path, ci)
				switch {
				case !known(name):
					p.Add(cp, "no field %q in entity %s%s", name, f.Entity, didYouMean(name, fieldNamesOf(e)))
				case cols[name]:
					p.Add(cp, "column %s is listed twice", name)
				}
				cols[name] = true
			}
			if f.Sort != "" {
				keys := strings.Split(f.Sort, ",")
				if len(keys) > 5 {
					p.Add(path+"/sort", "sort by at most 5 fields")
				}
				for _, k := range keys {
					name := strings.TrimPrefix(strings.TrimSpace(k), "-")
					if !known(name) {
						p.Add(path+"/sort", "cannot sort by %q: entity %s has no such field%s", name, f.Entity, didYouMean(name, fieldNamesOf(e)))
					}
				}
			}
		}
	}
}

func entityNames(a *App) []string {
	out := make([]string, len(a.Entities))
	for i := range a.Entities {
		out[i] = a.Entities[i].Name
	}
	return out
}

func fieldNamesOf(e *Entity) []string {
	out := make([]string, len(e.Fields))
	for i := range e.Fields {
		out[i] = e.Fields[i].Name
	}
	return out
}
