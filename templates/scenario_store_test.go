package templates_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// storeWorld is the store-sales template with two stores of two teams and
// a warehouse, set up by the executive and the managers through the API.
type storeWorld struct {
	*scen
	east, south, wh   string // store ids: 静安店 (mgr's team), 天河店 (mgr2's), 华东仓
	tee, mug          string // SKU ids
	stockTee, stockWH string // stock ids: T-shirts at 静安店 and at the warehouse
}

func newStoreWorld(t *testing.T, dialect string) *storeWorld {
	s := &storeWorld{scen: newScen(t, "store-sales", dialect)}
	eastR := s.create("boss", "region", map[string]any{"name": "华东"})
	southR := s.create("boss", "region", map[string]any{"name": "华南"})
	s.east = str(s.create("boss", "store", map[string]any{"name": "静安店", "code": "SH01", "region": eastR["id"], "city": "上海", "store_manager": s.ids["mgr"]})["id"])
	s.south = str(s.create("boss", "store", map[string]any{"name": "天河店", "code": "GZ01", "region": southR["id"], "city": "广州", "store_manager": s.ids["mgr2"]})["id"])
	s.wh = str(s.create("boss", "store", map[string]any{"name": "华东仓", "code": "WH01", "kind": "warehouse", "region": eastR["id"]})["id"])
	s.tee = str(s.create("mgr", "sku", map[string]any{"code": "TS-001", "name": "纯棉T恤", "category": "apparel", "price": 99, "cost": 35})["id"])
	s.mug = str(s.create("mgr", "sku", map[string]any{"code": "MG-002", "name": "保温杯", "category": "accessories", "price": 129.5, "cost": 60})["id"])
	s.stockTee = str(s.create("mgr", "stock", map[string]any{"store": s.east, "sku": s.tee, "opening": 5, "safety_stock": 2})["id"])
	s.create("mgr", "stock", map[string]any{"store": s.east, "sku": s.mug, "opening": 50, "safety_stock": 5})
	s.create("mgr2", "stock", map[string]any{"store": s.south, "sku": s.tee, "opening": 40, "safety_stock": 5})
	s.create("mgr2", "stock", map[string]any{"store": s.south, "sku": s.mug, "opening": 40, "safety_stock": 5})
	s.stockWH = str(s.create("boss", "stock", map[string]any{"store": s.wh, "sku": s.tee, "opening": 500, "safety_stock": 50})["id"])
	return s
}

// TestStoreScenario: through the HTTP API as a salesperson, their store
// manager and the executive, on the test clock: an order line draws the
// store's stock down; a line that would take it below zero is refused and
// changes nothing (nor do malformed lines); falling below safety stock
// drafts a restock and tells the manager, and the morning's stock alert
// stops promoting the SKU; the salesperson submits the request, the
// manager approves it (the salesperson cannot), receives it, and the stock
// rises, after which promotion resumes.
func TestStoreScenario(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			s := newStoreWorld(t, dialect)
			data := "/api/data/storesales/"
			stock := func() map[string]any { return s.rec("admin", "stock", s.stockTee) }
			order := s.create("rep1", "sales_order", map[string]any{"store": s.east})
			orderID := str(order["id"])
			if order["order_date"] != "2030-01-07" || str(order["rep"]) != s.ids["rep1"] {
				t.Fatalf("a new order's defaults (today on the engine clock, the salesperson): %v", order)
			}
			line := s.create("rep1", "order_line", map[string]any{"sales_order": orderID, "sku": s.tee, "qty": 2})
			if str(line["stock"]) != s.stockTee || !dec(t, line["amount"]).Equal(decimal.NewFromInt(198)) {
				t.Fatalf("the line: %v", line)
			}
			if got := stock(); str(got["on_hand"]) != "3" || str(got["sold"]) != "2" || got["below_safety"] != false {
				t.Fatalf("stock after selling 2 of 5: %v", got)
			}

			// Refusals change nothing: too many, a zero quantity, a
			// quantity that is not a number, an unknown field.
			snapshot := func() string {
				o := s.rec("admin", "sales_order", orderID)
				return fmt.Sprint(stock()["on_hand"], stock()["version"], o["total"], o["units"], o["version"], len(s.all("order_line")), s.rec("admin", "sku", s.tee)["units_sold"])
			}
			before := snapshot()
			for _, bad := range []struct {
				body map[string]any
				want int
				text string
			}{
				{map[string]any{"sales_order": orderID, "sku": s.tee, "qty": 4}, 422, "库存不足"},
				{map[string]any{"sales_order": orderID, "sku": s.tee, "qty": 0}, 422, "qty"},
				{map[string]any{"sales_order": orderID, "sku": s.tee, "qty": "two"}, 422, "qty"},
				{map[string]any{"sales_order": orderID, "sku": s.tee, "qty": 1, "discount": 50}, 422, "unknown_field"},
				{map[string]any{"sales_order": orderID, "sku": "01jzzzzzzzzzzzzzzzzzzzzzzz", "qty": 1}, 422, ""},
			} {
				st, body := s.do("rep1", "POST", data+"order_line", bad.body)
				if st != bad.want || !strings.Contains(mustJSON(t, body), bad.text) {
					t.Errorf("line %v: %d %v, want %d naming %q", bad.body, st, body, bad.want, bad.text)
				}
			}
			if after := snapshot(); after != before {
				t.Fatalf("refused lines changed something: %s → %s", before, after)
			}
			// Another team's salesperson cannot sell on this order.
			if st, _ := s.do("rep3", "POST", data+"order_line", map[string]any{"sales_order": orderID, "sku": s.tee, "qty": 1}); st < 400 {
				t.Errorf("rep3 sold on rep1's order: %d", st)
			}
			if after := snapshot(); after != before {
				t.Fatalf("a stranger's line changed something: %s → %s", before, after)
			}

			// 2 more leave 1, below the safety stock of 2: a restock
			// draft of 2 × 2 − 1 = 3 and a word to the manager.
			s.create("rep1", "order_line", map[string]any{"sales_order": orderID, "sku": s.tee, "qty": 2})
			if got := stock(); str(got["on_hand"]) != "1" || got["below_safety"] != true {
				t.Fatalf("stock after selling 4 of 5: %v", got)
			}
			var drafts []map[string]any
			s.eventually("the automatic restock draft", func() bool {
				drafts = s.list("admin", "restock", `stock = "`+s.stockTee+`"`)
				return len(drafts) > 0
			})
			if len(drafts) != 1 || drafts[0]["stage"] != "draft" || str(drafts[0]["qty"]) != "3" {
				t.Fatalf("restock drafts: %v", drafts)
			}
			draftID := str(drafts[0]["id"])
			if str(drafts[0]["owner"]) != s.ids["rep1"] {
				t.Errorf("the draft belongs to %v, want the salesperson whose sale drafted it", drafts[0]["owner"])
			}
			s.eventually("the manager hears of it", func() bool {
				for _, n := range items(s.must(200, "mgr", "GET", "/api/me/notifications?limit=100", nil)) {
					if strings.HasPrefix(str(n["message"]), "库存低于安全库存，已生成补货草稿") {
						return true
					}
				}
				return false
			})
			// Stock alerts as the manager and the other store's manager see them.
			alerts := func(who string) decimal.Decimal {
				return s.figures("stock", s.must(200, who, "GET", "/api/dash/storesales/stock", nil))["alerts_count"]
			}
			if n := alerts("mgr"); !n.Equal(decimal.NewFromInt(1)) {
				t.Errorf("stock alerts the manager sees: %s, want 1", n)
			}

			// 08:00 the next morning: the daily alert stops promoting it.
			s.tickTo(22*time.Hour + 30*time.Minute)
			s.eventually("the morning alert stops promotion", func() bool { return stock()["promote"] == false })
			if other := s.list("admin", "stock", `promote = false`); len(other) != 1 {
				t.Errorf("stocks no longer promoted: %d, want only the low one", len(other))
			}

			// The salesperson whose sale drafted it submits it; they and
			// another store's manager cannot approve it; the store's
			// manager does, then receives it.
			st, body := s.take("rep1", "restock", draftID, "approve", nil)
			if st != 202 {
				t.Fatalf("submit the restock: %d %v", st, body)
			}
			approvalID := str(body["approval"].(map[string]any)["id"])
			if st, _ := s.decide("rep1", approvalID, "approve"); st < 400 {
				t.Errorf("a salesperson approved a restock: %d", st)
			}
			if st, _ := s.decide("mgr2", approvalID, "approve"); st < 400 {
				t.Errorf("another store's manager approved a restock: %d", st)
			}
			if got := s.rec("admin", "restock", draftID); got["stage"] != "draft" {
				t.Fatalf("restock after refused decisions: %v", got["stage"])
			}
			if st, body := s.decide("mgr", approvalID, "approve"); st != 200 {
				t.Fatalf("the manager approves: %d %v", st, body)
			}
			if got := s.rec("admin", "restock", draftID); got["stage"] != "approved" {
				t.Fatalf("after the approval: %v", got["stage"])
			}
			if str(stock()["on_hand"]) != "1" {
				t.Errorf("on hand before receipt: %v", stock()["on_hand"])
			}
			if st, _ := s.take("rep1", "restock", draftID, "receive", map[string]any{"received_on": "2030-01-08"}); st < 400 {
				t.Errorf("a salesperson received a restock: %d", st)
			}
			if st, body := s.take("mgr", "restock", draftID, "receive", map[string]any{"received_on": "2030-01-08"}); st != 200 {
				t.Fatalf("receive: %d %v", st, body)
			}
			if got := stock(); str(got["on_hand"]) != "4" || str(got["received"]) != "3" || got["below_safety"] != false {
				t.Fatalf("stock after receiving 3: %v", got)
			}
			if n := alerts("mgr"); !n.IsZero() {
				t.Errorf("stock alerts after the receipt: %s", n)
			}
			s.tickTo(22*time.Hour + 35*time.Minute)
			s.eventually("promotion resumes", func() bool { return stock()["promote"] == true })

			// A salesperson's own request starts as their draft.
			req := s.create("rep1", "restock", map[string]any{"stock": s.stockTee, "qty": 10, "reason": "周末活动备货"})
			if req["stage"] != "draft" || str(req["owner"]) != s.ids["rep1"] {
				t.Errorf("a salesperson's request: %v", req)
			}
		})
	}
}
