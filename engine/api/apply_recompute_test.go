package api_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// dealsDoc is an app whose deal.weighted formula (expr given) feeds the
// account's won rollup.
func dealsDoc(expr string) string {
	return fmt.Sprintf(`{"name": "shop", "entities": [
	 {"name": "account", "fields": [
	  {"id": "a1", "name": "name", "type": "text"},
	  {"id": "a2", "name": "weighted_sum", "type": "rollup", "rollup": {"entity": "deal", "via": "account", "op": "sum", "field": "weighted"}}]},
	 {"name": "deal", "fields": [
	  {"id": "d1", "name": "amount", "type": "decimal", "scale": 2},
	  {"id": "d2", "name": "rate", "type": "decimal", "scale": 2},
	  {"id": "d3", "name": "weighted", "type": "formula", "expr": %q, "returns": "decimal"},
	  {"id": "d4", "name": "account", "type": "ref", "entity": "account", "onDelete": "cascade"}]}]}`, expr)
}

// records is every record of shop's entity, as the API lists them, by id.
func (e *env) records(entity string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	cursor := ""
	for {
		path := "/api/data/shop/" + entity + "?limit=500"
		if cursor != "" {
			path += "&cursor=" + q(cursor)
		}
		st, body := e.do("GET", path, nil)
		if st != 200 {
			e.t.Fatalf("list %s: %d %v", entity, st, body)
		}
		for _, it := range items(e.t, body) {
			out[str(it["id"])] = mustJSON(it)
		}
		if cursor = str(body["nextCursor"]); cursor == "" {
			return out
		}
	}
}

// A formula that throws for some records refuses the whole migration: 422
// migration_failed naming the first failing record and pointing at the
// formula; the version, the document and every record stay as they were.
// The same change without the throw recomputes every record and the
// rollups that read them, in the migration.
func TestApplyRecomputeFailsWhole(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, dealsDoc("amount * rate"))
		acct := e.create("shop/account", map[string]any{"name": "Acme"})
		var bad []string
		for i := 0; i < 40; i++ {
			rate := "0.50"
			if i%7 == 3 {
				rate = "2.00"
			}
			d := e.create("shop/deal", map[string]any{"amount": fmt.Sprint(10 + i), "rate": rate, "account": acct["id"]})
			if rate == "2.00" {
				bad = append(bad, str(d["id"]))
			}
		}
		sort.Strings(bad)
		deals, accounts := e.records("deal"), e.records("account")

		st, body := e.do("POST", "/api/meta/apps", dealsDoc("rate > 1 ? JSON.parse('{') : amount * rate * 2"))
		wantErr(t, "throwing formula", st, body, 422, "migration_failed")
		ds := body["error"].(map[string]any)["details"].([]any)
		if len(ds) != 1 {
			t.Fatalf("details: %v", body)
		}
		d := ds[0].(map[string]any)
		if d["path"] != "/entities/1/fields/2/expr" || !strings.Contains(str(d["message"]), bad[0]) || !strings.Contains(str(d["message"]), "SyntaxError") {
			t.Errorf("detail %v, want the formula's pointer and record %s", d, bad[0])
		}
		if msg := str(body["error"].(map[string]any)["message"]); !strings.Contains(msg, bad[0]) {
			t.Errorf("message %q does not name record %s", msg, bad[0])
		}
		if st, doc := e.do("GET", "/api/meta/apps/shop", nil); st != 200 || num(t, doc["version"]) != 1 {
			t.Errorf("after the failed apply the app is at %v (%d)", doc["version"], st)
		}
		if st, vs := e.do("GET", "/api/meta/apps/shop/versions", nil); st != 200 || len(items(t, vs)) != 1 {
			t.Errorf("versions after the failed apply: %d %v", st, vs)
		}
		for what, before := range map[string]map[string]string{"deal": deals, "account": accounts} {
			after := e.records(what)
			if len(after) != len(before) {
				t.Fatalf("%s: %d records, had %d", what, len(after), len(before))
			}
			for id, rec := range before {
				if after[id] != rec {
					t.Errorf("%s %s changed by a failed apply:\n%s\n%s", what, id, rec, after[id])
				}
			}
		}

		// Without the throw: every record and the rollup follow, at once.
		st, body = e.do("POST", "/api/meta/apps", dealsDoc("amount * rate * 2"))
		if st != 201 {
			t.Fatalf("apply: %d %v", st, body)
		}
		want := 0.0
		for i := 0; i < 40; i++ {
			rate := 0.5
			if i%7 == 3 {
				rate = 2
			}
			want += float64(10+i) * rate * 2
		}
		for id := range deals {
			rec := e.get("shop/deal", id)
			amount, rate, weighted := decimalOf(t, rec["amount"]), decimalOf(t, rec["rate"]), decimalOf(t, rec["weighted"])
			if weighted != amount*rate*2 {
				t.Errorf("deal %s: weighted %v, want %v", id, rec["weighted"], amount*rate*2)
			}
		}
		got := e.get("shop/account", str(acct["id"]))
		if sum := decimalOf(t, got["weighted_sum"]); sum != want {
			t.Errorf("rollup after apply: %v, want %v", got["weighted_sum"], want)
		}
	})
}

// decimalOf reads a decimal the API answered (a JSON number).
func decimalOf(t *testing.T, v any) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(fmt.Sprint(v), &f); err != nil {
		t.Fatalf("%v is not a number: %v", v, err)
	}
	return f
}
