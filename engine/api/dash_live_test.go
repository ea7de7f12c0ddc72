package api_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// eachTwo runs fn per dialect with two independent handles (two pools,
// as two server processes would have) on one database.
func eachTwo(t *testing.T, fn func(t *testing.T, a, b *store.DB)) {
	open := func(t *testing.T, url, dir string) *store.DB {
		db, err := store.Open(context.Background(), url, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, open(t, "", dir), open(t, "", dir))
	})
	t.Run("postgres", func(t *testing.T) {
		u := storetest.PostgresURL(t)
		fn(t, open(t, u, ""), open(t, u, ""))
	})
}

// secondServer is another API process on db (no setup: the first made the
// admin and the app).
func secondServer(t *testing.T, db *store.DB) *fiber.App {
	acc, err := access.New(context.Background(), db, access.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat := store.NewCatalog(db)
	srv := &api.Server{DB: db, Catalog: cat, Access: acc, Records: records.New(db, cat),
		Log: slog.New(slog.NewTextHandler(testLog{t}, nil))}
	return srv.New()
}

// TestDashCacheAcrossServers: answers are cached per viewer scope; a write
// through another server (its own pool) invalidates them at the next
// request and is announced on the events stream within a second or so; a
// write to an entity no widget reads leaves the cache alone.
func TestDashCacheAcrossServers(t *testing.T) {
	eachTwo(t, func(t *testing.T, dbA, dbB *store.DB) {
		s := newShop(t, dbA)
		b := &env{t: t, db: dbB, app: secondServer(t, dbB), token: s.token, dialect: s.dialect}
		const q = "?period=2026-02-01..2026-02-28"
		first := widgetOf(t, s.dash("exec", q), "takings")
		again := widgetOf(t, s.dash("exec", q), "takings")
		if first["cached"] != false || again["cached"] != true || mustJSON(first["rows"]) != mustJSON(again["rows"]) {
			t.Fatalf("second read should come from the cache: %v / %v", first, again)
		}
		if rep := widgetOf(t, s.dash("rep1", q), "takings"); rep["cached"] != false {
			t.Fatalf("another viewer scope must not share the executive's answer: %v", rep)
		}
		before := dec(t, vals(rowsOf(first)[0])[0])

		// Open the events stream on server A, on a real socket.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go s.app.Listener(ln)
		defer s.app.ShutdownWithTimeout(time.Second) // the stream notices a gone client at its next write
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/dash/shop/sales/events", nil)
		req.Header.Set("Authorization", "Bearer "+s.tokenOf("exec"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := make(chan string, 10)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if line := sc.Text(); strings.HasPrefix(line, "data: ") {
					events <- line
				}
			}
			close(events)
		}()
		time.Sleep(300 * time.Millisecond) // the stream's first poll has read the counters

		// A write to an entity no widget reads: nothing to refresh.
		if st, body := b.do("POST", "/api/data/shop/secret", map[string]any{"value": "x"}); st != 201 {
			t.Fatalf("secret: %d %v", st, body)
		}
		if w := widgetOf(t, s.dash("exec", q), "takings"); w["cached"] != true {
			t.Errorf("a write to another entity dropped the answer: %v", w)
		}

		// A new order through server B.
		wrote := time.Now()
		st, body := b.do("POST", "/api/data/shop/sale", map[string]any{"title": "new", "amount": "123.45",
			"at": "2026-02-14T12:00:00+08:00", "cost": "1.00", "product": s.products[0]})
		if st != 201 {
			t.Fatalf("create through server B: %d %v", st, body)
		}
		select {
		case ev := <-events:
			if !strings.Contains(ev, `"takings"`) || !strings.Contains(ev, `"sale"`) {
				t.Errorf("event %s should name the takings widget", ev)
			}
			if d := time.Since(wrote); d > 3*time.Second {
				t.Errorf("the change was announced after %v", d)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no change event within 5 s of a write on another server")
		}
		after := widgetOf(t, s.dash("exec", q), "takings")
		if after["cached"] != false {
			t.Errorf("the write on server B did not invalidate server A's cache: %v", after)
		}
		wantDec(t, "takings after the new order", vals(rowsOf(after)[0])[0], before.Add(decimal.RequireFromString("123.45")))
		// Server B, with its own cache, agrees.
		st, body = b.doAs(s.tokenOf("exec"), "GET", "/api/dash/shop/sales/widgets/takings"+q, nil)
		if st != 200 {
			t.Fatalf("server B: %d %v", st, body)
		}
		wantDec(t, "server B", vals(rowsOf(body)[0])[0], before.Add(decimal.RequireFromString("123.45")))
	})
}
