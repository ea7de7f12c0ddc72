package bulk

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Listing probable duplicates: GET …/{entity}/duplicates (groups) and
// GET …/{id}/duplicates (one record's).

// MaxDuplicateGroups bounds a page of groups.
const MaxDuplicateGroups = 100

// maxSimilarScan bounds the records a similarity key's listing scans for
// groups in one request.
const maxSimilarScan = 2000

// DuplicateGroup is records one rule finds alike.
type DuplicateGroup struct {
	Rule    string            `json:"rule"`
	Records []*records.Record `json:"records"`
}

// DuplicateGroups is a page of groups; NextCursor continues it.
type DuplicateGroups struct {
	Items      []DuplicateGroup `json:"items"`
	NextCursor string           `json:"nextCursor,omitempty"`
}

// RecordMatch is one probable duplicate of a record.
type RecordMatch struct {
	Rule   string          `json:"rule"`
	Record *records.Record `json:"record"`
	Score  float64         `json:"score"`
}

// matchingDoc returns app's document and its rules of entity (rule: only
// that one); 404 for an app or entity that does not exist, or a rule it
// does not have.
func (s *Service) matchingDoc(ctx context.Context, app, entity, rule string) (*schema.App, []*schema.Matching, error) {
	doc, err := s.catalog.App(ctx, app)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, records.NewError(404, records.CodeNotFound, fmt.Sprintf("no app %q", app))
	}
	if err != nil {
		return nil, nil, err
	}
	if doc.Entity(entity) == nil {
		return nil, nil, records.NewError(404, records.CodeNotFound, fmt.Sprintf("no entity %q in app %q", entity, app))
	}
	rules := doc.MatchingOf(entity)
	if rule != "" {
		var one []*schema.Matching
		for _, m := range rules {
			if m.Name == rule {
				one = append(one, m)
			}
		}
		if len(one) == 0 {
			return nil, nil, records.NewError(404, "rule_not_found", fmt.Sprintf("no duplicate rule %q of %s", clip(rule, 80), entity))
		}
		rules = one
	}
	return doc, rules, nil
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// built makes sure entity's rules have their keys (match.go), in a
// transaction of its own.
func (s *Service) built(ctx context.Context, doc *schema.App, entity string) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("bulk: begin: %w", err)
	}
	defer tx.Rollback()
	if err := s.ensureRules(ctx, tx, doc, entity); err != nil {
		return err
	}
	return tx.Commit()
}

// Duplicates lists groups of probable duplicates of entity that c may
// read (every record of a group readable by c, at least two of them),
// by rule (all of entity's rules when rule is ""), limit groups a page
// (1–100, default 20); cursor continues a page.
func (s *Service) Duplicates(ctx context.Context, c records.Caller, app, entity, rule string, limit int, cursor string) (*DuplicateGroups, error) {
	if limit == 0 {
		limit = 20
	}
	if limit < 1 || limit > MaxDuplicateGroups {
		return nil, records.NewError(400, records.CodeBadQuery, fmt.Sprintf("limit must be between 1 and %d", MaxDuplicateGroups))
	}
	skip := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 || n > 1_000_000 {
			return nil, records.NewError(400, records.CodeBadQuery, "cursor is not one this listing gave")
		}
		skip = n
	}
	doc, rules, err := s.matchingDoc(ctx, app, entity, rule)
	if err != nil {
		return nil, err
	}
	// The caller must be able to read the entity at all.
	if _, err := s.records.List(ctx, c, app, entity, records.Query{Limit: 1, Fields: "id"}); err != nil {
		return nil, err
	}
	if err := s.built(ctx, doc, entity); err != nil {
		return nil, err
	}
	pool := s.db.Pool()
	want := skip + limit + 1
	var groups []DuplicateGroup
	seen := map[string]bool{}
	add := func(m *schema.Matching, ids []string) error {
		ids, err := s.records.ReadableTx(ctx, pool, c, doc, entity, ruleFields(m), ids)
		if err != nil || len(ids) < 2 {
			return err
		}
		sort.Strings(ids)
		key := m.Name + "\x00" + strings.Join(ids, ",")
		if seen[key] {
			return nil
		}
		seen[key] = true
		g := DuplicateGroup{Rule: m.Name}
		if len(groups) >= skip {
			for _, id := range ids {
				rec, err := s.records.Get(ctx, c, app, entity, id, "", "")
				if err != nil {
					var re *records.Error
					if errors.As(err, &re) && re.Status == 404 {
						continue // deleted meanwhile
					}
					return err
				}
				g.Records = append(g.Records, rec)
			}
			if len(g.Records) < 2 {
				return nil
			}
		}
		groups = append(groups, g)
		return nil
	}
	for _, m := range rules {
		for i := range m.Keys {
			if len(groups) >= want {
				break
			}
			var err error
			if m.Keys[i].Similarity > 0 {
				err = s.similarGroups(ctx, pool, doc, entity, m, i, func(ids []string) (bool, error) {
					return len(groups) >= want, add(m, ids)
				})
			} else {
				err = s.exactGroups(ctx, pool, app, entity, m, i, func(ids []string) (bool, error) {
					return len(groups) >= want, add(m, ids)
				})
			}
			if err != nil {
				return nil, err
			}
		}
	}
	out := &DuplicateGroups{Items: []DuplicateGroup{}}
	if len(groups) > skip {
		out.Items = groups[skip:]
	}
	if len(out.Items) > limit {
		out.Items = out.Items[:limit]
		out.NextCursor = strconv.Itoa(skip + limit)
	}
	return out, nil
}

// exactGroups calls fn with the ids of each value of exact key i that
// more than one record has, until fn says it is done.
func (s *Service) exactGroups(ctx context.Context, q store.Conn, app, entity string, m *schema.Matching, i int, fn func(ids []string) (bool, error)) error {
	values, err := column(ctx, q, `SELECT "value" FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "rule" = ? AND "kidx" = ? GROUP BY "value" HAVING COUNT(*) > 1 ORDER BY "value" LIMIT 10000`,
		app, entity, m.Name, i)
	if err != nil {
		return err
	}
	for _, v := range values {
		ids, err := column(ctx, q, `SELECT "record_id" FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "rule" = ? AND "kidx" = ? AND "value" = ? ORDER BY "record_id" LIMIT `+strconv.Itoa(maxMatches),
			app, entity, m.Name, i, v)
		if err != nil {
			return err
		}
		if done, err := fn(ids); err != nil || done {
			return err
		}
	}
	return nil
}

// similarGroups calls fn with each record of similarity key i and the
// later records alike to it, until fn says it is done.
func (s *Service) similarGroups(ctx context.Context, q store.Conn, doc *schema.App, entity string, m *schema.Matching, i int, fn func(ids []string) (bool, error)) error {
	rows, err := q.QueryContext(ctx, `SELECT "record_id", "value" FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "rule" = ? AND "kidx" = ? AND "value" LIKE 'v:%' ORDER BY "record_id" LIMIT `+strconv.Itoa(maxSimilarScan),
		doc.Name, entity, m.Name, i)
	if err != nil {
		return fmt.Errorf("bulk: list duplicates: %w", err)
	}
	type rv struct{ id, v string }
	var all []rv
	for rows.Next() {
		var r rv
		if err := rows.Scan(&r.id, &r.v); err != nil {
			rows.Close()
			return fmt.Errorf("bulk: list duplicates: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bulk: list duplicates: %w", err)
	}
	grouped := map[string]bool{}
	for _, r := range all {
		if grouped[r.id] {
			continue
		}
		best := map[string]Match{}
		if err := s.lookupSimilar(ctx, q, doc.Name, entity, m, i, strings.TrimPrefix(r.v, "v:"), r.id, r.id, best); err != nil {
			return err
		}
		if len(best) == 0 {
			continue
		}
		ids := []string{r.id}
		for id := range best {
			ids = append(ids, id)
			grouped[id] = true
		}
		if done, err := fn(ids); err != nil || done {
			return err
		}
	}
	return nil
}

func column(ctx context.Context, q store.Conn, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("bulk: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("bulk: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// DuplicatesOf lists the probable duplicates of record id that c may
// read, best first; 404 when c may not read the record.
func (s *Service) DuplicatesOf(ctx context.Context, c records.Caller, app, entity, id string) ([]RecordMatch, error) {
	rec, err := s.records.Get(ctx, c, app, entity, id, "", "")
	if err != nil {
		return nil, err
	}
	doc, rules, err := s.matchingDoc(ctx, app, entity, "")
	if err != nil {
		return nil, err
	}
	out := []RecordMatch{}
	if len(rules) == 0 {
		return out, nil
	}
	if err := s.built(ctx, doc, entity); err != nil {
		return nil, err
	}
	pool := s.db.Pool()
	var found []Match
	for _, m := range rules {
		f, err := s.lookup(ctx, pool, app, entity, m, rec.Get, id, "")
		if err != nil {
			return nil, err
		}
		found = append(found, f...)
	}
	if found, err = s.readable(ctx, pool, c, doc, entity, found); err != nil {
		return nil, err
	}
	for _, m := range found {
		r, err := s.records.Get(ctx, c, app, entity, m.ID, "", "")
		if err != nil {
			var re *records.Error
			if errors.As(err, &re) && re.Status == 404 {
				continue
			}
			return nil, err
		}
		out = append(out, RecordMatch{Rule: m.Rule, Record: r, Score: m.Score})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out, nil
}
