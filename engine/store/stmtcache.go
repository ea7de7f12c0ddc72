package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
)

// maxCachedStmts bounds the statement cache. Forma's SQL never embeds
// values (they are arguments), so distinct texts come from distinct query
// shapes: entities × filters × sorts in use, a few hundred in practice.
const maxCachedStmts = 2000

// stmtCache keeps one prepared statement per SQL text. SQLite spends a large
// share of a small query parsing its SQL, and database/sql would prepare it
// afresh on every call. PostgreSQL needs none: pgx already caches prepared
// statements per connection.
type stmtCache struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// prepared returns the cached statement for query, preparing it on the pool
// when create is set. It never holds the cache lock while preparing: a
// prepare needs a pool connection, and with SQLite's small pool, waiting for
// one while blocking other goroutines' look-ups could deadlock.
func (db *DB) prepared(ctx context.Context, query string, create bool) (*sql.Stmt, error) {
	c := &db.stmts
	c.mu.RLock()
	st, full := c.stmts[query], len(c.stmts) >= maxCachedStmts
	c.mu.RUnlock()
	if st != nil || !create || full {
		return st, nil // when full, the caller runs the query unprepared
	}
	st, err := db.SQL.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if have := c.stmts[query]; have != nil {
		st.Close() // another goroutine won the race
		return have, nil
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

// Conn runs Forma's SQL, written with "?" placeholders, on the pool or
// inside one transaction, through cached prepared statements on SQLite.
type Conn struct {
	db    *DB
	tx    *sql.Tx
	done  *sync.Once              // releases the SQLite write slot once
	after *[]func(committed bool) // OnEnd's work (Begin's transactions)
	raw   *sql.Conn               // BeginConn's own connection (copy.go)
}

// Pool returns a Conn on the connection pool.
func (db *DB) Pool() Conn { return Conn{db: db} }

// Begin starts a transaction. On SQLite it takes the write lock at once
// (the DSN's _txlock=immediate), so writers queue rather than deadlock.
//
// SQLite allows one writer at a time. Rather than let writers collide in
// BEGIN IMMEDIATE and sleep in SQLite's busy handler, this process queues its
// own writers on a slot first; the busy timeout is left to handle writers in
// other processes.
func (db *DB) Begin(ctx context.Context) (Conn, error) {
	sqlite := db.Dialect.Name() == "sqlite"
	if sqlite {
		select {
		case db.writeSlot <- struct{}{}:
		case <-ctx.Done():
			return Conn{}, fmt.Errorf("store: begin: %w", ctx.Err())
		}
	}
	release := func() {
		if sqlite {
			<-db.writeSlot
		}
	}
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		release()
		return Conn{}, fmt.Errorf("store: begin: %w", err)
	}
	return Conn{db: db, tx: tx, done: &sync.Once{}, after: new([]func(bool))}, nil
}

func (c Conn) release() {
	if c.db.Dialect.Name() == "sqlite" {
		c.done.Do(func() { <-c.db.writeSlot })
	}
}

// Commit commits the transaction, then runs what OnEnd queued (the SQLite
// write slot released first: that work may write).
func (c Conn) Commit() error {
	err := c.tx.Commit()
	c.release()
	c.ended(err == nil)
	return err
}

// Rollback abandons the transaction; after Commit it does nothing.
func (c Conn) Rollback() error {
	err := c.tx.Rollback()
	c.release()
	if err == nil {
		c.ended(false)
	} else if c.raw != nil && !errors.Is(err, sql.ErrTxDone) {
		c.raw.Close() // the connection BeginConn held goes back (or away) anyway
	}
	return err
}

// OnEnd queues fn to run once the transaction has ended, committed or
// not: work that must not run inside it, such as a write on another
// connection, which on SQLite would wait for this transaction's write
// slot. On the pool (or a transaction Begin did not start) fn runs at once,
// as committed.
func (c Conn) OnEnd(fn func(committed bool)) {
	if c.after == nil {
		fn(true)
		return
	}
	*c.after = append(*c.after, fn)
}

func (c Conn) ended(committed bool) {
	if c.after == nil {
		return
	}
	fns := *c.after
	*c.after = nil
	for _, fn := range fns {
		fn(committed)
	}
}

// Tx returns the underlying transaction (nil on the pool).
func (c Conn) Tx() *sql.Tx { return c.tx }

func (c Conn) stmt(ctx context.Context, query string) (*sql.Stmt, string, error) {
	query = c.db.Dialect.Rebind(query)
	if c.db.Dialect.Name() != "sqlite" {
		return nil, query, nil
	}
	// A transaction holds a connection: it uses a statement the pool has
	// prepared already, but never prepares one on the pool itself.
	st, err := c.db.prepared(ctx, query, c.tx == nil)
	if err != nil || st == nil {
		return nil, query, err
	}
	if c.tx != nil {
		// Reuses the statement already prepared on the transaction's
		// connection, if any; closed with the transaction.
		st = c.tx.StmtContext(ctx, st)
	}
	return st, query, nil
}

// QueryContext runs a query returning rows.
func (c Conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, q, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	switch {
	case st != nil:
		return st.QueryContext(ctx, args...)
	case c.tx != nil:
		return c.tx.QueryContext(ctx, q, args...)
	}
	return c.db.SQL.QueryContext(ctx, q, args...)
}

// QueryRowContext runs a query returning at most one row.
func (c Conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, q, err := c.stmt(ctx, query)
	switch {
	case err != nil:
		// database/sql offers no way to build an errored *sql.Row; running
		// the query unprepared reports the same error through Scan.
		return c.db.SQL.QueryRowContext(ctx, q, args...)
	case st != nil:
		return st.QueryRowContext(ctx, args...)
	case c.tx != nil:
		return c.tx.QueryRowContext(ctx, q, args...)
	}
	return c.db.SQL.QueryRowContext(ctx, q, args...)
}

// ExecContext runs a statement.
func (c Conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, q, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	switch {
	case st != nil:
		return st.ExecContext(ctx, args...)
	case c.tx != nil:
		return c.tx.ExecContext(ctx, q, args...)
	}
	return c.db.SQL.ExecContext(ctx, q, args...)
}

// IsStalePlan reports PostgreSQL's "cached plan must not change result type"
// (SQLSTATE 0A000): a statement prepared before a migration changed its
// table. Running the statement again succeeds.
func IsStalePlan(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "0A000"
}

// ErrAppMoved means that a migration of the app committed while a request
// was working from the document before it: the request's transaction is
// rolled back, and running it again on the current document is the remedy.
var ErrAppMoved = errors.New("the app was migrated while the request ran")

// IsSchemaMoved reports an error a request gets when a migration committed
// after it read the app document: ErrAppMoved, or a statement built from the
// older document naming a column or table that is no longer there
// (PostgreSQL's undefined_column 42703 and undefined_table 42P01, SQLite's
// "no such column", "no such table" and "has no column named"). The
// statement changed nothing, and the request can run again on the current
// document, which answers what it says (an unknown field is then a 4xx).
func IsSchemaMoved(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrAppMoved) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "42703" || pe.Code == "42P01"
	}
	// SQLite reports these only in the message, and a caller may have
	// flattened a PostgreSQL error into text.
	msg := err.Error()
	for _, s := range []string{"no such column", "no such table", "has no column named", "(SQLSTATE 42703)", "(SQLSTATE 42P01)"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// IsConflict reports whether PostgreSQL aborted a transaction because it
// collided with another (deadlock_detected, serialization_failure): the
// transaction was rolled back whole, and running it again is the remedy.
// Writes that recompute rollups and formulas lock records of several
// entities, so two of them can wait on each other.
func IsConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}
