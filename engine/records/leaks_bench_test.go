package records_test

import (
	"context"
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// BenchmarkCreateWithRef measures what checking a written ref against the
// writer's read rule costs: a deal with a ref to an account, created by the
// admin (the existence check alone, as before the rule) and by a rep who
// may read only their own accounts (the same single query, with the row
// condition added).
//
//	go test -run '^$' -bench CreateWithRef ./engine/records/
func BenchmarkCreateWithRef(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchCreateWithRef(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchCreateWithRef(b, storetest.Postgres(b)) })
}

func benchCreateWithRef(b *testing.B, db *store.DB) {
	ctx := context.Background()
	app, problems := schema.Parse([]byte(`{"name": "crm", "entities": [
		{"id": "e1", "name": "account", "fields": [{"id": "f1", "name": "name", "type": "text"}]},
		{"id": "e2", "name": "deal", "fields": [
			{"id": "f1", "name": "title", "type": "text"},
			{"id": "f2", "name": "account", "type": "ref", "entity": "account"}]}],
		"roles": [{"name": "rep", "entities": {
			"account": {"read": "own", "create": "own"},
			"deal": {"read": "own", "create": "own"}}}]}`))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	if _, err := db.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := acc.CreateUser(ctx, "admin@example.com", "some password", "", true)
	if err != nil {
		b.Fatal(err)
	}
	rep, err := acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "some password", Roles: []string{"rep"}})
	if err != nil {
		b.Fatal(err)
	}
	s := records.New(db, store.NewCatalog(db))
	repCaller := records.Caller{UserID: rep.ID, Roles: []string{"rep"}}
	// 1000 accounts, one in ten the rep's, so the row condition has work.
	var target string
	for i := 0; i < 1000; i++ {
		c := records.Caller{UserID: admin.ID, Admin: true}
		if i%10 == 0 {
			c = repCaller
		}
		rec, err := s.Create(ctx, c, "crm", "account", []byte(fmt.Sprintf(`{"name": "a%d"}`, i)))
		if err != nil {
			b.Fatal(err)
		}
		if i == 500 {
			target = rec.ID()
		}
	}
	body := []byte(`{"title": "deal", "account": "` + target + `"}`)
	for _, tc := range []struct {
		name string
		c    records.Caller
	}{
		{"admin", records.Caller{UserID: admin.ID, Admin: true}},
		{"rep", repCaller},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := s.Create(ctx, tc.c, "crm", "deal", body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListPerReader measures what a rollup with "visibility":
// "reader" costs a list: a page of 50 accounts, each with 20 deals (one in
// ten the rep's), read by a rep with the stored count (visibility all) and
// with the per-reader count (one grouped query more per page).
//
//	go test -run '^$' -bench ListPerReader ./engine/records/
func BenchmarkListPerReader(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchListPerReader(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchListPerReader(b, storetest.Postgres(b)) })
}

func benchListPerReader(b *testing.B, db *store.DB) {
	ctx := context.Background()
	app, problems := schema.Parse([]byte(`{"name": "crm", "entities": [
		{"id": "e1", "name": "account", "fields": [
			{"id": "f1", "name": "name", "type": "text"},
			{"id": "f2", "name": "n_all", "type": "rollup", "rollup": {"entity": "deal", "via": "account", "op": "count"}},
			{"id": "f3", "name": "n_reader", "type": "rollup", "rollup": {"entity": "deal", "via": "account", "op": "count", "visibility": "reader"}}]},
		{"id": "e2", "name": "deal", "fields": [
			{"id": "f1", "name": "title", "type": "text"},
			{"id": "f2", "name": "account", "type": "ref", "entity": "account"}]}],
		"roles": [{"name": "rep", "entities": {
			"account": {"read": "all"},
			"deal": {"read": "own", "create": "own"}}}]}`))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	if _, err := db.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		b.Fatal(err)
	}
	admin, err := acc.CreateUser(ctx, "admin@example.com", "some password", "", true)
	if err != nil {
		b.Fatal(err)
	}
	rep, err := acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "some password", Roles: []string{"rep"}})
	if err != nil {
		b.Fatal(err)
	}
	s := records.New(db, store.NewCatalog(db))
	ac := records.Caller{UserID: admin.ID, Admin: true}
	for i := 0; i < 50; i++ {
		a, err := s.Create(ctx, ac, "crm", "account", []byte(fmt.Sprintf(`{"name": "a%d"}`, i)))
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 20; j++ {
			owner := admin.ID
			if j%10 == 0 {
				owner = rep.ID
			}
			if _, err := s.Create(ctx, ac, "crm", "deal", []byte(`{"title": "d", "account": "`+a.ID()+`", "owner": "`+owner+`"}`)); err != nil {
				b.Fatal(err)
			}
		}
	}
	repCaller := records.Caller{UserID: rep.ID, Roles: []string{"rep"}}
	for _, field := range []string{"n_all", "n_reader"} {
		b.Run(field, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				page, err := s.List(ctx, repCaller, "crm", "account", records.Query{Limit: 50, Fields: "name," + field})
				if err != nil {
					b.Fatal(err)
				}
				if len(page.Items) != 50 {
					b.Fatalf("%d items", len(page.Items))
				}
			}
		})
	}
}
