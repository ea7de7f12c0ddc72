package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
)

// Every signed-in user can look colleagues up to pick them for a user
// field; deactivated ones are left out (by id: 404) and roles are not shown.
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
		wantErr(t, "a deactivated user by id", st, body, 404, "not_found")
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

// The directory is need-to-know: a user sees themselves and the active users
// who share an app with them (both hold a role the app has); the admin sees
// everyone. Asked by id for anyone else, the answer is that of an unknown id.
func TestDirectoryColleagues(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// ops defines warehouse, lab defines chemist; both keep the default
		// roles, as kit does.
		for _, doc := range []string{
			`{"name": "ops", "entities": [{"id": "e1", "name": "crate", "fields": [{"id": "f1", "name": "label", "type": "text"}]}],
			  "roles": [{"name": "warehouse", "entities": {"crate": {"read": "all"}}}]}`,
			`{"name": "lab", "entities": [{"id": "e1", "name": "sample", "fields": [{"id": "f1", "name": "label", "type": "text"}]}],
			  "roles": [{"name": "chemist", "entities": {"sample": {"read": "all"}}}]}`,
		} {
			if st, body := e.do("POST", "/api/meta/apps", doc); st != 201 {
				t.Fatalf("apply: %d %v", st, body)
			}
		}
		ids := map[string]string{"admin": e.admin.ID}
		tokens := map[string]string{"admin": e.token}
		for _, u := range []struct {
			name  string
			roles []string
		}{{"ann", []string{"rep"}}, {"wade", []string{"warehouse"}}, {"chem", []string{"chemist"}},
			{"lone", []string{"clerk"}}, {"none", nil}, {"gone", []string{"rep"}}} {
			au, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: u.name + "@example.com", Password: "password " + u.name, Name: u.name, Roles: u.roles})
			if err != nil {
				t.Fatal(err)
			}
			ids[u.name] = au.ID
			tokens[u.name] = e.login(u.name+"@example.com", "password "+u.name)
		}
		if err := e.acc.SetActive(ctx, ids["gone"], false); err != nil {
			t.Fatal(err)
		}
		names := func(body map[string]any) string {
			var out []string
			for _, it := range items(t, body) {
				out = append(out, strings.TrimSuffix(str(it["email"]), "@example.com"))
			}
			return strings.Join(out, ",")
		}
		for who, want := range map[string]string{
			"admin": "admin,ann,chem,lone,none,wade",
			"ann":   "ann,chem,wade", // rep: in kit, ops and lab
			"wade":  "ann,wade",      // ops only
			"chem":  "ann,chem",      // lab only
			"lone":  "lone",          // a role no app has
			"none":  "none",
		} {
			st, body := e.doAs(tokens[who], "GET", "/api/directory/users?limit=100", nil)
			if got := names(body); st != 200 || got != want {
				t.Errorf("%s's directory: %d %s, want %s", who, st, got, want)
			}
		}
		// By id: a colleague is found; a stranger, an unknown id and a
		// deactivated user give the same 404.
		st, body := e.doAs(tokens["wade"], "GET", "/api/directory/users?id="+ids["ann"], nil)
		if st != 200 || names(body) != "ann" {
			t.Errorf("wade looks up ann: %d %v", st, body)
		}
		_, unknown := e.raw(tokens["wade"], "GET", "/api/directory/users?id=01hzzzzzzzzzzzzzzzzzzzzzzz", nil)
		for _, other := range []string{"chem", "lone", "admin", "gone"} {
			st, raw := e.raw(tokens["wade"], "GET", "/api/directory/users?id="+ids[other], nil)
			if st != 404 || string(raw) != string(unknown) {
				t.Errorf("wade looks up %s: %d %s, want %s", other, st, raw, unknown)
			}
		}
		// A search names no stranger either.
		st, body = e.doAs(tokens["chem"], "GET", "/api/directory/users?q=wade", nil)
		if st != 200 || len(items(t, body)) != 0 {
			t.Errorf("chem searches wade: %d %v", st, body)
		}
		// Roles change who is a colleague from the next request.
		roles := []string{"warehouse", "chemist"}
		if _, err := e.acc.UpdateUser(ctx, ids["wade"], access.UserUpdate{Roles: &roles}); err != nil {
			t.Fatal(err)
		}
		st, body = e.doAs(tokens["chem"], "GET", "/api/directory/users", nil)
		if got := names(body); st != 200 || got != "ann,chem,wade" {
			t.Errorf("chem's directory once wade is a chemist: %d %s", st, got)
		}
	})
}
