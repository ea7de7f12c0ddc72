package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/assign"
	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/bulk"
	"github.com/formaapp/forma/engine/flow"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/jobs/jobstest"
	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/scriptlog"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/engine/webhook"
	"github.com/formaapp/forma/templates"
)

const (
	adminEmail    = "admin@example.com"
	adminPassword = "correct horse battery"
)

// kitApp is the test app: "item" holds one field of every type, "account"
// is what item refs point at (restrict), "note" refs item with setNull, and
// "secret" is a sentinel that injection attempts must leave alone. Its
// scripts may run for 2 s: the tests that use it are not about script time
// limits (logic_test.go's shop app is), and on a loaded 2-core machine a
// trivial formula's wall time can pass the default 100 ms.
const kitApp = `{
  "name": "kit",
  "label": "Test kit",
  "settings": {"scriptTimeoutMs": 2000},
  "entities": [
    {"id": "e_account", "name": "account", "fields": [
      {"id": "a1", "name": "name", "type": "text", "required": true, "maxLength": 100},
      {"id": "a2", "name": "item_count", "type": "rollup", "rollup": {"entity": "item", "via": "account", "op": "count"}}
    ]},
    {"id": "e_item", "name": "item", "fields": [
      {"id": "i1",  "name": "title",      "type": "text", "required": true, "maxLength": 200},
      {"id": "i2",  "name": "notes",      "type": "longtext"},
      {"id": "i3",  "name": "qty",        "type": "integer"},
      {"id": "i4",  "name": "amount",     "type": "decimal", "precision": 18, "scale": 2},
      {"id": "i5",  "name": "done",       "type": "boolean"},
      {"id": "i6",  "name": "due",        "type": "date"},
      {"id": "i7",  "name": "at",         "type": "datetime"},
      {"id": "i8",  "name": "stage",      "type": "select", "options": ["lead", "won", "lost"]},
      {"id": "i9",  "name": "tags",       "type": "multiselect", "options": ["a", "b", "vip"]},
      {"id": "i10", "name": "email",      "type": "email", "unique": true},
      {"id": "i11", "name": "phone",      "type": "phone"},
      {"id": "i12", "name": "site",       "type": "url"},
      {"id": "i13", "name": "account",    "type": "ref", "entity": "account", "onDelete": "restrict"},
      {"id": "i14", "name": "assignee",   "type": "user"},
      {"id": "i15", "name": "attachment", "type": "file"},
      {"id": "i16", "name": "meta",       "type": "json"},
      {"id": "i17", "name": "total",      "type": "formula", "expr": "amount > 0", "returns": "boolean"},
      {"id": "i18", "name": "number",     "type": "autonumber"}
    ]},
    {"id": "e_note", "name": "note", "fields": [
      {"id": "n1", "name": "body", "type": "text"},
      {"id": "n2", "name": "item", "type": "ref", "entity": "item", "onDelete": "setNull"}
    ]},
    {"id": "e_secret", "name": "secret", "fields": [
      {"id": "s1", "name": "value", "type": "text"}
    ]}
  ]
}`

// testLog shows the server's log (errors behind 500 answers) in the test's.
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Logf("server: %s", p)
	return len(p), nil
}

// testScrapeToken is the /metrics scrape token of test servers.
const testScrapeToken = "scrape-token-for-tests"

// env is a running API on one test database, with a logged-in admin.
type env struct {
	t       *testing.T
	db      *store.DB
	acc     *access.Service
	app     *fiber.App
	token   string // the admin's session token
	admin   *access.User
	dialect string
	jobs    *jobs.Queue // nil unless newEnvJobs(…, true)
	recs    *records.Service
	autos   *automation.Service
	hooks   *webhook.Service
	assign  *assign.Service
	bulkSvc *bulk.Service
	plugins *plugin.Service // nil unless newEnvPlugins
	logs    *logCopy        // every line the server logged
	lang    string          // Accept-Language of every request ("": none)
}

// logCopy keeps the server's log lines, for tests that grep them.
type logCopy struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logCopy) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logCopy) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// eventually polls cond until it holds or 30 seconds passed (jobs run
// asynchronously; the bound is generous for a busy machine).
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newEnv starts the API on db, creates an admin, logs in, and applies doc
// when it is not empty. After-hooks run inline (there is no job queue).
func newEnv(t *testing.T, db *store.DB, doc string) *env {
	t.Helper()
	return newEnvJobs(t, db, doc, nil)
}

// newEnvJobs is newEnv with, when opts is not nil, a running job queue
// (after-hooks are its jobs), polling every 20ms unless opts says.
func newEnvJobs(t *testing.T, db *store.DB, doc string, opts *jobs.Options) *env {
	t.Helper()
	return newEnvFull(t, db, doc, opts, nil)
}

// newEnvPlugins is newEnv with the plugin service, opened with popts
// (its routes and the inbound route are served).
func newEnvPlugins(t *testing.T, db *store.DB, doc string, popts plugin.Options) *env {
	t.Helper()
	return newEnvFull(t, db, doc, nil, &popts)
}

func newEnvFull(t *testing.T, db *store.DB, doc string, opts *jobs.Options, popts *plugin.Options) *env {
	t.Helper()
	ctx := context.Background()
	acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	cat := store.NewCatalog(db)
	recs := records.New(db, cat)
	sl := scriptlog.New(db, 0)
	recs.SetScriptLog(sl)
	logs := &logCopy{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(testLog{t}, logs), nil))
	var q *jobs.Queue
	if opts != nil {
		o := *opts
		if o.PollInterval == 0 {
			o.PollInterval = 20 * time.Millisecond
		}
		o.Log = log
		var err error
		if q, err = jobs.New(ctx, db, o); err != nil {
			t.Fatal(err)
		}
		if err := recs.UseJobs(q); err != nil {
			t.Fatal(err)
		}
	}
	// Automations check every applied document, and run with a queue.
	autos := automation.New(db, cat, recs, acc, q, log)
	hooks := webhook.New(db)
	autos.UseNotify(notify.New(db, acc))
	autos.UseWebhooks(hooks)
	if q != nil {
		if err := autos.Register(ctx); err != nil {
			t.Fatal(err)
		}
	} else if err := autos.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	flows := flow.New(db, cat, recs, acc, q, log)
	flows.UseAutomations(autos)
	if err := flows.Register(ctx); err != nil {
		t.Fatal(err)
	}
	asg := assign.New(db, cat, recs, acc, q, log)
	autos.UseAssigner(asg)
	if err := asg.Register(ctx); err != nil {
		t.Fatal(err)
	}
	bk := bulk.New(db, cat, recs, acc, q, log)
	if err := bk.Register(ctx); err != nil {
		t.Fatal(err)
	}
	if q != nil {
		jobstest.Start(t, ctx, q)
	}
	var plugs *plugin.Service
	if popts != nil {
		var err error
		if plugs, err = plugin.New(ctx, db, cat, recs, q, *popts, log); err != nil {
			t.Fatal(err)
		}
	}
	srv := &api.Server{Templates: templates.FS(), Plugins: plugs, Bulk: bk, DB: db, Catalog: cat, Access: acc, Records: recs, ScriptLog: sl, Jobs: q, Log: log, MetricsToken: testScrapeToken,
		Automations: autos, Webhooks: hooks, Flows: flows, Assign: asg}
	e := &env{t: t, db: db, acc: acc, app: srv.New(), dialect: db.Dialect.Name(), jobs: q, recs: recs, autos: autos, hooks: hooks, assign: asg, bulkSvc: bk, plugins: plugs, logs: logs}
	e.admin, err = acc.CreateUser(ctx, adminEmail, adminPassword, "Admin", true)
	if err != nil {
		t.Fatal(err)
	}
	e.token = e.login(adminEmail, adminPassword)
	if doc != "" {
		st, body := e.do("POST", "/api/meta/apps", doc)
		if st != 201 {
			t.Fatalf("apply app: %d %v", st, body)
		}
	}
	return e
}

// each runs fn on both dialects with a fresh env holding the kit app.
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fn(t, newEnv(t, db, kitApp))
	})
}

func (e *env) login(email, password string) string {
	e.t.Helper()
	st, body := e.doAs("", "POST", "/api/auth/login", map[string]any{"email": email, "password": password})
	if st != 200 {
		e.t.Fatalf("login %s: %d %v", email, st, body)
	}
	return body["token"].(string)
}

// do sends a request as the admin. body is nil (no body), a string or
// []byte (sent as is), or anything else (sent as JSON). The answer is parsed
// with UseNumber, so numbers keep their exact text; nil when empty.
func (e *env) do(method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	return e.doAs(e.token, method, path, body)
}

func (e *env) doAs(token, method, path string, body any) (int, map[string]any) {
	e.t.Helper()
	st, raw := e.raw(token, method, path, body)
	if len(raw) == 0 {
		return st, nil
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		e.t.Fatalf("%s %s: answer %d is not a JSON object: %v\n%s", method, path, st, err, clip(string(raw)))
	}
	return st, out
}

// raw sends a request and returns the status and body bytes.
func (e *env) raw(token, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, "http://forma.test"+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if e.lang != "" {
		req.Header.Set("Accept-Language", e.lang)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, out
}

// errCode returns the error code of an error answer, failing the test when
// the answer does not have the error shape of DESIGN.md.
func errCode(t *testing.T, body map[string]any) string {
	t.Helper()
	eo, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("answer has no error object: %v", body)
	}
	code, _ := eo["code"].(string)
	if msg, _ := eo["message"].(string); code == "" || msg == "" {
		t.Fatalf("error without code or message: %v", body)
	}
	return code
}

// details returns the paths of an error's details.
func details(t *testing.T, body map[string]any) []string {
	t.Helper()
	eo, _ := body["error"].(map[string]any)
	ds, _ := eo["details"].([]any)
	var paths []string
	for _, d := range ds {
		m, _ := d.(map[string]any)
		p, _ := m["path"].(string)
		if msg, _ := m["message"].(string); msg == "" {
			t.Errorf("detail without a message: %v", d)
		}
		paths = append(paths, p)
	}
	return paths
}

// wantErr checks an error answer's status and code.
func wantErr(t *testing.T, what string, st int, body map[string]any, status int, code string) {
	t.Helper()
	if st != status {
		t.Errorf("%s: status %d, want %d (%v)", what, st, status, body)
		return
	}
	if got := errCode(t, body); got != code {
		t.Errorf("%s: code %q, want %q (%v)", what, got, code, body)
	}
}

// wantDetail checks that an error answer has a detail at path.
func wantDetail(t *testing.T, what string, body map[string]any, path string) {
	t.Helper()
	for _, p := range details(t, body) {
		if p == path {
			return
		}
	}
	t.Errorf("%s: no detail at %q in %v", what, path, body)
}

// qualify names an entity of the kit app, unless entity is "app/entity".
func qualify(entity string) string {
	if strings.Contains(entity, "/") {
		return entity
	}
	return "kit/" + entity
}

// count returns the number of rows of an entity of the kit app (or of
// "app/entity").
func (e *env) count(entity string) int {
	e.t.Helper()
	var n int
	if err := e.db.SQL.QueryRow(`SELECT COUNT(*) FROM "` + strings.Replace(qualify(entity), "/", "_", 1) + `"`).Scan(&n); err != nil {
		e.t.Fatalf("count %s: %v", entity, err)
	}
	return n
}

// create posts a record and returns it, failing on anything but 201.
func (e *env) create(entity string, rec map[string]any) map[string]any {
	e.t.Helper()
	st, body := e.do("POST", "/api/data/"+qualify(entity), rec)
	if st != 201 {
		e.t.Fatalf("create %s %v: %d %v", entity, rec, st, body)
	}
	return body
}

// get reads one record, failing on anything but 200.
func (e *env) get(entity, id string) map[string]any {
	e.t.Helper()
	st, body := e.do("GET", "/api/data/"+qualify(entity)+"/"+id, nil)
	if st != 200 {
		e.t.Fatalf("get %s/%s: %d %v", entity, id, st, body)
	}
	return body
}

// mustJSON is the canonical JSON of v, for comparing records.
func mustJSON(v any) string {
	j, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(j)
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// items returns the items of a list answer.
func items(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	arr, ok := body["items"].([]any)
	if !ok {
		t.Fatalf("list answer without items: %v", body)
	}
	out := make([]map[string]any, len(arr))
	for i, it := range arr {
		out[i] = it.(map[string]any)
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%v: %v", v, err)
	}
	return i
}

// rawHeader sends a bodiless request with the given Authorization header.
func (e *env) rawHeader(authorization, method, path string) (int, []byte) {
	e.t.Helper()
	req := httptest.NewRequest(method, "http://forma.test"+path, nil)
	req.Header.Set("Authorization", authorization)
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// q escapes a query parameter value.
func q(s string) string { return url.QueryEscape(s) }

// announceBody sends, through a real listener, the headers of a request
// whose body would be size bytes, and returns the server's answer. The
// server must refuse such a body from its Content-Length alone, before
// reading it. (app.Test cannot show this answer: fasthttp then fails the
// test connection instead of returning the response.)
func (e *env) announceBody(method, path string, size int) (int, map[string]any) {
	e.t.Helper()
	return e.rawRequest(fmt.Sprintf("%s %s HTTP/1.1\r\nHost: forma.test\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{",
		method, path, e.token, size))
}

// rawRequest writes req as is to a real listener and reads the answer.
func (e *env) rawRequest(req string) (int, map[string]any) {
	e.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go e.app.Listener(ln)
	defer e.app.Shutdown()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		e.t.Fatalf("%s: %v", clip(req), err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		e.t.Fatalf("%s: %d, body not JSON: %v", clip(req), resp.StatusCode, err)
	}
	return resp.StatusCode, out
}
