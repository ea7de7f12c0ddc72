package records_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// twoServers opens the same database twice, as two forma serve processes
// sharing it would.
func twoServers(t *testing.T, dialect string) (*store.DB, *store.DB) {
	t.Helper()
	url, dir := "", ""
	if dialect == "postgres" {
		url = storetest.PostgresURL(t)
	} else {
		dir = t.TempDir()
	}
	open := func() *store.DB {
		db, err := store.Open(context.Background(), url, dir)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return open(), open()
}

func storedShapes(t *testing.T, db *store.DB) []store.ListShape {
	t.Helper()
	shapes, err := db.ListShapes(context.Background(), "desk")
	if err != nil {
		t.Fatal(err)
	}
	return shapes
}

// Two servers on one database: each gathers slow list shapes in memory (a
// list request writes nothing), and advice read on either answers what
// both saw, from the shared table, without the values.
func TestAdviceSharedAcrossServers(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db1, db2 := twoServers(t, dialect)
			s1 := ticketService(t, db1, ticketDoc)
			s2 := records.New(db2, store.NewCatalog(db2))
			fillTickets(t, db1, 2000)
			s1.SetSlowList(0)
			s2.SetSlowList(0)
			admin := records.Caller{UserID: "admin", Admin: true}
			q := records.Query{Filter: `severity >= 4 && amount > 17.5`, Sort: "subject", Limit: 5}
			list := func(s *records.Service, n int) {
				for i := 0; i < n; i++ {
					if _, err := s.List(ctx, admin, "desk", "ticket", q); err != nil {
						t.Fatal(err)
					}
				}
			}
			list(s1, 3)
			list(s2, 2)
			if got := storedShapes(t, db1); len(got) != 0 {
				t.Fatalf("a list request wrote its shape at once: %+v", got)
			}
			advice, err := s2.Advice(ctx, "desk") // flushes s2's two
			if err != nil {
				t.Fatal(err)
			}
			if len(advice) != 1 || advice[0].Count != 2 {
				t.Fatalf("advice from server 2 = %+v", advice)
			}
			if err := s1.FlushAdvice(ctx); err != nil {
				t.Fatal(err)
			}
			advice, err = s2.Advice(ctx, "desk")
			if err != nil {
				t.Fatal(err)
			}
			if len(advice) != 1 || advice[0].Count != 5 || advice[0].TotalMS <= 0 || advice[0].MaxMS <= 0 {
				t.Fatalf("advice after both flushed = %+v", advice)
			}
			a := advice[0]
			if a.Filter != "(severity >= ? && amount > ?)" || a.Sort != "subject,id" || strings.Join(a.Index.Fields, ",") != "subject,id" {
				t.Fatalf("shape = %q sorted %q, index %v", a.Filter, a.Sort, a.Index.Fields)
			}
			for _, sh := range storedShapes(t, db1) {
				if row := sh.Filter + sh.Sort + strings.Join(sh.Eq, ","); strings.Contains(row, "17.5") || strings.Contains(row, "4") {
					t.Fatalf("a value was stored: %+v", sh)
				}
			}
			// Server 1 reads the same.
			one, err := s1.Advice(ctx, "desk")
			if err != nil || len(one) != 1 || one[0].Count != 5 || one[0].ID != a.ID {
				t.Fatalf("advice from server 1 = %+v, %v", one, err)
			}

			// Past flushAfterLists slow lists a server flushes by itself,
			// in the background.
			list(s1, 200)
			deadline := time.Now().Add(10 * time.Second)
			for {
				got := storedShapes(t, db2)
				if len(got) == 1 && got[0].Count >= 5+200-1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no background flush: %+v", got)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// The advice's effect shows the plan with the proposed index, built in a
// transaction that is rolled back: the sort disappears (SQLite's temporary
// B-tree, PostgreSQL's Sort node, whose estimated cost falls), and no
// index remains. Past the row cap it is an estimate.
func TestAdviceEffectWithIndex(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := ticketService(t, db, ticketDoc)
		fillTickets(t, db, 30000)
		s.SetSlowList(0)
		admin := records.Caller{UserID: "admin", Admin: true}
		// Open tickets by subject: the view's index (status, severity, …)
		// finds them but not in this order.
		if _, err := s.List(ctx, admin, "desk", "ticket", records.Query{Filter: `status = "open"`, Sort: "subject", Limit: 50}); err != nil {
			t.Fatal(err)
		}
		before := viewIndexNames(t, db)
		advice, err := s.Advice(ctx, "desk")
		if err != nil {
			t.Fatal(err)
		}
		if len(advice) != 1 || strings.Join(advice[0].Index.Fields, ",") != "status,subject,id" || advice[0].Exists {
			t.Fatalf("advice = %+v", advice)
		}
		ef := advice[0].Effect
		if ef.Measured != "explain" || !ef.Sorts || ef.SortsWith || len(ef.With) == 0 {
			t.Fatalf("effect = %+v", ef)
		}
		if db.Dialect.Name() == "postgres" && (ef.CostWith <= 0 || ef.CostWith >= ef.CostNow) {
			t.Fatalf("costs: now %v, with the index %v\n%s\n%s", ef.CostNow, ef.CostWith, strings.Join(ef.Now, "\n"), strings.Join(ef.With, "\n"))
		}
		if !strings.Contains(strings.Join(ef.With, "\n"), "hypo_") {
			t.Fatalf("the plan with the index does not use it:\n%s", strings.Join(ef.With, "\n"))
		}
		if after := viewIndexNames(t, db); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Fatalf("indexes changed: %v → %v", before, after)
		}
		var left int
		q := "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'hypo_%'"
		if db.Dialect.Name() == "postgres" {
			q = "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'hypo_%'"
		}
		if err := db.SQL.QueryRow(q).Scan(&left); err != nil || left != 0 {
			t.Fatalf("hypothetical indexes left: %d, %v", left, err)
		}

		// Past the cap nothing is built: the effect is an estimate.
		old := store.MaxHypotheticalRows
		store.MaxHypotheticalRows = 1000
		defer func() { store.MaxHypotheticalRows = old }()
		advice, err = s.Advice(ctx, "desk")
		if err != nil {
			t.Fatal(err)
		}
		ef = advice[0].Effect
		if ef.Measured != "estimated" || !ef.Sorts || len(ef.With) != 0 || !strings.Contains(ef.Expect, "estimated") {
			t.Fatalf("capped effect = %+v", ef)
		}
	})
}
