package records

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// This file is the one place where role rules become restrictions. Every
// path that reads or writes records (list, get, filter, sort, expand,
// create, patch, delete, history, the OpenAPI view — and scripts, flows and
// imports as they come) goes through grant and visible, so no path can
// bypass them.

// grant is what a caller may do with one entity for one operation.
type grant struct {
	none  bool   // nothing at all
	all   bool   // every record, unconditionally
	where string // otherwise: an SQL condition over the entity's table
	args  []any
}

// teamOwners selects the users in a team and every team below it. UNION
// (not UNION ALL) ends the recursion even if the teams table held a loop.
const teamOwners = `SELECT u.id FROM _forma_users u WHERE u.team_id IN (` +
	`WITH RECURSIVE sub(id) AS (SELECT t0.id FROM _forma_teams t0 WHERE t0.id = ? UNION SELECT t.id FROM _forma_teams t JOIN sub ON t.parent_id = sub.id) SELECT id FROM sub)`

// grant computes the caller's rows for op on info's entity: the union, over
// the caller's roles, of each role's scope narrowed by its condition.
func (s *Service) grant(info *entityInfo, c Caller, op string) (*grant, error) {
	if c.Admin {
		return &grant{all: true}, nil
	}
	roles := s.roles(info.app)
	var ors []string
	var args []any
	for _, name := range c.Roles {
		role := roles[name]
		if role == nil {
			continue
		}
		scope := role.Entities[info.entity.Name].Grant(op)
		if scope == nil {
			continue
		}
		var cond string
		var cargs []any
		switch scope.Scope {
		case schema.ScopeAll:
			cond = ""
		case schema.ScopeOwn:
			cond, cargs = `"owner" = ?`, []any{c.UserID}
		case schema.ScopeTeam:
			if c.TeamID == "" {
				cond, cargs = `"owner" = ?`, []any{c.UserID}
			} else {
				cond, cargs = `("owner" = ? OR "owner" IN (`+teamOwners+`))`, []any{c.UserID, c.TeamID}
			}
		default:
			continue
		}
		if scope.Where != "" {
			node, err := filter.Parse(scope.Where)
			if err != nil {
				return nil, errorf(500, "internal", "role %s: condition on %s: %v", name, info.entity.Name, err)
			}
			w, wargs, err := filter.Compile(node, ruleFilter{s, info, &c}, s.encodeLiteral(info, &c), s.dialect)
			if err != nil {
				return nil, errorf(500, "internal", "role %s: condition on %s: %v", name, info.entity.Name, err)
			}
			if cond == "" {
				cond, cargs = w, wargs
			} else {
				cond, cargs = cond+" AND "+w, append(cargs, wargs...)
			}
		}
		if cond == "" {
			return &grant{all: true}, nil
		}
		ors = append(ors, "("+cond+")")
		args = append(args, cargs...)
	}
	if len(ors) == 0 {
		return &grant{none: true}, nil
	}
	return &grant{where: "(" + strings.Join(ors, " OR ") + ")", args: args}, nil
}

// roles returns the app's effective roles, computed once per app version:
// every request consults them.
func (s *Service) roles(app *schema.App) map[string]*schema.Role {
	key := "roles\x00" + s.docKey(app)
	if v, ok := s.entities.Load(key); ok {
		return v.(map[string]*schema.Role)
	}
	r := app.EffectiveRoles()
	s.entities.Store(key, r)
	return r
}

// fieldRules returns the fields the caller cannot see and those they cannot
// write. A field is hidden only if every role that lets the caller read the
// entity hides it, and read-only only if every role that lets them write it
// makes it read-only (or hidden): roles add up.
//
// A formula or rollup that reads a field hidden from the caller is hidden
// too (transitively, and through refs and rollups), so a computed value
// cannot reveal what its inputs hide.
func (s *Service) fieldRules(info *entityInfo, c Caller) (hidden, readonly map[string]bool) {
	return s.fieldRulesFrom(info, c, map[string]bool{})
}

// fieldRulesFrom is fieldRules; seen holds the entities whose rules are
// being worked out further up, whose role rules alone count (a rollup's
// filter may read a formula that reads the rollup's own entity, a loop the
// cycle check does not see).
func (s *Service) fieldRulesFrom(info *entityInfo, c Caller, seen map[string]bool) (hidden, readonly map[string]bool) {
	hidden, readonly = s.roleFieldRules(info, c)
	if len(info.computedReads) == 0 || c.Admin {
		return hidden, readonly
	}
	seen[info.entity.Name] = true
	defer delete(seen, info.entity.Name)
	targets := map[string]map[string]bool{} // entity → its hidden fields
	hiddenIn := func(entity, field string) bool {
		h, ok := targets[entity]
		if !ok {
			if t := s.infoOf(info.app, entity); t != nil {
				if seen[entity] {
					h, _ = s.roleFieldRules(t, c)
				} else {
					h, _ = s.fieldRulesFrom(t, c, seen)
				}
			}
			targets[entity] = h
		}
		return h[field]
	}
	for changed := true; changed; {
		changed = false
		for name, reads := range info.computedReads {
			if hidden[name] {
				continue
			}
			for _, r := range reads {
				entity, field, ok := strings.Cut(r, ".")
				if (!ok && hidden[r]) || (ok && hiddenIn(entity, field)) {
					if hidden == nil {
						hidden, readonly = map[string]bool{}, map[string]bool{}
					}
					hidden[name], readonly[name] = true, true
					changed = true
					break
				}
			}
		}
	}
	return hidden, readonly
}

// roleFieldRules is fieldRules from the roles alone.
func (s *Service) roleFieldRules(info *entityInfo, c Caller) (hidden, readonly map[string]bool) {
	if c.Admin {
		return nil, nil
	}
	roles := s.roles(info.app)
	var readers, writers []map[string]string
	for _, name := range c.Roles {
		role := roles[name]
		if role == nil {
			continue
		}
		rule := role.Entities[info.entity.Name]
		if rule.Grant(schema.OpRead) != nil {
			readers = append(readers, rule.Fields)
		}
		if rule.Grant(schema.OpCreate) != nil || rule.Grant(schema.OpUpdate) != nil {
			writers = append(writers, rule.Fields)
		}
	}
	every := func(sets []map[string]string, match func(string) bool) map[string]bool {
		out := map[string]bool{}
		if len(sets) == 0 {
			return out
		}
		for f, r := range sets[0] {
			if !match(r) {
				continue
			}
			all := true
			for _, other := range sets[1:] {
				all = all && match(other[f])
			}
			if all {
				out[f] = true
			}
		}
		return out
	}
	hidden = every(readers, func(r string) bool { return r == schema.FieldHidden })
	readonly = every(writers, func(r string) bool { return r == schema.FieldHidden || r == schema.FieldReadonly })
	for f := range hidden {
		readonly[f] = true
	}
	return hidden, readonly
}

// visible returns info as the caller sees it: without hidden fields, so that
// selecting, filtering, sorting and expanding by them fails exactly as for a
// field that does not exist, and no answer can reveal them.
func (s *Service) visible(info *entityInfo, c Caller) *entityInfo {
	hidden, _ := s.fieldRules(info, c)
	if len(hidden) == 0 {
		return info
	}
	names := make([]string, 0, len(hidden))
	for n := range hidden {
		names = append(names, n)
	}
	sort.Strings(names)
	key := info.key + "\x00hide:" + strings.Join(names, ",")
	if v, ok := s.entities.Load(key); ok {
		return v.(*entityInfo)
	}
	v := *info
	v.fields, v.byName = nil, map[string]*schema.Field{}
	var cols []string
	for _, f := range info.fields {
		if hidden[f.Name] {
			continue
		}
		v.fields = append(v.fields, f)
		v.byName[f.Name] = f
		cols = append(cols, store.Quote(f.Name))
	}
	v.selects = strings.Join(cols, ", ")
	v.key = key
	s.entities.Store(key, &v)
	return &v
}

// rowVisible reports whether record id satisfies g, inside q.
func (s *Service) rowVisible(ctx context.Context, q store.Conn, info *entityInfo, id string, g *grant) (bool, error) {
	if g.all {
		return true, nil
	}
	if g.none {
		return false, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT 1 FROM `+store.Quote(info.table)+` WHERE "id" = ? AND `+g.where, append([]any{id}, g.args...)...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	return rows.Next(), rows.Err()
}

// Permissions is what a caller may use of an app, for describing it (the
// OpenAPI document shows a role only what it may use).
type Permissions struct {
	s   *Service
	c   Caller
	app *schema.App
}

// Permissions returns the caller's view of app.
func (s *Service) Permissions(app *schema.App, c Caller) *Permissions {
	return &Permissions{s: s, c: c, app: app}
}

func (p *Permissions) info(entity string) *entityInfo { return p.s.infoOf(p.app, entity) }

// Entity reports whether the caller may read or create records of entity.
func (p *Permissions) Entity(entity string) bool {
	info := p.info(entity)
	if info == nil {
		return false
	}
	for _, op := range []string{schema.OpRead, schema.OpCreate} {
		if g, err := p.s.grant(info, p.c, op); err == nil && !g.none {
			return true
		}
	}
	return false
}

// Field reports whether the caller may see and write a field.
func (p *Permissions) Field(entity, field string) (visible, writable bool) {
	info := p.info(entity)
	if info == nil {
		return false, false
	}
	hidden, readonly := p.s.fieldRules(info, p.c)
	return !hidden[field], !readonly[field]
}

// perReaderField reports whether name is a rollup of info with
// "visibility": "reader".
func perReaderField(info *entityInfo, name string) bool {
	f := info.byName[name]
	return f != nil && f.Type == schema.Rollup && f.Rollup.PerReader()
}

// CheckApp compiles every role condition of app against its entity, every
// rollup filter against its child entity, and the app's scripts, formulas
// and validation rules, so a mistake is refused when the app is applied
// rather than when a user first meets it. Problems carry JSON pointers into the document.
func (s *Service) CheckApp(app *schema.App) schema.Problems {
	var problems schema.Problems
	for i, r := range app.Roles {
		names := make([]string, 0, len(r.Entities))
		for n := range r.Entities {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, en := range names {
			e := app.Entity(en)
			if e == nil {
				continue // schema.Check reports it
			}
			info := newEntityInfo(app, e, "")
			rule := r.Entities[en]
			for _, op := range []string{schema.OpCreate, schema.OpRead, schema.OpUpdate, schema.OpDelete} {
				sc := rule.Grant(op)
				if sc == nil || sc.Where == "" {
					continue
				}
				path := fmt.Sprintf("/roles/%d/entities/%s/%s/where", i, en, op)
				node, err := filter.Parse(sc.Where)
				if err == nil {
					_, _, err = filter.Compile(node, ruleFilter{s, info, nil}, s.encodeLiteral(info, nil), s.dialect)
				}
				if err != nil {
					problems.AddCode(path, "expression", nil, "%v", err)
				}
			}
		}
	}
	// Rollup filters are compiled against the child entity.
	for ei := range app.Entities {
		for fi, f := range app.Entities[ei].Fields {
			if f.Type != schema.Rollup || f.Rollup == nil || f.Rollup.Filter == "" {
				continue
			}
			child := app.Entity(f.Rollup.Entity)
			if child == nil {
				continue
			}
			info := newEntityInfo(app, child, "")
			node, err := filter.Parse(f.Rollup.Filter)
			if err == nil {
				if dotted := dottedName(node); dotted != nil {
					problems.AddCode(fmt.Sprintf("/entities/%d/fields/%d/rollup/filter", ei, fi), "dotted_name",
						map[string]any{"field": dotted.Field, "position": dotted.Pos}, "%s: %s", dotted.Field, dottedRollupWhy)
					continue
				}
			}
			if err == nil {
				_, _, err = filter.Compile(node, info, s.encodeLiteral(info, nil), s.dialect)
			}
			if err == nil {
				// A stored value cannot depend on who reads it (schema's
				// checkReaderRollups says the same of formulas and rules).
				filter.Fields(node, func(c *filter.Compare) {
					if err == nil && perReaderField(info, c.Field) {
						err = fmt.Errorf("filter: %s.%s is a rollup with \"visibility\": \"reader\" whose value depends on who reads it; a stored value cannot be computed from it", child.Name, c.Field)
					}
				})
			}
			if err != nil {
				problems.AddCode(fmt.Sprintf("/entities/%d/fields/%d/rollup/filter", ei, fi), "expression", nil, "%v", err)
			}
		}
	}
	// List views' default filters are compiled against their entity.
	for i, f := range app.Forms {
		e := app.Entity(f.Entity)
		if f.Kind != schema.FormList || f.Filter == "" || e == nil {
			continue
		}
		info := newEntityInfo(app, e, "")
		node, err := filter.Parse(f.Filter)
		if err == nil {
			_, _, err = filter.Compile(node, info, s.encodeLiteral(info, nil), s.dialect)
		}
		if err == nil {
			filter.Fields(node, func(c *filter.Compare) {
				if err == nil && perReaderField(info, c.Field) {
					err = fmt.Errorf("filter: %s is a rollup with \"visibility\": \"reader\"; readers who may read only some %s records cannot filter by it", c.Field, info.byName[c.Field].Rollup.Entity)
				}
			})
		}
		if err != nil {
			problems.AddCode(fmt.Sprintf("/forms/%d/filter", i), "expression", nil, "%v", err)
		}
	}
	// Nor may a list view sort by one.
	for i, f := range app.Forms {
		e := app.Entity(f.Entity)
		if f.Kind != schema.FormList || f.Sort == "" || e == nil {
			continue
		}
		info := newEntityInfo(app, e, "")
		for _, k := range strings.Split(f.Sort, ",") {
			if k = strings.TrimLeft(strings.TrimSpace(k), "+-"); perReaderField(info, k) {
				problems.Add(fmt.Sprintf("/forms/%d/sort", i), "%s is a rollup with \"visibility\": \"reader\"; readers who may read only some %s records cannot sort by it", k, info.byName[k].Rollup.Entity)
			}
		}
	}
	// Scripts, formulas and rules must compile.
	if _, p := logic.Compile(app); len(p) > 0 {
		problems = append(problems, p...)
	}
	return problems
}

// dottedRollupWhy is why a rollup's filter takes the child's own fields
// only: a rollup is stored and recomputed when a child changes, and a
// change to the record a child points at would not recompute it, so the
// stored value would go stale silently.
const dottedRollupWhy = "a rollup's filter takes the child entity's own fields only: the rollup is stored, and a change to the referenced record would not recompute it; add a formula field on the child that reads it (e.g. store_region = store.region) and filter on that"

// dottedName is the first comparison of n through a ref (ref.field), or nil.
func dottedName(n filter.Node) *filter.Compare {
	var out *filter.Compare
	filter.Fields(n, func(c *filter.Compare) {
		if out == nil && strings.Contains(c.Field, ".") {
			out = c
		}
	})
	return out
}

// roleProbeUser is the user id ReadableByRole checks a role with: a
// well-formed id no account has.
const roleProbeUser = "00000000000000000000000000"

// ReadableByRole returns, for app — a document being checked, perhaps
// never applied, so nothing derived from it is kept —, the fields of each
// of entities that a caller holding only role may read (none of an entity
// the role may read no record of): what a flow's transition may show such
// a caller of a record (flow's apply-time need-to-know check).
func (s *Service) ReadableByRole(app *schema.App, role string, entities []string) map[string]map[string]bool {
	if _, applying := s.applying.LoadOrStore(app, struct{}{}); !applying {
		// Cached under the document's address, dropped once done.
		defer s.forgetApplying(app)
	}
	out := make(map[string]map[string]bool, len(entities))
	for _, e := range entities {
		// A stand-in user: a role's condition naming @me (receiver = @me)
		// needs an id to compile, and which user it is does not change the
		// fields the role shows.
		out[e], _ = s.Readable(app, e, Caller{Roles: []string{role}, UserID: roleProbeUser})
	}
	return out
}
