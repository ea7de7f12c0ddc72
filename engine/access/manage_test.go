package access

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

func mustTeam(t *testing.T, s *Service, name, parent string) *Team {
	t.Helper()
	tm, err := s.CreateTeam(context.Background(), name, parent)
	if err != nil {
		t.Fatalf("CreateTeam %s: %v", name, err)
	}
	return tm
}

func TestTeams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		north := mustTeam(t, s, "North", "")
		east := mustTeam(t, s, "East", north.ID)
		squad := mustTeam(t, s, "Squad 1", east.ID)
		south := mustTeam(t, s, "South", "")
		if east.ParentID != north.ID || north.ParentID != "" || len(north.ID) != 26 {
			t.Fatalf("teams %+v %+v", north, east)
		}

		under, err := s.TeamsUnder(ctx, north.ID)
		if err != nil || !reflect.DeepEqual(under, []string{north.ID, east.ID, squad.ID}) {
			t.Fatalf("TeamsUnder(north) = %v, %v", under, err)
		}
		if under, _ := s.TeamsUnder(ctx, squad.ID); !reflect.DeepEqual(under, []string{squad.ID}) {
			t.Fatalf("TeamsUnder(squad) = %v", under)
		}
		if _, err := s.TeamsUnder(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("TeamsUnder(unknown) = %v", err)
		}

		// Bad input.
		if _, err := s.CreateTeam(ctx, "north", ""); err == nil {
			t.Fatal("duplicate name (other case) accepted")
		} else {
			wantInputError(t, err, "name")
		}
		_, err = s.CreateTeam(ctx, "  ", "")
		wantInputError(t, err, "name")
		_, err = s.CreateTeam(ctx, "West", "01nosuchteam0000000000000")
		wantInputError(t, err, "parentId")

		// Cycles: a team cannot move under itself or a team below it.
		for _, p := range []string{north.ID, east.ID, squad.ID} {
			_, err := s.UpdateTeam(ctx, north.ID, TeamUpdate{ParentID: &p})
			wantInputError(t, err, "parentId")
		}
		if got, _ := s.Team(ctx, north.ID); got.ParentID != "" {
			t.Fatalf("refused move changed the parent: %+v", got)
		}

		// Move and rename.
		name := "Squad One"
		moved, err := s.UpdateTeam(ctx, squad.ID, TeamUpdate{Name: &name, ParentID: &south.ID})
		if err != nil || moved.Name != name || moved.ParentID != south.ID {
			t.Fatalf("move = %+v, %v", moved, err)
		}
		if under, _ := s.TeamsUnder(ctx, north.ID); !reflect.DeepEqual(under, []string{north.ID, east.ID}) {
			t.Fatalf("after move TeamsUnder(north) = %v", under)
		}
		top := ""
		if got, err := s.UpdateTeam(ctx, squad.ID, TeamUpdate{ParentID: &top}); err != nil || got.ParentID != "" {
			t.Fatalf("to top level = %+v, %v", got, err)
		}
		taken := "east"
		_, err = s.UpdateTeam(ctx, squad.ID, TeamUpdate{Name: &taken})
		wantInputError(t, err, "name")
		if _, err := s.UpdateTeam(ctx, "nope", TeamUpdate{Name: &name}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update unknown: %v", err)
		}
		if got, _ := s.TeamByName(ctx, "SQUAD one"); got == nil || got.ID != squad.ID {
			t.Fatalf("TeamByName = %+v", got)
		}

		// TeamsUnder survives a cycle written behind its back.
		if err := db.Gorm.Exec("UPDATE _forma_teams SET parent_id = ? WHERE id = ?", east.ID, north.ID).Error; err != nil {
			t.Fatal(err)
		}
		if under, err := s.TeamsUnder(ctx, north.ID); err != nil || len(under) != 2 {
			t.Fatalf("TeamsUnder over a cycle = %v, %v", under, err)
		}
		db.Gorm.Exec("UPDATE _forma_teams SET parent_id = NULL WHERE id = ?", north.ID)

		// Delete: refused with children or users.
		if err := s.DeleteTeam(ctx, north.ID); !errors.Is(err, ErrInUse) {
			t.Fatalf("delete team with child: %v", err)
		}
		u, err := s.CreateUserWith(ctx, NewUser{Email: "rep@example.com", Password: pw, Roles: []string{"rep"}, TeamID: east.ID})
		if err != nil || u.TeamID != east.ID {
			t.Fatalf("CreateUserWith = %+v, %v", u, err)
		}
		if err := s.DeleteTeam(ctx, east.ID); !errors.Is(err, ErrInUse) {
			t.Fatalf("delete team with user: %v", err)
		}
		if err := s.DeleteTeam(ctx, squad.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteTeam(ctx, squad.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("delete twice: %v", err)
		}
		teams, err := s.Teams(ctx)
		if err != nil || len(teams) != 3 || teams[0].Name != "East" {
			t.Fatalf("Teams = %+v, %v", teams, err)
		}
	})
}

func TestUserRolesAndUpdate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		team := mustTeam(t, s, "North", "")

		// Bad input creates nothing.
		for _, c := range []struct {
			in    NewUser
			field string
		}{
			{NewUser{Email: "a@example.com", Password: pw, Roles: []string{"Manager"}}, "roles"},
			{NewUser{Email: "a@example.com", Password: pw, Roles: []string{"rep", ""}}, "roles"},
			{NewUser{Email: "a@example.com", Password: pw, TeamID: "nosuchteam"}, "teamId"},
			{NewUser{Email: "not an email", Password: pw}, "email"},
			{NewUser{Email: "a@example.com", Password: "short"}, "password"},
		} {
			_, err := s.CreateUserWith(ctx, c.in)
			wantInputError(t, err, c.field)
		}
		if n, _ := s.UserCount(ctx); n != 0 {
			t.Fatalf("bad input created %d users", n)
		}

		u, err := s.CreateUserWith(ctx, NewUser{Email: "Rep@Example.com", Password: pw, Name: "Rep", Roles: []string{"rep", "manager", "rep"}, TeamID: team.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(u.Roles, []string{"rep", "manager"}) || u.TeamID != team.ID || u.Admin {
			t.Fatalf("user = %+v", u)
		}
		plain := mustUser(t, s, "plain@example.com", false)
		if plain.Roles == nil || len(plain.Roles) != 0 || plain.TeamID != "" {
			t.Fatalf("plain user = %+v", plain)
		}
		tok := mustLogin(t, s, "rep@example.com")
		if got, err := s.Authenticate(ctx, tok); err != nil || !reflect.DeepEqual(got, u) {
			t.Fatalf("Authenticate = %+v, %v; want %+v", got, err, u)
		}

		// Roles and team changes show on the next request (cache dropped).
		roles := []string{"executive"}
		none := ""
		name := "  Rep Two "
		up, err := s.UpdateUser(ctx, u.ID, UserUpdate{Roles: &roles, TeamID: &none, Name: &name})
		if err != nil || !reflect.DeepEqual(up.Roles, roles) || up.TeamID != "" || up.Name != "Rep Two" {
			t.Fatalf("UpdateUser = %+v, %v", up, err)
		}
		if got, _ := s.Authenticate(ctx, tok); !reflect.DeepEqual(got.Roles, roles) || got.TeamID != "" {
			t.Fatalf("Authenticate after update = %+v", got)
		}
		// Bad updates change nothing.
		bad := []string{"no way"}
		_, err = s.UpdateUser(ctx, u.ID, UserUpdate{Roles: &bad, Name: &name})
		wantInputError(t, err, "roles")
		unknown := "nosuchteam"
		_, err = s.UpdateUser(ctx, u.ID, UserUpdate{TeamID: &unknown, Roles: &roles})
		wantInputError(t, err, "teamId")
		if _, err := s.UpdateUser(ctx, "nosuchuser", UserUpdate{Name: &name}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("update unknown user: %v", err)
		}
		if got, _ := s.UserByID(ctx, u.ID); !reflect.DeepEqual(got, up) {
			t.Fatalf("after refused updates %+v, want %+v", got, up)
		}

		// Deactivation ends every token at once.
		api, _, err := s.CreateAPIToken(ctx, u.ID, "script", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, api); err != nil {
			t.Fatal(err)
		}
		off := false
		if got, err := s.UpdateUser(ctx, u.ID, UserUpdate{Active: &off}); err != nil || got.Active {
			t.Fatalf("deactivate = %+v, %v", got, err)
		}
		for _, tk := range []string{tok, api} {
			if _, err := s.Authenticate(ctx, tk); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("token of deactivated user: %v", err)
			}
		}
		if _, _, _, err := s.Login(ctx, "rep@example.com", pw); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("deactivated login: %v", err)
		}

		users, err := s.Users(ctx)
		if err != nil || len(users) != 2 || users[0].Email != "plain@example.com" {
			t.Fatalf("Users = %+v, %v", users, err)
		}
		if got, err := s.UserByEmail(ctx, "REP@example.com"); err != nil || got.ID != u.ID {
			t.Fatalf("UserByEmail = %+v, %v", got, err)
		}
	})
}

func TestInviteAndReset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		u, reset, err := s.Invite(ctx, "new@example.com", "New", []string{"rep"}, "")
		if err != nil || !u.Active || !strings.HasPrefix(reset, "fr_") {
			t.Fatalf("Invite = %+v, %q, %v", u, reset, err)
		}
		if _, _, err := s.Invite(ctx, "NEW@example.com", "", nil, ""); !errors.Is(err, ErrExists) {
			t.Fatalf("invite twice: %v", err)
		}
		// The reset token is no bearer token.
		if _, err := s.Authenticate(ctx, reset); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("reset token authenticates: %v", err)
		}
		// A bad password leaves the token usable.
		_, err = s.CompletePasswordReset(ctx, reset, "short")
		wantInputError(t, err, "password")
		if got, err := s.CompletePasswordReset(ctx, reset, "brand new pass"); err != nil || got.ID != u.ID {
			t.Fatalf("CompletePasswordReset = %+v, %v", got, err)
		}
		// Single use.
		if _, err := s.CompletePasswordReset(ctx, reset, "another pass"); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("reset token used twice: %v", err)
		}
		for _, bad := range []string{"", "fr_x", strings.Replace(reset, "fr_", "fs_", 1)} {
			if _, err := s.CompletePasswordReset(ctx, bad, "another pass"); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("reset with %q: %v", bad, err)
			}
		}
		sess, _, _, err := s.Login(ctx, "new@example.com", "brand new pass")
		if err != nil {
			t.Fatal(err)
		}
		api, _, err := s.CreateAPIToken(ctx, u.ID, "script", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, sess); err != nil {
			t.Fatal(err)
		}

		// An admin reset: the old password works until the token is used;
		// then the sessions end (API tokens stay), and the new password works.
		r1, err := s.ResetPassword(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := s.ResetPassword(ctx, u.ID) // replaces r1
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CompletePasswordReset(ctx, r1, "third password"); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("replaced reset token: %v", err)
		}
		if _, err := s.CompletePasswordReset(ctx, r2, "third password"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, sess); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("session after reset: %v", err)
		}
		if _, err := s.Authenticate(ctx, api); err != nil {
			t.Fatalf("API token after reset: %v", err)
		}
		if _, _, _, err := s.Login(ctx, "new@example.com", "brand new pass"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("old password after reset: %v", err)
		}
		if _, _, _, err := s.Login(ctx, "new@example.com", "third password"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ResetPassword(ctx, "nosuchuser"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("reset unknown user: %v", err)
		}

		// Expiry.
		r3, err := s.ResetPassword(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Model(&tokenRow{}).Where("hash = ?", hashToken(r3)).Update("expires_at", db.Now().Add(-time.Second)).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.CompletePasswordReset(ctx, r3, "fourth password"); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("expired reset token: %v", err)
		}
		var n int64
		db.Gorm.Model(&tokenRow{}).Where("hash = ?", r3).Count(&n)
		if n != 0 {
			t.Fatal("a reset token is stored in the clear")
		}
	})
}

func TestLoginThrottling(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		mustUser(t, s, "ann@example.com", false)
		mustUser(t, s, "bob@example.com", false)
		fail := func(email, addr string) error {
			_, _, _, err := s.LoginFrom(ctx, email, "wrong password", addr)
			return err
		}

		// Per account: 4 failures, a success resets, then 5 failures lock.
		for range 4 {
			if err := fail("ann@example.com", ""); !errors.Is(err, ErrBadCredentials) {
				t.Fatal(err)
			}
		}
		mustLogin(t, s, "ann@example.com")
		for range 5 {
			if err := fail("ANN@example.com", "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
				t.Fatal(err)
			}
		}
		_, _, _, err := s.LoginFrom(ctx, "ann@example.com", pw, "10.0.0.2") // right password, refused
		var te *ThrottledError
		if !errors.As(err, &te) || !errors.Is(err, ErrThrottled) || te.RetryAfter <= 14*time.Minute || te.RetryAfter > ThrottleWindow {
			t.Fatalf("6th login = %v", err)
		}
		// Other accounts are unaffected; unknown emails are counted too.
		mustLogin(t, s, "bob@example.com")
		for range 5 {
			fail("ghost@example.com", "")
		}
		if err := fail("ghost@example.com", ""); !errors.Is(err, ErrThrottled) {
			t.Fatalf("unknown email not throttled: %v", err)
		}

		// The window passes.
		if err := db.Gorm.Model(&attemptRow{}).Where(`"key" = ?`, "email:ann@example.com").
			Update("window_start", db.Now().Add(-ThrottleWindow-time.Second)).Error; err != nil {
			t.Fatal(err)
		}
		mustLogin(t, s, "ann@example.com")
		// An expired window restarts at 1.
		db.Gorm.Model(&attemptRow{}).Where(`"key" = ?`, "email:ghost@example.com").
			Update("window_start", db.Now().Add(-ThrottleWindow-time.Second))
		if err := fail("ghost@example.com", ""); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("after window: %v", err)
		}
		var row attemptRow
		db.Gorm.Where(`"key" = ?`, "email:ghost@example.com").Take(&row)
		if row.Failures != 1 {
			t.Fatalf("new window failures = %d", row.Failures)
		}

		// Per address: 20 failures over many accounts lock the address.
		// (10.0.0.1 already has 5 from above.)
		for i := range 15 {
			if err := fail("user"+string(rune('a'+i))+"@example.com", "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		if _, _, _, err := s.LoginFrom(ctx, "bob@example.com", pw, "10.0.0.1"); !errors.Is(err, ErrThrottled) {
			t.Fatalf("address not throttled: %v", err)
		}
		if _, _, _, err := s.LoginFrom(ctx, "bob@example.com", pw, "10.0.0.3"); err != nil {
			t.Fatalf("other address: %v", err)
		}
		db.Gorm.Model(&attemptRow{}).Where(`"key" = ?`, "addr:10.0.0.1").
			Update("window_start", db.Now().Add(-ThrottleWindow-time.Second))
		if _, _, _, err := s.LoginFrom(ctx, "bob@example.com", pw, "10.0.0.1"); err != nil {
			t.Fatalf("address after window: %v", err)
		}
		// Purge drops ended windows only.
		n, err := s.PurgeLoginAttempts(ctx)
		if err != nil || n < 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		var keys []string
		db.Gorm.Model(&attemptRow{}).Pluck("key", &keys)
		slices.Sort(keys)
		if slices.Contains(keys, "addr:10.0.0.1") || !slices.Contains(keys, "email:ghost@example.com") {
			t.Fatalf("after purge: %v", keys)
		}
	})
}

// A database made before roles and teams existed gains the columns on the
// next start, and its users read back with no roles and no team.
func TestUpgradeAddsRolesAndTeam(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		u := mustUser(t, s, "old@example.com", true)
		for _, q := range []string{
			"DROP INDEX idx_forma_users_team",
			"ALTER TABLE _forma_users DROP COLUMN team_id",
			"ALTER TABLE _forma_users DROP COLUMN roles",
			"DROP TABLE _forma_teams",
			"DROP TABLE _forma_login_attempts",
		} {
			if err := db.Gorm.Exec(q).Error; err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		s = newService(t, db)
		got, err := s.UserByID(ctx, u.ID)
		if err != nil || len(got.Roles) != 0 || got.Roles == nil || got.TeamID != "" {
			t.Fatalf("old user = %+v, %v", got, err)
		}
		tok := mustLogin(t, s, "old@example.com")
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		mustTeam(t, s, "North", "")
	})
}

// Parallel attempts cannot slip past the limit: each is counted before its
// password is checked.
func TestLoginThrottlingParallel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db)
		mustUser(t, s, "ann@example.com", false)
		const n = 20
		errs := make(chan error, n)
		for range n {
			go func() {
				_, _, _, err := s.LoginFrom(context.Background(), "ann@example.com", "wrong password", "10.9.9.9")
				errs <- err
			}()
		}
		bad, throttled := 0, 0
		for range n {
			switch err := <-errs; {
			case errors.Is(err, ErrBadCredentials):
				bad++
			case errors.Is(err, ErrThrottled):
				throttled++
			default:
				t.Errorf("unexpected: %v", err)
			}
		}
		if bad != MaxAccountFailures || throttled != n-MaxAccountFailures {
			t.Fatalf("%d wrong-password answers, %d throttled; want %d and %d", bad, throttled, MaxAccountFailures, n-MaxAccountFailures)
		}
	})
}
