package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/oklog/ulid/v2"
	"github.com/valyala/fasthttp"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/schema"
)

// PluginsPath is the admin's install route: its bodies (a package) may be
// up to MaxPluginBytes, its own limit (edge.go).
const PluginsPath = "/api/admin/plugins"

// MaxPluginBytes is the largest install body: the largest package and room
// for the zip's and the multipart's framing.
const MaxPluginBytes = plugin.MaxPackageBytes + 1<<20

// Error codes of the plugin routes (the "code" of the error shape).
const (
	CodePluginInvalid   = "plugin_invalid"   // the manifest has problems (details)
	CodePluginUnsigned  = "plugin_unsigned"  // unsigned, and unsigned packages are not allowed
	CodePluginSignature = "plugin_signature" // tampered: digest, signature or zip broken
	CodePluginUntrusted = "plugin_untrusted" // signed by a key no admin trusts
	CodePluginInUse     = "plugin_in_use"    // an automation or connector uses it
	CodePluginBuiltin   = "plugin_builtin"   // built-in plugins cannot be removed
	CodePluginDisabled  = "plugin_disabled"  // not enabled in the app
	CodePluginNotFound  = "plugin_not_found" // no such plugin, action, trigger, key or connector
	CodePluginTooLarge  = "plugin_too_large" // the package is over MaxPackageBytes
	CodePluginFailed    = "plugin_failed"    // a call failed (input, output, config …)
)

// Audit actions of the plugin routes (never with a secret or a token).
const (
	AuditPluginInstall   = "plugin_install"
	AuditPluginRemove    = "plugin_remove"
	AuditPluginKeyAdd    = "plugin_key_add"
	AuditPluginKeyRemove = "plugin_key_remove"
	AuditPluginConfigure = "plugin_configure"
	AuditConnectorToken  = "connector_token_read"
	AuditConnectorRotate = "connector_token_rotate"
)

// maxPluginJSON bounds the JSON bodies of the plugin routes (a config with
// its settings and secrets, a test call's input, a key).
const maxPluginJSON = 256 << 10

// pluginRoutes: the platform admin installs, lists and removes plugins
// and manages the keys packages are trusted by; an app's designers (the
// admins who write its automations, as webhooks.go) configure each plugin
// for the app, send a test call, read the recent calls and read or rotate
// a connector's endpoint token. The public inbound route is inbound.go's.
func (s *Server) pluginRoutes(app *fiber.App, meta fiber.Router) {
	if s.Plugins == nil {
		return
	}
	adm := app.Group(PluginsPath, s.requireUser, s.requireAdmin)
	adm.Get("/keys", s.listPluginKeys)
	adm.Post("/keys", s.addPluginKey)
	adm.Delete("/keys/:id", s.removePluginKey)
	adm.Get("", s.listPlugins)
	adm.Post("", s.installPlugin)
	adm.Delete("/:name", s.removePlugin)

	meta.Get("/apps/:app/plugins", s.requireAdmin, s.appPlugins)
	meta.Get("/apps/:app/plugins/:name", s.requireAdmin, s.getPluginConfig)
	meta.Put("/apps/:app/plugins/:name", s.requireAdmin, s.putPluginConfig)
	meta.Post("/apps/:app/plugins/:name/test", s.requireAdmin, s.testPlugin)
	meta.Get("/apps/:app/plugins/:name/calls", s.requireAdmin, s.pluginCalls)
	meta.Get("/apps/:app/connectors/:name", s.requireAdmin, s.getConnector)
	meta.Post("/apps/:app/connectors/:name/token", s.requireAdmin, s.rotateConnectorToken)
}

// isPluginInstall reports whether the request is an install (POST
// PluginsPath), whose body limit is MaxPluginBytes.
func isPluginInstall(h *fasthttp.RequestHeader) bool {
	if !h.IsPost() {
		return false
	}
	path, _, _ := bytes.Cut(h.RequestURI(), []byte("?"))
	return string(bytes.TrimSuffix(path, []byte("/"))) == PluginsPath
}

// pluginError answers the plugin service's errors with their codes.
// Anything else goes to toAPIError (a 500 is logged, its text never sent).
func pluginError(err error) error {
	var (
		pe *plugin.Error
		re *plugin.RefusedError
		ps schema.Problems
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pe):
		return callError(pe)
	case errors.As(err, &re):
		code := re.Code
		if re.Status == 404 {
			code = CodePluginNotFound
		}
		return &Error{Status: re.Status, Code: code, Message: re.Message, Details: re.Details}
	case errors.As(err, &ps):
		return &Error{Status: 422, Code: CodePluginInvalid, Message: fmt.Sprintf("the plugin's manifest has %d problem(s)", len(ps)), Details: ps}
	case errors.Is(err, plugin.ErrInUse):
		// The message names the apps' automations and connectors.
		return apiError(409, CodePluginInUse, "%s", err.Error())
	case errors.Is(err, plugin.ErrNotFound):
		return apiError(404, CodePluginNotFound, "%s", err.Error())
	}
	return err
}

// callError answers a failed call by its kind (the contract's table).
// The service's messages never hold a secret.
func callError(pe *plugin.Error) *Error {
	e := &Error{Status: 422, Code: CodePluginFailed, Message: pe.Message, Details: pe.Details}
	switch pe.Kind {
	case plugin.KindNotFound:
		e.Status, e.Code = 404, CodePluginNotFound
	case plugin.KindDisabled:
		e.Status, e.Code = 409, CodePluginDisabled
	case plugin.KindInput, plugin.KindOutput, plugin.KindConfig:
		e.Code = "validation_failed"
	case plugin.KindRefused:
		e.Status = 403
	case plugin.KindTimeout, plugin.KindRemote:
		e.Status = 502
	}
	return e
}

func (s *Server) listPlugins(c *fiber.Ctx) error {
	list, err := s.Plugins.List(c.UserContext())
	if err != nil {
		return pluginError(err)
	}
	if list == nil {
		list = []plugin.Summary{}
	}
	return sendJSONValue(c, 200, fiber.Map{"items": list})
}

// installPlugin reads a package sent as the multipart part "file" or as
// a raw application/zip body, and installs (or upgrades) it: 201 Summary.
func (s *Server) installPlugin(c *fiber.Ctx) error {
	allow, err := boolParam(c, "allowUnsigned")
	if err != nil {
		return err
	}
	data, err := pluginUpload(c)
	if err != nil {
		return err
	}
	pkg, err := plugin.ReadZip(data)
	if err != nil {
		return pluginError(err)
	}
	sum, err := s.Plugins.Install(c.UserContext(), pkg, user(c).ID, allow)
	if err != nil {
		return pluginError(err)
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: AuditPluginInstall, Target: sum.Name,
		Detail: map[string]any{"version": sum.Version, "sha256": sum.SHA256, "signer": sum.Signer, "allowUnsigned": allow}})
	return sendJSONValue(c, 201, sum)
}

// pluginUpload is the package's bytes: the only part "file" of a
// multipart body, or the whole application/zip body.
func pluginUpload(c *fiber.Ctx) ([]byte, error) {
	if c.Get(fiber.HeaderContentEncoding) != "" {
		return nil, apiError(415, "unsupported_media_type", "send the package without a Content-Encoding")
	}
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil {
		mt = ""
	}
	switch mt {
	case "application/zip", "application/x-zip-compressed":
		body := c.Body()
		if len(body) == 0 {
			return nil, apiError(400, "bad_request", "the body is empty; send the package's .zip")
		}
		if len(body) > MaxPluginBytes {
			return nil, tooLargePlugin()
		}
		return body, nil
	case fiber.MIMEMultipartForm:
		if params["boundary"] == "" {
			break
		}
		form, done, err := uploadForm(c, params["boundary"])
		if err != nil {
			return nil, err
		}
		defer done()
		parts := form.File["file"]
		if len(parts) != 1 || len(form.File) != 1 || len(form.Value) != 0 {
			return nil, badUpload("/file", "send exactly one package, as the part \"file\", and nothing else")
		}
		if parts[0].Size > MaxPluginBytes {
			return nil, tooLargePlugin()
		}
		f, err := parts[0].Open()
		if err != nil {
			return nil, fmt.Errorf("plugin upload: %w", err)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, MaxPluginBytes+1))
		if err != nil {
			return nil, fmt.Errorf("plugin upload: %w", err)
		}
		if len(data) > MaxPluginBytes {
			return nil, tooLargePlugin()
		}
		return data, nil
	}
	return nil, apiError(415, "unsupported_media_type", "send the package as application/zip, or as multipart/form-data with the part \"file\"")
}

func tooLargePlugin() *Error {
	return apiError(413, CodePluginTooLarge, "a plugin package may be at most %d MiB", plugin.MaxPackageBytes>>20)
}

func (s *Server) removePlugin(c *fiber.Ctx) error {
	name := c.Params("name")
	if err := s.Plugins.Remove(c.UserContext(), name, user(c).ID); err != nil {
		return pluginError(err)
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: AuditPluginRemove, Target: name})
	return c.SendStatus(204)
}

func (s *Server) listPluginKeys(c *fiber.Ctx) error {
	keys, err := s.Plugins.Keys(c.UserContext())
	if err != nil {
		return pluginError(err)
	}
	if keys == nil {
		keys = []plugin.Key{}
	}
	return sendJSONValue(c, 200, fiber.Map{"items": keys})
}

// pluginKeyInput is POST /api/admin/plugins/keys: the key as `forma
// plugin keygen` writes PREFIX.pub (base64), and a name people know it by.
type pluginKeyInput struct {
	Name      string `json:"name"`
	PublicKey string `json:"publicKey"`
}

// addPluginKey trusts a signing key: 201 Key. The key itself is checked
// by the service (/publicKey), the body here.
func (s *Server) addPluginKey(c *fiber.Ctx) error {
	var in pluginKeyInput
	if err := decodePluginJSON(c.Body(), &in, map[string]string{"name": "string", "publicKey": "string"}); err != nil {
		return err
	}
	k, err := s.Plugins.AddKey(c.UserContext(), in.PublicKey, in.Name, user(c).ID)
	if err != nil {
		return pluginError(err)
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: AuditPluginKeyAdd, Target: k.ID, Detail: map[string]string{"name": k.Name}})
	return sendJSONValue(c, 201, k)
}

func (s *Server) removePluginKey(c *fiber.Ctx) error {
	id := c.Params("id")
	if err := s.Plugins.RemoveKey(c.UserContext(), id, user(c).ID); err != nil {
		return pluginError(err)
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: AuditPluginKeyRemove, Target: id})
	return c.SendStatus(204)
}

// appPlugin is an installed plugin as an app's designers see it: what it
// is and its configuration in the app, not which apps use it.
type appPlugin struct {
	plugin.Summary
	UsedBy []plugin.Use      `json:"usedBy,omitempty"` // shadows Summary's: never set
	Config *plugin.AppConfig `json:"config"`
}

// pluginApp checks that the app exists (the unknown app's 404).
func (s *Server) pluginApp(c *fiber.Ctx) (string, error) {
	return s.webhookApp(c)
}

func (s *Server) appPlugins(c *fiber.Ctx) error {
	app, err := s.pluginApp(c)
	if err != nil {
		return err
	}
	list, err := s.Plugins.List(c.UserContext())
	if err != nil {
		return pluginError(err)
	}
	configs, err := s.Plugins.Configs(c.UserContext(), app)
	if err != nil {
		return pluginError(err)
	}
	byName := map[string]*plugin.AppConfig{}
	for i := range configs {
		byName[configs[i].Plugin] = &configs[i]
	}
	out := make([]appPlugin, 0, len(list))
	for _, p := range list {
		cfg := byName[p.Name]
		if cfg == nil {
			cfg = &plugin.AppConfig{App: app, Plugin: p.Name, Settings: json.RawMessage("{}"), SecretsSet: map[string]bool{}}
		}
		p.UsedBy = nil
		out = append(out, appPlugin{Summary: p, Config: cfg})
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSONValue(c, 200, fiber.Map{"items": out})
}

func (s *Server) getPluginConfig(c *fiber.Ctx) error {
	app, err := s.pluginApp(c)
	if err != nil {
		return err
	}
	cfg, err := s.Plugins.Config(c.UserContext(), app, c.Params("name"))
	if err != nil {
		return pluginError(err)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSONValue(c, 200, cfg)
}

// putPluginConfig sets the app's configuration of a plugin from a
// ConfigInput, read strictly: every key, every type, every secret checked
// here with its pointer; the settings' and secrets' own schemas are the
// service's. The answer is the AppConfig (secrets only as SecretsSet).
func (s *Server) putPluginConfig(c *fiber.Ctx) error {
	in, err := decodeConfigInput(c.Body())
	if err != nil {
		return err
	}
	app, err := s.pluginApp(c)
	if err != nil {
		return err
	}
	u := user(c)
	if !u.Admin {
		in.AllowPrivate = nil // only the platform admin may let a plugin reach private addresses
	}
	name := c.Params("name")
	cfg, err := s.Plugins.Configure(c.UserContext(), app, name, in, u.ID, u.Admin)
	if err != nil {
		return pluginError(err)
	}
	// The audit names which secrets changed, never their values.
	changed := []string{}
	for k := range in.Secrets {
		changed = append(changed, k)
	}
	s.audit(c, access.Entry{Actor: u.ID, Action: AuditPluginConfigure, Target: app + "/" + name,
		Detail: map[string]any{"enabled": cfg.Enabled, "secrets": changed, "allowPrivate": cfg.AllowPrivate}})
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSONValue(c, 200, cfg)
}

// decodeConfigInput reads a PUT of a plugin's configuration: an object of
// enabled (boolean), settings (object), secrets (object of string or
// null) and allowPrivate (boolean), each optional; null keeps the stored
// value. Anything else is refused with its pointer.
func decodeConfigInput(body []byte) (plugin.ConfigInput, error) {
	var in plugin.ConfigInput
	if err := decodePluginJSON(body, nil, map[string]string{"enabled": "boolean", "settings": "object", "secrets": "object", "allowPrivate": "boolean"}); err != nil {
		return in, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return in, apiError(400, "invalid_json", "the body is not a JSON object")
	}
	var ps schema.Problems
	if v, ok := raw["enabled"]; ok && !isNull(v) {
		b := false
		_ = json.Unmarshal(v, &b)
		in.Enabled = &b
	}
	if v, ok := raw["allowPrivate"]; ok && !isNull(v) {
		b := false
		_ = json.Unmarshal(v, &b)
		in.AllowPrivate = &b
	}
	if v, ok := raw["settings"]; ok && !isNull(v) {
		in.Settings = v
	}
	if v, ok := raw["secrets"]; ok && !isNull(v) {
		var secrets map[string]json.RawMessage
		_ = json.Unmarshal(v, &secrets)
		in.Secrets = map[string]*string{}
		for name, sv := range secrets {
			if isNull(sv) {
				in.Secrets[name] = nil
				continue
			}
			var str string
			if err := json.Unmarshal(sv, &str); err != nil {
				ps.AddCode("/secrets/"+pointerToken(name), "type", map[string]any{"expected": "string"},
					"secret %q must be a string (set it) or null (clear it)", name)
				continue
			}
			in.Secrets[name] = &str
		}
	}
	if len(ps) > 0 {
		return in, &Error{Status: 422, Code: "validation_failed", Message: ps[0].Message, Details: ps}
	}
	return in, nil
}

// decodePluginJSON checks a JSON body: at most maxPluginJSON bytes, one
// object, no duplicate key, NUL or invalid UTF-8 (strictBody), only the
// keys of types, each of its JSON type ("string", "boolean", "object";
// null is taken for any). When v is not nil the body is decoded into it.
func decodePluginJSON(body []byte, v any, types map[string]string) error {
	if len(body) > maxPluginJSON {
		return apiError(413, "payload_too_large", "the body may be at most %d KiB", maxPluginJSON>>10)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return apiError(400, "invalid_json", "the body is empty; send a JSON object")
	}
	if err := strictBody(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return apiError(400, "invalid_json", "the body is not a JSON object")
	}
	if dec.More() {
		return apiError(400, "invalid_json", "the body holds more than one JSON value")
	}
	var ps schema.Problems
	for k, val := range raw {
		want, ok := types[k]
		if !ok {
			ps.AddCode("/"+pointerToken(k), "unknown_field", map[string]any{"field": k}, "%q is not a key of this body", k)
			continue
		}
		if got := jsonKind(val); got != want && got != "null" {
			ps.AddCode("/"+pointerToken(k), "type", map[string]any{"expected": want, "got": got}, "%s must be a JSON %s, not %s", k, want, got)
		}
	}
	if len(ps) > 0 {
		sortProblems(ps)
		return &Error{Status: 422, Code: "validation_failed", Message: ps[0].Message, Details: ps}
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return apiError(400, "invalid_json", "the body cannot be read: %v", err)
		}
	}
	return nil
}

// jsonKind names the JSON type of a value.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func isNull(v json.RawMessage) bool { return jsonKind(v) == "null" }

// pointerToken escapes a key for a JSON pointer (RFC 6901).
func pointerToken(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// sortProblems orders problems by path, so an answer does not depend on
// map order.
func sortProblems(ps schema.Problems) {
	slices.SortFunc(ps, func(a, b schema.Problem) int { return strings.Compare(a.Path, b.Path) })
}

// pluginTest is POST …/plugins/{name}/test: an action and its input.
type pluginTest struct {
	Action string         `json:"action"`
	Input  map[string]any `json:"input"`
}

// testAnswer is a test call's outcome: its output or its error (kind and
// redacted message), its time and the script's log lines (redacted).
type testAnswer struct {
	OK         bool           `json:"ok"`
	Output     map[string]any `json:"output,omitempty"`
	Error      *testError     `json:"error,omitempty"`
	DurationMs int64          `json:"durationMs"`
	Logs       []string       `json:"logs"`
}

type testError struct {
	Kind    string           `json:"kind"`
	Message string           `json:"message"`
	Details []schema.Problem `json:"details,omitempty"`
}

// testPlugin runs one action with the app's configuration, as an
// automation would, logged with kind "test". A failed call is an answer
// (200, ok false) — the designer is looking for it; only a request the
// call cannot start from (unknown plugin or action, disabled, an input
// the action's schema refuses) is an error.
func (s *Server) testPlugin(c *fiber.Ctx) error {
	var in pluginTest
	if err := decodePluginJSON(c.Body(), &in, map[string]string{"action": "string", "input": "object"}); err != nil {
		return err
	}
	if in.Action == "" {
		return &Error{Status: 422, Code: "validation_failed", Message: "action is required",
			Details: []schema.Problem{{Path: "/action", Code: "required", Params: map[string]any{"key": "action"}, Message: "action is required"}}}
	}
	if in.Input == nil {
		in.Input = map[string]any{}
	}
	app, err := s.pluginApp(c)
	if err != nil {
		return err
	}
	name := c.Params("name")
	// Each test is its own effect: a fresh idempotency key.
	key := "test-" + strings.ToLower(ulid.Make().String())
	out, err := s.Plugins.Call(c.UserContext(), app, name, in.Action, in.Input, plugin.CallMeta{Kind: "test", Key: key})
	ans := testAnswer{OK: err == nil, Output: out, Logs: []string{}}
	if err != nil {
		var pe *plugin.Error
		if !errors.As(err, &pe) {
			return pluginError(err)
		}
		switch pe.Kind {
		case plugin.KindNotFound, plugin.KindDisabled, plugin.KindInput:
			return callError(pe)
		}
		ans.Error = &testError{Kind: pe.Kind, Message: pe.Message, Details: pe.Details}
	}
	// The time and the log lines are the call log's (redacted there).
	if calls, err := s.Plugins.Calls(c.UserContext(), app, name, 1); err == nil && len(calls) == 1 && calls[0].Kind == "test" {
		ans.DurationMs = calls[0].DurationMs
		if calls[0].Logs != nil {
			ans.Logs = calls[0].Logs
		}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSONValue(c, 200, ans)
}

func (s *Server) pluginCalls(c *fiber.Ctx) error {
	limit, err := limitParam(c, plugin.KeepCalls)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 50
	}
	app, err := s.pluginApp(c)
	if err != nil {
		return err
	}
	calls, err := s.Plugins.Calls(c.UserContext(), app, c.Params("name"), limit)
	if err != nil {
		return pluginError(err)
	}
	if calls == nil {
		calls = []plugin.CallInfo{}
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSONValue(c, 200, fiber.Map{"items": calls})
}

// getConnector answers a connector's endpoint: its path, its token
// (created on first read) and the HTML snippet.
func (s *Server) getConnector(c *fiber.Ctx) error {
	return s.connectorAnswer(c, s.Plugins.Endpoint, AuditConnectorToken)
}

// rotateConnectorToken replaces the token (the old one stops working) and
// answers the endpoint with the new one. The body, if any, is {}.
func (s *Server) rotateConnectorToken(c *fiber.Ctx) error {
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decodePluginJSON(c.Body(), nil, map[string]string{}); err != nil {
			return err
		}
	}
	return s.connectorAnswer(c, s.Plugins.RotateToken, AuditConnectorRotate)
}

// connectorAnswer answers the endpoint get returns for the route's app
// and connector; reading or rotating the token is audited, without it.
func (s *Server) connectorAnswer(c *fiber.Ctx, get func(ctx context.Context, app, connector, baseURL string) (*plugin.Endpoint, error), action string) error {
	app, err := s.pluginApp(c)
	if err != nil {
		return err
	}
	name := c.Params("name")
	ep, err := get(c.UserContext(), app, name, c.BaseURL())
	if err != nil {
		return pluginError(err)
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: action, Target: app + "/" + name})
	c.Set(fiber.HeaderCacheControl, "no-store")
	return sendJSONValue(c, 200, ep)
}
