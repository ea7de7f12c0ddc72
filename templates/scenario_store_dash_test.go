package templates_test

import (
	"fmt"
	"testing"
	"time"
)

// storeSlice says whether viewer sees r, written out from the store-sales
// roles: a salesperson their own orders and lines, the team's members and
// restock requests, targets naming them, every store, SKU and stock; a
// manager the team's; the executive everything.
func (s *scen) storeSlice(viewer, entity string, r rec) bool {
	role := s.roleOf(viewer)
	switch {
	case role == "executive":
		return true
	case entity == "region" || entity == "store" || entity == "sku" || entity == "stock":
		return role == "rep" || role == "manager"
	}
	owner := str(r["owner"])
	if role == "rep" {
		switch entity {
		case "sales_order", "order_line":
			return owner == s.idOf(viewer)
		case "target":
			return str(r["rep"]) == s.idOf(viewer)
		}
	}
	return (role == "rep" || role == "manager") && s.teamOf(viewer)[owner]
}

// TestStoreDashboards: orders over ten weeks at two stores of two teams,
// members, targets, low stock and restock requests, written through the
// API by the salespeople and managers; then every widget of every
// store-sales dashboard, as each salesperson, manager and the executive,
// for all stores and for one, equals the figure computed here over the
// records of the viewer's slice.
func TestStoreDashboards(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			w := newStoreWorld(t, dialect)
			s := w.scen
			bag := str(s.create("mgr", "sku", map[string]any{"code": "BG-003", "name": "帆布包", "category": "accessories", "price": 59.9})["id"])
			for store, mgr := range map[string]string{w.east: "mgr", w.south: "mgr2"} {
				s.create(mgr, "stock", map[string]any{"store": store, "sku": bag, "opening": 200, "safety_stock": 20})
			}
			s.patch("mgr", "stock", w.stockTee, map[string]any{"opening": 300})
			regions := s.list("admin", "region", "")
			members := map[string][]string{}
			for i, rep := range []string{"rep1", "rep2", "rep3"} {
				for j := 0; j < 3; j++ {
					m := s.create(rep, "member", map[string]any{"name": fmt.Sprintf("%s 会员 %d", rep, j), "phone": fmt.Sprintf("1390000%d%03d", i, j),
						"region": regions[(i+j)%len(regions)]["id"], "city": "上海"})
					members[rep] = append(members[rep], str(m["id"]))
				}
			}
			skus := []string{w.tee, w.mug, bag}
			for i, rep := range []string{"rep1", "rep2", "rep3"} {
				store := map[string]string{"rep1": w.east, "rep2": w.east, "rep3": w.south}[rep]
				for k, ago := range []int{0, 1, 3, 6, 12, 25, 40, 70} {
					o := map[string]any{"store": store, "order_date": scenT0.AddDate(0, 0, -ago).In(shanghai).Format(time.DateOnly),
						"payment": []string{"wechat", "alipay", "card", "cash"}[k%4]}
					if k%3 != 2 {
						o["member"] = members[rep][k%3]
					}
					id := str(s.create(rep, "sales_order", o)["id"])
					for l := 0; l <= (i+k)%2; l++ {
						s.create(rep, "order_line", map[string]any{"sales_order": id, "sku": skus[(i+k+l)%3], "qty": 1 + (k+l)%3})
					}
				}
			}
			// A low stock at the south store: its restock draft (an open
			// request) and an alert.
			lowMug := str(s.list("admin", "stock", fmt.Sprintf(`store = %q && sku = %q`, w.south, w.mug))[0]["id"])
			s.patch("mgr2", "stock", lowMug, map[string]any{"safety_stock": 60})
			s.create("rep3", "restock", map[string]any{"stock": lowMug, "qty": 30})
			s.create("rep1", "restock", map[string]any{"stock": w.stockTee, "qty": 5})
			for _, tg := range []struct {
				mgr, store, rep, month string
				amount                 int
			}{
				{"mgr", w.east, "", "2030-01-01", 50000}, {"mgr", w.east, "", "2029-12-01", 45000}, {"mgr2", w.south, "", "2030-01-01", 30000},
				{"mgr", w.east, "rep1", "2030-01-01", 20000}, {"mgr", w.east, "rep2", "2030-01-01", 25000}, {"mgr2", w.south, "rep3", "2030-01-01", 30000},
				{"mgr", w.east, "rep1", "2029-12-01", 18000},
			} {
				body := map[string]any{"store": tg.store, "month": tg.month, "amount": tg.amount}
				if tg.rep != "" {
					body["rep"] = s.ids[tg.rep]
				}
				s.create(tg.mgr, "target", body)
			}
			s.settle()

			s.checkTree()
			viewers := []string{"rep1", "rep2", "rep3", "mgr", "mgr2", "boss"}
			for _, store := range []string{"", w.east} {
				query := ""
				if store != "" {
					query = "?store=" + store
				}
				s.checkAll(s.storeWants(store), query, viewers, s.storeSlice)
			}
		})
	}
}

// storeWants are the store-sales dashboards, widget by widget, as Go over
// the records, for the dashboards' store parameter store ("" for none):
// each filter, period (on the engine clock, Shanghai days), grouping and
// measure written out by hand. The customers dashboard takes no store.
func (s *scen) storeWants(store string) map[string]map[string]want {
	orderStore := map[string]string{}
	for _, o := range s.list("admin", "sales_order", "") {
		orderStore[str(o["id"])] = str(o["store"])
	}
	stockStore := map[string]string{}
	for _, st := range s.list("admin", "stock", "") {
		stockStore[str(st["id"])] = str(st["store"])
	}
	sh := shanghai
	from30, to := s.lastDays(30, sh)
	from7, _ := s.lastDays(7, sh)
	from90, _ := s.lastDays(90, sh)
	now := s.clk.Now().In(sh)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, sh)
	monthFrom, monthTo := month.Format(time.DateOnly), month.AddDate(0, 1, -1).Format(time.DateOnly)
	at := func(field string) func(r rec) bool {
		return func(r rec) bool { return store == "" || str(r[field]) == store }
	}
	and := func(fs ...func(r rec) bool) func(r rec) bool {
		return func(r rec) bool {
			for _, f := range fs {
				if !f(r) {
					return false
				}
			}
			return true
		}
	}
	in := func(field, from, to string) func(r rec) bool {
		return func(r rec) bool { return within(r, field, sh, from, to) }
	}
	lineAt := func(r rec) bool { return store == "" || orderStore[str(r["sales_order"])] == store }
	restockAt := func(r rec) bool { return store == "" || stockStore[str(r["stock"])] == store }
	low := func(r rec) bool { return r["below_safety"] == true }
	takings := sum("total")
	return map[string]map[string]want{
		"sales": {
			"takings_today":  {entity: "sales_order", keep: and(at("store"), in("order_date", to, to)), ms: ms(takings)},
			"takings_period": {entity: "sales_order", keep: and(at("store"), in("order_date", from30, to)), ms: ms(takings)},
			"basket":         {entity: "sales_order", keep: and(at("store"), in("order_date", from30, to)), ms: ms(ratio(takings, count()))},
			"daily_trend": {entity: "sales_order", keep: and(at("store"), in("order_date", from30, to)),
				dims: dims(bucket("order_date", "day", sh)), ms: ms(takings, count())},
			"best_sellers": {entity: "order_line", keep: and(lineAt, in("order_date", from30, to)), dims: dims(fld("sku")), ms: ms(sum("qty"), sum("amount"))},
			"takings_by_store_day": {entity: "sales_order", keep: in("order_date", from7, to),
				dims: dims(fld("store"), bucket("order_date", "day", sh)), ms: ms(takings)},
		},
		"stores": {
			"league": {entity: "sales_order", keep: in("order_date", monthFrom, monthTo), dims: dims(fld("store")), ms: ms(takings, count(), ratio(takings, count()))},
			"store_targets": {entity: "target", keep: and(func(r rec) bool { return r["rep"] == nil }, in("month", monthFrom, monthTo)),
				dims: dims(fld("store")), ms: ms(sum("amount"))},
			"by_rep": {entity: "sales_order", keep: and(at("store"), in("order_date", monthFrom, monthTo)), dims: dims(fld("rep")), ms: ms(takings, count())},
			"rep_targets": {entity: "target", keep: and(func(r rec) bool { return r["rep"] != nil }, at("store"), in("month", monthFrom, monthTo)),
				dims: dims(fld("rep")), ms: ms(sum("amount"))},
		},
		"stock": {
			"alerts_count": {entity: "stock", keep: and(low, at("store")), ms: ms(count())},
			"open_restocks": {entity: "restock", keep: and(func(r rec) bool { return r["stage"] == "draft" || r["stage"] == "approved" }, restockAt),
				ms: ms(count())},
			"alerts": {entity: "stock", keep: and(low, at("store")), dims: dims(fld("store"), fld("sku")), ms: ms(sum("on_hand"), sum("safety_stock"))},
		},
		"customers": {
			"by_region": {entity: "member", dims: dims(fld("region")), ms: ms(count())},
			"segments":  {entity: "member", dims: dims(fld("segment")), ms: ms(count(), sum("spent"))},
			"top_members": {entity: "sales_order", keep: func(r rec) bool { return r["member"] != nil && within(r, "order_date", sh, from90, to) },
				dims: dims(fld("member")), ms: ms(sum("total"), count())},
		},
	}
}
