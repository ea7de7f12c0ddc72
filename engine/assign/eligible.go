package assign

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// loads counts each candidate's open records of the rule's entity (those
// the Open filter matches, every one when it is empty) in the decision's
// transaction: capacity is exact, never cached.
func (s *Service) loads(ctx context.Context, tx store.Conn, app *schema.App, r *schema.Assignment, ps []*person) (map[string]int64, error) {
	out := make(map[string]int64, len(ps))
	if len(ps) == 0 {
		return out, nil
	}
	col := store.Quote(r.UserField())
	q := `SELECT ` + col + `, COUNT(*) FROM ` + store.Quote(schema.TableName(app.Name, r.Entity)) + ` WHERE ` + col + ` IN (` + marks(len(ps)) + `)`
	args := make([]any, 0, len(ps))
	for _, p := range ps {
		args = append(args, p.ID)
	}
	if r.Open != "" {
		n, err := filter.Parse(r.Open)
		if err != nil {
			return nil, err
		}
		where, wargs, err := s.records.CompileFilter(records.Caller{Admin: true}, app, r.Entity, n)
		if err != nil {
			return nil, err
		}
		q += " AND (" + where + ")"
		args = append(args, wargs...)
	}
	rows, err := tx.QueryContext(ctx, q+" GROUP BY "+col, args...)
	if err != nil {
		return nil, fmt.Errorf("assign: open load: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("assign: open load: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// marks is n SQL placeholders.
func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// weigh lists ps as candidates with their load, each eligible unless away,
// at capacity, outside working hours or excluded.
func weigh(r *schema.Assignment, ps []*person, loads map[string]int64, now time.Time, exclude []string) []Candidate {
	outside := r.Hours != nil && !inHours(r.Hours, now)
	out := make([]Candidate, len(ps))
	for i, p := range ps {
		c := Candidate{User: p.ID, Name: p.Name, Load: loads[p.ID], Eligible: true}
		switch {
		case slices.Contains(exclude, p.ID):
			c.Why = "excluded"
		case p.Profile.IsAway(now):
			c.Why = "away"
		case r.Capacity > 0 && c.Load >= int64(r.Capacity):
			c.Why = fmt.Sprintf("at capacity (%d of %d)", c.Load, r.Capacity)
		case outside:
			c.Why = "outside working hours"
		}
		c.Eligible = c.Why == ""
		out[i] = c
	}
	return out
}

// inHours says whether now falls in the working hours h (in their zone;
// Monday to Friday when no days are given).
func inHours(h *schema.WorkingHours, now time.Time) bool {
	loc := time.UTC
	if h.TimeZone != "" {
		if l, err := time.LoadLocation(h.TimeZone); err == nil {
			loc = l
		}
	}
	t := now.In(loc)
	day := int(t.Weekday())
	if day == 0 {
		day = 7
	}
	days := h.Days
	if len(days) == 0 {
		days = []int{1, 2, 3, 4, 5}
	}
	if !slices.Contains(days, day) {
		return false
	}
	hm := fmt.Sprintf("%02d:%02d", t.Hour(), t.Minute())
	return hm >= h.From && hm < h.To
}
