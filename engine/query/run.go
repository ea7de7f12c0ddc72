package query

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// aggVal is one aggregate of one group.
type aggVal struct {
	null bool
	d    decimal.Decimal
	t    string // min/max of a date or datetime
}

type group struct {
	keys   []any
	labels []string
	aggs   []aggVal
	cur    bool // compare: the current period
	other  bool
	vals   []any // measure values
	nums   []*decimal.Decimal
}

// divPlaces is how many decimal places a quotient keeps.
const divPlaces = 6

// execute runs p and shapes the answer for widget w.
func (e *Engine) execute(ctx context.Context, p *plan, w *schema.Widget) (*Result, error) {
	start := time.Now()
	rows, err := e.DB.SQL.QueryContext(ctx, e.DB.Rebind(p.sql), p.args...)
	if err != nil {
		return nil, fmt.Errorf("query: %s: %w", p.q.Entity, err)
	}
	var groups []*group
	nd := len(p.dims)
	labelCols := 0
	for _, d := range p.dims {
		if d.kind == dimRef && d.label {
			labelCols++
		}
	}
	width := btoi(p.compare) + nd + len(p.aggs) + labelCols
	for rows.Next() {
		raw := make([]any, width)
		ptrs := make([]any, width)
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("query: scan: %w", err)
		}
		g := &group{keys: make([]any, nd), labels: make([]string, nd), aggs: make([]aggVal, len(p.aggs))}
		i := 0
		if p.compare {
			g.cur = toInt(raw[0]) == 1
			i++
		}
		for j, d := range p.dims {
			g.keys[j] = p.decodeKey(d, raw[i+j])
		}
		i += nd
		for j, a := range p.aggs {
			v, err := p.decodeAgg(a, raw[i+j])
			if err != nil {
				rows.Close()
				return nil, err
			}
			g.aggs[j] = v
		}
		i += len(p.aggs)
		for j, d := range p.dims {
			if d.kind == dimRef && d.label {
				if s, ok := asString(raw[i]); ok {
					g.labels[j] = s
				}
				i++
			}
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, fmt.Errorf("query: %w", err)
	}
	rows.Close()
	if !p.sqlSort && nd > 0 && len(groups) > MaxGroups {
		return nil, queryError(422, records.CodeBadQuery, "the query has more than %d groups; filter it or group by something coarser", MaxGroups)
	}
	joinIDs, err := e.joinIDs(ctx, p)
	if err != nil {
		return nil, err
	}
	sqlTime := time.Since(start)

	r := &Result{Columns: p.columns(), Rows: []Row{}, reads: p.reads}
	if p.period != nil {
		r.Period = &Period{From: p.period.From.Format(time.RFC3339), To: p.period.To.Format(time.RFC3339), TimeZone: p.loc.String()}
	}
	var prev *group
	if p.compare {
		var cur *group
		for _, g := range groups {
			if g.cur {
				cur = g
			} else {
				prev = g
			}
		}
		if cur == nil {
			cur = p.emptyGroup(nil)
		}
		if prev == nil {
			prev = p.emptyGroup(nil)
		}
		groups = []*group{cur}
	}
	if nd == 0 && len(groups) == 0 {
		groups = []*group{p.emptyGroup(nil)}
	}
	groups = p.fill(groups)
	for _, g := range groups {
		p.evaluate(g)
	}
	p.sortGroups(groups)
	if p.q.Limit > 0 && len(groups) > p.q.Limit {
		rest := groups[p.q.Limit:]
		groups = groups[:p.q.Limit]
		if p.q.Other {
			o := p.emptyGroup([]any{nil})
			o.other = true
			o.labels = []string{"other"}
			for i := range o.aggs {
				o.aggs[i] = aggVal{null: true}
				if p.aggs[i].fn == "count" || p.aggs[i].fn == "count_distinct" || p.aggs[i].fn == "sum" {
					o.aggs[i] = aggVal{}
				}
			}
			for _, g := range rest {
				p.combine(o, g)
			}
			p.evaluate(o)
			groups = append(groups, o)
		}
	}
	if err := e.labelUsers(ctx, p, groups); err != nil {
		return nil, err
	}
	dr := &driller{p: p, ids: joinIDs, top: groups}
	for _, g := range groups {
		r.Rows = append(r.Rows, Row{Keys: g.keys, Labels: g.labels, Values: g.vals, Other: g.other, Drill: dr.drill(g)})
	}
	if w != nil && w.Type == schema.WidgetPivot && nd == 2 && (w.Totals == nil || *w.Totals) {
		r.Pivot = p.pivot(groups, dr)
	}
	if w != nil && w.Type == schema.WidgetKPI {
		r.KPI = p.kpi(w, groups, prev)
	}
	r.SQLMs = float64(sqlTime.Microseconds()) / 1000
	return r, nil
}

func (p *plan) columns() []Column {
	var cols []Column
	for _, d := range p.dims {
		label := d.d.Label
		if label == "" {
			label = d.d.Field
		}
		cols = append(cols, Column{Name: d.d.Key(), Label: label, Labels: d.d.Labels, Kind: "dimension", Type: string(d.typ), Bucket: d.bucket})
	}
	for i, m := range p.q.Measures {
		label := m.Label
		if label == "" {
			label = m.Name
		}
		col := Column{Name: m.Name, Label: label, Labels: m.Labels, Kind: "measure", Unit: m.Unit}
		if i < len(p.measure) {
			col.Currency = p.currencyOf(p.measure[i])
		}
		cols = append(cols, col)
	}
	return cols
}

// currencyOf is the currency of a measure that aggregates one money field
// as money (sum, avg, min or max of amount); "" otherwise (a count,
// arithmetic, a plain number).
func (p *plan) currencyOf(x *schema.MeasureExpr) string {
	if x == nil || x.Kind != schema.MeasureAgg || x.L == nil || x.L.Kind != schema.MeasureField {
		return ""
	}
	switch x.Agg {
	case "sum", "avg", "min", "max":
	default:
		return ""
	}
	if f := p.entity.Field(x.L.Field); f != nil {
		return f.Currency
	}
	return ""
}

// emptyGroup is a group with no rows: counts and sums 0, the rest null.
func (p *plan) emptyGroup(keys []any) *group {
	g := &group{keys: keys, labels: make([]string, len(p.dims)), aggs: make([]aggVal, len(p.aggs))}
	if g.keys == nil {
		g.keys = make([]any, len(p.dims))
	}
	for i, a := range p.aggs {
		if a.fn == "min" || a.fn == "max" {
			g.aggs[i] = aggVal{null: true}
		}
	}
	for i, k := range g.keys {
		if s, ok := k.(string); ok {
			g.labels[i] = s
		}
	}
	return g
}

// combine adds g's aggregates into into (count distinct is refused for
// "other" and totals on apply, as it does not add up).
func (p *plan) combine(into, g *group) {
	for i, a := range p.aggs {
		x, y := &into.aggs[i], g.aggs[i]
		if y.null {
			continue
		}
		if x.null {
			*x = y
			continue
		}
		switch a.fn {
		case "min":
			if (y.t != "" && y.t < x.t) || (y.t == "" && y.d.LessThan(x.d)) {
				*x = y
			}
		case "max":
			if (y.t != "" && y.t > x.t) || (y.t == "" && y.d.GreaterThan(x.d)) {
				*x = y
			}
		default:
			x.d = x.d.Add(y.d)
		}
	}
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case float64:
		return int64(x)
	case []byte:
		var n int64
		fmt.Sscan(string(x), &n)
		return n
	case string:
		var n int64
		fmt.Sscan(x, &n)
		return n
	}
	return 0
}

func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

// decodeKey turns a grouping column's value into what the answer shows.
func (p *plan) decodeKey(d *dimPlan, v any) any {
	if v == nil {
		return nil
	}
	if d.kind == dimBucket {
		if t, ok := v.(time.Time); ok {
			return bucketKey(t, d.bucket)
		}
		s, _ := asString(v)
		return s
	}
	switch d.typ {
	case schema.Integer, schema.AutoNumber:
		return toInt(v)
	case schema.Decimal:
		scale := 2
		if d.field != nil {
			scale = d.field.DecimalScale()
		}
		switch x := v.(type) {
		case int64:
			return json.Number(decimal.New(x, int32(-scale)).StringFixed(int32(scale)))
		case float64:
			return json.Number(decimal.NewFromFloat(x).StringFixed(int32(scale)))
		}
		s, _ := asString(v)
		dd, err := decimal.NewFromString(s)
		if err != nil {
			return s
		}
		return json.Number(dd.StringFixed(int32(scale)))
	case schema.Boolean:
		switch x := v.(type) {
		case bool:
			return x
		default:
			return toInt(x) != 0
		}
	case schema.Date:
		if t, ok := v.(time.Time); ok {
			return t.Format(time.DateOnly)
		}
	case schema.DateTime:
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format(time.RFC3339Nano)
		}
	}
	if s, ok := asString(v); ok {
		return s
	}
	return fmt.Sprint(v)
}

// decodeAgg turns an aggregate column into a value.
func (p *plan) decodeAgg(a *aggPlan, v any) (aggVal, error) {
	if v == nil {
		if a.fn == "sum" || a.fn == "count" || a.fn == "count_distinct" {
			return aggVal{}, nil // a sum of nothing is 0
		}
		return aggVal{null: true}, nil
	}
	if a.typ == schema.Date || a.typ == schema.DateTime {
		switch x := v.(type) {
		case time.Time:
			if a.typ == schema.Date {
				return aggVal{t: x.Format(time.DateOnly)}, nil
			}
			return aggVal{t: x.UTC().Format(time.RFC3339Nano)}, nil
		}
		s, _ := asString(v)
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return aggVal{t: t.UTC().Format(time.RFC3339Nano)}, nil
		}
		return aggVal{t: s}, nil
	}
	var d decimal.Decimal
	switch x := v.(type) {
	case int64:
		d = decimal.New(x, 0)
	case int32:
		d = decimal.New(int64(x), 0)
	case float64:
		d = decimal.NewFromFloat(x)
	default:
		s, _ := asString(v)
		var err error
		d, err = decimal.NewFromString(s)
		if err != nil {
			return aggVal{}, fmt.Errorf("query: decode %s: %w", a.sql, err)
		}
	}
	if a.scale != 0 {
		d = d.Shift(int32(-a.scale))
	}
	if a.real {
		d = d.Round(divPlaces)
	}
	return aggVal{d: d}, nil
}

// evaluate computes g's measures from its aggregates.
func (p *plan) evaluate(g *group) {
	g.vals = make([]any, len(p.measure))
	g.nums = make([]*decimal.Decimal, len(p.measure))
	for i, m := range p.measure {
		v, t, ok := p.eval(m, g)
		switch {
		case t != "":
			g.vals[i] = t
		case ok:
			g.vals[i] = json.Number(v.String())
			g.nums[i] = &v
		}
	}
}

func (p *plan) eval(n *schema.MeasureExpr, g *group) (decimal.Decimal, string, bool) {
	switch n.Kind {
	case schema.MeasureNumber:
		d, err := decimal.NewFromString(n.Num)
		return d, "", err == nil
	case schema.MeasureAgg:
		if n.Agg == "avg" {
			s, c := g.aggs[p.sumOf[n.String()]], g.aggs[p.cntOf[n.String()]]
			if s.null || c.null || c.d.IsZero() {
				return decimal.Decimal{}, "", false
			}
			return s.d.DivRound(c.d, divPlaces), "", true
		}
		a := g.aggs[p.aggKey[n.String()]]
		if a.null {
			return decimal.Decimal{}, "", false
		}
		return a.d, a.t, true
	case schema.MeasureNeg:
		x, t, ok := p.eval(n.L, g)
		if t != "" {
			return decimal.Decimal{}, "", false
		}
		return x.Neg(), "", ok
	case schema.MeasureBinary:
		l, lt, lok := p.eval(n.L, g)
		r, rt, rok := p.eval(n.R, g)
		if !lok || !rok || lt != "" || rt != "" {
			return decimal.Decimal{}, "", false
		}
		switch n.Op {
		case '+':
			return l.Add(r), "", true
		case '-':
			return l.Sub(r), "", true
		case '*':
			return l.Mul(r), "", true
		case '/':
			if r.IsZero() {
				return decimal.Decimal{}, "", false
			}
			return l.DivRound(r, divPlaces), "", true
		}
	}
	return decimal.Decimal{}, "", false
}

// fill adds the empty date buckets of a bucketed dimension (for each
// combination of the other dimensions' values seen), so a day without
// orders shows as 0 rather than missing.
func (p *plan) fill(groups []*group) []*group {
	bi := -1
	for i, d := range p.dims {
		if d.kind == dimBucket {
			if bi >= 0 {
				return groups // two date dimensions: leave as is
			}
			bi = i
		}
	}
	if bi < 0 || p.q.Limit > 0 || p.compare {
		return groups
	}
	d := p.dims[bi]
	var from, to time.Time
	if p.period != nil {
		from, to = bucketStart(p.period.From, d.bucket), p.period.To
	} else {
		for _, g := range groups {
			s, _ := g.keys[bi].(string)
			t, ok := parseBucketKey(s, d.bucket, p.loc)
			if !ok {
				continue
			}
			if from.IsZero() || t.Before(from) {
				from = t
			}
			if to.IsZero() || !t.Before(to) {
				to = nextBucket(t, d.bucket)
			}
		}
		if from.IsZero() {
			return groups
		}
	}
	var keys []string
	seenKey := map[string]bool{}
	for t := from; t.Before(to); {
		if k := bucketKey(t, d.bucket); !seenKey[k] { // the hour clocks go back happens twice
			seenKey[k] = true
			keys = append(keys, k)
		}
		if len(keys) > 5000 {
			return groups
		}
		next := nextBucket(t, d.bucket)
		if !next.After(t) {
			break
		}
		t = next
	}
	// The other dimensions' combinations seen (one empty one without any).
	type combo struct {
		keys   []any
		labels []string
	}
	seen := map[string]bool{}
	var combos []combo
	have := map[string]bool{}
	for _, g := range groups {
		ck := comboKey(g.keys, bi)
		if !seen[ck] {
			seen[ck] = true
			combos = append(combos, combo{g.keys, g.labels})
		}
		s, _ := g.keys[bi].(string)
		have[ck+"\x00"+s] = true
	}
	if len(combos) == 0 {
		combos = append(combos, combo{make([]any, len(p.dims)), make([]string, len(p.dims))})
	}
	if len(combos)*len(keys) > 20000 {
		return groups
	}
	for _, c := range combos {
		ck := comboKey(c.keys, bi)
		for _, k := range keys {
			if have[ck+"\x00"+k] {
				continue
			}
			nk := append([]any(nil), c.keys...)
			nk[bi] = k
			g := p.emptyGroup(nk)
			copy(g.labels, c.labels)
			g.labels[bi] = k
			groups = append(groups, g)
		}
	}
	return groups
}

func comboKey(keys []any, skip int) string {
	var b strings.Builder
	for i, k := range keys {
		if i != skip {
			fmt.Fprintf(&b, "%T:%v\x01", k, k)
		}
	}
	return b.String()
}

// sortGroups orders the groups by the query's sort keys, then by the
// dimensions, nulls last.
func (p *plan) sortGroups(groups []*group) {
	type key struct {
		dim, measure int
		desc         bool
	}
	var keys []key
	for _, k := range sortKeys(p.q) {
		desc := strings.HasPrefix(k, "-")
		name := strings.TrimPrefix(k, "-")
		for i, d := range p.dims {
			if d.d.Key() == name {
				keys = append(keys, key{dim: i, measure: -1, desc: desc})
			}
		}
		for i, m := range p.q.Measures {
			if m.Name == name {
				keys = append(keys, key{dim: -1, measure: i, desc: desc})
			}
		}
	}
	for i := range p.dims {
		keys = append(keys, key{dim: i, measure: -1})
	}
	sort.SliceStable(groups, func(a, b int) bool {
		ga, gb := groups[a], groups[b]
		if ga.other != gb.other {
			return gb.other
		}
		for _, k := range keys {
			var c int
			if k.measure >= 0 {
				c = compareNum(ga.nums[k.measure], gb.nums[k.measure], ga.vals[k.measure], gb.vals[k.measure], k.desc)
			} else {
				c = compareKey(ga.keys[k.dim], gb.keys[k.dim], k.desc)
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
}

// compareNum orders measure values, nulls last whatever the direction.
func compareNum(a, b *decimal.Decimal, av, bv any, desc bool) int {
	if a == nil || b == nil {
		as, aok := av.(string)
		bs, bok := bv.(string)
		switch {
		case aok && bok:
			return dir(strings.Compare(as, bs), desc)
		case a == nil && b == nil && !aok && !bok:
			return 0
		case a == nil && !aok:
			return 1
		case b == nil && !bok:
			return -1
		}
		return 0
	}
	return dir(a.Cmp(*b), desc)
}

func dir(c int, desc bool) int {
	if desc {
		return -c
	}
	return c
}

func compareKey(a, b any, desc bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			switch {
			case x < y:
				return dir(-1, desc)
			case x > y:
				return dir(1, desc)
			}
			return 0
		}
	case json.Number:
		if y, ok := b.(json.Number); ok {
			dx, _ := decimal.NewFromString(string(x))
			dy, _ := decimal.NewFromString(string(y))
			return dir(dx.Cmp(dy), desc)
		}
	case bool:
		if y, ok := b.(bool); ok && x != y {
			if !x {
				return dir(-1, desc)
			}
			return dir(1, desc)
		}
		return 0
	}
	return dir(strings.Compare(fmt.Sprint(a), fmt.Sprint(b)), desc)
}

// labelUsers names the users of user dimensions.
func (e *Engine) labelUsers(ctx context.Context, p *plan, groups []*group) error {
	var ids []string
	seen := map[string]bool{}
	for i, d := range p.dims {
		if d.kind != dimUser {
			continue
		}
		for _, g := range groups {
			if s, ok := g.keys[i].(string); ok && !seen[s] {
				seen[s] = true
				ids = append(ids, s)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var names map[string]string
	if e.UserLabels != nil {
		var err error
		if names, err = e.UserLabels(ctx, ids); err != nil {
			return err
		}
	}
	for i, d := range p.dims {
		if d.kind != dimUser {
			continue
		}
		for _, g := range groups {
			if s, ok := g.keys[i].(string); ok {
				g.labels[i] = s
				if n := names[s]; n != "" {
					g.labels[i] = n
				}
			}
		}
	}
	return nil
}

// kpi builds a kpi's comparison and target.
func (p *plan) kpi(w *schema.Widget, groups []*group, prev *group) *KPI {
	k := &KPI{}
	if len(groups) == 0 {
		return k
	}
	cur := groups[0]
	if prev != nil {
		p.evaluate(prev)
		k.Previous = prev.vals
		if p.prevDrill != nil {
			s := render(p.prevDrill)
			k.PreviousDrill = &s
		}
		for i := range p.measure {
			a, b := cur.nums[i], prev.nums[i]
			if a == nil || b == nil {
				k.Change = append(k.Change, nil)
				k.Percent = append(k.Percent, nil)
				continue
			}
			ch := a.Sub(*b)
			k.Change = append(k.Change, json.Number(ch.String()))
			if b.IsZero() {
				k.Percent = append(k.Percent, nil)
			} else {
				k.Percent = append(k.Percent, json.Number(ch.Mul(decimal.New(100, 0)).DivRound(*b, 2).String()))
			}
		}
	}
	if w.Target != nil {
		t, err := decimal.NewFromString(string(*w.Target))
		if err == nil {
			k.Target = json.Number(t.String())
			if len(cur.nums) > 0 && cur.nums[0] != nil && !t.IsZero() {
				k.Progress = json.Number(cur.nums[0].Mul(decimal.New(100, 0)).DivRound(t, 2).String())
			}
		}
	}
	return k
}

// pivot computes a pivot's row, column and grand totals from the cells'
// aggregates (so an average total is the average of all rows, not of the
// cells' averages).
func (p *plan) pivot(groups []*group, dr *driller) *Pivot {
	pv := &Pivot{}
	rowIdx, colIdx := map[string]int{}, map[string]int{}
	var rowG, colG []*group
	total := p.zeroGroup(make([]any, 2))
	for _, g := range groups {
		rk, ck := fmt.Sprintf("%T:%v", g.keys[0], g.keys[0]), fmt.Sprintf("%T:%v", g.keys[1], g.keys[1])
		if _, ok := rowIdx[rk]; !ok {
			rowIdx[rk] = len(rowG)
			rg := p.zeroGroup([]any{g.keys[0], nil})
			rg.labels[0] = g.labels[0]
			rowG = append(rowG, rg)
		}
		if _, ok := colIdx[ck]; !ok {
			colIdx[ck] = len(colG)
			cg := p.zeroGroup([]any{nil, g.keys[1]})
			cg.labels[1] = g.labels[1]
			colG = append(colG, cg)
		}
		p.combine(rowG[rowIdx[rk]], g)
		p.combine(colG[colIdx[ck]], g)
		p.combine(total, g)
	}
	// Columns in dimension order.
	sort.SliceStable(colG, func(a, b int) bool { return compareKey(colG[a].keys[1], colG[b].keys[1], false) < 0 })
	for _, g := range rowG {
		p.evaluate(g)
		pv.Rows = append(pv.Rows, g.keys[0])
		pv.RowLabels = append(pv.RowLabels, g.labels[0])
		pv.RowTotals = append(pv.RowTotals, Row{Keys: []any{g.keys[0], nil}, Labels: g.labels, Values: g.vals, Drill: dr.only(g, 0)})
	}
	for _, g := range colG {
		p.evaluate(g)
		pv.Cols = append(pv.Cols, g.keys[1])
		pv.ColLabels = append(pv.ColLabels, g.labels[1])
		pv.ColTotals = append(pv.ColTotals, Row{Keys: []any{nil, g.keys[1]}, Labels: g.labels, Values: g.vals, Drill: dr.only(g, 1)})
	}
	p.evaluate(total)
	all := render(p.drillBase)
	pv.Total = Row{Keys: []any{nil, nil}, Values: total.vals, Drill: &all}
	return pv
}

// zeroGroup is an empty group that aggregates combine into.
func (p *plan) zeroGroup(keys []any) *group {
	g := p.emptyGroup(keys)
	for i := range g.labels {
		g.labels[i] = ""
	}
	return g
}

// joinIDs reads, for each dimension over a ref's target field, which target
// records hold which value (as the viewer may read them), so that a
// figure's records can be listed by ref: orders of the north region are
// the orders whose store is one of the north stores.
func (e *Engine) joinIDs(ctx context.Context, p *plan) (map[*dimPlan]*joinValues, error) {
	out := map[*dimPlan]*joinValues{}
	for _, d := range p.dims {
		if d.kind != dimJoined {
			continue
		}
		j := d.join
		jv := &joinValues{ids: map[string][]string{}}
		out[d] = jv
		if j.scope.None {
			continue
		}
		q := "SELECT " + store.Quote(j.cols[d.col]) + `, "id" FROM ` + store.Quote(schema.TableName(p.app.Name, j.target.Name))
		if j.scope.Where != "" {
			q += " WHERE " + j.scope.Where
		}
		q += fmt.Sprintf(" LIMIT %d", maxDrillIDs*4+1)
		rows, err := e.DB.SQL.QueryContext(ctx, e.DB.Rebind(q), j.scope.Args...)
		if err != nil {
			return nil, fmt.Errorf("query: drill ids: %w", err)
		}
		n := 0
		for rows.Next() {
			var v, id any
			if err := rows.Scan(&v, &id); err != nil {
				rows.Close()
				return nil, err
			}
			n++
			key := p.decodeKey(d, v)
			s, _ := asString(id)
			if key == nil {
				continue
			}
			k := fmt.Sprintf("%T:%v", key, key)
			jv.ids[k] = append(jv.ids[k], s)
			jv.nonNull = append(jv.nonNull, s)
		}
		rows.Close()
		if n > maxDrillIDs*4 {
			jv.tooMany = true
		}
	}
	return out, nil
}

// maxDrillIDs is the most ids a drill-down filter lists (the filter
// language's in list takes 500).
const maxDrillIDs = filter.MaxListLen

type joinValues struct {
	ids     map[string][]string // value → target ids
	nonNull []string
	tooMany bool
}

// driller writes the records-API filter of a figure.
type driller struct {
	p   *plan
	ids map[*dimPlan]*joinValues
	top []*group
}

// drill is the filter listing exactly g's records, or nil when it cannot
// be written (too many ids behind a joined value).
func (dr *driller) drill(g *group) *string {
	conds := []filter.Node{dr.p.drillBase}
	for i := range dr.p.dims {
		var c filter.Node
		var ok bool
		if g.other {
			c, ok = dr.otherCond(i)
		} else {
			c, ok = dr.cond(i, g.keys[i])
		}
		if !ok {
			return nil
		}
		conds = append(conds, c)
	}
	s := render(and(conds...))
	return &s
}

// only is the drill of a pivot total: the condition on dimension i alone.
func (dr *driller) only(g *group, i int) *string {
	c, ok := dr.cond(i, g.keys[i])
	if !ok {
		return nil
	}
	s := render(and(dr.p.drillBase, c))
	return &s
}

func literal(v any) filter.Value {
	switch x := v.(type) {
	case nil:
		return nullVal
	case string:
		return strVal(x)
	case int64:
		return filter.Value{Kind: filter.Number, Num: fmt.Sprint(x)}
	case json.Number:
		return filter.Value{Kind: filter.Number, Num: string(x)}
	case bool:
		return filter.Value{Kind: filter.Bool, Bool: x}
	}
	return strVal(fmt.Sprint(v))
}

// cond is the condition "dimension i has value v".
func (dr *driller) cond(i int, v any) (filter.Node, bool) {
	d := dr.p.dims[i]
	field := strings.SplitN(d.d.Field, ".", 2)[0]
	switch d.kind {
	case dimBucket:
		if v == nil {
			return cmp(field, "=", nullVal), true
		}
		s, _ := v.(string)
		from, ok := parseBucketKey(s, d.bucket, dr.p.loc)
		if !ok {
			return nil, false
		}
		to := nextBucket(from, d.bucket)
		format := func(t time.Time) string { return t.Format(time.RFC3339) }
		if d.typ == schema.Date {
			format = func(t time.Time) string { return t.Format(time.DateOnly) }
		}
		return and(cmp(field, ">=", strVal(format(from))), cmp(field, "<", strVal(format(to)))), true
	case dimJoined:
		jv := dr.ids[d]
		if jv == nil || jv.tooMany {
			return nil, false
		}
		list := func(ids []string) filter.Value {
			out := filter.Value{Kind: filter.List}
			for _, id := range ids {
				out.List = append(out.List, strVal(id))
			}
			return out
		}
		if v == nil {
			if len(jv.nonNull) > maxDrillIDs {
				return nil, false
			}
			return &filter.Not{X: cmp(field, "in", list(jv.nonNull))}, true
		}
		ids := jv.ids[fmt.Sprintf("%T:%v", v, v)]
		if len(ids) > maxDrillIDs {
			return nil, false
		}
		return cmp(field, "in", list(ids)), true
	}
	if v == nil {
		return cmp(field, "=", nullVal), true
	}
	return cmp(field, "=", literal(v)), true
}

// otherCond is "dimension i is none of the top rows' values".
func (dr *driller) otherCond(i int) (filter.Node, bool) {
	d := dr.p.dims[i]
	if d.kind == dimBucket || d.kind == dimJoined {
		return nil, false
	}
	field := d.d.Field
	list := filter.Value{Kind: filter.List}
	hasNull := false
	for _, g := range dr.top {
		switch {
		case g.other:
		case g.keys[i] == nil:
			hasNull = true
		default:
			list.List = append(list.List, literal(g.keys[i]))
		}
	}
	if len(list.List) > maxDrillIDs {
		return nil, false
	}
	var c filter.Node = &filter.Not{X: cmp(field, "in", list)}
	if hasNull {
		c = and(c, cmp(field, "!=", nullVal))
	}
	return c, true
}
