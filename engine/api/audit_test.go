package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// auditLog reads the audit log as the admin, failing on anything but 200.
func (e *env) auditLog(query string) ([]map[string]any, string) {
	e.t.Helper()
	st, body := e.do("GET", "/api/admin/audit"+query, nil)
	if st != 200 {
		e.t.Fatalf("audit log%s: %d %v", query, st, body)
	}
	return items(e.t, body), str(body["nextCursor"])
}

// findAudit returns the newest entry with action and target, or nil.
func findAudit(list []map[string]any, action, target string) map[string]any {
	for _, a := range list {
		if a["action"] == action && a["target"] == target {
			return a
		}
	}
	return nil
}

func TestAuditLog(t *testing.T) {
	const wrongPassword = "Not-The-Password-9431"
	each(t, func(t *testing.T, e *env) {
		// newEnv logged the admin in and applied the kit app.
		all, _ := e.auditLog("")
		if a := findAudit(all, "login", adminEmail); a == nil || a["actor"] != e.admin.ID || str(a["ip"]) == "" || str(a["at"]) == "" {
			t.Errorf("login entry: %v (log %v)", a, all)
		}
		a := findAudit(all, "app_apply", "kit")
		if a == nil || a["actor"] != e.admin.ID {
			t.Fatalf("apply entry: %v (log %v)", a, all)
		}
		if got := mustJSON(a["detail"]); got != `{"destructive":false,"fromVersion":0,"toVersion":1}` {
			t.Errorf("apply detail: %s", got)
		}

		// A failed login names the email as typed, lower-cased.
		st, body := e.doAs("", "POST", "/api/auth/login", map[string]any{"email": "Admin@Example.COM", "password": wrongPassword})
		wantErr(t, "wrong password", st, body, 401, "bad_credentials")
		st, _ = e.doAs("", "POST", "/api/auth/login", map[string]any{"email": "nobody@example.com", "password": wrongPassword})
		if st != 401 {
			t.Errorf("unknown email: %d", st)
		}
		failed, _ := e.auditLog("?action=login_failed")
		if len(failed) != 2 {
			t.Fatalf("login_failed entries: %v", failed)
		}
		if failed[0]["target"] != "nobody@example.com" || failed[1]["target"] != adminEmail || failed[0]["actor"] != nil {
			t.Errorf("login_failed entries (newest first): %v", failed)
		}

		// API tokens: create and revoke, by the admin.
		st, body = e.do("POST", "/api/auth/tokens", map[string]any{"name": "ci"})
		if st != 201 {
			t.Fatalf("create token: %d %v", st, body)
		}
		tokID := str(body["info"].(map[string]any)["id"])
		plainToken := str(body["token"])
		if st, body = e.do("DELETE", "/api/auth/tokens/"+tokID, nil); st != 204 {
			t.Fatalf("revoke token: %d %v", st, body)
		}
		all, _ = e.auditLog("")
		if a := findAudit(all, "token_create", tokID); a == nil || a["actor"] != e.admin.ID || a["detail"].(map[string]any)["name"] != "ci" {
			t.Errorf("token_create entry: %v", a)
		}
		if a := findAudit(all, "token_revoke", tokID); a == nil || a["actor"] != e.admin.ID {
			t.Errorf("token_revoke entry: %v", a)
		}
		if all[0]["action"] != "token_revoke" {
			t.Errorf("log not newest first: %v", all[0])
		}

		// A non-admin may not read the log; nobody may without a token.
		if _, err := e.acc.CreateUser(context.Background(), "rep@example.com", "rep password 123", "Rep", false); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 123")
		st, body = e.doAs(rep, "GET", "/api/admin/audit", nil)
		wantErr(t, "non-admin", st, body, 403, "forbidden")
		st, body = e.doAs("", "GET", "/api/admin/audit", nil)
		wantErr(t, "no token", st, body, 401, "unauthorized")
		if st, _ = e.doAs(rep, "POST", "/api/auth/logout", nil); st != 204 {
			t.Fatalf("logout: %d", st)
		}
		all, _ = e.auditLog("?action=logout")
		if len(all) != 1 || all[0]["target"] != "rep@example.com" || str(all[0]["actor"]) == "" {
			t.Errorf("logout entries: %v", all)
		}

		// Paging, and bad parameters.
		full, _ := e.auditLog("?limit=500")
		var paged []map[string]any
		cursor := ""
		for i := 0; ; i++ {
			qs := "?limit=2"
			if cursor != "" {
				qs += "&cursor=" + cursor
			}
			page, next := e.auditLog(qs)
			paged = append(paged, page...)
			if next == "" || i > 50 {
				break
			}
			cursor = next
		}
		if mustJSON(paged) != mustJSON(full) {
			t.Errorf("paged log differs:\n%v\n%v", paged, full)
		}
		for _, qs := range []string{"?limit=0", "?limit=501", "?limit=x", "?cursor=nope"} {
			st, body = e.do("GET", "/api/admin/audit"+qs, nil)
			wantErr(t, qs, st, body, 400, "invalid_query")
		}

		// No secret ever reaches the table.
		rows, err := e.db.SQL.Query(`SELECT id, actor, action, target, detail, ip FROM _forma_audit`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			var id, action, detail string
			var actor, target, ip *string
			if err := rows.Scan(&id, &actor, &action, &target, &detail, &ip); err != nil {
				t.Fatal(err)
			}
			n++
			row := strings.ToLower(strings.Join([]string{id, deref(actor), action, deref(target), detail, deref(ip)}, "|"))
			for _, secret := range []string{adminPassword, wrongPassword, "rep password 123", plainToken, e.token, rep} {
				if strings.Contains(row, strings.ToLower(secret)) {
					t.Errorf("audit row holds a secret: %s", row)
				}
			}
		}
		if n < 8 {
			t.Errorf("only %d audit rows", n)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Administration of accounts and teams is audited with who did it.
func TestAuditUserAdministration(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		st, team := e.do("POST", "/api/admin/teams", map[string]any{"name": "east"})
		if st != 201 {
			t.Fatalf("create team: %d %v", st, team)
		}
		st, body := e.do("POST", "/api/admin/users", map[string]any{"email": "Rep@Example.com", "password": "rep password 1", "roles": []string{"rep"}, "teamId": team["id"]})
		if st != 201 {
			t.Fatalf("create user: %d %v", st, body)
		}
		id := body["user"].(map[string]any)["id"].(string)
		if st, body := e.do("PATCH", "/api/admin/users/"+id, map[string]any{"roles": []string{"manager"}, "active": false}); st != 200 {
			t.Fatalf("patch user: %d %v", st, body)
		}
		if st, body := e.do("POST", "/api/admin/users/"+id+"/reset-password", nil); st != 200 {
			t.Fatalf("reset: %d %v", st, body)
		}
		for action, target := range map[string]string{"user_create": "rep@example.com", "user_update": "rep@example.com", "password_reset": id, "team_change": team["id"].(string)} {
			items, _ := e.auditLog("?action=" + action)
			if len(items) != 1 || items[0]["target"] != target || items[0]["actor"] == "" || items[0]["actor"] == nil {
				t.Errorf("%s: %v", action, items)
			}
		}
		items, _ := e.auditLog("?action=password_reset")
		if raw := fmt.Sprint(items); strings.Contains(raw, "fr_") || strings.Contains(raw, "rep password 1") {
			t.Errorf("a secret reached the audit log: %s", raw)
		}
	})
}
