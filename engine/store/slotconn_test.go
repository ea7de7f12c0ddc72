package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/store/storetest"
)

// The job queue's own SQLite pool records finished jobs while this
// process writes without pause (an import, sample data): its transactions
// take their turn on the write slot instead of starving in SQLite's busy
// handler until "database is locked".
func TestSQLiteSecondPoolTakesItsTurn(t *testing.T) {
	db := storetest.SQLite(t)
	ctx := context.Background()
	if _, err := db.SQL.ExecContext(ctx, `CREATE TABLE busy (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	side, err := db.OpenSQLitePool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer side.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				tx, err := db.Begin(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				for range 50 {
					if _, err := tx.ExecContext(ctx, `INSERT INTO busy (n) VALUES (1)`); err != nil {
						t.Error(err)
					}
				}
				// A writer holding the lock a while, as a batch of rows does.
				time.Sleep(5 * time.Millisecond)
				if err := tx.Commit(); err != nil {
					t.Error(err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	// Each side transaction gets 3 s, far more than its turn needs: in
	// SQLite's busy handler it waited up to the 10 s busy timeout.
	for i := range 5 {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		tx, err := side.BeginTx(ctx, nil)
		if err != nil {
			t.Fatalf("side transaction %d: begin: %v", i, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO busy (n) VALUES (2)`); err != nil {
			t.Fatalf("side transaction %d: %v", i, err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("side transaction %d: commit: %v", i, err)
		}
	}
	var n int
	if err := side.QueryRowContext(ctx, `SELECT count(*) FROM busy WHERE n = 2`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("side rows %d, %v", n, err)
	}
	// The writers were not starved meanwhile: one commits within a few
	// seconds. (Checked right after the side loop, this raced a writer
	// between its commit, which hands the slot on, and its count.)
	for deadline := time.Now().Add(5 * time.Second); writes.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the process's writers made no progress")
		}
	}
}
