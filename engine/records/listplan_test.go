package records_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// ticketDoc is the ticket entity with the list a sales manager
// opens all day as its list view.
const ticketDoc = `{"name": "desk", "entities": [{"name": "ticket", "fields": [
  {"id": "t1", "name": "subject", "type": "text"},
  {"id": "t2", "name": "severity", "type": "integer"},
  {"id": "t3", "name": "status", "type": "select", "options": ["open", "closed"]},
  {"id": "t4", "name": "amount", "type": "decimal", "scale": 2}
 ]}],
 "forms": [{"entity": "ticket", "kind": "list", "columns": ["subject", "severity", "status"],
   "sort": "-severity,subject", "filter": "status = \"open\""}]}`

// fillTickets inserts n tickets with one SQL statement: two in three open,
// severities 1–5, subjects repeating every 1000, ten owners u0…u9.
func fillTickets(t testing.TB, db *store.DB, n int) {
	t.Helper()
	var q string
	if db.Dialect.Name() == "postgres" {
		q = fmt.Sprintf(`INSERT INTO desk_ticket (id, created_at, updated_at, owner, version, subject, severity, status, amount)
			SELECT lpad(i::text, 9, '0'), now(), now(), 'u' || (i %% 10), 1, 'subject ' || lpad(((i * 7919) %% 1000)::text, 3, '0'),
				i %% 5 + 1, CASE WHEN i %% 3 = 0 THEN 'closed' ELSE 'open' END, (i %% 1000) * 1.25
			FROM generate_series(1, %d) AS i`, n)
	} else {
		q = fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
			INSERT INTO desk_ticket (id, created_at, updated_at, owner, version, subject, severity, status, amount)
			SELECT printf('%%09d', i), '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 'u' || (i %% 10), 1,
				printf('subject %%03d', (i * 7919) %% 1000), i %% 5 + 1, CASE WHEN i %% 3 = 0 THEN 'closed' ELSE 'open' END,
				(i %% 1000) * 125
			FROM s`, n)
	}
	if _, err := db.SQL.Exec(q); err != nil {
		t.Fatalf("fill tickets: %v", err)
	}
	if db.Dialect.Name() == "postgres" {
		if _, err := db.SQL.Exec("ANALYZE desk_ticket"); err != nil {
			t.Fatal(err)
		}
	}
}

func ticketService(t testing.TB, db *store.DB, doc string) *records.Service {
	t.Helper()
	app, problems := schema.Parse([]byte(doc))
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if _, err := db.Apply(context.Background(), app, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	db.WaitIndexBuilds()
	return records.New(db, store.NewCatalog(db))
}

// explain answers the plan of a list page's SQL, one line per node.
func explain(t *testing.T, db *store.DB, query string, args []any) []string {
	t.Helper()
	var rows []string
	if db.Dialect.Name() == "postgres" {
		r, err := db.SQL.Query("EXPLAIN "+db.Rebind(query), args...)
		if err != nil {
			t.Fatalf("explain: %v", err)
		}
		defer r.Close()
		for r.Next() {
			var line string
			if err := r.Scan(&line); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, line)
		}
		return rows
	}
	r, err := db.SQL.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain: %v", err)
	}
	defer r.Close()
	for r.Next() {
		var id, parent, unused int
		var detail string
		if err := r.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, detail)
	}
	return rows
}

// viewIndexNames are the names of the ticket table's indexes over subject.
func viewIndexNames(t *testing.T, db *store.DB) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'desk_ticket' AND sql LIKE '%subject%'`
	if db.Dialect.Name() == "postgres" {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'desk_ticket' AND indexdef LIKE '%subject%'`
	}
	r, err := db.SQL.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var n string
		r.Scan(&n)
		out = append(out, n)
	}
	return out
}

// The list walks the view's index for its first page and for page
// 50, for the admin and for a rep (whose row rule adds owner = me): no sort
// step in the plan on either dialect.
func TestListPlanUsesViewIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := ticketService(t, db, ticketDoc)
		fillTickets(t, db, 30000)
		names := viewIndexNames(t, db)
		if len(names) != 2 {
			t.Fatalf("view indexes = %v", names)
		}
		for _, c := range []records.Caller{{UserID: "admin", Admin: true}, {UserID: "u3", Roles: []string{"rep"}}} {
			var sqls []string
			var argss [][]any
			restore := records.SetListHook(func(q string, a []any) { sqls, argss = append(sqls, q), append(argss, a) })
			q := records.Query{Filter: `severity >= 4 && status = "open"`, Sort: "-severity,subject", Limit: 10}
			for page := 1; page <= 50; page++ {
				p, err := s.List(ctx, c, "desk", "ticket", q)
				if err != nil {
					t.Fatal(err)
				}
				if p.NextCursor == "" {
					t.Fatalf("%s: list ended at page %d", c.UserID, page)
				}
				q.Cursor = p.NextCursor
			}
			restore()
			for _, page := range []int{1, 50} {
				plan := explain(t, db, sqls[page-1], argss[page-1])
				text := strings.Join(plan, "\n")
				used := false
				for _, n := range names {
					used = used || strings.Contains(text, n)
				}
				sorted := strings.Contains(text, "TEMP B-TREE")
				for _, line := range plan {
					l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "->"))
					sorted = sorted || strings.HasPrefix(l, "Sort") || strings.HasPrefix(l, "Incremental Sort")
				}
				if !used || sorted {
					t.Errorf("%s, page %d: the plan does not walk a view index (%v) in order:\n%s\nSQL: %s", c.UserID, page, names, text, sqls[page-1])
				}
			}
		}
	})
}

// Past the floor, an estimated count is PostgreSQL's planner estimate
// (countExact false); SQLite counts (no statistics for a filter).
func TestListCountEstimate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := ticketService(t, db, ticketDoc)
		fillTickets(t, db, 30000)
		admin := records.Caller{UserID: "admin", Admin: true}
		q := records.Query{Filter: `severity >= 4 && status = "open"`, Sort: "-severity,subject", Limit: 5, Count: records.CountExact}
		p, err := s.List(ctx, admin, "desk", "ticket", q)
		if err != nil {
			t.Fatal(err)
		}
		exact := *p.Count
		if exact != 8000 || !p.CountExact { // two in three open × two in five severe
			t.Fatalf("exact count = %d (%v)", exact, p.CountExact)
		}
		q.Count = records.CountEstimate
		p, err = s.List(ctx, admin, "desk", "ticket", q)
		if err != nil {
			t.Fatal(err)
		}
		got := *p.Count
		if db.Dialect.Name() == "postgres" {
			if p.CountExact || got < exact/2 || got > exact*2 {
				t.Fatalf("estimate = %d (exact %v), counted %d", got, p.CountExact, exact)
			}
		} else if got != exact || !p.CountExact {
			t.Fatalf("SQLite estimate = %d (exact %v), want the count %d", got, p.CountExact, exact)
		}
		if len(p.Items) != 5 {
			t.Fatalf("%d items", len(p.Items))
		}
	})
}
