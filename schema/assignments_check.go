package schema

// checkAssignments checks what the JSON Schema cannot about assignment
// rules: names unique, entities, fields, roles and statistics that exist,
// what each strategy needs. Filters and score expressions are compiled by
// the engine (engine/assign CheckApp).
func (c *checker) checkAssignments() {
	seen := map[string]string{}
	for i := range c.app.Assignments {
		r := &c.app.Assignments[i]
		ap := ptr("assignments", i)
		c.uniqueName(ap, "assignment rule", r.Name, seen)
		if _, ok := c.ents[r.Entity]; !ok {
			c.p.Add(ap+"/entity", "no entity named %q in this app%s", r.Entity, didYouMean(r.Entity, c.entityNames()))
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
