package access

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

const pw = "correct horse battery"

func newService(t *testing.T, db *store.DB) *Service {
	t.Helper()
	s, err := New(context.Background(), db, Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func mustUser(t *testing.T, s *Service, email string, admin bool) *User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), email, pw, "", admin)
	if err != nil {
		t.Fatalf("CreateUser %s: %v", email, err)
	}
	return u
}

func mustLogin(t *testing.T, s *Service, email string) string {
	t.Helper()
	tok, _, _, err := s.Login(context.Background(), email, pw)
	if err != nil {
		t.Fatalf("Login %s: %v", email, err)
	}
	return tok
}

func wantInputError(t *testing.T, err error, field string) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("want *InputError on %s, got %v", field, err)
	}
	if ie.Field != field {
		t.Fatalf("want field %q, got %q (%v)", field, ie.Field, ie)
	}
}

func TestUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		// New is idempotent: a second server start migrates nothing.
		if _, err := New(ctx, db, Options{BcryptCost: bcrypt.MinCost}); err != nil {
			t.Fatalf("second New: %v", err)
		}

		u, err := s.CreateUser(ctx, "  Ann@Example.COM ", pw, " Ann Lee ", false)
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "ann@example.com" || u.Name != "Ann Lee" || u.Admin || !u.Active || len(u.ID) != 26 || u.ID != strings.ToLower(u.ID) {
			t.Fatalf("user = %+v", u)
		}
		if u.CreatedAt.IsZero() || u.CreatedAt.Location() != time.UTC {
			t.Fatalf("createdAt = %v", u.CreatedAt)
		}
		got, err := s.UserByID(ctx, u.ID)
		if err != nil || !reflect.DeepEqual(got, u) {
			t.Fatalf("UserByID = %+v, %v; want %+v", got, err, u)
		}
		if _, err := s.UserByID(ctx, "01hzzzzzzzzzzzzzzzzzzzzzzz"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UserByID unknown: %v", err)
		}
		if _, err := s.CreateUser(ctx, "ANN@example.com", pw, "", false); !errors.Is(err, ErrExists) {
			t.Fatalf("duplicate email: %v", err)
		}

		for _, email := range []string{"", "ann", "ann@", "@example.com", "Ann <ann@example.com>", "<ann@example.com>", "a b@example.com", strings.Repeat("a", 250) + "@example.com"} {
			_, err := s.CreateUser(ctx, email, pw, "", false)
			wantInputError(t, err, "email")
		}
		for _, p := range []string{"", "short", "1234567", "ééééééé", strings.Repeat("x", 73), strings.Repeat("é", 37)} {
			_, err := s.CreateUser(ctx, "pw@example.com", p, "", false)
			wantInputError(t, err, "password")
		}
		if _, err := s.CreateUser(ctx, "long@example.com", strings.Repeat("x", 72), "", false); err != nil {
			t.Fatalf("72-byte password: %v", err)
		}
		if _, err := s.CreateUser(ctx, "eight@example.com", "éééééééé", "", false); err != nil {
			t.Fatalf("8-character password: %v", err)
		}
		_, err = s.CreateUser(ctx, "name@example.com", pw, strings.Repeat("n", 201), false)
		wantInputError(t, err, "name")
		if ie := (&InputError{Field: "email", Message: "is required"}); ie.Error() != "email: is required" {
			t.Fatalf("InputError.Error() = %q", ie.Error())
		}

		if n, err := s.UserCount(ctx); err != nil || n != 3 {
			t.Fatalf("UserCount = %d, %v; want 3", n, err)
		}
	})
}

func TestConcurrentCreateSameEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.CreateUser(context.Background(), "same@example.com", pw, "", false)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrExists):
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d creations succeeded, want 1", ok)
		}
	})
}

func TestLogin(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		ann := mustUser(t, s, "ann@example.com", true)

		before := time.Now()
		tok, exp, u, err := s.Login(ctx, "ANN@example.com ", pw)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok, "fs_") || len(tok) != 46 || u.ID != ann.ID || !u.Admin {
			t.Fatalf("login = %q, %+v", tok, u)
		}
		if d := exp.Sub(before); d < 24*time.Hour-time.Minute || d > 24*time.Hour+time.Minute {
			t.Fatalf("expires in %v, want 24h", d)
		}
		got, err := s.Authenticate(ctx, tok)
		if err != nil || got.ID != ann.ID || got.Email != "ann@example.com" || !got.Admin {
			t.Fatalf("Authenticate = %+v, %v", got, err)
		}

		for _, c := range [][2]string{{"ann@example.com", "wrong password"}, {"nobody@example.com", pw}, {"", ""}, {"ann@example.com", strings.Repeat("x", 100)}} {
			if _, _, _, err := s.Login(ctx, c[0], c[1]); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("Login(%q, %q) = %v, want ErrBadCredentials", c[0], c[1], err)
			}
		}

		// An inactive user can neither log in nor use an existing token.
		if err := s.SetActive(ctx, ann.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.Login(ctx, "ann@example.com", pw); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("inactive login: %v", err)
		}
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("inactive Authenticate: %v", err)
		}
		if u, _ := s.UserByID(ctx, ann.ID); u.Active {
			t.Fatal("UserByID shows inactive user as active")
		}
	})
}

// TestLoginTiming checks that an unknown email costs the same bcrypt work
// as a wrong password, at the default cost where the difference would show.
func TestLoginTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	db := storetest.SQLite(t)
	ctx := context.Background()
	s, err := New(ctx, db, Options{BcryptCost: 10})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, "ann@example.com", pw, "", false); err != nil {
		t.Fatal(err)
	}
	measure := func(email string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			if _, _, _, err := s.Login(ctx, email, "wrong password"); !errors.Is(err, ErrBadCredentials) {
				t.Fatal(err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := measure("ann@example.com"), measure("nobody@example.com")
	if unknown < known/2 {
		t.Fatalf("unknown email answered in %v, wrong password in %v", unknown, known)
	}
}

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		mustUser(t, s, "ann@example.com", false)
		tok := mustLogin(t, s, "ann@example.com")

		// Malformed, unknown, wrong-kind and setup-shaped tokens.
		for _, bad := range []string{"", "garbage", "Bearer " + tok, tok + "x", tok[:len(tok)-1],
			"fa_" + tok[3:], "fx_" + tok[3:], "zz_" + tok[3:], "fs_" + strings.Repeat("A", 43), "fs_" + strings.Repeat("*", 43)} {
			if _, err := s.Authenticate(ctx, bad); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Authenticate(%q) = %v", bad, err)
			}
		}

		// Expired.
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		db.Gorm.Model(&tokenRow{}).Where("hash = ?", hashToken(tok)).Update("expires_at", time.Now().UTC().Add(-time.Second))
		s.bumpEpoch(ctx) // direct edits bypass the API, which would bump the epoch
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("expired: %v", err)
		}

		// A tiny TTL expires on its own.
		short, err := New(ctx, db, Options{SessionTTL: 50 * time.Millisecond, BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatal(err)
		}
		stok, _, _, err := short.Login(ctx, "ann@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
		if _, err := short.Authenticate(ctx, stok); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("short TTL: %v", err)
		}

		// Logout.
		tok2 := mustLogin(t, s, "ann@example.com")
		if err := s.Logout(ctx, tok2); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, tok2); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("after logout: %v", err)
		}
		if err := s.Logout(ctx, tok2); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("second logout: %v", err)
		}
		if err := s.Logout(ctx, "garbage"); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("logout garbage: %v", err)
		}

		// Logging in clears the user's ended sessions and keeps live ones.
		tok3 := mustLogin(t, s, "ann@example.com")
		var sessions int64
		db.Gorm.Model(&tokenRow{}).Where("kind = ?", KindSession).Count(&sessions)
		if sessions != 1 {
			t.Fatalf("%d session rows after login, want 1 (the live one)", sessions)
		}
		mustLogin(t, s, "ann@example.com")
		if _, err := s.Authenticate(ctx, tok3); err != nil {
			t.Fatalf("earlier live session after a new login: %v", err)
		}
	})
}

func TestLastUsed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		mustUser(t, s, "ann@example.com", false)
		tok := mustLogin(t, s, "ann@example.com")
		lastUsed := func() *time.Time {
			var r tokenRow
			if err := db.Gorm.Where("hash = ?", hashToken(tok)).Take(&r).Error; err != nil {
				t.Fatal(err)
			}
			return r.LastUsedAt
		}
		if lastUsed() != nil {
			t.Fatal("last_used_at set before use")
		}
		s.Authenticate(ctx, tok)
		first := lastUsed()
		if first == nil {
			t.Fatal("last_used_at not set on first use")
		}
		time.Sleep(5 * time.Millisecond)
		s.Authenticate(ctx, tok)
		if again := lastUsed(); again == nil || !again.Equal(*first) {
			t.Fatalf("last_used_at rewritten within a minute: %v then %v", first, again)
		}
		old := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Microsecond)
		db.Gorm.Model(&tokenRow{}).Where("hash = ?", hashToken(tok)).Update("last_used_at", old)
		s.bumpEpoch(ctx) // direct edits bypass the API, which would bump the epoch
		s.Authenticate(ctx, tok)
		if again := lastUsed(); again == nil || !again.After(*first) {
			t.Fatalf("last_used_at not refreshed after a minute: %v", again)
		}
	})
}

func TestAPITokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		ann := mustUser(t, s, "ann@example.com", false)
		bob := mustUser(t, s, "bob@example.com", false)

		if toks, err := s.Tokens(ctx, ann.ID); err != nil || toks == nil || len(toks) != 0 {
			t.Fatalf("Tokens before any = %#v, %v", toks, err)
		}
		t1, i1, err := s.CreateAPIToken(ctx, ann.ID, " CI ", 0)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(t1, "fa_") || i1.Name != "CI" || i1.Kind != "api" || i1.ExpiresAt != nil || i1.Revoked || i1.CreatedAt.IsZero() {
			t.Fatalf("token 1 = %q %+v", t1, i1)
		}
		t2, i2, err := s.CreateAPIToken(ctx, ann.ID, "zapier", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if i2.ExpiresAt == nil || i2.ExpiresAt.Sub(i2.CreatedAt) != time.Hour {
			t.Fatalf("token 2 expiry = %+v", i2)
		}
		for _, tok := range []string{t1, t2} {
			if u, err := s.Authenticate(ctx, tok); err != nil || u.ID != ann.ID {
				t.Fatalf("Authenticate api token = %+v, %v", u, err)
			}
		}

		toks, err := s.Tokens(ctx, ann.ID)
		if err != nil || len(toks) != 2 || toks[0].ID != i2.ID || toks[1].ID != i1.ID {
			t.Fatalf("Tokens = %+v, %v", toks, err)
		}
		if toks[0].LastUsedAt == nil {
			t.Fatal("lastUsedAt not shown after use")
		}
		if !toks[1].CreatedAt.Equal(i1.CreatedAt) {
			t.Fatalf("createdAt read back %v, created %v", toks[1].CreatedAt, i1.CreatedAt)
		}
		if toks, _ := s.Tokens(ctx, bob.ID); len(toks) != 0 {
			t.Fatalf("bob sees %d tokens", len(toks))
		}
		// Session tokens are not listed.
		mustLogin(t, s, "ann@example.com")
		if toks, _ := s.Tokens(ctx, ann.ID); len(toks) != 2 {
			t.Fatalf("Tokens lists %d, want 2 api tokens", len(toks))
		}

		// Another user cannot revoke it; nor can an unknown id.
		if err := s.RevokeToken(ctx, bob.ID, i1.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob revokes ann's token: %v", err)
		}
		if _, err := s.Authenticate(ctx, t1); err != nil {
			t.Fatalf("token revoked by another user: %v", err)
		}
		if err := s.RevokeToken(ctx, ann.ID, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoke unknown: %v", err)
		}
		// Revoked is refused at once.
		if err := s.RevokeToken(ctx, ann.ID, i1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, t1); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("revoked token: %v", err)
		}
		if err := s.RevokeToken(ctx, ann.ID, i1.ID); err != nil {
			t.Fatalf("revoke twice: %v", err)
		}
		toks, _ = s.Tokens(ctx, ann.ID)
		if !toks[1].Revoked || toks[0].Revoked {
			t.Fatalf("revoked flags = %+v", toks)
		}
		if _, err := s.Authenticate(ctx, t2); err != nil {
			t.Fatalf("other token affected: %v", err)
		}

		// Expired api token.
		db.Gorm.Model(&tokenRow{}).Where("id = ?", i2.ID).Update("expires_at", time.Now().UTC().Add(-time.Minute))
		s.bumpEpoch(ctx) // direct edits bypass the API, which would bump the epoch
		if _, err := s.Authenticate(ctx, t2); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("expired api token: %v", err)
		}

		// Bad input.
		for _, name := range []string{"", "   ", strings.Repeat("n", 101)} {
			_, _, err := s.CreateAPIToken(ctx, ann.ID, name, 0)
			wantInputError(t, err, "name")
		}
		if _, _, err := s.CreateAPIToken(ctx, ann.ID, strings.Repeat("é", 100), 0); err != nil {
			t.Fatalf("100-character name: %v", err)
		}
		_, _, err = s.CreateAPIToken(ctx, ann.ID, "x", -time.Second)
		wantInputError(t, err, "ttl")
		if _, _, err := s.CreateAPIToken(ctx, "01hzzzzzzzzzzzzzzzzzzzzzzz", "x", 0); !errors.Is(err, ErrNotFound) {
			t.Fatalf("token for unknown user: %v", err)
		}
		if err := s.Logout(ctx, t2); err != nil {
			t.Fatalf("logout with an api token revokes it: %v", err)
		}
	})
}

// TestNoSecretsStored scans every column of every table for the plain
// tokens and passwords.
func TestNoSecretsStored(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		setup, err := s.Bootstrap(ctx, "", "")
		if err != nil || setup == "" {
			t.Fatalf("Bootstrap = %q, %v", setup, err)
		}
		secrets := []string{setup, "first admin password", pw, "another secret pw"}
		if _, err := s.Setup(ctx, setup, "root@example.com", "first admin password", "Root"); err != nil {
			t.Fatal(err)
		}
		ann := mustUser(t, s, "ann@example.com", false)
		if _, err := s.CreateUser(ctx, "bob@example.com", "another secret pw", "", false); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, mustLogin(t, s, "ann@example.com"))
		api, _, err := s.CreateAPIToken(ctx, ann.ID, "ci", 0)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, api)
		// Also look for the random part alone and its raw-bytes hex.
		for _, sec := range secrets {
			if len(sec) == tokenLen {
				secrets = append(secrets, sec[3:])
			}
		}

		var row tokenRow
		if err := db.Gorm.Where("kind = ?", KindAPI).Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.Hash == api || row.Hash != hashToken(api) || len(row.Hash) != 64 {
			t.Fatalf("stored hash %q for token %q", row.Hash, api)
		}

		tables := tableNames(t, db)
		if len(tables) < 2 {
			t.Fatalf("tables = %v", tables)
		}
		cells := 0
		for _, table := range tables {
			rows, err := db.SQL.QueryContext(ctx, `SELECT * FROM `+store.Quote(table))
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				for i, v := range vals {
					cell := fmt.Sprintf("%s", v)
					cells++
					for _, sec := range secrets {
						if strings.Contains(cell, sec) {
							t.Fatalf("%s.%s holds a secret: %q", table, cols[i], cell)
						}
					}
				}
			}
			rows.Close()
		}
		if cells < 20 {
			t.Fatalf("scanned only %d cells", cells)
		}
	})
}

func tableNames(t *testing.T, db *store.DB) []string {
	t.Helper()
	q := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if db.Dialect.Name() == "postgres" {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	var names []string
	if err := db.Gorm.Raw(q).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	return names
}

func TestBootstrapWithCredentials(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		tok, err := s.Bootstrap(ctx, "Admin@Example.com", "admin password")
		if err != nil || tok != "" {
			t.Fatalf("Bootstrap = %q, %v", tok, err)
		}
		tok, _, u, err := s.Login(ctx, "admin@example.com", "admin password")
		if err != nil || !u.Admin || !u.Active {
			t.Fatalf("admin login = %+v, %v", u, err)
		}
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatal(err)
		}
		// Second start: nothing happens, whatever the values.
		for _, c := range [][2]string{{"admin@example.com", "admin password"}, {"other@example.com", "other password"}, {"", ""}} {
			tok, err := s.Bootstrap(ctx, c[0], c[1])
			if err != nil || tok != "" {
				t.Fatalf("second Bootstrap = %q, %v", tok, err)
			}
		}
		if n, _ := s.UserCount(ctx); n != 1 {
			t.Fatalf("%d users, want 1", n)
		}
		var setups int64
		db.Gorm.Model(&tokenRow{}).Where("kind = ?", KindSetup).Count(&setups)
		if setups != 0 {
			t.Fatalf("%d setup tokens", setups)
		}
	})
}

func TestBootstrapBadCredentials(t *testing.T) {
	db := storetest.SQLite(t)
	s := newService(t, db)
	_, err := s.Bootstrap(context.Background(), "admin@example.com", "short")
	wantInputError(t, err, "password")
	if n, _ := s.UserCount(context.Background()); n != 0 {
		t.Fatalf("%d users", n)
	}
}

func TestConcurrentBootstrap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newService(t, db)
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.Bootstrap(context.Background(), fmt.Sprintf("admin%d@example.com", i), "admin password")
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := s.UserCount(context.Background()); n != 1 {
			t.Fatalf("%d admins created, want 1", n)
		}
	})
}

func TestSetup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)

		old, err := s.Bootstrap(ctx, "", "")
		if err != nil || !strings.HasPrefix(old, "fx_") || len(old) != tokenLen {
			t.Fatalf("Bootstrap = %q, %v", old, err)
		}
		// Only one of the two values: still a setup token, replacing the old.
		setup, err := s.Bootstrap(ctx, "admin@example.com", "")
		if err != nil || setup == "" || setup == old {
			t.Fatalf("second Bootstrap = %q, %v", setup, err)
		}
		if _, err := s.Setup(ctx, old, "admin@example.com", pw, ""); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("replaced token: %v", err)
		}
		// A setup token is not a login token.
		if _, err := s.Authenticate(ctx, setup); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("Authenticate setup token: %v", err)
		}
		for _, bad := range []string{"", "garbage", "fs_" + setup[3:], "fx_" + strings.Repeat("A", 43)} {
			if _, err := s.Setup(ctx, bad, "admin@example.com", pw, ""); !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("Setup(%q) = %v", bad, err)
			}
		}
		// Bad input leaves the token usable.
		_, err = s.Setup(ctx, setup, "not an email", pw, "")
		wantInputError(t, err, "email")
		_, err = s.Setup(ctx, setup, "admin@example.com", "short", "")
		wantInputError(t, err, "password")

		u, err := s.Setup(ctx, setup, "Admin@Example.com", pw, "Ada Admin")
		if err != nil || !u.Admin || !u.Active || u.Email != "admin@example.com" || u.Name != "Ada Admin" {
			t.Fatalf("Setup = %+v, %v", u, err)
		}
		if _, _, _, err := s.Login(ctx, "admin@example.com", pw); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Setup(ctx, setup, "second@example.com", pw, ""); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("second Setup: %v", err)
		}
		if tok, err := s.Bootstrap(ctx, "", ""); err != nil || tok != "" {
			t.Fatalf("Bootstrap after setup = %q, %v", tok, err)
		}
		var used tokenRow
		db.Gorm.Where("kind = ?", KindSetup).Take(&used)
		if used.RevokedAt == nil || used.UserID == nil || *used.UserID != u.ID {
			t.Fatalf("used setup token = %+v", used)
		}
		if n, _ := s.UserCount(ctx); n != 1 {
			t.Fatalf("%d users", n)
		}
	})
}

func TestSetupExpired(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		setup, err := s.Bootstrap(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		var row tokenRow
		db.Gorm.Where("kind = ?", KindSetup).Take(&row)
		if d := row.ExpiresAt.Sub(row.CreatedAt); d != SetupTTL {
			t.Fatalf("setup token valid %v", d)
		}
		db.Gorm.Model(&tokenRow{}).Where("kind = ?", KindSetup).Update("expires_at", time.Now().UTC().Add(-time.Second))
		s.bumpEpoch(ctx) // direct edits bypass the API, which would bump the epoch
		if _, err := s.Setup(ctx, setup, "admin@example.com", pw, ""); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("expired setup token: %v", err)
		}
	})
}

func TestSetupAfterUsersExist(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		setup, err := s.Bootstrap(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		// Another server created an admin from its environment meanwhile.
		mustUser(t, s, "other@example.com", true)
		if _, err := s.Setup(ctx, setup, "admin@example.com", pw, ""); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("Setup with users present: %v", err)
		}
	})
}

func TestConcurrentSetup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := newService(t, db)
		setup, err := s.Bootstrap(ctx, "", "")
		if err != nil {
			t.Fatal(err)
		}
		const n = 10
		var wg sync.WaitGroup
		users := make([]*User, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				users[i], errs[i] = s.Setup(ctx, setup, fmt.Sprintf("admin%d@example.com", i), pw, "")
			}()
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
				if !users[i].Admin {
					t.Fatalf("setup user not admin: %+v", users[i])
				}
			case !errors.Is(err, ErrUnauthorized):
				t.Fatalf("Setup %d: %v", i, err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d Setup calls succeeded, want 1", ok)
		}
		if c, _ := s.UserCount(ctx); c != 1 {
			t.Fatalf("%d users, want 1", c)
		}
	})
}

func TestOptions(t *testing.T) {
	db := storetest.SQLite(t)
	if _, err := New(context.Background(), db, Options{BcryptCost: bcrypt.MaxCost + 1}); err == nil {
		t.Fatal("bcrypt cost out of range accepted")
	}
	if _, err := New(context.Background(), nil, Options{}); err == nil {
		t.Fatal("nil db accepted")
	}
	s, err := New(context.Background(), db, Options{BcryptCost: bcrypt.MinCost})
	if err != nil || s.sessionTTL != 24*time.Hour {
		t.Fatalf("defaults: %+v, %v", s, err)
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *store.DB
			if dialect == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			ctx := context.Background()
			s, err := New(ctx, db, Options{BcryptCost: bcrypt.MinCost})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := s.CreateUser(ctx, "ann@example.com", pw, "", false); err != nil {
				b.Fatal(err)
			}
			tok, _, _, err := s.Login(ctx, "ann@example.com", pw)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Authenticate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// AuthenticateCached answers from the server's cache without reading the
// epoch, and says which epoch the answer rests on; a statement reading
// EpochProbe after a change made through another server reads another
// epoch, and Authenticate then refuses. A token not cached is looked up
// (epoch 0: confirmed), and a refusal is always Authenticate's.
func TestAuthenticateCachedAcrossServers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := newService(t, db), newService(t, db)
		ann := mustUser(t, a, "ann@example.com", false)
		session := mustLogin(t, a, "ann@example.com")
		probe := func() int64 {
			t.Helper()
			var v int64
			if err := db.Pool().QueryRowContext(ctx, "SELECT "+EpochProbe).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		u, epoch, err := b.AuthenticateCached(ctx, session)
		if err != nil || u.ID != ann.ID || epoch != 0 {
			t.Fatalf("first sight (looked up): %v %d %v", u, epoch, err)
		}
		u, epoch, err = b.AuthenticateCached(ctx, session)
		if err != nil || u.ID != ann.ID || epoch == 0 || epoch != probe() {
			t.Fatalf("cached: %v epoch %d (probe %d) %v", u, epoch, probe(), err)
		}
		if _, err := a.UpdateUser(ctx, ann.ID, UserUpdate{Roles: &[]string{"manager"}}); err != nil {
			t.Fatal(err)
		}
		if _, stale, err := b.AuthenticateCached(ctx, session); err != nil || stale != epoch || probe() == stale {
			t.Fatalf("after a change on a: epoch %d, probe %d, %v", stale, probe(), err)
		}
		if u, err := b.Authenticate(ctx, session); err != nil || len(u.Roles) != 1 || u.Roles[0] != "manager" {
			t.Fatalf("confirmed anew: %v %v", u, err)
		}
		if _, again, _ := b.AuthenticateCached(ctx, session); again != probe() {
			t.Fatalf("cached again at %d, probe %d", again, probe())
		}
		if err := a.Logout(ctx, session); err != nil {
			t.Fatal(err)
		}
		if _, stale, _ := b.AuthenticateCached(ctx, session); stale == probe() {
			t.Fatal("a logout on a left the cached epoch current")
		}
		if _, err := b.Authenticate(ctx, session); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("ended session confirmed anew: %v", err)
		}
		for _, bad := range []string{"", "fs_x", strings.Repeat("A", tokenLen), "fx_" + session[3:]} {
			if _, _, err := b.AuthenticateCached(ctx, bad); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("AuthenticateCached(%q) = %v", bad, err)
			}
		}
	})
}

// Two servers on one database each cache token answers; a revocation,
// logout or deactivation made through one is refused by the other at its
// very next request.
func TestCachedAnswersEndAcrossServers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a, b := newService(t, db), newService(t, db)
		ann := mustUser(t, a, "ann@example.com", false)
		bob := mustUser(t, a, "bob@example.com", false)
		session := mustLogin(t, a, "ann@example.com")
		api, info, err := a.CreateAPIToken(ctx, ann.ID, "sync", 0)
		if err != nil {
			t.Fatal(err)
		}
		bobTok := mustLogin(t, a, "bob@example.com")
		for _, s := range []*Service{a, b} {
			for _, tok := range []string{session, api, bobTok} {
				if _, err := s.Authenticate(ctx, tok); err != nil {
					t.Fatalf("warm-up: %v", err)
				}
			}
		}
		if err := a.RevokeToken(ctx, ann.ID, info.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Authenticate(ctx, api); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("revoked API token on the other server: %v", err)
		}
		if err := a.Logout(ctx, session); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Authenticate(ctx, session); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("logged-out session on the other server: %v", err)
		}
		if _, err := b.Authenticate(ctx, bobTok); err != nil {
			t.Fatalf("bob's session was affected: %v", err)
		}
		if err := b.SetActive(ctx, bob.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Authenticate(ctx, bobTok); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("deactivated user on the other server: %v", err)
		}
		if err := b.SetActive(ctx, "nobody", false); !errors.Is(err, ErrNotFound) {
			t.Fatalf("SetActive(unknown) = %v", err)
		}
	})
}
