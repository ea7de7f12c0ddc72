// Package storetest runs a test against every database dialect Forma
// supports: a fresh SQLite file always, and a fresh PostgreSQL schema when
// FORMA_TEST_POSTGRES names a database. When CI is set and PostgreSQL is not
// configured or unreachable the test fails rather than skipping, so CI can
// never pass on SQLite alone.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/formaapp/forma/engine/store"
)

// EnvPostgres names the environment variable holding the PostgreSQL URL.
const EnvPostgres = "FORMA_TEST_POSTGRES"

// Each runs fn as a subtest per dialect ("sqlite", "postgres") on a new,
// empty database.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// SQLite opens a new SQLite database in a temporary folder.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL returns a URL to a fresh, empty schema in the test database, and
// drops it when the test ends. It skips the test when PostgreSQL is not
// configured, except under CI where that is a failure.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set, and CI requires the PostgreSQL suite", EnvPostgres)
		}
		t.Skipf("%s not set; PostgreSQL suite skipped", EnvPostgres)
	}
	admin, err := store.Open(context.Background(), base, "")
	if err != nil {
		t.Fatalf("PostgreSQL unreachable (%s): %v", EnvPostgres, err)
	}
	name := "t_" + randomHex(8)
	if err := admin.Gorm.Exec(`CREATE SCHEMA ` + name).Error; err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Gorm.Exec(`DROP SCHEMA ` + name + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a fresh PostgreSQL schema (see PostgresURL).
func Postgres(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), PostgresURL(t), "")
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
