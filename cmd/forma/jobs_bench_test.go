package main

import (
	"os"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/store/storetest"
)

// TestJobsThroughput measures jobs completed per second by real `forma
// serve` processes, the probe's trivial effect (one short transaction of
// two inserts) per job: SQLite with one process, PostgreSQL with one and
// with two. It is a measurement, not a check: it runs only with
// FORMA_JOBS_BENCH=1.
//
//	FORMA_JOBS_BENCH=1 go test ./cmd/forma -run TestJobsThroughput -v
func TestJobsThroughput(t *testing.T) {
	if os.Getenv("FORMA_JOBS_BENCH") != "1" {
		t.Skip("a measurement: set FORMA_JOBS_BENCH=1 to run it")
	}
	measure := func(t *testing.T, p *probeDB, dbArgs []string, procs, n int) {
		for i := 0; i < procs; i++ {
			startJobs(t, dbArgs, "--jobs-workers", "50") // the default
		}
		start := time.Now()
		p.enqueue("bench", n, 0)
		inserted := time.Since(start)
		p.waitFor("the burst completed", 5*time.Minute, func() bool { return p.completed() == n })
		took := time.Since(start)
		t.Logf("%d jobs, %d process(es): inserted in %v, all completed after %v: %.0f jobs/s", n, procs, inserted.Round(time.Millisecond), took.Round(time.Millisecond), float64(n)/took.Seconds())
	}
	t.Run("sqlite-1", func(t *testing.T) {
		dir := t.TempDir()
		measure(t, openProbe(t, "", dir), []string{"--data", dir}, 1, 3000)
	})
	t.Run("postgres-1", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		measure(t, openProbe(t, url, ""), []string{"--db", url}, 1, 10000)
	})
	t.Run("postgres-2", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		measure(t, openProbe(t, url, ""), []string{"--db", url}, 2, 10000)
	})
}
