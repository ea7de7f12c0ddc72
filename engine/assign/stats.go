package assign

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// defaultDays is a statistic's window when it declares none.
const defaultDays = 90

// Statistics are computed for all of a decision's candidates at once:
// openLoad from the loads the decision counted (exact, in its
// transaction); winRate and medianResponse by one grouped query over
// every owner, cached per server and keyed by the entity's change counter
// (store.ChangeCounters: any committed write to the entity makes a new
// key, so a cached figure is never older than the data it counts) and by
// the window's start to the minute; fieldMatch and skillsMatch from the
// record and the user's profile.
type statCache struct {
	mu sync.Mutex
	m  map[string]map[string]float64 // key → owner → value
}

func (c *statCache) get(key string) (map[string]float64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *statCache) put(key string, v map[string]float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 2000 { // bounded: keys move with every write
		c.m = map[string]map[string]float64{}
	}
	c.m[key] = v
}

// statistics fills each candidate's Stats with the rule's statistics for
// the record rec (its values in the API's form).
func (s *Service) statistics(ctx context.Context, app *schema.App, r *schema.Assignment, rec map[string]any, cs []Candidate, d *directory) error {
	var counters map[string]int64
	now := s.db.Now()
	for i := range cs {
		cs[i].Stats = make(map[string]*float64, len(r.Statistics))
	}
	for si := range r.Statistics {
		st := &r.Statistics[si]
		var per map[string]float64
		switch st.Kind {
		case schema.StatWinRate, schema.StatMedianResponse:
			if counters == nil {
				var err error
				if counters, err = s.db.ChangeCounters(ctx, app.Name); err != nil {
					return err
				}
			}
			var err error
			if per, err = s.grouped(ctx, app, r, st, rec, now, counters); err != nil {
				return fmt.Errorf("assign: statistic %s: %w", st.Name, err)
			}
		}
		for i := range cs {
			var v *float64
			switch st.Kind {
			case schema.StatOpenLoad:
				v = ptr(float64(cs[i].Load))
			case schema.StatWinRate, schema.StatMedianResponse:
				if x, ok := per[cs[i].User]; ok {
					v = ptr(x)
				}
			case schema.StatFieldMatch:
				v = ptr(match(rec[st.Field], attribute(d.byID[cs[i].User], st.Attribute)))
			case schema.StatSkillsMatch:
				p := d.byID[cs[i].User]
				v = ptr(match(rec[st.Field], p.Profile.Skills...))
			}
			if v == nil && st.Default != nil {
				v = ptr(*st.Default)
			} else if v == nil {
				v = ptr(0)
			}
			cs[i].Stats[st.Name] = v
		}
	}
	return nil
}

func ptr(v float64) *float64 { return &v }

// attribute is the user's attribute a fieldMatch compares (region when
// none is named).
func attribute(p *person, name string) string {
	switch name {
	case "team":
		return p.team
	case "email":
		return p.Email
	case "name":
		return p.Name
	}
	return p.Profile.Region
}

// match is 1 when the record's value (or one of a multiselect's) equals
// one of want, letter case aside; else 0.
func match(v any, want ...string) float64 {
	var vals []string
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			vals = append(vals, fmt.Sprint(e))
		}
	case nil:
	default:
		vals = []string{fmt.Sprint(x)}
	}
	for _, a := range vals {
		for _, b := range want {
			if a != "" && strings.EqualFold(a, b) {
				return 1
			}
		}
	}
	return 0
}

// grouped computes a winRate or medianResponse statistic for every owner
// at once (cached; see statCache).
func (s *Service) grouped(ctx context.Context, app *schema.App, r *schema.Assignment, st *schema.Statistic, rec map[string]any, now time.Time, counters map[string]int64) (map[string]float64, error) {
	days := st.Days
	if days <= 0 {
		days = defaultDays
	}
	since := now.Add(-time.Duration(days) * 24 * time.Hour).Truncate(time.Minute)
	entity := r.Entity
	var by any
	if st.Kind == schema.StatWinRate {
		entity = outcomeEntity(r, st)
		if st.By != "" {
			by = rec[st.By]
		}
	}
	byKey, _ := json.Marshal(by)
	key := strings.Join([]string{app.Name, fmt.Sprint(app.Version), r.Name, st.Name, st.Kind, st.Won, st.Closed, st.From, st.To,
		string(byKey), since.Format(time.RFC3339), fmt.Sprint(counters[entity])}, "\x00")
	if v, ok := s.stats.get(key); ok {
		return v, nil
	}
	var v map[string]float64
	var err error
	if st.Kind == schema.StatWinRate {
		v, err = s.winRates(ctx, app, entity, st, by, since)
	} else {
		v, err = s.medianResponses(ctx, app, r, st, since)
	}
	if err != nil {
		return nil, err
	}
	s.stats.put(key, v)
	return v, nil
}

// winRates is won ÷ closed per owner of entity's records decided since
// (by Date, updated_at when none), whose ByField equals by when the
// statistic matches on a field: one grouped query.
func (s *Service) winRates(ctx context.Context, app *schema.App, entity string, st *schema.Statistic, by any, since time.Time) (map[string]float64, error) {
	admin := records.Caller{Admin: true}
	closed, err := filter.Parse(st.Closed)
	if err != nil {
		return nil, err
	}
	date := st.Date
	if date == "" {
		date = "updated_at"
	}
	where := filter.Node(&filter.And{Left: closed, Right: &filter.Compare{Field: date, Op: ">=", Value: filter.Value{Kind: filter.String, Str: since.Format(time.RFC3339)}}})
	if st.By != "" {
		byField := st.ByField
		if byField == "" {
			byField = st.By
		}
		where = &filter.And{Left: where, Right: &filter.Compare{Field: byField, Op: "=", Value: literal(by)}}
	}
	wsql, wargs, err := s.records.CompileFilter(admin, app, entity, where)
	if err != nil {
		return nil, err
	}
	won, err := filter.Parse(st.Won)
	if err != nil {
		return nil, err
	}
	wonSQL, wonArgs, err := s.records.CompileFilter(admin, app, entity, won)
	if err != nil {
		return nil, err
	}
	q := `SELECT "owner", SUM(CASE WHEN (` + wonSQL + `) THEN 1 ELSE 0 END), COUNT(*) FROM ` + store.Quote(schema.TableName(app.Name, entity)) +
		` WHERE "owner" IS NOT NULL AND (` + wsql + `) GROUP BY "owner"`
	rows, err := s.db.Pool().QueryContext(ctx, q, append(wonArgs, wargs...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var owner string
		var w, n int64
		if err := rows.Scan(&owner, &w, &n); err != nil {
			return nil, err
		}
		if n > 0 {
			out[owner] = float64(w) / float64(n)
		}
	}
	return out, rows.Err()
}

// literal is a record's value as a filter literal.
func literal(v any) filter.Value {
	switch x := v.(type) {
	case nil:
		return filter.Value{Kind: filter.Null}
	case bool:
		return filter.Value{Kind: filter.Bool, Bool: x}
	case json.Number:
		return filter.Value{Kind: filter.Number, Num: string(x)}
	case float64, int64, int:
		return filter.Value{Kind: filter.Number, Num: fmt.Sprint(x)}
	}
	return filter.Value{Kind: filter.String, Str: fmt.Sprint(v)}
}

// medianResponses is the median of hours from From (created_at) to To per
// owner (the rule's user field) of the rule's records started since: one
// query, the medians taken here.
func (s *Service) medianResponses(ctx context.Context, app *schema.App, r *schema.Assignment, st *schema.Statistic, since time.Time) (map[string]float64, error) {
	from := st.From
	if from == "" {
		from = "created_at"
	}
	where := &filter.And{Left: &filter.Compare{Field: st.To, Op: "!=", Value: filter.Value{Kind: filter.Null}},
		Right: &filter.Compare{Field: from, Op: ">=", Value: filter.Value{Kind: filter.String, Str: since.Format(time.RFC3339)}}}
	wsql, wargs, err := s.records.CompileFilter(records.Caller{Admin: true}, app, r.Entity, where)
	if err != nil {
		return nil, err
	}
	col := store.Quote(r.UserField())
	q := `SELECT ` + col + `, ` + store.Quote(from) + `, ` + store.Quote(st.To) + ` FROM ` + store.Quote(schema.TableName(app.Name, r.Entity)) +
		` WHERE ` + col + ` IS NOT NULL AND (` + wsql + `)`
	rows, err := s.db.Pool().QueryContext(ctx, q, wargs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hours := map[string][]float64{}
	for rows.Next() {
		var owner string
		var a, b any
		if err := rows.Scan(&owner, &a, &b); err != nil {
			return nil, err
		}
		ta, ok1 := timeOf(a)
		tb, ok2 := timeOf(b)
		if ok1 && ok2 {
			hours[owner] = append(hours[owner], tb.Sub(ta).Hours())
		}
	}
	out := make(map[string]float64, len(hours))
	for owner, hs := range hours {
		sort.Float64s(hs)
		m := hs[len(hs)/2]
		if len(hs)%2 == 0 {
			m = (hs[len(hs)/2-1] + m) / 2
		}
		out[owner] = m
	}
	return out, rows.Err()
}

// timeOf reads a stored date or datetime (time.Time on PostgreSQL, text
// on SQLite).
func timeOf(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case []byte:
		return timeOf(string(x))
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}
