package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// ticketApp is a ticket entity with a declared index on status and a list
// view with the given sort and filter (none when sort is "-").
func ticketApp(sort, filter string) string {
	view := ""
	if sort != "-" {
		view = fmt.Sprintf(`, "forms": [{"entity": "ticket", "kind": "list", "columns": ["subject"], "sort": %q, "filter": %q}]`, sort, filter)
	}
	return `{"name": "desk", "entities": [{"name": "ticket", "fields": [
  {"id": "t1", "name": "subject", "type": "text"},
  {"id": "t2", "name": "severity", "type": "integer"},
  {"id": "t3", "name": "status", "type": "select", "options": ["open", "closed"]}
 ], "indexes": [{"fields": ["status"]}]}]` + view + `}`
}

// viewIndexDefs are the table's index definitions that mention subject or
// severity (the view's), normalized to "col [desc], …".
func viewIndexDefs(t *testing.T, db *store.DB) []string {
	t.Helper()
	var out []string
	for _, def := range indexDefs(t, db, "desk_ticket") {
		open := strings.Index(def, "(")
		if open < 0 {
			continue // SQLite's primary key
		}
		cols := def[open+1 : strings.LastIndex(def, ")")]
		if !strings.Contains(cols, "subject") && !strings.Contains(cols, "severity") {
			continue
		}
		var parts []string
		for _, p := range strings.Split(cols, ",") {
			p = strings.TrimSpace(p)
			p = strings.TrimSuffix(strings.TrimSuffix(p, " NULLS FIRST"), " NULLS LAST")
			p = strings.ReplaceAll(strings.Replace(p, " DESC", " desc", 1), `"`, "")
			parts = append(parts, p)
		}
		out = append(out, strings.Join(parts, ", "))
	}
	return out
}

func hasDef(defs []string, want string) bool {
	for _, d := range defs {
		if d == want {
			return true
		}
	}
	return false
}

func TestViewIndexes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := apply(t, db, ticketApp("-severity,subject", `status = "open" && severity >= 4`), store.ApplyOptions{})
		// Equality field first, then the sort in its directions (flipped so
		// the first key ascends: the index is walked backwards), id last.
		want := "status, severity, subject desc, id"
		twin := "owner, status, severity, subject desc, id" // the default rep reads own records
		defs := viewIndexDefs(t, db)
		if !hasDef(defs, want) || !hasDef(defs, twin) || len(defs) != 2 {
			t.Fatalf("indexes = %q, want %q and %q", defs, want, twin)
		}
		if s := planText(p); !strings.Contains(s, "index status, severity, subject desc, id (for a list view)") {
			t.Fatalf("plan does not show the view's index:\n%s", s)
		}
		if !hasIndex(t, db, "desk_ticket", false, "status", "id") {
			t.Fatal("declared index missing")
		}

		// A new sort: the old view index goes, the new one comes; on
		// PostgreSQL it is built concurrently after the commit.
		p = apply(t, db, ticketApp("subject", ""), store.ApplyOptions{})
		var adds, drops int
		for _, s := range p.Steps {
			switch s.Op {
			case "add_index":
				adds++
				if s.Concurrently != isPG(db) {
					t.Errorf("step %q: concurrently = %v", s.Description, s.Concurrently)
				}
			case "drop_index":
				drops++
			}
		}
		if adds != 2 || drops != 2 {
			t.Fatalf("plan = %s", planText(p))
		}
		db.WaitIndexBuilds()
		defs = viewIndexDefs(t, db)
		if !hasDef(defs, "subject, id") || !hasDef(defs, "owner, subject, id") || len(defs) != 2 {
			t.Fatalf("indexes after the new sort = %q", defs)
		}
		if isPG(db) {
			builds, err := db.IndexBuilds(ctx, "desk")
			if err != nil {
				t.Fatal(err)
			}
			if len(builds) != 2 || builds[0].State != store.IndexReady || builds[1].State != store.IndexReady {
				t.Fatalf("builds = %+v", builds)
			}
		}

		// No view: its indexes go; the declared index stays.
		apply(t, db, ticketApp("-", ""), store.ApplyOptions{})
		if defs = viewIndexDefs(t, db); len(defs) != 0 {
			t.Fatalf("view indexes left: %q", defs)
		}
		if !hasIndex(t, db, "desk_ticket", false, "status", "id") {
			t.Fatal("declared index dropped with the view")
		}
		if isPG(db) {
			if builds, _ := db.IndexBuilds(ctx, "desk"); len(builds) != 0 {
				t.Fatalf("builds of dropped indexes kept: %+v", builds)
			}
		}

		// A view whose index is a declared one (status, id) adds nothing.
		p = apply(t, db, ticketApp("status", ""), store.ApplyOptions{})
		for _, s := range p.Steps {
			if s.Op == "add_index" && !strings.Contains(s.Description, "owner") {
				t.Errorf("the declared index was added again: %s", s.Description)
			}
		}
	})
}

// A concurrent build that fails leaves an INVALID index behind; the next
// build drops it and builds again.
func TestViewIndexBuildRetry(t *testing.T) {
	db := storetest.Postgres(t)
	ctx := context.Background()
	apply(t, db, ticketApp("-", ""), store.ApplyOptions{})
	for i := 0; i < 3; i++ {
		insert(t, db, "desk_ticket", fmt.Sprintf("t%d", i), "subject", "same", "status", "open")
	}
	restore := store.FailIndexBuilds(func(name string) error {
		// A unique build over duplicates fails and leaves the index INVALID.
		_, err := db.SQL.Exec(`CREATE UNIQUE INDEX CONCURRENTLY "` + name + `" ON desk_ticket (subject)`)
		if err == nil {
			return errors.New("expected the unique build to fail")
		}
		return fmt.Errorf("injected: %w", err)
	})
	apply(t, db, ticketApp("subject", ""), store.ApplyOptions{})
	db.WaitIndexBuilds()
	restore()
	builds, err := db.IndexBuilds(ctx, "desk")
	if err != nil {
		t.Fatal(err)
	}
	if len(builds) == 0 {
		t.Fatal("no builds recorded")
	}
	for _, b := range builds {
		if b.State != store.IndexFailed || !strings.Contains(b.Error, "injected") {
			t.Fatalf("build = %+v, want failed", b)
		}
	}
	invalid := queryStrings(t, db, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = current_schema()`)
	if len(invalid) == 0 {
		t.Fatal("the failed build left no INVALID index (the test's premise)")
	}
	if err := db.BuildIndexes(ctx); err != nil {
		t.Fatalf("retry: %v", err)
	}
	builds, _ = db.IndexBuilds(ctx, "desk")
	for _, b := range builds {
		if b.State != store.IndexReady {
			t.Fatalf("after retry: %+v", b)
		}
	}
	if left := queryStrings(t, db, `SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid AND n.nspname = current_schema()`); len(left) != 0 {
		t.Fatalf("invalid indexes left: %q", left)
	}
	defs := viewIndexDefs(t, db)
	if !hasDef(defs, "subject, id") {
		t.Fatalf("indexes after retry = %q", defs)
	}
	for _, d := range indexDefs(t, db, "desk_ticket") {
		if strings.Contains(d, "UNIQUE") && strings.Contains(d, "subject") {
			t.Fatalf("the failed unique index survived: %s", d)
		}
	}
}

func planText(p *store.Plan) string {
	var b strings.Builder
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "%s: %s %q\n", s.Op, s.Description, s.SQL)
	}
	return b.String()
}

// An app whose view predates self-indexing views (its index was never
// built) gets the index at its next migration.
func TestViewIndexBuiltForOlderApps(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, ticketApp("-severity,subject", `status = "open"`), store.ApplyOptions{})
		db.WaitIndexBuilds()
		// As an older server left it: no view indexes.
		for _, name := range queryStrings(t, db, indexNamesSQL(db)) {
			exec(t, db, "DROP INDEX "+store.Quote(name))
		}
		if isPG(db) {
			exec(t, db, "DELETE FROM _forma_index_builds")
		}
		if defs := viewIndexDefs(t, db); len(defs) != 0 {
			t.Fatalf("setup: %q", defs)
		}
		// Any change: here a new field.
		doc := strings.Replace(ticketApp("-severity,subject", `status = "open"`), `{"id": "t1", "name": "subject", "type": "text"},`,
			`{"id": "t1", "name": "subject", "type": "text"}, {"id": "t9", "name": "note", "type": "text"},`, 1)
		apply(t, db, doc, store.ApplyOptions{})
		db.WaitIndexBuilds()
		if defs := viewIndexDefs(t, db); !hasDef(defs, "status, severity, subject desc, id") {
			t.Fatalf("indexes = %q", defs)
		}
	})
}

// indexNamesSQL lists the ticket table's indexes over subject.
func indexNamesSQL(db *store.DB) string {
	if isPG(db) {
		return `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'desk_ticket' AND indexdef LIKE '%subject%'`
	}
	return `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'desk_ticket' AND sql LIKE '%subject%'`
}
