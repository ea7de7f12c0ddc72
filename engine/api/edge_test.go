package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
)

// hostileStrings are JSON string literals that encoding/json would read
// altered (U+FFFD for the bad bytes) or that PostgreSQL cannot store. Each
// must be refused wherever a JSON string is read; a raw NUL is not even
// JSON (400), the rest are refused at their pointer (422).
var hostileStrings = []struct {
	name, json string
	status     int
}{
	{"NUL escape", `"a\u0000b"`, 422},
	{"raw NUL", "\"a\x00b\"", 400},
	{"invalid UTF-8", "\"a\xffb\"", 422},
	{"truncated UTF-8", "\"a\xe5\xb9b\"", 422},
	{"overlong NUL", "\"a\xc0\x80b\"", 422},
	{"overlong slash", "\"a\xe0\x80\xafb\"", 422},
	{"surrogate as bytes", "\"a\xed\xa0\x80b\"", 422},
	{"lone high surrogate escape", `"a\ud800b"`, 422},
	{"lone low surrogate escape", `"\udc00"`, 422},
	{"reversed surrogate pair", `"\ude00\ud83d"`, 422},
}

// wantRefused checks a refusal of hostile input: the status, the error
// shape, and for a 422 a detail at pointer.
func wantRefused(t *testing.T, what string, st int, body map[string]any, status int, pointer string) {
	t.Helper()
	code := map[int]string{400: "invalid_json", 422: "validation_failed"}[status]
	wantErr(t, what, st, body, status, code)
	if st == 422 && pointer != "" {
		wantDetail(t, what, body, pointer)
	}
}

// Every JSON body Forma reads refuses hostile strings and duplicate keys
// with a clear error and changes nothing, on both databases.
func TestHostileBodies(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		rec := e.create("item", map[string]any{"title": "original", "meta": map[string]any{"x": 1}})
		id := str(rec["id"])
		before := mustJSON(e.get("item", id))
		items := e.count("item")
		_, apps := e.do("GET", "/api/meta/apps/kit/versions", nil)
		versions := mustJSON(apps)
		_, toks := e.do("GET", "/api/auth/tokens", nil)
		tokens := len(toks["items"].([]any))
		_, us := e.do("GET", "/api/admin/users", nil)
		users := len(us["items"].([]any))
		_, ts := e.do("GET", "/api/admin/teams", nil)
		teams := mustJSON(ts)
		unchanged := func(what string) {
			t.Helper()
			if got := mustJSON(e.get("item", id)); got != before {
				t.Errorf("%s: the record changed:\n%s\n%s", what, before, got)
			}
			if n := e.count("item"); n != items {
				t.Errorf("%s: %d items, want %d", what, n, items)
			}
			if _, v := e.do("GET", "/api/meta/apps/kit/versions", nil); mustJSON(v) != versions {
				t.Errorf("%s: the app's versions changed", what)
			}
			if _, v := e.do("GET", "/api/auth/tokens", nil); len(v["items"].([]any)) != tokens {
				t.Errorf("%s: a token was created", what)
			}
			if _, v := e.do("GET", "/api/admin/users", nil); len(v["items"].([]any)) != users {
				t.Errorf("%s: a user was created", what)
			}
			if _, v := e.do("GET", "/api/admin/teams", nil); mustJSON(v) != teams {
				t.Errorf("%s: the teams changed", what)
			}
		}
		label := `"label": "Test kit",`
		if !strings.Contains(kitApp, label) {
			t.Fatal("kitApp has no label to replace")
		}
		for _, h := range hostileStrings {
			for _, c := range []struct {
				method, path, body, pointer string
			}{
				{"POST", "/api/data/kit/item", `{"title": ` + h.json + `}`, "/title"},
				{"POST", "/api/data/kit/item", `{"title": "ok", "tags": ["a", ` + h.json + `]}`, "/tags/1"},
				{"POST", "/api/data/kit/item", `{"title": "ok", "meta": {"deep": [` + h.json + `]}}`, "/meta/deep/0"},
				{"POST", "/api/data/kit/item", `{"title": "ok", ` + h.json + `: 1}`, ""},
				{"PATCH", "/api/data/kit/item/" + id, `{"version": 1, "title": ` + h.json + `}`, "/title"},
				{"PATCH", "/api/data/kit/item/" + id, `{"version": 1, "notes": ` + h.json + `}`, "/notes"},
				{"POST", "/api/auth/tokens", `{"name": ` + h.json + `}`, "/name"},
				{"POST", "/api/admin/users", `{"email": "new@example.com", "password": "new password 1", "name": ` + h.json + `}`, "/name"},
				{"POST", "/api/admin/users", `{"email": ` + h.json + `, "password": "new password 1", "name": "New"}`, "/email"},
				{"POST", "/api/admin/teams", `{"name": ` + h.json + `}`, "/name"},
				{"POST", "/api/meta/apps", strings.Replace(kitApp, label, `"label": `+h.json+`,`, 1), "/label"},
				{"POST", "/api/meta/apps", strings.Replace(kitApp, `"name": "title"`, `"name": "title", "label": `+h.json, 1), "/entities/1/fields/0/label"},
				{"POST", "/api/meta/apps/kit/scripts/test", `{"entity": "item", "formula": "total", "record": {"title": ` + h.json + `}}`, "/record/title"},
			} {
				what := fmt.Sprintf("%s %s %s", h.name, c.method, c.path)
				st, body := e.do(c.method, c.path, c.body)
				wantRefused(t, what, st, body, h.status, c.pointer)
				unchanged(what)
			}
		}

		// Duplicate keys, at any depth, are refused at their pointer.
		for _, c := range []struct {
			method, path, body, pointer string
		}{
			{"POST", "/api/data/kit/item", `{"title": "a", "title": "b"}`, "/title"},
			{"POST", "/api/data/kit/item", `{"title": "a", "\u0074itle": "b"}`, "/title"},
			{"POST", "/api/data/kit/item", `{"title": "a", "meta": {"x": 1, "y": {"z": [1, {"k": 1, "k": 2}]}}}`, "/meta/y/z/1/k"},
			{"PATCH", "/api/data/kit/item/" + id, `{"version": 1, "title": "a", "version": 1}`, "/version"},
			{"POST", "/api/auth/tokens", `{"name": "a", "name": "b"}`, "/name"},
			{"POST", "/api/admin/teams", `{"name": "a", "name": "b"}`, "/name"},
			{"POST", "/api/meta/apps", strings.Replace(kitApp, label, `"label": "x", "label": "y",`, 1), "/label"},
			{"POST", "/api/meta/apps", strings.Replace(kitApp, `"name": "title"`, `"name": "title", "name": "heading"`, 1), "/entities/1/fields/0/name"},
			{"POST", "/api/meta/apps/kit/scripts/test", `{"entity": "item", "entity": "account"}`, "/entity"},
		} {
			what := "duplicate key: " + c.method + " " + c.path + " " + clip(c.body)
			st, body := e.do(c.method, c.path, c.body)
			wantRefused(t, what, st, body, 422, c.pointer)
			unchanged(what)
		}

		// What is fine is still fine: escapes, pairs, every script.
		ok := e.create("item", map[string]any{"title": "pair 😀 \u00e9 广州 \ufffd"})
		st, body := e.do("POST", "/api/data/kit/item", `{"title": "\ud83d\ude00 \u00e9 \"q\" \\ \/", "meta": {"a": {"b": 1}, "c": {"b": 2}}}`)
		if st != 201 || body["title"] != `😀 é "q" \ /` {
			t.Errorf("escapes: %d %v", st, body)
		}
		if ok["title"] != "pair 😀 é 广州 \ufffd" {
			t.Errorf("a U+FFFD sent as such is kept: %v", ok["title"])
		}
	})
}

// A NUL or invalid UTF-8 in the path, the query or the Authorization header
// is refused before routing with a 400 in the error shape, on both
// databases: it never reaches a query, and nothing changes.
func TestHostileRequestLine(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		id := str(e.create("item", map[string]any{"title": "kept"})["id"])
		items := e.count("item")
		for _, p := range []string{
			"/api/data/kit/item/%00", "/api/data/kit/item/" + id + "%00", "/api/data/kit/item/%ff", "/api/data/kit/item/%c0%80",
			"/api/data/kit/item/%ed%a0%80", "/api/data/k%00it/item", "/api/meta/apps/kit%00", "/api/meta/apps/k%e5%b9/versions",
			"/api/data/kit/item?filter=" + q(`title = "a`+"\x00"+`"`), "/api/data/kit/item?filter=%ff", "/api/data/kit/item?sort=%c0%80",
			"/api/data/kit/item?cursor=%00", "/api/data/kit/item?x%00=1", "/api/admin/audit?action=login%00",
			"/api/admin/audit?cursor=%ff", "/api/meta/apps/kit/scripts/log?entity=%00", "/api/meta/apps/kit/scripts/log?script=%ed%a0%80",
			"/api/directory/users?q=%00", "/api/auth/tokens/%00", "/api/%00", "/%00", "/api/nope%ff",
		} {
			for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
				st, body := e.do(m, p, map[string]any{"title": "x", "version": 1})
				wantErr(t, m+" "+p, st, body, 400, "bad_request")
			}
		}
		if n := e.count("item"); n != items {
			t.Errorf("%d items, want %d", n, items)
		}
		e.get("item", id)

		// The same bytes unencoded, and in the Authorization header, over a
		// real connection (an HTTP client would refuse to send them).
		addr := e.listen(e.app)
		for _, req := range []string{
			"GET /api/data/kit/item/\xff HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token + "\r\n\r\n",
			"GET /api/data/kit/item/\xed\xa0\x80 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token + "\r\n\r\n",
			"GET /api/data/kit/item?filter=\xc0\x80 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token + "\r\n\r\n",
			"GET /api/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token + "\x00\r\n\r\n",
			"GET /api/auth/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff" + e.token + "\r\n\r\n",
			"DELETE /api/data/kit/item/" + id + "\xff HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token + "\r\n\r\n",
		} {
			st, body := exchange(t, addr, req)
			wantErr(t, fmt.Sprintf("%q", req[:min(len(req), 50)]), st, body, 400, "bad_request")
		}
		e.get("item", id)
	})
}

// A login refused for its body is counted by the throttle and audited, on
// both databases: for the address always, for the account when the body
// names an email that can be read as sent.
func TestRefusedLoginCountedAndAudited(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		if _, err := e.acc.CreateUser(ctx, "victim@example.com", "victim password 1", "Victim", false); err != nil {
			t.Fatal(err)
		}
		addrFailures := func() int {
			t.Helper()
			var n int
			if err := e.db.SQL.QueryRow(`SELECT COALESCE(SUM(failures), 0) FROM _forma_login_attempts WHERE "key" LIKE 'addr:%'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		lastFailed := func() map[string]any {
			t.Helper()
			_, page := e.do("GET", "/api/admin/audit?action=login_failed&limit=1", nil)
			it := items(t, page)
			if len(it) != 1 {
				t.Fatalf("no login_failed entry: %v", page)
			}
			return it[0]
		}

		// An email that cannot be read as sent: the address counts, the
		// audit entry says why, with no target.
		for _, h := range hostileStrings {
			n := addrFailures()
			st, body := e.doAs("", "POST", "/api/auth/login", `{"email": `+h.json+`, "password": "x"}`)
			wantRefused(t, "login "+h.name, st, body, h.status, "/email")
			if got := addrFailures(); got != n+1 {
				t.Errorf("login %s: address failures %d, want %d", h.name, got, n+1)
			}
			entry := lastFailed()
			detail, _ := entry["detail"].(map[string]any)
			if str(entry["target"]) != "" || str(detail["reason"]) != errCode(t, body) {
				t.Errorf("login %s: audit %v", h.name, entry)
			}
			if h.status == 422 && str(detail["email"]) == "" {
				t.Errorf("login %s: the audit does not say what was wrong with the email: %v", h.name, entry)
			}
		}

		// A clean email in a refused body counts against that account: five
		// refusals, and the right password is then throttled too.
		for i, body := range []string{
			`{"email": "victim@example.com", "email": "victim@example.com", "password": "x"}`,
			`{"email": "victim@example.com", "password": "\u0000"}`,
			`{"email": "Victim@Example.com", "password": "` + "\xff" + `"}`,
			`{"email": "victim@example.com"}`,
			`{"email": "victim@example.com", "password": "x", "extra": 1}`,
		} {
			st, resp := e.doAs("", "POST", "/api/auth/login", body)
			if st != 422 {
				t.Errorf("refused login %d: %d %v", i, st, resp)
			}
			if entry := lastFailed(); str(entry["target"]) != "victim@example.com" {
				t.Errorf("refused login %d: audit target %v", i, entry)
			}
		}
		st, body := e.doAs("", "POST", "/api/auth/login", map[string]any{"email": "victim@example.com", "password": "victim password 1"})
		wantErr(t, "login after five refused bodies", st, body, 429, "too_many_attempts")
		if entry := lastFailed(); str(entry["target"]) != "victim@example.com" {
			t.Errorf("throttled login: audit %v", entry)
		}
		// Once throttled, a refused body is answered as throttled too.
		st, body = e.doAs("", "POST", "/api/auth/login", `{"email": "x", "email": "victim@example.com"}`)
		wantErr(t, "refused body when throttled", st, body, 429, "too_many_attempts")
	})
}

// Nothing the audit log stores can be text PostgreSQL refuses: a target
// with a NUL or invalid UTF-8 is kept escaped, not altered silently.
func TestAuditStoresEscapedTarget(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		if err := e.acc.Audit(context.Background(), access.Entry{Action: access.AuditLoginFailed, Target: "a\x00b\xffc", IP: "1.2.3.4\x00"}); err != nil {
			t.Fatal(err)
		}
		_, page := e.do("GET", "/api/admin/audit?limit=1", nil)
		if it := items(t, page); len(it) != 1 || str(it[0]["target"]) != `a\x00b\xffc` || str(it[0]["ip"]) != `1.2.3.4\x00` {
			t.Errorf("audit: %v", page)
		}
	})
}

// listen serves app on a real listener until the test ends.
func (e *env) listen(app *fiber.App) string {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go app.Listener(ln)
	e.t.Cleanup(func() { app.Shutdown() })
	return ln.Addr().String()
}

// exchange writes req as is on a new connection and reads the answer,
// which must be in the error shape when it is not a 2xx.
func exchange(t *testing.T, addr, req string) (int, map[string]any) {
	t.Helper()
	st, body, _ := exchangeClosing(t, addr, req, false)
	return st, body
}

// exchangeClosing is exchange that, with check, also reports whether the
// server closed the connection after its answer.
func exchangeClosing(t *testing.T, addr, req string, check bool) (int, map[string]any, bool) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	st, body := readAnswer(t, br, req)
	if !check {
		return st, body, false
	}
	conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = br.Peek(1)
	return st, body, errors.Is(err, io.EOF)
}

func readAnswer(t *testing.T, br *bufio.Reader, req string) (int, map[string]any) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%q: %v", clip(req), err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		t.Fatalf("%q: %d, body not JSON: %q", clip(req), resp.StatusCode, clip(string(raw)))
	}
	if resp.StatusCode >= 300 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("%q: %d with Content-Type %q", clip(req), resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, out
}

// newServer builds another API server on e's database and accounts, with
// ReadTimeout and UI set.
func (e *env) newServer(read time.Duration, ui fstest.MapFS) *fiber.App {
	cat := store.NewCatalog(e.db)
	srv := &api.Server{DB: e.db, Catalog: cat, Access: e.acc, Records: records.New(e.db, cat), ReadTimeout: read,
		Log: slog.New(slog.NewTextHandler(testLog{e.t}, nil))}
	if ui != nil {
		srv.UI = ui
	}
	return srv.New()
}

// The HTTP edge holds under odd clients, on both databases: smuggling
// framings are refused and the connection closed, unknown methods and
// routes answer JSON, oversized headers a JSON 431; the server has read,
// write and idle timeouts.
func TestEdgeFraming(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		app := e.newServer(0, fstest.MapFS{"index.html": {Data: []byte("<!doctype html><title>Forma</title>")}})
		if s := app.Server(); s.ReadTimeout != api.DefaultReadTimeout || s.WriteTimeout != api.DefaultWriteTimeout ||
			s.IdleTimeout != api.DefaultIdleTimeout || s.ReadBufferSize != api.MaxHeaderBytes {
			t.Errorf("server limits: read %s, write %s, idle %s, header buffer %d", s.ReadTimeout, s.WriteTimeout, s.IdleTimeout, s.ReadBufferSize)
		}
		addr := e.listen(app)
		items := e.count("item")
		auth := "Authorization: Bearer " + e.token + "\r\n"
		create := "POST /api/data/kit/item HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\n"
		rec := `{"title": "smuggled"}`
		smuggled := create + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(rec), rec)

		// Two different lengths: refused, the connection closed, nothing
		// written (not even the request hidden behind the shorter length).
		for _, req := range []string{
			create + fmt.Sprintf("Content-Length: %d\r\nContent-Length: %d\r\n\r\n%s", len(rec), len(rec)+len(smuggled), rec+smuggled),
			create + fmt.Sprintf("Content-Length: %d\r\nContent-Length: %d\r\n\r\n%s", len(rec)+len(smuggled), len(rec), rec+smuggled),
			// Transfer-Encoding with Content-Length (RFC 9112 §6.3).
			create + fmt.Sprintf("Content-Length: %d\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n%s", len(rec), len(rec), rec, smuggled),
			create + fmt.Sprintf("Transfer-Encoding: chunked\r\ncontent-length: 3\r\n\r\n%x\r\n%s\r\n0\r\n\r\n%s", len(rec), rec, smuggled),
		} {
			st, body, closed := exchangeClosing(t, addr, req, true)
			wantErr(t, fmt.Sprintf("framing %q", clip(req[len(create):])), st, body, 400, "bad_request")
			if !closed {
				t.Errorf("framing %q: the connection stays open", clip(req[len(create):]))
			}
		}
		// The same length twice is one length (RFC 9112 §6.3).
		if st, body := exchange(t, addr, create+fmt.Sprintf("Content-Length: %d\r\nContent-Length: %d\r\n\r\n%s", len(rec), len(rec), rec)); st != 201 {
			t.Errorf("repeated equal Content-Length: %d %v", st, body)
		}
		if n := e.count("item"); n != items+1 {
			t.Errorf("%d items, want %d: a refused request wrote", n, items+1)
		}

		// Unknown methods and routes answer in the error shape; /api never
		// falls through to the web UI, whatever the path holds.
		for _, c := range []struct {
			req    string
			status int
			code   string
		}{
			{"FOO /api/health HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented"},
			{create + "Transfer-Encoding: gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501, "not_implemented"},
			{"PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\n", 501, "not_implemented"},
			{"GET /api/nope HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"},
			{"GET /api/ HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"},
			{"PUT /api/data/kit/item HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 404, "not_found"},
			{"GET /api/\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"},
			{"GET /api%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"},
			{"GET /api/%00/x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"},
			{"GET /api/data/kit/item/%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request"},
			{"GET /api/x HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", api.MaxHeaderBytes) + "\r\n\r\n", 431, "headers_too_large"},
		} {
			st, body := exchange(t, addr, c.req)
			wantErr(t, fmt.Sprintf("%q", clip(c.req)), st, body, c.status, c.code)
		}
	})
}

// A client that sends half a request is cut off within the read timeout
// (plus the body's allowance), not held: on both databases.
func TestEdgeSlowClient(t *testing.T) {
	const read = time.Second
	each(t, func(t *testing.T, e *env) {
		addr := e.listen(e.newServer(read, nil))
		items := e.count("item")
		rec := `{"title": "half"}`
		for _, c := range []struct {
			what, req string
			within    time.Duration
		}{
			{"nothing sent", "", read},
			{"half a request line", "GET /api/hea", read},
			{"half the headers", "GET /api/health HTTP/1.1\r\nHost: x\r\n", read},
			{"half a body", "POST /api/data/kit/item HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + e.token +
				"\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n" + rec, 2 * read},
		} {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			conn.SetDeadline(start.Add(c.within + 5*time.Second))
			if _, err := conn.Write([]byte(c.req)); err != nil {
				t.Fatal(err)
			}
			// The server may answer 408 before it closes; either way the
			// connection must end, well before the generous deadline.
			answer, err := io.ReadAll(conn)
			took := time.Since(start)
			conn.Close()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || took > c.within+3*time.Second {
				t.Errorf("%s: still open after %s (limit %s)", c.what, took.Round(time.Millisecond), c.within)
			}
			t.Logf("%s: %d bytes after %s", c.what, len(answer), took)
			if len(answer) > 0 {
				st, body := readAnswer(t, bufio.NewReader(strings.NewReader(string(answer))), c.req)
				wantErr(t, c.what, st, body, 408, "request_timeout")
			}
		}
		if n := e.count("item"); n != items {
			t.Errorf("%d items, want %d: a half request wrote", n, items)
		}
		// A whole request on the same server is served.
		if st, _ := exchange(t, addr, "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"); st != 200 {
			t.Errorf("health: %d", st)
		}
	})
}
