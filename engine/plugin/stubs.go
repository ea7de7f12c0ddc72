package plugin

// Stubs of the contract: each helper replaces the ones in its files and
// deletes them from here. Everything compiles from the start.

import (
	"context"
	"errors"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

var errTODO = errors.New("plugin: not built yet")

// ---- plugin-pack: package.go, store.go, secrets.go, config.go ----

// open creates the tables, loads the secrets key and installs the
// built-ins (plugin-pack).
func (s *Service) open(ctx context.Context) error { return nil }

// Load reads a plugin package from a folder or a .zip file on disk:
// the manifest (ParseManifest's problems as *schema.ProblemsError-like
// validation error), its files, its digest and signature state.
func Load(path string) (*Package, error) { return nil, errTODO }

// Package is a package read from disk or an upload, not yet installed.
type Package struct {
	Manifest *schema.Manifest
	Files    map[string]string
	SHA256   string // hex digest of the content (see package.go)
	Signer   string // the key id that signed it; "" unsigned
	Signed   bool   // the signature verified against Signer's key
	Folder   bool   // read from a folder (always unsigned)
}

// ReadZip reads a package from a .zip's bytes.
func ReadZip(data []byte) (*Package, error) { return nil, errTODO }

// Install installs (or upgrades: settings and secrets of every app are
// kept) pkg as user. Unsigned or untrusted packages are refused unless
// allowUnsigned (and the server allows it); a tampered one always.
func (s *Service) Install(ctx context.Context, pkg *Package, user string, allowUnsigned bool) (*Summary, error) {
	return nil, errTODO
}

// List lists the installed plugins with what uses each.
func (s *Service) List(ctx context.Context) ([]Summary, error) { return nil, errTODO }

// Get returns one installed plugin (nil, nil when absent).
func (s *Service) Get(ctx context.Context, name string) (*Installed, error) { return nil, errTODO }

// Remove removes a plugin; refused (wrapping ErrInUse, naming each user)
// while an app's automation or connector uses it, and for a built-in.
func (s *Service) Remove(ctx context.Context, name, user string) error { return errTODO }

// Config returns a plugin's configuration in app (disabled and empty
// when never configured).
func (s *Service) Config(ctx context.Context, app, plugin string) (*AppConfig, error) {
	return nil, errTODO
}

// Configs returns the configuration in app of every installed plugin.
func (s *Service) Configs(ctx context.Context, app string) ([]AppConfig, error) { return nil, errTODO }

// Configure sets a plugin's configuration in app: settings validated
// against the manifest's settings schema and secrets against its secrets
// schema (every problem with its pointer), secrets sealed. admin says
// whether the caller is the platform admin (AllowPrivate).
func (s *Service) Configure(ctx context.Context, app, plugin string, in ConfigInput, user string, admin bool) (*AppConfig, error) {
	return nil, errTODO
}

// secrets returns a plugin's decrypted secrets in app, for a call only.
func (s *Service) secrets(ctx context.Context, app, plugin string) (map[string]string, error) {
	return nil, errTODO
}

// ---- plugin-run: run.go, http.go, mail.go, calls.go, sdk.go ----

type runtime struct{}

// Call runs action of plugin in app with input: validated against the
// action's input schema, run in the sandbox with the app's settings and
// secrets, its output validated against the output schema. The call is
// logged (calls.go). Errors are *Error.
func (s *Service) Call(ctx context.Context, app, plugin, action string, input map[string]any, meta CallMeta) (map[string]any, error) {
	return nil, errTODO
}

// Receive runs trigger of plugin in app on an inbound request and
// returns the items it produced (each validated against the trigger's
// output schema).
func (s *Service) Receive(ctx context.Context, app, plugin, trigger, connector string, req Inbound) ([]map[string]any, error) {
	return nil, errTODO
}

// Calls returns the recent calls of plugin in app, newest first.
func (s *Service) Calls(ctx context.Context, app, plugin string, limit int) ([]CallInfo, error) {
	return nil, errTODO
}

// ---- plugin-in: inbound.go, check.go ----

// CheckApp returns what is wrong with app's plugin actions and
// connectors: unknown plugins, actions, triggers; inputs the action's
// schema refuses (literals only; templates and expressions are checked
// at run time); mapping targets that are not writable fields.
func (s *Service) CheckApp(ctx context.Context, app *schema.App) schema.Problems { return nil }

// Accept handles one submission to app's connector: token, rate limit,
// honeypot, the trigger, the mapping, the write (path "plugin"). It
// returns the ids written and the HTTP status to answer.
func (s *Service) Accept(ctx context.Context, app, connector, token string, req Inbound) (ids []string, status int, err error) {
	return nil, 501, errTODO
}

// Endpoint is what an app admin sees of a connector: its URL path, its
// token and a ready HTML form to paste into a website.
type Endpoint struct {
	App     string `json:"app"`
	Name    string `json:"name"`
	Path    string `json:"path"` // /api/in/{app}/{name}
	Token   string `json:"token"`
	Snippet string `json:"snippet"`
}

// Endpoint returns connector's endpoint (creating its token on first use).
func (s *Service) Endpoint(ctx context.Context, app, connector, baseURL string) (*Endpoint, error) {
	return nil, errTODO
}

// RotateToken replaces connector's token; the old one stops working.
func (s *Service) RotateToken(ctx context.Context, app, connector, baseURL string) (*Endpoint, error) {
	return nil, errTODO
}

var _ = records.PathAPI
