package records_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

func applyDoc(t *testing.T, db *store.DB, doc string) {
	t.Helper()
	app, problems := schema.Parse([]byte(doc))
	if len(problems) > 0 {
		t.Fatalf("parse: %v", problems)
	}
	if _, err := db.Apply(context.Background(), app, store.ApplyOptions{}); err != nil {
		t.Fatalf("apply %s: %v", app.Name, err)
	}
}

func ownerCounts(t *testing.T, db *store.DB, owner string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tbl := range []string{"crm_account", "crm_deal", "ops_ticket", "ops_quota"} {
		var n int
		if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM "`+tbl+`" WHERE "owner" = ? AND "version" = 1`), owner).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tbl] = n
	}
	return out
}

// TestTransferOwnerRollsBack fails a transfer part-way, after some entities'
// records have moved inside its transaction, and checks nothing moved.
func TestTransferOwnerRollsBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyDoc(t, db, `{"name": "crm", "entities": [
			{"id": "e1", "name": "account", "fields": [{"id": "f1", "name": "name", "type": "text"}]},
			{"id": "e2", "name": "deal", "fields": [{"id": "f1", "name": "title", "type": "text"}]}]}`)
		applyDoc(t, db, `{"name": "ops", "entities": [
			{"id": "e1", "name": "ticket", "fields": [{"id": "f1", "name": "subject", "type": "text"}]},
			{"id": "e2", "name": "quota", "fields": [{"id": "f1", "name": "target", "type": "integer"}]}]}`)
		acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, email := range []string{"admin@example.com", "a@example.com", "c@example.com"} {
			u, err := acc.CreateUser(ctx, email, "some password", "", email == "admin@example.com")
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		admin, a, c := ids[0], ids[1], ids[2]
		svc := records.New(db, store.NewCatalog(db))
		for _, ae := range [][2]string{{"crm", "account"}, {"crm", "deal"}, {"crm", "deal"}, {"ops", "ticket"}, {"ops", "quota"}} {
			if _, err := svc.Create(ctx, records.Caller{UserID: admin, Admin: true}, ae[0], ae[1], []byte(`{"owner": "`+a+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]int{"crm_account": 1, "crm_deal": 2, "ops_ticket": 1, "ops_quota": 1}

		// Fail after ops.ticket: crm.account, crm.deal and ops.ticket have
		// moved inside the transaction by then.
		boom := errors.New("boom")
		var seen []string
		restore := records.SetTransferHook(func(app, entity string) error {
			seen = append(seen, app+"."+entity)
			if app+"."+entity == "ops.ticket" {
				return boom
			}
			return nil
		})
		_, err = svc.TransferOwner(ctx, admin, a, c)
		restore()
		if !errors.Is(err, boom) {
			t.Fatalf("TransferOwner = %v, want boom", err)
		}
		if len(seen) != 3 {
			t.Errorf("hook saw %v", seen)
		}
		if got := ownerCounts(t, db, a); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after a failed transfer A owns %v, want %v", got, want)
		}
		var n int
		if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM "_forma_history" WHERE "path" = ?`), records.PathSystem).Scan(&n); err != nil || n != 0 {
			t.Errorf("a failed transfer left %d history entries (%v)", n, err)
		}

		// Without the hook the same transfer goes through.
		moved, err := svc.TransferOwner(ctx, admin, a, c)
		if err != nil {
			t.Fatal(err)
		}
		if moved["crm.account"] != 1 || moved["crm.deal"] != 2 || moved["ops.ticket"] != 1 || moved["ops.quota"] != 1 || len(moved) != 4 {
			t.Errorf("moved %v", moved)
		}
		if _, err := svc.TransferOwner(ctx, admin, a, a); err == nil {
			t.Error("a transfer to the same user was accepted")
		}
	})
}
