package records

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// DefaultSlowList is how long a list query must take for the index
// advisor to keep its shape.
const DefaultSlowList = 20 * time.Millisecond

// maxShapes bounds the shapes the advisor keeps per process; when full, the
// shape with the least time spent makes room.
const maxShapes = 500

// advisor keeps, per app and entity, the shapes of slow list queries:
// which fields the filter compares and how, and the sort — never values.
// It lives in the process's memory: each server advises from the lists it
// served since it started.
type advisor struct {
	mu        sync.Mutex
	threshold time.Duration
	shapes    map[string]*shapeStat
}

type shapeStat struct {
	app, entity string
	filter      string // the filter's skeleton: "severity >= ? && status = ?"
	eq          []string
	keys        []sortKey
	count       int64
	total, max  time.Duration
	last        time.Time
}

func newAdvisor() *advisor {
	return &advisor{threshold: DefaultSlowList, shapes: map[string]*shapeStat{}}
}

// SetSlowList sets how long a list query must take for the index advisor
// to keep its shape (0 keeps every list's shape; tests use it).
func (s *Service) SetSlowList(d time.Duration) {
	s.advisor.mu.Lock()
	s.advisor.threshold = d
	s.advisor.mu.Unlock()
}

// SetClock sets the clock that times list queries for the advisor.
func (s *Service) SetClock(now func() time.Time) { s.clock = now }

// now is the advisor's clock: the store's unless a test set another.
func (s *Service) now() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return s.db.Clock.Now()
}

// observe records a list query that took d.
func (a *advisor) observe(lp *listPlan, d time.Duration, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if d < a.threshold {
		return
	}
	skeleton := ""
	if lp.node != nil {
		skeleton = skeletonOf(lp.node)
	}
	var sb strings.Builder
	for _, k := range lp.keys {
		if k.desc {
			sb.WriteByte('-')
		}
		sb.WriteString(k.field.Name)
		sb.WriteByte(',')
	}
	key := lp.info.app.Name + "\x00" + lp.info.entity.Name + "\x00" + skeleton + "\x00" + sb.String()
	st := a.shapes[key]
	if st == nil {
		if len(a.shapes) >= maxShapes {
			var least string
			for k, s := range a.shapes {
				if least == "" || s.total < a.shapes[least].total {
					least = k
				}
			}
			delete(a.shapes, least)
		}
		st = &shapeStat{app: lp.info.app.Name, entity: lp.info.entity.Name, filter: skeleton, keys: lp.keys}
		if lp.node != nil {
			st.eq = topEqualities(lp.node)
		}
		a.shapes[key] = st
	}
	st.count++
	st.total += d
	st.max = max(st.max, d)
	st.last = now
}

// skeletonOf writes a filter with every value replaced by "?".
func skeletonOf(n filter.Node) string {
	switch n := n.(type) {
	case *filter.And:
		return "(" + skeletonOf(n.Left) + " && " + skeletonOf(n.Right) + ")"
	case *filter.Or:
		return "(" + skeletonOf(n.Left) + " || " + skeletonOf(n.Right) + ")"
	case *filter.Not:
		return "!" + skeletonOf(n.X)
	case *filter.Compare:
		if n.Value.Kind == filter.Null {
			return n.Field + " " + n.Op + " null"
		}
		return n.Field + " " + n.Op + " ?"
	}
	return "?"
}

// topEqualities are the fields a filter fixes to one value: "field =
// value" comparisons joined by && at the top level.
func topEqualities(n filter.Node) []string {
	var out []string
	var walk func(filter.Node)
	walk = func(n filter.Node) {
		switch n := n.(type) {
		case *filter.And:
			walk(n.Left)
			walk(n.Right)
		case *filter.Compare:
			// A ref's field (account.name) is another table's column.
			if n.Op == "=" && n.Value.Kind != filter.List && !strings.Contains(n.Field, ".") && !slices.Contains(out, n.Field) {
				out = append(out, n.Field)
			}
		}
	}
	walk(n)
	return out
}

// Advice is the index advisor's proposal for one shape of slow list.
type Advice struct {
	ID      string    `json:"id"`
	Entity  string    `json:"entity"`
	Filter  string    `json:"filter"` // skeleton: values are "?"
	Sort    string    `json:"sort"`
	Count   int64     `json:"count"` // slow lists of this shape seen
	TotalMS float64   `json:"totalMs"`
	MaxMS   float64   `json:"maxMs"`
	LastAt  time.Time `json:"lastAt"`
	// Index is what to declare on the entity ("-name" descends); Exists
	// says the app already has it (then the time went elsewhere).
	Index  schema.Index `json:"index"`
	Exists bool         `json:"exists"`
	// Effect is what EXPLAIN says of the query as the database runs it now
	// and what the index changes.
	Effect Effect `json:"effect"`
}

// Effect is the expected effect of an index, from EXPLAIN.
type Effect struct {
	Dialect string   `json:"dialect"`
	Now     []string `json:"now"`   // the current plan, one line per step
	Sorts   bool     `json:"sorts"` // the current plan sorts the matches
	// Matches is the planner's estimate of the rows the filter matches
	// (PostgreSQL), or the rows counted (SQLite), that a sort must order
	// before it can answer the first page; with the index a page reads
	// about its own rows instead.
	Matches int64  `json:"matches"`
	Expect  string `json:"expect"`
}

// Advice answers the index advisor's proposals for app, slowest shapes
// first, each measured by EXPLAIN against the current tables.
func (s *Service) Advice(ctx context.Context, app string) ([]Advice, error) {
	doc, err := s.catalog.App(ctx, app)
	if err != nil {
		return nil, err
	}
	s.advisor.mu.Lock()
	var shapes []shapeStat
	for _, st := range s.advisor.shapes {
		if st.app == app {
			shapes = append(shapes, *st)
		}
	}
	s.advisor.mu.Unlock()
	sort.Slice(shapes, func(i, j int) bool { return shapes[i].total > shapes[j].total })
	out := []Advice{}
	for _, st := range shapes {
		e := doc.Entity(st.entity)
		if e == nil {
			continue // dropped since
		}
		ix, ok := proposeIndex(e, st.eq, st.keys)
		if !ok {
			continue
		}
		a := Advice{ID: adviceID(st.entity, ix), Entity: st.entity, Filter: st.filter, Sort: sortText(st.keys),
			Count: st.count, TotalMS: ms(st.total), MaxMS: ms(st.max), LastAt: st.last.UTC(), Index: ix,
			Exists: hasIndex(doc, e, ix)}
		a.Effect, err = s.effect(ctx, doc, e, st)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// WithAdvice returns doc with the index of advice id declared on its
// entity, for the caller to apply as the next version; found is false
// when no current advice has that id.
func (s *Service) WithAdvice(ctx context.Context, doc *schema.App, id string) (*schema.App, bool, error) {
	advice, err := s.Advice(ctx, doc.Name)
	if err != nil {
		return nil, false, err
	}
	for _, a := range advice {
		if a.ID != id {
			continue
		}
		raw, err := json.Marshal(doc)
		if err != nil {
			return nil, false, err
		}
		var next schema.App
		if err := json.Unmarshal(raw, &next); err != nil {
			return nil, false, err
		}
		if e := next.Entity(a.Entity); e != nil && !hasIndex(&next, e, a.Index) {
			e.Indexes = append(e.Indexes, a.Index)
		}
		return &next, true, nil
	}
	return nil, false, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func sortText(keys []sortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k.field.Name
		if k.desc {
			parts[i] = "-" + parts[i]
		}
	}
	return strings.Join(parts, ",")
}

// proposeIndex is the index that serves a shape as one range in order: the
// fields fixed by equality, then the sort keys in their directions (id, the
// tie-breaker, last), flipped so the first sort key ascends — the same
// form as a list view's own index (store), so applying advice for a view's
// list adds nothing new.
func proposeIndex(e *schema.Entity, eq []string, keys []sortKey) (schema.Index, bool) {
	var fields []string
	has := map[string]bool{}
	for _, n := range eq {
		if !has[n] {
			has[n] = true
			fields = append(fields, n)
		}
	}
	nEq := len(fields)
	flip := false
	for _, k := range keys {
		if has[k.field.Name] {
			continue
		}
		if len(fields) == nEq {
			flip = k.desc
		}
		has[k.field.Name] = true
		name := k.field.Name
		if k.desc != flip {
			name = "-" + name
		}
		fields = append(fields, name)
	}
	if len(fields) <= 1 && (len(fields) == 0 || fields[0] == "id") {
		return schema.Index{}, false // the primary key serves it
	}
	return schema.Index{Fields: fields}, true
}

func adviceID(entity string, ix schema.Index) string {
	h := sha1.Sum([]byte(entity + "|" + strings.Join(ix.Fields, ",")))
	return hex.EncodeToString(h[:6])
}

// hasIndex reports whether the app already has ix on the entity: declared,
// or asked for by its list view.
func hasIndex(doc *schema.App, e *schema.Entity, ix schema.Index) bool {
	return store.HasIndex(doc, e, ix)
}

// effect explains the shape's query as the database would run it now. The
// query is the shape's with placeholder values: the plan's shape, not the
// values, is what an index changes.
func (s *Service) effect(ctx context.Context, doc *schema.App, e *schema.Entity, st shapeStat) (Effect, error) {
	ef := Effect{Dialect: s.dialect}
	info := s.infoOf(doc, e.Name)
	if info == nil {
		return ef, nil
	}
	// The shape's conditions with representative values: each compared
	// field's smallest stored value keeps the plan honest without
	// guessing at the caller's.
	var where []string
	for _, n := range st.eq {
		f := info.byName[n]
		if f == nil {
			continue
		}
		where = append(where, store.Quote(n)+" = (SELECT "+store.Quote(n)+" FROM "+store.Quote(info.table)+" WHERE "+store.Quote(n)+" IS NOT NULL LIMIT 1)")
	}
	w := ""
	if len(where) > 0 {
		w = " WHERE " + strings.Join(where, " AND ")
	}
	q := "SELECT * FROM " + store.Quote(info.table) + w + orderBy(st.keys, s.dialect) + " LIMIT 51"
	pool := s.db.Pool()
	if s.dialect == "postgres" {
		rows, err := s.db.SQL.QueryContext(ctx, "EXPLAIN "+q)
		if err != nil {
			return ef, fmt.Errorf("records: explain: %w", err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return ef, fmt.Errorf("records: explain: %w", err)
			}
			ef.Now = append(ef.Now, line)
			t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->"))
			ef.Sorts = ef.Sorts || strings.HasPrefix(t, "Sort") || strings.HasPrefix(t, "Incremental Sort")
		}
		rows.Close()
		var js string
		if err := pool.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) SELECT 1 FROM "+store.Quote(info.table)+w).Scan(&js); err != nil {
			return ef, fmt.Errorf("records: explain: %w", err)
		}
		var out []struct {
			Plan struct {
				Rows float64 `json:"Plan Rows"`
			} `json:"Plan"`
		}
		if json.Unmarshal([]byte(js), &out) == nil && len(out) > 0 {
			ef.Matches = int64(out[0].Plan.Rows)
		}
	} else {
		rows, err := s.db.SQL.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q)
		if err != nil {
			return ef, fmt.Errorf("records: explain: %w", err)
		}
		for rows.Next() {
			var id, parent, unused int
			var detail string
			rows.Scan(&id, &parent, &unused, &detail)
			ef.Now = append(ef.Now, detail)
			ef.Sorts = ef.Sorts || strings.Contains(detail, "TEMP B-TREE")
		}
		rows.Close()
		if err := pool.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+store.Quote(info.table)+w).Scan(&ef.Matches); err != nil {
			return ef, fmt.Errorf("records: explain: %w", err)
		}
	}
	if ef.Sorts {
		ef.Expect = fmt.Sprintf("now every page sorts about %d matching rows first; with the index a page reads its own 50 rows from the index, in order", ef.Matches)
	} else {
		ef.Expect = "the plan already reads in order; the index narrows the rows it reads to the filter's"
	}
	return ef, nil
}
