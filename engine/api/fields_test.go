package api_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFieldRoundTrip(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		acct := str(e.create("account", map[string]any{"name": "上海贸易有限公司"})["id"])
		file := "01k0000000000000000000file"
		e.fileRow(file, "kit")
		in := `{
			"title": "合同 — 上海客户 ✓ \"quoted\" <b>&amp;</b>",
			"notes": "第一行\n第二行\ttab \\ backslash \u2028 sep",
			"qty": 9007199254740993,
			"amount": 12345678901234.56,
			"done": true,
			"due": "2026-02-28",
			"at": "2026-11-21T09:30:00.123456+08:00",
			"stage": "won",
			"tags": ["vip", "a", "vip"],
			"email": "li.wei@example.cn",
			"phone": "+86 138-0013 8000",
			"site": "https://example.com/path?q=1&r=%E4%B8%AD",
			"account": "` + acct + `",
			"assignee": "` + e.admin.ID + `",
			"attachment": "` + file + `",
			"meta": {"nested": {"list": [1, 2.5, "x", null, true, {"deep": []}], "empty": {}}, "big": 12345678901234567890, "名": "值"}
		}`
		st, raw := e.raw(e.token, "POST", "/api/data/kit/item", in)
		if st != 201 {
			t.Fatalf("create: %d %s", st, raw)
		}
		// Decimals are JSON number literals with the field's scale, and
		// integers keep every digit.
		for _, lit := range []string{`"amount":12345678901234.56,`, `"qty":9007199254740993,`} {
			if !strings.Contains(string(raw), lit) {
				t.Errorf("created record lacks %s: %s", lit, raw)
			}
		}
		var created map[string]any
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&created); err != nil {
			t.Fatal(err)
		}
		id := str(created["id"])
		got := e.get("item", id)
		if mustJSON(got) != mustJSON(created) {
			t.Errorf("GET differs from the POST answer:\nPOST %s\nGET  %s", mustJSON(created), mustJSON(got))
		}
		st, raw = e.raw(e.token, "GET", "/api/data/kit/item/"+id, nil)
		if st != 200 || !strings.Contains(string(raw), `"amount":12345678901234.56,`) {
			t.Errorf("GET raw: %d %s", st, raw)
		}

		want := map[string]any{
			"title":      "合同 — 上海客户 ✓ \"quoted\" <b>&amp;</b>",
			"notes":      "第一行\n第二行\ttab \\ backslash \u2028 sep",
			"qty":        json.Number("9007199254740993"),
			"amount":     json.Number("12345678901234.56"),
			"done":       true,
			"due":        "2026-02-28",
			"stage":      "won",
			"tags":       []any{"vip", "a"},
			"email":      "li.wei@example.cn",
			"phone":      "+86 138-0013 8000",
			"site":       "https://example.com/path?q=1&r=%E4%B8%AD",
			"account":    acct,
			"assignee":   e.admin.ID,
			"attachment": file,
			"owner":      e.admin.ID,
			"created_by": e.admin.ID,
			"version":    json.Number("1"),
			"number":     json.Number("1"),
			"total":      true, // the formula amount > 0, stored
		}
		for k, v := range want {
			if mustJSON(got[k]) != mustJSON(v) {
				t.Errorf("%s = %s, want %s", k, mustJSON(got[k]), mustJSON(v))
			}
		}
		var meta, wantMeta any
		json.Unmarshal([]byte(`{"nested": {"list": [1, 2.5, "x", null, true, {"deep": []}], "empty": {}}, "big": 12345678901234567890, "名": "值"}`), &wantMeta)
		metaJSON, _ := json.Marshal(got["meta"])
		json.Unmarshal(metaJSON, &meta)
		if mustJSON(meta) != mustJSON(wantMeta) {
			t.Errorf("meta = %s, want %s", mustJSON(meta), mustJSON(wantMeta))
		}
		if !strings.Contains(string(raw), "12345678901234567890") {
			t.Errorf("json field lost digits of a big number: %s", raw)
		}
		// The datetime is the same instant, in UTC.
		at, err := time.Parse(time.RFC3339Nano, str(got["at"]))
		if err != nil || !strings.HasSuffix(str(got["at"]), "Z") {
			t.Fatalf("at = %v: %v", got["at"], err)
		}
		wantAt, _ := time.Parse(time.RFC3339Nano, "2026-11-21T09:30:00.123456+08:00")
		if !at.Equal(wantAt) || !strings.HasPrefix(str(got["at"]), "2026-11-21T01:30:00.123456") {
			t.Errorf("at = %s, want %s", got["at"], wantAt.UTC())
		}
		for _, k := range []string{"created_at", "updated_at"} {
			ts, err := time.Parse(time.RFC3339Nano, str(got[k]))
			if err != nil || time.Since(ts) > time.Minute || time.Since(ts) < -time.Minute {
				t.Errorf("%s = %v", k, got[k])
			}
		}
		// Every field of the entity is in the answer, computed ones included.
		for _, k := range []string{"id", "created_at", "updated_at", "created_by", "owner", "version", "title", "notes", "qty",
			"amount", "done", "due", "at", "stage", "tags", "email", "phone", "site", "account", "assignee",
			"attachment", "meta", "total", "number"} {
			if _, ok := got[k]; !ok {
				t.Errorf("record lacks %q", k)
			}
		}
		if len(got) != 24 {
			t.Errorf("record has %d keys, want 24: %v", len(got), got)
		}

		// Nulls and absent fields read back as null; autonumber goes on.
		r2 := e.create("item", map[string]any{"title": "minimal", "amount": nil, "meta": nil})
		r3 := e.create("item", map[string]any{"title": "third"})
		for i, r := range []map[string]any{r2, r3} {
			g := e.get("item", str(r["id"]))
			if num(t, g["number"]) != int64(i+2) {
				t.Errorf("autonumber of record %d = %v", i+2, g["number"])
			}
			for _, k := range []string{"notes", "qty", "amount", "done", "due", "at", "stage", "tags", "meta", "account"} {
				if g[k] != nil {
					t.Errorf("absent %s reads %v", k, g[k])
				}
			}
		}
	})
}

func TestDecimalExact(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		cases := []struct{ in, out string }{
			{`0.1`, `0.10`},
			{`0.2`, `0.20`},
			{`0.3`, `0.30`},
			{`"0.30"`, `0.30`},
			{`12345678901234.56`, `12345678901234.56`},
			{`"12345678901234.56"`, `12345678901234.56`},
			{`9999999999999999.99`, `9999999999999999.99`},
			{`-9999999999999999.99`, `-9999999999999999.99`},
			{`-0.01`, `-0.01`},
			{`0`, `0.00`},
			{`100`, `100.00`},
			{`1.10`, `1.10`},
			{`1.500000`, `1.50`}, // trailing zeros beyond the scale lose nothing
		}
		for _, c := range cases {
			st, raw := e.raw(e.token, "POST", "/api/data/kit/item", `{"title": "d", "amount": `+c.in+`}`)
			if st != 201 || !strings.Contains(string(raw), `"amount":`+c.out+`,`) {
				t.Errorf("amount %s: %d %s; want %s", c.in, st, raw, c.out)
				continue
			}
			var r map[string]any
			json.Unmarshal(raw, &r)
			st, raw = e.raw(e.token, "GET", "/api/data/kit/item/"+str(r["id"]), nil)
			if st != 200 || !strings.Contains(string(raw), `"amount":`+c.out+`,`) {
				t.Errorf("amount %s read back: %d %s; want %s", c.in, st, raw, c.out)
			}
		}
		// 0.1 and 0.2 add up exactly in a filter: 0.3 matches the 0.30 records.
		st, body := e.do("GET", "/api/data/kit/item?fields=amount&filter="+q(`amount = 0.3`), nil)
		if st != 200 || len(items(t, body)) != 2 {
			t.Errorf("amount = 0.3: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/data/kit/item?fields=amount&filter="+q(`amount > 0.1 && amount < 0.3`), nil)
		if st != 200 || len(items(t, body)) != 1 || mustJSON(items(t, body)[0]["amount"]) != "0.20" {
			t.Errorf("0.1 < amount < 0.3: %d %v", st, body)
		}
	})
}

// badValues are wrong values per field, each refused with 422 at /field.
var badValues = []struct {
	field string
	value string // JSON
}{
	{"title", `5`}, {"title", `true`}, {"title", `["a"]`}, {"title", `{"a": 1}`},
	{"title", `"` + strings.Repeat("x", 201) + `"`}, {"title", `"a\u0000b"`},
	{"notes", `12`},
	{"qty", `"5"`}, {"qty", `1.5`}, {"qty", `true`}, {"qty", `99999999999999999999`}, {"qty", `1e3`}, {"qty", `[1]`},
	{"amount", `1.234`}, {"amount", `"1.234"`}, {"amount", `"abc"`}, {"amount", `true`}, {"amount", `12345678901234567.00`},
	{"amount", `"NaN"`}, {"amount", `"Infinity"`}, {"amount", `"1e400"`}, {"amount", `{}`},
	{"done", `"true"`}, {"done", `1`}, {"done", `"yes"`},
	{"due", `"2026-13-45"`}, {"due", `"2026-02-30"`}, {"due", `20260101`}, {"due", `"2026-01-01T00:00:00Z"`}, {"due", `"01/02/2026"`},
	{"at", `"2026-11-21T09:30:00"`}, {"at", `"2026-11-21 09:30:00+08:00"`}, {"at", `"yesterday"`}, {"at", `1700000000`}, {"at", `"2026-11-21"`},
	{"stage", `"maybe"`}, {"stage", `"WON"`}, {"stage", `1`}, {"stage", `["won"]`},
	{"tags", `["a", "nope"]`}, {"tags", `"a"`}, {"tags", `[1]`}, {"tags", `{"a": true}`},
	{"email", `"not-an-email"`}, {"email", `"a@b"`}, {"email", `"Li <li@example.com>"`}, {"email", `5`},
	{"phone", `"call me"`}, {"phone", `"12"`}, {"phone", `"+1 555 CALL NOW"`},
	{"site", `"javascript:alert(1)"`}, {"site", `"ftp://example.com"`}, {"site", `"example.com"`}, {"site", `"https://"`},
	{"account", `"01jzzzzzzzzzzzzzzzzzzzzzzz"`}, {"account", `5`}, {"account", `""`},
	{"assignee", `"01jzzzzzzzzzzzzzzzzzzzzzzz"`}, {"assignee", `true`},
	{"attachment", `5`}, {"attachment", `"files/合同.pdf"`}, {"attachment", `""`},
	{"meta", `{"a": "\u0000"}`}, {"meta", `"x\u0000y"`}, {"meta", `{"\u0000": 1}`}, {"meta", `[1e999999]`},
	{"meta", `{"n": -1e-5000}`}, {"meta", `1` + strings.Repeat("0", 1001)},
}

func TestBadInput(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		acct := str(e.create("account", map[string]any{"name": "A"})["id"])
		existing := e.create("item", map[string]any{"title": "existing", "account": acct})
		n := e.count("item")
		unchanged := func(what string) {
			t.Helper()
			if got := e.count("item"); got != n {
				t.Errorf("%s: item count %d, want %d", what, got, n)
			}
			if got := e.get("item", str(existing["id"])); mustJSON(got) != mustJSON(existing) {
				t.Errorf("%s changed the existing record: %v", what, got)
			}
		}

		for _, body := range []string{`{"title": `, `{"title": "a",}`, `{title: "a"}`, `{"title": "a"} {"title": "b"}`,
			`{"title": "a"}]`, ``, `   `, "\xff\xfe", `{"title": "\ud800"x}`} {
			st, resp := e.do("POST", "/api/data/kit/item", body)
			wantErr(t, "malformed "+body, st, resp, 400, "invalid_json")
			unchanged("malformed " + body)
		}
		for _, body := range []string{`[]`, `[{"title": "a"}]`, `"title"`, `42`, `true`, `null`} {
			st, resp := e.do("POST", "/api/data/kit/item", body)
			wantErr(t, "non-object "+body, st, resp, 400, "invalid_json")
			unchanged("non-object " + body)
		}

		for _, bv := range badValues {
			body := `{"title": "ok", "` + bv.field + `": ` + bv.value + `}`
			if bv.field == "title" {
				body = `{"title": ` + bv.value + `}`
			}
			st, resp := e.do("POST", "/api/data/kit/item", body)
			what := fmt.Sprintf("%s = %s", bv.field, clip(bv.value))
			wantErr(t, what, st, resp, 422, "validation_failed")
			if st == 422 {
				// At the field, or inside a json field's value.
				if ds := details(t, resp); len(ds) != 1 || ds[0] != "/"+bv.field && !strings.HasPrefix(ds[0], "/"+bv.field+"/") {
					t.Errorf("%s: details %v, want [/%s]", what, ds, bv.field)
				}
			}
			// The same value in a PATCH is refused too.
			st, resp = e.do("PATCH", "/api/data/kit/item/"+str(existing["id"]), `{"version": 1, "`+bv.field+`": `+bv.value+`}`)
			wantErr(t, "patch "+what, st, resp, 422, "validation_failed")
			if ds := details(t, resp); st == 422 && !slices.ContainsFunc(ds, func(p string) bool { return p == "/"+bv.field || strings.HasPrefix(p, "/"+bv.field+"/") }) {
				t.Errorf("patch %s: details %v, want one at /%s", what, ds, bv.field)
			}
			unchanged(what)
		}

		refused := []struct{ body, path string }{
			{`{"title": "x", "nope": 1}`, "/nope"},
			{`{"title": "x", "Title": "y"}`, "/Title"},
			{`{"title": "x", "total": 5}`, "/total"},
			{`{"title": "x", "number": 7}`, "/number"},
			{`{"title": "x", "id": "01jzzzzzzzzzzzzzzzzzzzzzzz"}`, "/id"},
			{`{"title": "x", "created_at": "2020-01-01T00:00:00Z"}`, "/created_at"},
			{`{"title": "x", "updated_at": "2020-01-01T00:00:00Z"}`, "/updated_at"},
			{`{"title": "x", "created_by": "` + e.admin.ID + `"}`, "/created_by"},
			{`{"title": "x", "version": 1}`, "/version"},
			{`{"title": "x", "expand": {}}`, "/expand"},
			{`{"title": "x", "owner": "01jzzzzzzzzzzzzzzzzzzzzzzz"}`, "/owner"},
			{`{}`, "/title"},
			{`{"title": null}`, "/title"},
			{`{"title": ""}`, "/title"},
			{`{"title": "   "}`, "/title"},
			{`{"notes": "no title"}`, "/title"},
		}
		for _, r := range refused {
			st, resp := e.do("POST", "/api/data/kit/item", r.body)
			wantErr(t, r.body, st, resp, 422, "validation_failed")
			if st == 422 {
				if ds := details(t, resp); len(ds) != 1 || ds[0] != r.path {
					t.Errorf("%s: details %v, want [%s]", r.body, ds, r.path)
				}
			}
			unchanged(r.body)
		}
		st, resp := e.do("POST", "/api/data/kit/account", `{"name": "x", "item_count": 3}`)
		wantErr(t, "rollup write", st, resp, 422, "validation_failed")
		wantDetail(t, "rollup write", resp, "/item_count")
		if e.count("account") != 1 {
			t.Error("a refused account was created")
		}

		// Every problem is reported at once.
		st, resp = e.do("POST", "/api/data/kit/item", `{"qty": "x", "amount": 1.234, "stage": "nope", "bogus": 1, "total": 1,
			"tags": ["zzz"], "due": "2026-13-45", "account": "01jzzzzzzzzzzzzzzzzzzzzzzz"}`)
		wantErr(t, "many problems", st, resp, 422, "validation_failed")
		want := []string{"/account", "/amount", "/bogus", "/due", "/qty", "/stage", "/tags", "/title", "/total"}
		if got := details(t, resp); mustJSON(got) != mustJSON(want) {
			t.Errorf("many problems: details %v, want %v", got, want)
		}
		unchanged("many problems")

		// Unknown apps and entities are 404 and create nothing.
		for _, p := range []string{"/api/data/nope/item", "/api/data/kit/nope", "/api/data/kit/_forma_users", "/api/data/kit/item/x/y"} {
			st, resp := e.do("POST", p, `{"title": "x"}`)
			wantErr(t, "POST "+p, st, resp, 404, "not_found")
		}
		unchanged("unknown entity")
	})
}

func TestUnique(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		first := e.create("item", map[string]any{"title": "one", "email": "sam@example.com"})
		second := e.create("item", map[string]any{"title": "two", "email": "kim@example.com"})
		st, body := e.do("POST", "/api/data/kit/item", map[string]any{"title": "three", "email": "sam@example.com"})
		wantErr(t, "duplicate on create", st, body, 409, "duplicate_value")
		st, body = e.do("PATCH", "/api/data/kit/item/"+str(second["id"]), map[string]any{"version": 1, "email": "sam@example.com"})
		wantErr(t, "duplicate on patch", st, body, 409, "duplicate_value")
		if e.count("item") != 2 || mustJSON(e.get("item", str(second["id"]))) != mustJSON(second) ||
			mustJSON(e.get("item", str(first["id"]))) != mustJSON(first) {
			t.Error("a duplicate changed the data")
		}
		// Nulls are not duplicates of each other; the autonumber skipped by
		// the refused insert is not lost.
		e.create("item", map[string]any{"title": "four"})
		r := e.create("item", map[string]any{"title": "five"})
		if num(t, r["number"]) != 4 {
			t.Errorf("autonumber after a refused insert: %v", r["number"])
		}
	})
}

func TestConcurrentCreate(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		const n = 20
		var wg sync.WaitGroup
		numbers := make(chan int64, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, body := e.do("POST", "/api/data/kit/item", map[string]any{"title": fmt.Sprintf("c%d", i)})
				if st != 201 {
					t.Errorf("concurrent create: %d %v", st, body)
					return
				}
				n, _ := body["number"].(json.Number).Int64()
				numbers <- n
			}()
		}
		wg.Wait()
		close(numbers)
		seen := map[int64]bool{}
		for x := range numbers {
			if seen[x] || x < 1 || x > n {
				t.Errorf("autonumber %d repeated or out of 1..%d", x, n)
			}
			seen[x] = true
		}
		if e.count("item") != n {
			t.Errorf("%d items, want %d", e.count("item"), n)
		}
	})
}

func TestOversizedBodies(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		existing := e.create("item", map[string]any{"title": "existing"})
		n := e.count("item")
		big := `{"title": "x", "notes": "` + strings.Repeat("a", 1<<20) + `"}`
		st, resp := e.do("POST", "/api/data/kit/item", big)
		wantErr(t, "1 MiB record", st, resp, 413, "payload_too_large")
		st, resp = e.do("PATCH", "/api/data/kit/item/"+str(existing["id"]), `{"version": 1, "notes": "`+strings.Repeat("a", 1<<20)+`"}`)
		wantErr(t, "1 MiB patch", st, resp, 413, "payload_too_large")
		st, resp = e.announceBody("POST", "/api/data/kit/item", 9<<20)
		wantErr(t, "9 MiB record", st, resp, 413, "payload_too_large")
		if e.count("item") != n || mustJSON(e.get("item", str(existing["id"]))) != mustJSON(existing) {
			t.Error("an oversized body changed the data")
		}
		// Just under the limit is fine (a longtext has no maxLength, but
		// text stays under a MiB anyway).
		ok := `{"title": "x", "notes": "` + strings.Repeat("a", (1<<20)-100) + `"}`
		if st, resp := e.do("POST", "/api/data/kit/item", ok); st != 201 {
			t.Errorf("record just under 1 MiB: %d %v", st, resp)
		}

		// Headers past the server's buffer are refused in the error shape.
		st, resp = e.rawRequest("GET /api/data/kit/item?filter=" + strings.Repeat("a", 40<<10) + " HTTP/1.1\r\nHost: forma.test\r\n\r\n")
		wantErr(t, "40 KiB request line", st, resp, 431, "headers_too_large")

		_, before := e.do("GET", "/api/meta/apps/kit/versions", nil)
		st, resp = e.announceBody("POST", "/api/meta/apps", 8<<20+1)
		wantErr(t, "9 MiB app", st, resp, 413, "payload_too_large")
		_, after := e.do("GET", "/api/meta/apps/kit/versions", nil)
		if mustJSON(before) != mustJSON(after) {
			t.Error("an oversized app document changed the versions")
		}
	})
}
