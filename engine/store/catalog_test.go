package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

func catalogDoc(field string) string {
	return `{"name": "cat", "entities": [{"id": "e1", "name": "deal", "fields": [{"id": "f1", "name": "` + field + `", "type": "text"}]}]}`
}

// twoHandles runs fn on both dialects with two connection pools on one
// new database, as two servers would have.
func twoHandles(t *testing.T, fn func(t *testing.T, db, other *store.DB)) {
	open := func(t *testing.T, dbURL, dir string) *store.DB {
		db, err := store.Open(context.Background(), dbURL, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, open(t, "", dir), open(t, "", dir))
	})
	t.Run("postgres", func(t *testing.T) {
		u := storetest.PostgresURL(t)
		fn(t, open(t, u, ""), open(t, u, ""))
	})
}

// A catalog serves the version the database holds now, whoever migrated it:
// here another server (a second pool on the database), which this catalog
// is never told about.
func TestCatalogFollowsOtherServersMigrations(t *testing.T) {
	twoHandles(t, func(t *testing.T, db, other *store.DB) {
		ctx := context.Background()
		cat := store.NewCatalog(db)
		if _, err := cat.App(ctx, "cat"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown app: %v", err)
		}
		apply(t, other, catalogDoc("title"), store.ApplyOptions{})
		app, err := cat.App(ctx, "cat")
		if err != nil || app.Version != 1 || app.Entities[0].Fields[0].Name != "title" {
			t.Fatalf("v1: %v %+v", err, app)
		}
		if again, _ := cat.App(ctx, "cat"); again != app {
			t.Error("an unchanged version was loaded again instead of served from the cache")
		}
		apply(t, other, catalogDoc("name"), store.ApplyOptions{})
		// Cached serves what it holds until told the app moved on.
		if cached, fresh, err := cat.Cached(ctx, "cat"); err != nil || fresh || cached != app {
			t.Errorf("Cached before Outdated: %v %v %v", cached, fresh, err)
		}
		cat.Outdated("cat", 1)
		if cached, fresh, err := cat.Cached(ctx, "cat"); err != nil || !fresh || cached.Version != 2 {
			t.Errorf("Cached after Outdated: %+v %v %v", cached, fresh, err)
		}
		cat.Outdated("cat", 1) // an older version: the newer document stays
		if _, fresh, _ := cat.Cached(ctx, "cat"); fresh {
			t.Error("Outdated of an older version dropped the current document")
		}
		app, err = cat.App(ctx, "cat")
		if err != nil || app.Version != 2 || app.Entities[0].Fields[0].Name != "name" {
			t.Fatalf("after another server's migration: %v %+v", err, app)
		}
		if v, err := db.AppVersion(ctx, db.Pool(), "cat"); err != nil || v != 2 {
			t.Errorf("AppVersion = %d, %v", v, err)
		}
		if _, err := db.AppVersion(ctx, db.Pool(), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AppVersion of an unknown app: %v", err)
		}
	})
}

// IsSchemaMoved recognises the errors of statements built from a document
// older than the tables, on both dialects, through wrapping.
func TestSchemaMovedErrors(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, catalogDoc("title"), store.ApplyOptions{})
		// Unquoted: SQLite reads a double-quoted name that is no column as
		// a string literal (records checks its reads for that reason).
		for _, q := range []string{`SELECT memo FROM "cat_deal"`, `SELECT 1 FROM "cat_gone"`, `INSERT INTO "cat_deal" ("id", "created_at", "updated_at", "version", "memo") VALUES ('x', '2026-01-01', '2026-01-01', 1, 'm')`} {
			_, err := db.SQL.Exec(q)
			if !store.IsSchemaMoved(fmt.Errorf("wrapped: %w", err)) {
				t.Errorf("%s: %v is not seen as a schema change", q, err)
			}
		}
		if store.IsSchemaMoved(errors.New("duplicate key")) || store.IsSchemaMoved(nil) {
			t.Error("an unrelated error is seen as a schema change")
		}
		if !store.IsSchemaMoved(fmt.Errorf("records: %w", store.ErrAppMoved)) {
			t.Error("ErrAppMoved is not seen as a schema change")
		}
	})
}

// BenchmarkCatalog measures what a records request pays to know its app
// document is current: the document comes from memory (cached), and one
// primary-key read of the app's version confirms it (version); app is a
// checked look-up (both).
func BenchmarkCatalog(b *testing.B) {
	run := func(b *testing.B, db *store.DB) {
		ctx := context.Background()
		app, problems := schema.Parse([]byte(catalogDoc("title")))
		if len(problems) > 0 {
			b.Fatal(problems)
		}
		if _, err := db.Apply(ctx, app, store.ApplyOptions{}); err != nil {
			b.Fatal(err)
		}
		cat := store.NewCatalog(db)
		b.Run("cached", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := cat.Cached(ctx, "cat"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("version", func(b *testing.B) {
			for b.Loop() {
				if _, err := db.AppVersion(ctx, db.Pool(), "cat"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("app", func(b *testing.B) {
			for b.Loop() {
				if _, err := cat.App(ctx, "cat"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("sqlite", func(b *testing.B) { run(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { run(b, storetest.Postgres(b)) })
}
