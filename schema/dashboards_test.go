package schema

import (
	"strings"
	"testing"
)

const dashDoc = `{"name": "shop", "entities": [
  {"name": "store", "fields": [
    {"id": "s1", "name": "name", "type": "text"},
    {"id": "s2", "name": "region", "type": "select", "options": ["north", "south"]}]},
  {"name": "sale", "fields": [
    {"id": "o1", "name": "title", "type": "text"},
    {"id": "o2", "name": "amount", "type": "decimal"},
    {"id": "o3", "name": "probability", "type": "integer"},
    {"id": "o4", "name": "at", "type": "datetime"},
    {"id": "o5", "name": "day", "type": "date"},
    {"id": "o6", "name": "store", "type": "ref", "entity": "store"},
    {"id": "o7", "name": "rep", "type": "user"},
    {"id": "o8", "name": "tags", "type": "multiselect", "options": ["a"]}]}],
 "dashboards": [{"name": "sales", "label": "Sales", "timeZone": "Asia/Shanghai",
   "params": [{"name": "period", "type": "daterange", "default": "thisMonth"},
              {"name": "store", "type": "ref", "entity": "store"},
              {"name": "rep", "type": "user"}],
   "widgets": [
    {"id": "takings", "type": "kpi", "layout": {"x": 0, "y": 0, "w": 3, "h": 2}, "compare": "previousPeriod", "target": 1000,
     "query": {"entity": "sale", "measures": [{"name": "total", "expr": "sum(amount)", "unit": "CNY"}],
               "filter": "store = @store && rep = @rep", "period": {"field": "at", "param": "period"}}},
    {"id": "trend", "type": "line", "layout": {"x": 3, "y": 0, "w": 9, "h": 4},
     "query": {"entity": "sale", "measures": [{"name": "weighted", "expr": "sum(amount * probability) / 100"}, {"name": "avg", "expr": "sum(amount) / count()"}],
               "dimensions": [{"field": "at", "bucket": "day"}], "period": {"field": "at", "preset": "last90Days"}}},
    {"id": "regions", "type": "pivot", "layout": {"x": 0, "y": 4, "w": 12, "h": 4},
     "query": {"entity": "sale", "measures": [{"name": "n", "expr": "count()"}],
               "dimensions": [{"field": "day", "bucket": "month"}, {"field": "store.region"}]}},
    {"id": "top", "type": "bar", "layout": {"x": 0, "y": 8, "w": 6, "h": 4}, "horizontal": true,
     "query": {"entity": "sale", "measures": [{"name": "total", "expr": "sum(amount)"}],
               "dimensions": [{"field": "store"}], "sort": "-total", "limit": 10, "other": true}}]}]}`

func TestDashboardsParse(t *testing.T) {
	app, problems := Parse([]byte(dashDoc))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	d := app.Dashboard("sales")
	if d == nil || len(d.Widgets) != 4 || d.Widget("trend").Query.Dimensions[0].Key() != "at" || d.Param("store").Entity != "store" {
		t.Fatalf("dashboard = %+v", d)
	}
	if d.Widgets[3].Query.Dimensions[0].Key() != "store" || app.Dashboard("nope") != nil {
		t.Fatal("lookups")
	}
}

func TestDashboardsProblems(t *testing.T) {
	for _, c := range []struct{ from, to, path string }{
		// A widget referencing a missing entity.
		{`"query": {"entity": "sale", "measures": [{"name": "n"`, `"query": {"entity": "order", "measures": [{"name": "n"`, "/dashboards/0/widgets/2/query/entity"},
		// A measure on a text field.
		{`"expr": "sum(amount)", "unit"`, `"expr": "sum(title)", "unit"`, "/dashboards/0/widgets/0/query/measures/0/expr"},
		{`sum(amount * probability)`, `sum(amount * title)`, "/dashboards/0/widgets/1/query/measures/0/expr"},
		{`sum(amount * probability)`, `sum(amount * nope)`, "/dashboards/0/widgets/1/query/measures/0/expr"},
		{`sum(amount * probability)`, `sum(count())`, "/dashboards/0/widgets/1/query/measures/0/expr"},
		{`sum(amount * probability)`, `amount`, "/dashboards/0/widgets/1/query/measures/0/expr"},
		{`sum(amount * probability)`, `sum(amount); drop table x`, "/dashboards/0/widgets/1/query/measures/0/expr"},
		// A bucket on a non-date.
		{`{"field": "at", "bucket": "day"}`, `{"field": "amount", "bucket": "day"}`, "/dashboards/0/widgets/1/query/dimensions/0/bucket"},
		{`{"field": "day", "bucket": "month"}`, `{"field": "day", "bucket": "hour"}`, "/dashboards/0/widgets/2/query/dimensions/0/bucket"},
		{`{"field": "at", "bucket": "day"}`, `{"field": "tags"}`, "/dashboards/0/widgets/1/query/dimensions/0/field"},
		// An unknown parameter, in a filter and as a period.
		{`"store = @store && rep = @rep"`, `"store = @shop"`, "/dashboards/0/widgets/0/query/filter"},
		{`"period": {"field": "at", "param": "period"}`, `"period": {"field": "at", "param": "month"}`, "/dashboards/0/widgets/0/query/period/param"},
		{`"period": {"field": "at", "param": "period"}`, `"period": {"field": "title", "param": "period"}`, "/dashboards/0/widgets/0/query/period/field"},
		{`"preset": "last90Days"`, `"preset": "lastDecade"`, "/dashboards/0/widgets/1/query/period/preset"},
		// Unknown fields, a join through a non-ref, sort keys, limits.
		{`{"field": "store.region"}`, `{"field": "store.area"}`, "/dashboards/0/widgets/2/query/dimensions/1/field"},
		{`{"field": "store.region"}`, `{"field": "title.region"}`, "/dashboards/0/widgets/2/query/dimensions/1/field"},
		{`"sort": "-total"`, `"sort": "-amount"`, "/dashboards/0/widgets/3/query/sort"},
		{`"limit": 10, "other": true`, `"other": true`, "/dashboards/0/widgets/3/query/other"},
		// Dashboard-level problems.
		{`"timeZone": "Asia/Shanghai"`, `"timeZone": "Mars/Olympus"`, "/dashboards/0/timeZone"},
		{`{"name": "store", "type": "ref", "entity": "store"}`, `{"name": "store", "type": "ref", "entity": "shop"}`, "/dashboards/0/params/1/entity"},
		{`"default": "thisMonth"`, `"default": "2026-02-01..2026-01-01"`, "/dashboards/0/params/0/default"},
		{`{"id": "trend"`, `{"id": "takings"`, "/dashboards/0/widgets/1/id"},
		{`"layout": {"x": 3, "y": 0, "w": 9, "h": 4}`, `"layout": {"x": 4, "y": 0, "w": 9, "h": 4}`, "/dashboards/0/widgets/1/layout"},
		{`"type": "kpi"`, `"type": "gauge"`, "/dashboards/0/widgets/0/type"},
		{`"type": "line"`, `"type": "kpi"`, "/dashboards/0/widgets/1/query/dimensions"},
	} {
		if !strings.Contains(dashDoc, c.from) {
			t.Fatalf("test setup: %q not in the document", c.from)
		}
		doc := strings.Replace(dashDoc, c.from, c.to, 1)
		_, problems := Parse([]byte(doc))
		expectCodes(t, problems)
		found := false
		for _, p := range problems {
			found = found || p.Path == c.path
		}
		if !found {
			t.Errorf("%s → %s: want a problem at %s, got %v", c.from, c.to, c.path, problems)
		}
	}
}

func TestParseMeasure(t *testing.T) {
	for src, want := range map[string]string{
		"count()":                         "count()",
		"sum(amount * probability) / 100": "(sum((amount * probability)) / 100)",
		"sum(amount) / count()":           "(sum(amount) / count())",
		"-min(a) + 2 * max(b)":            "(-min(a) + (2 * max(b)))",
		"count_distinct(customer)":        "count_distinct(customer)",
		"(sum(a) - sum(b)) / sum(a)":      "((sum(a) - sum(b)) / sum(a))",
	} {
		m, err := ParseMeasure(src)
		if err != nil || m.String() != want {
			t.Errorf("%s: %v %v, want %s", src, m, err, want)
		}
	}
	for _, src := range []string{"", "amount", "sum(", "sum(a))", "sum(sum(a))", "median(a)", "count(a + b)",
		"sum(1)", "sum(a) /", "sum(\"a\")", "sum(a) -- x", "avg()", "sum(A)", strings.Repeat("(", 40) + "count()" + strings.Repeat(")", 40)} {
		if _, err := ParseMeasure(src); err == nil {
			t.Errorf("%q: want an error", src)
		}
	}
}

// TestDashboardLabels: a dashboard, its parameters, widgets, measures and
// dimensions carry their words per language next to the fallback label or
// title; the maps survive a marshal and parse, and a bad language tag or a
// value that is not a string is refused at its own pointer.
func TestDashboardLabels(t *testing.T) {
	doc := strings.NewReplacer(
		`"label": "Sales",`, `"label": "销售", "labels": {"zh-CN": "销售", "en": "Sales"},`,
		`{"name": "period", "type": "daterange"`, `{"name": "period", "label": "期间", "labels": {"en": "Period"}, "type": "daterange"`,
		`{"id": "takings", "type": "kpi",`, `{"id": "takings", "type": "kpi", "title": "营收", "titles": {"zh-CN": "营收", "en": "Takings"},`,
		`{"name": "total", "expr": "sum(amount)", "unit": "CNY"}`, `{"name": "total", "label": "营收", "labels": {"en": "Takings"}, "expr": "sum(amount)", "unit": "CNY"}`,
		`{"field": "at", "bucket": "day"}`, `{"field": "at", "bucket": "day", "label": "日期", "labels": {"en": "Day"}}`,
	).Replace(dashDoc)
	app, problems := Parse([]byte(doc))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	check := func(app *App) {
		t.Helper()
		d := app.Dashboard("sales")
		w := d.Widget("takings")
		switch {
		case d.Label != "销售" || d.Labels["en"] != "Sales" || d.Labels["zh-CN"] != "销售":
			t.Errorf("dashboard %q %v", d.Label, d.Labels)
		case d.Param("period").Labels["en"] != "Period":
			t.Errorf("param %+v", d.Param("period"))
		case w.Title != "营收" || w.Titles["en"] != "Takings":
			t.Errorf("widget %q %v", w.Title, w.Titles)
		case w.Query.Measures[0].Labels["en"] != "Takings":
			t.Errorf("measure %+v", w.Query.Measures[0])
		case d.Widget("trend").Query.Dimensions[0].Labels["en"] != "Day":
			t.Errorf("dimension %+v", d.Widget("trend").Query.Dimensions[0])
		}
	}
	checkRoundTrip(t, app, check)

	wantProblemsAt(t, doc, []replaced{
		{`"labels": {"zh-CN": "销售", "en": "Sales"}`, `"labels": {"Chinese!": "销售"}`, "/dashboards/0/labels/Chinese!"},
		{`"labels": {"zh-CN": "销售", "en": "Sales"}`, `"labels": {"en": 3}`, "/dashboards/0/labels/en"},
		{`"labels": {"zh-CN": "销售", "en": "Sales"}`, `"labels": "Sales"`, "/dashboards/0/labels"},
		{`"titles": {"zh-CN": "营收", "en": "Takings"}`, `"titles": {"EN": "Takings"}`, "/dashboards/0/widgets/0/titles/EN"},
		{`"titles": {"zh-CN": "营收", "en": "Takings"}`, `"titles": {"en": ["Takings"]}`, "/dashboards/0/widgets/0/titles/en"},
		{`"titles": {"zh-CN": "营收", "en": "Takings"}`, `"titles": {"en": "` + strings.Repeat("x", 256) + `"}`, "/dashboards/0/widgets/0/titles/en"},
		{`"labels": {"en": "Period"}`, `"labels": {"en": false}`, "/dashboards/0/params/0/labels/en"},
		{`"labels": {"en": "Takings"}`, `"labels": {"en_US": "Takings"}`, "/dashboards/0/widgets/0/query/measures/0/labels/en_US"},
		{`"labels": {"en": "Day"}`, `"labels": {"en": null}`, "/dashboards/0/widgets/1/query/dimensions/0/labels/en"},
	})
}
