package plugin

// Stubs of the contract: each helper replaces the ones in its files and
// deletes them from here. Everything compiles from the start.

import (
	"context"
	"errors"

	"github.com/formaapp/forma/engine/records"
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

var _ = records.PathAPI
