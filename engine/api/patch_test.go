package api_test

import (
	"fmt"
	"sync"
	"testing"
)

func TestPatch(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		acct := str(e.create("account", map[string]any{"name": "A"})["id"])
		rec := e.create("item", map[string]any{"title": "first", "qty": 3, "amount": "10.50", "account": acct, "tags": []string{"a"}})
		id := str(rec["id"])
		path := "/api/data/kit/item/" + id
		unchanged := func(what string) {
			t.Helper()
			if got := e.get("item", id); mustJSON(got) != mustJSON(rec) {
				t.Errorf("%s changed the record:\nwas %v\nnow %v", what, rec, got)
			}
		}

		st, body := e.do("PATCH", path, map[string]any{"title": "no version"})
		wantErr(t, "missing version", st, body, 422, "validation_failed")
		wantDetail(t, "missing version", body, "/version")
		unchanged("missing version")
		// Every problem at once, the missing version included.
		st, body = e.do("PATCH", path, map[string]any{"title": 5, "qty": "x", "account": "01jzzzzzzzzzzzzzzzzzzzzzzz"})
		wantErr(t, "several problems", st, body, 422, "validation_failed")
		if ds := details(t, body); mustJSON(ds) != `["/account","/qty","/title","/version"]` {
			t.Errorf("several problems: details %v", ds)
		}
		unchanged("several problems")
		for _, v := range []string{`"1"`, `1.5`, `null`, `true`} {
			st, body = e.do("PATCH", path, `{"title": "bad version", "version": `+v+`}`)
			wantErr(t, "version "+v, st, body, 422, "validation_failed")
			wantDetail(t, "version "+v, body, "/version")
			unchanged("version " + v)
		}
		for _, v := range []int{0, 2, -1, 99} {
			st, body = e.do("PATCH", path, map[string]any{"title": "stale", "version": v})
			wantErr(t, fmt.Sprintf("version %d", v), st, body, 409, "version_conflict")
			unchanged(fmt.Sprintf("stale version %d", v))
		}
		for _, b := range []string{`{"version": 1, "id": "x"}`, `{"version": 1, "created_at": "2020-01-01T00:00:00Z"}`,
			`{"version": 1, "number": 5}`, `{"version": 1, "title": null}`, `{"version": 1, "title": ""}`, `{"version": 1, "bogus": 1}`,
			`{"version": 1, "account": "01jzzzzzzzzzzzzzzzzzzzzzzz"}`, `[]`, `{"version": 1`} {
			st, body = e.do("PATCH", path, b)
			if st != 422 && st != 400 {
				t.Errorf("PATCH %s: %d %v", b, st, body)
			}
			errCode(t, body)
			unchanged("PATCH " + b)
		}

		st, body = e.do("PATCH", path, map[string]any{"title": "second", "amount": "11", "version": 1})
		if st != 200 || num(t, body["version"]) != 2 || body["title"] != "second" || mustJSON(body["amount"]) != `11.00` {
			t.Fatalf("patch: %d %v", st, body)
		}
		// Fields the patch leaves out keep their values; updated_at moves.
		got := e.get("item", id)
		if mustJSON(got) != mustJSON(body) {
			t.Errorf("GET after PATCH differs:\n%v\n%v", got, body)
		}
		for _, k := range []string{"qty", "account", "tags", "created_at", "created_by", "owner", "number"} {
			if mustJSON(got[k]) != mustJSON(rec[k]) {
				t.Errorf("%s changed: %v → %v", k, rec[k], got[k])
			}
		}
		if str(got["updated_at"]) < str(rec["updated_at"]) {
			t.Errorf("updated_at went back: %v → %v", rec["updated_at"], got["updated_at"])
		}
		// The old version is stale now; null clears an optional field.
		st, body = e.do("PATCH", path, map[string]any{"title": "third", "version": 1})
		wantErr(t, "replayed version", st, body, 409, "version_conflict")
		st, body = e.do("PATCH", path, map[string]any{"qty": nil, "version": 2})
		if st != 200 || body["qty"] != nil || num(t, body["version"]) != 3 || body["title"] != "second" {
			t.Errorf("clear qty: %d %v", st, body)
		}

		// Unknown ids.
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			for _, missing := range []string{"01jzzzzzzzzzzzzzzzzzzzzzzz", "nope", "x%22%20OR%201%3D1"} {
				st, body = e.do(m, "/api/data/kit/item/"+missing, map[string]any{"version": 1, "title": "x"})
				wantErr(t, m+" "+missing, st, body, 404, "not_found")
			}
		}
		if e.count("item") != 1 {
			t.Errorf("items: %d", e.count("item"))
		}
	})
}

func TestDelete(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		acct := str(e.create("account", map[string]any{"name": "A"})["id"])
		item := e.create("item", map[string]any{"title": "refers", "account": acct})
		itemID := str(item["id"])
		note := e.create("note", map[string]any{"body": "about the item", "item": itemID})

		// The account is referenced by a restrict ref: refused, nothing deleted.
		st, body := e.do("DELETE", "/api/data/kit/account/"+acct, nil)
		wantErr(t, "delete referenced", st, body, 409, "referenced")
		if e.count("account") != 1 || e.count("item") != 1 || e.get("item", itemID)["account"] != acct {
			t.Error("a refused delete changed the data")
		}

		// Stale and malformed versions.
		for _, v := range []string{"2", "99"} {
			st, body = e.do("DELETE", "/api/data/kit/item/"+itemID+"?version="+v, nil)
			wantErr(t, "delete version "+v, st, body, 409, "version_conflict")
		}
		for _, v := range []string{"abc", "1.5", "1e3", "%27%3B--", "0", "-1"} {
			st, body = e.do("DELETE", "/api/data/kit/item/"+itemID+"?version="+v, nil)
			wantErr(t, "delete version "+v, st, body, 400, "invalid_query")
		}
		if e.count("item") != 1 {
			t.Fatal("a refused delete removed the item")
		}

		// The right version deletes; the note's setNull ref is cleared.
		if st, body := e.do("DELETE", "/api/data/kit/item/"+itemID+"?version=1", nil); st != 204 {
			t.Fatalf("delete: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/data/kit/item/"+itemID, nil)
		wantErr(t, "get deleted", st, body, 404, "not_found")
		st, body = e.do("DELETE", "/api/data/kit/item/"+itemID, nil)
		wantErr(t, "delete twice", st, body, 404, "not_found")
		st, body = e.do("PATCH", "/api/data/kit/item/"+itemID, map[string]any{"version": 1, "title": "ghost"})
		wantErr(t, "patch deleted", st, body, 404, "not_found")
		if n := e.get("note", str(note["id"])); n["item"] != nil || n["body"] != "about the item" {
			t.Errorf("note after its item was deleted: %v", n)
		}
		// Now the account is free; without a version the delete is unconditional.
		if st, body := e.do("DELETE", "/api/data/kit/account/"+acct, nil); st != 204 {
			t.Errorf("delete account: %d %v", st, body)
		}
		if e.count("account") != 0 || e.count("item") != 0 || e.count("note") != 1 {
			t.Error("counts after deletes")
		}
	})
}

func TestConcurrentPatch(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		id := str(e.create("item", map[string]any{"title": "contended", "qty": 0})["id"])
		const n = 20
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			successes int
			conflicts int
			start     = make(chan struct{})
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, rec := e.do("GET", "/api/data/kit/item/"+id, nil)
				if st != 200 {
					t.Errorf("get: %d %v", st, rec)
					return
				}
				<-start
				st, body := e.do("PATCH", "/api/data/kit/item/"+id, map[string]any{"qty": i + 1, "version": rec["version"]})
				mu.Lock()
				defer mu.Unlock()
				switch st {
				case 200:
					successes++
				case 409:
					conflicts++
					if c := errCode(t, body); c != "version_conflict" {
						t.Errorf("conflict code %q", c)
					}
				default:
					t.Errorf("concurrent patch: %d %v", st, body)
				}
			}()
		}
		close(start)
		wg.Wait()
		if successes < 1 || successes+conflicts != n {
			t.Fatalf("%d successes, %d conflicts of %d", successes, conflicts, n)
		}
		got := e.get("item", id)
		if v := num(t, got["version"]); v != int64(1+successes) {
			t.Errorf("final version %d, want 1 + %d successes", v, successes)
		}
		t.Logf("%d successes, %d conflicts", successes, conflicts)
	})
}
