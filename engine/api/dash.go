package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"github.com/xuri/excelize/v2"

	"github.com/formaapp/forma/engine/query"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

// dashRoutes serves dashboards (engine/query): every widget's data, one
// widget, its CSV and Excel export, a change stream, and ad-hoc queries.
func (s *Server) dashRoutes(app *fiber.App) {
	if s.Query == nil {
		s.Query = query.New(s.DB, s.Records, s.Catalog)
	}
	if s.Query.UserLabels == nil && s.Access != nil {
		s.Query.UserLabels = func(ctx context.Context, ids []string) (map[string]string, error) {
			users, err := s.Access.Users(ctx)
			if err != nil {
				return nil, err
			}
			want := map[string]bool{}
			for _, id := range ids {
				want[id] = true
			}
			out := map[string]string{}
			for _, u := range users {
				if want[u.ID] {
					out[u.ID] = u.Name
					if u.Name == "" {
						out[u.ID] = u.Email
					}
				}
			}
			return out, nil
		}
	}
	dash := app.Group("/api/dash", s.requireUser)
	dash.Get("/:app", s.listDashboards)
	dash.Get("/:app/:dashboard", s.getDashboard)
	dash.Get("/:app/:dashboard/events", s.dashboardEvents)
	dash.Get("/:app/:dashboard/widgets/:widget", s.getWidget)
	app.Post("/api/query/:app", s.requireUser, s.adHocQuery)
}

// dashParams reads the dashboard parameters from the query string.
func dashParams(c *fiber.Ctx) map[string]string {
	out := map[string]string{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		out[string(k)] = string(v)
	})
	return out
}

// listDashboards answers GET /api/dash/{app}: the app's dashboards (names,
// parameters, widgets and their queries) for the UI; the data comes from
// the routes below, under the viewer's rules.
func (s *Server) listDashboards(c *fiber.Ctx) error {
	app, err := s.Catalog.App(c.UserContext(), c.Params("app"))
	if err != nil || !s.Records.Member(app, caller(c)) {
		return apiError(404, "not_found", "no app %q", c.Params("app"))
	}
	ds := app.Dashboards
	if ds == nil {
		ds = []schema.Dashboard{}
	}
	return c.JSON(fiber.Map{"items": ds})
}

// getDashboard answers GET /api/dash/{app}/{dashboard}?param=…: every
// widget's data. A widget the viewer cannot see (a hidden field, an entity
// they may not read) carries its error; the others still answer.
func (s *Server) getDashboard(c *fiber.Ctx) error {
	r, err := s.Query.Dashboard(c.UserContext(), caller(c), c.Params("app"), c.Params("dashboard"), dashParams(c))
	if err != nil {
		return err
	}
	return c.JSON(r)
}

// getWidget answers GET /api/dash/{app}/{dashboard}/widgets/{id}[.csv|.xlsx].
func (s *Server) getWidget(c *fiber.Ctx) error {
	id, format := c.Params("widget"), ""
	switch {
	case strings.HasSuffix(id, ".csv"):
		id, format = strings.TrimSuffix(id, ".csv"), "csv"
	case strings.HasSuffix(id, ".xlsx"):
		id, format = strings.TrimSuffix(id, ".xlsx"), "xlsx"
	}
	r, err := s.Query.Widget(c.UserContext(), caller(c), c.Params("app"), c.Params("dashboard"), id, dashParams(c))
	if err != nil {
		return err
	}
	lang := language(c.Get(fiber.HeaderAcceptLanguage))
	switch format {
	case "csv":
		b, err := widgetCSV(r, lang)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+id+`.csv"`)
		return c.Send(b)
	case "xlsx":
		b, err := widgetXLSX(r, lang)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+id+`.xlsx"`)
		return c.Send(b)
	}
	return c.JSON(r)
}

// table is a widget's answer as a header and rows of cells: dimension
// labels (or values), then measures. The header reads in lang when the
// document gives a column's label in it.
func table(r *query.Result, lang string) ([]string, [][]any) {
	head := make([]string, len(r.Columns))
	for i, col := range r.Columns {
		head[i] = col.Label
		if l := col.Labels[lang]; l != "" {
			head[i] = l
		}
		if col.Unit != "" {
			head[i] += " (" + col.Unit + ")"
		}
	}
	var rows [][]any
	for _, row := range r.Rows {
		cells := make([]any, 0, len(head))
		for i, k := range row.Keys {
			switch {
			case row.Other:
				cells = append(cells, "other")
			case i < len(row.Labels) && row.Labels[i] != "":
				cells = append(cells, row.Labels[i])
			default:
				cells = append(cells, k)
			}
		}
		cells = append(cells, row.Values...)
		rows = append(rows, cells)
	}
	return head, rows
}

func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		// A cell starting with = + - @ would be a formula to a spreadsheet.
		if x != "" && strings.ContainsRune("=+-@\t\r", rune(x[0])) {
			return "'" + x
		}
		return x
	}
	return fmt.Sprint(v)
}

func widgetCSV(r *query.Result, lang string) ([]byte, error) {
	head, rows := table(r, lang)
	var b bytes.Buffer
	b.WriteString("\ufeff") // Excel reads UTF-8 (Chinese labels) only with a BOM
	w := csv.NewWriter(&b)
	if err := w.Write(head); err != nil {
		return nil, err
	}
	for _, row := range rows {
		rec := make([]string, len(row))
		for i, v := range row {
			rec[i] = cellText(v)
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

func widgetXLSX(r *query.Result, lang string) ([]byte, error) {
	head, rows := table(r, lang)
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	for i, h := range head {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		if err := f.SetCellStr(sheet, cell, h); err != nil {
			return nil, err
		}
	}
	for ri, row := range rows {
		for ci, v := range row {
			cell, _ := excelize.CoordinatesToCellName(ci+1, ri+2)
			var err error
			switch x := v.(type) {
			case json.Number:
				if fl, perr := x.Float64(); perr == nil {
					err = f.SetCellFloat(sheet, cell, fl, -1, 64)
				} else {
					err = f.SetCellStr(sheet, cell, string(x))
				}
			case int64:
				err = f.SetCellInt(sheet, cell, x)
			case nil:
			default:
				err = f.SetCellStr(sheet, cell, fmt.Sprint(x)) // a string cell is never a formula
			}
			if err != nil {
				return nil, err
			}
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// adHocQuery answers POST /api/query/{app} with {"query": {...}, "type":
// "bar"}: the same compilation and rules as a widget. The query is checked
// whole first; a name that is not a field, measure or entity (an injection
// attempt included) is refused with its pointer and nothing runs.
func (s *Server) adHocQuery(c *fiber.Ctx) error {
	var body struct {
		Query *schema.Query `json:"query"`
		Type  string        `json:"type"`
	}
	if err := decodeStrict(c.Body(), &body); err != nil {
		return err
	}
	if body.Query == nil {
		return apiError(400, "invalid_json", "send {\"query\": {\"entity\": …, \"measures\": [...], …}}")
	}
	if body.Type != "" && !containsString(schema.WidgetTypes, body.Type) {
		return &Error{Status: 422, Code: "validation_failed", Message: "the query is not valid",
			Details: []schema.Problem{{Path: "/type", Code: "unknown_value", Params: map[string]any{"value": body.Type, "options": schema.WidgetTypes}, Message: "unknown widget type " + body.Type}}}
	}
	r, err := s.Query.Run(c.UserContext(), caller(c), c.Params("app"), body.Query, body.Type)
	if err != nil {
		var re *records.Error
		if errors.As(err, &re) && re.Code == records.CodeInvalid {
			for i := range re.Details {
				re.Details[i].Path = "/query" + re.Details[i].Path
			}
		}
		return err
	}
	return c.JSON(r)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// dashboardEvents answers GET /api/dash/{app}/{dashboard}/events: a
// server-sent events stream with one "change" event, naming the widgets to
// reload, whenever a write (through any server) changes what they read. A
// comment line every 15 s keeps proxies from closing an idle stream.
func (s *Server) dashboardEvents(c *fiber.Ctx) error {
	reads, err := s.Query.Reads(c.UserContext(), caller(c), c.Params("app"), c.Params("dashboard"))
	if err != nil {
		return err
	}
	changes, stop := s.Query.Subscribe(c.Params("app"))
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		defer stop()
		fmt.Fprint(w, "retry: 1000\n: connected\n\n")
		if w.Flush() != nil {
			return
		}
		keepAlive := time.NewTicker(15 * time.Second)
		defer keepAlive.Stop()
		for {
			select {
			case changed, ok := <-changes:
				if !ok {
					return
				}
				var widgets []string
				for id, ents := range reads {
					if overlaps(ents, changed) {
						widgets = append(widgets, id)
					}
				}
				if len(widgets) == 0 {
					continue
				}
				sort.Strings(widgets)
				b, _ := json.Marshal(fiber.Map{"widgets": widgets, "entities": changed})
				fmt.Fprintf(w, "event: change\ndata: %s\n\n", b)
			case <-keepAlive.C:
				fmt.Fprint(w, ": keep-alive\n\n")
			}
			if w.Flush() != nil {
				return // the client went away
			}
		}
	}))
	return nil
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
