package api_test

import (
	"context"
	"errors"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
)

// A list trusts the token answer its server cached and reads the auth
// epoch in the page's own statement (requireCachedUser): a change of
// identity made through another server — a role changed or taken away, a
// token revoked, a session ended, a user deactivated — still holds on this
// server from its very next list, with rows and without, and a refusal is
// given for the identity as it is now, not as it was cached.
func TestListSeesAuthChangesOfOtherServer(t *testing.T) {
	eachShared(t, func(t *testing.T, open func() *store.DB) {
		a := newCRMWith(t, open(), crmDoc(crmRoles))
		b := a.peer(open())
		rep := a.users["rep1"]
		list := func(token, filter string) (int, []map[string]any) {
			t.Helper()
			st, body := b.doAs(token, "GET", "/api/data/crm/deal?filter="+q(filter), nil)
			if st != 200 {
				return st, nil
			}
			return st, items(t, body)
		}
		mine := `stage = "open"`
		none := `stage = "lost"` // no deal is lost: an empty page
		// b caches rep's answer (the second list is answered from it).
		for i := 0; i < 2; i++ {
			if st, got := list(rep.token, mine); st != 200 || len(got) != 1 {
				t.Fatalf("rep's own deals: %d %v", st, got)
			}
		}

		// A role changed on a: b lists with it at once.
		if st, body := a.do("PATCH", "/api/admin/users/"+rep.id, map[string]any{"roles": []string{"executive"}}); st != 200 {
			t.Fatalf("make rep an executive: %d %v", st, body)
		}
		if st, got := list(rep.token, mine); st != 200 || len(got) != len(a.deals) {
			t.Fatalf("after the role change on the other server: %d, %d deals, want %d", st, len(got), len(a.deals))
		}
		// Taken away: the app is no longer there for rep (need to know),
		// even for a request whose first refusal (a bad filter, 400) came
		// from the cached answer.
		if st, body := a.do("PATCH", "/api/admin/users/"+rep.id, map[string]any{"roles": []string{}}); st != 200 {
			t.Fatalf("take the role away: %d %v", st, body)
		}
		st, body := b.doAs(rep.token, "GET", "/api/data/crm/deal?filter="+q(`stage = `), nil)
		wantErr(t, "a bad filter after the role went", st, body, 404, "not_found")
		if st, _ := list(rep.token, mine); st != 404 {
			t.Fatalf("list after the role went: %d", st)
		}
		if st, body := a.do("PATCH", "/api/admin/users/"+rep.id, map[string]any{"roles": []string{"rep"}}); st != 200 {
			t.Fatalf("give rep back: %d %v", st, body)
		}
		if st, got := list(rep.token, mine); st != 200 || len(got) != 1 {
			t.Fatalf("rep again: %d %v", st, got)
		}

		// An API token revoked on a: refused on b, on a page with rows.
		st, body = a.doAs(rep.token, "POST", "/api/auth/tokens", map[string]any{"name": "sync"})
		if st != 201 {
			t.Fatalf("create token: %d %v", st, body)
		}
		apiTok, apiID := str(body["token"]), str(body["info"].(map[string]any)["id"])
		for i := 0; i < 2; i++ {
			if st, _ := list(apiTok, mine); st != 200 {
				t.Fatalf("fresh API token: %d", st)
			}
		}
		if st, body := a.doAs(rep.token, "DELETE", "/api/auth/tokens/"+apiID, nil); st != 204 {
			t.Fatalf("revoke: %d %v", st, body)
		}
		st, body = b.doAs(apiTok, "GET", "/api/data/crm/deal", nil)
		wantErr(t, "a token revoked on the other server", st, body, 401, "unauthorized")

		// A session ended on a: refused on b, on an empty page.
		second := a.login("rep1@example.com", "password rep1")
		for i := 0; i < 2; i++ {
			if st, got := list(second, none); st != 200 || len(got) != 0 {
				t.Fatalf("empty page: %d %v", st, got)
			}
		}
		if st, body := a.doAs(second, "POST", "/api/auth/logout", nil); st != 204 {
			t.Fatalf("logout: %d %v", st, body)
		}
		st, body = b.doAs(second, "GET", "/api/data/crm/deal?filter="+q(none), nil)
		wantErr(t, "a session ended on the other server (empty page)", st, body, 401, "unauthorized")

		// Deactivated on a: every token of the user is refused on b.
		if st, _ := list(rep.token, mine); st != 200 {
			t.Fatalf("before deactivation: %d", st)
		}
		if st, body := a.do("PATCH", "/api/admin/users/"+rep.id, map[string]any{"active": false}); st != 200 {
			t.Fatalf("deactivate: %d %v", st, body)
		}
		st, body = b.doAs(rep.token, "GET", "/api/data/crm/deal?filter="+q(mine), nil)
		wantErr(t, "a user deactivated on the other server", st, body, 401, "unauthorized")

		// Other users' cached answers are unaffected (their epoch moved,
		// so they are confirmed anew, and still let in).
		if st, got := list(a.users["exec"].token, mine); st != 200 || len(got) != len(a.deals) {
			t.Fatalf("exec after the others' changes: %d, %d deals", st, len(got))
		}
	})
}

// The list's own route refuses what requireUser refuses, without touching
// the database for a token of the wrong shape.
func TestListRefusesBadTokens(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		e.create("item", map[string]any{"title": "x"})
		unknown := e.token[:len(e.token)-1] + "A" // another valid-looking token
		if unknown == e.token {
			unknown = e.token[:len(e.token)-1] + "Q"
		}
		for name, auth := range map[string]string{
			"none":       "",
			"no bearer":  "Token " + e.token,
			"malformed":  "Bearer fs_short",
			"wrong kind": "Bearer fx_" + e.token[3:],
			"unknown":    "Bearer " + unknown,
			"injection":  "Bearer fs_' OR 1=1 --",
		} {
			st, raw := e.rawHeader(auth, "GET", "/api/data/kit/item")
			if st != 401 {
				t.Errorf("%s: %d %s", name, st, raw)
			}
		}
		// The admin's cached answer still lists, and a logout through the
		// API ends it at the next list.
		tok := e.login(adminEmail, adminPassword)
		for i := 0; i < 2; i++ {
			if st, body := e.doAs(tok, "GET", "/api/data/kit/item", nil); st != 200 || len(items(t, body)) != 1 {
				t.Fatalf("list: %d %v", st, body)
			}
		}
		if st, body := e.doAs(tok, "POST", "/api/auth/logout", nil); st != 204 {
			t.Fatalf("logout: %d %v", st, body)
		}
		st, body := e.doAs(tok, "GET", "/api/data/kit/item", nil)
		wantErr(t, "list after logout", st, body, 401, "unauthorized")
		if _, err := e.acc.Authenticate(context.Background(), tok); !errors.Is(err, access.ErrUnauthorized) {
			t.Fatalf("Authenticate after logout: %v", err)
		}
	})
}
