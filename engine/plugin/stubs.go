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
