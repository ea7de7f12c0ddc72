package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// shopApp is a small store-sales app: orders of products in stores (each
// store in a region), owned by reps; cost is hidden from reps and managers.
const shopApp = `{
  "name": "shop",
  "entities": [
    {"id": "e_store", "name": "store", "fields": [
      {"id": "s1", "name": "name", "type": "text", "required": true},
      {"id": "s2", "name": "region", "type": "select", "options": ["north", "south"]}]},
    {"id": "e_product", "name": "product", "fields": [
      {"id": "p1", "name": "name", "type": "text", "required": true}]},
    {"id": "e_order", "name": "sale", "fields": [
      {"id": "o1", "name": "title", "type": "text"},
      {"id": "o2", "name": "amount", "type": "decimal", "precision": 14, "scale": 2},
      {"id": "o3", "name": "qty", "type": "integer"},
      {"id": "o4", "name": "probability", "type": "integer"},
      {"id": "o5", "name": "at", "type": "datetime"},
      {"id": "o6", "name": "store", "type": "ref", "entity": "store"},
      {"id": "o7", "name": "product", "type": "ref", "entity": "product"},
      {"id": "o8", "name": "cost", "type": "decimal", "scale": 2},
      {"id": "o9", "name": "day", "type": "date"}]},
    {"id": "e_secret", "name": "secret", "fields": [{"id": "x1", "name": "value", "type": "text"}]}
  ],
  "roles": [
    {"name": "rep", "entities": {
      "sale": {"create": "own", "read": "own", "update": "own", "fields": {"cost": "hidden"}},
      "store": {"read": "all"}, "product": {"read": "all"}}},
    {"name": "manager", "entities": {
      "sale": {"create": "team", "read": "team", "update": "team", "fields": {"cost": "hidden"}},
      "store": {"read": "all"}, "product": {"read": "all"}}},
    {"name": "executive", "entities": {
      "sale": {"create": "all", "read": "all", "update": "all", "delete": "all"},
      "store": {"read": "all"}, "product": {"read": "all"}}}
  ],
  "dashboards": [{
    "name": "sales", "label": "Sales", "timeZone": "Asia/Shanghai",
    "params": [
      {"name": "period", "type": "daterange", "default": "2026-01-01..2026-03-31"},
      {"name": "store", "type": "ref", "entity": "store"},
      {"name": "rep", "type": "user"}],
    "widgets": [
      {"id": "takings", "type": "kpi", "title": "Takings", "layout": {"x": 0, "y": 0, "w": 4, "h": 2},
       "compare": "previousPeriod", "target": 50000,
       "query": {"entity": "sale", "filter": "store = @store && owner = @rep",
         "measures": [{"name": "total", "expr": "sum(amount)", "unit": "CNY"}, {"name": "orders", "expr": "count()"}],
         "period": {"field": "at", "param": "period"}}},
      {"id": "daily", "type": "line", "layout": {"x": 4, "y": 0, "w": 8, "h": 4},
       "query": {"entity": "sale", "filter": "store = @store && owner = @rep",
         "measures": [{"name": "total", "expr": "sum(amount)"}, {"name": "orders", "expr": "count()"}],
         "dimensions": [{"field": "at", "bucket": "day"}], "period": {"field": "at", "param": "period"}}},
      {"id": "top", "type": "bar", "horizontal": true, "layout": {"x": 0, "y": 4, "w": 6, "h": 4},
       "query": {"entity": "sale", "measures": [{"name": "total", "expr": "sum(amount)"}, {"name": "orders", "expr": "count()"}],
         "dimensions": [{"field": "product"}], "sort": "-total", "limit": 3, "other": true,
         "period": {"field": "at", "param": "period"}}},
      {"id": "regions", "type": "pivot", "layout": {"x": 6, "y": 4, "w": 6, "h": 4},
       "query": {"entity": "sale", "measures": [{"name": "orders", "expr": "count()"}, {"name": "total", "expr": "sum(amount)"}, {"name": "avg", "expr": "avg(amount)"}],
         "dimensions": [{"field": "at", "bucket": "month"}, {"field": "store.region"}],
         "period": {"field": "at", "param": "period"}}},
      {"id": "margin", "type": "kpi", "layout": {"x": 0, "y": 8, "w": 4, "h": 2},
       "query": {"entity": "sale", "measures": [{"name": "cost", "expr": "sum(cost)"}]}}
    ]}]
}`

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// seedOrder is what the test wrote, to compute every figure independently.
type seedOrder struct {
	id          string
	owner       string
	at          time.Time
	amount      *decimal.Decimal
	qty         int64
	probability int64
	cost        decimal.Decimal
	store       string // "" for none
	product     string
}

type shop struct {
	*env
	stores   []string          // ids
	region   map[string]string // store id → region ("" none)
	products []string
	orders   []seedOrder
	users    map[string]*access.User // rep1, rep2, rep3, mgr, exec
	tokens   map[string]string
	team     map[string]string // user id → team name
}

// newShop applies shopApp and seeds users, teams, stores, products and
// orders: reps in the "sales" team, its child team "east" and an unrelated
// team "west"; a manager of "sales"; an executive.
func newShop(t *testing.T, db *store.DB) *shop {
	e := newEnv(t, db, shopApp)
	s := &shop{env: e, region: map[string]string{}, users: map[string]*access.User{}, tokens: map[string]string{}, team: map[string]string{}}
	ctx := context.Background()
	sales, err := e.acc.CreateTeam(ctx, "sales", "")
	if err != nil {
		t.Fatal(err)
	}
	east, err := e.acc.CreateTeam(ctx, "east", sales.ID)
	if err != nil {
		t.Fatal(err)
	}
	west, err := e.acc.CreateTeam(ctx, "west", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ key, role, team string }{
		{"rep1", "rep", sales.ID}, {"rep2", "rep", east.ID}, {"rep3", "rep", west.ID},
		{"mgr", "manager", sales.ID}, {"exec", "executive", ""},
	} {
		usr, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: u.key + "@example.com", Password: adminPassword,
			Name: "User " + u.key, Roles: []string{u.role}, TeamID: u.team})
		if err != nil {
			t.Fatal(err)
		}
		s.users[u.key] = usr
		s.team[usr.ID] = u.team
		s.tokens[u.key] = e.login(u.key+"@example.com", adminPassword)
	}
	for i, st := range []struct{ name, region string }{{"North A", "north"}, {"North B", "north"}, {"South", "south"}, {"Nowhere", ""}} {
		rec := map[string]any{"name": st.name}
		if st.region != "" {
			rec["region"] = st.region
		}
		id := e.create("shop/store", rec)["id"].(string)
		s.stores = append(s.stores, id)
		s.region[id] = st.region
		_ = i
	}
	for i := 0; i < 6; i++ {
		s.products = append(s.products, e.create("shop/product", map[string]any{"name": fmt.Sprintf("Product %d", i)})["id"].(string))
	}
	rng := rand.New(rand.NewPCG(15, 2026))
	owners := []string{s.users["rep1"].ID, s.users["rep2"].ID, s.users["rep3"].ID, s.users["mgr"].ID}
	jan1 := time.Date(2026, 1, 1, 0, 0, 0, 0, shanghai)
	for i := 0; i < 70; i++ {
		day := rng.IntN(90)
		if day >= 40 && day <= 50 { // Feb 10–20: no orders at all
			day -= 15
		}
		at := jan1.AddDate(0, 0, day).Add(time.Duration(rng.IntN(24*60)) * time.Minute)
		o := seedOrder{owner: owners[i%len(owners)], at: at, qty: int64(rng.IntN(9) + 1), probability: int64(rng.IntN(11) * 10),
			cost: decimal.New(int64(rng.IntN(50000)), -2), product: s.products[rng.IntN(len(s.products))]}
		if i%9 != 4 {
			a := decimal.New(int64(rng.IntN(2000000)+1), -2)
			if i%7 == 0 {
				a = decimal.RequireFromString("0.10") // floats would drift; decimals must not
			}
			o.amount = &a
		}
		if i%13 != 6 {
			o.store = s.stores[rng.IntN(len(s.stores))]
		}
		s.addOrder(o)
	}
	// The time-zone edges: 23:30 in Shanghai on January's last day is
	// January (15:30 UTC); 00:30 on February 1st is February (16:30 UTC
	// on January 31st).
	a1, a2 := decimal.RequireFromString("0.10"), decimal.RequireFromString("0.20")
	s.addOrder(seedOrder{owner: owners[0], at: time.Date(2026, 1, 31, 23, 30, 0, 0, shanghai), amount: &a1, qty: 1, cost: a1, store: s.stores[0], product: s.products[0]})
	s.addOrder(seedOrder{owner: owners[0], at: time.Date(2026, 2, 1, 0, 30, 0, 0, shanghai), amount: &a2, qty: 1, cost: a2, store: s.stores[0], product: s.products[0]})
	return s
}

func (s *shop) addOrder(o seedOrder) {
	rec := map[string]any{"title": "order", "qty": o.qty, "probability": o.probability, "at": o.at.Format(time.RFC3339),
		"product": o.product, "cost": o.cost.StringFixed(2), "owner": o.owner, "day": o.at.In(shanghai).Format(time.DateOnly)}
	if o.amount != nil {
		rec["amount"] = o.amount.StringFixed(2)
	}
	if o.store != "" {
		rec["store"] = o.store
	}
	o.id = s.create("shop/sale", rec)["id"].(string)
	s.orders = append(s.orders, o)
}

// sees reports whether user key may read o: reps their own, the manager
// the orders of anyone in "sales" or the team below it, others all.
func (s *shop) sees(key string, o seedOrder) bool {
	switch key {
	case "rep1", "rep2", "rep3":
		return o.owner == s.users[key].ID
	case "mgr":
		tm := s.team[o.owner]
		return tm == s.team[s.users["mgr"].ID] || tm == s.teamOf("rep2")
	}
	return true
}

func (s *shop) teamOf(key string) string { return s.team[s.users[key].ID] }

// agg is the independent computation of count, sum, min, max of amounts.
type agg struct {
	n, withAmount int
	sum           decimal.Decimal
	min, max      *decimal.Decimal
}

func (a *agg) add(o seedOrder) {
	a.n++
	if o.amount != nil {
		a.withAmount++
		a.sum = a.sum.Add(*o.amount)
		if a.min == nil || o.amount.LessThan(*a.min) {
			a.min = o.amount
		}
		if a.max == nil || o.amount.GreaterThan(*a.max) {
			a.max = o.amount
		}
	}
}

func (s *shop) tokenOf(key string) string {
	if key == "admin" {
		return s.token
	}
	return s.tokens[key]
}

// dash reads a dashboard as user key.
func (s *shop) dash(key, query string) map[string]any {
	s.t.Helper()
	st, body := s.doAs(s.tokenOf(key), "GET", "/api/dash/shop/sales"+query, nil)
	if st != 200 {
		s.t.Fatalf("dashboard as %s: %d %v", key, st, body)
	}
	return body
}

// adhoc runs an ad-hoc query as user key.
func (s *shop) adhoc(key string, q map[string]any) map[string]any {
	s.t.Helper()
	st, body := s.doAs(s.tokenOf(key), "POST", "/api/query/shop", map[string]any{"query": q})
	if st != 200 {
		s.t.Fatalf("ad-hoc query %v as %s: %d %v", q, key, st, body)
	}
	return body
}

func widgetOf(t *testing.T, dash map[string]any, id string) map[string]any {
	t.Helper()
	for _, w := range dash["widgets"].([]any) {
		m := w.(map[string]any)
		if m["id"] == id {
			if m["error"] != nil {
				t.Fatalf("widget %s: %v", id, m["error"])
			}
			return m
		}
	}
	t.Fatalf("no widget %s in %v", id, dash)
	return nil
}

func rowsOf(w map[string]any) []map[string]any {
	var out []map[string]any
	for _, r := range w["rows"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

func dec(t *testing.T, v any) *decimal.Decimal {
	t.Helper()
	if v == nil {
		return nil
	}
	d, err := decimal.NewFromString(fmt.Sprint(v))
	if err != nil {
		t.Fatalf("not a number: %v", v)
	}
	return &d
}

func wantDec(t *testing.T, what string, got any, want decimal.Decimal) {
	t.Helper()
	d := dec(t, got)
	if d == nil || !d.Equal(want) {
		t.Errorf("%s = %v, want %s", what, got, want)
	}
}

func vals(r map[string]any) []any { return r["values"].([]any) }
func keys(r map[string]any) []any { return r["keys"].([]any) }

// listAll lists every record matching filter as user key, through the
// records API, and returns how many there are and the sum of their amounts.
func (s *shop) listAll(key, filter string) (int, decimal.Decimal) {
	s.t.Helper()
	n, sum, cursor := 0, decimal.Zero, ""
	for {
		path := "/api/data/shop/sale?limit=500&filter=" + url.QueryEscape(filter)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		st, body := s.doAs(s.tokenOf(key), "GET", path, nil)
		if st != 200 {
			s.t.Fatalf("list %q as %s: %d %v", filter, key, st, body)
		}
		for _, it := range items(s.t, body) {
			n++
			if a := dec(s.t, it["amount"]); a != nil {
				sum = sum.Add(*a)
			}
		}
		c, _ := body["nextCursor"].(string)
		if c == "" {
			return n, sum
		}
		cursor = c
	}
}

// checkDrill lists a figure's records and compares count and sum.
func (s *shop) checkDrill(key, what string, row map[string]any, countIdx, sumIdx int) {
	s.t.Helper()
	drill, ok := row["drill"].(string)
	if !ok {
		s.t.Errorf("%s: no drill filter in %v", what, row)
		return
	}
	n, sum := s.listAll(key, drill)
	values := vals(row)
	if got := dec(s.t, values[countIdx]); got == nil || got.IntPart() != int64(n) {
		s.t.Errorf("%s: figure %v orders, the drill-down %q lists %d", what, values[countIdx], drill, n)
	}
	if sumIdx >= 0 {
		wantDec(s.t, what+" drill-down sum", values[sumIdx], sum)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var _ = strings.Contains
var _ = storetest.Each
var _ json.Number

func decNum(n int64) decimal.Decimal { return decimal.NewFromInt(n) }
