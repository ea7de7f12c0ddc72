package schema

import (
	"fmt"
	"sort"
)

// RoleWarnings finds the traps a designer should hear about before
// publishing, without refusing the document: a role that may create or
// edit a ref field of an entity but cannot read the entity the field
// points at (a rep who may enter orders but cannot pick a store). Each
// warning has code "ref_target_unreadable" (or "ref_target_partly_readable"
// when the role reads only its own or its team's targets), params role, entity, field and
// target, and points at the role (when the document defines it) or at the
// ref field (for a default role).
func (a *App) RoleWarnings() Problems {
	roles := a.EffectiveRoles()
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	defined := map[string]int{}
	for i, r := range a.Roles {
		defined[r.Name] = i
	}
	var out Problems
	for _, rn := range names {
		r := roles[rn]
		for ei := range a.Entities {
			e := &a.Entities[ei]
			rule, ok := r.Entities[e.Name]
			if !ok || (rule.Grant(OpCreate) == nil && rule.Grant(OpUpdate) == nil) {
				continue
			}
			for fi := range e.Fields {
				f := &e.Fields[fi]
				if f.Type != Ref || rule.Fields[f.Name] != "" {
					continue // hidden or read-only fields are not picked
				}
				code, why := "ref_target_unreadable", "cannot read %[4]s, so it cannot pick one"
				if t, ok := r.Entities[f.Entity]; ok {
					if g := t.Grant(OpRead); g != nil {
						if g.Scope == ScopeAll && g.Where == "" {
							continue
						}
						code, why = "ref_target_partly_readable", "reads only some records of %[4]s ("+g.Scope+"), so it can pick only those"
					}
				}
				path := fmt.Sprintf("/entities/%d/fields/%d", ei, fi)
				if i, ok := defined[rn]; ok {
					path = fmt.Sprintf("/roles/%d/entities/%s", i, ptrEscaper.Replace(f.Entity))
				}
				out = append(out, Problem{Path: path, Code: code,
					Params: map[string]any{"role": rn, "entity": e.Name, "field": f.Name, "target": f.Entity},
					Message: fmt.Sprintf("role %[1]s may fill in %[2]s.%[3]s but "+why+
						": mark %[4]s as reference data or let %[1]s read all of it", rn, e.Name, f.Name, f.Entity)})
			}
		}
	}
	return out
}
