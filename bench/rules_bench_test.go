package bench_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store/storetest"
)

// BenchmarkRules measures what a row rule costs: list50 (the same filter,
// sort and page as BenchmarkAPI's) by the admin, who sees every row, and
// by a rep, whose default role reads only the rows they own (every tenth
// row; the others belong to the admin).
//
//	go test -run '^$' -bench Rules -benchtime 5s ./bench/
func BenchmarkRules(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { runRules(b, "") })
	b.Run("postgres", func(b *testing.B) { runRules(b, storetest.PostgresURL(b)) })
}

func runRules(b *testing.B, dbURL string) {
	ctx := context.Background()
	eng := open(b, dbURL)
	admin, err := eng.Access.UserByEmail(ctx, "bench@example.com")
	if err != nil {
		b.Fatal(err)
	}
	rep, err := eng.Access.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "benchpass1", Roles: []string{"rep"}})
	if err != nil {
		b.Fatal(err)
	}
	n := rows()
	ids := load(b, eng.DB, n, func(i int) any {
		if i%10 == 3 {
			return rep.ID
		}
		return admin.ID
	})
	t := serve(b, eng, ids)
	adminToken, repToken := t.token, t.login(b, "rep@example.com", "benchpass1")
	list := "/api/data/bench/deal?" + url.Values{
		"filter": {`amount >= 50000`},
		"sort":   {"-amount"},
		"limit":  {"50"},
	}.Encode()
	for _, tc := range []struct {
		name, token, owner string
	}{
		{"list50-admin", adminToken, ""},
		{"list50-rep", repToken, rep.ID},
	} {
		b.Run(tc.name, func(b *testing.B) {
			u := *t
			u.token = tc.token
			var page struct {
				Items []struct{ Owner string }
			}
			u.do(b, "GET", list, "", 200, &page)
			if len(page.Items) != 50 {
				b.Fatalf("list returned %d items", len(page.Items))
			}
			for _, it := range page.Items {
				if tc.owner != "" && it.Owner != tc.owner {
					b.Fatalf("the rep's list holds a record of %q", it.Owner)
				}
			}
			parallel(b, func(i int) { u.do(b, "GET", list, "", 200, nil) })
		})
	}
}
