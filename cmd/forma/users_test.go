package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/store/storetest"
)

// eachDB runs fn with the storage flags of a fresh SQLite folder and of a
// fresh PostgreSQL schema.
func eachDB(t *testing.T, fn func(t *testing.T, db []string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, []string{"--data", t.TempDir()}) })
	t.Run("postgres", func(t *testing.T) { fn(t, []string{"--db", storetest.PostgresURL(t)}) })
}

func TestAdminUserCommands(t *testing.T) {
	eachDB(t, func(t *testing.T, db []string) {
		cli := func(stdin string, args ...string) (string, string, int) {
			t.Helper()
			return run(t, stdin, append(args, db...)...)
		}
		if out, stderr, code := cli("", "admin", "team", "create", "--name", "North"); code != 0 || !strings.Contains(out, "created team North") {
			t.Fatalf("team create: %d %q %q", code, out, stderr)
		}
		if out, stderr, code := cli("", "admin", "team", "create", "--name", "East", "--parent", "north"); code != 0 {
			t.Fatalf("team create child: %d %q %q", code, out, stderr)
		}
		out, stderr, code := cli("rep-password\n", "admin", "user", "create", "--email", "Rep@Example.com", "--password-stdin", "--roles", "rep, manager", "--team", "East")
		if code != 0 || !strings.Contains(out, "created user rep@example.com") || strings.Contains(out, "rep-password") {
			t.Fatalf("user create: %d %q %q", code, out, stderr)
		}
		// Bad input: no password source, bad role, unknown team, taken email.
		for _, c := range [][]string{
			{"admin", "user", "create", "--email", "x@example.com"},
			{"admin", "user", "create", "--email", "x@example.com", "--password-stdin", "--roles", "Bad Role"},
			{"admin", "user", "create", "--email", "x@example.com", "--password-stdin", "--team", "Nowhere"},
			{"admin", "user", "create", "--email", "rep@example.com", "--password-stdin"},
			{"admin", "user", "deactivate"},
			{"admin", "user", "deactivate", "--email", "nobody@example.com"},
			{"admin", "user", "reset-password", "--email", "nobody@example.com"},
		} {
			if out, stderr, code := cli("good-password\n", c...); code != 2 {
				t.Errorf("%v: code %d out %q err %q", c, code, out, stderr)
			}
		}
		// Invite prints a reset token.
		out, stderr, code = cli("", "admin", "user", "create", "--email", "new@example.com", "--invite", "--roles", "executive")
		if code != 0 || !regexp.MustCompile(`fr_[A-Za-z0-9_-]{43}`).MatchString(out) {
			t.Fatalf("invite: %d %q %q", code, out, stderr)
		}

		out, stderr, code = cli("", "admin", "user", "list", "--json")
		if code != 0 {
			t.Fatalf("list: %d %q", code, stderr)
		}
		var users []struct {
			Email  string
			Roles  []string
			TeamID string
			Active bool
		}
		if err := json.Unmarshal([]byte(out), &users); err != nil || len(users) != 2 {
			t.Fatalf("list JSON: %v %q", err, out)
		}
		if users[1].Email != "rep@example.com" || strings.Join(users[1].Roles, ",") != "rep,manager" || users[1].TeamID == "" || !users[1].Active {
			t.Fatalf("listed rep: %+v", users[1])
		}
		if out, _, code = cli("", "admin", "user", "list"); code != 0 || !strings.Contains(out, "rep,manager") || !strings.Contains(out, "East") {
			t.Fatalf("list table: %d %q", code, out)
		}

		// reset-password prints a token that sets a new password.
		out, stderr, code = cli("", "admin", "user", "reset-password", "--email", "REP@example.com")
		tok := strings.TrimSpace(out)
		if code != 0 || !strings.HasPrefix(tok, "fr_") {
			t.Fatalf("reset-password: %d %q %q", code, out, stderr)
		}
		eng := openFor(t, db)
		ctx := context.Background()
		if _, err := eng.Access.CompletePasswordReset(ctx, tok, "fresh-password"); err != nil {
			t.Fatal(err)
		}
		sess, _, _, err := eng.Access.Login(ctx, "rep@example.com", "fresh-password")
		if err != nil {
			t.Fatal(err)
		}

		// deactivate ends the session.
		if out, stderr, code = cli("", "admin", "user", "deactivate", "--email", "rep@example.com"); code != 0 || !strings.Contains(out, "deactivated rep@example.com") {
			t.Fatalf("deactivate: %d %q %q", code, out, stderr)
		}
		if _, err := eng.Access.Authenticate(ctx, sess); err == nil {
			t.Fatal("a deactivated user's session still works")
		}
	})
}

func openFor(t *testing.T, args []string) *engine.Engine {
	t.Helper()
	var f dbFlags
	if args[0] == "--data" {
		f.data = args[1]
	} else {
		f.db = args[1]
	}
	eng, err := f.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

func TestAdminTeamManagerCommands(t *testing.T) {
	eachDB(t, func(t *testing.T, db []string) {
		cli := func(stdin string, args ...string) (string, string, int) {
			t.Helper()
			return run(t, stdin, append(args, db...)...)
		}
		for _, email := range []string{"boss@example.com", "lead@example.com", "gone@example.com"} {
			if _, stderr, code := cli("a-password\n", "admin", "user", "create", "--email", email, "--password-stdin", "--roles", "manager"); code != 0 {
				t.Fatalf("user %s: %s", email, stderr)
			}
		}
		if _, stderr, code := cli("", "admin", "user", "deactivate", "--email", "gone@example.com"); code != 0 {
			t.Fatalf("deactivate: %s", stderr)
		}
		if out, stderr, code := cli("", "admin", "team", "create", "--name", "North", "--manager", "Boss@Example.com"); code != 0 || !strings.Contains(out, "created team North") {
			t.Fatalf("team create with manager: %d %q %q", code, out, stderr)
		}
		if _, stderr, code := cli("", "admin", "team", "create", "--name", "East", "--parent", "North"); code != 0 {
			t.Fatalf("team create: %s", stderr)
		}
		if out, stderr, code := cli("", "admin", "team", "set-manager", "--name", "east", "--manager", "lead@example.com"); code != 0 || !strings.Contains(out, "managed by lead@example.com") {
			t.Fatalf("set-manager: %d %q %q", code, out, stderr)
		}
		out, _, _ := cli("", "admin", "team", "list")
		if !regexp.MustCompile(`(?m)^East\s+North\s+lead@example\.com\s`).MatchString(out) || !regexp.MustCompile(`(?m)^North\s+boss@example\.com\s`).MatchString(out) {
			t.Fatalf("list:\n%s", out)
		}
		if out, stderr, code := cli("", "admin", "team", "set-manager", "--name", "East", "--none"); code != 0 || !strings.Contains(out, "no manager") {
			t.Fatalf("clear: %d %q %q", code, out, stderr)
		}
		// Bad input: exit 2, nothing changed.
		for _, c := range [][]string{
			{"admin", "team", "set-manager", "--name", "North"},
			{"admin", "team", "set-manager", "--name", "North", "--manager", "lead@example.com", "--none"},
			{"admin", "team", "set-manager", "--manager", "lead@example.com"},
			{"admin", "team", "set-manager", "--name", "Nowhere", "--manager", "lead@example.com"},
			{"admin", "team", "set-manager", "--name", "North", "--manager", "nobody@example.com"},
			{"admin", "team", "set-manager", "--name", "North", "--manager", "gone@example.com"},
			{"admin", "team", "create", "--name", "West", "--manager", "gone@example.com"},
		} {
			if out, stderr, code := cli("", c...); code != 2 {
				t.Errorf("%v: code %d out %q err %q", c, code, out, stderr)
			}
		}
		out, _, _ = cli("", "admin", "team", "list")
		if !regexp.MustCompile(`(?m)^North\s+boss@example\.com\s`).MatchString(out) || strings.Contains(out, "West") {
			t.Fatalf("a refused command changed something:\n%s", out)
		}
	})
}
