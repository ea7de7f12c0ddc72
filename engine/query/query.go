// Package query is Forma's dashboard aggregation: it compiles a widget's
// query (measures, dimensions, date buckets, a filter with parameters, top N
// with "other") to one parameterized SQL statement for the database in use,
// runs it under the viewer's row and field rules — taken from
// engine/records, never re-implemented — and shapes the answer: labels,
// filled date buckets, pivot totals, comparison with the previous period,
// and for every figure the records-API filter that lists the rows behind it.
//
// Answers are cached per (widget, parameters, viewer's rule scope) and
// dropped when a write to an entity they read is committed, by any process
// sharing the database (see cache.go).
package query

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Engine answers dashboard and ad-hoc queries.
type Engine struct {
	DB      *store.DB
	Records *records.Service
	Catalog *store.Catalog
	// UserLabels names users for user dimensions (id → name); nil shows ids.
	UserLabels func(ctx context.Context, ids []string) (map[string]string, error)
	// Now is the clock date presets resolve against; nil is the store's
	// clock (DB.Clock), which tests move.
	Now func() time.Time

	cache   *cache
	watcher *watcher
}

// New returns an engine over db.
func New(db *store.DB, recs *records.Service, cat *store.Catalog) *Engine {
	e := &Engine{DB: db, Records: recs, Catalog: cat, cache: newCache(4096, 5*time.Minute)}
	e.watcher = newWatcher(e, 200*time.Millisecond)
	return e
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	if e.DB.Clock != nil {
		return e.DB.Clock.Now()
	}
	return time.Now()
}

// Column describes one column of an answer.
type Column struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	// Labels is the measure's or dimension's label per language, as the
	// document gives it; Label is the fallback.
	Labels schema.Labels `json:"labels,omitempty"`
	Kind   string        `json:"kind"`             // "dimension" or "measure"
	Type   string        `json:"type,omitempty"`   // a dimension's field type
	Bucket string        `json:"bucket,omitempty"` // a date dimension's bucket
	Unit   string        `json:"unit,omitempty"`
	// Currency is a measure's money: the sum, average, min or max of a
	// field with a currency (ISO 4217), for the UI to show it as money.
	Currency string `json:"currency,omitempty"`
}

// Row is one group: its dimension values (and labels, for refs and users)
// and its measures, plus the records-API filter listing its records.
type Row struct {
	Keys   []any    `json:"keys"`
	Labels []string `json:"labels,omitempty"`
	Values []any    `json:"values"`
	Other  bool     `json:"other,omitempty"` // the rows after the top N
	Drill  *string  `json:"drill"`
}

// Pivot holds a pivot's totals, in the order of Rows and Cols.
type Pivot struct {
	Rows      []any    `json:"rows"`
	Cols      []any    `json:"cols"`
	RowLabels []string `json:"rowLabels,omitempty"`
	ColLabels []string `json:"colLabels,omitempty"`
	RowTotals []Row    `json:"rowTotals"`
	ColTotals []Row    `json:"colTotals"`
	Total     Row      `json:"total"`
}

// KPI is a kpi widget's comparison and target.
type KPI struct {
	Previous      []any   `json:"previous,omitempty"`
	PreviousDrill *string `json:"previousDrill,omitempty"`
	Change        []any   `json:"change,omitempty"`  // current − previous
	Percent       []any   `json:"percent,omitempty"` // change / previous × 100
	Target        any     `json:"target,omitempty"`
	Progress      any     `json:"progress,omitempty"` // first measure / target × 100
}

// Result is one widget's answer.
type Result struct {
	ID    string `json:"id,omitempty"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
	// Titles is the widget's title per language; Title is the fallback.
	Titles  schema.Labels `json:"titles,omitempty"`
	Columns []Column      `json:"columns"`
	Rows    []Row         `json:"rows"`
	Pivot   *Pivot        `json:"pivot,omitempty"`
	KPI     *KPI          `json:"kpi,omitempty"`
	Period  *Period       `json:"period,omitempty"`
	// SQLMs is the time the statement took in the database (ms), 0 when
	// answered from the cache.
	SQLMs  float64 `json:"sqlMs"`
	Cached bool    `json:"cached"`
	// Error is set instead of data when the widget cannot be answered for
	// this viewer (a hidden field, an entity they may not read).
	Error *WidgetError `json:"error,omitempty"`

	reads []string
}

// WidgetError is why a widget has no data for this viewer, in the error
// shape of the API.
type WidgetError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Period is the resolved period of an answer, local times in its zone.
type Period struct {
	From     string `json:"from"`
	To       string `json:"to"` // exclusive
	TimeZone string `json:"timeZone"`
}

// DashboardResult is a whole dashboard's answer.
type DashboardResult struct {
	Name    string            `json:"name"`
	Label   string            `json:"label,omitempty"`
	Labels  schema.Labels     `json:"labels,omitempty"` // Label per language
	Params  map[string]string `json:"params"`
	Widgets []*Result         `json:"widgets"`
}

// errNoDashboard is answered for a dashboard that does not exist.
func errNoDashboard(app, name string) error {
	return queryError(404, records.CodeNotFound, "no dashboard %q in app %q", name, app)
}

// app loads the app and checks that the caller is in it.
func (e *Engine) app(ctx context.Context, c records.Caller, name string) (*schema.App, error) {
	app, err := e.Catalog.App(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, queryError(404, records.CodeNotFound, "no app %q", name)
	} else if err != nil {
		return nil, err
	}
	if !e.Records.Member(app, c) {
		return nil, queryError(404, records.CodeNotFound, "no app %q", name)
	}
	return app, nil
}

// checkParams refuses parameters the dashboard does not declare and values
// that are not valid for their type.
func checkParams(d *schema.Dashboard, params map[string]string) error {
	var problems []schema.Problem
	for name, v := range params {
		p := d.Param(name)
		switch {
		case p == nil:
			problems = append(problems, schema.Problem{Path: "/" + name, Code: "unknown_param", Params: map[string]any{"param": name}, Message: "no parameter " + quoteFilter(name) + " in this dashboard"})
		case p.Type == schema.ParamDateRange && v != "":
			if _, _, err := schema.ParseDateRange(v); err != nil {
				problems = append(problems, schema.Problem{Path: "/" + name, Code: "format", Params: map[string]any{"param": name}, Message: err.Error()})
			}
		case len(v) > 64 || strings.ContainsAny(v, "\x00\n"):
			problems = append(problems, schema.Problem{Path: "/" + name, Code: "invalid_id", Params: map[string]any{"param": name}, Message: "must be a record or user id"})
		}
	}
	if len(problems) > 0 {
		return &records.Error{Status: 400, Code: records.CodeBadQuery, Message: "invalid dashboard parameters", Details: problems}
	}
	return nil
}

// Dashboard answers every widget of dashboard name for caller c.
func (e *Engine) Dashboard(ctx context.Context, c records.Caller, appName, name string, params map[string]string) (*DashboardResult, error) {
	app, err := e.app(ctx, c, appName)
	if err != nil {
		return nil, err
	}
	d := app.Dashboard(name)
	if d == nil {
		return nil, errNoDashboard(appName, name)
	}
	if err := checkParams(d, params); err != nil {
		return nil, err
	}
	counters, err := e.DB.ChangeCounters(ctx, app.Name)
	if err != nil {
		return nil, err
	}
	out := &DashboardResult{Name: d.Name, Label: d.Label, Labels: d.Labels, Params: map[string]string{}, Widgets: []*Result{}}
	for _, p := range d.Params {
		v := params[p.Name]
		if v == "" {
			v = p.Default
		}
		out.Params[p.Name] = v
	}
	for i := range d.Widgets {
		r, err := e.widget(ctx, c, app, d, &d.Widgets[i], params, counters)
		if err != nil {
			var re *records.Error
			if !errors.As(err, &re) || re.Status >= 500 {
				return nil, err
			}
			w := &d.Widgets[i]
			r = &Result{ID: w.ID, Type: w.Type, Title: w.Title, Titles: w.Titles, Columns: []Column{}, Rows: []Row{},
				Error: &WidgetError{Status: re.Status, Code: re.Code, Message: re.Message}}
		}
		out.Widgets = append(out.Widgets, r)
	}
	return out, nil
}

// Widget answers one widget of a dashboard.
func (e *Engine) Widget(ctx context.Context, c records.Caller, appName, name, id string, params map[string]string) (*Result, error) {
	app, err := e.app(ctx, c, appName)
	if err != nil {
		return nil, err
	}
	d := app.Dashboard(name)
	if d == nil {
		return nil, errNoDashboard(appName, name)
	}
	w := d.Widget(id)
	if w == nil {
		return nil, queryError(404, records.CodeNotFound, "no widget %q in dashboard %q", id, name)
	}
	if err := checkParams(d, params); err != nil {
		return nil, err
	}
	counters, err := e.DB.ChangeCounters(ctx, app.Name)
	if err != nil {
		return nil, err
	}
	return e.widget(ctx, c, app, d, w, params, counters)
}

// Run answers an ad-hoc query (the designer's preview, developers) under
// the same rules; it is checked like a widget on apply, and refused whole,
// with pointers, before anything runs.
func (e *Engine) Run(ctx context.Context, c records.Caller, appName string, q *schema.Query, widgetType string) (*Result, error) {
	app, err := e.app(ctx, c, appName)
	if err != nil {
		return nil, err
	}
	if problems := app.CheckQuery(q); len(problems) > 0 {
		return nil, &records.Error{Status: 422, Code: records.CodeInvalid, Message: "the query is not valid", Details: problems}
	}
	w := &schema.Widget{Type: widgetType, Query: *q}
	if widgetType == "" {
		w.Type = schema.WidgetTable
	}
	p, err := e.compile(ctx, c, app, nil, w, q, nil)
	if err != nil {
		return nil, err
	}
	return e.execute(ctx, p, w)
}

// widget answers w from the cache or the database.
func (e *Engine) widget(ctx context.Context, c records.Caller, app *schema.App, d *schema.Dashboard, w *schema.Widget, params map[string]string, counters map[string]int64) (*Result, error) {
	p, err := e.compile(ctx, c, app, d, w, &w.Query, params)
	if err != nil {
		return nil, err
	}
	key := cacheKey(app, d.Name, w.ID, p)
	stamp := stampOf(counters, p.reads)
	if r := e.cache.get(key, stamp, e.now()); r != nil {
		cp := *r
		cp.Cached, cp.SQLMs = true, 0
		return &cp, nil
	}
	r, err := e.execute(ctx, p, w)
	if err != nil {
		return nil, err
	}
	r.ID, r.Type, r.Title, r.Titles = w.ID, w.Type, w.Title, w.Titles
	e.cache.put(key, stamp, r, e.now())
	return r, nil
}

// Reads lists, per widget id of a dashboard, the entities whose writes
// change its answer (for the events stream).
func (e *Engine) Reads(ctx context.Context, c records.Caller, appName, name string) (map[string][]string, error) {
	app, err := e.app(ctx, c, appName)
	if err != nil {
		return nil, err
	}
	d := app.Dashboard(name)
	if d == nil {
		return nil, errNoDashboard(appName, name)
	}
	out := map[string][]string{}
	for _, w := range d.Widgets {
		out[w.ID] = readSet(app, w.Query.Entity)
	}
	return out, nil
}
