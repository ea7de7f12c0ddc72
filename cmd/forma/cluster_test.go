package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/store/storetest"
)

// buildForma builds the forma binary into a folder of t.
func buildForma(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "forma")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// server is one running `forma serve` process.
type server struct {
	t     *testing.T
	base  string
	token string
	log   syncBuffer
}

const clusterAdmin, clusterPassword = "ops@example.com", "cluster-pass-1"

// startServer runs bin's `serve` with args on a free port, waits until it
// answers, and logs in as the admin (created by the first server to start).
// The process is stopped when the test ends.
func startServer(t *testing.T, bin string, args ...string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{t: t, base: "http://" + addr}
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "FORMA_ADMIN_EMAIL="+clusterAdmin, "FORMA_ADMIN_PASSWORD="+clusterPassword, "FORMA_DB=")
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	if dir := os.Getenv("FORMA_TEST_SERVER_LOGS"); dir != "" {
		// For a hung run: the log (and a SIGQUIT goroutine dump) outlives
		// the test process.
		if f, err := os.CreateTemp(dir, "serve-*.log"); err == nil {
			cmd.Stdout, cmd.Stderr = io.MultiWriter(&s.log, f), io.MultiWriter(&s.log, f)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", s.base, s.log.String())
		}
	})
	for i := 0; ; i++ {
		st, body := s.try("POST", "/api/auth/login", map[string]any{"email": clusterAdmin, "password": clusterPassword})
		if st == 200 {
			s.token = body["token"].(string)
			return s
		}
		if i == 300 {
			t.Fatalf("%s did not start: %d %v\n%s", s.base, st, body, s.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// try sends a request; status 0 means it did not get an answer. Safe from
// any goroutine.
func (s *server) try(method, path string, body any) (int, map[string]any) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		return 0, map[string]any{"err": err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, map[string]any{"err": err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			out = map[string]any{"raw": string(raw)}
		}
	}
	return resp.StatusCode, out
}

// must sends a request and fails the test unless it answers want.
func (s *server) must(want int, method, path string, body any) map[string]any {
	s.t.Helper()
	st, out := s.try(method, path, body)
	if st != want {
		s.t.Fatalf("%s %s: %d %v, want %d", method, path, st, out, want)
	}
	return out
}

// refuses checks that a request answers status with an error detail (or,
// for a filter, the message) naming field.
func (s *server) refuses(status int, method, path string, body any, field string) {
	s.t.Helper()
	st, out := s.try(method, path, body)
	eo, _ := out["error"].(map[string]any)
	if st != status || eo == nil || !strings.Contains(fmt.Sprint(eo), field) {
		s.t.Errorf("%s %s: %d %v, want %d naming %s", method, path, st, out, status, field)
	}
}

func (s *server) list(filter string) []any {
	s.t.Helper()
	out := s.must(200, "GET", "/api/data/crm/deal?sort=title&filter="+url.QueryEscape(filter), nil)
	items, _ := out["items"].([]any)
	return items
}

func crmDoc(notes string, qty, priority bool) string {
	fields := []string{`{"id": "f1", "name": "title", "type": "text", "required": true}`,
		`{"id": "f2", "name": "` + notes + `", "type": "text"}`}
	if qty {
		fields = append(fields, `{"id": "f3", "name": "qty", "type": "integer"}`)
	}
	if priority {
		fields = append(fields, `{"id": "f4", "name": "priority", "type": "integer"}`)
	}
	return `{"name": "crm", "entities": [{"id": "e1", "name": "deal", "fields": [` + strings.Join(fields, ", ") + `]}]}`
}

// TestServersSeeMigrationsAtOnce runs two `forma serve` processes on one
// database. A rename, a drop and an add applied through the first hold on
// the second from its very next request — writes and filtered reads answer
// by the new document, an old name is a clean 4xx — and requests streaming
// into the second server while the migrations land never answer 5xx.
func TestServersSeeMigrationsAtOnce(t *testing.T) {
	eachCluster(t, func(t *testing.T, a, b *server) {
		first := b.must(201, "POST", "/api/data/crm/deal", map[string]any{"title": "a first", "notes": "hello", "qty": 4})
		if n := len(b.list(`notes ~ "hell" && qty > 3`)); n != 1 {
			t.Fatalf("filter before the migrations: %d items", n)
		}

		// Clients keep writing and reading on b throughout, naming either
		// name of the renamed field: each answer is 2xx or 4xx.
		var (
			stop    atomic.Bool
			wg      sync.WaitGroup
			fivexx  atomic.Int64
			answers atomic.Int64
		)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; !stop.Load(); n++ {
					field := [2]string{"notes", "memo"}[(i+n)%2]
					for _, r := range []struct {
						method, path string
						body         any
					}{
						{"POST", "/api/data/crm/deal", map[string]any{"title": fmt.Sprintf("load %d %d", i, n), field: "x"}},
						{"GET", "/api/data/crm/deal?limit=5&filter=" + url.QueryEscape(field+` ~ "x"`), nil},
					} {
						st, out := b.try(r.method, r.path, r.body)
						answers.Add(1)
						if st >= 500 || st == 0 {
							if fivexx.Add(1) <= 10 {
								t.Errorf("%s %s during migrations: %d %v", r.method, r.path, st, out)
							}
						}
					}
				}
			}()
		}
		defer func() {
			stop.Store(true)
			wg.Wait()
			t.Logf("%d answers from b during the migrations, %d of them 5xx", answers.Load(), fivexx.Load())
		}()

		// Rename notes → memo.
		a.must(201, "POST", "/api/meta/apps", crmDoc("memo", true, false))
		second := b.must(201, "POST", "/api/data/crm/deal", map[string]any{"title": "b second", "memo": "hey"})
		if second["memo"] != "hey" || second["notes"] != nil {
			t.Errorf("create after rename: %v", second)
		}
		b.refuses(422, "POST", "/api/data/crm/deal", map[string]any{"title": "old name", "notes": "x"}, "/notes")
		b.refuses(400, "GET", "/api/data/crm/deal?filter="+url.QueryEscape(`notes ~ "he"`), nil, "notes")
		if items := b.list(`memo ~ "he" && title !~ "load"`); len(items) != 2 || items[0].(map[string]any)["memo"] != "hello" {
			t.Errorf("filter on the new name: %v", items)
		}
		patched := b.must(200, "PATCH", "/api/data/crm/deal/"+first["id"].(string), map[string]any{"version": 1, "memo": "changed"})
		if patched["memo"] != "changed" {
			t.Errorf("patch after rename: %v", patched)
		}

		// Drop qty.
		a.must(201, "POST", "/api/meta/apps?allowDestructive=1", crmDoc("memo", false, false))
		b.refuses(422, "POST", "/api/data/crm/deal", map[string]any{"title": "dropped", "qty": 1}, "/qty")
		b.refuses(400, "GET", "/api/data/crm/deal?filter="+url.QueryEscape(`qty > 3`), nil, "qty")
		if got := b.must(200, "GET", "/api/data/crm/deal/"+first["id"].(string), nil); got["qty"] != nil || got["memo"] != "changed" {
			t.Errorf("get after drop: %v", got)
		}

		// Add priority.
		a.must(201, "POST", "/api/meta/apps", crmDoc("memo", false, true))
		third := b.must(201, "POST", "/api/data/crm/deal", map[string]any{"title": "c third", "priority": 5})
		if fmt.Sprint(third["priority"]) != "5" {
			t.Errorf("create with the new field: %v", third)
		}
		if items := b.list(`priority = 5`); len(items) != 1 || items[0].(map[string]any)["id"] != third["id"] {
			t.Errorf("filter on the new field: %v", items)
		}
		if refused := b.list(`title = "dropped" || title = "old name"`); len(refused) != 0 {
			t.Errorf("refused creates left records: %v", refused)
		}
	})
}

// eachCluster starts two `forma serve` processes on one database, on
// PostgreSQL and on one SQLite file, applies the crm app (notes, qty)
// through the first, and runs fn.
func eachCluster(t *testing.T, fn func(t *testing.T, a, b *server)) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildForma(t)
	run := func(t *testing.T, args ...string) {
		a := startServer(t, bin, args...)
		b := startServer(t, bin, args...)
		a.must(201, "POST", "/api/meta/apps", crmDoc("notes", true, false))
		fn(t, a, b)
	}
	// Each process opens at most 8 connections: the test database serves
	// other test packages at the same time, within max_connections (100).
	t.Run("postgres", func(t *testing.T) { run(t, "--db", storetest.PostgresURL(t)+"&pool_max_conns=8") })
	// Two processes on one SQLite file hold to the same rule.
	t.Run("sqlite", func(t *testing.T) { run(t, "--data", t.TempDir()) })
}

// TestServersRaceRenames runs 100 clients against two `forma serve`
// processes on one database — each creating, reading, patching, listing by
// a filter and deleting records, naming either name of a field — while the
// first process renames that field back and forth. No request may answer
// 5xx or go unanswered; every refusal is a clean 4xx.
func TestServersRaceRenames(t *testing.T) {
	eachCluster(t, func(t *testing.T, a, b *server) {
		var (
			stop             atomic.Bool
			wg               sync.WaitGroup
			fivexx, answers  atomic.Int64
			created, patched atomic.Int64
		)
		for i := range 100 {
			s := [2]*server{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; !stop.Load(); n++ {
					field := [2]string{"notes", "memo"}[(i+n)%2]
					check := func(what string, st int, out map[string]any) {
						answers.Add(1)
						if st >= 500 || st == 0 {
							if fivexx.Add(1) <= 10 {
								t.Errorf("%s during renames: %d %v", what, st, out)
							}
						}
					}
					st, rec := s.try("POST", "/api/data/crm/deal", map[string]any{"title": fmt.Sprintf("race %d %d", i, n), field: "x", "qty": n})
					check("create", st, rec)
					st2, out := s.try("GET", "/api/data/crm/deal?limit=5&filter="+url.QueryEscape(field+` ~ "x" && qty >= 0`), nil)
					check("list", st2, out)
					if st != 201 {
						continue
					}
					created.Add(1)
					id, _ := rec["id"].(string)
					st, out = s.try("GET", "/api/data/crm/deal/"+id, nil)
					check("get", st, out)
					st, out = s.try("PATCH", "/api/data/crm/deal/"+id, map[string]any{"version": rec["version"], field: "y"})
					check("patch", st, out)
					if st == 200 {
						patched.Add(1)
					}
					if n%2 == 0 {
						st, out = s.try("DELETE", "/api/data/crm/deal/"+id, nil)
						check("delete", st, out)
					}
				}
			}()
		}
		for k := range 6 {
			time.Sleep(300 * time.Millisecond)
			a.must(201, "POST", "/api/meta/apps", crmDoc([2]string{"memo", "notes"}[k%2], true, false))
		}
		time.Sleep(300 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		t.Logf("%d answers (%d creates, %d patches) during 6 renames, %d of them 5xx", answers.Load(), created.Load(), patched.Load(), fivexx.Load())
		if created.Load() == 0 || patched.Load() == 0 {
			t.Errorf("no write went through during the renames (%d creates, %d patches)", created.Load(), patched.Load())
		}
	})
}

// as is s with another bearer token.
func (s *server) as(token string) *server {
	return &server{t: s.t, base: s.base, token: token}
}

// TestServersSeeRevocationsAtOnce runs two `forma serve` processes on one
// database. The list answers from a token answer its process cached and
// reads the auth epoch in its own statement; a token revoked, a session
// ended or a user deactivated through the first process is refused by the
// second at its very next list.
func TestServersSeeRevocationsAtOnce(t *testing.T) {
	eachCluster(t, func(t *testing.T, a, b *server) {
		b.must(201, "POST", "/api/data/crm/deal", map[string]any{"title": "one"})
		listsTwice := func(s *server, want int) {
			t.Helper()
			for range 2 { // the second is answered from b's cache
				s.must(want, "GET", "/api/data/crm/deal", nil)
			}
		}

		tok := a.must(201, "POST", "/api/auth/tokens", map[string]any{"name": "sync"})
		api := b.as(tok["token"].(string))
		listsTwice(api, 200)
		a.must(204, "DELETE", "/api/auth/tokens/"+tok["info"].(map[string]any)["id"].(string), nil)
		api.must(401, "GET", "/api/data/crm/deal", nil)

		session := a.must(200, "POST", "/api/auth/login", map[string]any{"email": clusterAdmin, "password": clusterPassword})["token"].(string)
		listsTwice(b.as(session), 200)
		a.as(session).must(204, "POST", "/api/auth/logout", nil)
		b.as(session).must(401, "GET", "/api/data/crm/deal", nil)

		u := a.must(201, "POST", "/api/admin/users", map[string]any{"email": "rep@example.com", "password": "rep-pass-1"})
		rep := b.as(b.must(200, "POST", "/api/auth/login", map[string]any{"email": "rep@example.com", "password": "rep-pass-1"})["token"].(string))
		listsTwice(rep, 404) // no role: the app is not there for rep
		a.must(200, "PATCH", "/api/admin/users/"+u["user"].(map[string]any)["id"].(string), map[string]any{"active": false})
		rep.must(401, "GET", "/api/data/crm/deal", nil)

		b.must(200, "GET", "/api/data/crm/deal", nil) // the admin's own session is unaffected
	})
}
