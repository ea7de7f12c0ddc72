package schema

import "encoding/json"

// Manifest is a plugin's plugin.json: what the plugin is, the hosts its
// script may call, the settings and secrets an app configures it with (as
// JSON Schema), and the actions and triggers it offers. ParseManifest
// validates one against plugin.schema.json and the checks in
// plugins_check.go, every problem with its JSON pointer.
type Manifest struct {
	Name        string `json:"name"`    // ^[a-z][a-z0-9-]{1,39}$; unique on a server
	Version     string `json:"version"` // semver: 1.2.3, 1.2.3-beta.1
	Author      string `json:"author"`
	Description string `json:"description"`
	Labels      Labels `json:"labels,omitempty"` // the name shown, per locale ("zh-CN", "en")
	// Main is the script file holding the action and trigger functions
	// (default "index.js"). Every *.js file at the package's top level is
	// loaded; functions are looked up in Main.
	Main string `json:"main,omitempty"`
	// Hosts are what http.request may reach: "api.example.com",
	// "api.example.com:8443", "*.example.com" (one or more labels), or
	// {"setting": "baseUrl"} — the host of the URL (or host[:port]) an
	// app's admin puts in that setting. Nothing else is reachable.
	Hosts []Host `json:"hosts,omitempty"`
	// Settings and Secrets are JSON Schemas of objects (type "object",
	// "properties"); secrets' properties are strings. Secrets are stored
	// encrypted and never shown again.
	Settings json.RawMessage `json:"settings,omitempty"`
	Secrets  json.RawMessage `json:"secrets,omitempty"`
	Actions  []PluginAction  `json:"actions,omitempty"`
	Triggers []PluginTrigger `json:"triggers,omitempty"`
	Limits   *PluginLimits   `json:"limits,omitempty"`
}

// Host is one entry of Manifest.Hosts: a host pattern, or the name of a
// setting that holds one.
type Host struct {
	Pattern string // "api.example.com", "*.example.com", "smtp.example.com:465"
	Setting string // {"setting": "baseUrl"}
}

// MarshalJSON writes a pattern as a string and a setting as an object.
func (h Host) MarshalJSON() ([]byte, error) {
	if h.Setting != "" {
		return json.Marshal(map[string]string{"setting": h.Setting})
	}
	return json.Marshal(h.Pattern)
}

// UnmarshalJSON reads either form.
func (h *Host) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*h = Host{Pattern: s}
		return nil
	}
	var o struct {
		Setting string `json:"setting"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*h = Host{Setting: o.Setting}
	return nil
}

// PluginAction is something an automation can do with the plugin: its
// Function (default Name) in Main is called with the input object and
// returns the output object.
type PluginAction struct {
	Name        string          `json:"name"` // ^[a-z][a-zA-Z0-9_]{0,39}$
	Title       string          `json:"title,omitempty"`
	Labels      Labels          `json:"labels,omitempty"`
	Description string          `json:"description,omitempty"`
	Function    string          `json:"function,omitempty"`
	Input       json.RawMessage `json:"input,omitempty"`  // JSON Schema of an object
	Output      json.RawMessage `json:"output,omitempty"` // JSON Schema of an object
}

// PluginTrigger is a way records come in: its Function (default Name) is
// called with an inbound request (method, headers, query, body, form,
// json) and returns an object, an array of objects, or null (dropped),
// each matching Output. An app's connector (App.Connectors) maps them to
// an entity's fields.
type PluginTrigger struct {
	Name        string          `json:"name"`
	Title       string          `json:"title,omitempty"`
	Labels      Labels          `json:"labels,omitempty"`
	Description string          `json:"description,omitempty"`
	Function    string          `json:"function,omitempty"`
	Output      json.RawMessage `json:"output"` // JSON Schema of an object
}

// PluginLimits tighten the server's limits for one plugin's calls (they
// never loosen them: the server's maxima win).
type PluginLimits struct {
	TimeoutMs     int `json:"timeoutMs,omitempty"`     // whole call, default 10000, max 30000
	MaxRequests   int `json:"maxRequests,omitempty"`   // http.request calls per call, default 10, max 50
	MaxResponseKB int `json:"maxResponseKB,omitempty"` // per response body, default 1024, max 5120
}

// Action returns the action named name, or nil.
func (m *Manifest) Action(name string) *PluginAction {
	for i := range m.Actions {
		if m.Actions[i].Name == name {
			return &m.Actions[i]
		}
	}
	return nil
}

// Trigger returns the trigger named name, or nil.
func (m *Manifest) Trigger(name string) *PluginTrigger {
	for i := range m.Triggers {
		if m.Triggers[i].Name == name {
			return &m.Triggers[i]
		}
	}
	return nil
}

// Connector is an app's inbound endpoint: POST /api/in/{app}/{name}
// runs Plugin's Trigger on the request and writes each item it returns
// to Entity through the records service (path "plugin"), mapped by
// Mapping. The endpoint's token is kept by the server (never in the
// document): see engine/plugin.
type Connector struct {
	Name    string `json:"name"` // ^[a-z][a-z0-9-]{0,62}$, unique in the app
	Label   string `json:"label,omitempty"`
	Labels  Labels `json:"labels,omitempty"`
	Enabled *bool  `json:"enabled,omitempty"` // true when absent
	Plugin  string `json:"plugin"`
	Trigger string `json:"trigger"`
	Entity  string `json:"entity"`
	// Mapping is entity field → the trigger output's property. Only the
	// entity's own writable fields may be targets (never id, owner,
	// created_by, version or other system fields, never formula, rollup
	// or computed fields).
	Mapping map[string]string `json:"mapping"`
	// Defaults are fixed values (JSON, the API's form) for fields the
	// item does not carry, e.g. {"source": "website"}. Same targets as
	// Mapping.
	Defaults map[string]json.RawMessage `json:"defaults,omitempty"`
	// Match names a unique field: an item whose value matches an
	// existing record updates it instead of creating another.
	Match string `json:"match,omitempty"`
	// Honeypot is a form field real people leave empty (the snippet
	// hides it); a submission that fills it is answered 202 like any
	// other and dropped.
	Honeypot string `json:"honeypot,omitempty"`
	// RateLimit is accepted submissions per minute per client address
	// (default 30; 0 means the default; at most 10000). Beyond it: 429.
	RateLimit int `json:"rateLimit,omitempty"`
	// Role is the app role the write is made as (its rules apply); empty
	// means the app's rules as for an admin-less system write.
	Role string `json:"role,omitempty"`
}

// IsEnabled says whether the endpoint accepts submissions.
func (c *Connector) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Connector returns the connector named name, or nil.
func (a *App) Connector(name string) *Connector {
	for i := range a.Connectors {
		if a.Connectors[i].Name == name {
			return &a.Connectors[i]
		}
	}
	return nil
}
