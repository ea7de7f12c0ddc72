package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
)

// route is one protected API route, with a body to send where it takes one.
type route struct {
	method, path string
	body         any
}

// protectedRoutes lists every /api/meta and /api/data route, with known and
// unknown apps, entities and ids, plus the authenticated /api/auth routes.
func protectedRoutes(id string) []route {
	rec := map[string]any{"title": "sneaky"}
	patch := map[string]any{"title": "changed", "version": 1}
	return []route{
		{"GET", "/api/meta/apps", nil},
		{"POST", "/api/meta/apps", `{"name": "evil", "entities": [{"name": "x", "fields": [{"id": "f1", "name": "a", "type": "text"}]}]}`},
		{"POST", "/api/meta/apps?dryRun=1", `{"name": "evil", "entities": []}`},
		{"GET", "/api/meta/apps/kit", nil},
		{"GET", "/api/meta/apps/nope", nil},
		{"GET", "/api/meta/apps/kit/versions", nil},
		{"GET", "/api/meta/apps/nope/versions", nil},
		{"GET", "/api/meta/apps/kit/versions/1", nil},
		{"GET", "/api/meta/apps/kit/versions/99", nil},
		{"GET", "/api/meta/apps/kit/openapi.json", nil},
		{"GET", "/api/meta/apps/nope/openapi.json", nil},
		{"GET", "/api/meta/nothing/here", nil},
		{"GET", "/api/data/kit/item", nil},
		{"GET", "/api/data/kit/item?filter=title%20%3D%20%22a%22", nil},
		{"POST", "/api/data/kit/item", rec},
		{"GET", "/api/data/kit/item/" + id, nil},
		{"PATCH", "/api/data/kit/item/" + id, patch},
		{"DELETE", "/api/data/kit/item/" + id, nil},
		{"GET", "/api/data/kit/item/nope", nil},
		{"PATCH", "/api/data/kit/item/nope", patch},
		{"DELETE", "/api/data/kit/item/nope", nil},
		{"GET", "/api/data/kit/nope", nil},
		{"POST", "/api/data/kit/nope", rec},
		{"GET", "/api/data/nope/item", nil},
		{"POST", "/api/data/nope/item", rec},
		{"GET", "/api/data/nope/item/" + id, nil},
		{"DELETE", "/api/data/nope/nope/" + id, nil},
		{"GET", "/api/data/kit", nil},
		{"GET", "/api/auth/me", nil},
		{"GET", "/api/auth/tokens", nil},
		{"POST", "/api/auth/tokens", map[string]any{"name": "x"}},
		{"DELETE", "/api/auth/tokens/whatever", nil},
		{"POST", "/api/auth/logout", nil},
	}
}

// snapshot is the state of the database the auth tests compare against.
type snapshot struct {
	items, accounts int
	item            string
	apps            string
	tokens          string
}

func (e *env) snapshot(id string) snapshot {
	e.t.Helper()
	_, apps := e.do("GET", "/api/meta/apps", nil)
	_, toks := e.do("GET", "/api/auth/tokens", nil)
	return snapshot{items: e.count("item"), accounts: e.count("account"), item: mustJSON(e.get("item", id)),
		apps: mustJSON(apps), tokens: mustJSON(toks)}
}

func TestAuthRequired(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		id := str(e.create("item", map[string]any{"title": "keep me"})["id"])

		// A revoked API token.
		st, body := e.do("POST", "/api/auth/tokens", map[string]any{"name": "ci"})
		if st != 201 {
			t.Fatalf("create token: %d %v", st, body)
		}
		revoked := str(body["token"])
		tokID := str(body["info"].(map[string]any)["id"])
		if st, _ := e.doAs(revoked, "GET", "/api/auth/me", nil); st != 200 {
			t.Fatalf("fresh API token: %d", st)
		}
		if st, body := e.do("DELETE", "/api/auth/tokens/"+tokID, nil); st != 204 {
			t.Fatalf("revoke: %d %v", st, body)
		}

		// A logged-out session.
		loggedOut := e.login(adminEmail, adminPassword)
		if st, body := e.doAs(loggedOut, "POST", "/api/auth/logout", nil); st != 204 {
			t.Fatalf("logout: %d %v", st, body)
		}

		// An expired session: a service with a tiny session TTL on the same
		// database issues it.
		short, err := access.New(ctx, e.db, access.Options{BcryptCost: bcrypt.MinCost, SessionTTL: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		expired, _, _, err := short.Login(ctx, adminEmail, adminPassword)
		if err != nil {
			t.Fatal(err)
		}

		before := e.snapshot(id)
		tokens := map[string]string{
			"no token":         "",
			"garbage":          "garbage",
			"well-formed fake": "fa_" + strings.Repeat("A", 43),
			"revoked":          revoked,
			"logged out":       loggedOut,
			"expired":          expired,
		}
		for name, tok := range tokens {
			for _, r := range protectedRoutes(id) {
				st, body := e.doAs(tok, r.method, r.path, r.body)
				wantErr(t, name+" "+r.method+" "+r.path, st, body, 401, "unauthorized")
			}
		}
		// Other broken Authorization headers.
		for _, h := range []string{"Basic " + e.token, "Bearer", "Bearer  ", e.token, "Token " + e.token} {
			req := route{"GET", "/api/data/kit/item", nil}
			st, raw := e.rawHeader(h, req.method, req.path)
			if st != 401 || !strings.Contains(string(raw), `"unauthorized"`) {
				t.Errorf("Authorization %q: %d %s", h, st, raw)
			}
		}
		if after := e.snapshot(id); after != before {
			t.Errorf("unauthorized requests changed the database:\nbefore %+v\nafter  %+v", before, after)
		}
	})
}

func TestLogin(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		for _, in := range []map[string]any{
			{"email": adminEmail, "password": "wrong password"},
			{"email": "nobody@example.com", "password": adminPassword},
		} {
			st, body := e.doAs("", "POST", "/api/auth/login", in)
			if st != 401 {
				t.Errorf("login %v: %d %v", in, st, body)
			} else if c := errCode(t, body); c != "bad_credentials" && c != "unauthorized" {
				t.Errorf("login %v: code %q", in, c)
			}
		}
		st, body := e.doAs("", "POST", "/api/auth/login", `{"email": `)
		wantErr(t, "login bad json", st, body, 400, "invalid_json")
		st, body = e.doAs("", "POST", "/api/auth/login", map[string]any{"email": adminEmail})
		wantErr(t, "login no password", st, body, 422, "validation_failed")
		// Email is case-insensitive; the token works.
		tok := e.login(strings.ToUpper(adminEmail), adminPassword)
		st, body = e.doAs(tok, "GET", "/api/auth/me", nil)
		if st != 200 || body["email"] != adminEmail || body["admin"] != true {
			t.Errorf("me: %d %v", st, body)
		}
	})
}

func TestNonAdminCannotApply(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Name: "Rep", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		tok := e.login("rep@example.com", "rep password 1")
		_, before := e.do("GET", "/api/meta/apps/kit", nil)
		for _, path := range []string{"/api/meta/apps", "/api/meta/apps?dryRun=1", "/api/meta/apps?allowDestructive=1"} {
			st, body := e.doAs(tok, "POST", path, kitApp)
			wantErr(t, "non-admin "+path, st, body, 403, "forbidden")
			st, body = e.doAs(tok, "POST", path, `{"name": "other", "entities": []}`)
			wantErr(t, "non-admin new app "+path, st, body, 403, "forbidden")
		}
		_, after := e.do("GET", "/api/meta/apps/kit", nil)
		if mustJSON(before) != mustJSON(after) {
			t.Error("a refused apply changed the app")
		}
		st, apps := e.do("GET", "/api/meta/apps", nil)
		if st != 200 || len(apps["items"].([]any)) != 1 {
			t.Errorf("apps after refused applies: %d %v", st, apps)
		}
		// A user cannot see or revoke another user's token.
		st, tb := e.do("POST", "/api/auth/tokens", map[string]any{"name": "admin's"})
		if st != 201 {
			t.Fatalf("admin token: %d %v", st, tb)
		}
		adminTok, adminTokID := str(tb["token"]), str(tb["info"].(map[string]any)["id"])
		st, body := e.doAs(tok, "DELETE", "/api/auth/tokens/"+adminTokID, nil)
		wantErr(t, "revoke another's token", st, body, 404, "not_found")
		if st, body := e.doAs(tok, "GET", "/api/auth/tokens", nil); st != 200 || len(body["items"].([]any)) != 0 {
			t.Errorf("rep's token list: %d %v", st, body)
		}
		if st, body := e.doAs(adminTok, "GET", "/api/auth/me", nil); st != 200 || body["email"] != adminEmail {
			t.Errorf("admin token after another user's revoke attempt: %d %v", st, body)
		}
		// A non-admin may still read metadata and, with a role, use the data API.
		if st, body := e.doAs(tok, "GET", "/api/meta/apps/kit", nil); st != 200 {
			t.Errorf("non-admin read app: %d %v", st, body)
		}
		if st, body := e.doAs(tok, "POST", "/api/data/kit/account", map[string]any{"name": "Acme"}); st != 201 {
			t.Errorf("non-admin create: %d %v", st, body)
		}
	})
}

func TestAPITokenLifecycle(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		st, body := e.do("POST", "/api/auth/tokens", map[string]any{"name": "integration", "expiresInDays": 30})
		if st != 201 {
			t.Fatalf("create token: %d %v", st, body)
		}
		tok := str(body["token"])
		info := body["info"].(map[string]any)
		if !strings.HasPrefix(tok, "fa_") || info["kind"] != "api" || info["revoked"] != false {
			t.Fatalf("token answer: %v", body)
		}
		st, body = e.doAs(tok, "POST", "/api/data/kit/account", map[string]any{"name": "Via token"})
		if st != 201 {
			t.Fatalf("use token: %d %v", st, body)
		}
		st, list := e.do("GET", "/api/auth/tokens", nil)
		if st != 200 || len(list["items"].([]any)) != 1 || strings.Contains(mustJSON(list), tok) {
			t.Errorf("token list: %d %v", st, list)
		}
		// A token may revoke itself, and is refused at once.
		if st, body := e.doAs(tok, "DELETE", "/api/auth/tokens/"+str(info["id"]), nil); st != 204 {
			t.Fatalf("revoke: %d %v", st, body)
		}
		n := e.count("account")
		st, body = e.doAs(tok, "POST", "/api/data/kit/account", map[string]any{"name": "After revoke"})
		wantErr(t, "revoked token", st, body, 401, "unauthorized")
		st, body = e.doAs(tok, "GET", "/api/data/kit/account", nil)
		wantErr(t, "revoked token list", st, body, 401, "unauthorized")
		if e.count("account") != n {
			t.Error("a revoked token created a record")
		}
		// Revoking an unknown token is a 404; bad input a 422.
		st, body = e.do("DELETE", "/api/auth/tokens/01hzzzzzzzzzzzzzzzzzzzzzzz", nil)
		wantErr(t, "revoke unknown", st, body, 404, "not_found")
		st, body = e.do("POST", "/api/auth/tokens", map[string]any{"name": ""})
		wantErr(t, "token without name", st, body, 422, "validation_failed")
		st, body = e.do("POST", "/api/auth/tokens", map[string]any{"name": "x", "expiresInDays": -1})
		wantErr(t, "negative expiry", st, body, 422, "validation_failed")
		st, body = e.do("POST", "/api/auth/tokens", map[string]any{"name": "x", "bogus": 1})
		wantErr(t, "unknown key", st, body, 422, "validation_failed")
		st, list = e.do("GET", "/api/auth/tokens", nil)
		if st != 200 || len(list["items"].([]any)) != 1 {
			t.Errorf("bad token requests created tokens: %v", list)
		}
		// The admin's session still works.
		if st, _ := e.do("GET", "/api/auth/me", nil); st != 200 {
			t.Errorf("session after revoking a token: %d", st)
		}
	})
}
