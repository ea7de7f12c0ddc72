package plugin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/schema"
)

// runtime is the running side of the Service: each plugin compiled once
// per content (sha), the guarded HTTP clients, the call log's table.
type runtime struct {
	mu       sync.Mutex
	compiled map[string]*compiledEntry // plugin name → its newest compiled version

	clientsOnce sync.Once
	clients     [2]*http.Client // guarded: [0] public only, [1] private allowed

	callsReady atomic.Bool // _forma_plugin_calls exists
	calls      callLog     // calls.go: the log's pending writes
}

func newRuntime() *runtime { return &runtime{compiled: map[string]*compiledEntry{}} }

// compiledEntry is one plugin version being compiled or compiled: calls
// that meet it while it compiles wait for the one compile.
type compiledEntry struct {
	sha  string
	once sync.Once
	c    *compiled
	err  error
}

// compiled is an installed plugin ready to run: its script engine and its
// schemas compiled, its limits settled.
type compiled struct {
	inst    *Installed
	eng     *script.Engine
	main    string
	schemas map[string]*schema.JSONSchema // "input:send", "output:send", "trigger:submission"
	limits  limits
}

// limits are one plugin's effective limits: the manifest's, never above
// the server's maxima.
type limits struct {
	timeout       time.Duration
	requests      int
	responseBytes int64
}

func limitsOf(m *schema.Manifest) limits {
	l := limits{timeout: DefaultTimeout, requests: DefaultMaxRequests, responseBytes: DefaultMaxResponseKB << 10}
	if m.Limits == nil {
		return l
	}
	if ms := m.Limits.TimeoutMs; ms > 0 {
		l.timeout = min(time.Duration(ms)*time.Millisecond, MaxTimeout)
	}
	if n := m.Limits.MaxRequests; n > 0 {
		l.requests = min(n, MaxRequests)
	}
	if kb := m.Limits.MaxResponseKB; kb > 0 {
		l.responseBytes = int64(min(kb, MaxResponseKB)) << 10
	}
	return l
}

// The sandbox's API: what every plugin script may be handed.
var (
	sandboxGlobals = []string{"settings", "plugin", "ctx"}
	sandboxNatives = map[string][]string{
		"http":    {"request"},
		"secrets": {"get"},
		"log":     {"info", "warn", "error"},
		"crypto":  {"hmacSHA256", "sha256", "base64", "randomId"},
		"mail":    {"send"},
	}
)

// compile builds a plugin's script engine (every top-level .js file) and
// its schemas. An error is a *Error of kind script: the package is broken.
func compile(inst *Installed) (*compiled, error) {
	m := inst.Manifest
	c := &compiled{inst: inst, main: m.Main, schemas: map[string]*schema.JSONSchema{}, limits: limitsOf(m)}
	if c.main == "" {
		c.main = "index.js"
	}
	broken := func(format string, args ...any) error {
		return &Error{Kind: KindScript, Message: fmt.Sprintf("plugin %s %s: ", m.Name, m.Version) + fmt.Sprintf(format, args...)}
	}
	scripts := map[string]string{}
	for name, src := range inst.Files {
		if !strings.Contains(name, "/") && path.Ext(name) == ".js" {
			scripts[name] = src
		}
	}
	if _, ok := scripts[c.main]; !ok {
		return nil, broken("has no script %s", c.main)
	}
	eng, err := script.New(scripts, script.Options{
		Timeout:  c.limits.timeout,
		PoolSize: min(goruntime.GOMAXPROCS(0), 4),
		Globals:  sandboxGlobals,
		Natives:  sandboxNatives,
	})
	if err != nil {
		return nil, broken("does not compile: %v", err)
	}
	c.eng = eng
	add := func(key string, raw json.RawMessage) error {
		if len(bytes.TrimSpace(raw)) == 0 {
			return nil
		}
		sch, err := schema.CompileJSONSchema(raw)
		if err != nil {
			return broken("%s schema: %v", strings.Replace(key, ":", " schema of ", 1), err)
		}
		c.schemas[key] = sch
		return nil
	}
	for _, a := range m.Actions {
		if err := add("input:"+a.Name, a.Input); err != nil {
			return nil, err
		}
		if err := add("output:"+a.Name, a.Output); err != nil {
			return nil, err
		}
	}
	for _, t := range m.Triggers {
		if err := add("trigger:"+t.Name, t.Output); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// validate checks v (plain values, as plainJSON makes them) against sch:
// every problem with its JSON pointer under prefix.
func validate(sch *schema.JSONSchema, v any, prefix string) schema.Problems {
	if sch == nil {
		return nil
	}
	return sch.Validate(jsonNumbers(v), prefix)
}

// jsonNumbers gives the validator numbers as json.Number, the form it
// words problems with.
func jsonNumbers(v any) any {
	switch x := v.(type) {
	case int64:
		return json.Number(strconv.FormatInt(x, 10))
	case float64:
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonNumbers(e)
		}
		return out
	}
	return v
}

// plainJSON turns v into what encoding/json would decode it to (integers
// kept exact as int64), so the schema validator and the sandbox both get
// plain data whatever the caller built the value from.
func plainJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	return numbers(out), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

// plugin returns name's compiled current version. It reads the installed
// sha on every call (one indexed row), so an upgrade made through another
// server is picked up at once; the compile is cached per sha.
func (s *Service) plugin(ctx context.Context, name string) (*compiled, error) {
	r := s.run
	sha, err := s.installedSHA(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("plugin: read %s: %w", name, err)
	}
	if sha == "" {
		r.mu.Lock()
		delete(r.compiled, name) // removed: its engine goes
		r.mu.Unlock()
		return nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("plugin %s is not installed", name)}
	}
	r.mu.Lock()
	e := r.compiled[name]
	if e == nil || e.sha != sha {
		e = &compiledEntry{sha: sha}
		r.compiled[name] = e
	}
	r.mu.Unlock()
	transient := false
	e.once.Do(func() {
		inst, err := s.Get(ctx, name)
		switch {
		case err != nil:
			e.err, transient = fmt.Errorf("plugin: load %s: %w", name, err), true
		case inst == nil:
			e.err, transient = &Error{Kind: KindNotFound, Message: fmt.Sprintf("plugin %s is not installed", name)}, true
		default:
			e.c, e.err = compile(inst)
		}
	})
	if transient {
		// A failed read is not the plugin's fault: the next call tries again.
		r.mu.Lock()
		if r.compiled[name] == e {
			delete(r.compiled, name)
		}
		r.mu.Unlock()
	}
	return e.c, e.err
}

// installedSHA reads an installed plugin's content digest ("" when absent).
func (s *Service) installedSHA(ctx context.Context, name string) (string, error) {
	var shas []string
	err := s.db.Gorm.WithContext(ctx).Table("_forma_plugins").Where("name = ?", name).Limit(1).Pluck("sha256", &shas).Error
	if err != nil || len(shas) == 0 {
		return "", err
	}
	return shas[0], nil
}

// callConfig returns the plugin's configuration in app and its secrets
// (opened only when it is enabled), from one read of its row: Config and
// secrets would read it twice and the manifest once more.
func (s *Service) callConfig(ctx context.Context, app, name string) (*AppConfig, map[string]string, error) {
	row, _, err := s.configRow(ctx, app, name)
	if err != nil {
		return nil, nil, err
	}
	cfg := &AppConfig{App: app, Plugin: name, Enabled: row.Enabled, Settings: json.RawMessage(row.Settings), AllowPrivate: row.AllowPrivate}
	if !row.Enabled {
		return cfg, nil, nil
	}
	sec, err := s.openSecrets(row)
	if err != nil {
		return nil, nil, err
	}
	return cfg, sec, nil
}

// callEnv is what one call runs with: the app's configuration, the clock's
// time, and where its HTTP requests and mails go.
type callEnv struct {
	app          string
	key          string
	enabled      bool
	now          time.Time
	settings     map[string]any
	secrets      map[string]string
	allowPrivate bool
	// client sends http.request's requests; strictHTTPS keeps the https
	// rule when a test transport stands in for the network.
	client      *http.Client
	strictHTTPS bool
	// sendMail delivers mail.send's message (SMTP, or a fixture's fake).
	sendMail func(ctx context.Context, m *mailMessage) (string, error)
}

// call is one call's state, shared by its natives.
type call struct {
	c      *compiled
	env    *callEnv
	red    *redactor
	warn   func(msg string, args ...any) // slog warnings (refusals), redacted
	logs   []string
	kind   string // "action" or "trigger"
	fn     string
	reqs   int
	status int    // the last HTTP answer's status (0: none yet)
	failed *Error // the last failure a native threw
}

func (c *call) name() string { return c.c.inst.Manifest.Name }

// logLine adds a line to the call log (redacted, bounded like console).
func (c *call) logLine(level, msg string) {
	if len(c.logs) >= script.MaxLogLines {
		return
	}
	msg = c.red.text(msg)
	if len(msg) > script.MaxLogLineBytes {
		msg = strings.ToValidUTF8(msg[:script.MaxLogLineBytes], "") + "…"
	}
	c.logs = append(c.logs, level+": "+msg)
}

// fail records what a native threw, for the call's result when the
// script lets it through.
func (c *call) fail(kind string, retry bool, format string, args ...any) error {
	e := &Error{Kind: kind, Retry: retry, Message: fmt.Sprintf(format, args...)}
	c.failed = e
	return errors.New(e.Message)
}

// refuse records a refused request: thrown into the script, a line in
// the call log and a warning in the server's log (never a secret).
func (c *call) refuse(host, format string, args ...any) error {
	err := c.fail(KindRefused, false, format, args...)
	c.logLine("refused", err.Error())
	c.warn("plugin: request refused", "app", c.env.app, "plugin", c.name(), "host", c.red.text(host), "reason", c.red.text(err.Error()))
	return err
}

// natives are the Go functions behind the sandbox's objects for this call.
func (c *call) natives() map[string]map[string]script.Native {
	return map[string]map[string]script.Native{
		"http":    {"request": c.httpRequest},
		"secrets": {"get": c.secretGet},
		"log": {
			"info":  c.logger("info"),
			"warn":  c.logger("warn"),
			"error": c.logger("error"),
		},
		"crypto": cryptoNatives,
		"mail":   {"send": c.mailSend},
	}
}

func (c *call) secretGet(_ context.Context, args []any) (any, error) {
	name, ok := argString(args, 0)
	if !ok {
		return nil, errors.New("secrets.get(name): name must be a string")
	}
	v, ok := c.env.secrets[name]
	if !ok || v == "" {
		return nil, c.fail(KindConfig, false, "secret %q of plugin %s is not set in app %s", name, c.name(), c.env.app)
	}
	return v, nil
}

func (c *call) logger(level string) script.Native {
	return func(_ context.Context, args []any) (any, error) {
		parts := make([]string, 0, len(args))
		for _, a := range args {
			if s, ok := a.(string); ok {
				parts = append(parts, s)
				continue
			}
			b, _ := json.Marshal(a)
			parts = append(parts, string(b))
		}
		c.logLine(level, strings.Join(parts, " "))
		return nil, nil
	}
}

func argString(args []any, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	s, ok := args[i].(string)
	return s, ok
}

// run calls fn of the plugin's main script with arg under the call's
// limits and maps a failure to *Error.
func (c *call) run(ctx context.Context, arg any) (any, *Error) {
	m := c.c.inst.Manifest
	globals := map[string]any{
		"settings": c.env.settings,
		"plugin":   map[string]any{"name": m.Name, "version": m.Version},
		"ctx": map[string]any{
			"app":   c.env.app,
			"key":   c.env.key,
			"now":   c.env.now.UTC().Format(time.RFC3339),
			"nowMs": c.env.now.UnixMilli(),
		},
	}
	if c.env.settings == nil {
		globals["settings"] = map[string]any{}
	}
	out, err := c.c.eng.Invoke(ctx, c.c.main, c.fn, []any{arg}, script.Env{Globals: globals, Natives: c.natives()})
	for _, l := range out.Logs {
		c.logLine(l.Level, l.Message)
	}
	if err == nil {
		return out.Result, nil
	}
	var se *script.Error
	if !errors.As(err, &se) {
		return nil, &Error{Kind: KindScript, Message: err.Error()}
	}
	where := se.Script
	if se.Line > 0 {
		where = fmt.Sprintf("%s:%d", se.Script, se.Line)
	}
	switch se.Kind {
	case script.KindTimeout:
		return nil, &Error{Kind: KindTimeout, Retry: true, Message: fmt.Sprintf("%s %s of plugin %s ran longer than %v and was stopped", c.kind, c.fn, m.Name, c.c.limits.timeout)}
	case script.KindCanceled:
		return nil, &Error{Kind: KindTimeout, Retry: true, Message: fmt.Sprintf("%s %s of plugin %s was canceled", c.kind, c.fn, m.Name)}
	case script.KindNotFound:
		return nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("plugin %s has no function %s in %s", m.Name, c.fn, c.c.main)}
	case script.KindResult:
		return nil, &Error{Kind: KindOutput, Message: fmt.Sprintf("%s %s of plugin %s: %s", c.kind, c.fn, m.Name, se.Message)}
	case script.KindRuntime:
		// A native's failure the script let through keeps its kind (a
		// refusal stays permanent, a network error or timeout retries).
		if f := c.failed; f != nil && strings.Contains(se.Message, f.Message) {
			return nil, &Error{Kind: f.Kind, Retry: f.Retry, Message: f.Message}
		}
		// A script that throws after an error answer passes the remote's
		// error on: retried when the remote may recover.
		if st := c.status; st >= 400 {
			retry := st >= 500 || st == http.StatusTooManyRequests || st == http.StatusRequestTimeout
			return nil, &Error{Kind: KindRemote, Retry: retry, Message: fmt.Sprintf("%s (%s; the last answer was %d)", se.Message, where, st)}
		}
	}
	return nil, &Error{Kind: KindScript, Message: fmt.Sprintf("%s (%s)", se.Message, where)}
}

// invokeAction validates input, runs the action and validates its
// output. It is Call without the store: RunTests runs fixtures with it.
func (c *call) invokeAction(ctx context.Context, act *schema.PluginAction, input map[string]any) (map[string]any, *Error) {
	c.kind, c.fn = "action", cmpOr(act.Function, act.Name)
	plain, err := plainJSON(orEmpty(input))
	if err != nil {
		return nil, &Error{Kind: KindInput, Message: fmt.Sprintf("the input of %s is not JSON: %v", act.Name, err)}
	}
	if probs := validate(c.c.schemas["input:"+act.Name], plain, ""); len(probs) > 0 {
		return nil, &Error{Kind: KindInput, Message: fmt.Sprintf("the input does not match the input schema of %s.%s", c.name(), act.Name), Details: probs}
	}
	res, ferr := c.run(ctx, plain)
	if ferr != nil {
		return nil, ferr
	}
	if res == nil {
		res = map[string]any{} // an action with nothing to report
	}
	obj, ok := res.(map[string]any)
	if !ok {
		return nil, &Error{Kind: KindOutput, Message: fmt.Sprintf("action %s of plugin %s must return an object", act.Name, c.name())}
	}
	if probs := validate(c.c.schemas["output:"+act.Name], obj, ""); len(probs) > 0 {
		return nil, &Error{Kind: KindOutput, Message: fmt.Sprintf("the output does not match the output schema of %s.%s", c.name(), act.Name), Details: probs}
	}
	return obj, nil
}

// invokeTrigger runs a trigger on an inbound request: an object, an array
// of objects or null (nothing), each item validated.
func (c *call) invokeTrigger(ctx context.Context, tr *schema.PluginTrigger, req Inbound) ([]map[string]any, *Error) {
	c.kind, c.fn = "trigger", cmpOr(tr.Function, tr.Name)
	plain, err := plainJSON(req)
	if err != nil {
		return nil, &Error{Kind: KindInput, Message: fmt.Sprintf("the request is not JSON: %v", err)}
	}
	// One shape for every request: the objects are there even when empty,
	// json is null when the body was not JSON.
	arg := plain.(map[string]any)
	for _, k := range []string{"headers", "query", "form"} {
		if arg[k] == nil {
			arg[k] = map[string]any{}
		}
	}
	if _, ok := arg["json"]; !ok {
		arg["json"] = nil
	}
	res, ferr := c.run(ctx, arg)
	if ferr != nil {
		return nil, ferr
	}
	var list []any
	switch x := res.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		list = []any{x}
	case []any:
		list = x
	default:
		return nil, &Error{Kind: KindOutput, Message: fmt.Sprintf("trigger %s of plugin %s must return an object, an array of objects or null", tr.Name, c.name())}
	}
	items := make([]map[string]any, 0, len(list))
	var probs schema.Problems
	for i, x := range list {
		if x == nil {
			continue
		}
		obj, ok := x.(map[string]any)
		if !ok {
			probs = append(probs, schema.Problem{Path: fmt.Sprintf("/%d", i), Code: "invalid", Message: "must be an object"})
			continue
		}
		prefix := ""
		if _, isList := res.([]any); isList {
			prefix = fmt.Sprintf("/%d", i)
		}
		probs = append(probs, validate(c.c.schemas["trigger:"+tr.Name], obj, prefix)...)
		items = append(items, obj)
	}
	if len(probs) > 0 {
		return nil, &Error{Kind: KindOutput, Message: fmt.Sprintf("the items do not match the output schema of trigger %s.%s", c.name(), tr.Name), Details: probs}
	}
	return items, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// begin prepares a call of plugin in app: the plugin compiled, its
// configuration enabled, the call's environment.
func (s *Service) begin(ctx context.Context, app, name string) (*call, error) {
	c, err := s.plugin(ctx, name)
	if err != nil {
		return nil, err
	}
	cfg, secrets, err := s.callConfig(ctx, app, name)
	if err != nil {
		return nil, fmt.Errorf("plugin: the configuration of %s in %s: %w", name, app, err)
	}
	red := newRedactor(secrets)
	env := &callEnv{app: app, now: s.db.Now(), enabled: cfg.Enabled, secrets: secrets, allowPrivate: cfg.AllowPrivate}
	if len(bytes.TrimSpace(cfg.Settings)) > 0 {
		v, err := decodePlain(cfg.Settings)
		set, ok := v.(map[string]any)
		if err != nil || (v != nil && !ok) {
			return nil, &Error{Kind: KindConfig, Message: fmt.Sprintf("the settings of %s in %s are not an object", name, app)}
		}
		env.settings = set
	}
	env.client, env.strictHTTPS = s.httpClient(cfg.AllowPrivate), s.opts.Transport == nil
	env.sendMail = func(ctx context.Context, m *mailMessage) (string, error) {
		return s.sendSMTP(ctx, m, cfg.AllowPrivate, env.now)
	}
	return &call{c: c, env: env, red: red, warn: s.log.Warn}, nil
}

func decodePlain(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return numbers(v), nil
}

// Call runs action of plugin in app with input: validated against the
// action's input schema, run in the sandbox with the app's settings and
// secrets, its output validated against the output schema. The call is
// logged (calls.go). Errors are *Error.
func (s *Service) Call(ctx context.Context, app, plugin, action string, input map[string]any, meta CallMeta) (map[string]any, error) {
	rec := callRecord{app: app, plugin: plugin, kind: cmpOr(meta.Kind, "action"), name: action, automation: meta.Automation, connector: meta.Connector}
	var out map[string]any
	cl, err := s.do(ctx, rec, meta.Key, func(cl *call) *Error {
		act := cl.c.inst.Manifest.Action(action)
		if act == nil {
			return &Error{Kind: KindNotFound, Message: fmt.Sprintf("plugin %s has no action %s", plugin, action)}
		}
		if err := cl.enabled(); err != nil {
			return err
		}
		var ferr *Error
		out, ferr = cl.invokeAction(ctx, act, input)
		return ferr
	})
	if err != nil {
		return nil, err
	}
	return cl.red.value(out).(map[string]any), nil
}

// Receive runs trigger of plugin in app on an inbound request and
// returns the items it produced (each validated against the trigger's
// output schema).
func (s *Service) Receive(ctx context.Context, app, plugin, trigger, connector string, req Inbound) ([]map[string]any, error) {
	rec := callRecord{app: app, plugin: plugin, kind: "trigger", name: trigger, connector: connector}
	var items []map[string]any
	cl, err := s.do(ctx, rec, "", func(cl *call) *Error {
		tr := cl.c.inst.Manifest.Trigger(trigger)
		if tr == nil {
			return &Error{Kind: KindNotFound, Message: fmt.Sprintf("plugin %s has no trigger %s", plugin, trigger)}
		}
		if err := cl.enabled(); err != nil {
			return err
		}
		var ferr *Error
		items, ferr = cl.invokeTrigger(ctx, tr, req)
		return ferr
	})
	if err != nil {
		return nil, err
	}
	for i := range items {
		items[i] = cl.red.value(items[i]).(map[string]any)
	}
	return items, nil
}

// do makes one call: the plugin and the app's configuration, run, and
// the call's record in the log (a failure redacted in place first).
func (s *Service) do(ctx context.Context, rec callRecord, key string, run func(cl *call) *Error) (*call, error) {
	start := time.Now() // a duration for the log, not a decision
	cl, err := s.begin(ctx, rec.app, rec.plugin)
	if err != nil {
		return nil, err
	}
	cl.env.key = key
	ferr := run(cl)
	s.finish(cl, rec, ferr, start)
	if ferr != nil {
		return nil, ferr
	}
	return cl, nil
}

// enabled is the call's failure when the plugin is not enabled in the app.
func (c *call) enabled() *Error {
	if c.env.enabled {
		return nil
	}
	return &Error{Kind: KindDisabled, Message: fmt.Sprintf("plugin %s is not enabled in app %s", c.name(), c.env.app)}
}

// finish redacts a call's failure in place and records the call.
func (s *Service) finish(cl *call, rec callRecord, ferr *Error, start time.Time) {
	rec.status, rec.requests, rec.logs = "ok", cl.reqs, cl.logs
	if ferr != nil {
		cl.red.error(ferr)
		rec.status, rec.err = "error", ferr.Message
		switch ferr.Kind {
		case KindRefused, KindTimeout:
			rec.status = ferr.Kind
		}
	}
	rec.duration = time.Since(start)
	s.record(rec)
}

// cryptoNatives need nothing of the call.
var cryptoNatives = map[string]script.Native{
	"hmacSHA256": hmacNative,
	"sha256":     sha256Native,
	"base64":     base64Native,
	"randomId":   randomIDNative,
}

// knownEncodings are the digest encodings crypto natives accept.
var knownEncodings = []string{"hex", "base64"}

func encodingArg(args []any, i int, fn string) (string, error) {
	if i >= len(args) || args[i] == nil {
		return "hex", nil
	}
	enc, ok := args[i].(string)
	if !ok || !slices.Contains(knownEncodings, enc) {
		return "", fmt.Errorf("crypto.%s: the encoding must be \"hex\" or \"base64\"", fn)
	}
	return enc, nil
}

func hmacNative(_ context.Context, args []any) (any, error) {
	key, ok1 := argString(args, 0)
	msg, ok2 := argString(args, 1)
	if !ok1 || !ok2 {
		return nil, errors.New("crypto.hmacSHA256(key, message, encoding): key and message must be strings")
	}
	enc, err := encodingArg(args, 2, "hmacSHA256")
	if err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(msg))
	return encode(h.Sum(nil), enc), nil
}

func sha256Native(_ context.Context, args []any) (any, error) {
	s, ok := argString(args, 0)
	if !ok {
		return nil, errors.New("crypto.sha256(text, encoding): text must be a string")
	}
	enc, err := encodingArg(args, 1, "sha256")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(s))
	return encode(sum[:], enc), nil
}

func base64Native(_ context.Context, args []any) (any, error) {
	s, ok := argString(args, 0)
	if !ok {
		return nil, errors.New("crypto.base64(text): text must be a string")
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func randomIDNative(context.Context, []any) (any, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("crypto.randomId: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func encode(b []byte, enc string) string {
	if enc == "base64" {
		return base64.StdEncoding.EncodeToString(b)
	}
	return hex.EncodeToString(b)
}
