package api_test

import (
	"net/url"
	"testing"
)

// "~" ignores case in every script on both databases, not only in ASCII.
func TestContainsFoldsUnicode(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for _, title := range []string{"Émile Zola", "ÉCOLE", "Straße", "Acme", "广州汽配"} {
			if st, body := e.do("POST", "/api/data/kit/item", map[string]any{"title": title}); st != 201 {
				t.Fatalf("create %q: %d %v", title, st, body)
			}
		}
		for filter, want := range map[string]int{
			`title ~ "émile"`: 1, `title ~ "é"`: 2, `title ~ "STRASSE"`: 0, `title ~ "straße"`: 1,
			`title ~ "ACME"`: 1, `title ~ "汽配"`: 1, `title !~ "é"`: 3,
		} {
			st, body := e.do("GET", "/api/data/kit/item?filter="+url.QueryEscape(filter), nil)
			if st != 200 {
				t.Fatalf("%s: %d %v", filter, st, body)
			}
			if got := len(body["items"].([]any)); got != want {
				t.Errorf("%s: %d items, want %d", filter, got, want)
			}
		}
	})
}
