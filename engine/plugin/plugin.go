// Package plugin installs, configures and runs connector plugins: a
// manifest (schema.Manifest) plus JavaScript run in the goja sandbox
// (engine/script) with a narrow API — http.request to the declared hosts
// only, secrets.get, settings, log, crypto, mail.send.
//
// Files (ownership during the build of issue 17):
//   - plugin.go      the Service, its options and the shared types (contract)
//   - package.go     reading a folder or .zip, pack, sign, verify, keygen   [plugin-pack]
//   - store.go       _forma_plugins, _forma_plugin_keys: install/list/remove [plugin-pack]
//   - secrets.go     AES-GCM sealing of secrets, the key                     [plugin-pack]
//   - config.go      _forma_plugin_apps: per-app enable/settings/secrets     [plugin-pack]
//   - run.go         Call/Receive: the sandbox, natives, limits              [plugin-run]
//   - http.go        http.request: declared hosts, private-address guard     [plugin-run]
//   - mail.go        mail.send over SMTP (wneessen/go-mail)                  [plugin-run]
//   - calls.go       _forma_plugin_calls: the recent calls, redaction        [plugin-run]
//   - sdk.go         Init (scaffold) and RunTests (fixtures, fake HTTP)     [plugin-run]
//   - inbound.go     connectors: tokens, rate limit, honeypot, mapping      [plugin-in]
//   - check.go       CheckApp: plugin actions and connectors of an app      [plugin-in]
package plugin

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Options configure the plugin service. cmd/forma fills them from flags
// and the environment.
type Options struct {
	// SecretKey seals secrets (32 bytes, AES-256-GCM). When nil, the key
	// is read from FORMA_SECRET_KEY (base64 of 32 bytes) or from KeyFile,
	// which is created (0600, 32 random bytes, base64) on first start
	// when absent. KeyFile defaults to <data dir>/secret.key.
	SecretKey []byte
	KeyFile   string
	// TrustedKeys verify signed packages, beside the keys an admin adds
	// (_forma_plugin_keys). FORMA_PLUGIN_KEYS: comma-separated base64.
	TrustedKeys []ed25519.PublicKey
	// AllowUnsigned lets an admin install an unsigned or folder package
	// (development only; FORMA_PLUGIN_ALLOW_UNSIGNED=1).
	AllowUnsigned bool
	// Builtins holds the built-in plugins, one folder each (plugins.FS);
	// they are installed (or upgraded) at Open, trusted without a
	// signature, and cannot be removed.
	Builtins fs.FS
	// Transport, when set, replaces the guarded HTTP transport (tests and
	// `forma plugin test` point declared hosts at a local fake server);
	// Resolve, when set, replaces DNS for the guard (tests make a
	// declared host resolve to 127.0.0.1 and expect a refusal).
	Transport http.RoundTripper
	Resolve   func(ctx context.Context, host string) ([]string, error)
	// SMTPDial, when set, replaces the SMTP connection (tests).
	SMTPDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Limits are the server's maxima; a manifest may only tighten them.
const (
	DefaultTimeout       = 10 * time.Second
	MaxTimeout           = schema.PluginMaxTimeoutMs * time.Millisecond // the manifest check's maxima, as the runtime counts them
	DefaultMaxRequests   = 10
	MaxRequests          = schema.PluginMaxRequests
	DefaultMaxResponseKB = 1024
	MaxResponseKB        = schema.PluginMaxResponseKB
	MaxPackageBytes      = 5 << 20 // a .zip or folder, all files together
	KeepCalls            = 200     // recent calls kept per app and plugin
)

// Installed is one installed plugin: its manifest and its files.
type Installed struct {
	Manifest    *schema.Manifest
	Files       map[string]string // top-level *.js and plugin.json, and test/ fixtures
	SHA256      string            // of the package's content digest (hex)
	Signer      string            // the signing key's id ("" unsigned/builtin)
	Builtin     bool
	InstalledAt time.Time
	InstalledBy string
}

// Summary is an installed plugin as the admin API lists it.
type Summary struct {
	Name        string                 `json:"name"`
	Version     string                 `json:"version"`
	Author      string                 `json:"author"`
	Description string                 `json:"description"`
	Labels      schema.Labels          `json:"labels,omitempty"`
	Hosts       []schema.Host          `json:"hosts"`
	Settings    json.RawMessage        `json:"settings,omitempty"`
	Secrets     json.RawMessage        `json:"secrets,omitempty"`
	Actions     []schema.PluginAction  `json:"actions"`
	Triggers    []schema.PluginTrigger `json:"triggers"`
	Builtin     bool                   `json:"builtin"`
	Signer      string                 `json:"signer,omitempty"`
	SHA256      string                 `json:"sha256"`
	InstalledAt time.Time              `json:"installedAt"`
	UsedBy      []Use                  `json:"usedBy"`
}

// Use is an app's automation or connector that uses a plugin.
type Use struct {
	App        string `json:"app"`
	Automation string `json:"automation,omitempty"`
	Connector  string `json:"connector,omitempty"`
}

// AppConfig is a plugin's configuration in one app. Secrets are never
// part of an answer: SecretsSet says which are set.
type AppConfig struct {
	App          string          `json:"app"`
	Plugin       string          `json:"plugin"`
	Enabled      bool            `json:"enabled"`
	Settings     json.RawMessage `json:"settings"`     // {} when none
	SecretsSet   map[string]bool `json:"secretsSet"`   // name → set
	AllowPrivate bool            `json:"allowPrivate"` // platform admin only
	UpdatedAt    time.Time       `json:"updatedAt"`
	UpdatedBy    string          `json:"updatedBy,omitempty"`
}

// ConfigInput is a PUT of an app's configuration. Secrets: a string sets
// one, null clears it, an absent name keeps it. AllowPrivate is honoured
// only from a platform admin (nil keeps it).
type ConfigInput struct {
	Enabled      *bool              `json:"enabled"`
	Settings     json.RawMessage    `json:"settings"`
	Secrets      map[string]*string `json:"secrets"`
	AllowPrivate *bool              `json:"allowPrivate"`
}

// CallInfo is one recent call as the Connectors screen shows it.
type CallInfo struct {
	ID         string    `json:"id"`
	App        string    `json:"app"`
	Plugin     string    `json:"plugin"`
	Kind       string    `json:"kind"` // "action", "trigger", "test"
	Name       string    `json:"name"` // the action or trigger
	Automation string    `json:"automation,omitempty"`
	Connector  string    `json:"connector,omitempty"`
	Status     string    `json:"status"`          // "ok", "error", "refused", "timeout"
	Error      string    `json:"error,omitempty"` // redacted: never a secret
	Requests   int       `json:"requests"`        // http.request calls made
	DurationMs int64     `json:"durationMs"`
	At         time.Time `json:"at"`
	Logs       []string  `json:"logs,omitempty"` // the script's log lines, redacted
}

// CallMeta says who calls and why, for the call log.
type CallMeta struct {
	Kind       string // "action" or "test"
	Automation string
	Connector  string
	Key        string // idempotency key handed to the script as ctx.key
}

// Inbound is a request to a connector, as a trigger function sees it.
type Inbound struct {
	Method      string            `json:"method"`
	Headers     map[string]string `json:"headers"` // lower-case names; never cookies or the token
	Query       map[string]string `json:"query"`
	ContentType string            `json:"contentType"`
	Body        string            `json:"body"`           // as text (≤ 256 KiB)
	Form        map[string]string `json:"form,omitempty"` // urlencoded or multipart fields
	JSON        any               `json:"json,omitempty"` // a JSON body, decoded strictly
	IP          string            `json:"ip"`
}

// Error kinds.
const (
	KindNotFound = "not_found" // no such plugin, action or trigger
	KindDisabled = "disabled"  // not enabled in the app
	KindInput    = "input"     // the input does not match the action's schema
	KindOutput   = "output"    // the result does not match the output schema
	KindRefused  = "refused"   // a host not declared, a private address, a limit on requests
	KindTimeout  = "timeout"   // cut at the time limit
	KindScript   = "script"    // the script threw
	KindRemote   = "remote"    // the remote answered an error the script passed on
	KindConfig   = "config"    // a setting or secret the call needs is missing
)

// Error is a failed plugin call. Retry says whether trying again may
// succeed (timeouts, network errors, 5xx: the automation's job retries).
// Message never holds a secret.
type Error struct {
	Kind    string
	Message string
	Retry   bool
	Details []schema.Problem // KindInput, KindOutput, config
}

func (e *Error) Error() string { return fmt.Sprintf("plugin: %s: %s", e.Kind, e.Message) }

// Retryable says whether trying again may succeed: engine/automation
// reads it through an interface (it cannot import this package) to retry
// the step's job or fail the run at once.
func (e *Error) Retryable() bool { return e.Retry }

// ErrInUse is wrapped by Remove when an automation or connector uses the
// plugin; the message names them.
var ErrInUse = errors.New("plugin is in use")

// Service installs and runs plugins.
type Service struct {
	db   *store.DB
	cat  *store.Catalog
	recs *records.Service
	q    *jobs.Queue
	opts Options
	log  *slog.Logger
	key  []byte // the secrets key (secrets.go: loaded on first need)

	keyMu sync.Mutex // guards key while it is loaded

	run *runtime // run.go

	inboundReady atomic.Bool // inbound.go: its tables exist
}

// New opens the plugin service: its tables, the secrets key, the
// built-in plugins.
func New(ctx context.Context, db *store.DB, cat *store.Catalog, recs *records.Service, q *jobs.Queue, opts Options, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Service{db: db, cat: cat, recs: recs, q: q, opts: opts, log: log, run: newRuntime()}
	if err := s.open(ctx); err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	return s, nil
}
