package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"
)

// A second SQLite pool in this process (the job queue's) begins its
// transactions on the process's write slot too. Left to SQLite's busy
// handler it starves: the handler polls with sleeps while this process's
// own writers, queued on the slot, hand the lock from one to the next in
// microseconds, so during a long run of writes (an import, sample data) the
// queue could not record a finished job for the busy timeout's 10 s, three
// times over, and River gave up — leaving the job "running" until it was
// rescued an hour later. Queued on the slot, its transactions take their
// turn among the others.

// slotWaitLimit bounds the wait for the slot: a caller that holds the slot
// and waits on this pool (no such path is known) is then left to SQLite's
// busy timeout as before, rather than deadlocked.
const slotWaitLimit = 30 * time.Second

type slotConnector struct {
	base driver.Connector
	slot chan struct{}
}

func (c slotConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &slotConn{Conn: conn, slot: c.slot}, nil
}

func (c slotConnector) Driver() driver.Driver { return c.base.Driver() }

// dsnConnector is a driver.Connector for a driver without OpenConnector.
type dsnConnector struct {
	dsn string
	drv driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

type slotConn struct {
	driver.Conn
	slot chan struct{}
}

func (c *slotConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	held := false
	t := time.NewTimer(slotWaitLimit)
	defer t.Stop()
	select {
	case c.slot <- struct{}{}:
		held = true
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	release := func() {
		if held {
			<-c.slot
		}
	}
	var (
		tx  driver.Tx
		err error
	)
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = c.Conn.Begin() //nolint:staticcheck // the driver's only way
	}
	if err != nil {
		release()
		return nil, err
	}
	return &slotTx{Tx: tx, release: sync.OnceFunc(release)}, nil
}

func (c *slotConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// The rest passes through, so database/sql keeps the driver's fast paths.

func (c *slotConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *slotConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := c.Conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *slotConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := c.Conn.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *slotConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *slotConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *slotConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type slotTx struct {
	driver.Tx
	release func()
}

func (t *slotTx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

func (t *slotTx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}

// openSlotPool opens dsn with driverName, its transactions queued on slot.
func openSlotPool(driverName, dsn string, slot chan struct{}) (*sql.DB, error) {
	probe, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	probe.Close()
	var base driver.Connector = dsnConnector{dsn: dsn, drv: drv}
	if dc, ok := drv.(driver.DriverContext); ok {
		if base, err = dc.OpenConnector(dsn); err != nil {
			return nil, fmt.Errorf("connector: %w", err)
		}
	}
	return sql.OpenDB(slotConnector{base: base, slot: slot}), nil
}
