package api_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

func TestInjection(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		secret := e.create("secret", map[string]any{"value": "the sentinel"})
		e.create("item", map[string]any{"title": "x"})
		e.create("item", map[string]any{"title": "y"})
		intact := func(what string) {
			t.Helper()
			if e.count("item") != 2 || e.count("secret") != 1 {
				t.Fatalf("%s: data changed: %d items, %d secrets", what, e.count("item"), e.count("secret"))
			}
			if got := e.get("secret", str(secret["id"])); got["value"] != "the sentinel" {
				t.Fatalf("%s: sentinel is now %v", what, got)
			}
		}
		list := func(query string) (int, map[string]any) {
			t.Helper()
			return e.do("GET", "/api/data/kit/item?"+query, nil)
		}

		// Filters whose strings hold SQL are just strings: no rows match.
		for _, f := range []string{
			`title = "x\" OR 1=1 --"`,
			`title = "x' OR '1'='1"`,
			`title = 'x\' OR 1=1 --'`,
			`title = "x'; DROP TABLE kit_secret; --"`,
			`title = "x\"; DROP TABLE \"kit_secret\"; --"`,
			`title ~ "%' OR 1=1 --"`,
			`title in ["x' OR 1=1", "y\" OR 1=1"]`,
			`stage = "won' OR 1=1 --"`,
			`tags ~ "a\"]') OR 1=1 --"`,
		} {
			st, body := list("filter=" + q(f))
			if st != 200 || len(items(t, body)) != 0 {
				t.Errorf("filter %s: %d %v; want no rows", f, st, body)
			}
			intact(f)
		}
		// Filters that are not the filter language are refused.
		for _, f := range []string{
			`title = 'x'; DROP TABLE kit_secret`,
			`title = 'x' OR 1=1`,
			`title = 'x' -- comment`,
			`title = 'x' /* c */`,
			`ti"tle = "x"`,
			`"title" = "x"`,
			`title" = "x`,
			"`title` = 'x'",
			`[title] = "x"`,
			`title = x`,
			`title = "x" UNION SELECT value FROM kit_secret`,
			`kit_secret.value = "x"`,
			`1 = 1`,
			`title = "x" || 1`,
			`title = "\u0000"`,
			`id = (SELECT id FROM kit_secret)`,
		} {
			st, body := list("filter=" + q(f))
			wantErr(t, "filter "+f, st, body, 400, "invalid_filter")
			intact(f)
		}
		st, body := list("filter=" + q(`bogus = 1 && title = "x"`))
		wantErr(t, "unknown filter field", st, body, 400, "invalid_filter")
		if ds := details(t, body); len(ds) != 1 || ds[0] != "/filter/0" {
			t.Errorf("unknown filter field: details %v", ds)
		}
		if !strings.Contains(mustJSON(body), "bogus") {
			t.Errorf("unknown filter field: message does not name it: %v", body)
		}
		st, body = list("filter=" + q(`title = "x" && value = "the sentinel"`))
		wantErr(t, "other entity's field", st, body, 400, "invalid_filter")
		wantDetail(t, "other entity's field", body, "/filter/15")

		// Names with quotes in sort, fields and expand.
		for _, query := range []string{
			"sort=" + q(`title"--`), "sort=" + q(`title;DROP TABLE kit_secret`), "sort=" + q(`"title"`),
			"sort=" + q(`title desc`), "sort=" + q(`-title"`), "sort=" + q(`(select 1)`), "sort=" + q(`1`),
			"sort=bogus", "sort=" + q(`-bogus`), "sort=" + q(`title,bogus`), "sort=tags", "sort=meta",
			"sort=" + q(`title,title`), "sort=" + q(`--title`),
			"fields=" + q(`title"--`), "fields=" + q(`title,"id"`), "fields=" + q(`title, value`), "fields=" + q(`*`),
			"fields=" + q(`kit_secret.value`),
			"expand=" + q(`account"--`), "expand=" + q(`title`), "expand=" + q(`bogus`), "expand=" + q(`account,item`),
			"limit=" + q(`1;DROP TABLE kit_secret`), "limit=" + q(`1 OR 1=1`),
			"cursor=" + q(`' OR 1=1 --`),
		} {
			st, body := list(query)
			wantErr(t, query, st, body, 400, "invalid_query")
			intact(query)
		}
		// The same on GET one record.
		x := items(t, mustList(t, e, "filter="+q(`title = "x"`)))[0]
		for _, query := range []string{"fields=" + q(`title"--`), "expand=" + q(`account"--`), "expand=title"} {
			st, body := e.do("GET", "/api/data/kit/item/"+str(x["id"])+"?"+query, nil)
			wantErr(t, "get "+query, st, body, 400, "invalid_query")
		}

		// Body keys that look like SQL are unknown fields, reported by
		// JSON pointer.
		for key, path := range map[string]string{
			`title" = 1; --`:               `/title" = 1; --`,
			`title"`:                       `/title"`,
			`"; DROP TABLE kit_secret; --`: `/"; DROP TABLE kit_secret; --`,
			`a/b`:                          `/a~1b`,
			`a~b`:                          `/a~0b`,
			`value`:                        `/value`,
			`title) VALUES ('x'); DROP --`: `/title) VALUES ('x'); DROP --`,
			strings.Repeat("k", 100):       "/" + strings.Repeat("k", 100),
			`TITLE`:                        `/TITLE`,
		} {
			body := map[string]any{"title": "ok", key: 1}
			st, resp := e.do("POST", "/api/data/kit/item", body)
			wantErr(t, "key "+key, st, resp, 422, "validation_failed")
			if ds := details(t, resp); len(ds) != 1 || ds[0] != path {
				t.Errorf("key %q: details %v, want [%s]", key, ds, path)
			}
			st, resp = e.do("PATCH", "/api/data/kit/item/"+str(x["id"]), map[string]any{"version": 1, key: 1})
			wantErr(t, "patch key "+key, st, resp, 422, "validation_failed")
			intact("key " + key)
		}

		// Odd app and entity path segments.
		for _, p := range []string{
			"/api/data/kit%22/item", "/api/data/kit/item%22", "/api/data/kit/item%22%20OR%201=1",
			"/api/data/kit'--/item", "/api/data/kit/item;DROP%20TABLE%20kit_secret",
			"/api/data/..%2Fkit/item", "/api/data/kit/..%2Fsecret", "/api/data/kit/%2E%2E/item",
			"/api/data/kit/../../meta/apps", "/api/data/../data/nope/item",
			"/api/data/KIT/item", "/api/data/kit/ITEM", "/api/data/kit/_forma_users", "/api/data/kit/_forma_tokens",
			"/api/data/kit/kit_secret", "/api/data/kit_secret/x", "/api/data/kit%00/item", "/api/data/kit/item%00",
			"/api/meta/apps/kit%22", "/api/meta/apps/kit%27--/versions", "/api/meta/apps/..%2F..%2Fetc/openapi.json",
			"/api/meta/apps/kit/versions/1%20OR%201=1", "/api/meta/apps/kit/versions/..",
		} {
			for _, m := range []string{"GET", "POST", "DELETE"} {
				st, body := e.do(m, p, map[string]any{"title": "x"})
				if m == "GET" && strings.HasPrefix(p, "/api/meta/apps/kit/versions/") {
					if st != 400 && st != 404 {
						t.Errorf("%s %s: %d %v", m, p, st, body)
					}
					continue
				}
				// A NUL is refused before routing (400), anything else
				// names nothing (404).
				if want := map[bool]int{true: 400, false: 404}[strings.Contains(p, "%00")]; st != want {
					t.Errorf("%s %s: %d %v; want %d", m, p, st, body, want)
					continue
				}
				errCode(t, body)
			}
			intact(p)
		}

		// A forged cursor carries values, never SQL.
		st, body = list("sort=title&limit=1")
		cur := str(body["nextCursor"])
		if st != 200 || cur == "" {
			t.Fatalf("first page: %d %v", st, body)
		}
		raw, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil {
			t.Fatal(err)
		}
		var c map[string]any
		json.Unmarshal(raw, &c)
		for _, v := range []any{`x' OR 1=1 --`, `x"; DROP TABLE kit_secret; --`, 5, nil, []any{"a"}, map[string]any{"a": 1}} {
			c["v"] = []any{v, v}
			j, _ := json.Marshal(c)
			st, body := list("sort=title&limit=1&cursor=" + base64.RawURLEncoding.EncodeToString(j))
			if st != 200 && st != 400 {
				t.Errorf("forged cursor %v: %d %v", v, st, body)
			}
			if st == 200 && len(items(t, body)) > 1 {
				t.Errorf("forged cursor %v: %v", v, body)
			}
			intact("forged cursor")
		}
	})
}

func mustList(t *testing.T, e *env, query string) map[string]any {
	t.Helper()
	st, body := e.do("GET", "/api/data/kit/item?"+query, nil)
	if st != 200 {
		t.Fatalf("list %s: %d %v", query, st, body)
	}
	return body
}
