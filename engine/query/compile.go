package query

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// plan is one widget query compiled for one viewer and one set of
// parameter values: a single SQL statement and what its columns mean.
type plan struct {
	q       *schema.Query
	app     *schema.App
	entity  *schema.Entity
	dialect string
	loc     *time.Location

	sql  string
	args []any

	compare bool // the first column is 1 for the current period, 0 for the previous one
	dims    []*dimPlan
	aggs    []*aggPlan
	aggKey  map[string]int // schema.MeasureExpr.String() of an aggregate → index in aggs
	sumOf   map[string]int // avg(x): index of sum(x)
	cntOf   map[string]int // avg(x): index of count(x)
	sqlSort bool           // ORDER BY … LIMIT done in SQL
	measure []*schema.MeasureExpr

	period, prev *span
	drillBase    filter.Node // the bound filter (and the period)
	prevDrill    filter.Node
	reads        []string // entities whose writes may change the answer
	scopeKey     string   // the viewer's rule scope over everything read
	joins        []*join
}

type dimKind int

const (
	dimPlain  dimKind = iota // a field's value
	dimBucket                // a date bucket key
	dimRef                   // a ref's id, labelled by the target's label field
	dimUser                  // a user id, labelled by the user's name
	dimJoined                // a field of the record a ref points to
)

type dimPlan struct {
	d      schema.Dimension
	kind   dimKind
	typ    schema.FieldType // the stored type of the (target) field
	field  *schema.Field    // the (target) field; nil for system columns
	ref    string           // dimJoined, dimRef: the base ref field
	join   *join
	col    int // dimJoined: the join's column holding the value
	label  bool
	bucket string
}

type aggPlan struct {
	fn    string // count, count_distinct, sum, min, max
	sql   string
	scale int              // SQLite: the result is the value × 10^scale
	real  bool             // the row expression divides: a float on SQLite
	typ   schema.FieldType // min/max of a bare date or datetime field
}

// join is a LEFT JOIN to the records a ref field points to, restricted to
// those the viewer may read.
type join struct {
	alias  string
	ref    string // base ref field
	target *schema.Entity
	scope  *records.ReadScope
	cols   []string // target fields exposed as _jv<i>
	label  string   // the target's label field, exposed as _jl ("" for none)
}

func queryError(status int, code, format string, args ...any) *records.Error {
	return &records.Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func hiddenError(entity, field string) *records.Error {
	return queryError(403, "field_hidden", "this query uses %s.%s, a field hidden from you: it cannot be measured, grouped or filtered on", entity, field)
}

// labelField is the field a record is shown by: its first text field, else
// its first email, phone, url or longtext field (as the web UI does).
func labelField(e *schema.Entity) *schema.Field {
	for i := range e.Fields {
		if e.Fields[i].Type == schema.Text {
			return &e.Fields[i]
		}
	}
	for i := range e.Fields {
		switch e.Fields[i].Type {
		case schema.Email, schema.Phone, schema.URL, schema.LongText:
			return &e.Fields[i]
		}
	}
	return nil
}

// compiler builds one plan.
type compiler struct {
	e      *Engine
	ctx    context.Context
	c      records.Caller
	p      *plan
	scope  *records.ReadScope
	params map[string]string
}

// compile compiles q for caller c. dash gives the parameters' types (nil
// for an ad-hoc query); params holds their values.
func (e *Engine) compile(ctx context.Context, c records.Caller, app *schema.App, dash *schema.Dashboard, w *schema.Widget, q *schema.Query, params map[string]string) (*plan, error) {
	ent := app.Entity(q.Entity)
	if ent == nil {
		return nil, queryError(404, records.CodeNotFound, "no entity %q in app %q", q.Entity, app.Name)
	}
	tz := q.TimeZone
	if tz == "" && dash != nil {
		tz = dash.TimeZone
	}
	loc, err := schema.LoadTimeZone(tz)
	if err != nil {
		return nil, queryError(400, records.CodeBadQuery, "%v", err)
	}
	p := &plan{q: q, app: app, entity: ent, dialect: e.DB.Dialect.Name(), loc: loc,
		aggKey: map[string]int{}, sumOf: map[string]int{}, cntOf: map[string]int{}}
	scope, err := e.Records.ReadScope(ctx, c, app, q.Entity)
	if err != nil {
		return nil, err
	}
	if scope.None {
		return nil, queryError(403, records.CodeForbidden, "you may not read %s records", q.Entity)
	}
	cp := &compiler{e: e, ctx: ctx, c: c, p: p, scope: scope, params: params}
	if err := cp.period(dash, w, q); err != nil {
		return nil, err
	}
	for _, m := range q.Measures {
		x, err := schema.ParseMeasure(m.Expr)
		if err != nil {
			return nil, queryError(400, records.CodeBadQuery, "measure %s: %v", m.Name, err)
		}
		p.measure = append(p.measure, x)
		if err := cp.aggregates(x); err != nil {
			return nil, err
		}
	}
	for _, d := range q.Dimensions {
		if err := cp.dimension(d); err != nil {
			return nil, err
		}
	}
	where, wargs, err := cp.where(q)
	if err != nil {
		return nil, err
	}
	cp.build(where, wargs)
	p.reads = readSet(app, q.Entity)
	keys := []string{scope.Key()}
	for _, j := range p.joins {
		keys = append(keys, j.scope.Key())
	}
	// A filter naming the viewer (@me, or a user parameter set to "me")
	// answers per viewer, whatever their roles.
	usesMe := strings.Contains(q.Filter, "@me")
	for _, v := range params {
		usesMe = usesMe || v == "me"
	}
	if usesMe {
		keys = append(keys, "me="+c.UserID)
	}
	p.scopeKey = strings.Join(keys, "\x02")
	return p, nil
}

// readSet is every entity whose writes may change an answer over entity:
// the entities connected to it by refs in either direction, transitively
// (rollups, formulas through refs and cascading deletes all follow refs).
func readSet(app *schema.App, entity string) []string {
	seen := map[string]bool{entity: true}
	out := []string{entity}
	for i := 0; i < len(out); i++ {
		cur := out[i]
		for _, e := range app.Entities {
			for _, f := range e.Fields {
				var other string
				switch {
				case f.Type == schema.Ref && e.Name == cur:
					other = f.Entity
				case f.Type == schema.Ref && f.Entity == cur:
					other = e.Name
				case f.Type == schema.Rollup && f.Rollup != nil && e.Name == cur:
					other = f.Rollup.Entity
				}
				if other != "" && !seen[other] && app.Entity(other) != nil {
					seen[other] = true
					out = append(out, other)
				}
			}
		}
	}
	return out
}

// column resolves a field of the base entity as the viewer sees it.
func (cp *compiler) column(name string) (schema.FieldType, *schema.Field, error) {
	if cp.scope.Hidden[name] {
		return "", nil, hiddenError(cp.p.entity.Name, name)
	}
	if f := cp.p.entity.Field(name); f != nil {
		return f.StorageType(), f, nil
	}
	if t, ok := schema.SystemColumnType(name); ok {
		return t, nil, nil
	}
	return "", nil, queryError(400, records.CodeBadQuery, "no field %q in entity %s", name, cp.p.entity.Name)
}

func (cp *compiler) period(dash *schema.Dashboard, w *schema.Widget, q *schema.Query) error {
	p := q.Period
	if p == nil {
		return nil
	}
	t, _, err := cp.column(p.Field)
	if err != nil {
		return err
	}
	if t != schema.Date && t != schema.DateTime {
		return queryError(400, records.CodeBadQuery, "the period field %s is not a date or datetime", p.Field)
	}
	value := p.Preset
	if p.Param != "" {
		var par *schema.DashboardParam
		if dash != nil {
			par = dash.Param(p.Param)
		}
		if par == nil {
			return queryError(400, records.CodeBadQuery, "no parameter %q", p.Param)
		}
		value = cp.params[p.Param]
		if value == "" {
			value = par.Default
		}
		if value == "" {
			return nil // no period picked: every date
		}
	}
	s, err := resolvePeriod(value, cp.e.now(), cp.p.loc)
	if err != nil {
		return queryError(400, records.CodeBadQuery, "parameter %s: %v", p.Param, err)
	}
	cp.p.period = &s
	if w != nil && w.Compare == "previousPeriod" {
		prev := s.previous()
		cp.p.prev = &prev
		cp.p.compare = true
	}
	return nil
}

// bound is the SQL literal of a period bound on field f.
func (cp *compiler) bound(field string, t time.Time) (any, error) {
	ft, _, _ := cp.column(field)
	var v string
	if ft == schema.Date {
		v = t.Format(time.DateOnly)
	} else {
		v = t.Format(time.RFC3339)
	}
	return cp.e.Records.EncodeValue(cp.p.app, cp.p.entity.Name, field, v)
}

func (cp *compiler) periodNode(s *span) filter.Node {
	f := cp.p.q.Period.Field
	ft, _, _ := cp.column(f)
	format := func(t time.Time) string {
		if ft == schema.Date {
			return t.Format(time.DateOnly)
		}
		return t.Format(time.RFC3339)
	}
	return and(cmp(f, ">=", strVal(format(s.From))), cmp(f, "<", strVal(format(s.To))))
}

// aggregates registers the aggregates of measure x.
func (cp *compiler) aggregates(x *schema.MeasureExpr) error {
	for _, a := range x.Aggs() {
		if a.Agg == "avg" {
			s, err := cp.agg(&schema.MeasureExpr{Kind: schema.MeasureAgg, Agg: "sum", L: a.L})
			if err != nil {
				return err
			}
			n, err := cp.agg(&schema.MeasureExpr{Kind: schema.MeasureAgg, Agg: "count", L: a.L})
			if err != nil {
				return err
			}
			cp.p.sumOf[a.String()], cp.p.cntOf[a.String()] = s, n
			continue
		}
		if _, err := cp.agg(a); err != nil {
			return err
		}
	}
	return nil
}

func (cp *compiler) agg(a *schema.MeasureExpr) (int, error) {
	key := a.String()
	if i, ok := cp.p.aggKey[key]; ok {
		return i, nil
	}
	ap := &aggPlan{fn: a.Agg}
	switch {
	case a.L == nil:
		ap.sql = "COUNT(*)"
	default:
		x, scale, real, err := cp.rowExpr(a.L)
		if err != nil {
			return 0, err
		}
		if a.L.Kind == schema.MeasureField {
			t, _, _ := cp.column(a.L.Field)
			if msg := a.L.FieldProblem(t); msg != "" {
				return 0, queryError(400, records.CodeBadQuery, "%s", msg)
			}
			if t == schema.Date || t == schema.DateTime {
				ap.typ = t
			}
		}
		if a.Agg != "count" && a.Agg != "count_distinct" {
			ap.scale, ap.real = scale, real // a count is a plain number of rows
		}
		switch a.Agg {
		case "count":
			ap.sql = "COUNT(" + x + ")"
		case "count_distinct":
			ap.fn = "count"
			ap.sql = "COUNT(DISTINCT " + x + ")"
		case "sum":
			ap.sql = "SUM(" + x + ")"
		case "min":
			ap.sql = "MIN(" + x + ")"
		case "max":
			ap.sql = "MAX(" + x + ")"
		default:
			return 0, queryError(400, records.CodeBadQuery, "unknown aggregate %s", a.Agg)
		}
		if a.Agg == "count_distinct" {
			ap.fn = "count_distinct"
		}
	}
	cp.p.aggs = append(cp.p.aggs, ap)
	cp.p.aggKey[key] = len(cp.p.aggs) - 1
	return len(cp.p.aggs) - 1, nil
}

// rowExpr compiles arithmetic over the record's fields. On SQLite a
// decimal column holds its value × 10^scale, so the scale of each
// subexpression is tracked and aligned: sums stay exact integers. Division
// turns the value into a float there (PostgreSQL keeps numeric).
func (cp *compiler) rowExpr(n *schema.MeasureExpr) (sql string, scale int, real bool, err error) {
	lite := cp.p.dialect == "sqlite"
	switch n.Kind {
	case schema.MeasureField:
		t, f, err := cp.column(n.Field)
		if err != nil {
			return "", 0, false, err
		}
		if msg := n.FieldProblem(t); msg != "" {
			return "", 0, false, queryError(400, records.CodeBadQuery, "%s", msg)
		}
		if lite && t == schema.Decimal && f != nil {
			scale = f.DecimalScale()
		}
		return store.Quote(n.Field), scale, false, nil
	case schema.MeasureNumber:
		if !validNumber(n.Num) {
			return "", 0, false, queryError(400, records.CodeBadQuery, "invalid number %q", n.Num)
		}
		if !lite {
			return n.Num, 0, false, nil // digits and one point: safe to embed
		}
		whole, frac, _ := strings.Cut(n.Num, ".")
		digits := strings.TrimLeft(whole+frac, "0")
		if digits == "" {
			digits = "0"
		}
		if len(digits) > 18 {
			return "", 0, false, queryError(400, records.CodeBadQuery, "number %s has too many digits", n.Num)
		}
		return digits, len(frac), false, nil
	case schema.MeasureNeg:
		x, s, r, err := cp.rowExpr(n.L)
		return "(-" + x + ")", s, r, err
	case schema.MeasureBinary:
		l, ls, lr, err := cp.rowExpr(n.L)
		if err != nil {
			return "", 0, false, err
		}
		r, rs, rr, err := cp.rowExpr(n.R)
		if err != nil {
			return "", 0, false, err
		}
		real = lr || rr
		switch n.Op {
		case '+', '-':
			if lite && ls != rs && !real {
				if ls < rs {
					l, ls = "("+l+" * "+pow10(rs-ls)+")", rs
				} else {
					r, rs = "("+r+" * "+pow10(ls-rs)+")", ls
				}
			} else if lite && ls != rs {
				// Floats: bring both sides to scale 0.
				l, r, ls, rs = unscaleReal(l, ls), unscaleReal(r, rs), 0, 0
			}
			return "(" + l + " " + string(n.Op) + " " + r + ")", ls, real, nil
		case '*':
			if ls+rs > 18 {
				return "", 0, false, queryError(400, records.CodeBadQuery, "the measure multiplies too many decimal places")
			}
			return "(" + l + " * " + r + ")", ls + rs, real, nil
		case '/':
			if lite {
				return "(CAST(" + l + " AS REAL) / NULLIF(" + r + ", 0))", ls - rs, true, nil
			}
			return "(CAST(" + l + " AS numeric) / NULLIF(" + r + ", 0))", 0, true, nil
		}
	}
	return "", 0, false, queryError(400, records.CodeBadQuery, "invalid measure expression")
}

func validNumber(s string) bool {
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return s != ""
}

func pow10(n int) string { return "1" + strings.Repeat("0", n) }

func unscaleReal(x string, scale int) string {
	switch {
	case scale > 0:
		return "(CAST(" + x + " AS REAL) / " + pow10(scale) + ".0)"
	case scale < 0:
		return "(CAST(" + x + " AS REAL) * " + pow10(-scale) + ".0)"
	}
	return x
}

// dimension resolves a grouping.
func (cp *compiler) dimension(d schema.Dimension) error {
	dp := &dimPlan{d: d, bucket: d.Bucket}
	head, tail, joined := strings.Cut(d.Field, ".")
	t, f, err := cp.column(head)
	if err != nil {
		return err
	}
	dp.typ, dp.field = t, f
	switch {
	case joined:
		if f == nil || f.Type != schema.Ref {
			return queryError(400, records.CodeBadQuery, "%s is not a ref field", head)
		}
		j, err := cp.joinFor(f)
		if err != nil {
			return err
		}
		if j.scope.Hidden[tail] {
			return hiddenError(j.target.Name, tail)
		}
		tf := j.target.Field(tail)
		if tf != nil {
			dp.typ, dp.field = tf.StorageType(), tf
		} else if st, ok := schema.SystemColumnType(tail); ok {
			dp.typ, dp.field = st, nil
		} else {
			return queryError(400, records.CodeBadQuery, "no field %q in entity %s", tail, j.target.Name)
		}
		dp.kind, dp.ref, dp.join = dimJoined, head, j
		dp.col = len(j.cols)
		j.cols = append(j.cols, tail)
		if d.Bucket != "" {
			return queryError(400, records.CodeBadQuery, "bucket a field of the entity itself, not of a ref's target")
		}
	case d.Bucket != "":
		if t != schema.Date && t != schema.DateTime {
			return queryError(400, records.CodeBadQuery, "only a date or datetime field can be bucketed; %s is a %s field", head, t)
		}
		dp.kind = dimBucket
	case t == schema.Ref:
		j, err := cp.joinFor(f)
		if err != nil {
			return err
		}
		dp.kind, dp.ref, dp.join, dp.label = dimRef, head, j, j.label != ""
	case t == schema.User:
		dp.kind, dp.label = dimUser, true
	case t == schema.DateTime || t == schema.MultiSelect || t == schema.JSON || t == schema.LongText:
		return queryError(400, records.CodeBadQuery, "cannot group by the %s field %s", t, head)
	default:
		dp.kind = dimPlain
	}
	cp.p.dims = append(cp.p.dims, dp)
	return nil
}

// joinFor returns the join through ref field f, adding it once.
func (cp *compiler) joinFor(f *schema.Field) (*join, error) {
	for _, j := range cp.p.joins {
		if j.ref == f.Name {
			return j, nil
		}
	}
	target := cp.p.app.Entity(f.Entity)
	if target == nil {
		return nil, queryError(400, records.CodeBadQuery, "no entity %q", f.Entity)
	}
	scope, err := cp.e.Records.ReadScope(cp.ctx, cp.c, cp.p.app, target.Name)
	if err != nil {
		return nil, err
	}
	j := &join{alias: "j" + strconv.Itoa(len(cp.p.joins)), ref: f.Name, target: target, scope: scope}
	if lf := labelField(target); lf != nil && !scope.Hidden[lf.Name] {
		j.label = lf.Name
	}
	cp.p.joins = append(cp.p.joins, j)
	return j, nil
}

// where compiles the row rules, the bound filter and the period.
func (cp *compiler) where(q *schema.Query) (string, []any, error) {
	var conds []string
	var args []any
	if cp.scope.Where != "" {
		conds = append(conds, cp.scope.Where)
		args = append(args, cp.scope.Args...)
	}
	var bound filter.Node
	if q.Filter != "" {
		n, err := filter.Parse(q.Filter)
		if err != nil {
			return "", nil, queryError(400, records.CodeBadFilter, "%v", err)
		}
		if err := cp.checkFilterFields(n); err != nil {
			return "", nil, err
		}
		bound = bind(n, cp.params)
		if bound != nil {
			w, wargs, err := cp.e.Records.CompileFilter(cp.c, cp.p.app, cp.p.entity.Name, bound)
			if err != nil {
				return "", nil, queryError(400, records.CodeBadFilter, "%v", err)
			}
			conds = append(conds, w)
			args = append(args, wargs...)
		}
	}
	p := cp.p
	p.drillBase = bound
	if p.period != nil {
		from := p.period.From
		if p.prev != nil {
			from = p.prev.From
		}
		lo, err := cp.bound(q.Period.Field, from)
		if err != nil {
			return "", nil, err
		}
		hi, err := cp.bound(q.Period.Field, p.period.To)
		if err != nil {
			return "", nil, err
		}
		col := store.Quote(q.Period.Field)
		conds = append(conds, col+" >= ? AND "+col+" < ?")
		args = append(args, lo, hi)
		p.drillBase = and(bound, cp.periodNode(p.period))
		if p.prev != nil {
			p.prevDrill = and(bound, cp.periodNode(p.prev))
		}
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return "(" + strings.Join(conds, ") AND (") + ")", args, nil
}

// checkFilterFields refuses a filter on a hidden field with a clear error
// (the filter compiler would call it unknown).
func (cp *compiler) checkFilterFields(n filter.Node) error {
	switch n := n.(type) {
	case *filter.And:
		if err := cp.checkFilterFields(n.Left); err != nil {
			return err
		}
		return cp.checkFilterFields(n.Right)
	case *filter.Or:
		if err := cp.checkFilterFields(n.Left); err != nil {
			return err
		}
		return cp.checkFilterFields(n.Right)
	case *filter.Not:
		return cp.checkFilterFields(n.X)
	case *filter.Compare:
		if cp.scope.Hidden[n.Field] {
			return hiddenError(cp.p.entity.Name, n.Field)
		}
	}
	return nil
}

// bucketSQL is the SQL of a date bucket of column col (type t) in p.loc.
// PostgreSQL answers a timestamp (formatted in Go); SQLite a key text.
func (cp *compiler) bucketSQL(col string, t schema.FieldType, bucket string) string {
	p := cp.p
	if p.dialect == "postgres" {
		var x string
		if t == schema.Date {
			x = "CAST(" + col + " AS timestamp)"
		} else {
			// The zone name passed schema.LoadTimeZone's strict pattern.
			x = col + " AT TIME ZONE '" + p.loc.String() + "'"
		}
		return "date_trunc('" + bucket + "', " + x + ")"
	}
	// SQLite's date functions take the column and modifiers directly:
	// date("at", '480 minutes') is the Shanghai day of a UTC text.
	args := col
	if t == schema.DateTime {
		args = cp.sqliteLocal(col)
	}
	switch bucket {
	case "hour":
		return "strftime('%Y-%m-%dT%H:00', " + args + ")"
	case "day":
		return "date(" + args + ")"
	case "week":
		return "date(" + args + ", 'weekday 0', '-6 days')"
	case "month":
		return "strftime('%Y-%m', " + args + ")"
	case "quarter":
		return "(strftime('%Y', " + args + ") || '-Q' || ((CAST(strftime('%m', " + args + ") AS INTEGER) + 2) / 3))"
	}
	return "strftime('%Y', " + args + ")"
}

// sqliteLocal is the arguments of an SQLite date function that read a
// stored UTC datetime text as local time. Over a period in which the zone
// keeps one offset (Asia/Shanghai, or any zone between its DST changes)
// that is the column and a modifier; otherwise each value goes through the
// Go function the store registers.
func (cp *compiler) sqliteLocal(col string) string {
	p := cp.p
	if p.loc == time.UTC {
		return col
	}
	lo, hi := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	if p.period != nil {
		lo, hi = p.period.From, p.period.To
		if p.prev != nil {
			lo = p.prev.From
		}
	}
	if off, ok := fixedOffset(p.loc, lo, hi); ok {
		return col + ", '" + strconv.Itoa(off/60) + " minutes'"
	}
	return store.LocalTimeFunc + "(" + col + ", '" + p.loc.String() + "')"
}

// fixedOffset reports the zone's offset in seconds when it is the same all
// through [lo, hi).
func fixedOffset(loc *time.Location, lo, hi time.Time) (int, bool) {
	t := lo.In(loc)
	_, off := t.Zone()
	for t.Before(hi) {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(hi) {
			return off, true
		}
		if _, o := end.In(loc).Zone(); o != off {
			return 0, false
		}
		t = end.In(loc)
	}
	return off, true
}

// build writes the statement.
func (cp *compiler) build(where string, wargs []any) {
	p := cp.p
	var sel []string
	var args []any
	if p.compare {
		lo, _ := cp.bound(p.q.Period.Field, p.period.From)
		sel = append(sel, "CASE WHEN "+store.Quote(p.q.Period.Field)+" >= ? THEN 1 ELSE 0 END")
		args = append(args, lo)
	}
	for _, d := range p.dims {
		switch d.kind {
		case dimBucket:
			sel = append(sel, cp.bucketSQL(store.Quote(d.d.Field), d.typ, d.bucket))
		case dimJoined:
			sel = append(sel, d.join.alias+`."_jv`+strconv.Itoa(d.col)+`"`)
		default:
			sel = append(sel, store.Quote(strings.SplitN(d.d.Field, ".", 2)[0]))
		}
	}
	groups := len(sel)
	for _, a := range p.aggs {
		sel = append(sel, a.sql)
	}
	for _, d := range p.dims {
		if d.kind == dimRef && d.label {
			sel = append(sel, "MAX("+d.join.alias+`."_jl")`)
		}
	}
	var b strings.Builder
	b.WriteString("SELECT " + strings.Join(sel, ", ") + " FROM " + store.Quote(cp.scope.Table))
	for _, j := range p.joins {
		cols := []string{`"id" AS "_jid"`}
		for i, c := range j.cols {
			cols = append(cols, store.Quote(c)+` AS "_jv`+strconv.Itoa(i)+`"`)
		}
		if j.label != "" {
			cols = append(cols, store.Quote(j.label)+` AS "_jl"`)
		}
		b.WriteString(" LEFT JOIN (SELECT " + strings.Join(cols, ", ") + " FROM " + store.Quote(schema.TableName(p.app.Name, j.target.Name)))
		switch {
		case j.scope.None:
			b.WriteString(" WHERE 1=0")
		case j.scope.Where != "":
			b.WriteString(" WHERE " + j.scope.Where)
			args = append(args, j.scope.Args...)
		}
		b.WriteString(") " + j.alias + " ON " + j.alias + `."_jid" = ` + store.Quote(j.ref))
	}
	if where != "" {
		b.WriteString(" WHERE " + where)
		args = append(args, wargs...)
	}
	if groups > 0 {
		pos := make([]string, groups)
		for i := range pos {
			pos[i] = strconv.Itoa(i + 1)
		}
		b.WriteString(" GROUP BY " + strings.Join(pos, ", "))
	}
	// Top N without "other": let the database sort and cut. The rows are
	// sorted again exactly in Go; here a float order is enough.
	if p.q.Limit > 0 && !p.q.Other {
		if order := cp.orderSQL(groups); order != "" {
			p.sqlSort = true
			b.WriteString(" ORDER BY " + order + " LIMIT " + strconv.Itoa(p.q.Limit))
		}
	}
	if !p.sqlSort && groups > 0 {
		b.WriteString(" LIMIT " + strconv.Itoa(MaxGroups+1))
	}
	p.sql, p.args = b.String(), args
}

// MaxGroups bounds the rows of one answer (before top N).
const MaxGroups = 50000

// sortKeys returns the query's sort keys; a top N without one is by the
// first measure, descending.
func sortKeys(q *schema.Query) []string {
	if q.Sort != "" {
		keys := strings.Split(q.Sort, ",")
		for i := range keys {
			keys[i] = strings.TrimSpace(keys[i])
		}
		return keys
	}
	if q.Limit > 0 && len(q.Measures) > 0 {
		return []string{"-" + q.Measures[0].Name}
	}
	return nil
}

// orderSQL writes the ORDER BY of a top N, then the dimensions for ties.
func (cp *compiler) orderSQL(groups int) string {
	p := cp.p
	var parts []string
	for _, k := range sortKeys(p.q) {
		desc := strings.HasPrefix(k, "-")
		name := strings.TrimPrefix(k, "-")
		var expr string
		for i, d := range p.dims {
			if d.d.Key() == name {
				expr = strconv.Itoa(i + 1 + btoi(p.compare))
			}
		}
		for i, m := range p.q.Measures {
			if m.Name == name {
				expr = cp.measureSQL(p.measure[i])
			}
		}
		if expr == "" {
			return ""
		}
		dir := " ASC NULLS LAST"
		if desc {
			dir = " DESC NULLS LAST"
		}
		parts = append(parts, expr+dir)
	}
	for i := 0; i < groups; i++ {
		parts = append(parts, strconv.Itoa(i+1))
	}
	return strings.Join(parts, ", ")
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// measureSQL is a measure as a float SQL expression over the aggregates,
// for ordering only.
func (cp *compiler) measureSQL(n *schema.MeasureExpr) string {
	p := cp.p
	aggSQL := func(i int) string {
		a := p.aggs[i]
		if p.dialect == "sqlite" {
			return unscaleReal(a.sql, a.scale) + "*1.0"
		}
		return "CAST(" + a.sql + " AS double precision)"
	}
	switch n.Kind {
	case schema.MeasureNumber:
		return n.Num
	case schema.MeasureAgg:
		if n.Agg == "avg" {
			return "(" + aggSQL(p.sumOf[n.String()]) + " / NULLIF(" + aggSQL(p.cntOf[n.String()]) + ", 0))"
		}
		return aggSQL(p.aggKey[n.String()])
	case schema.MeasureNeg:
		return "(-" + cp.measureSQL(n.L) + ")"
	case schema.MeasureBinary:
		l, r := cp.measureSQL(n.L), cp.measureSQL(n.R)
		if n.Op == '/' {
			return "(" + l + " / NULLIF(" + r + ", 0))"
		}
		return "(" + l + " " + string(n.Op) + " " + r + ")"
	}
	return "0"
}
