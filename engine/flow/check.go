package flow

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/schema"
)

// checkFlows returns what the engine refuses in app's flows beyond the
// schema's checks, each at its pointer: guards and approval step
// conditions compiled against the flow's entity (an unknown field, a
// comparison its type cannot make), step deadlines parsed with the
// automation timers' offset syntax, and the actions on enter checked as
// an automation's.
func (s *Service) checkFlows(ctx context.Context, app *schema.App) schema.Problems {
	var p schema.Problems
	if s.autos != nil {
		p = s.autos.CheckFlowActions(ctx, app)
	}
	for i := range app.Flows {
		f := &app.Flows[i]
		if app.Entity(f.Entity) == nil {
			continue // schema.Check reports it
		}
		for j := range f.Transitions {
			t := &f.Transitions[j]
			tp := fmt.Sprintf("/flows/%d/transitions/%d", i, j)
			guardOK := true
			if t.Guard != "" {
				if err := s.checkFilter(app, f.Entity, t.Guard); err != nil {
					p.AddCode(tp+"/guard", "expression", nil, "%v", err)
					guardOK = false
				}
			}
			p = append(p, s.checkNeedToKnow(app, f, t, tp, guardOK)...)
			if t.Approval == nil {
				continue
			}
			for k := range t.Approval.Steps {
				st := &t.Approval.Steps[k]
				sp := fmt.Sprintf("%s/approval/steps/%d", tp, k)
				if st.Condition != "" {
					if err := s.checkFilter(app, f.Entity, st.Condition); err != nil {
						p.AddCode(sp+"/condition", "expression", nil, "%v", err)
					}
				}
				if st.Deadline != "" {
					d, err := automation.ParseOffset(st.Deadline)
					switch {
					case err != nil:
						p.Add(sp+"/deadline", "deadline: %v", err)
					case d <= 0:
						p.Add(sp+"/deadline", "a deadline is a positive duration such as \"24h\" or \"2d\", not %q", st.Deadline)
					}
				}
			}
		}
	}
	return p
}

// checkFilter compiles src against entity of app (a document being
// applied): a guard or condition over the record's fields, without
// @variables of a caller (a flow decides for whoever takes it).
func (s *Service) checkFilter(app *schema.App, entity, src string) error {
	n, err := filter.Parse(src)
	if err != nil {
		return err
	}
	return s.records.CheckFilter(app, entity, n)
}

// CodeFieldHidden is the code of an apply-time problem: a role that may
// take a transition may not read a field its guard or evidence reads.
const CodeFieldHidden = "flow_field_hidden"

// checkNeedToKnow refuses a transition whose guard or evidence reads a
// field that a role allowed to take it may not read: the transition's
// lacks (GET …/transitions, a refused take) would tell that role whether
// the field is filled or meets the guard. The roles allowed are its Roles,
// or, when it names none, every role that may read or update the entity
// (whoever reads a record lists its transitions and their lacks). A role
// that may read no record of the entity cannot see the field either: with
// another role that reads the record but not the field, it would take the
// transition and see its lacks. Readability is the records policy's
// (field rules, formulas reading hidden fields). One problem per guard and per evidence entry, at its pointer,
// code CodeFieldHidden.
func (s *Service) checkNeedToKnow(app *schema.App, f *schema.Flow, t *schema.Transition, tp string, guardOK bool) schema.Problems {
	e := app.Entity(f.Entity)
	roles := app.EffectiveRoles()
	var takers []string
	if len(t.Roles) > 0 {
		for _, r := range t.Roles {
			if roles[r] != nil { // an unknown role is the schema's problem
				takers = append(takers, r)
			}
		}
	} else {
		for name, r := range roles {
			rule := r.Entities[f.Entity]
			if rule.Grant(schema.OpRead) != nil || rule.Grant(schema.OpUpdate) != nil {
				takers = append(takers, name)
			}
		}
	}
	sort.Strings(takers)
	var guardReads []string
	if t.Guard != "" && guardOK {
		if n, err := filter.Parse(t.Guard); err == nil {
			seen := map[string]bool{}
			filter.Fields(n, func(c *filter.Compare) {
				if !seen[c.Field] {
					seen[c.Field] = true
					guardReads = append(guardReads, c.Field)
				}
			})
		}
	}
	if len(takers) == 0 || (len(guardReads) == 0 && len(t.Evidence) == 0) {
		return nil
	}
	readable := map[string]map[string]bool{} // role → field
	for _, r := range takers {
		readable[r] = s.records.ReadableByRole(app, r, []string{f.Entity})[f.Entity]
	}
	// blind returns the roles that may not read every one of fields, and
	// the fields they miss.
	blind := func(fields []string) (who, what []string) {
		missed := map[string]bool{}
		for _, r := range takers {
			out := false
			for _, name := range fields {
				if !readable[r][name] {
					out = true
					if !missed[name] {
						missed[name] = true
						what = append(what, name)
					}
				}
			}
			if out {
				who = append(who, r)
			}
		}
		return who, what
	}
	var p schema.Problems
	add := func(path, what string, who, fields []string) {
		// The code is CodeFieldHidden, spelled out for schema's source
		// test, which checks that AddCode's codes are documented.
		p.AddCode(path, "flow_field_hidden", map[string]any{"transition": t.Name, "roles": who, "fields": fields},
			"role %s may take transition %s but may not read %s, which its %s reads: what the transition lacks would tell them; "+
				"let them read it, or name in roles only those who may", strings.Join(who, ", "), t.Name, strings.Join(fields, ", "), what)
	}
	if who, fields := blind(guardReads); len(who) > 0 {
		add(tp+"/guard", "guard", who, fields)
	}
	for k, name := range t.Evidence {
		if e.Field(name) == nil {
			continue // the schema's problem
		}
		if who, fields := blind([]string{name}); len(who) > 0 {
			add(fmt.Sprintf("%s/evidence/%d", tp, k), "evidence", who, fields)
		}
	}
	return p
}
