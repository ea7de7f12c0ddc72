// Package bench measures the records API through the real HTTP stack: a
// fiber server on a loopback port and a keep-alive HTTP client, on SQLite and
// PostgreSQL. Figures are in the README.
//
//	go test -run '^$' -bench . -benchtime 5s ./bench/
//
// FORMA_BENCH_ROWS sets the table size (default 100,000); PostgreSQL runs
// when FORMA_TEST_POSTGRES is set.
package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

const appDoc = `{"name": "bench", "entities": [{"name": "deal", "fields": [
  {"id": "f1", "name": "title", "type": "text", "required": true, "maxLength": 200},
  {"id": "f2", "name": "amount", "type": "decimal", "scale": 2, "min": 0},
  {"id": "f3", "name": "stage", "type": "select", "options": ["lead", "qualified", "proposal", "won", "lost"], "default": "lead"},
  {"id": "f4", "name": "region", "type": "text"},
  {"id": "f5", "name": "probability", "type": "integer", "min": 0, "max": 100},
  {"id": "f6", "name": "close_date", "type": "date"}
 ], "indexes": [{"fields": ["amount"]}, {"fields": ["stage"]}]}]}`

var stages = []string{"lead", "qualified", "proposal", "won", "lost"}

type target struct {
	base   string
	token  string
	client *http.Client
	ids    []string
}

func rows() int {
	if n, err := strconv.Atoi(os.Getenv("FORMA_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// setup starts a server on dbURL ("" = SQLite in a temp folder), applies the
// app and loads n deals straight into the table.
func setup(b *testing.B, dbURL string, n int) *target {
	b.Helper()
	eng := open(b, dbURL)
	ids := load(b, eng.DB, n, nil)
	return serve(b, eng, ids)
}

// open starts an engine on dbURL with the bench admin and the app applied.
func open(b *testing.B, dbURL string) *engine.Engine {
	b.Helper()
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Config{DataDir: b.TempDir(), DBURL: dbURL, Access: access.Options{BcryptCost: bcrypt.MinCost}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	if _, err := eng.Access.CreateUser(ctx, "bench@example.com", "benchpass1", "", true); err != nil {
		b.Fatal(err)
	}
	app, problems := schema.Parse([]byte(appDoc))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	if _, err := eng.DB.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	return eng
}

// serve puts eng's API on a loopback port and logs in as the bench admin.
func serve(b *testing.B, eng *engine.Engine, ids []string) *target {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := eng.Handler()
	go srv.Listener(ln)
	t := &target{base: "http://" + ln.Addr().String(), ids: ids, client: &http.Client{
		Transport: &http.Transport{MaxIdleConns: 128, MaxIdleConnsPerHost: 128},
		Timeout:   30 * time.Second,
	}}
	b.Cleanup(func() {
		// Keep-alive connections would hold Shutdown open forever.
		t.client.CloseIdleConnections()
		srv.ShutdownWithTimeout(5 * time.Second)
	})
	t.token = t.login(b, "bench@example.com", "benchpass1")
	return t
}

// login returns a session token for email.
func (t *target) login(b *testing.B, email, password string) string {
	b.Helper()
	var login struct{ Token string }
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	saved := t.token
	t.token = ""
	t.do(b, "POST", "/api/auth/login", string(body), 200, &login)
	t.token = saved
	return login.Token
}

// load inserts n rows with multi-row INSERTs in one transaction: the
// benchmark is about reading and writing through the API, not about loading.
// owner, when not nil, gives row i's owner (nil = none); it does not change
// the other values, which are the same for every run.
func load(b *testing.B, db *store.DB, n int, owner func(i int) any) []string {
	b.Helper()
	tx, err := db.SQL.Begin()
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, 0, n)
	now := time.Now().UTC()
	// SQLite's driver binds in O(params²): small batches there.
	batch := 500
	if db.Dialect.Name() == "sqlite" {
		batch = 20
	}
	for start := 0; start < n; start += batch {
		var sb strings.Builder
		var args []any
		sb.WriteString(`INSERT INTO bench_deal (id, created_at, updated_at, version, owner, title, amount, stage, region, probability, close_date) VALUES `)
		for i := start; i < min(n, start+batch); i++ {
			if i > start {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)")
			id := fmt.Sprintf("0bench%020d", i)
			ids = append(ids, id)
			cents := r.Int64N(100_000_00)
			var amount, created any = cents, now.Format("2006-01-02T15:04:05.000000Z")
			if db.Dialect.Name() == "postgres" {
				amount, created = fmt.Sprintf("%d.%02d", cents/100, cents%100), now
			}
			var own any
			if owner != nil {
				own = owner(i)
			}
			args = append(args, id, created, created, own, fmt.Sprintf("Deal %d for customer %d", i, r.IntN(5000)), amount,
				stages[r.IntN(len(stages))], []string{"east", "west", "north", "south"}[r.IntN(4)], r.IntN(101),
				now.AddDate(0, 0, r.IntN(365)).Format(time.DateOnly))
		}
		if _, err := tx.Exec(db.Rebind(sb.String()), args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// PostgreSQL's autovacuum would analyze the table soon; do it now. No
	// ANALYZE on SQLite: Forma does not run it there, and with statistics
	// SQLite re-prepares range queries on every run.
	if db.Dialect.Name() == "postgres" {
		db.SQL.Exec("ANALYZE bench_deal")
	}
	return ids
}

func (t *target) do(b *testing.B, method, path, body string, want int, out any) {
	req, _ := http.NewRequest(method, t.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		b.Error(err)
		return
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
		return
	}
	if out != nil {
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(out); err != nil {
			b.Error(err)
		}
	}
}

func BenchmarkAPI(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { runAll(b, "") })
	b.Run("postgres", func(b *testing.B) { runAll(b, storetest.PostgresURL(b)) })
}

func runAll(b *testing.B, dbURL string) {
	t := setup(b, dbURL, rows())
	list := "/api/data/bench/deal?" + url.Values{
		"filter": {`amount >= 50000`},
		"sort":   {"-amount"},
		"limit":  {"50"},
	}.Encode()
	b.Run("list50", func(b *testing.B) {
		var page struct{ Items []json.RawMessage }
		t.do(b, "GET", list, "", 200, &page)
		if len(page.Items) != 50 {
			b.Fatalf("list returned %d items", len(page.Items))
		}
		parallel(b, func(i int) { t.do(b, "GET", list, "", 200, nil) })
	})
	b.Run("get", func(b *testing.B) {
		parallel(b, func(i int) { t.do(b, "GET", "/api/data/bench/deal/"+t.ids[i%len(t.ids)], "", 200, nil) })
	})
	b.Run("create", func(b *testing.B) {
		parallel(b, func(i int) {
			t.do(b, "POST", "/api/data/bench/deal", fmt.Sprintf(`{"title": "New deal %d", "amount": "1234.50", "stage": "qualified", "region": "east", "probability": 40}`, i), 201, nil)
		})
	})
	var versions sync.Map // id → current version, kept across benchmark rounds
	b.Run("patch", func(b *testing.B) {
		// Each worker patches records of its own, so versions never clash.
		var worker atomic.Int64
		b.SetParallelism(4)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			w := int(worker.Add(1))
			n := 0
			for pb.Next() {
				id := t.ids[(w*7919+n%64)%len(t.ids)]
				n++
				v := 1
				if x, ok := versions.Load(id); ok {
					v = x.(int)
				}
				t.do(b, "PATCH", "/api/data/bench/deal/"+id, fmt.Sprintf(`{"version": %d, "probability": %d, "stage": "proposal"}`, v, n%100), 200, nil)
				versions.Store(id, v+1)
			}
		})
		reportRate(b)
	})
}

// parallel runs fn b.N times from 4 goroutines per core, like several
// browser tabs and API clients hitting one server.
func parallel(b *testing.B, fn func(i int)) {
	var n atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			fn(int(n.Add(1)))
		}
	})
	reportRate(b)
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
