package schema

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Role is what the users holding it may do in an app, entity by entity.
// Users carry role names; an app defines what each name grants. Apps get
// the DefaultRoles for every name they do not define themselves; the
// platform admin may do everything and needs no role.
type Role struct {
	Name        string                `json:"name"`
	Label       string                `json:"label,omitempty"`
	Labels      Labels                `json:"labels,omitempty"`
	Description string                `json:"description,omitempty"`
	Entities    map[string]EntityRule `json:"entities,omitempty"` // an entity left out grants nothing
}

// EntityRule grants the four operations on one entity, each with a scope,
// and hides fields or makes them read-only.
type EntityRule struct {
	Create *Scope            `json:"create,omitempty"`
	Read   *Scope            `json:"read,omitempty"`
	Update *Scope            `json:"update,omitempty"`
	Delete *Scope            `json:"delete,omitempty"`
	Fields map[string]string `json:"fields,omitempty"` // field → "hidden" | "readonly"
}

// The scopes of a grant: which records, by owner.
const (
	ScopeOwn  = "own"  // records the user owns
	ScopeTeam = "team" // records owned by anyone in the user's team or a team below it
	ScopeAll  = "all"
	ScopeNone = "none"
)

// The field rules.
const (
	FieldHidden   = "hidden"
	FieldReadonly = "readonly"
)

// The operations a rule grants.
const (
	OpCreate = "create"
	OpRead   = "read"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Scope is a grant's reach, optionally narrowed by a condition in the filter
// language ("status != \"approved\""). In a document it is either the scope
// name alone or {"scope": …, "where": …}.
type Scope struct {
	Scope string `json:"scope"`
	Where string `json:"where,omitempty"`
}

// UnmarshalJSON accepts "own" as well as {"scope": "own", "where": "…"}.
func (s *Scope) UnmarshalJSON(b []byte) error {
	var name string
	if json.Unmarshal(b, &name) == nil {
		*s = Scope{Scope: name}
		return nil
	}
	type plain Scope
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*s = Scope(p)
	return nil
}

// MarshalJSON writes the short form when there is no condition.
func (s Scope) MarshalJSON() ([]byte, error) {
	if s.Where == "" {
		return json.Marshal(s.Scope)
	}
	type plain Scope
	return json.Marshal(plain(s))
}

// Grant returns the scope a rule gives for op (nil when not granted).
func (r EntityRule) Grant(op string) *Scope {
	var s *Scope
	switch op {
	case OpCreate:
		s = r.Create
	case OpRead:
		s = r.Read
	case OpUpdate:
		s = r.Update
	case OpDelete:
		s = r.Delete
	}
	if s == nil || s.Scope == ScopeNone || s.Scope == "" {
		return nil
	}
	return s
}

// DefaultRoleNames are the roles every app has unless it defines them:
// a rep works on their own records, a manager on their team's, an executive
// on all.
var DefaultRoleNames = []string{"rep", "manager", "executive"}

// EffectiveRoles returns the app's roles by name: those it defines, plus
// the default roles it does not define.
func (a *App) EffectiveRoles() map[string]*Role {
	out := map[string]*Role{}
	for i := range a.Roles {
		out[a.Roles[i].Name] = &a.Roles[i]
	}
	for _, name := range DefaultRoleNames {
		if out[name] != nil {
			continue
		}
		scope := map[string]string{"rep": ScopeOwn, "manager": ScopeTeam, "executive": ScopeAll}[name]
		r := &Role{Name: name, Entities: map[string]EntityRule{}}
		for _, e := range a.Entities {
			s := &Scope{Scope: scope}
			r.Entities[e.Name] = EntityRule{Create: s, Read: s, Update: s, Delete: s}
		}
		out[name] = r
	}
	// Reference data is readable by every role, in full: a rep who may
	// create an order can pick its store. The roles' write grants and field
	// rules stay as written. Roles of the document are copied, not changed.
	for _, e := range a.Entities {
		if !e.Reference {
			continue
		}
		for name, r := range out {
			cp := *r
			cp.Entities = make(map[string]EntityRule, len(r.Entities)+1)
			for k, v := range r.Entities {
				cp.Entities[k] = v
			}
			rule := cp.Entities[e.Name]
			rule.Read = &Scope{Scope: ScopeAll}
			cp.Entities[e.Name] = rule
			out[name] = &cp
		}
	}
	return out
}

// checkRoles checks the roles section: unique names, known entities and
// fields. Conditions are in the filter language, which the engine checks.
func (a *App) checkRoles(p *Problems) {
	seen := map[string]bool{}
	for i, r := range a.Roles {
		path := fmt.Sprintf("/roles/%d", i)
		switch {
		case r.Name == "admin":
			p.Add(path+"/name", "admin is the platform administrator and cannot be redefined")
		case seen[r.Name]:
			p.Add(path+"/name", "duplicate role name %q", r.Name)
		}
		seen[r.Name] = true
		names := make([]string, 0, len(r.Entities))
		for n := range r.Entities {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, en := range names {
			epath := path + "/entities/" + ptrEscaper.Replace(en)
			e := a.Entity(en)
			if e == nil {
				p.Add(epath, "no entity %q in this app", en)
				continue
			}
			for fn := range r.Entities[en].Fields {
				if e.Field(fn) == nil && !IsSystemColumn(fn) {
					p.Add(epath+"/fields/"+ptrEscaper.Replace(fn), "no field %q in entity %s", fn, en)
				} else if fn == "id" {
					p.Add(epath+"/fields/id", "id cannot be hidden or read-only")
				}
			}
		}
	}
}
