// Package store owns Forma's storage: opening SQLite or PostgreSQL, the
// system tables that hold metadata versions, the per-dialect column types and
// value encodings, and migrations from one app version to the next.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"database/sql/driver"

	gosqlite "github.com/glebarez/go-sqlite"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/formaapp/forma/engine/records/filter"
)

// DB is an open Forma database: GORM for the system tables and the plain
// database/sql pool underneath for dynamic app tables, whose shape is only
// known at run time.
type DB struct {
	Gorm    *gorm.DB
	SQL     *sql.DB
	Dialect Dialect

	stmts stmtCache
}

// Open connects to the database named by dbURL, or, when dbURL is empty, to
// the embedded SQLite file in dataDir (created if missing). It creates the
// system tables if they do not exist.
//
// dbURL forms: "postgres://…" or "postgresql://…"; "sqlite:///abs/path.db" or
// "sqlite://rel/path.db".
func Open(ctx context.Context, dbURL, dataDir string) (*DB, error) {
	var (
		dialector gorm.Dialector
		dialect   Dialect
	)
	switch {
	case dbURL == "" || strings.HasPrefix(dbURL, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "//")
		if path == "" {
			if dataDir == "" {
				dataDir = "forma_data"
			}
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, fmt.Errorf("store: create data folder: %w", err)
			}
			path = filepath.Join(dataDir, "forma.db")
		}
		registerSQLiteFunctions()
		dialector = sqlite.Open(sqliteDSN(path))
		dialect = SQLite{}
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		dialector = postgres.New(postgres.Config{DSN: dbURL})
		dialect = Postgres{}
	default:
		return nil, fmt.Errorf("store: unsupported database URL (want postgres://… or sqlite:…)")
	}
	g, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect.Name(), redact(err, dbURL))
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if dialect.Name() == "sqlite" {
		// WAL lets readers run beside the one writer; writers queue on the
		// busy timeout rather than failing.
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	} else {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(32)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: connect %s: %w", dialect.Name(), redact(err, dbURL))
	}
	db := &DB{Gorm: g, SQL: sqlDB, Dialect: dialect}
	if err := db.migrateSystem(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// Close releases the connection pool.
func (db *DB) Close() error { return db.SQL.Close() }

var registerOnce sync.Once

// registerSQLiteFunctions adds Forma's SQL functions to every SQLite
// connection opened from now on.
func registerSQLiteFunctions() {
	registerOnce.Do(func() {
		// Unicode-aware lower case for case-insensitive filters (~).
		gosqlite.MustRegisterDeterministicScalarFunction(filter.FoldFunc, 1,
			func(ctx *gosqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
				switch v := args[0].(type) {
				case string:
					return strings.ToLower(v), nil
				case []byte:
					return strings.ToLower(string(v)), nil
				}
				return args[0], nil
			})
	})
}

func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Per connection: 64 MiB of page cache and memory-mapped reads, so hot
	// pages are read without a system call each.
	q.Add("_pragma", "cache_size(-65536)")
	q.Add("_pragma", "mmap_size(268435456)")
	// Write transactions take the write lock at BEGIN, so two writers never
	// deadlock upgrading a read lock.
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// redact keeps a connection URL's password out of error messages and logs.
func redact(err error, dbURL string) error {
	u, perr := url.Parse(dbURL)
	if perr != nil || u.User == nil {
		return err
	}
	if p, ok := u.User.Password(); ok && p != "" {
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), p, "xxxxx"))
	}
	return err
}

// Rebind turns the "?" placeholders that Forma's SQL builders emit into the
// dialect's own. Forma's generated SQL never holds a literal "?": values are
// always arguments and identifiers are restricted to [a-z0-9_].
func (db *DB) Rebind(q string) string { return db.Dialect.Rebind(q) }
