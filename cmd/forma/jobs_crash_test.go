package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// jobProc is one `forma serve` process running the probe job kind.
type jobProc struct {
	cmd  *exec.Cmd
	out  syncBuffer
	addr string
}

// startJobs starts `forma serve` (this test binary as main) with the probe
// kind registered, a short rescue timeout and 20 workers (each holds a
// database connection while it runs: two servers beside other tests must
// stay under PostgreSQL's max_connections), and waits until it serves.
func startJobs(t *testing.T, dbArgs []string, extra ...string) *jobProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &jobProc{addr: addr, cmd: forma(append([]string{"serve", "--addr", addr, "--jobs-rescue-after", "3s", "--jobs-poll", "100ms", "--jobs-workers", "20"}, append(dbArgs, extra...)...))}
	p.cmd.Env = append(p.cmd.Env, "FORMA_JOBS_PROBE=1", "FORMA_ADMIN_EMAIL=jobs@example.com", "FORMA_ADMIN_PASSWORD=jobs-pass-1", "FORMA_DB=")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { p.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				p.cmd.Process.Kill()
				<-done
			}
		}
		if t.Failed() {
			t.Logf("serve %d log:\n%s", p.cmd.Process.Pid, p.out.String())
		}
	})
	for i := 0; !strings.Contains(p.out.String(), "Forma is listening"); i++ {
		if i == 600 {
			t.Fatalf("serve did not start:\n%s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The line is printed just before the listener binds: a test that
	// calls the API at once waits for the port to answer.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			t.Fatalf("serve does not accept connections on %s: %v\n%s", addr, err, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

func (p *jobProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

// probeDB is the test's own view of the database: it enqueues probe jobs
// and counts their effects.
type probeDB struct {
	t  *testing.T
	db *store.DB
	q  *jobs.Queue
}

func openProbe(t *testing.T, dbURL, dataDir string) *probeDB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(ctx, db, jobs.Options{NoWork: true, Probe: true})
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()); db.Close() })
	return &probeDB{t: t, db: db, q: q}
}

// enqueue inserts n probe jobs keyed prefix-0 … prefix-(n-1).
func (p *probeDB) enqueue(prefix string, n, sleepMS int) {
	p.t.Helper()
	for i := 0; i < n; i += 500 {
		var batch []river.InsertManyParams
		for j := i; j < min(i+500, n); j++ {
			batch = append(batch, river.InsertManyParams{Args: jobs.ProbeArgs{Key: fmt.Sprintf("%s-%d", prefix, j), SleepMS: sleepMS},
				InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}})
		}
		if _, err := p.q.Client().InsertMany(context.Background(), batch); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *probeDB) count(q string, args ...any) int {
	p.t.Helper()
	var n int
	if err := p.db.SQL.QueryRow(p.db.Rebind(q), args...).Scan(&n); err != nil {
		p.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (p *probeDB) effects(prefix string) int {
	return p.count(`SELECT COUNT(*) FROM _forma_probe_effects WHERE key LIKE ?`, prefix+"-%")
}

func (p *probeDB) completed() int {
	return p.count(`SELECT COUNT(*) FROM river_job WHERE kind = ? AND state = 'completed'`, jobs.ProbeKind)
}

// waitFor polls cond up to limit.
func (p *probeDB) waitFor(what string, limit time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exactlyOnce checks that each of the n jobs keyed prefix-… has its effect
// exactly once, and returns how many runs committed in all (more than n
// when a job ran again after a crash; its effect was then guarded).
func (p *probeDB) exactlyOnce(prefix string, n int) int {
	p.t.Helper()
	if got := p.effects(prefix); got != n {
		p.t.Errorf("%d effects for %d jobs", got, n)
	}
	if d := p.count(`SELECT COUNT(DISTINCT key) FROM _forma_probe_effects WHERE key LIKE ?`, prefix+"-%"); d != n {
		p.t.Errorf("%d distinct keys among the effects, want %d", d, n)
	}
	return p.count(`SELECT COUNT(*) FROM _forma_probe_runs WHERE key LIKE ?`, prefix+"-%")
}

const burst = 2000

// A burst of 2,000 jobs, the server SIGKILLed in the middle of it and
// started again: every job's effect exists exactly once — none lost (the
// jobs left running by the dead process are rescued and run again), none
// doubled (the effect is guarded by the job's idempotency key).
func TestJobsSurviveSIGKILL(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		jobsCrash(t, []string{"--data", dir}, openProbe(t, "", dir))
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		jobsCrash(t, []string{"--db", url}, openProbe(t, url, ""))
	})
}

func jobsCrash(t *testing.T, dbArgs []string, p *probeDB) {
	p.enqueue("crash", burst, 2)
	a := startJobs(t, dbArgs)
	p.waitFor("a quarter of the burst done", 2*time.Minute, func() bool { return p.effects("crash") >= burst/4 })
	a.kill(t)
	atKill := p.effects("crash")
	running := p.count(`SELECT COUNT(*) FROM river_job WHERE kind = ? AND state = 'running'`, jobs.ProbeKind)
	if atKill >= burst {
		t.Fatalf("the burst was over before the kill (%d effects)", atKill)
	}
	startJobs(t, dbArgs)
	p.waitFor("every job completed after the restart", 3*time.Minute, func() bool { return p.completed() == burst })
	runs := p.exactlyOnce("crash", burst)
	t.Logf("killed at %d of %d effects with %d jobs running; %d runs committed in all (%d ran again, guarded)", atKill, burst, running, runs, runs-burst)
}

// Two servers on one PostgreSQL share a burst: every job runs exactly once,
// on one or the other. Killing one while it runs jobs hands them to the
// other after the rescue timeout.
func TestJobsTwoServers(t *testing.T) {
	url := storetest.PostgresURL(t)
	p := openProbe(t, url, "")
	dbArgs := []string{"--db", url}
	a, b := startJobs(t, dbArgs), startJobs(t, dbArgs)
	p.enqueue("shared", burst, 1)
	p.waitFor("the shared burst completed", 3*time.Minute, func() bool { return p.completed() == burst })
	if runs := p.exactlyOnce("shared", burst); runs != burst {
		t.Errorf("%d runs for %d jobs without a crash: some job ran twice", runs, burst)
	}
	byA := p.count(`SELECT COUNT(*) FROM _forma_probe_runs WHERE key LIKE 'shared-%' AND pid = ?`, a.cmd.Process.Pid)
	byB := p.count(`SELECT COUNT(*) FROM _forma_probe_runs WHERE key LIKE 'shared-%' AND pid = ?`, b.cmd.Process.Pid)
	t.Logf("shared burst: %d jobs ran on one server, %d on the other", byA, byB)
	if byA == 0 || byB == 0 || byA+byB != burst {
		t.Errorf("the burst was not shared: %d + %d", byA, byB)
	}

	// Slow jobs, so that A is in the middle of some when it dies.
	const slow = 120
	p.enqueue("handover", slow, 1500)
	aID := fmt.Sprintf("forma_%d_", a.cmd.Process.Pid)
	var onA []int64
	p.waitFor("A running jobs", time.Minute, func() bool {
		onA = p.runningOn(aID)
		return len(onA) >= 5
	})
	a.kill(t)
	p.waitFor("every slow job completed", 3*time.Minute, func() bool {
		return p.count(`SELECT COUNT(*) FROM river_job WHERE kind = ? AND state = 'completed' AND args->>'key' LIKE 'handover-%'`, jobs.ProbeKind) == slow
	})
	p.exactlyOnce("handover", slow)
	for _, id := range onA {
		var pid, attempt int
		if err := p.db.SQL.QueryRow(`SELECT e.pid, j.attempt FROM river_job j JOIN _forma_probe_effects e ON e.job_id = j.id WHERE j.id = $1`, id).Scan(&pid, &attempt); err != nil {
			t.Fatalf("job %d running on A at the kill: %v", id, err)
		}
		if pid == a.cmd.Process.Pid && attempt == 1 {
			continue // A committed its effect just before the kill
		}
		if pid != b.cmd.Process.Pid || attempt < 2 {
			t.Errorf("job %d was running on A at the kill; its effect is by pid %d on attempt %d, want B (%d) on a second attempt", id, pid, attempt, b.cmd.Process.Pid)
		}
	}
	t.Logf("%d jobs running on A when it was killed were rescued by B", len(onA))
}

// runningOn lists the probe jobs running in the process whose River client
// ids start with prefix.
func (p *probeDB) runningOn(prefix string) []int64 {
	p.t.Helper()
	rows, err := p.db.SQL.Query(`SELECT id FROM river_job WHERE kind = $1 AND state = 'running' AND attempted_by[array_length(attempted_by, 1)] LIKE $2`, jobs.ProbeKind, prefix+"%")
	if err != nil {
		p.t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	return ids
}
