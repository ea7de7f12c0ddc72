package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// echoManifest is a small plugin: an action that calls a declared host
// with a secret, logs, and answers; a trigger that hands on the form.
func echoFiles(version string) map[string]string {
	return map[string]string{
		"plugin.json": `{"name": "echo", "version": "` + version + `", "author": "Forma tests", "description": "Echoes.",
  "hosts": ["api.example.com"],
  "settings": {"type": "object", "properties": {"greeting": {"type": "string", "maxLength": 20}}, "additionalProperties": false},
  "secrets": {"type": "object", "properties": {"apiKey": {"type": "string"}}, "additionalProperties": false},
  "actions": [{"name": "send", "input": {"type": "object", "properties": {"text": {"type": "string"}, "fail": {"type": "boolean"}, "leak": {"type": "boolean"}}, "required": ["text"]},
               "output": {"type": "object"}}],
  "triggers": [{"name": "submission", "output": {"type": "object"}}]}`,
		"index.js": `function send(input) {
  var key = secrets.get("apiKey");
  log.info("sending with " + key);
  if (input.fail) { throw new Error("refused with key " + key); }
  if (input.leak) { return {leaked: key, greeting: settings.greeting}; }
  var r = http.request({method: "POST", url: "https://api.example.com/send", headers: {"authorization": "Bearer " + key}, json: {text: input.text}});
  return {status: r.status, greeting: settings.greeting || ""};
}
function submission(req) { if (req.json) { return req.json; } return req.form || null; }
`,
	}
}

// packZip writes a package's .zip: signed by key as forma plugin pack
// writes it (plugin.Pack: canonical, the signature over the content's
// digest), or unsigned when key is nil.
func packZip(t *testing.T, files map[string]string, key ed25519.PrivateKey) []byte {
	t.Helper()
	if key != nil {
		fsys := fstest.MapFS{}
		for n, c := range files {
			fsys[n] = &fstest.MapFile{Data: []byte(c)}
		}
		pkg, err := plugin.ReadFolder(fsys)
		if err != nil {
			t.Fatalf("read package: %v", err)
		}
		zipped, err := plugin.Pack(pkg, key)
		if err != nil {
			t.Fatal(err)
		}
		return zipped
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// send is a request with its own content type and headers; it answers the
// status, the headers and the body.
func (e *env) send(token, method, path, ctype string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	e.t.Helper()
	req := httptest.NewRequest(method, "http://forma.test"+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func decodeAnswer(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, clip(string(raw)))
	}
	return m
}

// pluginEnv runs fn on both dialects with the plugin service (unsigned
// packages allowed when asked, api.example.com answered by fake).
func pluginEnv(t *testing.T, doc string, fake http.HandlerFunc, fn func(t *testing.T, e *env)) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := plugin.Options{SecretKey: bytes.Repeat([]byte{7}, 32), AllowUnsigned: true}
		if fake != nil {
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			opts.Transport = redirectTransport{srv.URL}
		}
		fn(t, newEnvPlugins(t, db, doc, opts))
	})
}

// redirectTransport sends every request to the fake server (the host and
// scheme are the plugin's; only the connection goes elsewhere).
type redirectTransport struct{ base string }

func (r redirectTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	u := *req.URL
	target := r.base + u.RequestURI()
	out, err := http.NewRequestWithContext(req.Context(), req.Method, target, req.Body)
	if err != nil {
		return nil, err
	}
	out.Header = req.Header.Clone()
	out.Header.Set("X-Original-Host", req.URL.Host)
	return http.DefaultTransport.RoundTrip(out)
}

// rep creates a user who is no admin and logs in.
func (e *env) rep() string {
	e.t.Helper()
	if _, err := e.acc.CreateUser(context.Background(), "rep@example.com", adminPassword, "Rep", false); err != nil {
		e.t.Fatal(err)
	}
	return e.login("rep@example.com", adminPassword)
}

// Every plugin route wants a session, and an admin's; the inbound route
// wants neither (its token is checked by the connector).
func TestPluginRoutesNeedAdmin(t *testing.T) {
	pluginEnv(t, kitApp, nil, func(t *testing.T, e *env) {
		rep := e.rep()
		routes := [][2]string{
			{"GET", "/api/admin/plugins"}, {"POST", "/api/admin/plugins"}, {"DELETE", "/api/admin/plugins/echo"},
			{"GET", "/api/admin/plugins/keys"}, {"POST", "/api/admin/plugins/keys"}, {"DELETE", "/api/admin/plugins/keys/0123456789abcdef"},
			{"GET", "/api/meta/apps/kit/plugins"}, {"GET", "/api/meta/apps/kit/plugins/echo"}, {"PUT", "/api/meta/apps/kit/plugins/echo"},
			{"POST", "/api/meta/apps/kit/plugins/echo/test"}, {"GET", "/api/meta/apps/kit/plugins/echo/calls"},
			{"GET", "/api/meta/apps/kit/connectors/website"}, {"POST", "/api/meta/apps/kit/connectors/website/token"},
		}
		for _, r := range routes {
			st, body := e.doAs("", r[0], r[1], map[string]any{})
			wantErr(t, "anonymous "+r[0]+" "+r[1], st, body, 401, "unauthorized")
			st, body = e.doAs(rep, r[0], r[1], map[string]any{})
			wantErr(t, "rep "+r[0]+" "+r[1], st, body, 403, "forbidden")
		}
	})
}

// A configuration is read strictly: each bad body is refused with its
// pointer before anything is stored or looked up.
func TestPluginConfigRefusesBadInput(t *testing.T) {
	pluginEnv(t, kitApp, nil, func(t *testing.T, e *env) {
		const path = "/api/meta/apps/kit/plugins/echo"
		cases := []struct {
			what   string
			body   string
			status int
			code   string
			at     string
		}{
			{"not JSON", `{"enabled": tru`, 400, "invalid_json", ""},
			{"array", `[]`, 400, "invalid_json", ""},
			{"two values", `{} {}`, 400, "invalid_json", ""},
			{"empty", ``, 400, "invalid_json", ""},
			{"duplicate key", `{"enabled": true, "enabled": false}`, 422, "validation_failed", "/enabled"},
			{"unknown key", `{"enabled": true, "colour": "red"}`, 422, "validation_failed", "/colour"},
			{"case of a key", `{"Enabled": true}`, 422, "validation_failed", "/Enabled"},
			{"enabled type", `{"enabled": "yes"}`, 422, "validation_failed", "/enabled"},
			{"allowPrivate type", `{"allowPrivate": 1}`, 422, "validation_failed", "/allowPrivate"},
			{"settings type", `{"settings": ["a"]}`, 422, "validation_failed", "/settings"},
			{"secrets type", `{"secrets": "k"}`, 422, "validation_failed", "/secrets"},
			{"secret type", `{"secrets": {"apiKey": 5}}`, 422, "validation_failed", "/secrets/apiKey"},
			{"secret object", `{"secrets": {"a/b": {"x": 1}}}`, 422, "validation_failed", "/secrets/a~1b"},
			{"NUL in a setting", `{"settings": {"greeting": "a\u0000b"}}`, 422, "validation_failed", "/settings/greeting"},
			{"lone surrogate", `{"secrets": {"apiKey": "\ud800"}}`, 422, "validation_failed", "/secrets/apiKey"},
			{"invalid UTF-8", "{\"settings\": {\"greeting\": \"\xff\"}}", 422, "validation_failed", "/settings/greeting"},
			{"too large", `{"settings": {"greeting": "` + strings.Repeat("x", 300<<10) + `"}}`, 413, "payload_too_large", ""},
		}
		for _, c := range cases {
			st, _, raw := e.send(e.token, "PUT", path, "application/json", []byte(c.body), nil)
			body := decodeAnswer(t, raw)
			wantErr(t, c.what, st, body, c.status, c.code)
			if c.at != "" && st == c.status {
				wantDetail(t, c.what, body, c.at)
			}
		}
		// A good body for an app that does not exist: 404 before the service.
		st, body := e.do("PUT", "/api/meta/apps/nope/plugins/echo", map[string]any{"enabled": true})
		wantErr(t, "unknown app", st, body, 404, "not_found")
	})
}

// The install route takes a zip, raw or as the multipart part "file",
// up to its own limit, and nothing else.
func TestPluginInstallRefusesBadUploads(t *testing.T) {
	pluginEnv(t, "", nil, func(t *testing.T, e *env) {
		zipBytes := packZip(t, echoFiles("1.0.0"), nil)
		two, twoType := multipartBody(part{name: "file", filename: "a.zip", body: zipBytes}, part{name: "other", filename: "b.zip", body: zipBytes})
		none, noneType := multipartBody(part{name: "name", body: []byte("echo")})
		extra, extraType := multipartBody(part{name: "file", filename: "a.zip", body: zipBytes}, part{name: "note", body: []byte("x")})
		cases := []struct {
			what, ctype string
			body        []byte
			hdr         map[string]string
			query       string
			status      int
			code        string
		}{
			{"plain text", "text/plain", zipBytes, nil, "", 415, "unsupported_media_type"},
			{"no content type", "", zipBytes, nil, "", 415, "unsupported_media_type"},
			{"empty zip body", "application/zip", nil, nil, "", 400, "bad_request"},
			{"compressed", "application/zip", zipBytes, map[string]string{"Content-Encoding": "gzip"}, "", 415, "unsupported_media_type"},
			{"two files", twoType, two, nil, "", 400, "bad_request"},
			{"no file", noneType, none, nil, "", 400, "bad_request"},
			{"a value beside", extraType, extra, nil, "", 400, "bad_request"},
			{"bad flag", "application/zip", zipBytes, nil, "?allowUnsigned=maybe", 400, "invalid_query"},
			{"too large", "application/zip", make([]byte, api.MaxPluginBytes+1), nil, "", 413, api.CodePluginTooLarge},
		}
		for _, c := range cases {
			st, _, raw := e.send(e.token, "POST", "/api/admin/plugins"+c.query, c.ctype, c.body, c.hdr)
			wantErr(t, c.what, st, decodeAnswer(t, raw), c.status, c.code)
		}
	})
}

// Install, refusals by kind, keys, upgrade keeping settings, removal.
func TestPluginLifecycle(t *testing.T) {
	pluginEnv(t, kitApp, nil, func(t *testing.T, e *env) {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		install := func(zip []byte, query string) (int, map[string]any) {
			st, _, raw := e.send(e.token, "POST", "/api/admin/plugins"+query, "application/zip", zip, nil)
			return st, decodeAnswer(t, raw)
		}
		st, body := install(packZip(t, echoFiles("1.0.0"), nil), "")
		wantErr(t, "unsigned", st, body, 422, api.CodePluginUnsigned)
		st, body = install(packZip(t, echoFiles("1.0.0"), priv), "")
		wantErr(t, "untrusted", st, body, 422, api.CodePluginUntrusted)
		tampered := packZip(t, echoFiles("1.0.0"), priv)
		i := bytes.Index(tampered, []byte("Echoes."))
		tampered[i] = 'e'
		st, body = install(tampered, "")
		wantErr(t, "tampered", st, body, 422, api.CodePluginSignature)
		bad := echoFiles("x")
		bad["plugin.json"] = strings.Replace(bad["plugin.json"], `"name": "echo"`, `"name": "Echo Plugin"`, 1)
		st, body = install(packZip(t, bad, nil), "?allowUnsigned=1")
		wantErr(t, "invalid manifest", st, body, 422, api.CodePluginInvalid)
		if st == 422 {
			wantDetail(t, "invalid manifest", body, "/name")
			wantDetail(t, "invalid manifest", body, "/version")
		}
		if st, body := e.do("GET", "/api/admin/plugins", nil); st != 200 || len(items(t, body)) != 0 {
			t.Fatalf("refused packages were installed: %d %v", st, body)
		}

		// Keys: bad ones refused with pointers, a good one trusted.
		for what, b := range map[string]string{
			"not base64":  `{"name": "ci", "publicKey": "###"}`,
			"short key":   `{"name": "ci", "publicKey": "` + base64.StdEncoding.EncodeToString([]byte("short")) + `"}`,
			"unknown key": `{"name": "ci", "publicKey": "` + base64.StdEncoding.EncodeToString(pub) + `", "trust": "all"}`,
		} {
			st, _, raw := e.send(e.token, "POST", "/api/admin/plugins/keys", "application/json", []byte(b), nil)
			wantErr(t, what, st, decodeAnswer(t, raw), 422, "validation_failed")
		}
		st, body = e.do("POST", "/api/admin/plugins/keys", map[string]any{"name": "ci", "publicKey": base64.StdEncoding.EncodeToString(pub)})
		if st != 201 {
			t.Fatalf("trust key: %d %v", st, body)
		}
		keyID := str(body["id"])
		st, body = install(packZip(t, echoFiles("1.0.0"), priv), "")
		if st != 201 || body["name"] != "echo" || body["signer"] != keyID || body["version"] != "1.0.0" {
			t.Fatalf("signed install: %d %v", st, body)
		}
		if st, body := e.do("GET", "/api/admin/plugins/keys", nil); st != 200 || len(items(t, body)) != 1 {
			t.Errorf("keys: %d %v", st, body)
		}

		// Settings survive an upgrade.
		if st, body := e.do("PUT", "/api/meta/apps/kit/plugins/echo", map[string]any{"enabled": true, "settings": map[string]any{"greeting": "hi"}}); st != 200 || body["enabled"] != true {
			t.Fatalf("configure: %d %v", st, body)
		}
		st, body = e.do("PUT", "/api/meta/apps/kit/plugins/echo", map[string]any{"settings": map[string]any{"greeting": strings.Repeat("x", 30)}})
		wantErr(t, "setting against its schema", st, body, 422, "validation_failed")
		wantDetail(t, "setting against its schema", body, "/settings/greeting")
		st, body = install(packZip(t, echoFiles("1.1.0"), priv), "")
		if st != 201 || body["version"] != "1.1.0" {
			t.Fatalf("upgrade: %d %v", st, body)
		}
		if st, body := e.do("GET", "/api/meta/apps/kit/plugins/echo", nil); st != 200 || mustJSON(body["settings"]) != `{"greeting":"hi"}` || body["enabled"] != true {
			t.Errorf("settings after upgrade: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/meta/apps/kit/plugins", nil)
		if st != 200 || len(items(t, body)) != 1 {
			t.Fatalf("app plugins: %d %v", st, body)
		}
		if it := items(t, body)[0]; it["usedBy"] != nil || it["config"] == nil || it["name"] != "echo" {
			t.Errorf("app plugin item: %v", it)
		}

		// Removal.
		st, _, raw := e.send(e.token, "DELETE", "/api/admin/plugins/keys/"+keyID, "", nil, nil)
		if st != 204 {
			t.Errorf("remove key: %d %s", st, raw)
		}
		st, _, raw = e.send(e.token, "DELETE", "/api/admin/plugins/keys/"+keyID, "", nil, nil)
		wantErr(t, "remove key again", st, decodeAnswer(t, raw), 404, api.CodePluginNotFound)
		st, _, raw = e.send(e.token, "DELETE", "/api/admin/plugins/echo", "", nil, nil)
		if st != 204 {
			t.Errorf("remove: %d %s", st, raw)
		}
		st, _, raw = e.send(e.token, "DELETE", "/api/admin/plugins/echo", "", nil, nil)
		wantErr(t, "remove again", st, decodeAnswer(t, raw), 404, api.CodePluginNotFound)
	})
}

// installEcho installs the echo plugin unsigned and enables it in kit
// with its secret.
func installEcho(t *testing.T, e *env, secret string) {
	t.Helper()
	st, _, raw := e.send(e.token, "POST", "/api/admin/plugins?allowUnsigned=1", "application/zip", packZip(t, echoFiles("1.0.0"), nil), nil)
	if st != 201 {
		t.Fatalf("install echo: %d %s", st, raw)
	}
	st, body := e.do("PUT", "/api/meta/apps/kit/plugins/echo", map[string]any{"enabled": true,
		"settings": map[string]any{"greeting": "hi"}, "secrets": map[string]any{"apiKey": secret}})
	if st != 200 {
		t.Fatalf("configure echo: %d %v", st, body)
	}
}

// A test call answers its output or its failure, with the call log's
// time and redacted lines; the recent calls list it.
func TestPluginTestCall(t *testing.T) {
	fake := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok": true}`)
	}
	pluginEnv(t, kitApp, fake, func(t *testing.T, e *env) {
		installEcho(t, e, "k-123")
		st, body := e.do("POST", "/api/meta/apps/kit/plugins/echo/test", map[string]any{"action": "send", "input": map[string]any{"text": "hello"}})
		if st != 200 || body["ok"] != true {
			t.Fatalf("test call: %d %v", st, body)
		}
		if out, _ := body["output"].(map[string]any); out["greeting"] != "hi" || fmt.Sprint(out["status"]) != "200" {
			t.Errorf("output: %v", body["output"])
		}
		if logs, _ := body["logs"].([]any); len(logs) != 1 || !strings.Contains(str(logs[0]), "***") {
			t.Errorf("logs (redacted): %v", body["logs"])
		}
		st, body = e.do("POST", "/api/meta/apps/kit/plugins/echo/test", map[string]any{"action": "send", "input": map[string]any{"text": "x", "fail": true}})
		if st != 200 || body["ok"] != false {
			t.Fatalf("failing test call: %d %v", st, body)
		}
		if eo, _ := body["error"].(map[string]any); eo["kind"] != plugin.KindScript || eo["message"] == "" {
			t.Errorf("failing call's error: %v", body["error"])
		}
		st, body = e.do("POST", "/api/meta/apps/kit/plugins/echo/test", map[string]any{"action": "nope", "input": map[string]any{}})
		wantErr(t, "unknown action", st, body, 404, api.CodePluginNotFound)
		st, body = e.do("POST", "/api/meta/apps/kit/plugins/echo/test", map[string]any{"action": "send", "input": map[string]any{"text": 5}})
		wantErr(t, "bad input", st, body, 422, "validation_failed")
		for what, b := range map[string]string{"no action": `{"input": {}}`, "input type": `{"action": "send", "input": [1]}`, "extra key": `{"action": "send", "dryRun": true}`} {
			st, _, raw := e.send(e.token, "POST", "/api/meta/apps/kit/plugins/echo/test", "application/json", []byte(b), nil)
			wantErr(t, what, st, decodeAnswer(t, raw), 422, "validation_failed")
		}
		st, body = e.do("GET", "/api/meta/apps/kit/plugins/echo/calls?limit=10", nil)
		if st != 200 || len(items(t, body)) < 2 || items(t, body)[0]["kind"] != "test" {
			t.Fatalf("calls: %d %v", st, body)
		}
		for _, q := range []string{"?limit=0", "?limit=201", "?limit=x"} {
			st, body := e.do("GET", "/api/meta/apps/kit/plugins/echo/calls"+q, nil)
			wantErr(t, "calls"+q, st, body, 400, "invalid_query")
		}
	})
}

// The secret set by a PUT is in no answer of any plugin route.
func TestPluginSecretNeverAnswered(t *testing.T) {
	const secret = "sk-live-5ecret-Value-9d1"
	fake := func(w http.ResponseWriter, r *http.Request) {
		// A remote that echoes what it got, secret included.
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(500)
		fmt.Fprintf(w, "bad request %s %s", r.Header.Get("Authorization"), b)
	}
	pluginEnv(t, kitApp, fake, func(t *testing.T, e *env) {
		installEcho(t, e, secret)
		var answers []string
		call := func(method, path string, body any) {
			st, raw := e.raw(e.token, method, path, body)
			answers = append(answers, fmt.Sprintf("%s %s → %d %s", method, path, st, raw))
		}
		call("PUT", "/api/meta/apps/kit/plugins/echo", map[string]any{"secrets": map[string]any{"apiKey": secret}})
		call("PUT", "/api/meta/apps/kit/plugins/echo", map[string]any{"secrets": map[string]any{"apiKey": 5, "other": secret}})
		call("GET", "/api/meta/apps/kit/plugins/echo", nil)
		call("GET", "/api/meta/apps/kit/plugins", nil)
		call("GET", "/api/admin/plugins", nil)
		call("POST", "/api/meta/apps/kit/plugins/echo/test", map[string]any{"action": "send", "input": map[string]any{"text": "hello"}})
		call("POST", "/api/meta/apps/kit/plugins/echo/test", map[string]any{"action": "send", "input": map[string]any{"text": "x", "fail": true}})
		call("POST", "/api/meta/apps/kit/plugins/echo/test", map[string]any{"action": "send", "input": map[string]any{"text": "x", "leak": true}})
		call("GET", "/api/meta/apps/kit/plugins/echo/calls", nil)
		call("GET", "/api/admin/audit", nil)
		for _, a := range answers {
			if strings.Contains(a, secret) {
				t.Errorf("an answer holds the secret: %s", clip(a))
			}
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Error("the server's log holds the secret")
		}
		st, body := e.do("GET", "/api/meta/apps/kit/plugins/echo", nil)
		if set, _ := body["secretsSet"].(map[string]any); st != 200 || set["apiKey"] != true {
			t.Errorf("secretsSet: %d %v", st, body)
		}
	})
}

// retryAfter reads a Retry-After header as seconds.
func retryAfter(h http.Header) int {
	n, _ := strconv.Atoi(h.Get("Retry-After"))
	return n
}
