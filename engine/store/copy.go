package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
)

// BeginConn is Begin on a connection of its own, held until the
// transaction ends, so that what database/sql cannot say may be said on
// it inside the same transaction: PostgreSQL's COPY (CopyFrom). On SQLite
// it is Begin.
func (db *DB) BeginConn(ctx context.Context) (Conn, error) {
	if db.Dialect.Name() == "sqlite" {
		return db.Begin(ctx)
	}
	raw, err := db.SQL.Conn(ctx)
	if err != nil {
		return Conn{}, fmt.Errorf("store: begin: %w", err)
	}
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		raw.Close()
		return Conn{}, fmt.Errorf("store: begin: %w", err)
	}
	c := Conn{db: db, tx: tx, done: &sync.Once{}, after: new([]func(bool)), raw: raw}
	c.OnEnd(func(bool) { raw.Close() })
	return c, nil
}

// CanCopy reports whether CopyFrom works on c (a BeginConn transaction on
// PostgreSQL).
func (c Conn) CanCopy() bool { return c.raw != nil }

// ErrNoCopy is CopyFrom on a Conn that cannot copy.
var ErrNoCopy = errors.New("store: COPY needs a BeginConn transaction on PostgreSQL")

// CopyFrom copies rows into table's columns with PostgreSQL's COPY, inside
// c's transaction.
func (c Conn) CopyFrom(ctx context.Context, table string, columns []string, rows [][]any) (int64, error) {
	if c.raw == nil {
		return 0, ErrNoCopy
	}
	var n int64
	err := c.raw.Raw(func(dc any) error {
		pc, ok := dc.(interface{ Conn() *pgx.Conn })
		if !ok {
			return ErrNoCopy
		}
		var err error
		n, err = pc.Conn().CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
		return err
	})
	return n, err
}
