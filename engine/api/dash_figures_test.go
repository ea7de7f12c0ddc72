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
