package assign

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

// maxDecisions bounds the log a record shows.
const maxDecisions = 200

// decisions reads the record's decision log, newest first: 404 when c may
// not read the record, candidates' figures only when c may reassign it.
func (s *Service) decisions(ctx context.Context, c records.Caller, appName, entity, id string) ([]Decision, error) {
	if _, err := s.records.Get(ctx, c, appName, entity, id, "", ""); err != nil {
		return nil, err
	}
	app, err := s.catalog.App(ctx, appName)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Pool().QueryContext(ctx, `SELECT "body" FROM _forma_assignments WHERE "app" = ? AND "entity" = ? AND "record_id" = ? ORDER BY "at" DESC, "id" DESC LIMIT ?`,
		appName, entity, id, maxDecisions)
	if err != nil {
		return nil, fmt.Errorf("assign: read decisions: %w", err)
	}
	defer rows.Close()
	out := []Decision{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("assign: read decisions: %w", err)
		}
		var d Decision
		if err := json.Unmarshal([]byte(body), &d); err != nil {
			continue // a row no decision can be read from shows nothing
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	may := map[string]bool{}
	for i := range out {
		rule := out[i].Rule
		ok, seen := may[rule]
		if !seen {
			r := app.Assignment(rule)
			if r == nil || r.Entity != entity {
				r = &schema.Assignment{Entity: entity}
			}
			if ok, err = s.mayReassign(ctx, c, app, []*schema.Assignment{r}, id); err != nil {
				return nil, err
			}
			may[rule] = ok
		}
		if !ok {
			out[i].Candidates = nil
		}
	}
	return out, nil
}

// mayReassign says whether c may reassign the record id: an admin, a
// holder of one of the rules' Reassigners roles, or the manager who
// answers for the record's current owner (of the first rule's field).
func (s *Service) mayReassign(ctx context.Context, c records.Caller, app *schema.App, rules []*schema.Assignment, id string) (bool, error) {
	if c.Admin {
		return true, nil
	}
	for _, r := range rules {
		for _, role := range r.Reassigners {
			if slices.Contains(c.Roles, role) {
				return true, nil
			}
		}
	}
	if c.UserID == "" || len(rules) == 0 {
		return false, nil
	}
	owner, err := s.ownerOf(ctx, app, rules[0], id)
	if err != nil || owner == "" {
		return false, err
	}
	m, err := s.access.ManagerOf(ctx, owner)
	return m != "" && m == c.UserID, err
}

// ownerOf is the record's current value of the rule's user field, read
// with full access (deciding a right, not showing it).
func (s *Service) ownerOf(ctx context.Context, app *schema.App, r *schema.Assignment, id string) (string, error) {
	rec, err := s.records.Get(ctx, records.Caller{Admin: true}, app.Name, r.Entity, id, "", "")
	if err != nil {
		return "", err
	}
	owner, _ := rec.Get(r.UserField()).(string)
	return owner, nil
}

// assignAction is the automation's assign action: the rule decides as c
// (its path and step carry into the write); detail is the decision's
// reason; wrote says whether the record was written (its event then
// marks the step done).
func (s *Service) assignAction(ctx context.Context, c records.Caller, app *schema.App, rule, id string, reassign bool) (string, bool, error) {
	d, rec, err := s.run(ctx, app, app.Assignment(rule), rule, id, Options{Caller: c, SkipPool: reassign}, how{excludeOwner: reassign})
	if err != nil {
		return "", false, err
	}
	detail := d.Reason
	if d.Winner != "" {
		detail = fmt.Sprintf("assigned to %s: %s", d.WinnerName, d.Reason)
	}
	return detail, rec != nil, nil
}

// previewAction is what assignAction would decide, as a JSON object.
func (s *Service) previewAction(ctx context.Context, app *schema.App, rule, id string, reassign bool) (map[string]any, error) {
	d, _, err := s.run(ctx, app, app.Assignment(rule), rule, id, Options{DryRun: true, SkipPool: reassign,
		Caller: records.Caller{Admin: true, Path: records.PathSystem}}, how{excludeOwner: reassign})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
