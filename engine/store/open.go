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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"database/sql/driver"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/filter"
)

// DB is an open Forma database: GORM for the system tables and the plain
// database/sql pool underneath for dynamic app tables, whose shape is only
// known at run time.
type DB struct {
	Gorm    *gorm.DB
	SQL     *sql.DB
	Dialect Dialect

	// Clock is the engine's time (clock.Real unless a test sets another
	// before use): timestamps written, expiries, cache lifetimes.
	Clock clock.Clock
	// URL is the connection URL Open was given ("" for the embedded
	// SQLite file): the job queue opens its own pool from it.
	URL string

	stmts      stmtCache
	sqlitePath string
	writeSlot  chan struct{} // SQLite: one write transaction at a time in this process

	// PostgreSQL: pgx caches prepared statements per connection, and a
	// statement prepared before a migration fails once after it ("cached
	// plan must not change result type"). Every migration applied here
	// bumps schemaGen; a pooled connection whose caches predate it drops
	// them before it is used again.
	schemaGen atomic.Int64
	connGen   sync.Map // *pgx.Conn → the schemaGen its caches are from

	builds sync.WaitGroup // concurrent index builds running (indexbuild.go)
}

// resetSession runs when database/sql hands out a used PostgreSQL connection.
func (db *DB) resetSession(ctx context.Context, conn *pgx.Conn) error {
	gen := db.schemaGen.Load()
	if have, ok := db.connGen.Load(conn); ok && have.(int64) == gen {
		return nil
	}
	if err := conn.DeallocateAll(ctx); err != nil {
		db.connGen.Delete(conn)
		return driver.ErrBadConn // the pool discards this connection
	}
	db.connGen.Store(conn, gen)
	return nil
}

// SchemaChanged tells the connection pool that tables changed shape.
func (db *DB) SchemaChanged() { db.schemaGen.Add(1) }

// Open connects to the database named by dbURL, or, when dbURL is empty, to
// the embedded SQLite file in dataDir (created if missing). It creates the
// system tables if they do not exist.
//
// dbURL forms: "postgres://…" or "postgresql://…"; "sqlite:///abs/path.db" or
// "sqlite://rel/path.db".
func Open(ctx context.Context, dbURL, dataDir string) (*DB, error) {
	db := &DB{writeSlot: make(chan struct{}, 1), Clock: clock.Real{}, URL: dbURL}
	var (
		dialector gorm.Dialector
		dialect   Dialect
		maxConns  = defaultPoolSize
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
		db.sqlitePath = path
		registerSQLiteFunctions()
		dialector = sqlite.Open(sqliteDSN(path))
		dialect = SQLite{}
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		pgURL, n, err := poolSize(dbURL)
		if err != nil {
			return nil, fmt.Errorf("store: %w", redact(err, dbURL))
		}
		maxConns = n
		cfg, err := pgx.ParseConfig(pgURL)
		if err != nil {
			return nil, fmt.Errorf("store: %w", redact(err, dbURL))
		}
		dialector = postgres.New(postgres.Config{Conn: stdlib.OpenDB(*cfg, stdlib.OptionResetSession(db.resetSession))})
		dialect = Postgres{}
	default:
		return nil, fmt.Errorf("store: unsupported database URL (want postgres://… or sqlite:…)")
	}
	g, err := gorm.Open(dialector, &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return db.Clock.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dialect.Name(), redact(err, dbURL))
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if dialect.Name() == "sqlite" {
		// WAL lets readers run beside the one writer. This process queues its
		// own writers on DB.writeSlot; the busy timeout covers other
		// processes. A few connections keep SQLite's shared locks and page
		// caches warm; four did as well as eight on the 2-core machines measured.
		sqlDB.SetMaxOpenConns(4)
		sqlDB.SetMaxIdleConns(4)
	} else {
		sqlDB.SetMaxOpenConns(maxConns)
		sqlDB.SetMaxIdleConns(maxConns)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: connect %s: %w", dialect.Name(), redact(err, dbURL))
	}
	db.Gorm, db.SQL, db.Dialect = g, sqlDB, dialect
	if err := db.migrateSystem(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	// Index builds a crash or a failure left undone are tried again.
	db.startIndexBuilds()
	return db, nil
}

// Now is the clock's time in UTC, to the microsecond that both dialects
// store.
func (db *DB) Now() time.Time { return db.Clock.Now().UTC().Truncate(time.Microsecond) }

// SQLitePath is the file of an SQLite database ("" on PostgreSQL).
func (db *DB) SQLitePath() string { return db.sqlitePath }

// OpenSQLitePool opens another pool of at most n connections on this
// SQLite database's file, with the same settings as the main one (WAL,
// busy timeout, BEGIN IMMEDIATE). The job queue works through its own pool
// of one, as River's SQLite driver advises; its transactions queue on this
// process's write slot with the others (slotconn.go says why).
func (db *DB) OpenSQLitePool(n int) (*sql.DB, error) {
	if db.sqlitePath == "" {
		return nil, fmt.Errorf("store: not an SQLite database")
	}
	p, err := openSlotPool("sqlite", sqliteDSN(db.sqlitePath), db.writeSlot)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite pool: %w", err)
	}
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	return p, nil
}

// Close waits for the index builds this process runs, then releases the
// connection pool.
func (db *DB) Close() error {
	db.builds.Wait()
	return db.SQL.Close()
}

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
		registerLocalTime() // localtime.go
	})
}

func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Per connection: 64 MiB of page cache so hot
	// pages are read without a system call each.
	q.Add("_pragma", "cache_size(-65536)")
	// Sorts and temporary B-trees that no index avoids stay in memory
	// instead of spilling to temporary files (SQLite's default).
	q.Add("_pragma", "temp_store(MEMORY)")
	// Reads of the database file go through a memory map rather than a
	// read system call per page (256 MiB of address space per connection;
	// pages are shared with the OS cache, not copied).
	q.Add("_pragma", "mmap_size(268435456)")
	// Write transactions take the write lock at BEGIN, so two writers never
	// deadlock upgrading a read lock.
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// redact keeps a connection URL's password out of error messages and logs.
// defaultPoolSize is how many PostgreSQL connections one process opens at
// most. Several servers on one database share its max_connections (100 by
// default): `pool_max_conns` in the URL sets a smaller pool per process.
const defaultPoolSize = 32

// poolSize takes the pool_max_conns parameter (the name pgxpool uses) out of
// a PostgreSQL URL, which would otherwise reach the server as an unknown
// setting, and returns the URL without it and the pool size.
func poolSize(dbURL string) (string, int, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", 0, fmt.Errorf("bad database URL: %w", err)
	}
	q := u.Query()
	v := q.Get("pool_max_conns")
	if v == "" {
		return dbURL, defaultPoolSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return "", 0, fmt.Errorf("pool_max_conns must be a whole number from 1 to 1000, not %q", v)
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

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
