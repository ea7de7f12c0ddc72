package api_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// monthOf etc. name an order's bucket the way the test expects it,
// computed with the standard library in Shanghai time.
func bucketOf(at time.Time, bucket string) string {
	l := at.In(shanghai)
	switch bucket {
	case "hour":
		return l.Format("2006-01-02T15") + ":00"
	case "day":
		return l.Format("2006-01-02")
	case "week":
		wd := int(l.Weekday())
		if wd == 0 {
			wd = 7
		}
		return l.AddDate(0, 0, 1-wd).Format("2006-01-02")
	case "month":
		return l.Format("2006-01")
	case "quarter":
		return fmt.Sprintf("%d-Q%d", l.Year(), (int(l.Month())-1)/3+1)
	}
	return l.Format("2006")
}

// TestDashKPIComparesWithThePreviousPeriod: the takings KPI over February
// (Shanghai time) against January, with the target, and the daily line
// with every empty day present as 0 — each checked against sums computed
// here from the seeded rows.
func TestDashKPIComparesWithThePreviousPeriod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShop(t, db)
		feb := time.Date(2026, 2, 1, 0, 0, 0, 0, shanghai)
		mar := feb.AddDate(0, 1, 0)
		jan := feb.AddDate(0, -1, 0)
		var cur, prev agg
		daily := map[string]*agg{}
		for _, o := range s.orders {
			switch {
			case !o.at.Before(feb) && o.at.Before(mar):
				cur.add(o)
				k := bucketOf(o.at, "day")
				if daily[k] == nil {
					daily[k] = &agg{}
				}
				daily[k].add(o)
			case !o.at.Before(jan) && o.at.Before(feb):
				prev.add(o)
			}
		}
		d := s.dash("admin", "?period=2026-02-01..2026-02-28")
		kpi := widgetOf(t, d, "takings")
		row := rowsOf(kpi)[0]
		wantDec(t, "February takings", vals(row)[0], cur.sum)
		wantDec(t, "February orders", vals(row)[1], decimal.NewFromInt(int64(cur.n)))
		k := kpi["kpi"].(map[string]any)
		wantDec(t, "January takings", k["previous"].([]any)[0], prev.sum)
		wantDec(t, "change", k["change"].([]any)[0], cur.sum.Sub(prev.sum))
		wantDec(t, "percent", k["percent"].([]any)[0], cur.sum.Sub(prev.sum).Mul(decimal.NewFromInt(100)).DivRound(prev.sum, 2))
		wantDec(t, "progress", k["progress"], cur.sum.Mul(decimal.NewFromInt(100)).DivRound(decimal.NewFromInt(50000), 2))
		if kpi["sqlMs"] == nil || kpi["cached"] != false {
			t.Errorf("kpi timing: %v %v", kpi["sqlMs"], kpi["cached"])
		}
		// The 00:30 order of February 1st counts in February, the 23:30
		// one of January 31st in January.
		s.checkDrill("admin", "kpi", row, 1, 0)
		n, sum := s.listAll("admin", k["previousDrill"].(string))
		if n != prev.n || !sum.Equal(prev.sum) {
			t.Errorf("previous period drill-down: %d orders %s, want %d %s", n, sum, prev.n, prev.sum)
		}

		rows := rowsOf(widgetOf(t, d, "daily"))
		if len(rows) != 28 {
			t.Fatalf("daily rows = %d, want every day of February", len(rows))
		}
		for i, r := range rows {
			day := feb.AddDate(0, 0, i).Format(time.DateOnly)
			if keys(r)[0] != day {
				t.Fatalf("row %d is %v, want %s", i, keys(r)[0], day)
			}
			want := daily[day]
			if want == nil {
				want = &agg{}
			}
			wantDec(t, day+" total", vals(r)[0], want.sum)
			wantDec(t, day+" orders", vals(r)[1], decimal.NewFromInt(int64(want.n)))
			if i == 14 && want.n != 0 {
				t.Fatalf("test setup: February 15th should be empty")
			}
			if i%5 == 0 || i == 14 {
				s.checkDrill("admin", "daily "+day, r, 1, 0)
			}
		}
	})
}

// TestDashBuckets: every bucket (hour to year) over all orders, in
// Shanghai time, with the empty buckets between the first and the last
// filled in.
func TestDashBuckets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShop(t, db)
		for _, bucket := range []string{"hour", "day", "week", "month", "quarter", "year"} {
			want := map[string]*agg{}
			for _, o := range s.orders {
				k := bucketOf(o.at, bucket)
				if want[k] == nil {
					want[k] = &agg{}
				}
				want[k].add(o)
			}
			r := s.adhoc("admin", map[string]any{"entity": "sale", "timeZone": "Asia/Shanghai",
				"measures":   []any{map[string]any{"name": "total", "expr": "sum(amount)"}, map[string]any{"name": "n", "expr": "count()"}},
				"dimensions": []any{map[string]any{"field": "at", "bucket": bucket}}})
			rows := rowsOf(r)
			got := map[string]map[string]any{}
			var order []string
			for _, row := range rows {
				k := keys(row)[0].(string)
				got[k] = row
				order = append(order, k)
			}
			if !sort.StringsAreSorted(order) {
				t.Errorf("%s: buckets out of order: %v", bucket, order)
			}
			for k, a := range want {
				row := got[k]
				if row == nil {
					t.Errorf("%s: no bucket %s", bucket, k)
					continue
				}
				wantDec(t, bucket+" "+k+" total", vals(row)[0], a.sum)
				wantDec(t, bucket+" "+k+" count", vals(row)[1], decimal.NewFromInt(int64(a.n)))
			}
			for k, row := range got {
				if want[k] == nil && (dec(t, vals(row)[1]).IntPart() != 0 || !dec(t, vals(row)[0]).IsZero()) {
					t.Errorf("%s: bucket %s should be empty: %v", bucket, k, row)
				}
			}
			filled := map[string]int{"day": 90, "month": 3, "quarter": 1, "year": 1}
			if n, ok := filled[bucket]; ok && len(rows) != n {
				t.Errorf("%s: %d buckets, want %d (empty ones filled)", bucket, len(rows), n)
			}
			if bucket == "month" {
				// The Shanghai month, not the UTC one.
				var jan, feb agg
				for _, o := range s.orders {
					if o.at.In(shanghai).Month() == time.January {
						jan.add(o)
					} else if o.at.In(shanghai).Month() == time.February {
						feb.add(o)
					}
				}
				wantDec(t, "January", vals(got["2026-01"])[0], jan.sum)
				wantDec(t, "February", vals(got["2026-02"])[0], feb.sum)
				s.checkDrill("admin", "month 2026-02", got["2026-02"], 1, 0)
			}
		}
	})
}

// TestDashTopNAndPivot: top 3 products by takings with the rest as
// "other", and the month × region pivot with row, column and grand totals
// (an average total is over the rows, not the cells); drill-downs list
// exactly the counted orders.
func TestDashTopNAndPivot(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShop(t, db)
		d := s.dash("admin", "")
		byProduct := map[string]*agg{}
		var all agg
		for _, o := range s.orders {
			if byProduct[o.product] == nil {
				byProduct[o.product] = &agg{}
			}
			byProduct[o.product].add(o)
			all.add(o)
		}
		ranked := sortedKeys(byProduct)
		sort.SliceStable(ranked, func(i, j int) bool { return byProduct[ranked[i]].sum.GreaterThan(byProduct[ranked[j]].sum) })
		rows := rowsOf(widgetOf(t, d, "top"))
		if len(rows) != 4 || rows[3]["other"] != true {
			t.Fatalf("top 3 and other: %v", rows)
		}
		rest := all.sum
		restN := all.n
		for i := 0; i < 3; i++ {
			if keys(rows[i])[0] != ranked[i] {
				t.Errorf("rank %d is %v, want %s", i+1, keys(rows[i])[0], ranked[i])
			}
			if labels := rows[i]["labels"].([]any); labels[0] == "" || labels[0] == ranked[i] {
				t.Errorf("a product shows by its name: %v", labels)
			}
			wantDec(t, fmt.Sprintf("rank %d", i+1), vals(rows[i])[0], byProduct[ranked[i]].sum)
			rest = rest.Sub(byProduct[ranked[i]].sum)
			restN -= byProduct[ranked[i]].n
			s.checkDrill("admin", fmt.Sprintf("rank %d", i+1), rows[i], 1, 0)
		}
		wantDec(t, "other", vals(rows[3])[0], rest)
		wantDec(t, "other count", vals(rows[3])[1], decimal.NewFromInt(int64(restN)))
		s.checkDrill("admin", "other", rows[3], 1, 0)

		// Pivot: month (Shanghai) × the store's region.
		type cell struct{ month, region string }
		cells, byMonth, byRegion := map[cell]*agg{}, map[string]*agg{}, map[string]*agg{}
		for _, o := range s.orders {
			c := cell{bucketOf(o.at, "month"), s.region[o.store]}
			for _, a := range []**agg{ptrTo(cells, c), ptrTo(byMonth, c.month), ptrTo(byRegion, c.region)} {
				if *a == nil {
					*a = &agg{}
				}
				(*a).add(o)
			}
		}
		pw := widgetOf(t, d, "regions")
		avgOf := func(a *agg) decimal.Decimal { return a.sum.DivRound(decimal.NewFromInt(int64(a.withAmount)), 6) }
		seen := 0
		for _, r := range rowsOf(pw) {
			k := keys(r)
			region, _ := k[1].(string)
			a := cells[cell{k[0].(string), region}]
			if a == nil {
				t.Errorf("unexpected cell %v", k)
				continue
			}
			seen++
			wantDec(t, fmt.Sprint("cell ", k), vals(r)[0], decimal.NewFromInt(int64(a.n)))
			wantDec(t, fmt.Sprint("cell sum ", k), vals(r)[1], a.sum)
			wantDec(t, fmt.Sprint("cell avg ", k), vals(r)[2], avgOf(a))
			s.checkDrill("admin", fmt.Sprint("cell ", k), r, 0, 1)
		}
		if seen != len(cells) {
			t.Errorf("pivot has %d cells, want %d", seen, len(cells))
		}
		pv := pw["pivot"].(map[string]any)
		for _, rt := range pv["rowTotals"].([]any) {
			r := rt.(map[string]any)
			a := byMonth[keys(r)[0].(string)]
			wantDec(t, fmt.Sprint("month total ", keys(r)), vals(r)[1], a.sum)
			wantDec(t, fmt.Sprint("month avg ", keys(r)), vals(r)[2], avgOf(a))
			s.checkDrill("admin", fmt.Sprint("month total ", keys(r)), r, 0, 1)
		}
		for _, ct := range pv["colTotals"].([]any) {
			r := ct.(map[string]any)
			region, _ := keys(r)[1].(string)
			a := byRegion[region]
			wantDec(t, "region total "+region, vals(r)[1], a.sum)
			wantDec(t, "region count "+region, vals(r)[0], decimal.NewFromInt(int64(a.n)))
			s.checkDrill("admin", "region total "+region, r, 0, 1)
		}
		total := pv["total"].(map[string]any)
		wantDec(t, "grand total", vals(total)[1], all.sum)
		wantDec(t, "grand avg", vals(total)[2], avgOf(&all))
	})
}

func ptrTo[K comparable](m map[K]*agg, k K) **agg {
	if m[k] == nil {
		m[k] = nil
	}
	p := new(*agg)
	*p = m[k]
	if *p == nil {
		*p = &agg{}
		m[k] = *p
	}
	return p
}

// TestDashMeasures: arithmetic over aggregates, min, max, avg, count
// distinct and a ref shown by its label, per store, against sums computed
// here; decimals add up exactly.
func TestDashMeasures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShop(t, db)
		r := s.adhoc("admin", map[string]any{"entity": "sale", "measures": []any{
			map[string]any{"name": "weighted", "expr": "sum(amount * probability) / 100"},
			map[string]any{"name": "per_order", "expr": "sum(amount) / count()"},
			map[string]any{"name": "lo", "expr": "min(amount)"},
			map[string]any{"name": "hi", "expr": "max(amount)"},
			map[string]any{"name": "avg_qty", "expr": "avg(qty)"},
			map[string]any{"name": "products", "expr": "count_distinct(product)"},
			map[string]any{"name": "n", "expr": "count(amount)"},
			map[string]any{"name": "total", "expr": "sum(amount)"},
			map[string]any{"name": "margin", "expr": "(sum(amount) - sum(cost)) / sum(amount) * 100"},
		}, "dimensions": []any{map[string]any{"field": "store"}}})
		type want struct {
			weighted, total, cost, qty decimal.Decimal
			n, withAmount, rows        int
			lo, hi                     *decimal.Decimal
			products                   map[string]bool
		}
		ws := map[string]*want{}
		for _, o := range s.orders {
			w := ws[o.store]
			if w == nil {
				w = &want{products: map[string]bool{}}
				ws[o.store] = w
			}
			w.rows++
			w.qty = w.qty.Add(decimal.NewFromInt(o.qty))
			w.products[o.product] = true
			w.cost = w.cost.Add(o.cost)
			if o.amount != nil {
				w.withAmount++
				w.total = w.total.Add(*o.amount)
				w.weighted = w.weighted.Add(o.amount.Mul(decimal.NewFromInt(o.probability)))
				if w.lo == nil || o.amount.LessThan(*w.lo) {
					w.lo = o.amount
				}
				if w.hi == nil || o.amount.GreaterThan(*w.hi) {
					w.hi = o.amount
				}
			}
		}
		rows := rowsOf(r)
		if len(rows) != len(ws) {
			t.Fatalf("%d stores, want %d: %v", len(rows), len(ws), rows)
		}
		for _, row := range rows {
			id, _ := keys(row)[0].(string)
			w := ws[id]
			v := vals(row)
			wantDec(t, id+" weighted", v[0], w.weighted.DivRound(decimal.NewFromInt(100), 6))
			wantDec(t, id+" per order", v[1], w.total.DivRound(decimal.NewFromInt(int64(w.rows)), 6))
			wantDec(t, id+" min", v[2], *w.lo)
			wantDec(t, id+" max", v[3], *w.hi)
			wantDec(t, id+" avg qty", v[4], w.qty.DivRound(decimal.NewFromInt(int64(w.rows)), 6))
			wantDec(t, id+" products", v[5], decimal.NewFromInt(int64(len(w.products))))
			wantDec(t, id+" count(amount) skips nulls", v[6], decimal.NewFromInt(int64(w.withAmount)))
			wantDec(t, id+" exact sum", v[7], w.total)
			m := w.total.Sub(w.cost).DivRound(w.total, 6).Mul(decimal.NewFromInt(100))
			if got := dec(t, v[8]); got == nil || got.Sub(m).Abs().GreaterThan(decimal.RequireFromString("0.001")) {
				t.Errorf("%s margin = %v, want %s", id, v[8], m)
			}
			label := row["labels"].([]any)[0]
			if id != "" && (label == "" || label == id) {
				t.Errorf("store %s shows as %v, want its name", id, label)
			}
			if id == "" && keys(row)[0] != nil {
				t.Errorf("orders without a store group under null: %v", row)
			}
		}
	})
}

// TestDashDaylightSaving: buckets in a zone whose offset changes (New
// York) are the zone's local days and hours, on both dialects.
func TestDashDaylightSaving(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShop(t, db)
		// Around the night clocks go forward (2026-03-08 02:00 → 03:00).
		for _, at := range []string{"2026-03-08T00:30:00-05:00", "2026-03-08T01:59:00-05:00", "2026-03-08T03:10:00-04:00", "2026-03-08T23:30:00-04:00"} {
			tm, _ := time.Parse(time.RFC3339, at)
			a := decimal.RequireFromString("1.00")
			s.addOrder(seedOrder{owner: s.users["rep1"].ID, at: tm, amount: &a, qty: 1, cost: a, product: s.products[0]})
		}
		for _, bucket := range []string{"day", "hour"} {
			want := map[string]int{}
			for _, o := range s.orders {
				l := o.at.In(ny)
				k := l.Format("2006-01-02")
				if bucket == "hour" {
					k = l.Format("2006-01-02T15") + ":00"
				}
				want[k]++
			}
			r := s.adhoc("admin", map[string]any{"entity": "sale", "timeZone": "America/New_York",
				"measures":   []any{map[string]any{"name": "n", "expr": "count()"}},
				"dimensions": []any{map[string]any{"field": "at", "bucket": bucket}}})
			got := map[string]int{}
			for _, row := range rowsOf(r) {
				if n := dec(t, vals(row)[0]).IntPart(); n > 0 {
					got[keys(row)[0].(string)] = int(n)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s buckets in New York:\n got %v\nwant %v", bucket, got, want)
			}
		}
	})
}
