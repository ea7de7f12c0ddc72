package api_test

import (
	"fmt"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// TestDashRowRules: a rep's dashboard counts only their own orders, the
// manager of "sales" those of "sales" and of the team below it ("east"),
// the executive all — each total computed here from who owns what — and
// every drill-down, listed as that viewer, matches their figure.
func TestDashRowRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShop(t, db)
		totals := map[string]decimal.Decimal{}
		for _, who := range []string{"rep1", "rep2", "rep3", "mgr", "exec"} {
			var want agg
			byRegion := map[string]*agg{}
			for _, o := range s.orders {
				if s.sees(who, o) {
					want.add(o)
					k := s.region[o.store]
					if byRegion[k] == nil {
						byRegion[k] = &agg{}
					}
					byRegion[k].add(o)
				}
			}
			totals[who] = want.sum
			d := s.dash(who, "?period=2026-01-01..2026-03-31")
			row := rowsOf(widgetOf(t, d, "takings"))[0]
			wantDec(t, who+" takings", vals(row)[0], want.sum)
			wantDec(t, who+" orders", vals(row)[1], decimal.NewFromInt(int64(want.n)))
			s.checkDrill(who, who+" takings", row, 1, 0)
			pv := widgetOf(t, d, "regions")["pivot"].(map[string]any)
			for _, ct := range pv["colTotals"].([]any) {
				r := ct.(map[string]any)
				region, _ := keys(r)[1].(string)
				wantDec(t, who+" region "+region, vals(r)[1], byRegion[region].sum)
				s.checkDrill(who, who+" region "+region, r, 0, 1)
			}
			// Ad-hoc queries run under the same rules.
			r := s.adhoc(who, map[string]any{"entity": "sale", "measures": []any{map[string]any{"name": "t", "expr": "sum(amount)"}}})
			wantDec(t, who+" ad-hoc", vals(rowsOf(r)[0])[0], want.sum)
		}
		if totals["rep1"].Equal(totals["mgr"]) || totals["mgr"].Equal(totals["exec"]) {
			t.Fatalf("test setup: viewers should see different totals: %v", totals)
		}

		// The "rep" parameter narrows the executive's view to one rep.
		var rep2 agg
		for _, o := range s.orders {
			if o.owner == s.users["rep2"].ID {
				rep2.add(o)
			}
		}
		d := s.dash("exec", "?period=2026-01-01..2026-03-31&rep="+s.users["rep2"].ID)
		row := rowsOf(widgetOf(t, d, "takings"))[0]
		wantDec(t, "exec filtered to rep2", vals(row)[0], rep2.sum)
		s.checkDrill("exec", "exec filtered to rep2", row, 1, 0)
		// A rep asking for another rep's orders gets their own subset: none.
		d = s.dash("rep1", "?rep="+s.users["rep2"].ID)
		wantDec(t, "rep1 asking for rep2", vals(rowsOf(widgetOf(t, d, "takings"))[0])[0], decimal.Zero)
	})
}

// TestDashHiddenField: a field hidden from the viewer cannot be measured,
// grouped or filtered on — the widget answers a clear error, never a
// smaller number — while the rest of the dashboard still answers.
func TestDashHiddenField(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newShop(t, db)
		var cost decimal.Decimal
		for _, o := range s.orders {
			cost = cost.Add(o.cost)
		}
		d := s.dash("exec", "")
		wantDec(t, "executive sees the cost", vals(rowsOf(widgetOf(t, d, "margin"))[0])[0], cost)
		for _, who := range []string{"rep1", "mgr"} {
			d := s.dash(who, "")
			for _, w := range d["widgets"].([]any) {
				m := w.(map[string]any)
				if m["id"] != "margin" {
					if m["error"] != nil {
						t.Errorf("%s: widget %s failed: %v", who, m["id"], m["error"])
					}
					continue
				}
				e, _ := m["error"].(map[string]any)
				if e == nil || e["code"] != "field_hidden" || len(m["rows"].([]any)) != 0 {
					t.Errorf("%s: the cost widget must answer field_hidden, got %v", who, m)
				}
			}
			st, body := s.doAs(s.tokenOf(who), "GET", "/api/dash/shop/sales/widgets/margin", nil)
			wantErr(t, who+" margin widget", st, body, 403, "field_hidden")
			for i, q := range []map[string]any{
				{"entity": "sale", "measures": []any{map[string]any{"name": "c", "expr": "sum(cost)"}}},
				{"entity": "sale", "measures": []any{map[string]any{"name": "c", "expr": "sum(amount - cost)"}}},
				{"entity": "sale", "measures": []any{map[string]any{"name": "n", "expr": "count()"}}, "dimensions": []any{map[string]any{"field": "cost"}}},
				{"entity": "sale", "measures": []any{map[string]any{"name": "n", "expr": "count()"}}, "filter": "cost > 10"},
			} {
				st, body := s.doAs(s.tokenOf(who), "POST", "/api/query/shop", map[string]any{"query": q})
				wantErr(t, fmt.Sprintf("%s query %d", who, i), st, body, 403, "field_hidden")
			}
		}
	})
}
