package records_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

const refDoc = `{"name": "shop", "entities": [
 {"id": "e1", "name": "store", "fields": [{"id": "s1", "name": "name", "type": "text"}]},
 {"id": "e2", "name": "sale", "fields": [
  {"id": "a1", "name": "store", "type": "ref", "entity": "store"},
  {"id": "a2", "name": "qty", "type": "integer", "min": 1},
  {"id": "a3", "name": "code", "type": "text", "unique": true}]}]}`

// An import's transaction checks each ref id once: rows naming the same
// store are checked by one statement, a missing one is refused on every
// row that names it (what is missing is not remembered), and after a
// batch or a row is rolled back (a bad row) ids are checked again.
func TestImportChecksARefOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyDoc(t, db, refDoc)
		s := records.New(db, store.NewCatalog(db))
		admin := records.Caller{Admin: true} // no user id: no owner to check
		var stores []string
		for i := range 2 {
			rec, err := s.Create(ctx, admin, "shop", "store", []byte(fmt.Sprintf(`{"name": "s%d"}`, i)))
			if err != nil {
				t.Fatal(err)
			}
			stores = append(stores, rec.ID())
		}
		checks := map[string]int{}
		defer records.SetRefCheckHook(func(table, id string) { checks[id]++ })()
		importRows := func(rows ...map[string]any) []records.RowOutcome {
			t.Helper()
			tx, err := db.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			im, err := s.NewImporter(ctx, tx, admin, "shop", "sale", records.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var in []records.ImportRow
			for i, r := range rows {
				in = append(in, records.ImportRow{Row: i + 1, Values: r})
			}
			out, err := im.Write(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if err := im.Finish(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			return out
		}
		sale := func(store string, qty int) map[string]any { return map[string]any{"store": store, "qty": qty} }

		// Six rows, two stores, one missing id twice.
		out := importRows(sale(stores[0], 1), sale(stores[1], 1), sale(stores[0], 2), sale("nope", 1), sale(stores[1], 2), sale("nope", 1))
		for i, o := range out {
			if bad := i == 3 || i == 5; (o.Err != nil) != bad {
				t.Fatalf("row %d: %+v", i+1, o)
			}
		}
		// The missing id was checked on each row that names it: what is
		// missing is never remembered.
		if checks["nope"] < 2 {
			t.Fatalf("checks: %v", checks)
		}
		// A clean batch: one check per store, however many rows.
		clear(checks)
		var rows []map[string]any
		for i := range 20 {
			rows = append(rows, sale(stores[i%2], i+1))
		}
		for i, o := range importRows(rows...) {
			if o.Err != nil {
				t.Fatalf("row %d: %+v", i+1, o.Err)
			}
		}
		if checks[stores[0]] != 1 || checks[stores[1]] != 1 {
			t.Fatalf("checks in a clean batch: %v", checks)
		}
		// A row refused by the database (a code taken) rolls the batch
		// back: the ids are checked again, and the good rows stand.
		clear(checks)
		coded := func(code string) map[string]any { r := sale(stores[0], 1); r["code"] = code; return r }
		out = importRows(coded("A"), coded("A"), coded("B"))
		if out[0].Err != nil || out[1].Err == nil || out[2].Err != nil {
			t.Fatalf("outcomes: %+v", out)
		}
		if checks[stores[0]] < 2 {
			t.Fatalf("checks after a rolled-back batch: %v", checks)
		}
		p, err := s.List(ctx, admin, "shop", "sale", records.Query{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 4+20+2 {
			t.Fatalf("%d sales", len(p.Items))
		}
	})
}
