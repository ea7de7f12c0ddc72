package api_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/shopspring/decimal"
)

// TestRollupsAdjustedEqualAggregated: a write adjusts its parents' sums and
// counts by its own change instead of aggregating every child again. After
// each of a few hundred random writes — lines created, moved between sales
// and products, their numbers changed or cleared, deleted; a product deleted
// (its lines' ref set null); a sale moved between accounts or deleted with
// its lines — every stored rollup equals the aggregate worked out here from
// the children as listed.
func TestRollupsAdjustedEqualAggregated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		rng := rand.New(rand.NewPCG(18, 7))
		var accounts, sales, products []string
		for i := range 2 {
			accounts = append(accounts, str(e.create("shop/account", map[string]any{"name": fmt.Sprint("Acct ", i)})["id"]))
		}
		newSale := func() {
			sales = append(sales, str(e.create("shop/sale", map[string]any{"number": fmt.Sprint("s-", len(sales)), "account": accounts[rng.IntN(len(accounts))]})["id"]))
		}
		newProduct := func() {
			products = append(products, str(e.create("shop/product", map[string]any{"name": fmt.Sprint("P", len(products))})["id"]))
		}
		for range 3 {
			newSale()
		}
		for range 2 {
			newProduct()
		}
		pick := func(ids []string) any {
			if len(ids) == 0 || rng.IntN(6) == 0 {
				return nil
			}
			return ids[rng.IntN(len(ids))]
		}
		qty := func() any {
			if rng.IntN(6) == 0 {
				return nil
			}
			return rng.IntN(9) - 2
		}
		price := func() any {
			if rng.IntN(6) == 0 {
				return nil
			}
			return fmt.Sprintf("%d.%02d", rng.IntN(500), rng.IntN(100))
		}
		var lines []string
		for step := range 240 {
			var what string
			switch op := rng.IntN(20); {
			case op < 8 || len(lines) == 0:
				sale := sales[rng.IntN(len(sales))]
				what = "create a line"
				lines = append(lines, str(e.create("shop/line", map[string]any{"sale": sale, "qty": qty(), "price": price(), "product": pick(products)})["id"]))
			case op < 14:
				i := rng.IntN(len(lines))
				l := e.get("shop/line", lines[i])
				body := map[string]any{"version": l["version"]}
				if rng.IntN(3) == 0 {
					body["sale"] = sales[rng.IntN(len(sales))]
				}
				if rng.IntN(2) == 0 {
					body["qty"] = qty()
				}
				if rng.IntN(2) == 0 {
					body["price"] = price()
				}
				if rng.IntN(3) == 0 {
					body["product"] = pick(products)
				}
				what = fmt.Sprintf("patch line %v", body)
				e.do2(200, "PATCH", "/api/data/shop/line/"+lines[i], body)
			case op < 17:
				i := rng.IntN(len(lines))
				what = "delete a line"
				e.do2(204, "DELETE", "/api/data/shop/line/"+lines[i], nil)
				lines = append(lines[:i], lines[i+1:]...)
			case op < 18 && len(products) > 0:
				i := rng.IntN(len(products))
				what = "delete a product"
				e.do2(204, "DELETE", "/api/data/shop/product/"+products[i], nil)
				products = append(products[:i], products[i+1:]...)
				newProduct()
			case op < 19:
				s := e.get("shop/sale", sales[rng.IntN(len(sales))])
				what = "move a sale to another account"
				e.do2(200, "PATCH", "/api/data/shop/sale/"+str(s["id"]), map[string]any{"account": accounts[rng.IntN(len(accounts))], "version": s["version"]})
			default:
				i := rng.IntN(len(sales))
				what = "delete a sale with its lines"
				e.do2(204, "DELETE", "/api/data/shop/sale/"+sales[i], nil)
				sales = append(sales[:i], sales[i+1:]...)
				newSale()
				lines = lines[:0]
				for _, l := range items(t, listBody(t, e, "/api/data/shop/line?limit=500")) {
					lines = append(lines, str(l["id"]))
				}
			}
			checkRollups(t, e, fmt.Sprintf("step %d (%s)", step, what))
			if t.Failed() {
				return
			}
		}
	})
}

// checkRollups compares every stored rollup of the shop with the aggregate
// of its children as listed.
func checkRollups(t *testing.T, e *env, when string) {
	t.Helper()
	dec := func(v any) decimal.Decimal {
		if v == nil {
			return decimal.Zero
		}
		d, err := decimal.NewFromString(fmt.Sprint(v))
		if err != nil {
			t.Fatalf("%s: %v is not a number", when, v)
		}
		return d
	}
	total, count, sold := map[string]decimal.Decimal{}, map[string]int{}, map[string]decimal.Decimal{}
	for _, l := range items(t, listBody(t, e, "/api/data/shop/line?limit=500")) {
		s := str(l["sale"])
		count[s]++
		total[s] = total[s].Add(dec(l["amount"]))
		if p, ok := l["product"].(string); ok {
			sold[p] = sold[p].Add(dec(l["qty"]))
		}
	}
	orders := map[string]int{}
	for _, s := range items(t, listBody(t, e, "/api/data/shop/sale?limit=500")) {
		id := str(s["id"])
		if !dec(s["total"]).Equal(total[id]) || !dec(s["lines"]).Equal(decimal.NewFromInt(int64(count[id]))) {
			t.Errorf("%s: sale %s stores total %v, lines %v; its lines add up to %s, %d", when, id, s["total"], s["lines"], total[id], count[id])
		}
		if a, ok := s["account"].(string); ok {
			orders[a]++
		}
	}
	for _, p := range items(t, listBody(t, e, "/api/data/shop/product?limit=500")) {
		id := str(p["id"])
		if !dec(p["sold"]).Equal(sold[id]) {
			t.Errorf("%s: product %s stores sold %v; its lines add up to %s", when, id, p["sold"], sold[id])
		}
	}
	for _, a := range items(t, listBody(t, e, "/api/data/shop/account?limit=500")) {
		id := str(a["id"])
		if !dec(a["orders"]).Equal(decimal.NewFromInt(int64(orders[id]))) {
			t.Errorf("%s: account %s stores orders %v; it has %d", when, id, a["orders"], orders[id])
		}
	}
}
