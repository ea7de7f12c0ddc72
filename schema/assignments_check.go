package schema

import (
	"fmt"
	"time"
)

// checkAssignments checks what the JSON Schema cannot about assignment
// rules: names unique, entities, fields, roles and statistics that exist,
// what each strategy needs, working hours, pool and countdown durations,
// variants. Filters, conditions and score expressions are compiled by the
// engine (engine/assign CheckApp).
func (c *checker) checkAssignments() {
	seen := map[string]string{}
	roles := c.app.EffectiveRoles()
	roleNames := sortedKeys(roles)
	checkRoles := func(p string, names []string) {
		for j, r := range names {
			if roles[r] == nil {
				c.p.Add(fmt.Sprintf("%s/%d", p, j), "no role named %q in this app%s", r, didYouMean(r, roleNames))
			}
		}
	}
	countdowns := map[string]string{} // entity → the rule whose countdown it has
	for i := range c.app.Assignments {
		r := &c.app.Assignments[i]
		ap := ptr("assignments", i)
		c.uniqueName(ap, "assignment rule", r.Name, seen)
		// A countdown runs from every record's arrival (its steps are timer
		// automations over the entity): two would escalate each record twice.
		if r.Countdown != nil {
			if other, dup := countdowns[r.Entity]; dup {
				c.p.Add(ap+"/countdown", "rule %q already has the countdown of %s records: an entity has at most one", other, r.Entity)
			} else {
				countdowns[r.Entity] = r.Name
			}
		}
		checkRoles(ap+"/candidates/roles", r.Candidates.Roles)
		for j := range r.Fallbacks {
			checkRoles(fmt.Sprintf("%s/fallbacks/%d/roles", ap, j), r.Fallbacks[j].Roles)
		}
		checkRoles(ap+"/reassigners", r.Reassigners)
		if r.Pool != nil && r.Pool.Eligible != nil {
			checkRoles(ap+"/pool/eligible/roles", r.Pool.Eligible.Roles)
		}
		c.checkRuleHours(ap, r)
		c.checkRuleVariants(ap, r)
		ei, ok := c.ents[r.Entity]
		if !ok {
			c.p.Add(ap+"/entity", "no entity named %q in this app%s", r.Entity, didYouMean(r.Entity, c.entityNames()))
			continue
		}
		if r.Field != "" {
			c.checkRuleField(ap+"/field", ei, r.Field, User, "the winner goes into a user field")
		}
		c.checkStatistics(ap, ei, r)
		c.checkPool(ap, r)
		c.checkCountdown(ap, ei, r)
	}
}

// checkRuleField checks that entity ei has the field name (or the system
// column) of type want; why says what the field is for.
func (c *checker) checkRuleField(p string, ei int, name string, want FieldType, why string) {
	t, ok := c.fieldType(ei, name)
	if !ok {
		e := &c.app.Entities[ei]
		c.p.Add(p, "unknown field %q: entity %q has no such field%s", name, e.Name, didYouMean(name, c.fieldNames(ei)))
		return
	}
	if t != want && !(want == DateTime && t == Date) {
		c.p.Add(p, "%s is a %s field; %s", name, t, why)
	}
}

// checkStatistics checks each statistic's name and what its kind reads,
// and that the score strategy has its expression.
func (c *checker) checkStatistics(ap string, ei int, r *Assignment) {
	names := map[string]string{}
	for j := range r.Statistics {
		st := &r.Statistics[j]
		sp := fmt.Sprintf("%s/statistics/%d", ap, j)
		c.uniqueName(sp, "statistic", st.Name, names)
		switch st.Kind {
		case StatWinRate:
			oi := ei
			if st.Entity != "" {
				var ok bool
				if oi, ok = c.ents[st.Entity]; !ok {
					c.p.Add(sp+"/entity", "no entity named %q in this app%s", st.Entity, didYouMean(st.Entity, c.entityNames()))
					continue
				}
			}
			if st.Won == "" {
				c.p.Add(sp+"/won", "a winRate statistic needs %q: the filter a won record meets", "won")
			}
			if st.Closed == "" {
				c.p.Add(sp+"/closed", "a winRate statistic needs %q: the filter a won or lost record meets", "closed")
			}
			if st.By != "" {
				c.checkAnyField(sp+"/by", ei, st.By)
				by := st.ByField
				if by == "" {
					by = st.By
				}
				c.checkAnyField(sp+"/byField", oi, by)
			} else if st.ByField != "" {
				c.p.Add(sp+"/byField", "byField goes with by: the field of the rule's entity it matches")
			}
			if st.Date != "" {
				c.checkRuleField(sp+"/date", oi, st.Date, DateTime, "the window of days reads a date or datetime field")
			}
		case StatMedianResponse:
			if st.To == "" {
				c.p.Add(sp+"/to", "a medianResponse statistic needs %q: the datetime field of the first response", "to")
			} else {
				c.checkRuleField(sp+"/to", ei, st.To, DateTime, "a response time ends at a date or datetime field")
			}
			if st.From != "" {
				c.checkRuleField(sp+"/from", ei, st.From, DateTime, "a response time starts at a date or datetime field")
			}
		case StatFieldMatch, StatSkillsMatch:
			if st.Field == "" {
				c.p.Add(sp+"/field", "a %s statistic needs %q: the record's field it compares", st.Kind, "field")
			} else {
				c.checkAnyField(sp+"/field", ei, st.Field)
			}
		}
	}
	if r.Strategy == StrategyScore && r.Score == "" {
		c.p.Add(ap+"/score", "the score strategy needs %q: an expression over the rule's statistics", "score")
	}
}

// checkAnyField checks that entity ei has the field (or system column).
func (c *checker) checkAnyField(p string, ei int, name string) {
	if _, ok := c.fieldType(ei, name); !ok {
		c.p.Add(p, "unknown field %q: entity %q has no such field%s", name, c.app.Entities[ei].Name, didYouMean(name, c.fieldNames(ei)))
	}
}

// checkRuleHours checks working hours: a zone that loads, to after from.
func (c *checker) checkRuleHours(ap string, r *Assignment) {
	h := r.Hours
	if h == nil {
		return
	}
	if h.TimeZone != "" {
		if _, err := time.LoadLocation(h.TimeZone); err != nil {
			c.p.Add(ap+"/workingHours/timeZone", "%q is not a time zone such as Asia/Shanghai or UTC", h.TimeZone)
		}
	}
	if h.From != "" && h.To != "" && h.To <= h.From {
		c.p.Add(ap+"/workingHours/to", "working hours end (%s) after they start (%s)", h.To, h.From)
	}
}

// checkRuleVariants checks an A/B test of the rule: at least two arms,
// names unique, the score strategy's expression.
func (c *checker) checkRuleVariants(ap string, r *Assignment) {
	if len(r.Variants) == 1 {
		c.p.Add(ap+"/variants", "an A/B test needs at least two variants")
	}
	names := map[string]int{}
	for j := range r.Variants {
		v := &r.Variants[j]
		vp := fmt.Sprintf("%s/variants/%d", ap, j)
		if k, dup := names[v.Name]; dup {
			c.p.Add(vp+"/name", "duplicate variant name %q (also at %s/variants/%d)", v.Name, ap, k)
		} else {
			names[v.Name] = j
		}
		if v.Strategy == StrategyScore && v.Score == "" && r.Score == "" {
			c.p.Add(vp+"/score", "the score strategy needs %q: an expression over the rule's statistics", "score")
		}
	}
}

// checkPool checks the pool's deadline and zone.
func (c *checker) checkPool(ap string, r *Assignment) {
	p := r.Pool
	if p == nil {
		return
	}
	if p.Deadline != "" {
		if d, err := ParseOffset(p.Deadline); err != nil || d <= 0 {
			c.p.Add(ap+"/pool/deadline", "a deadline is a positive duration such as \"24h\" or \"2d\", not %q", p.Deadline)
		}
	}
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil {
			c.p.Add(ap+"/pool/timeZone", "%q is not a time zone such as Asia/Shanghai or UTC", p.TimeZone)
		}
	}
}

// checkCountdown checks the countdown's fields and its steps' offsets,
// in increasing order.
func (c *checker) checkCountdown(ap string, ei int, r *Assignment) {
	cd := r.Countdown
	if cd == nil {
		return
	}
	cp := ap + "/countdown"
	if cd.Start != "" {
		c.checkRuleField(cp+"/start", ei, cd.Start, DateTime, "a countdown starts at a date or datetime field")
	}
	c.checkRuleField(cp+"/until", ei, cd.Until, DateTime, "a countdown ends when a date or datetime field is set")
	if d, err := ParseOffset(cd.Within); err != nil || d <= 0 {
		c.p.Add(cp+"/within", "a deadline is a positive duration such as \"24h\" or \"2d\", not %q", cd.Within)
	}
	var last time.Duration
	for j, st := range cd.Steps {
		blankTexts(&c.p, fmt.Sprintf("%s/steps/%d/messages", cp, j), st.Messages)
		sp := fmt.Sprintf("%s/steps/%d/after", cp, j)
		d, err := ParseOffset(st.After)
		switch {
		case err != nil || d <= 0:
			c.p.Add(sp, "a deadline is a positive duration such as \"24h\" or \"2d\", not %q", st.After)
		case d <= last:
			c.p.Add(sp, "steps run in order: %s comes after the step before it", st.After)
		default:
			last = d
		}
	}
}

// assignmentNames lists the app's assignment rules, for suggestions.
func (c *checker) assignmentNames() []string {
	names := make([]string, 0, len(c.app.Assignments))
	for i := range c.app.Assignments {
		names = append(names, c.app.Assignments[i].Name)
	}
	return names
}
