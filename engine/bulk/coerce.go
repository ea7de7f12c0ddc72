package bulk

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
	"github.com/xuri/excelize/v2"

	"github.com/formaapp/forma/schema"
)

// Lookup finds records and users for ref and user cells, a batch at a
// time, under the importing caller's rules.
type Lookup interface {
	// Refs maps each key that some record of entity has as its field's
	// value to that record's id (a key matching no record, or several,
	// is left out).
	Refs(ctx context.Context, entity, field string, keys []string) (map[string]string, error)
	// Users maps each email that is a user's to the user's id.
	Users(ctx context.Context, emails []string) (map[string]string, error)
}

// CoerceOptions are what coercion needs beyond the mapping.
type CoerceOptions struct {
	// TimeZone reads datetimes that state none (UTC when nil).
	TimeZone *time.Location
	// Lookup finds refs and users; without one a ref or user cell is
	// taken as the id it must then be.
	Lookup Lookup
}

// Coercer turns rows of cells into record values by the rules of each
// field's type (README: Import and export).
type Coercer struct {
	app     *schema.App
	cols    []coerceCol
	headers int
	tz      *time.Location
	lookup  Lookup
}

type coerceCol struct {
	index  int
	header string
	f      *schema.Field
	st     schema.FieldType
	opts   map[string]string // select: folded value or label → option
	target string            // ref: the referenced entity
	key    string            // ref: its field cells name records by ("" for ids only)
}

// NewCoercer prepares the coercion of m's columns into e's fields.
func NewCoercer(app *schema.App, e *schema.Entity, m *Mapping, o CoerceOptions) *Coercer {
	c := &Coercer{app: app, tz: o.TimeZone, lookup: o.Lookup, headers: len(m.Columns)}
	if c.tz == nil {
		c.tz = time.UTC
	}
	for _, cm := range m.Columns {
		if cm.Field == "" {
			continue
		}
		f := fieldNamed(e, cm.Field)
		if f == nil {
			continue
		}
		col := coerceCol{index: cm.Index, header: cm.Header, f: f, st: f.StorageType()}
		switch col.st {
		case schema.Select, schema.MultiSelect:
			col.opts = optionIndex(f)
		case schema.Ref:
			col.target = f.Entity
			col.key = RefKey(app, f.Entity)
		}
		c.cols = append(c.cols, col)
	}
	return c
}

// RefKey is the field of entity that import cells name its records by:
// a unique text field, "name" or "title" first; else a field called
// "name" or "title"; "" when none (cells must then be record ids).
func RefKey(app *schema.App, entity string) string {
	e := app.Entity(entity)
	if e == nil {
		return ""
	}
	texty := func(f *schema.Field) bool {
		switch f.Type {
		case schema.Text, schema.Email, schema.Phone:
			return true
		}
		return false
	}
	var first string
	for _, n := range []string{"name", "title"} {
		for i := range e.Fields {
			if f := &e.Fields[i]; f.Name == n && f.Unique && texty(f) {
				return n
			}
		}
	}
	for i := range e.Fields {
		if f := &e.Fields[i]; f.Unique && texty(f) {
			return f.Name
		}
	}
	for _, n := range []string{"name", "title"} {
		for i := range e.Fields {
			if f := &e.Fields[i]; f.Name == n && texty(f) && first == "" {
				first = n
			}
		}
	}
	return first
}

func optionIndex(f *schema.Field) map[string]string {
	m := map[string]string{}
	for _, o := range f.Options {
		m[fold(o)] = o
	}
	for _, o := range f.Options {
		for _, l := range f.OptionLabels[o] {
			if k := fold(l); k != "" {
				if _, taken := m[k]; !taken {
					m[k] = o
				}
			}
		}
	}
	return m
}

// pending is a ref or user cell waiting for its batch's lookup.
type pending struct {
	row int // index in the batch
	col *coerceCol
	key string
	raw string
}

// Rows coerces a batch of rows (rowNums their row numbers in the file):
// values[i] is row i's values in the API's JSON form (what records.Create
// takes; an empty cell is left out), nil when the row has a problem; refs
// and users are looked up once for the batch.
func (c *Coercer) Rows(ctx context.Context, rows [][]string, rowNums []int) ([]map[string]any, []CellProblem) {
	values := make([]map[string]any, len(rows))
	var problems []CellProblem
	bad := make([]bool, len(rows))
	num := func(i int) int {
		if i < len(rowNums) {
			return rowNums[i]
		}
		return i + 2
	}
	add := func(i int, col *coerceCol, raw, reason string) {
		p := CellProblem{Row: num(i), Value: clipCell(raw), Reason: reason}
		if col != nil {
			p.Column, p.Field = col.header, col.f.Name
		}
		problems = append(problems, p)
		bad[i] = true
	}
	var waits []pending
	for i, row := range rows {
		vals := map[string]any{}
		if len(row) > c.headers {
			for _, extra := range row[c.headers:] {
				if strings.TrimSpace(extra) != "" {
					add(i, nil, strings.Join(row[c.headers:], ","), fmt.Sprintf("the row has %d cells but the header names %d columns", len(row), c.headers))
					break
				}
			}
		}
		for ci := range c.cols {
			col := &c.cols[ci]
			if col.index >= len(row) {
				continue
			}
			raw := row[col.index]
			if strings.TrimSpace(raw) == "" {
				continue
			}
			switch col.st {
			case schema.Ref, schema.User:
				key := unquoteCell(strings.TrimSpace(raw))
				if col.st == schema.User && strings.Contains(key, "@") {
					key = strings.ToLower(key)
				}
				waits = append(waits, pending{row: i, col: col, key: key, raw: raw})
				continue
			}
			v, reason := c.cell(col, raw)
			if reason != "" {
				add(i, col, raw, reason)
				continue
			}
			vals[col.f.Name] = v
		}
		values[i] = vals
	}
	found := c.resolve(ctx, waits)
	for _, w := range waits {
		id, reason := found(w)
		if reason != "" {
			add(w.row, w.col, w.raw, reason)
			continue
		}
		values[w.row][w.col.f.Name] = id
	}
	for i := range values {
		if bad[i] {
			values[i] = nil
		}
	}
	return values, problems
}

// resolve looks the batch's refs and users up, once per field and kind,
// and returns what each waiting cell resolves to.
func (c *Coercer) resolve(ctx context.Context, waits []pending) func(pending) (string, string) {
	type lk struct{ target, field string }
	keys := map[lk]map[string]bool{}
	want := func(k lk, key string) {
		if keys[k] == nil {
			keys[k] = map[string]bool{}
		}
		keys[k][key] = true
	}
	for _, w := range waits {
		switch {
		case w.col.st == schema.User && strings.Contains(w.key, "@"):
			want(lk{"", "email"}, w.key)
		case w.col.st == schema.Ref && w.col.key != "":
			want(lk{w.col.target, w.col.key}, w.key)
		}
	}
	got := map[lk]map[string]string{}
	failed := map[lk]string{}
	if c.lookup != nil {
		for k, set := range keys {
			list := setList(set)
			var m map[string]string
			var err error
			if k.target == "" {
				m, err = c.lookup.Users(ctx, list)
			} else {
				m, err = c.lookup.Refs(ctx, k.target, k.field, list)
			}
			if err != nil {
				failed[k] = err.Error()
				continue
			}
			got[k] = m
		}
		// Refs not found by their key may be record ids (what an export
		// writes).
		ids := map[string]map[string]bool{}
		for _, w := range waits {
			if w.col.st != schema.Ref || !idLike(w.key) {
				continue
			}
			if _, ok := got[lk{w.col.target, w.col.key}][w.key]; ok && w.col.key != "" {
				continue
			}
			if ids[w.col.target] == nil {
				ids[w.col.target] = map[string]bool{}
			}
			ids[w.col.target][w.key] = true
		}
		for target, set := range ids {
			if m, err := c.lookup.Refs(ctx, target, "id", setList(set)); err == nil {
				got[lk{target, "id"}] = m
			}
		}
	}
	return func(w pending) (string, string) {
		if w.col.st == schema.User {
			if !strings.Contains(w.key, "@") {
				if idLike(w.key) {
					return w.key, ""
				}
				return "", "a user is written as their email address (or user id)"
			}
			k := lk{"", "email"}
			if c.lookup == nil {
				return "", "users cannot be looked up here"
			}
			if msg, ok := failed[k]; ok {
				return "", "the users could not be looked up: " + msg
			}
			if id, ok := got[k][w.key]; ok {
				return id, ""
			}
			return "", fmt.Sprintf("no user has the email %s", w.key)
		}
		if c.lookup == nil {
			if idLike(w.key) {
				return w.key, ""
			}
			return "", "not a record id"
		}
		k := lk{w.col.target, w.col.key}
		if msg, ok := failed[k]; ok && w.col.key != "" {
			return "", fmt.Sprintf("the %s records could not be looked up: %s", w.col.target, msg)
		}
		if id, ok := got[k][w.key]; ok && w.col.key != "" {
			return id, ""
		}
		if id, ok := got[lk{w.col.target, "id"}][w.key]; ok {
			return id, ""
		}
		if w.col.key == "" {
			return "", fmt.Sprintf("no %s record you can read has this id (%s has no unique name field to look records up by)", w.col.target, w.col.target)
		}
		return "", fmt.Sprintf("no %s record you can read has %s %q (or this id)", w.col.target, w.col.key, w.key)
	}
}

func setList(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return out
}

var idRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func idLike(s string) bool { return idRE.MatchString(s) }

// clipCell shortens a cell for a problem report (clip: matchlist.go).
func clipCell(s string) string { return clip(strings.ToValidUTF8(s, "\uFFFD"), 100) }

// unquoteCell undoes an export's neutralising quote (see neutralise): a
// quote before text that starts with = + - @, a tab or a carriage return,
// or before text that is itself so quoted, is removed.
func unquoteCell(s string) string {
	if len(s) >= 2 && s[0] == '\'' && formulaLike(s[1:]) {
		return s[1:]
	}
	return s
}

// formulaLike says whether a spreadsheet could take s for a formula, or
// s is such a text with the quotes an export put before it.
func formulaLike(s string) bool {
	for len(s) > 1 && s[0] == '\'' {
		s = s[1:]
	}
	return s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0
}

// cell coerces one non-blank cell of col; the reason says why not.
func (c *Coercer) cell(col *coerceCol, raw string) (any, string) {
	f := col.f
	if !utf8.ValidString(raw) || strings.ContainsRune(raw, 0) {
		return nil, "not valid text (a NUL or an invalid byte)"
	}
	switch col.st {
	case schema.Text, schema.LongText:
		s := unquoteCell(raw)
		if f.MaxLength != nil && utf8.RuneCountInString(s) > *f.MaxLength {
			return nil, fmt.Sprintf("longer than %d characters", *f.MaxLength)
		}
		return s, ""
	case schema.Email, schema.Phone, schema.URL:
		s := unquoteCell(strings.TrimSpace(raw))
		if err := schema.CheckFormat(col.st, s); err != nil {
			return nil, err.Error()
		}
		return s, ""
	case schema.Integer:
		d, reason := parseNumber(raw)
		if reason != "" {
			return nil, reason
		}
		if !d.Equal(d.Truncate(0)) {
			return nil, "must be a whole number"
		}
		if d.Cmp(decimal.NewFromInt(math.MaxInt64)) > 0 || d.Cmp(decimal.NewFromInt(math.MinInt64)) < 0 {
			return nil, "too large for a whole number"
		}
		return json.Number(d.String()), ""
	case schema.Decimal:
		d, reason := parseNumber(raw)
		if reason != "" {
			return nil, reason
		}
		scale := int32(f.DecimalScale())
		if !d.Equal(d.Truncate(scale)) {
			return nil, fmt.Sprintf("has more than %d decimal places", scale)
		}
		return json.Number(d.StringFixed(scale)), ""
	case schema.Boolean:
		switch fold(raw) {
		case "是", "yes", "y", "true", "1":
			return true, ""
		case "否", "no", "n", "false", "0":
			return false, ""
		}
		return nil, "must be yes or no: 是/否, yes/no, y/n, true/false or 1/0"
	case schema.Date:
		d, reason := parseDate(raw)
		if reason != "" {
			return nil, reason
		}
		return d, ""
	case schema.DateTime:
		t, reason := parseDatetime(raw, c.tz)
		if reason != "" {
			return nil, reason
		}
		return t, ""
	case schema.Select:
		s := unquoteCell(strings.TrimSpace(raw))
		if o, ok := col.opts[fold(s)]; ok {
			return o, ""
		}
		return nil, "not one of the options: " + strings.Join(f.Options, ", ")
	case schema.MultiSelect:
		out := []any{}
		seen := map[string]bool{}
		for _, part := range multiSep.Split(foldWidth(unquoteCell(strings.TrimSpace(raw))), -1) {
			if strings.TrimSpace(part) == "" {
				continue
			}
			o, ok := col.opts[fold(part)]
			if !ok {
				return nil, fmt.Sprintf("%q is not one of the options: %s", strings.TrimSpace(part), strings.Join(f.Options, ", "))
			}
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
		return out, ""
	case schema.JSON:
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil || dec.More() {
			return nil, "not valid JSON"
		}
		return v, ""
	case schema.File:
		return nil, "file fields are not imported: attach the files to the records after the import"
	}
	return nil, fmt.Sprintf("a %s field is not imported", f.Type)
}

var multiSep = regexp.MustCompile(`[,;、|]`)

var (
	thousandsRE = regexp.MustCompile(`^\d{1,3}(,\d{3})+(\.\d*)?$`)
	numberRE    = regexp.MustCompile(`^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)
)

// parseNumber reads a number as people write it: full-width digits,
// spaces or commas between thousands, a currency sign (¥ ￥ $ €) before
// it, a sign before or after the sign, (1,234) for a negative amount; a
// number with a fraction or an exponent past 15 significant digits (a
// spreadsheet's binary noise) is rounded to 15.
func parseNumber(raw string) (decimal.Decimal, string) {
	s := foldWidth(strings.TrimSpace(raw))
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\u00a0', '\u2009', '\u202f', '\t':
			return -1
		}
		return r
	}, s)
	if strings.HasSuffix(s, "%") {
		return decimal.Decimal{}, "a percentage: write the number itself (15% as 15 or 0.15, as the field means it)"
	}
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, s = true, s[1:len(s)-1]
	}
	sign := func() {
		if strings.HasPrefix(s, "-") {
			neg, s = !neg, s[1:]
		} else if strings.HasPrefix(s, "+") {
			s = s[1:]
		}
	}
	sign()
	for _, cur := range []string{"¥", "$", "€"} {
		if strings.HasPrefix(s, cur) {
			s = s[len(cur):]
			sign()
			break
		}
	}
	if strings.Contains(s, ",") {
		if !thousandsRE.MatchString(s) {
			return decimal.Decimal{}, "not a number: a comma may only separate thousands (1,234,567.89)"
		}
		s = strings.ReplaceAll(s, ",", "")
	}
	if !numberRE.MatchString(s) {
		return decimal.Decimal{}, "not a number"
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Decimal{}, "not a number"
	}
	if strings.ContainsAny(s, ".eE") {
		if digits := len(d.Coefficient().String()); digits > 15 {
			d = d.Round(int32(15 - digits - int(d.Exponent())))
		}
	}
	if neg {
		d = d.Neg()
	}
	return d, ""
}

var (
	dateRE    = regexp.MustCompile(`^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?$`)
	compactRE = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
	serialRE  = regexp.MustCompile(`^\d+(\.\d+)?$`)
	dmyRE     = regexp.MustCompile(`^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$`)
	// a date, then a time, then a zone
	datetimeRE = regexp.MustCompile(`^(.+?)(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)\s*(Z|[+-]\d{2}:?\d{2})?$`)
	cnTime     = strings.NewReplacer("时", ":", "点", ":", "分", ":", "秒", "")
)

// serial reads an Excel serial date (days since 1899-12-30, a fraction
// for the time of day) as a wall-clock time.
func serial(s string) (time.Time, bool) {
	if !serialRE.MatchString(s) {
		return time.Time{}, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 1 || v > 2958465 {
		return time.Time{}, false
	}
	t, err := excelize.ExcelDateToTime(v, false)
	if err != nil {
		return time.Time{}, false
	}
	return t.Round(time.Second), true
}

// ymd checks a calendar date.
func ymd(y, m, d string) (time.Time, string) {
	yi, _ := strconv.Atoi(y)
	mi, _ := strconv.Atoi(m)
	di, _ := strconv.Atoi(d)
	t := time.Date(yi, time.Month(mi), di, 0, 0, 0, 0, time.UTC)
	if yi < 1 || t.Year() != yi || int(t.Month()) != mi || t.Day() != di {
		return time.Time{}, fmt.Sprintf("%s-%s-%s is not a date on the calendar", y, m, d)
	}
	return t, ""
}

const dateHint = "not a date: write 2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日 or 20260305"

// dateOnly reads the date forms; ok is false when s is none of them.
func dateOnly(s string) (time.Time, string, bool) {
	if m := dateRE.FindStringSubmatch(s); m != nil {
		t, reason := ymd(m[1], m[2], m[3])
		return t, reason, true
	}
	if m := compactRE.FindStringSubmatch(s); m != nil {
		t, reason := ymd(m[1], m[2], m[3])
		return t, reason, true
	}
	if dmyRE.MatchString(s) {
		return time.Time{}, "the order of day and month is ambiguous: write the year first, as 2026-03-05", true
	}
	return time.Time{}, "", false
}

// parseDate reads a date cell into "2026-03-05".
func parseDate(raw string) (string, string) {
	s := foldWidth(strings.TrimSpace(raw))
	if t, ok := serial(s); ok {
		return t.Format("2006-01-02"), ""
	}
	if t, reason, ok := dateOnly(s); ok {
		if reason != "" {
			return "", reason
		}
		return t.Format("2006-01-02"), ""
	}
	// A date with a midnight time (how some programs write dates).
	if m := datetimeRE.FindStringSubmatch(s); m != nil && m[6] == "" {
		if t, reason, ok := dateOnly(m[1]); ok && reason == "" {
			if h, _ := strconv.Atoi(m[2]); h == 0 && m[3] == "00" && (m[4] == "" || m[4] == "00") && strings.Trim(m[5], ".0") == "" {
				return t.Format("2006-01-02"), ""
			}
			return "", "a date field takes a date without a time of day"
		}
	}
	return "", dateHint
}

// parseDatetime reads a datetime cell into RFC 3339 in UTC: a stated zone
// (Z, +08:00) wins, else the cell is a wall-clock time in tz.
func parseDatetime(raw string, tz *time.Location) (string, string) {
	s := foldWidth(strings.TrimSpace(raw))
	out := func(t time.Time) (string, string) {
		if t.Year() < 1 || t.Year() > 9999 {
			return "", "the year must be between 1 and 9999"
		}
		return t.UTC().Format(time.RFC3339Nano), ""
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return out(t)
	}
	wall := func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), tz)
	}
	if t, ok := serial(s); ok {
		return out(wall(t))
	}
	if t, reason, ok := dateOnly(s); ok {
		if reason != "" {
			return "", reason
		}
		return out(wall(t))
	}
	s = strings.TrimRight(cnTime.Replace(s), ":")
	m := datetimeRE.FindStringSubmatch(s)
	if m == nil {
		return "", "not a date-time: write 2026-03-05 14:30, 2026/3/5 14:30:00, 2026年3月5日 14:30 or 2026-03-05T14:30:00+08:00"
	}
	d, reason, ok := dateOnly(strings.TrimSpace(m[1]))
	if !ok {
		return "", dateHint
	}
	if reason != "" {
		return "", reason
	}
	h, _ := strconv.Atoi(m[2])
	mi, _ := strconv.Atoi(m[3])
	sec, _ := strconv.Atoi(m[4])
	if h > 23 || mi > 59 || sec > 59 {
		return "", fmt.Sprintf("%s:%s is not a time of day", m[2], m[3])
	}
	ns := 0
	if m[5] != "" {
		frac := (m[5][1:] + "000000000")[:9]
		ns, _ = strconv.Atoi(frac)
	}
	loc := tz
	if z := m[6]; z != "" {
		if z == "Z" {
			loc = time.UTC
		} else {
			z = strings.ReplaceAll(z, ":", "")
			zh, _ := strconv.Atoi(z[1:3])
			zm, _ := strconv.Atoi(z[3:5])
			off := zh*3600 + zm*60
			if z[0] == '-' {
				off = -off
			}
			if zh > 14 || zm > 59 {
				return "", "the time zone offset is not one"
			}
			loc = time.FixedZone("", off)
		}
	}
	return out(time.Date(d.Year(), d.Month(), d.Day(), h, mi, sec, ns, loc))
}
