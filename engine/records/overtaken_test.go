package records_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

func dealDoc(notes string) string {
	return `{"name": "crm", "entities": [{"id": "e1", "name": "deal", "fields": [
		{"id": "f1", "name": "title", "type": "text"}, {"id": "f2", "name": "` + notes + `", "type": "text"}]}]}`
}

// fieldsOf returns a record as the API shows it.
func fieldsOf(t *testing.T, rec *records.Record) map[string]any {
	t.Helper()
	j, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRequestOvertakenByMigration lands a rename of deal's second field
// right after each request has read its app document and before it runs a
// statement: the worst moment. Every request then answers what the new
// document says, as if it had come after the migration: reads show the new
// name with the stored value, an old name is an unknown field (4xx), and a
// write that names neither field still answers by the new document.
func TestRequestOvertakenByMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		admin := records.Caller{Admin: true}
		svc := records.New(db, store.NewCatalog(db))
		applyDoc(t, db, dealDoc("notes"))
		first, err := svc.Create(ctx, admin, "crm", "deal", []byte(`{"title": "first", "notes": "hello"}`))
		if err != nil {
			t.Fatal(err)
		}
		id := first.ID()
		current := "notes"
		// overtake renames the field once, after the next request has read
		// its document.
		overtake := func() {
			next := map[string]string{"notes": "memo", "memo": "notes"}[current]
			done := false
			restore := records.SetDocumentHook(func(string) {
				if !done {
					done = true
					applyDoc(t, db, dealDoc(next))
					current = next
				}
			})
			t.Cleanup(restore)
		}
		status := func(err error) int {
			var re *records.Error
			if errors.As(err, &re) {
				return re.Status
			}
			return 500
		}

		overtake() // notes → memo, under a get
		rec, err := svc.Get(ctx, admin, "crm", "deal", id, "", "")
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if got := fieldsOf(t, rec); got["memo"] != "hello" || got["notes"] != nil {
			t.Errorf("get overtaken by a rename: %v", got)
		}

		overtake() // memo → notes, under a list filtered on memo
		if _, err := svc.List(ctx, admin, "crm", "deal", records.Query{Filter: `memo ~ "hel"`}); status(err) != 400 {
			t.Errorf("list on the renamed-away name: %v", err)
		}
		overtake() // notes → memo, under a list filtered on the new name's old name
		page, err := svc.List(ctx, admin, "crm", "deal", records.Query{Filter: `title = "first"`})
		if err != nil || len(page.Items) != 1 || fieldsOf(t, page.Items[0])["memo"] != "hello" {
			t.Errorf("list overtaken by a rename: %v %v", page, err)
		}

		overtake() // memo → notes, under a create naming memo
		if _, err := svc.Create(ctx, admin, "crm", "deal", []byte(`{"title": "second", "memo": "x"}`)); status(err) != 422 {
			t.Errorf("create naming the renamed-away field: %v", err)
		}
		overtake() // notes → memo, under a create naming neither
		rec, err = svc.Create(ctx, admin, "crm", "deal", []byte(`{"title": "third"}`))
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if got := fieldsOf(t, rec); len(got) == 0 || got["title"] != "third" {
			t.Errorf("create: %v", got)
		} else if _, ok := got["memo"]; !ok {
			t.Errorf("create overtaken by a rename answers by the old document: %v", got)
		}

		overtake() // memo → notes, under a patch naming memo
		if _, err := svc.Patch(ctx, admin, "crm", "deal", id, []byte(`{"version": 1, "memo": "changed"}`)); status(err) != 422 {
			t.Errorf("patch naming the renamed-away field: %v", err)
		}
		overtake() // notes → memo, under a patch naming neither
		rec, err = svc.Patch(ctx, admin, "crm", "deal", id, []byte(`{"version": 1, "title": "first!"}`))
		if err != nil {
			t.Fatalf("patch: %v", err)
		}
		if got := fieldsOf(t, rec); got["memo"] != "hello" || got["title"] != "first!" {
			t.Errorf("patch overtaken by a rename: %v", got)
		}

		overtake() // memo → notes, under a delete
		if err := svc.Delete(ctx, admin, "crm", "deal", id, 2); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if _, err := svc.Get(ctx, admin, "crm", "deal", id, "", ""); status(err) != 404 {
			t.Errorf("get after delete: %v", err)
		}
	})
}
