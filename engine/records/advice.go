package records

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// DefaultSlowList is how long a list query must take for the index
// advisor to keep its shape.
const DefaultSlowList = 20 * time.Millisecond

// maxShapes bounds the shapes a server holds between two flushes; when
// full, the shape with the least time spent makes room.
const maxShapes = 500

// Flushes: a server adds what it saw to the shared table once this many
// slow lists have accumulated, or when the oldest it holds is this old (by
// the store's clock, checked as lists arrive), and whenever advice is read.
const (
	flushAfterLists = 200
	flushEvery      = 10 * time.Second
)

// advisor gathers, per app and entity, the shapes of slow list queries:
// which fields the filter compares and how, and the sort — never values.
// A list request only adds to this process's memory; the counts go to the
// database (store.AddListShapes) in one upsert now and then, so advice
// answers from what every server sharing the database saw.
type advisor struct {
	mu        sync.Mutex
	threshold atomic.Int64          // time.Duration; read without mu by every list
	shapes    map[string]*shapeStat // not yet flushed
	lists     int                   // slow lists in shapes
	since     time.Time             // when the oldest of them was seen
	flushing  bool
	wg        sync.WaitGroup
	flushMu   sync.Mutex // one flush at a time
}

type shapeStat struct {
	app, entity string
	filter      string // the filter's skeleton: "severity >= ? && status = ?"
	eq          []string
	sort        string // "-severity,subject,-id"
	keys        []sortKey
	count       int64
	total, max  time.Duration
	last        time.Time
}

func newAdvisor() *advisor {
	a := &advisor{shapes: map[string]*shapeStat{}}
	a.threshold.Store(int64(DefaultSlowList))
	return a
}

// SetSlowList sets how long a list query must take for the index advisor
// to keep its shape (0 keeps every list's shape; tests use it).
func (s *Service) SetSlowList(d time.Duration) {
	s.advisor.threshold.Store(int64(d))
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

// observe records a list query that took d; when enough has gathered it
// starts a flush in the background (the request does not wait for it).
func (s *Service) observe(lp *listPlan, d time.Duration, now time.Time) {
	a := s.advisor
	if d < time.Duration(a.threshold.Load()) {
		return // most lists: no lock taken
	}
	a.mu.Lock()
	skeleton := ""
	if lp.node != nil {
		skeleton = skeletonOf(lp.node)
	}
	sortKeys := sortText(lp.keys)
	key := lp.info.app.Name + "\x00" + lp.info.entity.Name + "\x00" + skeleton + "\x00" + sortKeys
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
		st = &shapeStat{app: lp.info.app.Name, entity: lp.info.entity.Name, filter: skeleton, sort: sortKeys, keys: lp.keys}
		if lp.node != nil {
			st.eq = topEqualities(lp.node)
		}
		a.shapes[key] = st
	}
	st.count++
	st.total += d
	st.max = max(st.max, d)
	st.last = now
	if a.lists == 0 {
		a.since = now
	}
	a.lists++
	start := !a.flushing && (a.lists >= flushAfterLists || now.Sub(a.since) >= flushEvery)
	if start {
		a.flushing = true
		a.wg.Add(1)
	}
	a.mu.Unlock()
	if start {
		go func() {
			defer a.wg.Done()
			s.flushShapes(context.Background())
			a.mu.Lock()
			a.flushing = false
			a.mu.Unlock()
		}()
	}
}

// FlushAdvice writes the shapes this server gathered to the database, after
// any flush already under way (advice reads them; Engine.Close calls it
// so nothing gathered is lost at shutdown).
func (s *Service) FlushAdvice(ctx context.Context) error {
	s.advisor.wg.Wait()
	return s.flushShapes(ctx)
}

// flushShapes adds the gathered shapes to the stored ones. If the write
// fails they are kept for the next flush.
func (s *Service) flushShapes(ctx context.Context) error {
	a := s.advisor
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	taken := a.shapes
	a.shapes, a.lists = map[string]*shapeStat{}, 0
	a.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	out := make([]store.ListShape, 0, len(taken))
	for _, st := range taken {
		out = append(out, store.ListShape{App: st.app, Entity: st.entity, Filter: st.filter, Eq: st.eq, Sort: st.sort,
			Count: st.count, Total: st.total, Max: st.max, Last: st.last})
	}
	err := s.db.AddListShapes(ctx, out)
	if err != nil {
		a.mu.Lock()
		for k, st := range taken {
			if have := a.shapes[k]; have != nil {
				have.count += st.count
				have.total += st.total
				have.max = max(have.max, st.max)
				if st.last.After(have.last) {
					have.last = st.last
				}
			} else if len(a.shapes) < maxShapes {
				a.shapes[k] = st
			}
			a.lists += int(st.count)
		}
		a.mu.Unlock()
	}
	return err
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
	// With is the plan with the proposed index, built for the EXPLAIN in a
	// transaction that was rolled back; empty when it was not built (see
	// Measured).
	With      []string `json:"with,omitempty"`
	SortsWith bool     `json:"sortsWith"`
	// CostNow and CostWith are PostgreSQL's estimated total costs of the
	// two plans (planner units); zero on SQLite.
	CostNow  float64 `json:"costNow,omitempty"`
	CostWith float64 `json:"costWith,omitempty"`
	// Measured says where With comes from: "explain" (the index was built
	// and rolled back), "exists" (the app has the index: Now is its plan),
	// "estimated" (the table is too large to build it for a look, or the
	// build gave way to other work; Expect is the estimate).
	Measured string `json:"measured"`
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
	return s.advice(ctx, app, true)
}

// maxMeasured bounds the proposals per request whose effect is measured
// with the index built for a look (the costliest shapes); the rest say
// "estimated".
const maxMeasured = 10

func (s *Service) advice(ctx context.Context, app string, effects bool) ([]Advice, error) {
	doc, err := s.catalog.App(ctx, app)
	if err != nil {
		return nil, err
	}
	if err := s.FlushAdvice(ctx); err != nil {
		return nil, err
	}
	stored, err := s.db.ListShapes(ctx, app)
	if err != nil {
		return nil, err
	}
	out := []Advice{}
	for _, ls := range stored {
		info := s.infoOf(doc, ls.Entity)
		if info == nil {
			continue // dropped since
		}
		e := info.entity
		keys, kerr := info.sortKeys(ls.Sort)
		if kerr != nil {
			continue // a sort field renamed or dropped since
		}
		st := shapeStat{app: app, entity: ls.Entity, filter: ls.Filter, sort: ls.Sort, keys: keys,
			count: ls.Count, total: ls.Total, max: ls.Max, last: ls.Last}
		for _, f := range ls.Eq {
			if info.byName[f] != nil {
				st.eq = append(st.eq, f)
			}
		}
		ix, ok := proposeIndex(e, st.eq, st.keys)
		if !ok {
			continue
		}
		a := Advice{ID: adviceID(st.entity, ix), Entity: st.entity, Filter: st.filter, Sort: sortText(st.keys),
			Count: st.count, TotalMS: ms(st.total), MaxMS: ms(st.max), LastAt: st.last.UTC(), Index: ix,
			Exists: hasIndex(doc, e, ix)}
		if effects {
			a.Effect, err = s.effect(ctx, doc, e, st, ix, a.Exists, len(out) < maxMeasured)
			if err != nil {
				return nil, err
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// WithAdvice returns doc with the index of advice id declared on its
// entity, for the caller to apply as the next version; found is false
// when no current advice has that id.
func (s *Service) WithAdvice(ctx context.Context, doc *schema.App, id string) (*schema.App, bool, error) {
	advice, err := s.advice(ctx, doc.Name, false)
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

// effect explains the shape's query as the database runs it now and, when
// the app lacks the index, as it would with it (built in a transaction that
// is rolled back). The query is the shape's with placeholder values: the
// plan's shape, not the values, is what an index changes.
func (s *Service) effect(ctx context.Context, doc *schema.App, e *schema.Entity, st shapeStat, ix schema.Index, exists, build bool) (Effect, error) {
	ef := Effect{Dialect: s.dialect, Measured: "estimated"}
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
	explain := "EXPLAIN QUERY PLAN " + q
	if s.dialect == "postgres" {
		explain = "EXPLAIN " + q
	}
	rows, err := s.db.SQL.QueryContext(ctx, explain)
	if err != nil {
		return ef, fmt.Errorf("records: explain: %w", err)
	}
	if ef.Now, err = store.PlanLines(rows); err != nil {
		return ef, fmt.Errorf("records: explain: %w", err)
	}
	ef.Sorts, ef.CostNow = planSorts(ef.Now), planCost(ef.Now)
	pool := s.db.Pool()
	if s.dialect == "postgres" {
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
	} else if err := pool.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+store.Quote(info.table)+w).Scan(&ef.Matches); err != nil {
		return ef, fmt.Errorf("records: explain: %w", err)
	}
	if exists {
		ef.Measured, ef.With, ef.SortsWith, ef.CostWith = "exists", ef.Now, ef.Sorts, ef.CostNow
	} else if !build {
		// past maxMeasured: estimated
	} else if with, built, err := s.db.ExplainWithIndex(ctx, doc, e, ix, explain); err == nil && built {
		ef.Measured, ef.With, ef.SortsWith, ef.CostWith = "explain", with, planSorts(with), planCost(with)
	} else if err != nil && ctx.Err() != nil {
		return ef, err
	}
	// A build that timed out or met a lock leaves the estimate.
	switch {
	case ef.Measured == "explain" && ef.Sorts && !ef.SortsWith:
		ef.Expect = fmt.Sprintf("now every page sorts about %d matching rows first; with the index the plan reads each page's rows from the index, in order, and no longer sorts", ef.Matches)
	case ef.Measured == "explain" && ef.SortsWith:
		ef.Expect = "with the index the database still chooses to sort (a small table, or a filter it prefers to scan); the index helps as the table grows"
	case ef.Measured == "explain":
		ef.Expect = "the plan already reads in order; the index narrows the rows it reads to the filter's"
	case ef.Sorts:
		ef.Expect = fmt.Sprintf("now every page sorts about %d matching rows first; with the index a page would read its own rows from the index, in order (estimated, not measured: the table is too large to build the index for a look, or the build gave way to other work)", ef.Matches)
	default:
		ef.Expect = "the plan already reads in order; the index narrows the rows it reads to the filter's"
	}
	return ef, nil
}

// planSorts reports whether a plan sorts: SQLite's temporary B-tree for
// ORDER BY, PostgreSQL's Sort or Incremental Sort node.
func planSorts(plan []string) bool {
	for _, line := range plan {
		if strings.Contains(line, "TEMP B-TREE") {
			return true
		}
		t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->"))
		if strings.HasPrefix(t, "Sort") || strings.HasPrefix(t, "Incremental Sort") {
			return true
		}
	}
	return false
}

// planCost is the total cost PostgreSQL estimates for a plan (its first
// line's "cost=start..total"); 0 when there is none.
func planCost(plan []string) float64 {
	if len(plan) == 0 {
		return 0
	}
	_, after, ok := strings.Cut(plan[0], "..")
	if !ok || !strings.Contains(plan[0], "cost=") {
		return 0
	}
	num, _, _ := strings.Cut(after, " ")
	c, _ := strconv.ParseFloat(num, 64)
	return c
}
