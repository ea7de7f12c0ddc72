package api_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// TestDashRefusedOnApply: a dashboard with a measure on a text field, a
// bucket on a non-date, an unknown parameter, a widget on a missing entity
// or a filter that does not compile is refused with the pointer, and the
// installed app stays as it was.
func TestDashRefusedOnApply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, shopApp)
		for _, c := range []struct{ from, to, path string }{
			{`"expr": "sum(amount)", "unit": "CNY"`, `"expr": "sum(title)", "unit": "CNY"`, "/dashboards/0/widgets/0/query/measures/0/expr"},
			{`{"field": "at", "bucket": "day"}`, `{"field": "qty", "bucket": "day"}`, "/dashboards/0/widgets/1/query/dimensions/0/bucket"},
			{`"filter": "store = @store && owner = @rep",
         "measures": [{"name": "total", "expr": "sum(amount)", "unit": "CNY"}`, `"filter": "store = @shop",
         "measures": [{"name": "total", "expr": "sum(amount)", "unit": "CNY"}`, "/dashboards/0/widgets/0/query/filter"},
			{`"query": {"entity": "sale", "measures": [{"name": "cost"`, `"query": {"entity": "order", "measures": [{"name": "cost"`, "/dashboards/0/widgets/4/query/entity"},
			{`"period": {"field": "at", "param": "period"}}},
      {"id": "daily"`, `"period": {"field": "at", "param": "month"}}},
      {"id": "daily"`, "/dashboards/0/widgets/0/query/period/param"},
			{`"filter": "store = @store && owner = @rep",
         "measures": [{"name": "total", "expr": "sum(amount)", "unit": "CNY"}`, `"filter": "qty ~ 3",
         "measures": [{"name": "total", "expr": "sum(amount)", "unit": "CNY"}`, "/dashboards/0/widgets/0/query/filter"},
			{`"dimensions": [{"field": "product"}]`, `"dimensions": [{"field": "product.price"}]`, "/dashboards/0/widgets/2/query/dimensions/0/field"},
		} {
			if !strings.Contains(shopApp, c.from) {
				t.Fatalf("test setup: %q not in shopApp", c.from)
			}
			doc := strings.Replace(shopApp, c.from, c.to, 1)
			st, body := e.do("POST", "/api/meta/apps", doc)
			wantErr(t, c.path, st, body, 422, "validation_failed")
			wantDetail(t, c.path, body, c.path)
		}
		st, body := e.do("GET", "/api/meta/apps/shop", nil)
		if st != 200 || fmt.Sprint(body["version"]) != "1" {
			t.Errorf("a refused document changed the app: %d version %v", st, body["version"])
		}
		// Unknown or malformed dashboard parameters are refused too.
		st, body = e.do("GET", "/api/dash/shop/sales?month=2026-01", nil)
		wantErr(t, "unknown parameter", st, body, 400, "invalid_query")
		wantDetail(t, "unknown parameter", body, "/month")
		st, body = e.do("GET", "/api/dash/shop/sales?period=2026-13-01..2026-12-01", nil)
		wantErr(t, "bad period", st, body, 400, "invalid_query")
		st, body = e.do("GET", "/api/dash/shop/nope", nil)
		wantErr(t, "unknown dashboard", st, body, 404, "not_found")
		st, body = e.do("GET", "/api/dash/shop/sales/widgets/nope", nil)
		wantErr(t, "unknown widget", st, body, 404, "not_found")
	})
}

// TestDashAdHocInjection: names in an ad-hoc query are checked against the
// app before anything runs; injection attempts are refused with the
// pointer and the tables are untouched.
func TestDashAdHocInjection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShop(t, db)
		s.create("shop/secret", map[string]any{"value": "keep"})
		before := s.count("shop/sale")
		m := func(name, expr string) []any { return []any{map[string]any{"name": name, "expr": expr}} }
		for _, c := range []struct {
			q    map[string]any
			path string
		}{
			{map[string]any{"entity": `sale"; DROP TABLE "shop_secret`, "measures": m("n", "count()")}, "/query/entity"},
			{map[string]any{"entity": "sale", "measures": m("n", `sum(amount); DROP TABLE shop_secret; --`)}, "/query/measures/0/expr"},
			{map[string]any{"entity": "sale", "measures": m("n", `sum("amount")`)}, "/query/measures/0/expr"},
			{map[string]any{"entity": "sale", "measures": m(`n" FROM shop_secret --`, "count()")}, "/query/measures/0/name"},
			{map[string]any{"entity": "sale", "measures": m("n", "count()"), "dimensions": []any{map[string]any{"field": `title" FROM shop_secret --`}}}, "/query/dimensions/0/field"},
			{map[string]any{"entity": "sale", "measures": m("n", "count()"), "dimensions": []any{map[string]any{"field": "store.name) FROM shop_secret --"}}}, "/query/dimensions/0/field"},
			{map[string]any{"entity": "sale", "measures": m("n", "count()"), "sort": "n; DROP TABLE shop_secret"}, "/query/sort"},
			{map[string]any{"entity": "sale", "measures": m("n", "count()"), "timeZone": "UTC'; DROP TABLE shop_secret; --"}, "/query/timeZone"},
			{map[string]any{"entity": "sale", "measures": m("n", "count()"), "dimensions": []any{map[string]any{"field": "at", "bucket": "day'); DROP TABLE shop_secret; --"}}}, "/query/dimensions/0/bucket"},
			{map[string]any{"entity": "sale", "measures": m("n", "count()"), "filter": "@store = 1"}, "/query/filter"},
		} {
			st, body := s.do("POST", "/api/query/shop", map[string]any{"query": c.q})
			if st != 422 && st != 400 {
				t.Errorf("%v: status %d, want a refusal: %v", c.q, st, body)
				continue
			}
			if st == 422 {
				wantDetail(t, fmt.Sprint(c.q), body, c.path)
			}
		}
		// A filter with SQL in a value is a value, compared as such.
		r := s.adhoc("admin", map[string]any{"entity": "sale", "measures": m("n", "count()"), "filter": `title = "x'); DROP TABLE shop_secret; --"`})
		wantDec(t, "injection in a value", vals(rowsOf(r)[0])[0], decNum(0))
		if s.count("shop/secret") != 1 || s.count("shop/sale") != before {
			t.Fatal("an ad-hoc query changed data")
		}
		st, body := s.do("POST", "/api/query/shop", `{"query": {"entity": "sale", "measures": [{"name": "n", "expr": "count()"}]}, "sql": "SELECT 1"}`)
		wantErr(t, "unknown body key", st, body, 422, "validation_failed")
		st, body = s.do("POST", "/api/query/shop", `{"query": {"entity": "sale", "entity": "secret", "measures": [{"name": "n", "expr": "count()"}]}}`)
		wantErr(t, "a key given twice", st, body, 422, "validation_failed")
	})
}

// TestDashExport: one widget as CSV and as an Excel workbook, with labels
// for refs and the same figures as the JSON answer.
func TestDashExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShop(t, db)
		st, body := s.doAs(s.tokenOf("exec"), "GET", "/api/dash/shop/sales/widgets/top", nil)
		if st != 200 {
			t.Fatalf("widget: %d %v", st, body)
		}
		rows := rowsOf(body)
		st, raw := s.raw(s.tokenOf("exec"), "GET", "/api/dash/shop/sales/widgets/top.csv", nil)
		if st != 200 {
			t.Fatalf("csv: %d %s", st, raw)
		}
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(rows)+1 || recs[0][0] != "product" || recs[0][1] != "total" {
			t.Fatalf("csv = %v", recs)
		}
		for i, r := range rows {
			label := r["labels"].([]any)[0]
			if r["other"] == true {
				label = "other"
			}
			if recs[i+1][0] != label || recs[i+1][1] != fmt.Sprint(vals(r)[0]) {
				t.Errorf("csv row %d = %v, want %v %v", i, recs[i+1], label, vals(r)[0])
			}
		}
		st, raw = s.raw(s.tokenOf("exec"), "GET", "/api/dash/shop/sales/widgets/top.xlsx", nil)
		if st != 200 {
			t.Fatalf("xlsx: %d", st)
		}
		f, err := excelize.OpenReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		xrows, err := f.GetRows(f.GetSheetName(0))
		if err != nil {
			t.Fatal(err)
		}
		if len(xrows) != len(rows)+1 || xrows[1][0] != recs[1][0] {
			t.Fatalf("xlsx = %v", xrows)
		}
		wantDec(t, "xlsx figure", xrows[1][1], *dec(t, vals(rows[0])[0]))
		// Exports obey the same rules.
		st, _ = s.raw(s.tokenOf("rep1"), "GET", "/api/dash/shop/sales/widgets/margin.csv", nil)
		if st != 403 {
			t.Errorf("a rep exporting the cost widget: %d, want 403", st)
		}
	})
}
