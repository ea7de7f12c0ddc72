package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// history reads one page of a kit record's history, failing on anything
// but 200.
func (e *env) history(entity, id, query string) ([]map[string]any, string) {
	e.t.Helper()
	st, body := e.do("GET", "/api/data/kit/"+entity+"/"+id+"/history"+query, nil)
	if st != 200 {
		e.t.Fatalf("history %s/%s%s: %d %v", entity, id, query, st, body)
	}
	return items(e.t, body), str(body["nextCursor"])
}

// changes returns the changes object of a history entry.
func changes(t *testing.T, h map[string]any) map[string]any {
	t.Helper()
	c, ok := h["changes"].(map[string]any)
	if !ok {
		t.Fatalf("history entry without changes: %v", h)
	}
	return c
}

func TestHistoryCreatePatchDelete(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		acct := e.create("account", map[string]any{"name": "Acme"})
		rec := e.create("item", map[string]any{"title": "first", "qty": 3, "amount": "10.5", "stage": "lead",
			"tags": []string{"a", "vip"}, "at": "2026-11-21T09:30:00+08:00", "account": acct["id"], "done": false})
		id := str(rec["id"])

		hs, next := e.history("item", id, "")
		if len(hs) != 1 || next != "" {
			t.Fatalf("after create: %d entries, next %q: %v", len(hs), next, hs)
		}
		h := hs[0]
		if h["op"] != "create" || h["path"] != "api" || h["actor"] != e.admin.ID || num(t, h["version"]) != 1 || str(h["at"]) == "" {
			t.Errorf("create entry: %v", h)
		}
		want := map[string]string{
			"title": `{"new":"first"}`, "qty": `{"new":3}`, "amount": `{"new":10.50}`, "stage": `{"new":"lead"}`,
			"tags": `{"new":["a","vip"]}`, "at": `{"new":"2026-11-21T01:30:00.000000Z"}`, "account": fmt.Sprintf(`{"new":%q}`, acct["id"]),
			"done": `{"new":false}`, "owner": fmt.Sprintf(`{"new":%q}`, e.admin.ID),
		}
		c := changes(t, h)
		for f, w := range want {
			if got := mustJSON(c[f]); got != w {
				t.Errorf("create %s: %s, want %s", f, got, w)
			}
		}
		for _, f := range []string{"notes", "due", "email", "meta", "id", "version", "created_at", "updated_at"} {
			if _, ok := c[f]; ok {
				t.Errorf("create lists %s: %v", f, c[f])
			}
		}

		// A patch records only what really changed: qty and stage are sent
		// with their current values.
		st, body := e.do("PATCH", "/api/data/kit/item/"+id, map[string]any{"version": 1, "title": "second", "qty": 3, "stage": "lead", "notes": "hello", "amount": "10.50"})
		if st != 200 {
			t.Fatalf("patch: %d %v", st, body)
		}
		hs, _ = e.history("item", id, "")
		if len(hs) != 2 {
			t.Fatalf("after patch: %d entries", len(hs))
		}
		h = hs[0]
		if h["op"] != "update" || num(t, h["version"]) != 2 || h["actor"] != e.admin.ID {
			t.Errorf("update entry: %v", h)
		}
		if got := mustJSON(h["changes"]); got != `{"notes":{"new":"hello","old":null},"title":{"new":"second","old":"first"}}` {
			t.Errorf("update changes: %s", got)
		}

		// A stale patch (409) and an invalid one (422) write no history.
		st, body = e.do("PATCH", "/api/data/kit/item/"+id, map[string]any{"version": 1, "title": "stale"})
		wantErr(t, "stale patch", st, body, 409, "version_conflict")
		st, body = e.do("PATCH", "/api/data/kit/item/"+id, map[string]any{"version": 2, "qty": "many"})
		wantErr(t, "invalid patch", st, body, 422, "validation_failed")
		st, body = e.do("PATCH", "/api/data/kit/item/"+id, map[string]any{"version": 2, "account": "01aaaaaaaaaaaaaaaaaaaaaaaa"})
		wantErr(t, "patch to a missing ref", st, body, 422, "validation_failed")
		st, body = e.do("DELETE", "/api/data/kit/item/"+id+"?version=1", nil)
		wantErr(t, "stale delete", st, body, 409, "version_conflict")
		if hs, _ = e.history("item", id, ""); len(hs) != 2 {
			t.Fatalf("failed writes wrote history: %d entries: %v", len(hs), hs)
		}

		// A delete keeps the history and records every non-null value.
		st, body = e.do("DELETE", "/api/data/kit/item/"+id+"?version=2", nil)
		if st != 204 {
			t.Fatalf("delete: %d %v", st, body)
		}
		if st, _ := e.do("GET", "/api/data/kit/item/"+id, nil); st != 404 {
			t.Fatalf("deleted record answers %d", st)
		}
		hs, _ = e.history("item", id, "")
		if len(hs) != 3 {
			t.Fatalf("after delete: %d entries", len(hs))
		}
		h = hs[0]
		if h["op"] != "delete" || num(t, h["version"]) != 2 {
			t.Errorf("delete entry: %v", h)
		}
		c = changes(t, h)
		for f, w := range map[string]string{"title": `{"old":"second"}`, "notes": `{"old":"hello"}`, "qty": `{"old":3}`, "amount": `{"old":10.50}`, "done": `{"old":false}`} {
			if got := mustJSON(c[f]); got != w {
				t.Errorf("delete %s: %s, want %s", f, got, w)
			}
		}
		if _, ok := c["due"]; ok {
			t.Errorf("delete lists a null field: %v", c)
		}
		if !(str(hs[0]["id"]) > str(hs[1]["id"]) && str(hs[1]["id"]) > str(hs[2]["id"])) {
			t.Errorf("history not newest first: %v", hs)
		}
		if hs[2]["op"] != "create" || hs[1]["op"] != "update" {
			t.Errorf("history order: %v", hs)
		}

		// Deleting a restricted ref fails (409) and writes no history.
		other := e.create("item", map[string]any{"title": "keeps acme", "account": acct["id"]})
		_ = other
		st, body = e.do("DELETE", "/api/data/kit/account/"+str(acct["id"]), nil)
		wantErr(t, "delete referenced account", st, body, 409, "referenced")
		if hs, _ := e.history("account", str(acct["id"]), ""); len(hs) != 1 {
			t.Errorf("failed delete wrote history: %v", hs)
		}
	})
}

func TestHistoryErrors(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		id := str(e.create("item", map[string]any{"title": "x"})["id"])
		st, body := e.doAs("", "GET", "/api/data/kit/item/"+id+"/history", nil)
		wantErr(t, "no token", st, body, 401, "unauthorized")
		st, body = e.do("GET", "/api/data/nope/item/"+id+"/history", nil)
		wantErr(t, "unknown app", st, body, 404, "not_found")
		st, body = e.do("GET", "/api/data/kit/nope/"+id+"/history", nil)
		wantErr(t, "unknown entity", st, body, 404, "not_found")
		st, body = e.do("GET", "/api/data/kit/item/01zzzzzzzzzzzzzzzzzzzzzzzz/history", nil)
		wantErr(t, "unknown record", st, body, 404, "not_found")
		for _, qs := range []string{"?limit=0", "?limit=501", "?limit=x", "?cursor=bogus", "?cursor=" + q("'; drop table x --")} {
			st, body = e.do("GET", "/api/data/kit/item/"+id+"/history"+qs, nil)
			wantErr(t, qs, st, body, 400, "invalid_query")
		}
	})
}

func TestHistoryPaging(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		rec := e.create("item", map[string]any{"title": "v1"})
		id := str(rec["id"])
		for v := 1; v <= 7; v++ {
			st, body := e.do("PATCH", "/api/data/kit/item/"+id, map[string]any{"version": v, "title": fmt.Sprintf("v%d", v+1)})
			if st != 200 {
				t.Fatalf("patch %d: %d %v", v, st, body)
			}
		}
		all, next := e.history("item", id, "?limit=500")
		if len(all) != 8 || next != "" {
			t.Fatalf("whole history: %d entries, next %q", len(all), next)
		}
		var got []map[string]any
		cursor, pages := "", 0
		for {
			qs := "?limit=3"
			if cursor != "" {
				qs += "&cursor=" + q(cursor)
			}
			page, next := e.history("item", id, qs)
			pages++
			if len(page) > 3 {
				t.Fatalf("page of %d", len(page))
			}
			got = append(got, page...)
			if next == "" {
				break
			}
			cursor = next
			if pages > 5 {
				t.Fatal("paging does not end")
			}
		}
		if pages != 3 || len(got) != 8 {
			t.Fatalf("%d pages, %d entries", pages, len(got))
		}
		for i := range got {
			if got[i]["id"] != all[i]["id"] {
				t.Fatalf("entry %d: paged %v, whole %v", i, got[i]["id"], all[i]["id"])
			}
			if v := num(t, got[i]["version"]); v != int64(8-i) {
				t.Errorf("entry %d has version %d, want %d", i, v, 8-i)
			}
		}
	})
}

// tryDo is a goroutine-safe request: errors are returned, not fatal.
func (e *env) tryDo(method, path string, body any) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, "http://forma.test"+path, r)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.app.Test(req, -1)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&out); err != nil {
			return resp.StatusCode, nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, out, nil
}

// TestHistoryConcurrentPatches sends 1,000 patches from 20 goroutines to 10
// records, each retried on 409 with the fresh version, and checks that no
// update and no change is lost: every record's version is 1 + its
// successful patches, and its history holds one update per patch, with
// consecutive versions, each one's old value the previous one's new value.
func TestHistoryConcurrentPatches(t *testing.T) {
	const (
		nRecords = 10
		workers  = 20
		patches  = 1000
	)
	each(t, func(t *testing.T, e *env) {
		ids := make([]string, nRecords)
		for i := range ids {
			ids[i] = str(e.create("item", map[string]any{"title": "burst", "qty": 0})["id"])
		}
		var (
			ok        [nRecords]atomic.Int64
			conflicts atomic.Int64
			wg        sync.WaitGroup
			mu        sync.Mutex
			errs      []string
		)
		fail := func(format string, args ...any) {
			mu.Lock()
			errs = append(errs, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		start := time.Now()
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < patches/workers; i++ {
					r := (w + i) % nRecords
					path := "/api/data/kit/item/" + ids[r]
					qty := w*1000 + i + 1 // unique per patch, so each one changes qty
					for attempt := 0; ; attempt++ {
						st, body, err := e.tryDo("GET", path, nil)
						if err != nil || st != 200 {
							fail("get: %d %v %v", st, body, err)
							return
						}
						v, _ := body["version"].(json.Number).Int64()
						st, body, err = e.tryDo("PATCH", path, map[string]any{"version": v, "qty": qty})
						if err != nil {
							fail("patch: %v", err)
							return
						}
						if st == 200 {
							ok[r].Add(1)
							break
						}
						conflicts.Add(1)
						if st != 409 || attempt > 200 {
							fail("patch: %d %v (attempt %d)", st, body, attempt)
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		t.Logf("%d patches in %v, %d conflicts retried", patches, time.Since(start), conflicts.Load())
		if len(errs) > 0 {
			t.Fatalf("%d failures, first: %s", len(errs), errs[0])
		}
		var total int64
		for r, id := range ids {
			n := ok[r].Load()
			total += n
			if v := num(t, e.get("item", id)["version"]); v != 1+n {
				t.Errorf("record %d: version %d after %d patches", r, v, n)
			}
			hs, next := e.history("item", id, "?limit=500")
			if next != "" {
				t.Fatalf("record %d: more than 500 history entries", r)
			}
			if int64(len(hs)) != 1+n {
				t.Errorf("record %d: %d history entries, want %d", r, len(hs), 1+n)
				continue
			}
			// Oldest first: the create, then one update per patch.
			prev := "0"
			for k := len(hs) - 1; k >= 0; k-- {
				h := hs[k]
				v := num(t, h["version"])
				want := int64(len(hs) - k)
				if v != want {
					t.Errorf("record %d: entry %d has version %d, want %d", r, len(hs)-k, v, want)
					break
				}
				qc, _ := changes(t, h)["qty"].(map[string]any)
				if k == len(hs)-1 {
					if h["op"] != "create" || qc["new"].(json.Number).String() != "0" {
						t.Errorf("record %d: first entry %v", r, h)
					}
					continue
				}
				if h["op"] != "update" || qc == nil {
					t.Errorf("record %d: entry %v", r, h)
					break
				}
				if old := qc["old"].(json.Number).String(); old != prev {
					t.Errorf("record %d v%d: old qty %s, previous new %s", r, v, old, prev)
					break
				}
				prev = qc["new"].(json.Number).String()
				if len(changes(t, h)) != 1 {
					t.Errorf("record %d v%d: changes %v, want qty only", r, v, h["changes"])
				}
			}
			if cur := mustJSON(e.get("item", id)["qty"]); cur != prev {
				t.Errorf("record %d: qty %s, last history new %s", r, cur, prev)
			}
		}
		if total != patches {
			t.Errorf("%d successful patches, want %d", total, patches)
		}
	})
}

// cascadeDoc: deleting an account cascades to its deals and their tasks
// (a grandchild), clears the deal of notes and the account of memos
// (setNull), and is refused while an invoice (restrict) holds a deal.
const cascadeDoc = `{"name": "crm", "entities": [
 {"name": "account", "fields": [{"id": "a1", "name": "name", "type": "text"}]},
 {"name": "deal", "fields": [{"id": "d1", "name": "title", "type": "text"},
  {"id": "d2", "name": "account", "type": "ref", "entity": "account", "onDelete": "cascade"}]},
 {"name": "task", "fields": [{"id": "t1", "name": "todo", "type": "text"},
  {"id": "t2", "name": "deal", "type": "ref", "entity": "deal", "onDelete": "cascade"}]},
 {"name": "note", "fields": [{"id": "n1", "name": "body", "type": "text"},
  {"id": "n2", "name": "deal", "type": "ref", "entity": "deal", "onDelete": "setNull"}]},
 {"name": "memo", "fields": [{"id": "m1", "name": "body", "type": "text"},
  {"id": "m2", "name": "account", "type": "ref", "entity": "account", "onDelete": "setNull"}]},
 {"name": "invoice", "fields": [{"id": "i1", "name": "deal", "type": "ref", "entity": "deal", "onDelete": "restrict"}]}]}`

// Records that a delete removes by cascade, or changes by setNull, get
// their own history entries with the deleting user and the cause, nested
// cascades included; a delete that a restrict refuses writes none.
func TestHistoryCascadeAndSetNull(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, cascadeDoc)
		hist := func(entity, id string) []map[string]any {
			t.Helper()
			st, body := e.do("GET", "/api/data/crm/"+entity+"/"+id+"/history", nil)
			if st != 200 {
				t.Fatalf("history %s %s: %d %v", entity, id, st, body)
			}
			return items(t, body)
		}
		acct := str(e.create("crm/account", map[string]any{"name": "Acme"})["id"])
		d1 := str(e.create("crm/deal", map[string]any{"title": "one", "account": acct})["id"])
		d2 := str(e.create("crm/deal", map[string]any{"title": "two", "account": acct})["id"])
		task := str(e.create("crm/task", map[string]any{"todo": "call", "deal": d1})["id"])
		note := str(e.create("crm/note", map[string]any{"body": "hi", "deal": d1})["id"])
		memo := str(e.create("crm/memo", map[string]any{"body": "vip", "account": acct})["id"])

		// A restrict further down refuses the delete; nothing is written.
		other := str(e.create("crm/account", map[string]any{"name": "Other"})["id"])
		od := str(e.create("crm/deal", map[string]any{"title": "held", "account": other})["id"])
		inv := str(e.create("crm/invoice", map[string]any{"deal": od})["id"])
		st, body := e.do("DELETE", "/api/data/crm/account/"+other, nil)
		wantErr(t, "delete held account", st, body, 409, "referenced")
		if hs := hist("deal", od); len(hs) != 1 || hs[0]["op"] != "create" {
			t.Errorf("history of a deal a refused delete kept: %v", hs)
		}
		if e.get("crm/deal", od)["account"] != other || e.get("crm/invoice", inv)["deal"] != od {
			t.Error("a refused delete changed records")
		}

		if st, body := e.do("DELETE", "/api/data/crm/account/"+acct, nil); st != 204 {
			t.Fatalf("delete account: %d %v", st, body)
		}
		if hs := hist("account", acct); len(hs) != 2 || hs[0]["op"] != "delete" || hs[0]["cause"] != nil {
			t.Errorf("the deleted account's own entry has no cause: %v", hs)
		}
		want := []struct {
			entity, id, op, cause string
			version               int64
			changes               map[string]string
		}{
			{"deal", d1, "delete", "cascade from account " + acct, 1, map[string]string{"title": `{"old":"one"}`, "account": fmt.Sprintf(`{"old":%q}`, acct)}},
			{"deal", d2, "delete", "cascade from account " + acct, 1, map[string]string{"title": `{"old":"two"}`}},
			{"task", task, "delete", "cascade from deal " + d1 + " (deleting account " + acct + ")", 1, map[string]string{"todo": `{"old":"call"}`, "deal": fmt.Sprintf(`{"old":%q}`, d1)}},
			{"note", note, "update", "setNull from deal " + d1 + " (deleting account " + acct + ")", 2, map[string]string{"deal": fmt.Sprintf(`{"new":null,"old":%q}`, d1)}},
			{"memo", memo, "update", "setNull from account " + acct, 2, map[string]string{"account": fmt.Sprintf(`{"new":null,"old":%q}`, acct)}},
		}
		for _, w := range want {
			hs := hist(w.entity, w.id)
			if len(hs) != 2 {
				t.Errorf("%s %s: %d history entries, want 2: %v", w.entity, w.id, len(hs), hs)
				continue
			}
			h := hs[0]
			if h["op"] != w.op || h["actor"] != e.admin.ID || h["path"] != "api" || h["cause"] != w.cause || num(t, h["version"]) != w.version {
				t.Errorf("%s %s entry: %v, want op %s cause %q version %d", w.entity, w.id, h, w.op, w.cause, w.version)
			}
			c := changes(t, h)
			for f, v := range w.changes {
				if got := mustJSON(c[f]); got != v {
					t.Errorf("%s %s change of %s: %s, want %s", w.entity, w.id, f, got, v)
				}
			}
			if w.op == "update" && len(c) != 1 {
				t.Errorf("%s %s: a cleared ref changes only the ref: %v", w.entity, w.id, c)
			}
		}
		// The cleared records say so themselves, at their new version.
		if n := e.get("crm/note", note); n["deal"] != nil || num(t, n["version"]) != 2 || n["body"] != "hi" {
			t.Errorf("note after the cascade: %v", n)
		}
		if e.count("crm/deal") != 1 || e.count("crm/task") != 0 {
			t.Errorf("after the cascade: %d deals, %d tasks", e.count("crm/deal"), e.count("crm/task"))
		}
	})
}

// TestHistoryPathWeb: a change made through the web UI (which sends
// X-Forma-Client: web) is recorded as "web", any other call as "api".
func TestHistoryPathWeb(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		rec := e.create("item", map[string]any{"title": "by api"})
		id := str(rec["id"])
		req := httptest.NewRequest("PATCH", "http://forma.test/api/data/kit/item/"+id, strings.NewReader(`{"title":"by web","version":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("X-Forma-Client", "web")
		resp, err := e.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("web patch: %d", resp.StatusCode)
		}
		hs, _ := e.history("item", id, "")
		if len(hs) != 2 || hs[0]["path"] != "web" || hs[1]["path"] != "api" {
			t.Fatalf("paths: want web then api, got %v", hs)
		}
	})
}
