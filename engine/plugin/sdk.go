package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/formaapp/forma/schema"
)

// The SDK: `forma plugin init` writes a scaffold with Init, `forma plugin
// test` runs a plugin's test/*.json fixtures with RunTests, in the same
// sandbox as the server, with a local fake standing in for the network.

// nameRE is a plugin's name (schema.Manifest.Name).
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{1,39}$`)

// Init writes a new plugin's scaffold into dir, which must not exist or
// be empty: plugin.json (one action, send), index.js, test/send.json (a
// fixture that passes) and README.md.
func Init(dir, name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("plugin init: the name %q must be 2 to 40 lower-case letters, digits or '-', starting with a letter", name)
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("plugin init: %s is not empty", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "test"), 0o755); err != nil {
		return fmt.Errorf("plugin init: %w", err)
	}
	files := map[string]string{
		"plugin.json":    strings.ReplaceAll(scaffoldManifest, "NAME", name),
		"index.js":       scaffoldScript,
		"test/send.json": scaffoldFixture,
		"README.md":      strings.ReplaceAll(scaffoldReadme, "NAME", name),
	}
	for f, content := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f)), []byte(content), 0o644); err != nil {
			return fmt.Errorf("plugin init: %w", err)
		}
	}
	return nil
}

const scaffoldManifest = `{
  "name": "NAME",
  "version": "0.1.0",
  "author": "Your name",
  "description": "Sends a message to a channel of Example Chat.",
  "hosts": ["api.example.com"],
  "settings": {
    "type": "object",
    "properties": {"channel": {"type": "string", "title": "Channel", "minLength": 1}},
    "required": ["channel"]
  },
  "secrets": {
    "type": "object",
    "properties": {"token": {"type": "string", "title": "API token"}},
    "required": ["token"]
  },
  "actions": [
    {
      "name": "send",
      "title": "Send a message",
      "input": {
        "type": "object",
        "properties": {"text": {"type": "string", "title": "Text", "minLength": 1}},
        "required": ["text"],
        "additionalProperties": false
      },
      "output": {
        "type": "object",
        "properties": {"id": {"type": "string"}},
        "required": ["id"]
      }
    }
  ]
}
`

const scaffoldScript = `// send posts input.text to the channel the app's admin set in the
// settings, with the API token kept in the app's secrets.
function send(input) {
  var res = http.request({
    method: "POST",
    url: "https://api.example.com/v1/messages",
    headers: {"Authorization": "Bearer " + secrets.get("token")},
    json: {channel: settings.channel, text: input.text}
  });
  if (res.status !== 200 || !res.json || !res.json.ok) {
    throw new Error("Example Chat answered " + res.status + ": " + res.body);
  }
  log.info("sent message " + res.json.id);
  return {id: String(res.json.id)};
}
`

const scaffoldFixture = `{
  "action": "send",
  "settings": {"channel": "sales"},
  "secrets": {"token": "test-token"},
  "input": {"text": "New lead: Acme"},
  "http": [
    {
      "expect": {
        "method": "POST",
        "url": "https://api.example.com/v1/messages",
        "headers": {"Authorization": "Bearer test-token"},
        "json": {"channel": "sales", "text": "New lead: Acme"}
      },
      "respond": {"status": 200, "json": {"ok": true, "id": "m1"}}
    }
  ],
  "output": {"id": "m1"}
}
`

const scaffoldReadme = "# NAME\n\n" +
	"A Forma connector plugin: the action `send` posts a message to a channel of Example Chat.\n\n" +
	"- `plugin.json` — the manifest: the hosts the script may call, the settings and secrets an app configures, the actions with their input and output JSON Schemas.\n" +
	"- `index.js` — the functions, one per action; `http`, `secrets`, `settings`, `log`, `crypto`, `mail` and `ctx` are what a script sees.\n" +
	"- `test/*.json` — fixtures: settings, secrets, input, the HTTP exchanges expected (answered by a local fake, no network) and the output expected.\n\n" +
	"Run the tests with `forma plugin test .`, sign and pack with `forma plugin pack . --key KEY`.\n"

// TestResult is one fixture's outcome.
type TestResult struct {
	Name     string        `json:"name"` // the fixture's file name without .json
	Pass     bool          `json:"pass"`
	Message  string        `json:"message,omitempty"` // why it failed
	Duration time.Duration `json:"duration"`
}

// fixture is a test/<case>.json file:
//
//	{"action": "send", "settings": {...}, "secrets": {...}, "input": {...},
//	 "http": [{"expect": {"method", "url", "headers", "json" (subset), "body"},
//	           "respond": {"status", "headers", "json" | "body"}} | {"expect": ..., "fail": "network error text"}],
//	 "mail": [{"expect": {...subset of mail.send's argument}, "fail": "..."}],
//	 "now": "2026-01-01T00:00:00Z",
//	 "output": {...subset} | "error": "substring of kind: message"}
//
// or "trigger": "submission", "request": {...Inbound}, "items": [...].
// The exchanges are served in order by a local fake (no network); a
// request that is not the next one expected, or one expected and not
// made, fails the case. ctx.now is "now", else fixtureNow, so a
// signature over the time is the same on every run. The settings and
// secrets must match the manifest's schemas.
type fixture struct {
	Description string            `json:"description"`
	Action      string            `json:"action"`
	Trigger     string            `json:"trigger"`
	Now         string            `json:"now"` // RFC 3339; default fixtureNow
	Settings    map[string]any    `json:"settings"`
	Secrets     map[string]string `json:"secrets"`
	Input       map[string]any    `json:"input"`
	Request     *Inbound          `json:"request"`
	HTTP        []exchange        `json:"http"`
	Mail        []mailExchange    `json:"mail"`
	Output      map[string]any    `json:"output"`
	Items       []map[string]any  `json:"items"`
	Error       *string           `json:"error"`
}

// exchange is one HTTP request a fixture expects and its answer. Fail
// answers with a network failure instead.
type exchange struct {
	Expect struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		JSON    any               `json:"json"`
		Body    *string           `json:"body"`
	} `json:"expect"`
	Respond struct {
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		JSON    any               `json:"json"`
		Body    *string           `json:"body"`
	} `json:"respond"`
	Fail string `json:"fail"`
}

// mailExchange is one mail.send a fixture expects (a subset of its
// argument); Fail makes the send fail.
type mailExchange struct {
	Expect map[string]any `json:"expect"`
	Fail   string         `json:"fail"`
}

// fixtureNow is ctx.now in a fixture that does not set it, so signatures
// over the time are the same on every run.
var fixtureNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// RunTests runs dir's test/*.json fixtures against the plugin in dir,
// each in the sandbox with the fixture's settings and secrets, its HTTP
// exchanges served by a local fake (no network), and returns one result
// per fixture, sorted by name. An error means the plugin itself cannot be
// read or compiled.
func RunTests(dir string) ([]TestResult, error) {
	pkg, err := Load(dir)
	if err != nil {
		return nil, fmt.Errorf("plugin test: %w", err)
	}
	inst := &Installed{Manifest: pkg.Manifest, Files: pkg.Files, SHA256: pkg.SHA256}
	c, err := compile(inst)
	if err != nil {
		return nil, err
	}
	var names []string
	for f := range inst.Files {
		if strings.HasPrefix(f, "test/") && strings.HasSuffix(f, ".json") {
			names = append(names, f)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("plugin test: %s has no test/*.json fixtures", dir)
	}
	setSchema, err := schemaOrNil(inst.Manifest.Settings)
	if err != nil {
		return nil, fmt.Errorf("plugin test: the settings schema: %w", err)
	}
	secSchema, err := schemaOrNil(inst.Manifest.Secrets)
	if err != nil {
		return nil, fmt.Errorf("plugin test: the secrets schema: %w", err)
	}
	out := make([]TestResult, 0, len(names))
	for _, f := range names {
		start := time.Now()
		msg := runFixture(c, []byte(inst.Files[f]), setSchema, secSchema)
		out = append(out, TestResult{Name: strings.TrimSuffix(strings.TrimPrefix(f, "test/"), ".json"), Pass: msg == "", Message: msg, Duration: time.Since(start)})
	}
	return out, nil
}

func schemaOrNil(raw json.RawMessage) (*schema.JSONSchema, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	return schema.CompileJSONSchema(raw)
}

// runFixture runs one fixture and returns why it failed ("" when it
// passed).
func runFixture(c *compiled, data []byte, setSchema, secSchema *schema.JSONSchema) string {
	var fx fixture
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	d.UseNumber()
	if err := d.Decode(&fx); err != nil {
		return "the fixture does not read: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	now := fixtureNow
	if fx.Now != "" {
		t, err := time.Parse(time.RFC3339, fx.Now)
		if err != nil {
			return "now is not an RFC 3339 time"
		}
		now = t
	}
	m := c.inst.Manifest
	var act *schema.PluginAction
	var tr *schema.PluginTrigger
	switch {
	case fx.Action != "" && fx.Trigger != "":
		return "a fixture tests an action or a trigger, not both"
	case fx.Action != "":
		if act = m.Action(fx.Action); act == nil {
			return fmt.Sprintf("plugin %s has no action %s", m.Name, fx.Action)
		}
	case fx.Trigger != "":
		if tr = m.Trigger(fx.Trigger); tr == nil {
			return fmt.Sprintf("plugin %s has no trigger %s", m.Name, fx.Trigger)
		}
	default:
		return `the fixture names no "action" or "trigger"`
	}
	settings, _ := numbers(orEmpty(fx.Settings)).(map[string]any)
	for _, chk := range []struct {
		what string
		sch  *schema.JSONSchema
		v    any
	}{{"settings", setSchema, settings}, {"secrets", secSchema, stringMap(fx.Secrets)}} {
		if probs := validate(chk.sch, chk.v, "/"+chk.what); len(probs) > 0 {
			return fmt.Sprintf("the fixture's %s do not match the manifest: %s", chk.what, problemText(probs))
		}
	}
	fake := &fakeNet{want: fx.HTTP}
	mails := &fakeMail{want: fx.Mail}
	env := &callEnv{app: "test", key: "test-key", enabled: true, now: now, settings: settings, secrets: fx.Secrets,
		client: newClient(fake), strictHTTPS: true, sendMail: mails.send}
	cl := &call{c: c, env: env, red: newRedactor(nil), warn: func(string, ...any) {}}
	ctx := context.Background()
	var got any
	var ferr *Error
	if act != nil {
		var out map[string]any
		out, ferr = cl.invokeAction(ctx, act, numbers(orEmpty(fx.Input)).(map[string]any))
		got = out
	} else {
		req := Inbound{Method: "POST"}
		if fx.Request != nil {
			req = *fx.Request
		}
		var items []map[string]any
		items, ferr = cl.invokeTrigger(ctx, tr, req)
		got = items
	}
	var problems []string
	problems = append(problems, fake.problems()...)
	problems = append(problems, mails.problems()...)
	switch {
	case fx.Error != nil && ferr == nil:
		problems = append(problems, fmt.Sprintf("expected an error containing %q, got %s", *fx.Error, compact(got)))
	case fx.Error != nil:
		if text := ferr.Kind + ": " + ferr.Message; !strings.Contains(text, *fx.Error) {
			problems = append(problems, fmt.Sprintf("expected an error containing %q, got %s", *fx.Error, text))
		}
	case ferr != nil:
		text := ferr.Kind + ": " + ferr.Message
		if len(ferr.Details) > 0 {
			text += " (" + problemText(ferr.Details) + ")"
		}
		problems = append(problems, text)
	case fx.Trigger != "" && fx.Items != nil:
		items := got.([]map[string]any)
		if len(items) != len(fx.Items) {
			problems = append(problems, fmt.Sprintf("expected %d items, got %d: %s", len(fx.Items), len(items), compact(items)))
			break
		}
		for i := range items {
			if p := subset(numbers(fx.Items[i]), items[i], fmt.Sprintf("/items/%d", i)); p != "" {
				problems = append(problems, p)
			}
		}
	case fx.Output != nil:
		if p := subset(numbers(fx.Output), got, "/output"); p != "" {
			problems = append(problems, p)
		}
	}
	return strings.Join(problems, "; ")
}

func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func problemText(probs schema.Problems) string {
	parts := make([]string, len(probs))
	for i, p := range probs {
		parts[i] = p.Path + ": " + p.Message
	}
	return strings.Join(parts, "; ")
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

// subset says where want is not contained in got ("" when it is): objects
// may have more properties than wanted, arrays must match element by
// element, numbers compare by value.
func subset(want, got any, at string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: expected an object, got %s", at, compact(got))
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s/%s: missing (expected %s)", at, k, compact(w[k]))
			}
			if p := subset(w[k], gv, at+"/"+k); p != "" {
				return p
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: expected %s, got %s", at, compact(w), compact(got))
		}
		for i := range w {
			if p := subset(w[i], g[i], fmt.Sprintf("%s/%d", at, i)); p != "" {
				return p
			}
		}
		return ""
	}
	if wf, ok := number(want); ok {
		if gf, ok := number(got); ok && wf == gf {
			return ""
		}
	} else if want == got {
		return ""
	}
	return fmt.Sprintf("%s: expected %s, got %s", at, compact(want), compact(got))
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, !math.IsNaN(x)
	case int:
		return float64(x), true
	}
	return 0, false
}

// fakeNet serves a fixture's HTTP exchanges in order. A request that is
// not the next one expected is answered with a network failure and fails
// the case, even when the script catches it.
type fakeNet struct {
	mu     sync.Mutex
	want   []exchange
	next   int
	errors []string
}

func (f *fakeNet) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	desc := req.Method + " " + req.URL.String()
	if f.next >= len(f.want) {
		f.errors = append(f.errors, "unexpected request "+desc)
		return nil, errors.New("unexpected request (not in the fixture)")
	}
	ex := f.want[f.next]
	f.next++
	if p := ex.matches(req, body); p != "" {
		f.errors = append(f.errors, fmt.Sprintf("request %d (%s): %s", f.next, desc, p))
		return nil, errors.New("the request does not match the fixture")
	}
	if ex.Fail != "" {
		return nil, errors.New(ex.Fail)
	}
	resp := &http.Response{StatusCode: cmpInt(ex.Respond.Status, 200), Header: http.Header{}, Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	var out []byte
	switch {
	case ex.Respond.Body != nil:
		out = []byte(*ex.Respond.Body)
	case ex.Respond.JSON != nil:
		out, _ = json.Marshal(ex.Respond.JSON)
		resp.Header.Set("Content-Type", "application/json")
	}
	for k, v := range ex.Respond.Headers {
		resp.Header.Set(k, v)
	}
	resp.Status = fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	return resp, nil
}

func cmpInt(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// matches says how req differs from what the exchange expects.
func (ex *exchange) matches(req *http.Request, body []byte) string {
	e := ex.Expect
	if e.Method != "" && !strings.EqualFold(e.Method, req.Method) {
		return fmt.Sprintf("expected method %s", strings.ToUpper(e.Method))
	}
	if e.URL != "" {
		u, err := url.Parse(e.URL)
		if err != nil {
			return "the fixture's url does not parse"
		}
		if u.Scheme != req.URL.Scheme || !strings.EqualFold(u.Host, req.URL.Host) || u.EscapedPath() != req.URL.EscapedPath() ||
			!sameQuery(u.Query(), req.URL.Query()) {
			return "expected url " + e.URL
		}
	}
	for k, v := range e.Headers {
		if got := req.Header.Get(k); got != v {
			return fmt.Sprintf("header %s: expected %q, got %q", k, v, got)
		}
	}
	if e.Body != nil && *e.Body != string(body) {
		return fmt.Sprintf("expected body %q, got %q", *e.Body, string(body))
	}
	if e.JSON != nil {
		got, err := decodePlain(body)
		if err != nil {
			return "the body is not JSON: " + compact(string(body))
		}
		if p := subset(numbers(e.JSON), got, "/json"); p != "" {
			return p
		}
	}
	return ""
}

func sameQuery(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv := b[k]
		if len(av) != len(bv) {
			return false
		}
		for i := range av {
			if av[i] != bv[i] {
				return false
			}
		}
	}
	return true
}

func (f *fakeNet) problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]string(nil), f.errors...)
	for i := f.next; i < len(f.want); i++ {
		e := f.want[i].Expect
		out = append(out, fmt.Sprintf("request %d (%s %s) was expected but not made", i+1, cmpOr(strings.ToUpper(e.Method), "any method"), cmpOr(e.URL, "any URL")))
	}
	return out
}

// fakeMail stands in for SMTP: each mail.send is matched with the next
// expected one (a subset of mail.send's argument).
type fakeMail struct {
	want   []mailExchange
	next   int
	errors []string
}

func (f *fakeMail) send(_ context.Context, m *mailMessage) (string, error) {
	b, _ := json.Marshal(m)
	got, _ := decodePlain(b)
	if f.next >= len(f.want) {
		f.errors = append(f.errors, "unexpected mail.send to "+strings.Join(m.To, ", "))
		return "", errors.New("unexpected mail (not in the fixture)")
	}
	ex := f.want[f.next]
	f.next++
	if p := subset(numbers(orEmpty(ex.Expect)), got, fmt.Sprintf("/mail/%d", f.next-1)); p != "" {
		f.errors = append(f.errors, p)
		return "", errors.New("the mail does not match the fixture")
	}
	if ex.Fail != "" {
		return "", errors.New(ex.Fail)
	}
	return fmt.Sprintf("test-%d@forma.test", f.next), nil
}

func (f *fakeMail) problems() []string {
	out := append([]string(nil), f.errors...)
	for i := f.next; i < len(f.want); i++ {
		out = append(out, fmt.Sprintf("mail %d was expected but not sent", i+1))
	}
	return out
}
