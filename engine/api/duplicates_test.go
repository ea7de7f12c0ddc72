package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// dupApp has customers with four duplicate rules (phone and company warn,
// a name similarity warns, email refuses), contacts that ref a customer
// (restrict) and deals that ref one (setNull), and a rollup of contacts.
const dupApp = `{
 "name": "dup",
 "entities": [
  {"id": "e_c", "name": "customer", "fields": [
    {"id": "c1", "name": "name", "type": "text", "required": true},
    {"id": "c2", "name": "phone", "type": "phone"},
    {"id": "c3", "name": "email", "type": "email"},
    {"id": "c4", "name": "company", "type": "text"},
    {"id": "c5", "name": "notes", "type": "text"},
    {"id": "c7", "name": "revenue", "type": "decimal", "scale": 2},
    {"id": "c6", "name": "contacts", "type": "rollup", "rollup": {"entity": "contact", "via": "customer", "op": "count"}}]},
  {"id": "e_p", "name": "contact", "fields": [
    {"id": "p1", "name": "name", "type": "text"},
    {"id": "p2", "name": "customer", "type": "ref", "entity": "customer", "onDelete": "restrict"}]},
  {"id": "e_d", "name": "deal", "fields": [
    {"id": "d1", "name": "title", "type": "text"},
    {"id": "d2", "name": "customer", "type": "ref", "entity": "customer", "onDelete": "setNull"}]}],
 "matching": [
  {"name": "by_phone", "entity": "customer", "keys": [{"fields": ["phone"], "normalize": "phone"}]},
  {"name": "by_company", "entity": "customer", "keys": [{"fields": ["company"], "normalize": "company"}]},
  {"name": "by_name", "entity": "customer", "keys": [{"fields": ["name"], "normalize": "text", "similarity": 0.75}]},
  {"name": "by_email", "entity": "customer", "onCreate": "refuse", "keys": [{"fields": ["email"], "normalize": "email"}]}],
 "roles": [
  {"name": "rep", "entities": {"customer": {"create": "own", "read": "own", "update": "own", "delete": "own"}, "contact": {"create": "all", "read": "all"}}},
  {"name": "viewer", "entities": {"customer": {"read": "all", "update": "all"}}}]
}`

// dups is the _duplicates of a create's answer as "rule:id" strings.
func dups(body map[string]any) []string {
	var out []string
	arr, _ := body["_duplicates"].([]any)
	for _, d := range arr {
		m := d.(map[string]any)
		out = append(out, str(m["rule"])+":"+str(m["id"]))
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Duplicates are found across every normalisation on create (warn: the
// answer names them), by the indexed keys, and listed.
func TestDuplicatesOnCreate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, dupApp)
		create := func(body map[string]any) map[string]any {
			t.Helper()
			st, rec := e.do("POST", "/api/data/dup/customer", body)
			if st != 201 {
				t.Fatalf("create %v: %d %v", body, st, rec)
			}
			return rec
		}
		a := create(map[string]any{"name": "李雷", "phone": "+86 138-0013-8000", "email": "li.lei@example.com", "company": "阿里巴巴（中国）有限公司"})
		if d := dups(a); len(d) != 0 {
			t.Fatalf("first record has duplicates: %v", d)
		}
		aid := str(a["id"])
		cases := []struct {
			body map[string]any
			rule string
		}{
			{map[string]any{"name": "x1", "phone": "13800138000"}, "by_phone"},
			{map[string]any{"name": "x2", "phone": "0086 138 0013 8000"}, "by_phone"},
			{map[string]any{"name": "x3", "phone": "+86 (138) 0013.8000"}, "by_phone"},
			{map[string]any{"name": "x4", "company": "阿里巴巴(中国)有限公司"}, "by_company"},
			{map[string]any{"name": "x5", "company": "阿里巴巴集团"}, "by_company"},
			{map[string]any{"name": "x6", "company": "阿里巴巴 股份有限公司"}, "by_company"},
			{map[string]any{"name": "李雷 "}, "by_name"},
		}
		for _, c := range cases {
			rec := create(c.body)
			if d := dups(rec); !has(d, c.rule+":"+aid) {
				t.Errorf("%v: _duplicates %v, want %s:%s", c.body, d, c.rule, aid)
			}
		}
		// Latin legal forms and full width.
		b := create(map[string]any{"name": "Acme", "company": "Acme Co., Ltd."})
		for _, co := range []string{"ACME Co.,Ltd", "Acme Limited", "ａｃｍｅ　ｉｎｃ．", "Acme Corporation"} {
			if d := dups(create(map[string]any{"name": "n " + co, "company": co})); !has(d, "by_company:"+str(b["id"])) {
				t.Errorf("%q: _duplicates %v", co, d)
			}
		}
		// Similarity threshold: 北京字节跳动科技 vs 北京字节跳动 is 0.75 (found),
		// vs 北京字节 0.5 (not).
		s := create(map[string]any{"name": "北京字节跳动科技"})
		if d := dups(create(map[string]any{"name": "北京字节跳动"})); !has(d, "by_name:"+str(s["id"])) {
			t.Errorf("similar name: %v", d)
		}
		if d := dups(create(map[string]any{"name": "北京字节"})); has(d, "by_name:"+str(s["id"])) {
			t.Errorf("below the threshold yet found: %v", d)
		}
		// Not duplicates: another phone, a blank company.
		if d := dups(create(map[string]any{"name": "zz unrelated", "phone": "13900139000", "company": ""})); len(d) != 0 {
			t.Errorf("unrelated: %v", d)
		}
		// An update moves the keys: the old phone no longer matches.
		st, upd := e.do("PATCH", "/api/data/dup/customer/"+aid, map[string]any{"phone": "021-5555 6666", "version": a["version"]})
		if st != 200 {
			t.Fatalf("patch: %d %v", st, upd)
		}
		if d := dups(create(map[string]any{"name": "y1", "phone": "+86 21 5555 6666"})); !has(d, "by_phone:"+aid) {
			t.Errorf("landline after update: %v", d)
		}

		// GET …/{id}/duplicates
		st, body := e.do("GET", "/api/data/dup/customer/"+str(b["id"])+"/duplicates", nil)
		if st != 200 || len(items(t, body)) != 4 {
			t.Fatalf("duplicates of b: %d %v", st, body)
		}
		for _, it := range items(t, body) {
			if it["rule"] != "by_company" || it["record"].(map[string]any)["id"] == b["id"] {
				t.Errorf("item %v", it)
			}
		}
		// GET …/{entity}/duplicates: groups, paged.
		st, body = e.do("GET", "/api/data/dup/customer/duplicates?rule=by_company&limit=1", nil)
		if st != 200 || len(items(t, body)) != 1 || str(body["nextCursor"]) == "" {
			t.Fatalf("groups page 1: %d %v", st, body)
		}
		st, body2 := e.do("GET", "/api/data/dup/customer/duplicates?rule=by_company&limit=1&cursor="+str(body["nextCursor"]), nil)
		if st != 200 || len(items(t, body2)) != 1 || str(body2["nextCursor"]) != "" {
			t.Fatalf("groups page 2: %d %v", st, body2)
		}
		g1, g2 := items(t, body)[0], items(t, body2)[0]
		if len(g1["records"].([]any))+len(g2["records"].([]any)) != 5+4 {
			t.Errorf("groups: %v / %v", g1, g2)
		}
		st, body = e.do("GET", "/api/data/dup/customer/duplicates", nil)
		if st != 200 {
			t.Fatalf("all groups: %d %v", st, body)
		}
		rules := map[string]int{}
		for _, g := range items(t, body) {
			rules[str(g["rule"])]++
		}
		if rules["by_phone"] == 0 || rules["by_company"] != 2 || rules["by_name"] == 0 {
			t.Errorf("groups by rule: %v", rules)
		}
		// Bad input.
		for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?cursor=-1", "?cursor=abc", "?rule=nope"} {
			if st, body := e.do("GET", "/api/data/dup/customer/duplicates"+q, nil); st < 400 || st >= 500 {
				t.Errorf("%s: %d %v", q, st, body)
			}
		}
		if st, _ := e.do("GET", "/api/data/dup/nope/duplicates", nil); st != 404 {
			t.Errorf("unknown entity: %d", st)
		}
		if st, _ := e.do("GET", "/api/data/dup/customer/01zzzzzzzzzzzzzzzzzzzzzzzz/duplicates", nil); st != 404 {
			t.Errorf("unknown record: %d", st)
		}
	})
}

// A refuse rule: 409 duplicate, nothing written; of concurrent creates of
// one email only one passes.
func TestDuplicatesRefuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, dupApp)
		first := e.create("dup/customer", map[string]any{"name": "Han Meimei", "email": "Han@Example.com"})
		st, body := e.do("POST", "/api/data/dup/customer", map[string]any{"name": "Another", "email": "han@example.COM"})
		if st != 409 {
			t.Fatalf("refuse: %d %v", st, body)
		}
		errObj := body["error"].(map[string]any)
		det := errObj["details"].([]any)[0].(map[string]any)
		params := det["params"].(map[string]any)
		if errObj["code"] != "duplicate" || det["path"] != "/email" || params["rule"] != "by_email" || params["id"] != first["id"] {
			t.Errorf("refusal: %v", body)
		}
		if n := e.count("dup/customer"); n != 1 {
			t.Errorf("%d customers after a refusal", n)
		}

		const n = 8
		var wg sync.WaitGroup
		codes := make([]int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				codes[i], _ = e.do("POST", "/api/data/dup/customer", map[string]any{"name": fmt.Sprintf("racer %d", i), "email": "race@example.com"})
			}(i)
		}
		wg.Wait()
		created := 0
		for _, c := range codes {
			switch c {
			case 201:
				created++
			case 409:
			default:
				t.Errorf("concurrent create: %d", c)
			}
		}
		if created != 1 {
			t.Errorf("%d concurrent creates of one email passed (%v)", created, codes)
		}
	})
}

// Need to know: a rep is never told of a record they cannot read — not in
// a warning, not in a refusal, not in a listing.
func TestDuplicatesNeedToKnow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, dupApp)
		_, rep1 := e.flowUser("rep1@example.com", "rep")
		_, rep2 := e.flowUser("rep2@example.com", "rep")
		st, mine := e.doAs(rep1, "POST", "/api/data/dup/customer", map[string]any{"name": "Secret Co", "phone": "13800138000", "email": "boss@secret.cn"})
		if st != 201 {
			t.Fatalf("rep1 create: %d %v", st, mine)
		}
		st, other := e.doAs(rep2, "POST", "/api/data/dup/customer", map[string]any{"name": "Other", "phone": "+86 13800138000"})
		if st != 201 || other["_duplicates"] != nil {
			t.Fatalf("rep2's create names rep1's record: %d %v", st, other)
		}
		st, body := e.doAs(rep2, "POST", "/api/data/dup/customer", map[string]any{"name": "Third", "email": "BOSS@secret.cn"})
		if st != 409 || strings.Contains(fmt.Sprint(body), str(mine["id"])) {
			t.Fatalf("refusal names an unreadable record: %d %v", st, body)
		}
		if _, ok := body["error"].(map[string]any)["details"].([]any)[0].(map[string]any)["params"].(map[string]any)["id"]; ok {
			t.Errorf("refusal carries an id: %v", body)
		}
		st, body = e.doAs(rep2, "GET", "/api/data/dup/customer/duplicates", nil)
		if st != 200 || len(items(t, body)) != 0 {
			t.Errorf("rep2's groups: %d %v", st, body)
		}
		st, body = e.doAs(rep2, "GET", "/api/data/dup/customer/"+str(other["id"])+"/duplicates", nil)
		if st != 200 || len(items(t, body)) != 0 {
			t.Errorf("rep2's record's duplicates: %d %v", st, body)
		}
		if st, _ := e.doAs(rep2, "GET", "/api/data/dup/customer/"+str(mine["id"])+"/duplicates", nil); st != 404 {
			t.Errorf("duplicates of an unreadable record: %d", st)
		}
		// The admin sees the pair.
		st, body = e.do("GET", "/api/data/dup/customer/"+str(other["id"])+"/duplicates", nil)
		if st != 200 || len(items(t, body)) != 1 {
			t.Errorf("admin: %d %v", st, body)
		}
		// Merging needs update on the survivor and delete on the
		// duplicate: rep2 cannot read rep1's record (404); a viewer who
		// may update but not delete gets 403.
		if st, body := e.doAs(rep2, "POST", "/api/data/dup/customer/"+str(other["id"])+"/merge", map[string]any{"duplicate": mine["id"]}); st != 404 {
			t.Errorf("rep2 merges an unreadable record: %d %v", st, body)
		}
		_, viewer := e.flowUser("viewer@example.com", "viewer")
		if st, body := e.doAs(viewer, "POST", "/api/data/dup/customer/"+str(other["id"])+"/merge", map[string]any{"duplicate": mine["id"]}); st != 403 {
			t.Errorf("viewer merges: %d %v", st, body)
		}
	})
}

// Merge: chosen fields, refs moved from every entity, rollups, both
// histories kept with notes, the duplicate gone; bad input changes nothing.
func TestMerge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, dupApp)
		surv := e.create("dup/customer", map[string]any{"name": "Acme", "phone": "13800138000", "company": "Acme Co., Ltd.", "notes": "old"})
		dup := e.create("dup/customer", map[string]any{"name": "ACME Ltd", "phone": "+86 138 0013 8000", "email": "hi@acme.com", "notes": "better", "revenue": "1234.50"})
		other := e.create("dup/customer", map[string]any{"name": "Zeta"})
		sid, did := str(surv["id"]), str(dup["id"])
		c1 := e.create("dup/contact", map[string]any{"name": "c1", "customer": did})
		c2 := e.create("dup/contact", map[string]any{"name": "c2", "customer": did})
		c3 := e.create("dup/contact", map[string]any{"name": "c3", "customer": sid})
		d1 := e.create("dup/deal", map[string]any{"title": "d1", "customer": did})
		_ = c3

		st, s := e.do("GET", "/api/data/dup/customer/"+sid, nil)
		if st != 200 {
			t.Fatal(st)
		}
		path := "/api/data/dup/customer/" + sid + "/merge"
		bad := []struct {
			body any
			want int
		}{
			{`{"duplicate":`, 400},
			{`[]`, 422},
			{map[string]any{"duplicate": did, "extra": 1}, 422},
			{map[string]any{"duplicate": 5}, 422},
			{map[string]any{}, 422},
			{map[string]any{"duplicate": sid}, 422},
			{map[string]any{"duplicate": did, "fields": map[string]any{"nope": "duplicate"}}, 422},
			{map[string]any{"duplicate": did, "fields": map[string]any{"notes": "both"}}, 422},
			{map[string]any{"duplicate": did, "fields": map[string]any{"contacts": "duplicate"}}, 422},
			{map[string]any{"duplicate": did, "fields": map[string]any{"id": "duplicate"}}, 422},
			{map[string]any{"duplicate": str(c1["id"])}, 422}, // another entity's record
			{map[string]any{"duplicate": did, "version": 0}, 422},
			{map[string]any{"duplicate": did, "version": num(t, s["version"]) + 5}, 409},
			{map[string]any{"duplicate": "01zzzzzzzzzzzzzzzzzzzzzzzz"}, 404},
			{map[string]any{"duplicate": "'; DROP TABLE dup_customer; --"}, 404},
		}
		for _, b := range bad {
			if st, body := e.do("POST", path, b.body); st != b.want {
				t.Errorf("merge %v: %d, want %d: %v", b.body, st, b.want, body)
			}
		}
		if st, _ := e.do("POST", "/api/data/dup/customer/01zzzzzzzzzzzzzzzzzzzzzzzz/merge", map[string]any{"duplicate": did}); st != 404 {
			t.Errorf("unknown survivor: %d", st)
		}
		if n := e.count("dup/customer"); n != 3 {
			t.Fatalf("bad merges changed something: %d customers", n)
		}

		st, body := e.do("POST", path, map[string]any{"duplicate": did, "version": s["version"],
			"fields": map[string]any{"notes": "duplicate", "email": "duplicate", "name": "survivor", "revenue": "duplicate"}})
		if st != 200 {
			t.Fatalf("merge: %d %v", st, body)
		}
		rec := body["record"].(map[string]any)
		if rec["notes"] != "better" || rec["email"] != "hi@acme.com" || rec["name"] != "Acme" || num(t, rec["contacts"]) != 3 || fmt.Sprint(rec["revenue"]) != "1234.50" {
			t.Errorf("survivor: %v", rec)
		}
		if st, _ := e.do("GET", "/api/data/dup/customer/"+did, nil); st != 404 {
			t.Errorf("duplicate still there: %d", st)
		}
		for _, id := range []string{str(c1["id"]), str(c2["id"])} {
			_, c := e.do("GET", "/api/data/dup/contact/"+id, nil)
			if c["customer"] != sid {
				t.Errorf("contact %s points at %v", id, c["customer"])
			}
		}
		_, d := e.do("GET", "/api/data/dup/deal/"+str(d1["id"]), nil)
		if d["customer"] != sid {
			t.Errorf("deal points at %v", d["customer"])
		}
		// Both histories, with the notes.
		note := func(id, want string) {
			t.Helper()
			st, body := e.do("GET", "/api/data/dup/customer/"+id+"/history", nil)
			if st != 200 {
				t.Fatalf("history %s: %d %v", id, st, body)
			}
			found := false
			for _, h := range items(t, body) {
				found = found || (h["op"] == "merge" && h["comment"] == want)
			}
			if !found {
				t.Errorf("history of %s lacks %q: %v", id, want, items(t, body))
			}
		}
		note(sid, "merged "+did)
		note(did, "merged into "+sid)
		_, ch := e.do("GET", "/api/data/dup/contact/"+str(c1["id"])+"/history", nil)
		if hs := items(t, ch); len(hs) != 2 || hs[0]["path"] != "system" {
			t.Errorf("contact history: %v", hs)
		}
		// The duplicate's keys went with it; the survivor's email is now
		// its key: a new record with it is refused, naming the survivor.
		st, body = e.do("POST", "/api/data/dup/customer", map[string]any{"name": "late", "email": "HI@acme.com"})
		if st != 409 || !strings.Contains(fmt.Sprint(body), sid) {
			t.Errorf("after merge: %d %v", st, body)
		}
		// The owner may be chosen too; a rep merges their own records.
		repID, rep := e.flowUser("rep@example.com", "rep")
		st, mine := e.doAs(rep, "POST", "/api/data/dup/customer", map[string]any{"name": "Rep's", "phone": "13911112222"})
		if st != 201 {
			t.Fatalf("rep create: %d %v", st, mine)
		}
		st, body = e.do("POST", "/api/data/dup/customer/"+str(other["id"])+"/merge", map[string]any{"duplicate": mine["id"], "fields": map[string]any{"owner": "duplicate", "phone": "duplicate"}})
		if rec, _ := body["record"].(map[string]any); st != 200 || rec["owner"] != repID || rec["phone"] != "13911112222" {
			t.Fatalf("merge with owner: %d %v", st, body)
		}
		st, two := e.doAs(rep, "POST", "/api/data/dup/customer", map[string]any{"name": "Rep's twin", "phone": "+86 139 1111 2222"})
		if st != 201 || !has(dups(two), "by_phone:"+str(other["id"])) {
			t.Fatalf("rep's twin: %d %v", st, two)
		}
		st, body = e.doAs(rep, "POST", "/api/data/dup/customer/"+str(other["id"])+"/merge", map[string]any{"duplicate": two["id"]})
		if st != 200 || body["record"].(map[string]any)["name"] != "Zeta" {
			t.Fatalf("rep merges own records: %d %v", st, body)
		}
	})
}

// A rule added to an app with records builds its keys from them (the
// backfill), and the matching section's bad input is refused at its
// pointer.
func TestMatchingRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		noRules := strings.Replace(dupApp, `"matching": [`, `"matching": [], "x": [`, 1)
		var doc map[string]any
		if err := json.Unmarshal([]byte(noRules), &doc); err != nil {
			t.Fatal(err)
		}
		rules := doc["x"]
		delete(doc, "x")
		e := newEnv(t, db, "")
		if st, body := e.do("POST", "/api/meta/apps", doc); st != 201 {
			t.Fatalf("apply: %d %v", st, body)
		}
		old := e.create("dup/customer", map[string]any{"name": "Old", "phone": "13800138000"})
		doc["matching"] = rules
		if st, body := e.do("POST", "/api/meta/apps", doc); st != 201 {
			t.Fatalf("apply with rules: %d %v", st, body)
		}
		st, rec := e.do("POST", "/api/data/dup/customer", map[string]any{"name": "New", "phone": "+86 138 0013 8000"})
		if st != 201 || !has(dups(rec), "by_phone:"+str(old["id"])) {
			t.Errorf("backfilled: %d %v", st, rec)
		}

		bad := []struct {
			matching string
			path     string
		}{
			{`[{"name": "m", "entity": "customer", "keys": [{"fields": ["nope"]}]}]`, "/matching/0/keys/0/fields/0"},
			{`[{"name": "m", "entity": "nope", "keys": [{"fields": ["name"]}]}]`, "/matching/0/entity"},
			{`[{"name": "m", "entity": "customer", "keys": [{"fields": ["name", "company"], "similarity": 0.8}]}]`, "/matching/0/keys/0/fields"},
			{`[{"name": "m", "entity": "customer", "keys": [{"fields": ["phone"], "similarity": 0.8}]}]`, "/matching/0/keys/0/fields/0"},
			{`[{"name": "m", "entity": "customer", "keys": [{"fields": ["name"], "normalize": "soundex"}]}]`, "/matching/0/keys/0/normalize"},
			{`[{"name": "m", "entity": "customer", "keys": [{"fields": ["contacts"]}]}]`, "/matching/0/keys/0/fields/0"},
			{`[{"name": "m", "entity": "customer", "keys": [{"fields": ["name"]}]}, {"name": "m", "entity": "customer", "keys": [{"fields": ["phone"]}]}]`, "/matching/1/name"},
			{`[{"name": "m", "entity": "customer", "onCreate": "block", "keys": [{"fields": ["name"]}]}]`, "/matching/0/onCreate"},
			{`[{"name": "m", "entity": "customer", "keys": [{"fields": ["name"], "similarity": 1.5}]}]`, "/matching/0/keys/0/similarity"},
		}
		for _, b := range bad {
			var m any
			if err := json.Unmarshal([]byte(b.matching), &m); err != nil {
				t.Fatal(err)
			}
			doc["matching"] = m
			st, body := e.do("POST", "/api/meta/apps", doc)
			if st != 422 || !strings.Contains(fmt.Sprint(body), b.path) {
				t.Errorf("%s: %d %v, want 422 at %s", b.matching, st, body, b.path)
			}
		}
		_ = context.Background()
	})
}
