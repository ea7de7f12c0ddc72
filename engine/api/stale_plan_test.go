package api_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// After a migration changes a column's type, statements cached on pooled
// connections (pgx on PostgreSQL) must not fail the next requests.
func TestRequestsAfterTypeChange(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		st, rec := e.do("POST", "/api/data/kit/item", map[string]any{"title": "t", "qty": 7})
		if st != 201 {
			t.Fatalf("create: %d %v", st, rec)
		}
		id := rec["id"].(string)
		// Warm every pooled connection with the queries that will go stale.
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.do("GET", "/api/data/kit/item/"+id, nil)
				e.do("GET", "/api/data/kit/item?sort=-qty", nil)
			}()
		}
		wg.Wait()
		doc := strings.Replace(kitApp, `"name": "qty",        "type": "integer"`, `"name": "qty",        "type": "decimal", "scale": 2`, 1)
		if st, body := e.do("POST", "/api/meta/apps", []byte(doc)); st != 201 {
			t.Fatalf("apply: %d %v", st, body)
		}
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if st, body := e.do("GET", "/api/data/kit/item/"+id, nil); st != 200 || fmt.Sprint(body["qty"]) != "7.00" {
					t.Errorf("get after migration: %d %v", st, body)
				}
				if st, body := e.do("GET", "/api/data/kit/item?sort=-qty", nil); st != 200 {
					t.Errorf("list after migration: %d %v", st, body)
				}
				if st, body := e.do("PATCH", "/api/data/kit/item/"+id, map[string]any{"version": 1 + i, "notes": "x"}); st != 200 && st != 409 {
					t.Errorf("patch after migration: %d %v", st, body)
				}
			}()
		}
		wg.Wait()
	})
}
