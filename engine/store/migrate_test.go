package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

func mustApp(t *testing.T, doc string) *schema.App {
	t.Helper()
	var a schema.App
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		t.Fatalf("decode app: %v", err)
	}
	if p := a.Check(); len(p) > 0 {
		t.Fatalf("app has problems: %v", p)
	}
	return &a
}

func apply(t *testing.T, db *store.DB, doc string, opts store.ApplyOptions) *store.Plan {
	t.Helper()
	p, err := db.Apply(context.Background(), mustApp(t, doc), opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return p
}

func exec(t *testing.T, db *store.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL.Exec(db.Rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func queryStrings(t *testing.T, db *store.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.SQL.Query(db.Rebind(q), args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s *string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s == nil {
			out = append(out, "<nil>")
		} else {
			out = append(out, *s)
		}
	}
	return out
}

const v1 = `{"name": "crm", "entities": [
 {"name": "account", "fields": [{"id": "a1", "name": "name", "type": "text"}]},
 {"name": "deal", "fields": [
   {"id": "d1", "name": "title", "type": "text"},
   {"id": "d2", "name": "amount", "type": "integer"},
   {"id": "d3", "name": "account", "type": "ref", "entity": "account"}
 ], "indexes": [{"fields": ["amount"]}]}]}`

func TestApplyCreateRenameDrop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := apply(t, db, v1, store.ApplyOptions{})
		if p.ToVersion != 1 || len(p.Steps) != 2 {
			t.Fatalf("plan v1 = %+v", p)
		}
		exec(t, db, `INSERT INTO crm_account (id, created_at, updated_at, version, name) VALUES ('a', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1, 'Acme')`)
		if db.Dialect.Name() == "postgres" {
			exec(t, db, `INSERT INTO crm_deal (id, created_at, updated_at, version, title, amount, account) VALUES ('d', now(), now(), 1, 'Big', 1500, 'a')`)
		} else {
			exec(t, db, `INSERT INTO crm_deal (id, created_at, updated_at, version, title, amount, account) VALUES ('d', 'x', 'x', 1, 'Big', 1500, 'a')`)
		}

		// v2: rename title → name, integer amount → decimal, add a field.
		v2 := strings.Replace(v1, `"name": "title", "type": "text"`, `"name": "name", "type": "text"`, 1)
		v2 = strings.Replace(v2, `"name": "amount", "type": "integer"`, `"name": "amount", "type": "decimal", "scale": 2`, 1)
		v2 = strings.Replace(v2, `{"id": "d3"`, `{"id": "d4", "name": "region", "type": "text"}, {"id": "d3"`, 1)
		dry, err := db.Apply(ctx, mustApp(t, v2), store.ApplyOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := queryStrings(t, db, `SELECT title FROM crm_deal`); len(got) != 1 || got[0] != "Big" {
			t.Fatalf("dry run touched data: %v", got)
		}
		if dry.ToVersion != 2 || len(dry.Refused) > 0 {
			t.Fatalf("dry plan = %+v", dry)
		}
		apply(t, db, v2, store.ApplyOptions{})
		if got := queryStrings(t, db, `SELECT name FROM crm_deal`); got[0] != "Big" {
			t.Fatalf("rename lost data: %v", got)
		}
		if got := queryStrings(t, db, `SELECT CAST(amount AS TEXT) FROM crm_deal`); got[0] != "1500.00" && got[0] != "150000" {
			t.Fatalf("amount after conversion = %v", got)
		}

		// v3: drop region and account field: refused without allowDestructive.
		v3 := strings.Replace(v2, `{"id": "d4", "name": "region", "type": "text"}, `, "", 1)
		_, err = db.Apply(ctx, mustApp(t, v3), store.ApplyOptions{})
		var refused *store.RefusedError
		if !errors.As(err, &refused) {
			t.Fatalf("drop without allowDestructive: err = %v", err)
		}
		apply(t, db, v3, store.ApplyOptions{AllowDestructive: true})
		vs, err := db.Versions(ctx, "crm")
		if err != nil || len(vs) != 3 {
			t.Fatalf("versions = %v, %v", vs, err)
		}
		if n := queryStrings(t, db, `SELECT CAST(COUNT(*) AS TEXT) FROM _forma_archives`); n[0] != "1" {
			t.Fatalf("archives = %v", n)
		}
	})
}

func TestApplyFailureChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		apply(t, db, v1, store.ApplyOptions{})
		exec(t, db, `INSERT INTO crm_account (id, created_at, updated_at, version, name) VALUES ('a', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1, 'Acme')`)
		v2 := strings.Replace(v1, `"name": "name", "type": "text"}]}`, `"name": "title", "type": "text"}, {"id": "a2", "name": "city", "type": "text"}]}`, 1)
		v2 = strings.Replace(v2, `{"name": "deal"`, `{"name": "contact", "fields": [{"id": "c1", "name": "email", "type": "email"}]}, {"name": "deal"`, 1)
		restore := store.FailAtLastStep()
		defer restore()
		_, err := db.Apply(ctx, mustApp(t, v2), store.ApplyOptions{})
		if err == nil {
			t.Fatal("apply with failing last step succeeded")
		}
		restore()
		doc, err := db.Document(ctx, "crm", 0)
		if err != nil || doc.Version != 1 {
			t.Fatalf("version after failed apply = %v, %v", doc, err)
		}
		if got := queryStrings(t, db, `SELECT name FROM crm_account`); got[0] != "Acme" {
			t.Fatalf("data after failed apply = %v", got)
		}
		if _, err := db.SQL.Exec(`SELECT city FROM crm_account`); err == nil {
			t.Fatal("column added by failed apply survived")
		}
		if _, err := db.SQL.Exec(`SELECT 1 FROM crm_contact`); err == nil {
			t.Fatal("table created by failed apply survived")
		}
		// And the same migration then succeeds.
		apply(t, db, v2, store.ApplyOptions{})
	})
}

// Adding a nullable field must be a catalog-only change on PostgreSQL: the
// table keeps its file (relfilenode), so a million rows are not rewritten.
func TestAddFieldDoesNotRewriteLargeTable(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 1,000,000 rows")
	}
	db := storetest.Postgres(t)
	ctx := context.Background()
	apply(t, db, v1, store.ApplyOptions{})
	exec(t, db, `INSERT INTO crm_account (id, created_at, updated_at, version, name)
		SELECT 'r' || g, now(), now(), 1, 'account ' || g FROM generate_series(1, 1000000) AS g`)
	fileNode := func() string {
		return queryStrings(t, db, `SELECT CAST(pg_relation_filenode('crm_account') AS TEXT)`)[0]
	}
	before := fileNode()
	v2 := strings.Replace(v1, `"name": "name", "type": "text"}]}`,
		`"name": "name", "type": "text"}, {"id": "a2", "name": "region", "type": "text"}, {"id": "a3", "name": "revenue", "type": "decimal"}, {"id": "a4", "name": "vip", "type": "boolean"}]}`, 1)
	p := apply(t, db, v2, store.ApplyOptions{})
	if len(p.Steps) != 3 {
		t.Fatalf("plan = %+v", p.Steps)
	}
	if after := fileNode(); after != before {
		t.Fatalf("adding nullable fields rewrote the table (relfilenode %s → %s)", before, after)
	}
	if n := queryStrings(t, db, `SELECT CAST(COUNT(*) AS TEXT) FROM crm_account WHERE region IS NULL`)[0]; n != "1000000" {
		t.Fatalf("rows with the new column = %s", n)
	}
	_ = ctx
}
