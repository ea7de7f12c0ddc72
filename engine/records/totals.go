package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// The counts a list may ask for (Query.Count).
const (
	CountExact    = "exact"
	CountEstimate = "estimate"
)

// estimateFloor is how many rows an estimated count counts exactly before
// it estimates: below it the count is cheap (one short index range) and an
// estimate would only be wrong.
const estimateFloor = 1000

// maxTotals bounds the totals of one list.
const maxTotals = 20

// total is one aggregate of a list's totals row: count, or sum, avg, min
// or max of a field.
type total struct {
	op    string
	field *schema.Field // nil for count
}

// TotalValue is one computed total. Value is a json.Number, a date or
// datetime, or nil (no record has a value).
type TotalValue struct {
	Op    string
	Field string
	Value any
}

var totalOps = []string{"count", "sum", "avg", "min", "max"}

// parseTotals reads the totals parameter: "count,sum:amount,avg:amount".
// sum and avg take number fields, min and max numbers and dates; a field
// the caller may not see is unknown, and per-reader rollups (computed per
// reader, not stored) cannot be aggregated in SQL.
func (info *entityInfo) parseTotals(spec string, rr []readerRollup) ([]total, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		return &Error{Status: 400, Code: CodeBadQuery, Message: "totals: " + msg,
			Details: []schema.Problem{{Path: "/totals", Code: "totals", Message: msg}}}
	}
	perReader := perReaderNames(rr)
	parts := strings.Split(spec, ",")
	if len(parts) > maxTotals {
		return nil, bad("at most %d totals", maxTotals)
	}
	var out []total
	seen := map[string]bool{}
	for _, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		op, name, hasField := strings.Cut(part, ":")
		t := total{op: op}
		switch {
		case op == "count" && !hasField:
		case op == "count":
			return nil, bad("count takes no field (it counts records): write count")
		case op != "sum" && op != "avg" && op != "min" && op != "max":
			return nil, bad("unknown total %q: use count, sum:field, avg:field, min:field or max:field", op)
		case !hasField || name == "":
			return nil, bad("%s needs a field, e.g. %s:amount", op, op)
		default:
			f := info.byName[name]
			if f == nil {
				return nil, bad("unknown field %q", name)
			}
			if perReader[name] {
				return nil, bad("%s is computed per reader and cannot be totalled", name)
			}
			st := f.StorageType()
			numeric := st == schema.Integer || st == schema.Decimal
			if !numeric && ((op == "sum" || op == "avg") || (st != schema.Date && st != schema.DateTime)) {
				return nil, bad("%s of %s: %s is a %s field (sum and avg take numbers; min and max numbers and dates)", op, name, name, st)
			}
			t.field = f
		}
		if key := part; !seen[key] {
			seen[key] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// countAndTotals fills the page's count and totals when the query asks,
// over every record of the list (row rule and filter; not the cursor).
func (s *Service) countAndTotals(ctx context.Context, lp *listPlan, q Query, page *Page) error {
	if q.Count == "" && len(lp.totals) == 0 {
		return nil
	}
	where, args := lp.whereClause(false)
	from := " FROM " + store.Quote(lp.info.table) + where
	if q.Count == CountEstimate && len(lp.totals) == 0 {
		n, exact, err := s.estimate(ctx, lp, from, where, args)
		if err != nil {
			return err
		}
		page.Count, page.CountExact = &n, exact
		return nil
	}
	// One statement: COUNT(*), then per total what it needs.
	cols := []string{"COUNT(*)"}
	for _, t := range lp.totals {
		switch t.op {
		case "sum":
			cols = append(cols, "SUM("+store.Quote(t.field.Name)+")")
		case "avg":
			cols = append(cols, "SUM("+store.Quote(t.field.Name)+")", "COUNT("+store.Quote(t.field.Name)+")")
		case "min", "max":
			cols = append(cols, strings.ToUpper(t.op)+"("+store.Quote(t.field.Name)+")")
		}
	}
	raw := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := s.db.Pool().QueryRowContext(ctx, "SELECT "+strings.Join(cols, ", ")+from, args...).Scan(ptrs...); err != nil {
		return fmt.Errorf("records: totals: %w", err)
	}
	n, err := toInt(raw[0])
	if err != nil {
		return fmt.Errorf("records: count: %w", err)
	}
	if q.Count != "" {
		page.Count, page.CountExact = &n, true
	}
	i := 1
	page.Totals = []TotalValue{}
	for _, t := range lp.totals {
		tv := TotalValue{Op: t.op}
		switch t.op {
		case "count":
			tv.Value = json.Number(strconv.FormatInt(n, 10))
		case "sum":
			tv.Field = t.field.Name
			d, ok, err := s.sumValue(t.field, raw[i])
			if err != nil {
				return err
			}
			if ok {
				tv.Value = json.Number(d.String())
			}
			i++
		case "avg":
			tv.Field = t.field.Name
			d, ok, err := s.sumValue(t.field, raw[i])
			if err != nil {
				return err
			}
			m, err := toInt(raw[i+1])
			if err != nil {
				return err
			}
			if ok && m > 0 {
				scale := int32(2)
				if t.field.StorageType() == schema.Decimal {
					scale += int32(t.field.DecimalScale())
				}
				tv.Value = json.Number(d.DivRound(decimal.NewFromInt(m), scale).StringFixed(scale))
			}
			i += 2
		case "min", "max":
			tv.Field = t.field.Name
			if raw[i] != nil {
				v, err := decode(s.dialect, t.field, raw[i])
				if err != nil {
					return fmt.Errorf("records: %s %s: %w", t.op, t.field.Name, err)
				}
				tv.Value = v
			}
			i++
		}
		page.Totals = append(page.Totals, tv)
	}
	return nil
}

// estimate counts the list's records: exactly up to estimateFloor, beyond
// it PostgreSQL's planner estimate (EXPLAIN, no rows read). SQLite has no
// estimate for a filtered list short of its statistics' averages, so
// there a filtered count is counted; an unfiltered one comes from
// sqlite_stat1 when ANALYZE has filled it (Forma does not run ANALYZE on
// SQLite: with statistics it re-prepares range queries on every run).
func (s *Service) estimate(ctx context.Context, lp *listPlan, from, where string, args []any) (int64, bool, error) {
	var n int64
	capped := "SELECT COUNT(*) FROM (SELECT 1" + from + " LIMIT " + strconv.Itoa(estimateFloor+1) + ") AS c"
	if err := s.db.Pool().QueryRowContext(ctx, capped, args...).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("records: count: %w", err)
	}
	if n <= estimateFloor {
		return n, true, nil
	}
	if s.dialect == "postgres" {
		var plan string
		if err := s.db.Pool().QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) SELECT 1"+from, args...).Scan(&plan); err != nil {
			return 0, false, fmt.Errorf("records: estimate count: %w", err)
		}
		var out []struct {
			Plan struct {
				Rows float64 `json:"Plan Rows"`
			} `json:"Plan"`
		}
		if err := json.Unmarshal([]byte(plan), &out); err != nil || len(out) == 0 {
			return 0, false, fmt.Errorf("records: estimate count: unexpected plan %.200s", plan)
		}
		// Never below what was counted.
		return max(int64(out[0].Plan.Rows), estimateFloor+1), false, nil
	}
	if where == "" {
		var stat string
		err := s.db.Pool().QueryRowContext(ctx, "SELECT stat FROM sqlite_stat1 WHERE tbl = ? LIMIT 1", lp.info.table).Scan(&stat)
		if err == nil {
			if first, _, _ := strings.Cut(stat, " "); first != "" {
				if v, err := strconv.ParseInt(first, 10, 64); err == nil {
					return max(v, estimateFloor+1), false, nil
				}
			}
		}
		// No statistics (the usual case: no such table): count.
	}
	if err := s.db.Pool().QueryRowContext(ctx, "SELECT COUNT(*)"+from, args...).Scan(&n); err != nil {
		return 0, false, fmt.Errorf("records: count: %w", err)
	}
	return n, true, nil
}

// sumValue reads a SUM of field f as a decimal (SQLite stores decimals as
// integers scaled by 10^scale); ok is false for a sum over no values.
func (s *Service) sumValue(f *schema.Field, raw any) (decimal.Decimal, bool, error) {
	if raw == nil {
		return decimal.Decimal{}, false, nil
	}
	var d decimal.Decimal
	switch x := raw.(type) {
	case int64:
		d = decimal.NewFromInt(x)
		if s.dialect == "sqlite" && f.StorageType() == schema.Decimal {
			d = decimal.New(x, -int32(f.DecimalScale()))
		}
	case float64:
		d = decimal.NewFromFloat(x)
	case []byte:
		var err error
		if d, err = decimal.NewFromString(string(x)); err != nil {
			return d, false, fmt.Errorf("records: sum %s: %w", f.Name, err)
		}
	case string:
		var err error
		if d, err = decimal.NewFromString(x); err != nil {
			return d, false, fmt.Errorf("records: sum %s: %w", f.Name, err)
		}
	default:
		return d, false, fmt.Errorf("records: sum %s: unexpected %T", f.Name, raw)
	}
	return d, true, nil
}

func toInt(raw any) (int64, error) {
	switch x := raw.(type) {
	case int64:
		return x, nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	case nil:
		return 0, nil
	}
	return 0, errors.New("unexpected count type")
}

// appendTotals appends ,"totals":{"count":n,"sum":{"amount":…},…}: ops in
// a fixed order, fields in the order asked.
func appendTotals(b []byte, totals []TotalValue) []byte {
	b = append(b, `,"totals":{`...)
	first := true
	for _, op := range totalOps {
		opened := false
		for _, t := range totals {
			if t.Op != op {
				continue
			}
			if op == "count" {
				if !first {
					b = append(b, ',')
				}
				first = false
				b = append(b, `"count":`...)
				b = appendValue(b, t.Value)
				break
			}
			if !opened {
				if !first {
					b = append(b, ',')
				}
				first = false
				b = appendString(b, op)
				b = append(b, ":{"...)
				opened = true
			} else {
				b = append(b, ',')
			}
			b = appendString(b, t.Field)
			b = append(b, ':')
			b = appendValue(b, t.Value)
		}
		if opened {
			b = append(b, '}')
		}
	}
	return append(b, '}')
}
