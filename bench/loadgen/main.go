// Command loadgen measures a real `forma serve` process from outside it:
// it loads the ticket table (bench/tickets) straight into the database,
// starts the server as a child process, and drives it over HTTP with N
// keep-alive connections for a fixed time per workload, reporting
// requests per second and p50/p99 latency. Load generator and server are
// separate processes, so the figures compare with other servers' measured
// the same way (wrk, hey, k6).
//
//	go run ./bench/loadgen -rows 100000 -conns 50 -duration 15s            # SQLite
//	go run ./bench/loadgen -db "$FORMA_TEST_POSTGRES" -rows 1000000 -view=false
//
// Workloads: list (the list, 50 per page), get (by id), create,
// patch (each connection patches records of its own, with their versions).
// -server-cpu and -client-cpu pin the two processes with taskset when it
// is installed (the PocketBase runs: server on one core, load on
// another).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/formaapp/forma/bench/tickets"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

type config struct {
	forma      string // path of the forma binary; built when empty
	db         string // PostgreSQL URL; empty for SQLite in a temp folder
	rows       int
	view       bool
	conns      int
	duration   time.Duration
	workloads  []string
	serverCPU  string
	clientCPU  string
	keepSchema bool
}

func main() {
	var c config
	var workloads string
	flag.StringVar(&c.forma, "forma", "", "forma binary (default: go build ./cmd/forma into a temp folder)")
	flag.StringVar(&c.db, "db", "", "PostgreSQL URL (a fresh schema is made in it and dropped after); default SQLite")
	flag.IntVar(&c.rows, "rows", 100_000, "tickets to load")
	flag.BoolVar(&c.view, "view", true, "declare the list view (so the list's index exists)")
	flag.IntVar(&c.conns, "conns", 50, "concurrent connections")
	flag.DurationVar(&c.duration, "duration", 15*time.Second, "time per workload")
	flag.StringVar(&workloads, "workloads", "list,get,create,patch", "workloads to run, in order")
	flag.StringVar(&c.serverCPU, "server-cpu", "", "pin the server to these CPUs (taskset -c), e.g. 0")
	flag.StringVar(&c.clientCPU, "client-cpu", "", "pin this process to these CPUs (taskset -c), e.g. 1")
	flag.BoolVar(&c.keepSchema, "keep", false, "keep the PostgreSQL schema after the run")
	flag.Parse()
	c.workloads = strings.Split(workloads, ",")
	if err := run(context.Background(), c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	if c.clientCPU != "" && os.Getenv("LOADGEN_PINNED") == "" {
		if path, err := exec.LookPath("taskset"); err == nil {
			// Re-exec this program pinned.
			cmd := exec.Command(path, append([]string{"-c", c.clientCPU, os.Args[0]}, os.Args[1:]...)...)
			cmd.Env = append(os.Environ(), "LOADGEN_PINNED=1")
			cmd.Stdout, cmd.Stderr = out, os.Stderr
			return cmd.Run()
		}
	}
	tmp, err := os.MkdirTemp("", "forma-loadgen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if c.forma == "" {
		c.forma = filepath.Join(tmp, "forma")
		build := exec.Command("go", "build", "-o", c.forma, "./cmd/forma")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build forma (run from the repository root): %w", err)
		}
	}

	// The database: SQLite in the temp folder, or a fresh PostgreSQL schema.
	dbURL := "sqlite://" + filepath.Join(tmp, "forma.db")
	dialect := "sqlite"
	if c.db != "" {
		dialect = "postgres"
		schemaName := "loadgen_" + randomHex(6)
		admin, err := pgx.Connect(ctx, c.db)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schemaName); err != nil {
			return err
		}
		if !c.keepSchema {
			defer func() {
				admin.Exec(context.Background(), "DROP SCHEMA "+schemaName+" CASCADE")
				admin.Close(context.Background())
			}()
		}
		u, err := url.Parse(c.db)
		if err != nil {
			return err
		}
		q := u.Query()
		q.Set("search_path", schemaName)
		u.RawQuery = q.Encode()
		dbURL = u.String()
	}
	start := time.Now()
	if err := load(ctx, dbURL, c); err != nil {
		return err
	}
	fmt.Fprintf(out, "# %s, %d tickets, list view index: %v, %d connections, %s per workload (loaded in %s)\n",
		dialect, c.rows, c.view, c.conns, c.duration, time.Since(start).Round(time.Millisecond))

	// The server, as its own process.
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	args := []string{"serve", "--addr", addr, "--db", dbURL}
	name := c.forma
	if c.serverCPU != "" {
		if path, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{"-c", c.serverCPU, c.forma}, args...)
			name = path
		}
	}
	srv := exec.Command(name, args...)
	srv.Env = append(os.Environ(), "FORMA_ADMIN_EMAIL=bench@example.com", "FORMA_ADMIN_PASSWORD=benchpass1")
	var srvLog bytes.Buffer
	srv.Stdout, srv.Stderr = &srvLog, &srvLog
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start forma serve: %w", err)
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
		}
	}()
	base := "http://" + addr
	if err := waitUp(base, 60*time.Second); err != nil {
		return fmt.Errorf("%w\nserver log:\n%s", err, srvLog.String())
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: c.conns, MaxIdleConnsPerHost: c.conns, MaxConnsPerHost: c.conns}, Timeout: 60 * time.Second}
	token, err := login(client, base)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "| workload | requests | req/s | p50 | p99 | errors |\n|---|---|---|---|---|---|\n")
	for _, w := range c.workloads {
		res, err := drive(client, base, token, w, c)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| %s | %d | %.0f | %s | %s | %d |\n", w, res.n, float64(res.n)/res.elapsed.Seconds(),
			fmtDur(res.p(50)), fmtDur(res.p(99)), res.errors)
		if res.errors > 0 {
			fmt.Fprintf(out, "  first error: %s\n", res.firstErr)
			// The server logs why (a 500 says only "internal error").
			for _, line := range strings.Split(srvLog.String(), "\n") {
				if strings.Contains(line, "level=ERROR") {
					fmt.Fprintf(out, "  server: %.300s\n", line)
					break
				}
			}
		}
	}
	return nil
}

// load applies the ticket app and fills the table, before the server runs.
func load(ctx context.Context, dbURL string, c config) error {
	db, err := store.Open(ctx, dbURL, "")
	if err != nil {
		return err
	}
	defer db.Close()
	app, problems := schema.Parse([]byte(tickets.App(c.view)))
	if len(problems) > 0 {
		return problems
	}
	// The table is filled first and the app applied again with its view,
	// so the view's index is built over the loaded rows as in production.
	if _, err := db.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		return err
	}
	if err := tickets.Fill(ctx, db, c.rows); err != nil {
		return err
	}
	db.WaitIndexBuilds()
	return nil
}

type result struct {
	n, errors int
	elapsed   time.Duration
	lat       []time.Duration
	firstErr  string
}

func (r *result) p(q int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	slices.Sort(r.lat)
	return r.lat[min(len(r.lat)-1, len(r.lat)*q/100)]
}

// drive runs one workload from c.conns goroutines for c.duration.
func drive(client *http.Client, base, token, workload string, c config) (*result, error) {
	listPath := "/api/data/desk/ticket?" + url.Values{"filter": {tickets.Filter}, "sort": {tickets.Sort}, "limit": {"50"}}.Encode()
	var next atomic.Int64
	var mu sync.Mutex
	res := &result{}
	deadline := time.Now().Add(c.duration)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c.conns; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var lat []time.Duration
			var errs int
			var first string
			versions := map[string]int{}
			n := 0
			for time.Now().Before(deadline) {
				i := int(next.Add(1))
				var method, path, body string
				want := 200
				switch workload {
				case "list":
					method, path = "GET", listPath
				case "get":
					method, path = "GET", "/api/data/desk/ticket/"+tickets.ID(1+(i*7919)%c.rows)
				case "create":
					method, path, want = "POST", "/api/data/desk/ticket", 201
					body = fmt.Sprintf(`{"subject": "New ticket %d", "severity": %d, "status": "open", "amount": "12.50"}`, i, 1+i%5)
				case "patch":
					// Each connection patches 64 records of its own.
					id := tickets.ID(1 + (w*64+n%64)%c.rows)
					v := versions[id]
					if v == 0 {
						v = 1
					}
					method, path = "PATCH", "/api/data/desk/ticket/"+id
					body = fmt.Sprintf(`{"version": %d, "severity": %d}`, v, 1+n%5)
					versions[id] = v + 1
				default:
					first = "unknown workload " + workload
					errs++
					return
				}
				n++
				t0 := time.Now()
				status, data, err := do(client, base, token, method, path, body)
				lat = append(lat, time.Since(t0))
				if err != nil || status != want {
					errs++
					if first == "" {
						first = fmt.Sprintf("%s %s: %d %v %.200s", method, path, status, err, data)
					}
				}
			}
			mu.Lock()
			res.n += len(lat)
			res.errors += errs
			res.lat = append(res.lat, lat...)
			if res.firstErr == "" {
				res.firstErr = first
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	if res.firstErr != "" && strings.HasPrefix(res.firstErr, "unknown workload") {
		return nil, errors.New(res.firstErr)
	}
	return res, nil
}

func do(client *http.Client, base, token, method, path, body string) (int, []byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func login(client *http.Client, base string) (string, error) {
	status, data, err := do(client, base, "", "POST", "/api/auth/login", `{"email": "bench@example.com", "password": "benchpass1"}`)
	if err != nil || status != 200 {
		return "", fmt.Errorf("login: %d %v %s", status, err, data)
	}
	var out struct{ Token string }
	if err := json.Unmarshal(data, &out); err != nil {
		return "", err
	}
	return out.Token, nil
}

func waitUp(base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/api/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("forma serve did not answer /api/health in time")
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%d µs", d.Microseconds())
}
