package templates_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/flow"
	"github.com/formaapp/forma/engine/records"
)

// TestStoreSalesApplies applies the assembled store-sales document through
// the checks `forma app apply` runs (records, automations, flows,
// assignment, bulk, plugins) and migrates a fresh database to it; then an
// order line draws stock down and a line that would make it negative is
// refused with nothing written; falling below safety stock drafts a
// restock; a rep sells under their own rules; and a restock request goes
// through its approval to receipt, adding to the stock.
func TestStoreSalesApplies(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			eng, app := installed(t, "store-sales", dialect)
			if err := eng.Start(ctx); err != nil {
				t.Fatal(err)
			}
			admin := records.Caller{Admin: true}
			create := func(entity, body string) *records.Record {
				t.Helper()
				r, err := eng.Records.Create(ctx, admin, app.Name, entity, []byte(body))
				if err != nil {
					t.Fatalf("create %s %s: %v", entity, body, err)
				}
				return r
			}
			region := create("region", `{"name": "华东"}`)
			shop := create("store", fmt.Sprintf(`{"name": "静安店", "code": "SH01", "region": %q}`, region.ID()))
			sku := create("sku", `{"code": "TS-001", "name": "纯棉T恤", "price": 99}`)
			stock := create("stock", fmt.Sprintf(`{"store": %q, "sku": %q, "opening": 5, "safety_stock": 2}`, shop.ID(), sku.ID()))
			order := create("sales_order", fmt.Sprintf(`{"store": %q, "order_date": "2026-12-01"}`, shop.ID()))
			line := create("order_line", fmt.Sprintf(`{"sales_order": %q, "sku": %q, "qty": 2}`, order.ID(), sku.ID()))
			if line.Get("stock") != stock.ID() {
				t.Errorf("the line drew from %v, want the store's stock %s", line.Get("stock"), stock.ID())
			}
			onHand := func() string {
				t.Helper()
				s, err := eng.Records.Get(ctx, admin, app.Name, "stock", stock.ID(), "", "")
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprint(s.Get("on_hand"))
			}
			if got := onHand(); got != "3" {
				t.Errorf("on hand after selling 2 of 5: %s, want 3", got)
			}
			_, err := eng.Records.Create(ctx, admin, app.Name, "order_line", []byte(fmt.Sprintf(`{"sales_order": %q, "sku": %q, "qty": 4}`, order.ID(), sku.ID())))
			if err == nil || !strings.Contains(err.Error(), "库存不足") {
				t.Errorf("selling 4 of 3 on hand: %v, want the stock refusal", err)
			}
			if got := onHand(); got != "3" {
				t.Errorf("on hand after a refused line: %s, want 3", got)
			}

			// Selling 2 more leaves 1, below the safety stock of 2: the
			// low_stock_restock automation (a durable job) drafts a restock.
			create("order_line", fmt.Sprintf(`{"sales_order": %q, "sku": %q, "qty": 2}`, order.ID(), sku.ID()))
			// A generous bound: it tells "never drafted" from "late on a
			// loaded CI machine", and a pass takes a fraction of a second.
			deadline := time.Now().Add(90 * time.Second)
			for {
				page, err := eng.Records.List(ctx, admin, app.Name, "restock", records.Query{Filter: fmt.Sprintf(`stock = %q`, stock.ID())})
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Items) == 1 {
					if r := page.Items[0]; fmt.Sprint(r.Get("stage")) != "draft" || fmt.Sprint(r.Get("qty")) != "3" {
						t.Errorf("the automatic restock: stage %v qty %v, want draft 3", r.Get("stage"), r.Get("qty"))
					}
					break
				}
				if len(page.Items) > 1 || time.Now().After(deadline) {
					t.Fatalf("restocks after falling below safety stock: %d, want 1", len(page.Items))
				}
				time.Sleep(100 * time.Millisecond)
			}

			// A salesperson rings up the last unit through the same hook,
			// reading the order and the stock under their own rules.
			u, err := eng.Access.CreateUser(ctx, "rep@example.com", "a-long-test-password", "王小明", false)
			if err != nil {
				t.Fatal(err)
			}
			rep := records.Caller{UserID: u.ID, Roles: []string{"rep"}}
			repOrder, err := eng.Records.Create(ctx, rep, app.Name, "sales_order", []byte(fmt.Sprintf(`{"store": %q}`, shop.ID())))
			if err != nil {
				t.Fatalf("a rep's order: %v", err)
			}
			if repOrder.Get("rep") != u.ID || repOrder.Get("order_date") == nil {
				t.Errorf("a rep's order defaults: rep %v, date %v", repOrder.Get("rep"), repOrder.Get("order_date"))
			}
			if _, err := eng.Records.Create(ctx, rep, app.Name, "order_line", []byte(fmt.Sprintf(`{"sales_order": %q, "sku": %q, "qty": 1}`, repOrder.ID(), sku.ID()))); err != nil {
				t.Fatalf("a rep's line: %v", err)
			}
			if got := onHand(); got != "0" {
				t.Errorf("on hand after the rep's sale: %s, want 0", got)
			}

			// The rep asks for 10; an executive approves; the manager side
			// receives them, and only then does the stock count them.
			exec, err := eng.Access.CreateUserWith(ctx, access.NewUser{Email: "boss@example.com", Password: "a-long-test-password", Name: "李总", Roles: []string{"executive"}})
			if err != nil {
				t.Fatal(err)
			}
			boss := records.Caller{UserID: exec.ID, Roles: []string{"executive"}}
			req, err := eng.Records.Create(ctx, rep, app.Name, "restock", []byte(fmt.Sprintf(`{"stock": %q, "qty": 10}`, stock.ID())))
			if err != nil {
				t.Fatalf("a rep's restock request: %v", err)
			}
			asked, err := eng.Flows.Take(ctx, rep, app.Name, "restock", req.ID(), "approve", flow.TakeRequest{Version: version(t, req)})
			if err != nil || asked.Approval == nil {
				t.Fatalf("asking for a restock: %+v %v, want a pending approval", asked, err)
			}
			if _, err := eng.Flows.Decide(ctx, boss, asked.Approval.ID, "approve", flow.DecisionInput{Version: asked.Approval.Version}); err != nil {
				t.Fatalf("the executive's approval: %v", err)
			}
			req, err = eng.Records.Get(ctx, admin, app.Name, "restock", req.ID(), "", "")
			if err != nil || fmt.Sprint(req.Get("stage")) != "approved" {
				t.Fatalf("after the approval: %v %v", req, err)
			}
			if got := onHand(); got != "0" {
				t.Errorf("on hand before the restock is received: %s, want 0", got)
			}
			if _, err := eng.Flows.Take(ctx, boss, app.Name, "restock", req.ID(), "receive", flow.TakeRequest{Version: version(t, req),
				Fields: map[string]json.RawMessage{"received_on": json.RawMessage(`"2026-12-02"`)}}); err != nil {
				t.Fatalf("receiving the restock: %v", err)
			}
			if got := onHand(); got != "10" {
				t.Errorf("on hand after receiving 10: %s, want 10", got)
			}
		})
	}
}

// version reads a record's version for a flow move.
func version(t *testing.T, r *records.Record) int64 {
	t.Helper()
	switch v := r.Get("version").(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case float64:
		return int64(v)
	}
	t.Fatalf("version %T %v", r.Get("version"), r.Get("version"))
	return 0
}
