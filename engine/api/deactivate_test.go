package api_test

import (
	"context"
	"testing"

	"github.com/formaapp/forma/engine/access"
)

// Deactivating a user ends their sessions and API tokens for good: after
// reactivation (and after a password reset) the old ones still answer 401,
// while a new login and a new API token work.
func TestDeactivateRevokesForGood(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		u, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		session := e.login("rep@example.com", "rep password 1")
		st, body := e.doAs(session, "POST", "/api/auth/tokens", map[string]any{"name": "sync"})
		if st != 201 {
			t.Fatalf("token: %d %v", st, body)
		}
		apiTok := str(body["token"])
		// An invitation or reset issued before the deactivation dies with it.
		st, body = e.do("POST", "/api/admin/users/"+u.ID+"/reset-password", nil)
		if st != 200 {
			t.Fatalf("reset: %d %v", st, body)
		}
		reset := str(body["resetToken"])
		for _, tok := range []string{session, apiTok} {
			if st, body := e.doAs(tok, "GET", "/api/auth/me", nil); st != 200 {
				t.Fatalf("before: %d %v", st, body)
			}
		}

		for _, active := range []bool{false, true} {
			if st, body := e.do("PATCH", "/api/admin/users/"+u.ID, map[string]any{"active": active}); st != 200 || body["active"] != active {
				t.Fatalf("active=%v: %d %v", active, st, body)
			}
			for what, tok := range map[string]string{"session": session, "API token": apiTok} {
				st, body := e.doAs(tok, "GET", "/api/data/kit/item", nil)
				wantErr(t, "old "+what+" (active="+map[bool]string{true: "true", false: "false"}[active]+")", st, body, 401, "unauthorized")
			}
		}
		st, body = e.doAs("", "POST", "/api/auth/reset-password", map[string]any{"token": reset, "password": "rep password 2"})
		wantErr(t, "reset token from before the deactivation", st, body, 401, "unauthorized")

		// The tokens list shows the old API token revoked.
		fresh := e.login("rep@example.com", "rep password 1")
		st, body = e.doAs(fresh, "GET", "/api/auth/tokens", nil)
		if list := items(t, body); st != 200 || len(list) != 1 || list[0]["revoked"] != true {
			t.Errorf("tokens after reactivation: %d %v", st, body)
		}
		st, body = e.doAs(fresh, "POST", "/api/auth/tokens", map[string]any{"name": "sync again"})
		if st != 201 {
			t.Fatalf("new token: %d %v", st, body)
		}
		newAPI := str(body["token"])

		// A password reset afterwards brings nothing back either.
		st, body = e.do("POST", "/api/admin/users/"+u.ID+"/reset-password", nil)
		if st != 200 {
			t.Fatalf("reset: %d %v", st, body)
		}
		if st, body := e.doAs("", "POST", "/api/auth/reset-password", map[string]any{"token": str(body["resetToken"]), "password": "rep password 3"}); st != 200 {
			t.Fatalf("complete reset: %d %v", st, body)
		}
		for what, tok := range map[string]string{"session": session, "API token": apiTok} {
			st, body := e.doAs(tok, "GET", "/api/auth/me", nil)
			wantErr(t, "old "+what+" after a reset", st, body, 401, "unauthorized")
		}
		if st, body := e.doAs(newAPI, "GET", "/api/data/kit/item", nil); st != 200 {
			t.Errorf("the new API token after a reset: %d %v", st, body)
		}
		if tok := e.login("rep@example.com", "rep password 3"); tok == "" {
			t.Error("no login after the reset")
		}
	})
}
