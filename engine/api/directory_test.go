package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
)

// Every signed-in user can look colleagues up to pick them for a user
// field; deactivated ones are left out and roles are not shown.
func TestDirectory(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		ann, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "ann@example.com", Name: "Ann Lee", Password: "ann password 1", Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		gone, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "gone@example.com", Name: "Ann Gone", Password: "gone password 1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.acc.SetActive(ctx, gone.ID, false); err != nil {
			t.Fatal(err)
		}
		tok := e.login("ann@example.com", "ann password 1")
		st, body := e.doAs(tok, "GET", "/api/directory/users?q=ANN", nil)
		list := items(t, body)
		if st != 200 || len(list) != 1 || list[0]["id"] != ann.ID || list[0]["name"] != "Ann Lee" {
			t.Fatalf("search: %d %v", st, body)
		}
		if strings.Contains(mustJSON(body), "roles") || strings.Contains(mustJSON(body), "admin") {
			t.Errorf("the directory shows roles or the admin flag: %v", body)
		}
		st, body = e.doAs(tok, "GET", "/api/directory/users?id="+ann.ID, nil)
		if list := items(t, body); st != 200 || len(list) != 1 || list[0]["email"] != "ann@example.com" {
			t.Errorf("by id: %d %v", st, body)
		}
		st, body = e.doAs(tok, "GET", "/api/directory/users?id="+gone.ID, nil)
		if st != 200 || len(items(t, body)) != 0 {
			t.Errorf("a deactivated user by id: %d %v", st, body)
		}
		st, body = e.doAs(tok, "GET", "/api/directory/users?limit=1", nil)
		if st != 200 || len(items(t, body)) != 1 {
			t.Errorf("limit: %d %v", st, body)
		}
		for _, bad := range []string{"?limit=0", "?limit=101", "?limit=x", "?q=" + strings.Repeat("a", 201), "?id=" + strings.Repeat("x", 65)} {
			st, body := e.doAs(tok, "GET", "/api/directory/users"+bad, nil)
			wantErr(t, bad, st, body, 400, "invalid_query")
		}
		st, body = e.doAs("", "GET", "/api/directory/users", nil)
		wantErr(t, "anonymous", st, body, 401, "unauthorized")
	})
}
