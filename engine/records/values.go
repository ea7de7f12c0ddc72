package records

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/schema"
)

// Values inside the engine have one Go type per field type:
//
//	text-like, select, ref, user, file, date  string ("2026-11-21" for dates)
//	integer, autonumber                       int64
//	decimal                                   json.Number, exact text such as "1500.00"
//	boolean                                   bool
//	datetime                                  time.Time in UTC
//	multiselect, json                         json.RawMessage
//	absent value                              nil

// datetimeText is how datetimes are written: to the microsecond (what
// PostgreSQL keeps), in UTC, fixed width so that SQLite's text sorts by time.
const datetimeText = "2006-01-02T15:04:05.000000Z"

const maxTextLen = 1 << 20 // a text without maxLength still has a bound

// coerce turns a decoded JSON value (UseNumber) into the field's engine value,
// checking everything that needs no database: type, format, bounds, options.
func coerce(f *schema.Field, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	t := f.StorageType()
	switch t {
	case schema.Text, schema.LongText, schema.Email, schema.Phone, schema.URL, schema.Select,
		schema.Ref, schema.User, schema.File, schema.Date:
		s, ok := v.(string)
		if !ok {
			return nil, verr(ProblemType, map[string]any{"expected": "string", "got": jsonKind(v)}, "must be a string, not %s", jsonKind(v))
		}
		max := maxTextLen
		if f.MaxLength != nil {
			max = *f.MaxLength
		}
		if n := utf8.RuneCountInString(s); n > max {
			return nil, verr(ProblemMaxLength, map[string]any{"limit": max, "length": n}, "must be at most %d characters (got %d)", max, n)
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return nil, verr(ProblemInvalidText, nil, "must be valid UTF-8 text without NUL characters")
		}
		switch t {
		case schema.Email, schema.Phone, schema.URL, schema.Date:
			if err := schema.CheckFormat(t, s); err != nil {
				return nil, &valueError{code: ProblemFormat, params: map[string]any{"format": string(t)}, msg: err.Error()}
			}
		case schema.Select:
			if !slices.Contains(f.Options, s) {
				return nil, verr(ProblemOption, map[string]any{"options": f.Options, "value": s}, "must be one of %s", quoteList(f.Options))
			}
		case schema.Ref, schema.User:
			if s == "" || len(s) > 64 {
				return nil, verr(ProblemInvalidID, nil, "must be a record id")
			}
		}
		return s, nil
	case schema.Integer, schema.AutoNumber:
		n, ok := v.(json.Number)
		if !ok {
			return nil, verr(ProblemType, map[string]any{"expected": "integer", "got": jsonKind(v)}, "must be a whole number, not %s", jsonKind(v))
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return nil, verr(ProblemOutOfRange, map[string]any{"expected": "integer"}, "must be a whole number between -9223372036854775808 and 9223372036854775807")
		}
		if err := checkRange(f, decimal.NewFromInt(i)); err != nil {
			return nil, err
		}
		return i, nil
	case schema.Decimal:
		var text string
		switch n := v.(type) {
		case json.Number:
			text = string(n)
		case string:
			text = strings.TrimSpace(n)
		default:
			return nil, verr(ProblemType, map[string]any{"expected": "number", "got": jsonKind(v)}, "must be a number, not %s", jsonKind(v))
		}
		d, err := decimal.NewFromString(text)
		if err != nil || len(text) > 64 {
			return nil, verr(ProblemType, map[string]any{"expected": "number", "got": "string"}, "must be a number like 1234.50")
		}
		scale := f.DecimalScale()
		if -d.Exponent() > int32(scale) && !d.Equal(d.Truncate(int32(scale))) {
			return nil, verr(ProblemScale, map[string]any{"limit": scale}, "must have at most %d decimal places", scale)
		}
		intDigits := f.DecimalPrecision() - scale
		if d.Abs().Cmp(decimal.New(1, int32(intDigits))) >= 0 {
			return nil, verr(ProblemDigits, map[string]any{"limit": intDigits}, "must have at most %d digits before the decimal point", intDigits)
		}
		if err := checkRange(f, d); err != nil {
			return nil, err
		}
		return json.Number(d.StringFixed(int32(scale))), nil
	case schema.Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil, verr(ProblemType, map[string]any{"expected": "boolean", "got": jsonKind(v)}, "must be true or false, not %s", jsonKind(v))
		}
		return b, nil
	case schema.DateTime:
		s, ok := v.(string)
		if !ok {
			return nil, verr(ProblemType, map[string]any{"expected": "datetime", "got": jsonKind(v)}, "must be a date-time string, not %s", jsonKind(v))
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || tm.Year() < 1 || tm.Year() > 9999 {
			return nil, verr(ProblemFormat, map[string]any{"format": "datetime"}, "must be a date-time with a time zone, like 2026-11-21T09:30:00+08:00")
		}
		return tm.UTC().Truncate(time.Microsecond), nil
	case schema.MultiSelect:
		arr, ok := v.([]any)
		if !ok {
			return nil, verr(ProblemType, map[string]any{"expected": "array", "got": jsonKind(v)}, "must be an array of options, not %s", jsonKind(v))
		}
		seen := map[string]bool{}
		out := make([]string, 0, len(arr))
		for _, e := range arr {
			s, ok := e.(string)
			if !ok || !slices.Contains(f.Options, s) {
				return nil, verr(ProblemOption, map[string]any{"options": f.Options}, "every item must be one of %s", quoteList(f.Options))
			}
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		raw, _ := json.Marshal(out)
		return json.RawMessage(raw), nil
	case schema.JSON:
		if err := checkJSON(v); err != nil {
			return nil, err
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, verr(ProblemType, map[string]any{"expected": "json"}, "must be JSON: %v", err)
		}
		return json.RawMessage(raw), nil
	}
	return nil, verr(ProblemReadOnly, map[string]any{"reason": "computed"}, "fields of type %s cannot be written", f.Type)
}

// checkJSON refuses what a json field cannot store on every dialect:
// PostgreSQL's jsonb has no NUL character and its numbers are bounded; and
// text that is not UTF-8 (a value a script built, say) would be stored
// altered, as U+FFFD.
func checkJSON(v any) error {
	switch x := v.(type) {
	case string:
		if strings.ContainsRune(x, 0) {
			return verr(ProblemInvalidText, nil, "must not contain NUL characters (\\u0000)")
		}
		if !utf8.ValidString(x) {
			return verr(ProblemInvalidText, nil, "must be valid UTF-8 text")
		}
	case json.Number:
		if !saneNumber(string(x)) {
			return verr(ProblemOutOfRange, nil, "holds the number %.40s, which is too large or too precise to store", x)
		}
	case []any:
		for _, e := range x {
			if err := checkJSON(e); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) {
				return verr(ProblemInvalidText, nil, "must not contain NUL characters (\\u0000)")
			}
			if !utf8.ValidString(k) {
				return verr(ProblemInvalidText, nil, "must have keys of valid UTF-8 text")
			}
			if err := checkJSON(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// saneNumber bounds a JSON number literal to what every store keeps: at
// most 1000 characters and an exponent within ±1000.
func saneNumber(s string) bool {
	if len(s) > 1000 {
		return false
	}
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return true
	}
	exp, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
	return err == nil && exp >= -1000 && exp <= 1000
}

func checkRange(f *schema.Field, d decimal.Decimal) error {
	if f.Min != nil {
		if min, err := decimal.NewFromString(string(*f.Min)); err == nil && d.LessThan(min) {
			return verr(ProblemMin, map[string]any{"limit": min.String()}, "must be at least %s", min)
		}
	}
	if f.Max != nil {
		if max, err := decimal.NewFromString(string(*f.Max)); err == nil && d.GreaterThan(max) {
			return verr(ProblemMax, map[string]any{"limit": max.String()}, "must be at most %s", max)
		}
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func quoteList(opts []string) string {
	q := make([]string, len(opts))
	for i, o := range opts {
		q[i] = strconv.Quote(o)
	}
	return strings.Join(q, ", ")
}

// encode turns an engine value into what the dialect's column stores.
func encode(dialect string, f *schema.Field, v any) any {
	if v == nil {
		return nil
	}
	switch x := v.(type) {
	case json.Number: // decimal
		if dialect == "sqlite" {
			d, _ := decimal.NewFromString(string(x))
			return d.Shift(int32(f.DecimalScale())).IntPart()
		}
		return string(x)
	case time.Time:
		if dialect == "sqlite" {
			return string(appendDatetimeText(make([]byte, 0, len(datetimeText)), x))
		}
		return x
	case bool:
		if dialect == "sqlite" {
			if x {
				return int64(1)
			}
			return int64(0)
		}
		return x
	case json.RawMessage:
		return string(x)
	}
	return v
}

// decode turns what a driver returned for a column back into an engine value.
// A value already in its engine form is answered as the same interface
// value: returning x from a type switch would box it again, one
// allocation per string or integer of a page.
func decode(dialect string, f *schema.Field, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch f.StorageType() {
	case schema.Integer, schema.AutoNumber:
		switch x := v.(type) {
		case int64:
			return v, nil
		case float64:
			return int64(x), nil
		case string:
			return strconv.ParseInt(x, 10, 64)
		}
	case schema.Decimal:
		switch x := v.(type) {
		case int64: // SQLite: scaled integer
			return json.Number(scaledText(x, f.DecimalScale())), nil
		case string:
			// PostgreSQL's numeric(p, scale) answers exactly scale
			// decimals: already the output form.
			if fixedDecimal(x, f.DecimalScale()) {
				return json.Number(x), nil
			}
			d, err := decimal.NewFromString(x)
			if err != nil {
				return nil, err
			}
			return json.Number(d.StringFixed(int32(f.DecimalScale()))), nil
		case float64:
			return json.Number(decimal.NewFromFloat(x).StringFixed(int32(f.DecimalScale()))), nil
		}
	case schema.Boolean:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case schema.DateTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			if t, ok := parseDatetimeText(x); ok {
				return t, nil
			}
			return time.Parse(time.RFC3339Nano, x)
		}
	case schema.Date:
		switch x := v.(type) {
		case time.Time:
			return x.Format(time.DateOnly), nil
		case string:
			if len(x) > 10 {
				x = x[:10]
			}
			return x, nil
		}
	case schema.MultiSelect, schema.JSON:
		if s, ok := v.(string); ok {
			return json.RawMessage(s), nil
		}
	default:
		switch x := v.(type) {
		case string:
			return v, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		}
	}
	return nil, fmt.Errorf("unexpected %T from the database for %s field %s", v, f.Type, f.Name)
}

// appendValue writes an engine value as JSON.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case json.Number:
		return append(b, x...)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		b = append(b, '"')
		b = appendDatetimeText(b, x)
		return append(b, '"')
	case json.RawMessage:
		return appendCompact(b, x)
	case *Record:
		return x.appendJSON(b)
	}
	j, _ := json.Marshal(v)
	return append(b, j...)
}

func appendCompact(b []byte, raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return append(b, "null"...)
	}
	return append(b, buf.Bytes()...)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping like encoding/json
// (including <, > and & so the output is safe to embed in HTML).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// scaledText writes a decimal stored as v × 10^-scale (SQLite) exactly,
// without big-number arithmetic: list pages format thousands of these.
// fixedDecimal reports whether s is a decimal number as StringFixed(scale)
// would write it: an optional minus, digits without leading zeros (one 0
// before the point allowed), and exactly scale decimals.
func fixedDecimal(s string, scale int) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
		if strings.Trim(s, "0.") == "" {
			return false // minus zero: StringFixed drops the sign
		}
	}
	point := len(s) - scale - 1
	if scale == 0 {
		point = len(s)
	} else if point < 1 || s[point] != '.' {
		return false
	}
	if point < 1 || (s[0] == '0' && point > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i != point && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

func scaledText(v int64, scale int) string {
	if scale == 0 {
		return strconv.FormatInt(v, 10)
	}
	var buf [48]byte
	b := buf[:0]
	u := uint64(v)
	if v < 0 {
		b = append(b, '-')
		u = uint64(-v) // also right for math.MinInt64, as unsigned
	}
	digits := strconv.AppendUint(nil, u, 10)
	for len(digits) <= scale {
		digits = append([]byte{'0'}, digits...)
	}
	cut := len(digits) - scale
	b = append(b, digits[:cut]...)
	b = append(b, '.')
	b = append(b, digits[cut:]...)
	return string(b)
}

// appendDatetimeText appends t in datetimeText form. It is the hot path of
// every record read, so it writes digits directly instead of going through
// time.Format's layout interpreter.
func appendDatetimeText(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	us := t.Nanosecond() / 1000
	if y < 0 || y > 9999 {
		return t.AppendFormat(b, datetimeText)
	}
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, us, 6)
	return append(b, 'Z')
}

func appendDigits(b []byte, v, width int) []byte {
	var buf [8]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:width]...)
}

// parseDatetimeText reads exactly the datetimeText form; anything else is
// left to time.Parse.
func parseDatetimeText(s string) (time.Time, bool) {
	if len(s) != len(datetimeText) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	var f [7]int
	for i, p := range [7][2]int{{0, 4}, {5, 2}, {8, 2}, {11, 2}, {14, 2}, {17, 2}, {20, 6}} {
		v, ok := num(p[0], p[1])
		if !ok {
			return time.Time{}, false
		}
		f[i] = v
	}
	return time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], f[6]*1000, time.UTC), true
}
