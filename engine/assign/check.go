package assign

import (
	"fmt"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/schema"
)

// checkApp compiles what each rule holds as text: the open-load filter,
// winRate's won and closed filters over the outcome entity, the
// candidates' conditions over the user, and the score expressions over
// the rule's statistics. The schema has checked names and fields (rules
// whose entity does not exist are skipped here).
func (s *Service) checkApp(app *schema.App) schema.Problems {
	var ps schema.Problems
	for i := range app.Assignments {
		r := &app.Assignments[i]
		ap := fmt.Sprintf("/assignments/%d", i)
		if app.Entity(r.Entity) == nil {
			continue
		}
		s.checkFilter(&ps, app, r.Entity, ap+"/open", r.Open)
		checkCondition(&ps, ap+"/candidates/condition", r.Candidates.Condition)
		for j := range r.Fallbacks {
			checkCondition(&ps, fmt.Sprintf("%s/fallbacks/%d/condition", ap, j), r.Fallbacks[j].Condition)
		}
		if r.Pool != nil && r.Pool.Eligible != nil {
			checkCondition(&ps, ap+"/pool/eligible/condition", r.Pool.Eligible.Condition)
		}
		for j := range r.Statistics {
			st := &r.Statistics[j]
			if st.Kind != schema.StatWinRate {
				continue
			}
			oe := outcomeEntity(r, st)
			if app.Entity(oe) == nil {
				continue
			}
			sp := fmt.Sprintf("%s/statistics/%d", ap, j)
			s.checkFilter(&ps, app, oe, sp+"/won", st.Won)
			s.checkFilter(&ps, app, oe, sp+"/closed", st.Closed)
		}
		if r.Score != "" {
			if err := checkScore(r, r.Score); err != nil {
				ps.AddCode(ap+"/score", "expression", nil, "%s", err.Error())
			}
		}
		for j, v := range r.Variants {
			if v.Score != "" {
				if err := checkScore(r, v.Score); err != nil {
					ps.AddCode(fmt.Sprintf("%s/variants/%d/score", ap, j), "expression", nil, "%s", err.Error())
				}
			}
		}
	}
	return ps
}

// checkFilter compiles a filter over entity of the document being applied.
func (s *Service) checkFilter(ps *schema.Problems, app *schema.App, entity, p, src string) {
	if src == "" {
		return
	}
	n, err := filter.Parse(src)
	if err == nil {
		err = s.records.CheckFilter(app, entity, n)
	}
	if err != nil {
		ps.Add(p, "not a valid expression: %s", err.Error())
	}
}

// checkCondition parses a candidates' condition and checks it reads only
// user attributes, compared as they can be.
func checkCondition(ps *schema.Problems, p, src string) {
	if src == "" {
		return
	}
	if _, err := parseCondition(src); err != nil {
		ps.Add(p, "not a valid expression: %s", err.Error())
	}
}

// checkScore checks a score expression: it parses, and every name it
// reads is one of the rule's statistics.
func checkScore(r *schema.Assignment, expr string) error {
	refs, err := script.ParseExpr("score", expr)
	if err != nil {
		return err
	}
	declared := statNames(r)
	for _, ref := range refs {
		if !declared[ref] {
			names := make([]string, 0, len(r.Statistics))
			for _, st := range r.Statistics {
				names = append(names, st.Name)
			}
			return fmt.Errorf("%q is not a statistic of this rule (statistics: %s)", ref, strings.Join(names, ", "))
		}
	}
	return nil
}

// statNames is the set of r's statistic names.
func statNames(r *schema.Assignment) map[string]bool {
	out := make(map[string]bool, len(r.Statistics))
	for _, st := range r.Statistics {
		out[st.Name] = true
	}
	return out
}

// outcomeEntity is the entity whose records a winRate statistic counts.
func outcomeEntity(r *schema.Assignment, st *schema.Statistic) string {
	if st.Entity != "" {
		return st.Entity
	}
	return r.Entity
}
