package bulk

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

// ExportOptions say what an export holds and how.
type ExportOptions struct {
	Format string // "csv" (the default) or "xlsx"
	Filter string // the list's filter language
	Sort   string // "-amount,title"
	Fields string // "title,amount": these columns in this order; every field the caller reads when empty
	// Labels writes headers, options, booleans and refs as people read
	// them in Lang (labels; a ref as its record's name); else names,
	// values and ids.
	Labels bool
	Lang   string // "en" or "zh-CN"
	// TimeZone shows datetimes (UTC when nil).
	TimeZone *time.Location
}

// Limits of an export request.
const (
	MaxExportFields     = 200
	maxExportFieldsText = 8 << 10
)

// Export is an export checked and ready to stream: its first page is read,
// so a bad filter, sort or field is an error before a byte is written.
type Export struct {
	s      *Service
	ctx    context.Context
	c      records.Caller
	app    *schema.App
	entity string
	o      ExportOptions
	cols   []*schema.Field
	q      records.Query
	first  *records.Page
	now    time.Time
	emails map[string]string // with Labels: user id → email, for the app's members
}

// Export checks an export of entity for c (the records service's list
// under c's rules: hidden fields are no columns, and naming one in
// fields, filter or sort is refused as an unknown field is) and reads its
// first page.
func (s *Service) Export(ctx context.Context, c records.Caller, app, entity string, o ExportOptions) (*Export, error) {
	switch o.Format {
	case "":
		o.Format = "csv"
	case "csv", "xlsx":
	default:
		return nil, badQuery("format: %q is not an export format (csv or xlsx)", o.Format)
	}
	if o.TimeZone == nil {
		o.TimeZone = time.UTC
	}
	if o.Lang != "zh-CN" {
		o.Lang = "en"
	}
	doc, readable, err := s.records.ReadableFields(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	byName := map[string]*schema.Field{}
	for _, f := range readable {
		byName[f.Name] = f
	}
	x := &Export{s: s, ctx: ctx, c: c, app: doc, entity: entity, o: o, now: s.db.Now()}
	if strings.TrimSpace(o.Fields) == "" {
		x.cols = readable
	} else {
		if len(o.Fields) > maxExportFieldsText {
			return nil, badQuery("fields: the list is longer than %d characters", maxExportFieldsText)
		}
		seen := map[string]bool{}
		for _, n := range strings.Split(o.Fields, ",") {
			n = strings.TrimSpace(n)
			if n == "" || seen[n] {
				continue
			}
			seen[n] = true
			f := byName[n]
			if t, ok := schema.SystemColumnType(n); f == nil && ok {
				// a list's column such as created_at: the system column, as the list shows it
				f = &schema.Field{Name: n, Type: t}
			}
			if f == nil {
				return nil, badQuery("fields: unknown field %q", clipCell(n))
			}
			x.cols = append(x.cols, f)
			if len(x.cols) > MaxExportFields {
				return nil, badQuery("fields: at most %d fields", MaxExportFields)
			}
		}
		if len(x.cols) == 0 {
			return nil, badQuery("fields: name at least one field")
		}
	}
	names := make([]string, len(x.cols))
	var expand []string
	for i, f := range x.cols {
		names[i] = f.Name
		if o.Labels && f.Type == schema.Ref && RefKey(doc, f.Entity) != "" {
			expand = append(expand, f.Name)
		}
	}
	if o.Labels && exportsUsers(x.cols) {
		if x.emails, err = s.memberEmails(ctx, doc); err != nil {
			return nil, err
		}
	}
	x.q = records.Query{Filter: o.Filter, Sort: o.Sort, Fields: strings.Join(names, ","), Expand: strings.Join(expand, ","), Limit: records.MaxLimit}
	if x.first, err = s.records.List(ctx, c, app, entity, x.q); err != nil {
		return nil, err
	}
	return x, nil
}

func badQuery(format string, args ...any) error {
	return &records.Error{Status: 400, Code: records.CodeBadQuery, Message: fmt.Sprintf(format, args...)}
}

// ContentType is the export's media type.
func (x *Export) ContentType() string {
	if x.o.Format == "xlsx" {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// Filename is the export's file name: entity-YYYYMMDD.csv|xlsx.
func (x *Export) Filename() string {
	return x.entity + "-" + x.now.In(x.o.TimeZone).Format("20060102") + "." + x.o.Format
}

// Header is the export's first row.
func (x *Export) Header() []string {
	out := make([]string, len(x.cols))
	for i, f := range x.cols {
		out[i] = f.Name
		if x.o.Labels {
			out[i] = fieldLabel(f, x.o.Lang)
		}
	}
	return out
}

// fieldLabel is f's label in lang: its variant, its label, its name.
func fieldLabel(f *schema.Field, lang string) string {
	if schema.IsSystemColumn(f.Name) && f.Label == "" {
		for _, sf := range schema.SystemFields() {
			if sf.Name == f.Name {
				return cmpOr(sf.Labels[lang], sf.Label)
			}
		}
	}
	return cmpOr(f.Labels[lang], f.Label, f.Name)
}

func cmpOr(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// each calls fn with every record of the export, page by page.
func (x *Export) each(fn func(*records.Record) error) error {
	page := x.first
	q := x.q
	for {
		for _, r := range page.Items {
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		q.Cursor = page.NextCursor
		var err error
		if page, err = x.s.records.List(x.ctx, x.c, x.app.Name, x.entity, q); err != nil {
			return err
		}
	}
}

// WriteTo streams the export to w: a CSV (UTF-8 with a BOM, which Excel
// needs to read Chinese) row by row, or an XLSX through excelize's stream
// writer (rows past its buffer go to a temporary file).
func (x *Export) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	var err error
	if x.o.Format == "xlsx" {
		err = x.writeXLSX(cw)
	} else {
		err = x.writeCSV(cw)
	}
	return cw.n, err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (x *Export) writeCSV(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("\uFEFF")
	cw := csv.NewWriter(bw)
	head := x.Header()
	for i, h := range head {
		head[i] = neutralise(h)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	row := make([]string, len(x.cols))
	err := x.each(func(r *records.Record) error {
		for i, f := range x.cols {
			row[i] = cellString(x.cell(r, f))
		}
		return cw.Write(row)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

func (x *Export) writeXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	dateFmt, dtFmt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm:ss"
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	if err != nil {
		return err
	}
	dtStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dtFmt})
	if err != nil {
		return err
	}
	head := x.Header()
	hrow := make([]any, len(head))
	for i, h := range head {
		hrow[i] = neutralise(h)
	}
	if err := sw.SetRow("A1", hrow); err != nil {
		return err
	}
	n := 1
	row := make([]any, len(x.cols))
	err = x.each(func(r *records.Record) error {
		n++
		for i, fl := range x.cols {
			v := x.cell(r, fl)
			switch t := v.(type) {
			case dateCell:
				row[i] = excelize.Cell{StyleID: dateStyle, Value: time.Time(t)}
			case time.Time:
				row[i] = excelize.Cell{StyleID: dtStyle, Value: t}
			case json.Number:
				if fv, err := t.Float64(); err == nil && significant(string(t)) <= 15 {
					row[i] = fv
				} else {
					row[i] = string(t)
				}
			case int64:
				if t > -1e15 && t < 1e15 {
					row[i] = t
				} else {
					row[i] = strconv.FormatInt(t, 10)
				}
			default:
				row[i] = v
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, n)
		return sw.SetRow(cell, row)
	})
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}

// significant counts the digits of a number's text.
func significant(s string) int {
	s = strings.TrimLeft(strings.TrimLeft(s, "-"), "0.")
	return len(strings.ReplaceAll(s, ".", ""))
}

// dateCell is a date field's value, for an XLSX date cell.
type dateCell time.Time

// cell is the export value of f in r: a neutralised string, a number
// (int64, json.Number), a bool (values) or a wall-clock time in the
// export's zone (time.Time, dateCell); nil when empty.
// columnType is what a column holds: a system column's own type, else
// the field's stored type.
func columnType(f *schema.Field) schema.FieldType {
	if schema.IsSystemColumn(f.Name) {
		if t, ok := schema.SystemColumnType(f.Name); ok {
			return t
		}
	}
	return f.StorageType()
}

// exportsUsers says whether a column holds users (a user field, owner,
// created_by).
func exportsUsers(cols []*schema.Field) bool {
	for _, f := range cols {
		if columnType(f) == schema.User {
			return true
		}
	}
	return false
}

// memberEmails maps the app's members (the users the caller's directory
// shows as colleagues in it) to their emails; a user who is not a member
// any more stays an id in the file.
func (s *Service) memberEmails(ctx context.Context, app *schema.App) (map[string]string, error) {
	us, err := s.access.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(us))
	for _, u := range us {
		if s.records.Member(app, records.Caller{UserID: u.ID, Admin: u.Admin, Roles: u.Roles, TeamID: u.TeamID}) {
			out[u.ID] = u.Email
		}
	}
	return out, nil
}

func (x *Export) cell(r *records.Record, f *schema.Field) any {
	v := r.Get(f.Name)
	if v == nil {
		return nil
	}
	st := columnType(f)
	switch t := v.(type) {
	case time.Time:
		l := t.In(x.o.TimeZone)
		return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
	case int64, json.Number:
		return t
	case bool:
		if x.o.Labels {
			return boolLabel(t, x.o.Lang)
		}
		return t
	case json.RawMessage:
		if st == schema.MultiSelect {
			var opts []string
			if json.Unmarshal(t, &opts) == nil {
				for i, o := range opts {
					opts[i] = x.option(f, o)
				}
				return neutralise(strings.Join(opts, ", "))
			}
		}
		return neutralise(string(t))
	case string:
		switch st {
		case schema.Date:
			if d, err := time.Parse("2006-01-02", t); err == nil {
				return dateCell(d)
			}
		case schema.Select:
			return neutralise(x.option(f, t))
		case schema.User:
			if e, ok := x.emails[t]; ok {
				return neutralise(e) // as people read it, and as an import finds the user
			}
		case schema.Ref:
			if x.o.Labels {
				if rec := r.Expanded(f.Name); rec != nil {
					if k, ok := rec.Get(RefKey(x.app, f.Entity)).(string); ok && k != "" {
						return neutralise(k)
					}
				}
			}
		}
		return neutralise(t)
	}
	return neutralise(fmt.Sprint(v))
}

func (x *Export) option(f *schema.Field, o string) string {
	if !x.o.Labels {
		return o
	}
	return cmpOr(f.OptionLabels[o][x.o.Lang], o)
}

func boolLabel(b bool, lang string) string {
	switch {
	case lang == "zh-CN" && b:
		return "是"
	case lang == "zh-CN":
		return "否"
	case b:
		return "yes"
	}
	return "no"
}

// neutralise puts a quote before text a spreadsheet would take for a
// formula: one starting with = + - @, a tab or a carriage return (CSV
// formula injection). Numbers are not text: a negative amount stays one.
// Text that already looks neutralised ('=x) gets a quote too, so that the
// importer, which removes one, gives it back as it was.
func neutralise(s string) string {
	if formulaLike(s) {
		return "'" + s
	}
	return s
}

// cellString is a CSV cell's text.
func cellString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case dateCell:
		return time.Time(t).Format("2006-01-02")
	case time.Time:
		return t.Format("2006-01-02 15:04:05.999999")
	case int64:
		return strconv.FormatInt(t, 10)
	case json.Number:
		return string(t)
	case bool:
		return strconv.FormatBool(t)
	}
	return fmt.Sprint(v)
}
