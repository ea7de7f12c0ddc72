package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
)

// Counts and totals cover every record of the list (filter and row rule,
// not the page or the cursor), in the list's own answer.
func TestListCountAndTotals(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "rep password 1", Name: "Rep", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		// 30 items: amounts 1.25 × i (every third without), qty i.
		for i := 1; i <= 30; i++ {
			r := map[string]any{"title": fmt.Sprintf("t%02d", i), "qty": i, "due": fmt.Sprintf("2026-01-%02d", i)}
			if i%3 != 0 {
				r["amount"] = fmt.Sprintf("%.2f", 1.25*float64(i))
			}
			token := e.token
			if i <= 6 {
				token = rep // the rep owns t01…t06
			}
			if st, body := e.doAs(token, "POST", "/api/data/kit/item", r); st != 201 {
				t.Fatalf("create: %d %v", st, body)
			}
		}
		list := func(token, query string) map[string]any {
			t.Helper()
			st, body := e.doAs(token, "GET", "/api/data/kit/item?"+query, nil)
			if st != 200 {
				t.Fatalf("%s: %d %v", query, st, body)
			}
			return body
		}
		// Exact count and totals under a filter, with a small page.
		body := list(e.token, "limit=5&count=exact&totals="+q("count,sum:amount,avg:amount,min:qty,max:due,sum:qty")+"&filter="+q("qty > 10"))
		if len(items(t, body)) != 5 || body["count"] != json.Number("20") || body["countExact"] != true {
			t.Fatalf("count: %v %v (%d items)", body["count"], body["countExact"], len(items(t, body)))
		}
		// qty 11…30: amounts where qty%3 != 0: 11,13,14,16,17,19,20,22,23,25,26,28,29 → sum 263 × 1.25
		want := map[string]any{
			"count": json.Number("20"),
			"sum":   map[string]any{"amount": json.Number("328.75"), "qty": json.Number("410")},
			"avg":   map[string]any{"amount": json.Number("25.2885")},
			"min":   map[string]any{"qty": json.Number("11")},
			"max":   map[string]any{"due": "2026-01-30"},
		}
		if got := mustJSON(body["totals"]); got != mustJSON(want) {
			t.Fatalf("totals = %s\nwant     %s", got, mustJSON(want))
		}
		// The next page's answer totals the same list.
		next := list(e.token, "limit=5&totals=count&filter="+q("qty > 10")+"&cursor="+q(str(body["nextCursor"])))
		if mustJSON(next["totals"]) != `{"count":20}` || next["count"] != nil {
			t.Fatalf("second page totals = %v, count %v", next["totals"], next["count"])
		}
		// The rep's totals are the rep's records only.
		body = list(rep, "count=exact&totals="+q("sum:qty"))
		if body["count"] != json.Number("6") || mustJSON(body["totals"]) != `{"sum":{"qty":21}}` {
			t.Fatalf("rep: count %v totals %v", body["count"], body["totals"])
		}
		// An estimate below the floor is counted, and says so.
		body = list(e.token, "count=estimate&filter="+q("qty <= 7"))
		if body["count"] != json.Number("7") || body["countExact"] != true {
			t.Fatalf("estimate: %v %v", body["count"], body["countExact"])
		}
		// Without count or totals the answer has neither.
		body = list(e.token, "limit=1")
		if _, ok := body["count"]; ok {
			t.Fatal("count without asking")
		}
		if _, ok := body["totals"]; ok {
			t.Fatal("totals without asking")
		}
		// Nothing totalled: a sum over no values is null.
		body = list(e.token, "totals="+q("sum:amount")+"&filter="+q("qty = 3"))
		if mustJSON(body["totals"]) != `{"sum":{"amount":null}}` {
			t.Fatalf("empty sum = %v", body["totals"])
		}

		for _, bad := range []struct{ query, detail string }{
			{"count=maybe", "/count"},
			{"count=EXACT", "/count"},
			{"totals=" + q("sum"), "/totals"},
			{"totals=" + q("sum:title"), "/totals"},
			{"totals=" + q("avg:due"), "/totals"},
			{"totals=" + q("min:title"), "/totals"},
			{"totals=" + q("sum:nope"), "/totals"},
			{"totals=" + q("median:qty"), "/totals"},
			{"totals=" + q("count:qty"), "/totals"},
			{"totals=" + q(strings.Repeat("count,", 21)+"sum:qty"), "/totals"},
		} {
			st, body := e.do("GET", "/api/data/kit/item?"+bad.query, nil)
			wantErr(t, bad.query, st, body, 400, "invalid_query")
			wantDetail(t, bad.query, body, bad.detail)
		}
	})
}

// The advisor keeps the shapes of slow lists (never their values) and
// proposes the index for each; applying one is a new app version with the
// index declared, after which the list's plan no longer sorts.
func TestIndexAdvice(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.recs.SetSlowList(0) // every list is "slow"
		for i := 0; i < 40; i++ {
			e.create("item", map[string]any{"title": fmt.Sprintf("t%02d", i%7), "qty": i % 5, "stage": []string{"lead", "won", "lost"}[i%3]})
		}
		st, body := e.do("GET", "/api/data/kit/item?sort="+q("-qty,title")+"&filter="+q(`stage = "won" && qty >= 2`), nil)
		if st != 200 {
			t.Fatalf("list: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/meta/apps/kit/advice", nil)
		if st != 200 {
			t.Fatalf("advice: %d %v", st, body)
		}
		var advice map[string]any
		for _, a := range items(t, body) {
			if a["entity"] == "item" && a["sort"] == "-qty,title,-id" {
				advice = a
			}
		}
		if advice == nil {
			t.Fatalf("no advice for the list: %s", mustJSON(body))
		}
		if advice["filter"] != "(stage = ? && qty >= ?)" || strings.Contains(mustJSON(advice), "won") {
			t.Fatalf("shape = %v (values must not be kept)", advice["filter"])
		}
		if got := mustJSON(advice["index"]); got != `{"fields":["stage","qty","-title","id"]}` {
			t.Fatalf("index = %s", got)
		}
		effect := advice["effect"].(map[string]any)
		if effect["dialect"] != e.dialect || effect["sorts"] != true || len(effect["now"].([]any)) == 0 {
			t.Fatalf("effect = %s", mustJSON(effect))
		}
		// The plan with the index, built for a look and rolled back.
		// PostgreSQL's planner may still sort 40 rows; SQLite (no
		// statistics) walks the index.
		if with, _ := effect["with"].([]any); effect["measured"] != "explain" || len(with) == 0 ||
			(e.dialect == "sqlite" && effect["sortsWith"] != false) {
			t.Fatalf("effect with the index = %s", mustJSON(effect))
		}

		// Not for anyone but the admin; unknown app and advice are 404.
		if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "rep password 1", Name: "Rep", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		before := e.appVersion()
		st, body = e.doAs(rep, "GET", "/api/meta/apps/kit/advice", nil)
		wantErr(t, "rep advice", st, body, 403, "forbidden")
		st, body = e.doAs(rep, "POST", "/api/meta/apps/kit/advice/"+str(advice["id"])+"/apply", nil)
		wantErr(t, "rep apply", st, body, 403, "forbidden")
		st, body = e.do("GET", "/api/meta/apps/nope/advice", nil)
		wantErr(t, "unknown app", st, body, 404, "not_found")
		st, body = e.do("POST", "/api/meta/apps/kit/advice/000000000000/apply", nil)
		wantErr(t, "unknown advice", st, body, 404, "not_found")
		st, body = e.do("POST", "/api/meta/apps/kit/advice/"+url.PathEscape("x'; DROP TABLE _forma_list_shapes; --")+"/apply", nil)
		wantErr(t, "injected advice id", st, body, 404, "not_found")
		if e.appVersion() != before {
			t.Fatal("a refused apply changed the app")
		}

		st, body = e.do("POST", "/api/meta/apps/kit/advice/"+str(advice["id"])+"/apply", nil)
		if st != 201 || e.appVersion() != before+1 {
			t.Fatalf("apply: %d %s", st, mustJSON(body))
		}
		st, body = e.do("GET", "/api/meta/apps/kit", nil)
		if !strings.Contains(mustJSON(body), `{"fields":["stage","qty","-title","id"]}`) {
			t.Fatalf("the document does not declare the index: %s", clip(mustJSON(body)))
		}
		e.db.WaitIndexBuilds()
		_, body = e.do("GET", "/api/meta/apps/kit/advice", nil)
		for _, a := range items(t, body) {
			if a["id"] == advice["id"] {
				// PostgreSQL's planner sorts a 40-row table rather than walk
				// an index; SQLite (no statistics) takes the index.
				if a["exists"] != true || (e.dialect == "sqlite" && a["effect"].(map[string]any)["sorts"] != false) {
					t.Fatalf("after apply: %s", mustJSON(a))
				}
			}
		}
		// Applying it again changes nothing.
		st, _ = e.do("POST", "/api/meta/apps/kit/advice/"+str(advice["id"])+"/apply", nil)
		if st != 200 || e.appVersion() != before+1 {
			t.Fatalf("second apply: %d, version %d", st, e.appVersion())
		}
	})
}
