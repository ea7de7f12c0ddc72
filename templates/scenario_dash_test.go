package templates_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/schema"
)

// figures flattens a dashboard answer into "widget/key…/measure" → value
// (a KPI's first row is also "widget" alone for its first measure), naming
// the measures from the app document's widget.
func (s *scen) figures(dash string, answer map[string]any) map[string]decimal.Decimal {
	s.t.Helper()
	out := map[string]decimal.Decimal{}
	var def map[string][]string // widget → measure names
	for _, d := range s.app.Dashboards {
		if d.Name != dash {
			continue
		}
		def = map[string][]string{}
		for _, w := range d.Widgets {
			for _, m := range w.Query.Measures {
				def[w.ID] = append(def[w.ID], m.Name)
			}
		}
	}
	if def == nil {
		s.t.Fatalf("no dashboard %s", dash)
	}
	ws, _ := answer["widgets"].([]any)
	for _, w := range ws {
		m := w.(map[string]any)
		id := str(m["id"])
		if m["error"] != nil {
			s.t.Fatalf("%s/%s: %v", dash, id, m["error"])
		}
		rows, _ := m["rows"].([]any)
		for i, r := range rows {
			row := r.(map[string]any)
			var ks []string
			keys, _ := row["keys"].([]any)
			for _, k := range keys {
				ks = append(ks, str(k))
			}
			vals, _ := row["values"].([]any)
			for j, v := range vals {
				if j >= len(def[id]) {
					break
				}
				name := strings.Join(append(append([]string{id}, ks...), def[id][j]), "/")
				out[name] = dec(s.t, v)
				if len(ks) == 0 && i == 0 && j == 0 {
					out[id] = dec(s.t, v)
				}
			}
		}
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rec is a record as the records API gives it (numbers as json.Number).
type rec = map[string]any

// want is a widget's figure computed here, in Go over the records, from
// the widget's meaning — not from its query text.
type want struct {
	entity string
	keep   func(r rec) bool
	dims   []func(r rec) string
	ms     []func(rs []rec) decimal.Decimal
}

func fld(name string) func(r rec) string { return func(r rec) string { return str(r[name]) } }

func num(r rec, name string) decimal.Decimal {
	if r[name] == nil {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(str(r[name]))
	if err != nil {
		panic(fmt.Sprintf("%s = %v is not a number", name, r[name]))
	}
	return d
}

func count() func([]rec) decimal.Decimal {
	return func(rs []rec) decimal.Decimal { return decimal.NewFromInt(int64(len(rs))) }
}

func sum(name string) func([]rec) decimal.Decimal {
	return func(rs []rec) decimal.Decimal {
		t := decimal.Zero
		for _, r := range rs {
			t = t.Add(num(r, name))
		}
		return t
	}
}

// avg is the mean of the records where the field is set.
func avg(name string) func([]rec) decimal.Decimal {
	return func(rs []rec) decimal.Decimal {
		t, n := decimal.Zero, 0
		for _, r := range rs {
			if r[name] != nil {
				t, n = t.Add(num(r, name)), n+1
			}
		}
		if n == 0 {
			return decimal.Zero
		}
		return t.Div(decimal.NewFromInt(int64(n)))
	}
}

func most(name string) func([]rec) decimal.Decimal {
	return func(rs []rec) decimal.Decimal {
		m := decimal.Zero
		for i, r := range rs {
			if v := num(r, name); i == 0 || v.GreaterThan(m) {
				m = v
			}
		}
		return m
	}
}

func ratio(a, b func([]rec) decimal.Decimal) func([]rec) decimal.Decimal {
	return func(rs []rec) decimal.Decimal {
		d := b(rs)
		if d.IsZero() {
			return decimal.Zero
		}
		return a(rs).Div(d)
	}
}

// day is a date or datetime field's calendar day in loc ("" when unset).
func day(r rec, name string, loc *time.Location) string {
	v := str(r[name])
	if v == "" {
		return ""
	}
	if len(v) == 10 {
		return v
	}
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		panic(fmt.Sprintf("%s = %q is not a time", name, v))
	}
	return at.In(loc).Format(time.DateOnly)
}

// bucket names a date field's month, ISO week (its Monday) or day in loc.
func bucket(name, size string, loc *time.Location) func(r rec) string {
	return func(r rec) string {
		d := day(r, name, loc)
		if d == "" {
			return ""
		}
		t, _ := time.Parse(time.DateOnly, d)
		switch size {
		case "month":
			return t.Format("2006-01")
		case "week":
			return t.AddDate(0, 0, -((int(t.Weekday()) + 6) % 7)).Format(time.DateOnly)
		}
		return d
	}
}

// within says whether the field's day lies in [from, to] (inclusive days).
func within(r rec, name string, loc *time.Location, from, to string) bool {
	d := day(r, name, loc)
	return d != "" && d >= from && d <= to
}

// lastDays is the first and last day of "the last n days" on the engine's
// clock in loc: today and the n-1 days before.
func (s *scen) lastDays(n int, loc *time.Location) (string, string) {
	today := s.clk.Now().In(loc)
	return today.AddDate(0, 0, 1-n).Format(time.DateOnly), today.Format(time.DateOnly)
}

// checkDash compares every widget of dashboard dash, as each viewer sees
// it, with wants computed over the records in the viewer's slice (slice
// gives, per entity, whether a record is the viewer's to see). Every
// widget of the dashboard must have a want.
func (s *scen) checkDash(dash, query string, wants map[string]want, viewers []string, slice func(viewer, entity string, r rec) bool) {
	s.t.Helper()
	var widgets []string
	defs := map[string]schema.Widget{}
	for _, d := range s.app.Dashboards {
		if d.Name == dash {
			for _, w := range d.Widgets {
				widgets = append(widgets, w.ID)
				defs[w.ID] = w
				if _, ok := wants[w.ID]; !ok {
					s.t.Errorf("%s/%s: no independent figure", dash, w.ID)
				}
			}
		}
	}
	recs := map[string][]rec{}
	for _, w := range wants {
		if recs[w.entity] == nil {
			recs[w.entity] = s.list("admin", w.entity, "")
		}
	}
	compared := map[string]int{}
	defer func() { s.t.Logf("%s: figures compared per viewer: %v", dash, compared) }()
	for _, viewer := range viewers {
		answer := s.must(200, viewer, "GET", "/api/dash/"+s.app.Name+"/"+dash+query, nil)
		got := map[string]map[string][]decimal.Decimal{}
		for _, w := range answer["widgets"].([]any) {
			m := w.(map[string]any)
			if m["error"] != nil {
				s.t.Errorf("%s as %s: %s: %v", dash, viewer, m["id"], m["error"])
				continue
			}
			rows := map[string][]decimal.Decimal{}
			list, _ := m["rows"].([]any)
			for _, r := range list {
				row := r.(map[string]any)
				var ks []string
				for _, k := range row["keys"].([]any) {
					ks = append(ks, str(k))
				}
				var vs []decimal.Decimal
				for _, v := range row["values"].([]any) {
					vs = append(vs, dec(s.t, v))
				}
				if row["other"] == true {
					rows[otherKey] = vs
					continue
				}
				rows[strings.Join(ks, "|")] = vs
			}
			got[str(m["id"])] = rows
		}
		for _, id := range widgets {
			w := wants[id]
			groups := map[string][]rec{}
			if len(w.dims) == 0 {
				groups[""] = nil
			}
			for _, r := range recs[w.entity] {
				if !slice(viewer, w.entity, r) || (w.keep != nil && !w.keep(r)) {
					continue
				}
				var ks []string
				for _, d := range w.dims {
					ks = append(ks, d(r))
				}
				k := strings.Join(ks, "|")
				groups[k] = append(groups[k], r)
			}
			exp := map[string][]decimal.Decimal{}
			for k, rs := range groups {
				for _, m := range w.ms {
					exp[k] = append(exp[k], m(rs))
				}
			}
			act := got[id]
			compared[viewer] += s.compareRows(dash+"/"+id+" as "+viewer, defs[id], exp, act)
		}
	}
}

// otherKey names the "other" row of a top-N widget in the rows compared.
const otherKey = "\x00other"

// compareRows compares a widget's rows with the expected groups and
// returns how many figures it compared. A widget with a limit shows the
// top groups by its sort measure, ties at the cut either way, and (with
// "other") one row summing the rest; that is worked out here over the
// expected groups.
func (s *scen) compareRows(what string, w schema.Widget, exp, act map[string][]decimal.Decimal) int {
	s.t.Helper()
	n := 0
	same := func(k string, a, e []decimal.Decimal) {
		n += len(e)
		for i, v := range e {
			if i >= len(a) || !a[i].Round(2).Equal(v.Round(2)) {
				s.t.Errorf("%s: row %q = %v, want %v", what, k, a, e)
				return
			}
		}
	}
	q := w.Query
	if q.Limit > 0 && len(exp) > q.Limit {
		col, desc := -1, strings.HasPrefix(q.Sort, "-")
		for i, m := range q.Measures {
			if m.Name == strings.TrimPrefix(q.Sort, "-") {
				col = i
			}
		}
		if col < 0 {
			s.t.Fatalf("%s: limit %d, sorted by %q: not a measure", what, q.Limit, q.Sort)
		}
		keys := make([]string, 0, len(exp))
		for k := range exp {
			keys = append(keys, k)
		}
		better := func(a, b decimal.Decimal) bool { return desc && a.GreaterThan(b) || !desc && a.LessThan(b) }
		sort.Slice(keys, func(i, j int) bool { return better(exp[keys[i]][col], exp[keys[j]][col]) })
		cut := exp[keys[q.Limit-1]][col]
		shown := 0
		rest := make([]decimal.Decimal, len(q.Measures))
		for _, k := range keys {
			if _, ok := act[k]; ok {
				shown++
				same(k, act[k], exp[k])
				if better(cut, exp[k][col]) {
					s.t.Errorf("%s: row %q (%s) shown past the top %d (cut at %s)", what, k, exp[k][col], q.Limit, cut)
				}
				continue
			}
			if better(exp[k][col], cut) {
				s.t.Errorf("%s: row %q (%s) missing from the top %d (cut at %s)", what, k, exp[k][col], q.Limit, cut)
			}
			for i := range rest {
				rest[i] = rest[i].Add(exp[k][i])
			}
		}
		if shown != q.Limit {
			s.t.Errorf("%s: %d rows of the expected shown, want the top %d", what, shown, q.Limit)
		}
		if q.Other {
			other, ok := act[otherKey]
			if !ok {
				s.t.Errorf("%s: no \"other\" row", what)
			}
			for i, m := range q.Measures {
				// Sums and counts add up; the rest is recomputed (not checked).
				if (strings.HasPrefix(m.Expr, "sum(") || strings.HasPrefix(m.Expr, "count(")) && !strings.Contains(m.Expr, "/") {
					n++
					if i >= len(other) || !other[i].Round(2).Equal(rest[i].Round(2)) {
						s.t.Errorf("%s: \"other\" %s = %v, want %s", what, m.Name, other, rest[i])
					}
				}
			}
		}
		return n
	}
	for k, vs := range act {
		if _, ok := exp[k]; ok {
			continue
		}
		zero := true
		for _, v := range vs {
			zero = zero && v.IsZero()
		}
		if !zero { // an empty bucket filled in as 0 is not a difference
			s.t.Errorf("%s: row %q = %v, want no such row", what, k, vs)
		}
	}
	for k, vs := range exp {
		a, ok := act[k]
		if !ok {
			a = make([]decimal.Decimal, len(vs))
		}
		same(k, a, vs)
	}
	return n
}

var three = decimal.NewFromInt(3)

func ms(f ...func([]rec) decimal.Decimal) []func([]rec) decimal.Decimal { return f }
func dims(f ...func(rec) string) []func(rec) string                     { return f }

// checkTree checks the directory reads as newScen built it: the team
// slices the tests compute follow the nested teams.
func (s *scen) checkTree() {
	s.t.Helper()
	s.directory()
	for who, names := range map[string][]string{
		"rep1": {"rep1"}, "rep2": {"mgr", "rep1", "rep2"}, "rep3": {"mgr2", "rep3"},
		"mgr": {"mgr", "rep1", "rep2"}, "mgr2": {"mgr2", "rep3"},
		"boss": {"boss", "mgr", "mgr2", "rep1", "rep2", "rep3"},
	} {
		got := s.teamOf(who)
		if len(got) != len(names) {
			s.t.Errorf("team of %s: %v, want %v", who, got, names)
		}
		for _, n := range names {
			if !got[s.ids[n]] {
				s.t.Errorf("team of %s lacks %s", who, n)
			}
		}
	}
}

// checkAll runs checkDash over every dashboard of the app (with query's
// parameters where it takes any), failing for one that wants has no
// figures for.
func (s *scen) checkAll(wants map[string]map[string]want, query string, viewers []string, slice func(viewer, entity string, r rec) bool) {
	s.t.Helper()
	for _, d := range s.app.Dashboards {
		if wants[d.Name] == nil {
			s.t.Errorf("dashboard %s: no independent figures", d.Name)
			continue
		}
		q := query
		if len(d.Params) == 0 {
			q = "" // a dashboard without parameters refuses any
		}
		s.checkDash(d.Name, q, wants[d.Name], viewers, slice)
	}
}
