package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// leakEntities is the crm app of the access matrix with computed fields
// that could carry a value across a row or field rule:
//   - account.big_deals counts deals whose cost (hidden from reps) is over
//     1000, big_flag is a formula over it and deal.acct_big one over it
//     through the deal's ref;
//   - account.deal_count and deal_total count and sum, per reader, only the
//     deals the reader may read ("visibility": "reader");
//   - open_deals counts every open deal (the default, "all");
//   - deal.note_count counts a deal's notes.
//
// note's beforeSave hook lets a test look through db.find as the writer and
// assign a ref from the body.
const leakEntities = `[
  {"id": "e_account", "name": "account", "fields": [
    {"id": "a1", "name": "name", "type": "text", "required": true},
    {"id": "a2", "name": "big_deals", "type": "rollup", "rollup": {"entity": "deal", "via": "account", "op": "count", "filter": "cost > 1000"}},
    {"id": "a3", "name": "big_flag", "type": "formula", "expr": "big_deals > 0", "returns": "boolean"},
    {"id": "a4", "name": "deal_count", "type": "rollup", "rollup": {"entity": "deal", "via": "account", "op": "count", "visibility": "reader"}},
    {"id": "a5", "name": "deal_total", "type": "rollup", "rollup": {"entity": "deal", "via": "account", "op": "sum", "field": "amount", "visibility": "reader"}},
    {"id": "a6", "name": "open_deals", "type": "rollup", "rollup": {"entity": "deal", "via": "account", "op": "count", "filter": "stage = \"open\"", "visibility": "all"}}
  ]},
  {"id": "e_deal", "name": "deal", "fields": [
    {"id": "d1", "name": "title",   "type": "text", "required": true},
    {"id": "d2", "name": "amount",  "type": "decimal", "scale": 2},
    {"id": "d3", "name": "cost",    "type": "decimal", "scale": 2},
    {"id": "d4", "name": "margin",  "type": "decimal", "scale": 2},
    {"id": "d5", "name": "stage",   "type": "select", "options": ["open", "won", "lost"]},
    {"id": "d6", "name": "account", "type": "ref", "entity": "account"},
    {"id": "d8", "name": "acct_big", "type": "formula", "expr": "account.big_deals > 0", "returns": "boolean"},
    {"id": "d7", "name": "note_count", "type": "rollup", "rollup": {"entity": "note", "via": "deal", "op": "count"}}
  ]},
  {"id": "e_note", "name": "note", "fields": [
    {"id": "n1", "name": "body", "type": "text"},
    {"id": "n2", "name": "deal", "type": "ref", "entity": "deal", "onDelete": "setNull"}
  ], "hooks": {"beforeSave": "note#beforeSave"}}
]`

const leakScript = `function beforeSave(record, ctx) {
  if (record.body === "probe") {
    throw new Error("seen " + JSON.stringify(db.find("account", null, {limit: 10})));
  }
  if (record.body === "probe-filter") {
    db.find("account", "big_deals > 0");
  }
  if (record.body && record.body.indexOf("link:") === 0) {
    record.deal = record.body.slice(5);
  }
}`

func leakDoc() string {
	script, _ := json.Marshal(leakScript)
	return `{"name": "crm", "entities": ` + leakEntities + `, "roles": ` + crmRoles + `, "scripts": {"note": ` + string(script) + `}}`
}

// errorJSON is an error answer with one name replaced by another, for
// comparing the answer about a hidden field with that about a missing one.
func errorJSON(body map[string]any, from, to string) string {
	return strings.ReplaceAll(mustJSON(body), from, to)
}

// TestLeakComputedHiddenInputs: a rollup whose filter reads a field hidden
// from the reader (and a formula over it) is hidden from them everywhere —
// get, list, fields, filter, sort, expand, history, OpenAPI, db.find —
// exactly like a field that does not exist; roles that see the input see it.
func TestLeakComputedHiddenInputs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newCRMWith(t, db, leakDoc())
		rep1, mgr, exec := c.users["rep1"], c.users["mgr"], c.users["exec"]
		acct := "/api/data/crm/account/" + c.acct

		// Each role's view of big_deals and big_flag (every deal costs 987654.32).
		for _, tc := range []struct {
			u     *member
			token string
			shown bool
		}{
			{rep1, rep1.token, false},
			{c.users["rep2"], c.users["rep2"].token, false},
			{mgr, mgr.token, true},
			{exec, exec.token, true},
			{&member{name: "admin"}, c.token, true},
		} {
			st, body := c.doAs(tc.token, "GET", acct, nil)
			if st != 200 {
				t.Fatalf("%s get account: %d %v", tc.u.name, st, body)
			}
			_, has := body["big_deals"]
			_, hasFlag := body["big_flag"]
			if has != tc.shown || hasFlag != tc.shown {
				t.Errorf("%s: big_deals shown %v, big_flag shown %v, want %v: %v", tc.u.name, has, hasFlag, tc.shown, body)
			}
			if tc.shown && num(t, body["big_deals"]) != 5 {
				t.Errorf("%s: big_deals = %v, want 5", tc.u.name, body["big_deals"])
			}
		}

		// Through the deal's ref too (rep1's own deal).
		deal := "/api/data/crm/deal/" + c.deals["rep1"]
		if _, body := c.as(rep1, "GET", deal, nil); body["acct_big"] != nil || body["title"] == nil {
			t.Errorf("rep1 sees acct_big on their own deal: %v", body)
		}
		if _, body := c.as(mgr, "GET", deal, nil); body["acct_big"] != true {
			t.Errorf("manager does not see acct_big: %v", body)
		}

		// For a rep, every way of naming big_deals fails exactly as for a
		// field that does not exist.
		for _, probe := range []string{
			"/api/data/crm/deal?filter=" + q("acct_big = true"),
			"/api/data/crm/deal?sort=acct_big",
			deal + "?fields=title,acct_big",
			"/api/data/crm/account?filter=" + q("big_deals > 0"),
			"/api/data/crm/account?filter=" + q("big_flag = true"),
			"/api/data/crm/account?sort=-big_deals",
			"/api/data/crm/account?fields=name,big_deals",
			acct + "?fields=big_deals",
		} {
			st, body := c.as(rep1, "GET", probe, nil)
			rename := strings.NewReplacer("big_deals", "zzz_deals", "big_flag", "zzz_flag", "acct_big", "acct_zzz")
			missing := rename.Replace(probe)
			st2, body2 := c.as(rep1, "GET", missing, nil)
			if st != 400 || st2 != 400 {
				t.Errorf("%s: %d %v; for a missing field %d %v", probe, st, body, st2, body2)
				continue
			}
			got := rename.Replace(mustJSON(body))
			if got != mustJSON(body2) {
				t.Errorf("%s: answer differs from the one for a missing field:\n%v\n%v", probe, body, body2)
			}
		}
		// Lists, expand, history and OpenAPI leave it out.
		for _, path := range []string{
			"/api/data/crm/account",
			"/api/data/crm/deal?expand=account",
			acct + "/history",
			"/api/meta/apps/crm/openapi.json",
		} {
			st, raw := c.raw(rep1.token, "GET", path, nil)
			if st != 200 {
				t.Errorf("rep1 %s: %d %s", path, st, clip(string(raw)))
			}
			if strings.Contains(string(raw), "big_") || strings.Contains(string(raw), "acct_big") {
				t.Errorf("rep1 %s names big_deals, big_flag or acct_big: %s", path, clip(string(raw)))
			}
		}
		st, raw := c.raw(mgr.token, "GET", "/api/meta/apps/crm/openapi.json", nil)
		if st != 200 || !strings.Contains(string(raw), `"big_deals"`) {
			t.Errorf("manager's openapi lacks big_deals: %d", st)
		}
		st, body := c.as(mgr, "GET", "/api/data/crm/account?filter="+q("big_deals > 0")+"&sort=-big_deals", nil)
		if st != 200 || len(items(t, body)) != 1 {
			t.Errorf("manager filters by big_deals: %d %v", st, body)
		}

		// db.find in a hook reads as the writer.
		st, body = c.as(rep1, "POST", "/api/data/crm/note", map[string]any{"body": "probe"})
		if st != 422 || strings.Contains(mustJSON(body), "big_") || !strings.Contains(mustJSON(body), `\"deal_count\":1`) {
			t.Errorf("rep1 db.find: %d %v", st, body)
		}
		st, body = c.as(rep1, "POST", "/api/data/crm/note", map[string]any{"body": "probe-filter"})
		if st != 422 || !strings.Contains(mustJSON(body), `unknown field \"big_deals\"`) {
			t.Errorf("rep1 db.find filtering by big_deals: %d %v", st, body)
		}

		// The oracle: a rep moving their own deal (cost hidden) between
		// accounts must see nothing that depends on its cost.
		st, body = c.as(rep1, "POST", "/api/data/crm/account", map[string]any{"name": "Other"})
		if st != 201 {
			t.Fatalf("rep1 creates an account: %d %v", st, body)
		}
		other := str(body["id"])
		view := func(id string) map[string]any {
			st, body := c.as(rep1, "GET", "/api/data/crm/account/"+id, nil)
			if st != 200 {
				t.Fatalf("rep1 get account: %d %v", st, body)
			}
			return body
		}
		adminBig := func(id string) int64 { return num(t, c.get("crm/account", id)["big_deals"]) }
		beforeA, beforeB, adminA := view(c.acct), view(other), adminBig(c.acct)
		_, d := c.as(rep1, "GET", "/api/data/crm/deal/"+c.deals["rep1"], nil)
		st, body = c.as(rep1, "PATCH", "/api/data/crm/deal/"+c.deals["rep1"], map[string]any{"account": other, "version": d["version"]})
		if st != 200 {
			t.Fatalf("rep1 moves their deal: %d %v", st, body)
		}
		if adminBig(c.acct) != adminA-1 || adminBig(other) != 1 {
			t.Fatalf("the move did not change big_deals for the admin (the test shows nothing)")
		}
		afterA, afterB := view(c.acct), view(other)
		for _, v := range []map[string]any{beforeA, beforeB, afterA, afterB} {
			if strings.Contains(mustJSON(v), "big_") {
				t.Errorf("rep1 sees big_deals or big_flag: %v", v)
			}
		}
		// What did change is what the rep may know: their own deal moved.
		if fmt.Sprint(afterA["deal_count"]) != "0" || fmt.Sprint(afterB["deal_count"]) != "1" {
			t.Errorf("rep1's deal_count after the move: %v / %v", afterA["deal_count"], afterB["deal_count"])
		}
	})
}

// TestLeakReaderRollup: a rollup with "visibility": "reader" counts and sums,
// for each reader, the children that reader may read; the default counts
// every child. A reader whose value is their own cannot filter or sort by it.
func TestLeakReaderRollup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newCRMWith(t, db, leakDoc())
		acct := "/api/data/crm/account/" + c.acct
		// Acme has one open deal (amount 1000.00) of each of rep1, rep2,
		// rep3, mgr and exec; mgr's team east holds rep2 and, below it,
		// rep1.
		for _, tc := range []struct {
			name, token  string
			count        int64
			total        string
			filterSortOK bool
		}{
			{"rep1", c.users["rep1"].token, 1, "1000.00", false},
			{"rep3", c.users["rep3"].token, 1, "1000.00", false},
			{"mgr", c.users["mgr"].token, 3, "3000.00", false},
			{"exec", c.users["exec"].token, 5, "5000.00", true},
			{"admin", c.token, 5, "5000.00", true},
		} {
			check := func(what string, rec map[string]any) {
				t.Helper()
				if rec == nil || fmt.Sprint(rec["deal_count"]) != fmt.Sprint(tc.count) || fmt.Sprint(rec["deal_total"]) != tc.total {
					t.Errorf("%s %s: deal_count %v deal_total %v, want %d %s", tc.name, what, rec["deal_count"], rec["deal_total"], tc.count, tc.total)
				}
				if rec != nil && fmt.Sprint(rec["open_deals"]) != "5" {
					t.Errorf("%s %s: open_deals (visibility all) = %v, want 5", tc.name, what, rec["open_deals"])
				}
			}
			st, body := c.doAs(tc.token, "GET", acct, nil)
			if st != 200 {
				t.Fatalf("%s get: %d %v", tc.name, st, body)
			}
			check("get", body)
			st, body = c.doAs(tc.token, "GET", acct+"?fields=deal_count,deal_total,open_deals", nil)
			check("get with fields", body)
			st, body = c.doAs(tc.token, "GET", "/api/data/crm/account", nil)
			if st != 200 || len(items(t, body)) != 1 {
				t.Fatalf("%s list: %d %v", tc.name, st, body)
			}
			check("list", items(t, body)[0])
			st, body = c.doAs(tc.token, "GET", "/api/data/crm/deal?limit=1&expand=account", nil)
			if st != 200 || len(items(t, body)) != 1 {
				t.Fatalf("%s list deals: %d %v", tc.name, st, body)
			}
			exp, _ := items(t, body)[0]["expand"].(map[string]any)
			acc, _ := exp["account"].(map[string]any)
			check("expand", acc)

			// Filtering and sorting need a stored value: only a reader whose
			// value is the stored one may.
			for _, p := range []string{"?filter=" + q("deal_count > 0"), "?sort=-deal_total"} {
				st, body = c.doAs(tc.token, "GET", "/api/data/crm/account"+p, nil)
				if tc.filterSortOK && st != 200 {
					t.Errorf("%s %s: %d %v", tc.name, p, st, body)
				}
				if !tc.filterSortOK {
					if st != 400 || !strings.Contains(mustJSON(body), "records you may read") {
						t.Errorf("%s %s: %d %v, want 400 saying why", tc.name, p, st, body)
					}
					if strings.Contains(mustJSON(body), "5000") {
						t.Errorf("%s %s: answer holds the stored total: %v", tc.name, p, body)
					}
				}
			}
		}
		// A writer's answer carries their own value too.
		st, body := c.doAs(c.users["rep1"].token, "POST", "/api/data/crm/account", map[string]any{"name": "Mine"})
		if st != 201 || num(t, body["deal_count"]) != 0 {
			t.Fatalf("rep1 creates an account: %d %v", st, body)
		}
		mine := str(body["id"])
		for _, o := range []string{"rep1", "rep2"} {
			st, b := c.do("POST", "/api/data/crm/deal", map[string]any{"title": "x", "amount": "10.00", "account": mine, "owner": c.users[o].id})
			if st != 201 {
				t.Fatalf("deal: %d %v", st, b)
			}
		}
		st, body = c.doAs(c.users["rep1"].token, "PATCH", "/api/data/crm/account/"+mine, map[string]any{"name": "Mine 2", "version": 1})
		if st != 200 || fmt.Sprint(body["deal_count"]) != "1" || fmt.Sprint(body["deal_total"]) != "10.00" {
			t.Errorf("rep1 patches their account: %d %v", st, body)
		}
		if a := c.get("crm/account", mine); fmt.Sprint(a["deal_count"]) != "2" || fmt.Sprint(a["deal_total"]) != "20.00" {
			t.Errorf("admin's view: %v", a)
		}
		// The history of a per-reader rollup's record shows a rep no stored value.
		st, raw := c.raw(c.users["rep1"].token, "GET", "/api/data/crm/account/"+mine+"/history", nil)
		if st != 200 || strings.Contains(string(raw), "deal_count") || strings.Contains(string(raw), "deal_total") {
			t.Errorf("rep1 history: %d %s", st, clip(string(raw)))
		}
		st, raw = c.raw(c.token, "GET", "/api/data/crm/account/"+mine+"/history", nil)
		if st != 200 || !strings.Contains(string(raw), "deal_count") {
			t.Errorf("admin history: %d %s", st, clip(string(raw)))
		}
		// The OpenAPI document says so.
		st, raw = c.raw(c.users["rep1"].token, "GET", "/api/meta/apps/crm/openapi.json", nil)
		if st != 200 || !strings.Contains(string(raw), "only those the reader may read") {
			t.Errorf("rep1 openapi does not describe deal_count as per reader: %d", st)
		}
		// nobody, with no role in the app, is told the app does not exist.
		st, body = c.doAs(c.users["nobody"].token, "GET", acct, nil)
		wantErr(t, "nobody reads an account", st, body, 404, "not_found")
	})
}

// TestLeakRefToUnreadable: a ref written by create or patch (or by a hook)
// must name a record the writer may read; one they may not gets exactly
// the answer a missing id gets, and nothing changes.
func TestLeakRefToUnreadable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newCRMWith(t, db, leakDoc())
		rep1, mgr, exec := c.users["rep1"], c.users["mgr"], c.users["exec"]
		missing := "01h" + strings.Repeat("z", len(c.deals["rep2"])-3) // an id no record has
		snapshots := func() string {
			var b strings.Builder
			for _, o := range []string{"rep1", "rep2", "rep3", "mgr", "exec"} {
				b.WriteString(c.snapshot(c.deals[o]))
			}
			return b.String()
		}
		// same sends body with the other user's record and with a missing
		// id and wants the same 422, the id aside, and nothing changed.
		same := func(u *member, what, method, path string, body func(id string) map[string]any, target string) {
			t.Helper()
			before, notes := snapshots(), c.count("note")
			st, got := c.as(u, method, path, body(target))
			st2, want := c.as(u, method, path, body(missing))
			if st != 422 || st2 != 422 {
				t.Errorf("%s %s: %d %v; missing id: %d %v", u.name, what, st, got, st2, want)
				return
			}
			if errorJSON(got, target, missing) != mustJSON(want) {
				t.Errorf("%s %s: answer differs from a missing id's:\n%v\n%v", u.name, what, got, want)
			}
			if snapshots() != before || c.count("note") != notes {
				t.Errorf("%s %s changed something", u.name, what)
			}
		}
		create := func(id string) map[string]any { return map[string]any{"body": "hi", "deal": id} }
		same(rep1, "create a note on rep2's deal", "POST", "/api/data/crm/note", create, c.deals["rep2"])
		same(rep1, "create a note whose hook links rep2's deal", "POST", "/api/data/crm/note",
			func(id string) map[string]any { return map[string]any{"body": "link:" + id} }, c.deals["rep2"])
		same(mgr, "create a note on rep3's deal (outside the team)", "POST", "/api/data/crm/note", create, c.deals["rep3"])
		// A ref to rep2's deal next to another problem: still as if missing.
		same(rep1, "create a bad note on rep2's deal", "POST", "/api/data/crm/note",
			func(id string) map[string]any { return map[string]any{"body": 5, "deal": id} }, c.deals["rep2"])

		// Patch: rep1's own note, moved to rep2's deal.
		st, n := c.as(rep1, "POST", "/api/data/crm/note", map[string]any{"body": "mine", "deal": c.deals["rep1"]})
		if st != 201 {
			t.Fatalf("rep1 note: %d %v", st, n)
		}
		note := "/api/data/crm/note/" + str(n["id"])
		same(rep1, "move a note to rep2's deal", "PATCH", note,
			func(id string) map[string]any { return map[string]any{"deal": id, "version": 1} }, c.deals["rep2"])
		same(rep1, "move a note to rep2's deal, with a bad body", "PATCH", note,
			func(id string) map[string]any { return map[string]any{"deal": id, "body": 5, "version": 1} }, c.deals["rep2"])

		// Roles that may read the target pass: the manager their team's
		// deals, the executive and the admin any.
		for _, tc := range []struct {
			u      *member
			token  string
			target string
		}{
			{mgr, mgr.token, c.deals["rep1"]},
			{mgr, mgr.token, c.deals["rep2"]},
			{exec, exec.token, c.deals["rep3"]},
			{&member{name: "admin"}, c.token, c.deals["rep3"]},
		} {
			before := num(t, c.get("crm/deal", tc.target)["note_count"])
			st, body := c.doAs(tc.token, "POST", "/api/data/crm/note", map[string]any{"body": "ok", "deal": tc.target})
			if st != 201 {
				t.Errorf("%s notes a readable deal: %d %v", tc.u.name, st, body)
			}
			if after := num(t, c.get("crm/deal", tc.target)["note_count"]); after != before+1 {
				t.Errorf("%s: note_count %d → %d", tc.u.name, before, after)
			}
		}

		// A note that already points at a deal its owner may not read (the
		// admin made it) keeps working: re-sending the stored ref is not a
		// new reference.
		st, body := c.do("POST", "/api/data/crm/note", map[string]any{"body": "given", "deal": c.deals["rep2"], "owner": rep1.id})
		if st != 201 {
			t.Fatalf("admin note: %d %v", st, body)
		}
		st, body = c.as(rep1, "PATCH", "/api/data/crm/note/"+str(body["id"]), map[string]any{"body": "edited", "deal": c.deals["rep2"], "version": 1})
		if st != 200 || str(body["body"]) != "edited" {
			t.Errorf("rep1 edits a note keeping its deal: %d %v", st, body)
		}
	})
}

// TestLeakRollupVisibilitySetting: the setting is checked when the app is
// applied, with a JSON pointer; a stored value may not be computed from a
// per-reader rollup.
func TestLeakRollupVisibilitySetting(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newCRMWith(t, db, leakDoc())
		for _, tc := range []struct {
			what, from, to, path string
		}{
			{"bad value", `"visibility": "reader"}},
    {"id": "a5"`, `"visibility": "readers"}},
    {"id": "a5"`, "/entities/0/fields/3/rollup/visibility"},
			{"formula over a per-reader rollup", `"expr": "big_deals > 0"`, `"expr": "deal_count > 0"`, "/entities/0/fields/2/expr"},
			{"formula over a per-reader rollup, through a ref", `"op": "count"}}
  ]},
  {"id": "e_note"`, `"op": "count"}},
    {"id": "d9", "name": "acct_deals", "type": "formula", "expr": "account.deal_count"}
  ]},
  {"id": "e_note"`, "/entities/1/fields/8/expr"},
			{"rollup filter over a per-reader rollup", `"filter": "stage = \"open\""`, `"filter": "deal_count > 1"`, "/entities/0/fields/5/rollup/filter"},
			{"list view filtering by a per-reader rollup", `"scripts":`, `"forms": [{"entity": "account", "kind": "list", "filter": "deal_count > 0"}], "scripts":`, "/forms/0/filter"},
			{"list view sorting by a per-reader rollup", `"scripts":`, `"forms": [{"entity": "account", "kind": "list", "sort": "name,-deal_total"}], "scripts":`, "/forms/0/sort"},
		} {
			doc := leakDoc()
			if !strings.Contains(doc, tc.from) {
				t.Fatalf("%s: the document has no %s", tc.what, tc.from)
			}
			doc = strings.Replace(doc, tc.from, tc.to, 1)
			st, body := c.do("POST", "/api/meta/apps", doc)
			if st != 422 {
				t.Errorf("%s: %d %v", tc.what, st, body)
				continue
			}
			if tc.path != "" {
				wantDetail(t, tc.what, body, tc.path)
			}
		}
		// Nothing was applied: the account still answers as before.
		if a := c.get("crm/account", c.acct); num(t, a["deal_count"]) != 5 {
			t.Errorf("after refused applies: %v", a)
		}
		acct := "/api/data/crm/account/" + c.acct
		if _, a := c.doAs(c.users["rep1"].token, "GET", acct, nil); fmt.Sprint(a["deal_count"]) != "1" {
			t.Errorf("rep1 before the switch: %v", a)
		}
		// Switching the setting is an ordinary change: rep1 then sees the
		// count of every deal.
		doc := strings.Replace(leakDoc(), `"op": "count", "visibility": "reader"`, `"op": "count", "visibility": "all"`, 1)
		if st, body := c.do("POST", "/api/meta/apps", doc); st != 201 {
			t.Fatalf("switch deal_count to all: %d %v", st, body)
		}
		if _, a := c.doAs(c.users["rep1"].token, "GET", acct, nil); fmt.Sprint(a["deal_count"]) != "5" {
			t.Errorf("rep1 after the switch: %v", a)
		}
	})
}
