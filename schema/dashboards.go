package schema

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Dashboard is a page of widgets laid out on a grid, with parameters the
// viewer sets (a date range, a store, a rep). Each widget holds one query;
// the engine (engine/query) compiles it to SQL under the viewer's rules.
type Dashboard struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	// Labels is the label per language; Label is shown where the viewer's
	// language has no variant.
	Labels Labels `json:"labels,omitempty"`
	// Columns is the width of the grid in cells (default 12).
	Columns int `json:"columns,omitempty"`
	// TimeZone buckets dates and resolves date presets ("Asia/Shanghai");
	// default UTC. A widget query may override it.
	TimeZone string           `json:"timeZone,omitempty"`
	Params   []DashboardParam `json:"params,omitempty"`
	Widgets  []Widget         `json:"widgets"`
}

// DashboardParam is a value the viewer picks for the whole dashboard.
//
//   - "daterange": a period; widgets use it through their query's period.
//     Its value is a preset (DatePresets) or "2026-01-01..2026-01-31"
//     (both days included).
//   - "ref": a record of Entity; filters use it as @name.
//   - "user": a user id; filters use it as @name ("me" means the viewer).
//
// A ref or user parameter left empty drops the comparisons that use it, so
// "store = @store" with no store picked means every store.
type DashboardParam struct {
	Name    string `json:"name"`
	Label   string `json:"label,omitempty"`
	Labels  Labels `json:"labels,omitempty"`
	Type    string `json:"type"`
	Entity  string `json:"entity,omitempty"`
	Default string `json:"default,omitempty"`
}

// Dashboard parameter types.
const (
	ParamDateRange = "daterange"
	ParamRef       = "ref"
	ParamUser      = "user"
)

// DatePresets are the named periods a daterange parameter or a query's
// period accepts, resolved in the dashboard's time zone.
var DatePresets = []string{"today", "yesterday", "last7Days", "last30Days", "last90Days",
	"thisWeek", "lastWeek", "thisMonth", "lastMonth", "thisQuarter", "lastQuarter", "thisYear", "lastYear"}

// Widget is one tile on the grid.
type Widget struct {
	ID     string     `json:"id"`
	Type   string     `json:"type"`
	Title  string     `json:"title,omitempty"`
	Titles Labels     `json:"titles,omitempty"` // Title per language; Title is the fallback
	Layout GridLayout `json:"layout"`
	Query  Query      `json:"query"`
	// Bar charts: stacked series, horizontal bars.
	Stacked    bool `json:"stacked,omitempty"`
	Horizontal bool `json:"horizontal,omitempty"`
	// KPI: compare with the previous period of the query's period, and a
	// target for the first measure.
	Compare string       `json:"compare,omitempty"` // "" or "previousPeriod"
	Target  *json.Number `json:"target,omitempty"`
	// Pivot: add row, column and grand totals (default true).
	Totals *bool `json:"totals,omitempty"`
}

// Widget types.
const (
	WidgetKPI    = "kpi"
	WidgetLine   = "line"
	WidgetBar    = "bar"
	WidgetPie    = "pie"
	WidgetFunnel = "funnel"
	WidgetTable  = "table"
	WidgetPivot  = "pivot"
)

// WidgetTypes lists the widget types.
var WidgetTypes = []string{WidgetKPI, WidgetLine, WidgetBar, WidgetPie, WidgetFunnel, WidgetTable, WidgetPivot}

// GridLayout places a widget: column x, row y, w columns wide, h rows high.
type GridLayout struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Query is what a widget (or an ad-hoc query) asks of one entity.
type Query struct {
	Entity     string      `json:"entity"`
	Measures   []Measure   `json:"measures"`
	Dimensions []Dimension `json:"dimensions,omitempty"`
	// Filter is in the filter language; it may use @me and the dashboard's
	// ref and user parameters (@store, @rep).
	Filter string `json:"filter,omitempty"`
	// Period limits the rows to a date range on a date or datetime field.
	Period *Period `json:"period,omitempty"`
	// Sort orders the result rows by measure or dimension names,
	// "-name" descending; by default by the dimensions.
	Sort string `json:"sort,omitempty"`
	// Limit keeps the first Limit rows (top N, by Sort); with Other, the
	// rest are summed up into one row labelled "other".
	Limit    int    `json:"limit,omitempty"`
	Other    bool   `json:"other,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
}

// Period is a date range over Field: the dashboard parameter Param, or a
// fixed Preset when no parameter is given.
type Period struct {
	Field  string `json:"field"`
	Param  string `json:"param,omitempty"`
	Preset string `json:"preset,omitempty"`
}

// Measure is one figure: an expression over aggregates, such as
// "sum(amount)", "count()", "sum(amount * probability) / 100" or
// "sum(amount) / count()". See ParseMeasure.
type Measure struct {
	Name   string `json:"name"`
	Label  string `json:"label,omitempty"`
	Labels Labels `json:"labels,omitempty"`
	Expr   string `json:"expr"`
	Unit   string `json:"unit,omitempty"`
}

// Dimension groups the rows: by a field ("stage"), a ref or user shown by its
// label ("store", "owner"), a field of the record a ref points to
// ("store.region"), or a date or datetime bucketed by Bucket.
type Dimension struct {
	Name   string `json:"name,omitempty"` // default: the field with "." replaced by "_"
	Label  string `json:"label,omitempty"`
	Labels Labels `json:"labels,omitempty"`
	Field  string `json:"field"`
	Bucket string `json:"bucket,omitempty"`
}

// Buckets are the date buckets a dimension may use.
var Buckets = []string{"hour", "day", "week", "month", "quarter", "year"}

// Key returns the dimension's output name.
func (d Dimension) Key() string {
	if d.Name != "" {
		return d.Name
	}
	return strings.ReplaceAll(d.Field, ".", "_")
}

// Dashboard returns the dashboard named name, or nil.
func (a *App) Dashboard(name string) *Dashboard {
	for i := range a.Dashboards {
		if a.Dashboards[i].Name == name {
			return &a.Dashboards[i]
		}
	}
	return nil
}

// Widget returns the widget with id, or nil.
func (d *Dashboard) Widget(id string) *Widget {
	for i := range d.Widgets {
		if d.Widgets[i].ID == id {
			return &d.Widgets[i]
		}
	}
	return nil
}

// Param returns the parameter named name, or nil.
func (d *Dashboard) Param(name string) *DashboardParam {
	for i := range d.Params {
		if d.Params[i].Name == name {
			return &d.Params[i]
		}
	}
	return nil
}

var timeZoneRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$`)

// LoadTimeZone resolves an IANA time zone name ("" is UTC). Names are
// checked against a strict pattern first, so they are safe to embed in SQL.
func LoadTimeZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	if len(name) > 64 || !timeZoneRE.MatchString(name) {
		return nil, fmt.Errorf("%q is not a time zone name such as Asia/Shanghai", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// checkDashboards checks the dashboards section: names, parameters, widget
// ids and layout, and each widget's query against the entities. Filters are
// compiled by the engine, which owns the filter language.
func (a *App) checkDashboards(p *Problems) {
	names := map[string]int{}
	for i := range a.Dashboards {
		d := &a.Dashboards[i]
		path := ptr("dashboards", i)
		if msg := nameProblem("dashboard", d.Name); msg != "" {
			p.AddCode(path+"/name", "invalid_name", map[string]any{"name": d.Name}, "%s", msg)
		} else if j, dup := names[d.Name]; dup {
			p.Add(path+"/name", "duplicate dashboard name %q (also at %s)", d.Name, ptr("dashboards", j))
		} else {
			names[d.Name] = i
		}
		if _, err := LoadTimeZone(d.TimeZone); err != nil {
			p.AddCode(path+"/timeZone", "format", nil, "%v", err)
		}
		cols := d.Columns
		if cols == 0 {
			cols = 12
		}
		params := map[string]int{}
		for j, pr := range d.Params {
			pp := path + ptr("params", j)
			if msg := nameProblem("parameter", pr.Name); msg != "" {
				p.AddCode(pp+"/name", "invalid_name", map[string]any{"name": pr.Name}, "%s", msg)
			} else if pr.Name == "me" {
				p.Add(pp+"/name", "me is the viewer (@me) and cannot be a parameter")
			} else if k, dup := params[pr.Name]; dup {
				p.Add(pp+"/name", "duplicate parameter %q (also at %s)", pr.Name, path+ptr("params", k))
			} else {
				params[pr.Name] = j
			}
			switch pr.Type {
			case ParamDateRange:
				if pr.Entity != "" {
					p.Add(pp+"/entity", "only a ref parameter names an entity")
				}
				if pr.Default != "" {
					if _, _, err := ParseDateRange(pr.Default); err != nil {
						p.AddCode(pp+"/default", "format", nil, "%v", err)
					}
				}
			case ParamRef:
				if a.Entity(pr.Entity) == nil {
					p.Add(pp+"/entity", "no entity %q in this app%s", pr.Entity, didYouMean(pr.Entity, entityNames(a)))
				}
			case ParamUser:
				if pr.Entity != "" {
					p.Add(pp+"/entity", "only a ref parameter names an entity")
				}
			default:
				p.Add(pp+"/type", "unknown parameter type %q (want daterange, ref or user)", pr.Type)
			}
		}
		ids := map[string]int{}
		for j := range d.Widgets {
			w := &d.Widgets[j]
			wp := path + ptr("widgets", j)
			if !ValidID(w.ID) {
				p.AddCode(wp+"/id", "id_format", nil, "%s", idRule)
			} else if k, dup := ids[w.ID]; dup {
				p.Add(wp+"/id", "duplicate widget id %q (also at %s)", w.ID, path+ptr("widgets", k))
			} else {
				ids[w.ID] = j
			}
			if !slices.Contains(WidgetTypes, w.Type) {
				p.Add(wp+"/type", "unknown widget type %q (want %s)", w.Type, strings.Join(WidgetTypes, ", "))
			}
			if l := w.Layout; l.X < 0 || l.Y < 0 || l.W < 1 || l.H < 1 || l.X+l.W > cols {
				p.Add(wp+"/layout", "a widget takes at least 1×1 cells inside the %d-column grid (x %d + w %d)", cols, l.X, l.W)
			}
			a.checkQuery(p, wp+"/query", &w.Query, d)
			a.checkWidgetShape(p, wp, w)
		}
	}
}

// checkWidgetShape checks what each widget type needs of its query.
func (a *App) checkWidgetShape(p *Problems, wp string, w *Widget) {
	q := &w.Query
	if w.Compare != "" {
		if w.Compare != "previousPeriod" {
			p.Add(wp+"/compare", "unknown comparison %q (want previousPeriod)", w.Compare)
		} else if q.Period == nil {
			p.Add(wp+"/compare", "comparing with the previous period needs a period in the query")
		}
	}
	if (w.Compare != "" || w.Target != nil) && w.Type != WidgetKPI {
		p.Add(wp, "compare and target belong to kpi widgets")
	}
	if w.Target != nil {
		if _, ok := parseNumber(string(*w.Target)); !ok {
			p.Add(wp+"/target", "target must be a number")
		}
	}
	if w.Totals != nil && w.Type != WidgetPivot {
		p.Add(wp+"/totals", "totals belong to pivot widgets")
	}
	if (w.Stacked || w.Horizontal) && w.Type != WidgetBar {
		p.Add(wp, "stacked and horizontal belong to bar widgets")
	}
	// Count distinct does not add up across groups, so "other" and pivot
	// totals (summed from the groups) cannot carry it.
	if q.Other || (w.Type == WidgetPivot && (w.Totals == nil || *w.Totals)) {
		for i, m := range q.Measures {
			if x, err := ParseMeasure(m.Expr); err == nil {
				for _, a := range x.Aggs() {
					if a.Agg == "count_distinct" {
						p.Add(wp+ptr("query", "measures", i, "expr"), "count_distinct does not add up into \"other\" or pivot totals; drop other or set \"totals\": false")
						break
					}
				}
			}
		}
	}
	nd := len(q.Dimensions)
	switch w.Type {
	case WidgetKPI:
		if nd != 0 {
			p.Add(wp+"/query/dimensions", "a kpi shows one figure: it takes no dimensions")
		}
	case WidgetPie, WidgetFunnel:
		if nd != 1 {
			p.Add(wp+"/query/dimensions", "a %s widget takes exactly one dimension", w.Type)
		}
	case WidgetLine, WidgetBar:
		if nd < 1 || nd > 2 {
			p.Add(wp+"/query/dimensions", "a %s widget takes one dimension (and optionally a second one for series)", w.Type)
		}
	case WidgetPivot:
		if nd != 2 {
			p.Add(wp+"/query/dimensions", "a pivot takes two dimensions: rows and columns")
		}
		if q.Other || q.Limit > 0 {
			p.Add(wp+"/query/limit", "a pivot shows every row and column; limit and other do not apply")
		}
	}
}

// checkQuery checks a query against the app: entity, measures, dimensions,
// period, sort. d is the dashboard for parameters (nil for an ad-hoc query).
// Exported through CheckQuery for the ad-hoc endpoint.
func (a *App) checkQuery(p *Problems, qp string, q *Query, d *Dashboard) {
	e := a.Entity(q.Entity)
	if e == nil {
		p.Add(qp+"/entity", "no entity %q in this app%s", q.Entity, didYouMean(q.Entity, entityNames(a)))
		return
	}
	if len(q.Measures) == 0 {
		p.Add(qp+"/measures", "a query needs at least one measure, e.g. {\"name\": \"orders\", \"expr\": \"count()\"}")
	}
	if len(q.Measures) > 20 {
		p.Add(qp+"/measures", "at most 20 measures")
	}
	if len(q.Dimensions) > 3 {
		p.Add(qp+"/dimensions", "at most 3 dimensions")
	}
	if _, err := LoadTimeZone(q.TimeZone); err != nil {
		p.AddCode(qp+"/timeZone", "format", nil, "%v", err)
	}
	outNames := map[string]string{}
	claim := func(name, path string) {
		if prev, dup := outNames[name]; dup {
			p.Add(path, "name %q is already used at %s", name, prev)
		}
		outNames[name] = path
	}
	for i, m := range q.Measures {
		mp := qp + ptr("measures", i)
		if msg := nameProblem("measure", m.Name); msg != "" {
			p.AddCode(mp+"/name", "invalid_name", nil, "%s", msg)
		} else {
			claim(m.Name, mp+"/name")
		}
		x, err := ParseMeasure(m.Expr)
		if err != nil {
			p.AddCode(mp+"/expr", "expression", nil, "%v", err)
			continue
		}
		x.Walk(func(n *MeasureExpr) {
			if n.Kind != MeasureField {
				return
			}
			t, ok := a.fieldTypeOf(e, n.Field)
			if !ok {
				p.Add(mp+"/expr", "no field %q in entity %s%s", n.Field, e.Name, didYouMean(n.Field, fieldNamesOf(e)))
				return
			}
			if msg := n.FieldProblem(t); msg != "" {
				p.AddCode(mp+"/expr", "expression", map[string]any{"field": n.Field}, "%s", msg)
			}
		})
	}
	for i, dm := range q.Dimensions {
		dp := qp + ptr("dimensions", i)
		if dm.Name != "" {
			if msg := nameProblem("dimension", dm.Name); msg != "" {
				p.AddCode(dp+"/name", "invalid_name", nil, "%s", msg)
			}
		}
		claim(dm.Key(), dp+"/name")
		t, ok := a.fieldTypeOf(e, dm.Field)
		if !ok {
			p.AddCode(dp+"/field", "unknown_field", map[string]any{"field": dm.Field, "entity": e.Name}, "%s", a.fieldProblem(e, dm.Field))
			continue
		}
		switch {
		case dm.Bucket != "":
			if !slices.Contains(Buckets, dm.Bucket) {
				p.Add(dp+"/bucket", "unknown bucket %q (want %s)", dm.Bucket, strings.Join(Buckets, ", "))
			} else if t != Date && t != DateTime {
				p.Add(dp+"/bucket", "only a date or datetime field can be bucketed; %s is a %s field", dm.Field, t)
			} else if t == Date && dm.Bucket == "hour" {
				p.Add(dp+"/bucket", "%s is a date field; bucket it by day or longer", dm.Field)
			}
		case t == MultiSelect || t == JSON || t == LongText:
			p.Add(dp+"/field", "cannot group by %s: a %s field has no single value per record", dm.Field, t)
		case t == DateTime:
			p.Add(dp+"/bucket", "group a datetime field by a bucket (hour, day, week, month, quarter or year)")
		}
	}
	if q.Period != nil {
		pp := qp + "/period"
		t, ok := a.fieldTypeOf(e, q.Period.Field)
		switch {
		case !ok || strings.Contains(q.Period.Field, "."):
			p.Add(pp+"/field", "no field %q in entity %s%s", q.Period.Field, e.Name, didYouMean(q.Period.Field, fieldNamesOf(e)))
		case t != Date && t != DateTime:
			p.Add(pp+"/field", "a period needs a date or datetime field; %s is a %s field", q.Period.Field, t)
		}
		switch {
		case q.Period.Param != "" && q.Period.Preset != "":
			p.Add(pp, "give either param or preset, not both")
		case q.Period.Param != "":
			if d == nil || d.Param(q.Period.Param) == nil {
				p.Add(pp+"/param", "no parameter %q in this dashboard", q.Period.Param)
			} else if d.Param(q.Period.Param).Type != ParamDateRange {
				p.Add(pp+"/param", "parameter %q is not a daterange", q.Period.Param)
			}
		case q.Period.Preset != "":
			if _, _, err := ParseDateRange(q.Period.Preset); err != nil {
				p.AddCode(pp+"/preset", "unknown_value", nil, "%v", err)
			}
		default:
			p.Add(pp, "a period needs a param or a preset")
		}
	}
	if q.Sort != "" {
		keys := strings.Split(q.Sort, ",")
		if len(keys) > 5 {
			p.Add(qp+"/sort", "sort by at most 5 keys")
		}
		for _, k := range keys {
			name := strings.TrimPrefix(strings.TrimSpace(k), "-")
			if _, ok := outNames[name]; !ok {
				p.Add(qp+"/sort", "cannot sort by %q: sort by a measure or dimension name", name)
			}
		}
	}
	if q.Limit < 0 || q.Limit > 10000 {
		p.Add(qp+"/limit", "limit must be between 1 and 10000")
	}
	if q.Other && d == nil {
		for i, m := range q.Measures {
			if x, err := ParseMeasure(m.Expr); err == nil {
				for _, a := range x.Aggs() {
					if a.Agg == "count_distinct" {
						p.Add(qp+ptr("measures", i, "expr"), "count_distinct does not add up into \"other\"")
						break
					}
				}
			}
		}
	}
	if q.Other && (q.Limit == 0 || len(q.Dimensions) != 1) {
		p.Add(qp+"/other", "other sums up the rows after the top N: it needs a limit and exactly one dimension")
	}
	for _, v := range FilterVariables(q.Filter) {
		if v == "me" {
			continue
		}
		if d == nil || d.Param(v) == nil {
			p.Add(qp+"/filter", "no parameter %q in this dashboard (a filter may use @me and the dashboard's ref and user parameters)", v)
		} else if d.Param(v).Type == ParamDateRange {
			p.Add(qp+"/filter", "@%s is a date range: use it as the query's period, not in the filter", v)
		}
	}
}

// CheckQuery checks an ad-hoc query (no dashboard, so no parameters) and
// returns every problem with pointers relative to the query.
func (a *App) CheckQuery(q *Query) Problems {
	var p Problems
	a.checkQuery(&p, "", q, nil)
	sortProblems(p)
	return p
}

// fieldTypeOf resolves "field" or "ref.field" (a field of the record a ref
// points to) of e to its stored type; system columns included.
func (a *App) fieldTypeOf(e *Entity, name string) (FieldType, bool) {
	head, tail, joined := strings.Cut(name, ".")
	f := e.Field(head)
	if !joined {
		if f != nil {
			return f.StorageType(), true
		}
		return SystemColumnType(name)
	}
	if f == nil || f.Type != Ref || strings.Contains(tail, ".") {
		return "", false
	}
	target := a.Entity(f.Entity)
	if target == nil {
		return "", false
	}
	if tf := target.Field(tail); tf != nil {
		return tf.StorageType(), true
	}
	return SystemColumnType(tail)
}

// fieldProblem explains why name does not resolve on e.
func (a *App) fieldProblem(e *Entity, name string) string {
	head, tail, joined := strings.Cut(name, ".")
	f := e.Field(head)
	switch {
	case !joined:
		return fmt.Sprintf("no field %q in entity %s%s", name, e.Name, didYouMean(name, fieldNamesOf(e)))
	case f == nil:
		return fmt.Sprintf("no field %q in entity %s%s", head, e.Name, didYouMean(head, fieldNamesOf(e)))
	case f.Type != Ref:
		return fmt.Sprintf("%s is a %s field; only a ref field leads to another entity's fields", head, f.Type)
	}
	target := a.Entity(f.Entity)
	if target == nil {
		return fmt.Sprintf("no entity %q in this app", f.Entity)
	}
	return fmt.Sprintf("no field %q in entity %s%s", tail, target.Name, didYouMean(tail, fieldNamesOf(target)))
}

var filterVarRE = regexp.MustCompile(`@([a-z][a-z0-9_]*)`)

// FilterVariables lists the @variables a filter source names, outside
// string literals. The engine resolves them; this is for the checks.
func FilterVariables(src string) []string {
	var out []string
	inStr := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && c == '@':
			if m := filterVarRE.FindStringSubmatch(src[i:]); m != nil && !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	return out
}

// ParseDateRange checks a date range value: a preset name, or
// "YYYY-MM-DD..YYYY-MM-DD" (both days included). It returns the preset, or
// the first and last day.
func ParseDateRange(v string) (preset string, days [2]time.Time, err error) {
	if slices.Contains(DatePresets, v) {
		return v, days, nil
	}
	from, to, ok := strings.Cut(v, "..")
	if ok {
		a, err1 := time.Parse(time.DateOnly, from)
		b, err2 := time.Parse(time.DateOnly, to)
		if err1 == nil && err2 == nil && !b.Before(a) && b.Sub(a) < 100*366*24*time.Hour {
			return "", [2]time.Time{a, b}, nil
		}
	}
	return "", days, fmt.Errorf("%q is not a date range: use a preset (%s) or 2026-01-01..2026-01-31", v, strings.Join(DatePresets, ", "))
}
