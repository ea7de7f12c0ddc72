package assign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

// person is a user as a rule weighs them: the account and their team's
// name (what conditions and fieldMatch read).
type person struct {
	*access.User
	team string
}

// directory is the users and teams a decision reads once.
type directory struct {
	users []person
	teams map[string]string // team id → name
	byID  map[string]*person
}

// directory reads every user, and with teams every team's name (an
// organisation's accounts: small tables, one query each).
func (s *Service) directory(ctx context.Context, teams bool) (*directory, error) {
	us, err := s.access.Users(ctx)
	if err != nil {
		return nil, err
	}
	d := &directory{teams: map[string]string{}, byID: make(map[string]*person, len(us))}
	if teams {
		ts, err := s.access.Teams(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			d.teams[t.ID] = t.Name
		}
	}
	d.users = make([]person, len(us))
	for i := range us {
		d.users[i] = person{User: &us[i], team: d.teams[us[i].TeamID]}
		d.byID[us[i].ID] = &d.users[i]
	}
	return d, nil
}

// readsTeams says whether deciding by r reads team names: a condition
// on team, or a fieldMatch on it.
func readsTeams(r *schema.Assignment) bool {
	conds := []string{r.Candidates.Condition}
	for _, f := range r.Fallbacks {
		conds = append(conds, f.Condition)
	}
	for _, c := range conds {
		if strings.Contains(c, "team") {
			return true
		}
	}
	for _, st := range r.Statistics {
		if st.Kind == schema.StatFieldMatch && st.Attribute == "team" {
			return true
		}
	}
	return false
}

// find returns the user with id or email ref, or nil.
func (d *directory) find(ref string) *person {
	if p := d.byID[strings.ToLower(ref)]; p != nil {
		return p
	}
	for i := range d.users {
		if strings.EqualFold(d.users[i].Email, strings.TrimSpace(ref)) {
			return &d.users[i]
		}
	}
	return nil
}

// candidates returns the active members of app named by cs (every active
// member when cs names nobody) whom its condition holds for, by id.
func (s *Service) candidates(ctx context.Context, app *schema.App, d *directory, cs *schema.Candidates) ([]*person, error) {
	var cond filter.Node
	if cs.Condition != "" {
		var err error
		if cond, err = parseCondition(cs.Condition); err != nil {
			return nil, err
		}
	}
	teams := map[string]bool{}
	for _, name := range cs.Teams {
		t, err := s.access.TeamByName(ctx, name)
		if errors.Is(err, access.ErrNotFound) {
			continue // a team renamed or deleted since: it names nobody
		}
		if err != nil {
			return nil, err
		}
		under, err := s.access.TeamsUnder(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		for _, id := range under {
			teams[id] = true
		}
	}
	named := map[string]bool{}
	for _, ref := range cs.Users {
		if p := d.find(ref); p != nil {
			named[p.ID] = true
		}
	}
	all := len(cs.Roles) == 0 && len(cs.Teams) == 0 && len(cs.Users) == 0
	var out []*person
	for i := range d.users {
		p := &d.users[i]
		if !p.Active || !s.records.Member(app, records.Caller{UserID: p.ID, Admin: p.Admin, Roles: p.Roles, TeamID: p.TeamID}) {
			continue
		}
		in := all || named[p.ID] || (p.TeamID != "" && teams[p.TeamID])
		for _, r := range cs.Roles {
			in = in || slices.Contains(p.Roles, r)
		}
		if !in || (cond != nil && !holds(cond, p)) {
			continue
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// A candidates' condition is the filter language over the user: text
// attributes (name, email, team, region) compare as text, letter case
// aside (~ contains), and list attributes (skills, roles) by membership
// (skills ~ "retail", skills = "retail": one of the skills is retail).
var (
	textAttrs = map[string]bool{"name": true, "email": true, "team": true, "region": true}
	listAttrs = map[string]bool{"skills": true, "roles": true}
)

// parseCondition parses a condition and checks what it compares.
func parseCondition(src string) (filter.Node, error) {
	n, err := filter.Parse(src)
	if err != nil {
		return nil, err
	}
	filter.Fields(n, func(c *filter.Compare) {
		if err != nil {
			return
		}
		switch {
		case !textAttrs[c.Field] && !listAttrs[c.Field]:
			err = fmt.Errorf("unknown user attribute %q (name, email, team, region, skills, roles)", c.Field)
		case c.Op != "=" && c.Op != "!=" && c.Op != "~" && c.Op != "!~" && c.Op != "in":
			err = fmt.Errorf("%s %s: a user attribute compares with =, !=, ~, !~ or in", c.Field, c.Op)
		case c.Value.Kind != filter.String && c.Value.Kind != filter.Null && c.Value.Kind != filter.List:
			err = fmt.Errorf("%s compares with text, not a %s", c.Field, c.Value.Kind)
		}
	})
	return n, err
}

// holds decides n over p.
func holds(n filter.Node, p *person) bool {
	switch x := n.(type) {
	case *filter.And:
		return holds(x.Left, p) && holds(x.Right, p)
	case *filter.Or:
		return holds(x.Left, p) || holds(x.Right, p)
	case *filter.Not:
		return !holds(x.X, p)
	case *filter.Compare:
		var vals []string
		switch x.Field {
		case "name":
			vals = []string{p.Name}
		case "email":
			vals = []string{p.Email}
		case "team":
			vals = []string{p.team}
		case "region":
			vals = []string{p.Profile.Region}
		case "skills":
			vals = p.Profile.Skills
		case "roles":
			vals = p.Roles
		}
		vals = slices.DeleteFunc(slices.Clone(vals), func(v string) bool { return v == "" })
		return compare(vals, x)
	}
	return false
}

// compare decides one comparison over an attribute's values (one for a
// text attribute, none when it is empty).
func compare(vals []string, c *filter.Compare) bool {
	if c.Value.Kind == filter.Null {
		return (len(vals) == 0) == (c.Op == "=" || c.Op == "~")
	}
	any := func(match func(v, lit string) bool) bool {
		lits := []string{c.Value.Str}
		if c.Value.Kind == filter.List {
			lits = lits[:0]
			for _, l := range c.Value.List {
				lits = append(lits, l.Str)
			}
		}
		for _, v := range vals {
			for _, l := range lits {
				if match(v, l) {
					return true
				}
			}
		}
		return false
	}
	equal := func(v, l string) bool { return strings.EqualFold(v, l) }
	contains := func(v, l string) bool { return strings.Contains(strings.ToLower(v), strings.ToLower(l)) }
	list := listAttrs[c.Field]
	switch c.Op {
	case "=", "in":
		return any(equal)
	case "!=":
		return !any(equal)
	case "~":
		if list {
			return any(equal)
		}
		return any(contains)
	case "!~":
		if list {
			return !any(equal)
		}
		return !any(contains)
	}
	return false
}
