package flow

import (
	"context"
	"fmt"

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
			if t.Guard != "" {
				if err := s.checkFilter(app, f.Entity, t.Guard); err != nil {
					p.AddCode(tp+"/guard", "expression", nil, "%v", err)
				}
			}
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
