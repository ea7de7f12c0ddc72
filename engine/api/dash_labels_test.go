package api_test

import (
	"bytes"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// labelledDash is an app whose dashboard, widget, parameter, measure and
// dimension carry their words in zh-CN and en next to the fallback.
const labelledDash = `{"name": "shop", "entities": [
  {"id": "e1", "name": "sale", "fields": [
    {"id": "f1", "name": "amount", "type": "decimal", "scale": 2},
    {"id": "f2", "name": "region", "type": "select", "options": ["north", "south"]},
    {"id": "f3", "name": "day", "type": "date"}]}],
 "dashboards": [{"name": "sales", "label": "销售", "labels": {"zh-CN": "销售", "en": "Sales"},
   "params": [{"name": "period", "label": "期间", "labels": {"zh-CN": "期间", "en": "Period"}, "type": "daterange", "default": "thisYear"}],
   "widgets": [
    {"id": "by_region", "type": "bar", "title": "各区域营收", "titles": {"zh-CN": "各区域营收", "en": "Takings by region"},
     "layout": {"x": 0, "y": 0, "w": 6, "h": 4},
     "query": {"entity": "sale", "measures": [{"name": "takings", "label": "营收", "labels": {"en": "Takings"}, "expr": "sum(amount)"}],
       "dimensions": [{"field": "region", "label": "区域", "labels": {"en": "Region"}}], "period": {"field": "day", "param": "period"}}},
    {"id": "plain", "type": "kpi", "title": "订单", "layout": {"x": 6, "y": 0, "w": 6, "h": 2},
     "query": {"entity": "sale", "measures": [{"name": "orders", "expr": "count()"}]}}]}]}`

// TestDashboardLabelsServed: the metadata read (GET /api/meta/apps/{app}),
// the dashboards list and a dashboard's answer carry the maps as the
// document gives them, and a widget's CSV heads its columns in the
// caller's language (Accept-Language), else the fallback label.
func TestDashboardLabelsServed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, labelledDash)
		e.create("shop/sale", map[string]any{"amount": "12.50", "region": "north", "day": "2026-06-01"})

		st, doc := e.do("GET", "/api/meta/apps/shop", nil)
		if st != 200 {
			t.Fatalf("meta %d %v", st, doc)
		}
		st, list := e.do("GET", "/api/dash/shop", nil)
		if st != 200 {
			t.Fatalf("list %d %v", st, list)
		}
		for what, d := range map[string]map[string]any{
			"meta": doc["dashboards"].([]any)[0].(map[string]any),
			"list": list["items"].([]any)[0].(map[string]any),
		} {
			w := d["widgets"].([]any)[0].(map[string]any)
			q := w["query"].(map[string]any)
			switch {
			case mustJSON(d["labels"]) != `{"en":"Sales","zh-CN":"销售"}`:
				t.Errorf("%s: dashboard labels %v", what, d["labels"])
			case mustJSON(d["params"].([]any)[0].(map[string]any)["labels"]) != `{"en":"Period","zh-CN":"期间"}`:
				t.Errorf("%s: param %v", what, d["params"])
			case mustJSON(w["titles"]) != `{"en":"Takings by region","zh-CN":"各区域营收"}`:
				t.Errorf("%s: widget titles %v", what, w["titles"])
			case mustJSON(q["measures"].([]any)[0].(map[string]any)["labels"]) != `{"en":"Takings"}`,
				mustJSON(q["dimensions"].([]any)[0].(map[string]any)["labels"]) != `{"en":"Region"}`:
				t.Errorf("%s: query %v", what, q)
			}
		}

		// The answer, twice: the second comes from the cache and keeps them.
		for round := 0; round < 2; round++ {
			st, r := e.do("GET", "/api/dash/shop/sales?period=2026-01-01..2026-12-31", nil)
			if st != 200 {
				t.Fatalf("dash %d %v", st, r)
			}
			if r["label"] != "销售" || mustJSON(r["labels"]) != `{"en":"Sales","zh-CN":"销售"}` {
				t.Errorf("round %d: dashboard %v %v", round, r["label"], r["labels"])
			}
			w := widgetOf(t, r, "by_region")
			cols := w["columns"].([]any)
			if w["title"] != "各区域营收" || mustJSON(w["titles"]) != `{"en":"Takings by region","zh-CN":"各区域营收"}` ||
				mustJSON(cols[0].(map[string]any)["labels"]) != `{"en":"Region"}` || mustJSON(cols[1].(map[string]any)["labels"]) != `{"en":"Takings"}` {
				t.Errorf("round %d: widget %v", round, w)
			}
			if p := widgetOf(t, r, "plain"); p["title"] != "订单" || p["titles"] != nil {
				t.Errorf("round %d: a widget without titles: %v", round, p)
			}
		}

		for lang, head := range map[string]string{"en": "Region,Takings\n", "zh-CN,zh;q=0.9": "区域,营收\n", "": "Region,Takings\n", "fr": "Region,Takings\n"} {
			st, _, b := e.exportGet(e.token, "/api/dash/shop/sales/widgets/by_region.csv?period=2026-01-01..2026-12-31", lang)
			if st != 200 || !bytes.HasPrefix(b, []byte("\ufeff"+head)) {
				t.Errorf("csv in %q: %d %q", lang, st, b)
			}
		}
	})
}
