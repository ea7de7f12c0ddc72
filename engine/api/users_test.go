package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// eachBare runs fn on both dialects with a fresh env holding no app.
func eachBare(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fn(t, newEnv(t, db, ""))
	})
}

// userCount is the number of accounts.
func (e *env) userCount() int64 {
	e.t.Helper()
	n, err := e.acc.UserCount(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestAdminUsersAndTeams(t *testing.T) {
	eachBare(t, func(t *testing.T, e *env) {
		st, body := e.do("POST", "/api/admin/teams", map[string]any{"name": "North"})
		if st != 201 || body["name"] != "North" {
			t.Fatalf("create team: %d %v", st, body)
		}
		north := str(body["id"])
		st, body = e.do("POST", "/api/admin/teams", map[string]any{"name": "East", "parentId": north})
		if st != 201 || body["parentId"] != north {
			t.Fatalf("create child team: %d %v", st, body)
		}
		east := str(body["id"])

		// Create with a password.
		st, body = e.do("POST", "/api/admin/users", map[string]any{
			"email": "Rep@Example.com", "password": "rep password", "name": "Rep", "roles": []string{"rep"}, "teamId": east})
		if st != 201 {
			t.Fatalf("create user: %d %v", st, body)
		}
		if _, ok := body["resetToken"]; ok {
			t.Error("a created user's answer holds a reset token")
		}
		u := body["user"].(map[string]any)
		repID := str(u["id"])
		if u["email"] != "rep@example.com" || u["teamId"] != east || mustJSON(u["roles"]) != `["rep"]` || u["admin"] != false {
			t.Fatalf("created user: %v", u)
		}
		repTok := e.login("rep@example.com", "rep password")

		// Non-admins are refused everywhere under /api/admin.
		for _, r := range []struct {
			method, path string
			body         any
		}{
			{"GET", "/api/admin/users", nil},
			{"POST", "/api/admin/users", map[string]any{"email": "x@example.com", "password": "whatever1"}},
			{"GET", "/api/admin/users/" + repID, nil},
			{"PATCH", "/api/admin/users/" + repID, map[string]any{"roles": []string{"executive"}}},
			{"POST", "/api/admin/users/" + repID + "/reset-password", nil},
			{"GET", "/api/admin/teams", nil},
			{"POST", "/api/admin/teams", map[string]any{"name": "Mine"}},
			{"PATCH", "/api/admin/teams/" + east, map[string]any{"name": "Mine"}},
			{"DELETE", "/api/admin/teams/" + east, nil},
		} {
			st, body := e.doAs(repTok, r.method, r.path, r.body)
			wantErr(t, "non-admin "+r.method+" "+r.path, st, body, 403, "forbidden")
			st, body = e.doAs("", r.method, r.path, r.body)
			wantErr(t, "anonymous "+r.method+" "+r.path, st, body, 401, "unauthorized")
		}
		if e.userCount() != 2 {
			t.Fatal("a refused request created a user")
		}

		// Invite: no password → a reset token, once.
		st, body = e.do("POST", "/api/admin/users", map[string]any{"email": "mgr@example.com", "name": "Manager", "roles": []string{"manager"}, "teamId": north})
		if st != 201 || str(body["resetToken"]) == "" {
			t.Fatalf("invite: %d %v", st, body)
		}
		reset := str(body["resetToken"])
		mgrID := str(body["user"].(map[string]any)["id"])
		st, body = e.doAs("", "POST", "/api/auth/reset-password", map[string]any{"token": reset, "password": "short"})
		wantErr(t, "reset with short password", st, body, 422, "validation_failed")
		st, body = e.doAs("", "POST", "/api/auth/reset-password", map[string]any{"token": reset, "password": "manager password"})
		if st != 200 {
			t.Fatalf("complete reset: %d %v", st, body)
		}
		st, body = e.doAs("", "POST", "/api/auth/reset-password", map[string]any{"token": reset, "password": "manager password"})
		wantErr(t, "reset token reused", st, body, 401, "unauthorized")
		mgrTok := e.login("mgr@example.com", "manager password")

		// List and get.
		st, body = e.do("GET", "/api/admin/users", nil)
		if st != 200 || len(items(t, body)) != 3 {
			t.Fatalf("list users: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/admin/users/"+mgrID, nil)
		if st != 200 || body["teamId"] != north {
			t.Fatalf("get user: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/admin/users/01nosuchuser0000000000000", nil)
		wantErr(t, "get unknown user", st, body, 404, "not_found")

		// Patch: roles and team; deactivation ends the manager's session.
		st, body = e.do("PATCH", "/api/admin/users/"+repID, map[string]any{"roles": []string{"rep", "manager"}, "teamId": ""})
		if st != 200 || mustJSON(body["roles"]) != `["rep","manager"]` || body["teamId"] != nil {
			t.Fatalf("patch user: %d %v", st, body)
		}
		st, body = e.doAs(repTok, "GET", "/api/auth/me", nil)
		if st != 200 || mustJSON(body["roles"]) != `["rep","manager"]` {
			t.Fatalf("me after patch: %d %v", st, body)
		}
		st, body = e.do("PATCH", "/api/admin/users/"+mgrID, map[string]any{"active": false})
		if st != 200 || body["active"] != false {
			t.Fatalf("deactivate: %d %v", st, body)
		}
		st, body = e.doAs(mgrTok, "GET", "/api/auth/me", nil)
		wantErr(t, "deactivated user's token", st, body, 401, "unauthorized")
		st, body = e.do("PATCH", "/api/admin/users/"+e.admin.ID, map[string]any{"active": false})
		wantErr(t, "deactivate self", st, body, 422, "validation_failed")

		// Admin-issued reset.
		st, body = e.do("POST", "/api/admin/users/"+repID+"/reset-password", nil)
		if st != 200 || str(body["resetToken"]) == "" {
			t.Fatalf("reset-password: %d %v", st, body)
		}
		st, body = e.do("POST", "/api/admin/users/01nosuchuser0000000000000/reset-password", nil)
		wantErr(t, "reset unknown user", st, body, 404, "not_found")

		// Teams: list, rename, cycle refused, delete in use, delete.
		st, body = e.do("GET", "/api/admin/teams", nil)
		if st != 200 || len(items(t, body)) != 2 {
			t.Fatalf("list teams: %d %v", st, body)
		}
		st, body = e.do("PATCH", "/api/admin/teams/"+north, map[string]any{"parentId": east})
		wantErr(t, "team cycle", st, body, 422, "validation_failed")
		wantDetail(t, "team cycle", body, "/parentId")
		st, body = e.do("PATCH", "/api/admin/teams/"+east, map[string]any{"name": "East Coast", "parentId": ""})
		if st != 200 || body["name"] != "East Coast" || body["parentId"] != nil {
			t.Fatalf("patch team: %d %v", st, body)
		}
		st, body = e.do("DELETE", "/api/admin/teams/"+north, nil)
		wantErr(t, "delete team with users", st, body, 409, "in_use")
		st, _ = e.do("DELETE", "/api/admin/teams/"+east, nil)
		if st != 204 {
			t.Fatalf("delete team: %d", st)
		}
		st, body = e.do("DELETE", "/api/admin/teams/"+east, nil)
		wantErr(t, "delete team twice", st, body, 404, "not_found")
	})
}

func TestAdminUsersBadInput(t *testing.T) {
	eachBare(t, func(t *testing.T, e *env) {
		st, body := e.do("POST", "/api/admin/teams", map[string]any{"name": "North"})
		if st != 201 {
			t.Fatalf("create team: %d %v", st, body)
		}
		team := str(body["id"])
		st, body = e.do("POST", "/api/admin/users", map[string]any{"email": "rep@example.com", "password": "rep password", "roles": []string{"rep"}, "teamId": team})
		if st != 201 {
			t.Fatalf("create user: %d %v", st, body)
		}
		repID := str(body["user"].(map[string]any)["id"])
		before := mustJSON(e.usersAndTeams())

		for _, c := range []struct {
			what, method, path string
			body               any
			status             int
			code               string
		}{
			{"malformed", "POST", "/api/admin/users", `{"email": `, 400, "invalid_json"},
			{"two values", "POST", "/api/admin/users", `{} {}`, 400, "invalid_json"},
			{"unknown field", "POST", "/api/admin/users", map[string]any{"email": "a@example.com", "password": "good password", "role": "rep"}, 422, "validation_failed"},
			{"wrong type roles", "POST", "/api/admin/users", map[string]any{"email": "a@example.com", "password": "good password", "roles": "rep"}, 422, "validation_failed"},
			{"wrong type admin", "POST", "/api/admin/users", map[string]any{"email": "a@example.com", "password": "good password", "admin": "yes"}, 422, "validation_failed"},
			{"bad email", "POST", "/api/admin/users", map[string]any{"email": "Ann <a@example.com>", "password": "good password"}, 422, "validation_failed"},
			{"bad email invite", "POST", "/api/admin/users", map[string]any{"email": "nope"}, 422, "validation_failed"},
			{"empty password", "POST", "/api/admin/users", map[string]any{"email": "a@example.com", "password": ""}, 422, "validation_failed"},
			{"unknown team", "POST", "/api/admin/users", map[string]any{"email": "a@example.com", "password": "good password", "teamId": "01nosuchteam0000000000000"}, 422, "validation_failed"},
			{"bad role", "POST", "/api/admin/users", map[string]any{"email": "a@example.com", "password": "good password", "roles": []string{"Sales Manager"}}, 422, "validation_failed"},
			{"bad role invite", "POST", "/api/admin/users", map[string]any{"email": "a@example.com", "roles": []string{"1rep"}}, 422, "validation_failed"},
			{"duplicate email", "POST", "/api/admin/users", map[string]any{"email": "REP@example.com", "password": "good password"}, 409, "exists"},
			{"patch malformed", "PATCH", "/api/admin/users/" + repID, `{"roles": [`, 400, "invalid_json"},
			{"patch unknown field", "PATCH", "/api/admin/users/" + repID, map[string]any{"admin": true}, 422, "validation_failed"},
			{"patch wrong type", "PATCH", "/api/admin/users/" + repID, map[string]any{"active": "no"}, 422, "validation_failed"},
			{"patch bad role", "PATCH", "/api/admin/users/" + repID, map[string]any{"roles": []string{"rep", "x-y"}, "name": "Changed"}, 422, "validation_failed"},
			{"patch unknown team", "PATCH", "/api/admin/users/" + repID, map[string]any{"teamId": "nosuchteam", "name": "Changed"}, 422, "validation_failed"},
			{"patch unknown user", "PATCH", "/api/admin/users/01nosuchuser0000000000000", map[string]any{"name": "X"}, 404, "not_found"},
			{"team malformed", "POST", "/api/admin/teams", `{"name"`, 400, "invalid_json"},
			{"team unknown field", "POST", "/api/admin/teams", map[string]any{"name": "South", "lead": "x"}, 422, "validation_failed"},
			{"team wrong type", "POST", "/api/admin/teams", map[string]any{"name": 7}, 422, "validation_failed"},
			{"team no name", "POST", "/api/admin/teams", map[string]any{"name": " "}, 422, "validation_failed"},
			{"team duplicate", "POST", "/api/admin/teams", map[string]any{"name": "NORTH"}, 422, "validation_failed"},
			{"team unknown parent", "POST", "/api/admin/teams", map[string]any{"name": "South", "parentId": "nosuchteam"}, 422, "validation_failed"},
			{"team own parent", "PATCH", "/api/admin/teams/" + team, map[string]any{"parentId": team}, 422, "validation_failed"},
			{"team patch unknown", "PATCH", "/api/admin/teams/nosuchteam", map[string]any{"name": "X"}, 404, "not_found"},
			{"reset malformed", "POST", "/api/auth/reset-password", `nope`, 400, "invalid_json"},
			{"reset unknown field", "POST", "/api/auth/reset-password", map[string]any{"token": "x", "password": "good password", "email": "a@example.com"}, 422, "validation_failed"},
			{"reset bad token", "POST", "/api/auth/reset-password", map[string]any{"token": "fr_nope", "password": "good password"}, 401, "unauthorized"},
		} {
			st, body := e.do(c.method, c.path, c.body)
			wantErr(t, c.what, st, body, c.status, c.code)
		}
		if after := mustJSON(e.usersAndTeams()); after != before {
			t.Errorf("bad input changed users or teams:\nbefore %s\nafter  %s", before, after)
		}
		if e.userCount() != 2 {
			t.Errorf("bad input created users: %d", e.userCount())
		}
	})
}

func (e *env) usersAndTeams() []any {
	e.t.Helper()
	ctx := context.Background()
	us, err := e.acc.Users(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	ts, err := e.acc.Teams(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return []any{us, ts}
}

func TestLoginThrottled(t *testing.T) {
	eachBare(t, func(t *testing.T, e *env) {
		for i := range 5 {
			st, body := e.doAs("", "POST", "/api/auth/login", map[string]any{"email": adminEmail, "password": "wrong password"})
			wantErr(t, "bad login "+strconv.Itoa(i), st, body, 401, "bad_credentials")
		}
		// The right password is refused now, with Retry-After.
		req := map[string]any{"email": adminEmail, "password": adminPassword}
		resp := e.response("POST", "/api/auth/login", req)
		if resp.status != 429 || resp.code != "too_many_attempts" {
			t.Fatalf("6th login: %d %s", resp.status, resp.code)
		}
		if n, err := strconv.Atoi(resp.retryAfter); err != nil || n < 14*60 || n > 15*60 {
			t.Fatalf("Retry-After = %q", resp.retryAfter)
		}
		// Other accounts still log in.
		if _, err := e.acc.CreateUser(context.Background(), "other@example.com", "other password", "", false); err != nil {
			t.Fatal(err)
		}
		e.login("other@example.com", "other password")
		// The admin's existing session still works: throttling guards logins only.
		if st, _ := e.do("GET", "/api/auth/me", nil); st != 200 {
			t.Fatalf("me: %d", st)
		}
	})
}

type answer struct {
	status     int
	code       string
	retryAfter string
}

// response sends an anonymous JSON request and returns its status, error
// code and Retry-After header.
func (e *env) response(method, path string, body any) answer {
	e.t.Helper()
	req := httptest.NewRequest(method, "http://forma.test"+path, strings.NewReader(mustJSON(body)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Error struct{ Code string } `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	return answer{resp.StatusCode, out.Error.Code, resp.Header.Get("Retry-After")}
}
