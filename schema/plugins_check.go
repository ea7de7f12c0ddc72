package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/formaapp/forma/schema/strictjson"
)

//go:embed plugin.schema.json
var pluginSchemaJSON []byte

// PluginSchemaURL is the $id of a plugin manifest's JSON Schema.
const PluginSchemaURL = "https://formaapp.dev/schema/plugin.schema.json"

// PluginSchemaJSON returns the JSON Schema (draft 2020-12) of plugin.json.
func PluginSchemaJSON() []byte { return bytes.Clone(pluginSchemaJSON) }

var (
	pluginSchema    = compileSchema(PluginSchemaURL, pluginSchemaJSON)
	rawPluginSchema = decodeJSON(pluginSchemaJSON)
)

// The server's maxima of a plugin's limits (engine/plugin's MaxTimeout,
// MaxRequests and MaxResponseKB are these). A manifest may only tighten them.
const (
	PluginMaxTimeoutMs   = 30000
	PluginMaxRequests    = 50
	PluginMaxResponseKB  = 5120
	maxPluginSchemaBytes = 256 << 10
)

// semverPattern is semver.org's: MAJOR.MINOR.PATCH, an optional
// pre-release and build metadata, no leading zeros.
var semverPattern = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// jsIdentifier is what a plugin's function may be named: a plain ASCII
// JavaScript identifier (looked up on the script's global object).
var jsIdentifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// jsReserved are the words a function declaration cannot be named.
var jsReserved = map[string]bool{
	"break": true, "case": true, "catch": true, "class": true, "const": true, "continue": true,
	"debugger": true, "default": true, "delete": true, "do": true, "else": true, "enum": true,
	"export": true, "extends": true, "false": true, "finally": true, "for": true, "function": true,
	"if": true, "import": true, "in": true, "instanceof": true, "new": true, "null": true,
	"return": true, "super": true, "switch": true, "this": true, "throw": true, "true": true,
	"try": true, "typeof": true, "var": true, "void": true, "while": true, "with": true,
	"yield": true, "let": true, "static": true, "implements": true, "interface": true,
	"package": true, "private": true, "protected": true, "public": true, "await": true,
	"arguments": true, "eval": true, "undefined": true, "NaN": true, "Infinity": true,
}

// hostLabel is one label of a host name (lower case, no leading or
// trailing hyphen).
var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ParseManifest decodes and validates a plugin.json strictly (duplicate
// keys, unknown fields, invalid UTF-8 are problems too). It returns the
// manifest and nil, or nil and every problem found, each with its JSON
// pointer ("/actions/0/input/type") and a code.
func ParseManifest(data []byte) (*Manifest, Problems) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Problems{{Path: "", Code: "required", Message: "plugin.json is empty; expected a JSON object describing the plugin"}}
	}
	inst, probs := decodeStrict(data)
	if probs != nil {
		return nil, probs
	}
	// "$schema" lets an editor find plugin.schema.json; it is no part of
	// the manifest.
	if m, ok := inst.(map[string]any); ok {
		if _, has := m["$schema"]; has {
			delete(m, "$schema")
			data, _ = json.Marshal(inst)
		}
	}
	if err := pluginSchema.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			probs = schemaProblems(ve, inst, rawPluginSchema)
		} else {
			probs.AddCode("", "invalid", nil, "%s", err.Error())
		}
	}
	probs = append(probs, limitLiteralProblems(inst, pathSet(probs))...)

	namePatterns(probs)

	var m Manifest
	if len(probs) == 0 {
		d := json.NewDecoder(bytes.NewReader(data))
		d.DisallowUnknownFields()
		if err := d.Decode(&m); err != nil {
			return nil, Problems{{Path: "", Code: "invalid", Message: "cannot read plugin.json: " + strings.TrimPrefix(err.Error(), "json: ")}}
		}
	} else {
		m = looseManifest(inst)
	}
	covered := map[string]bool{}
	for _, p := range probs {
		covered[p.Path] = true
	}
	for _, p := range m.check(inst) {
		if !covered[p.Path] {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		sortProblems(probs)
		return nil, probs
	}
	return &m, nil
}

// namePatterns words the name rules of a plugin, its actions and triggers
// as rules rather than regular expressions.
func namePatterns(probs Problems) {
	for i, p := range probs {
		if p.Code != "pattern" {
			continue
		}
		segs := splitPtr(p.Path)
		switch {
		case len(segs) == 1 && segs[0] == "name":
			probs[i].Message = "a plugin name is 2 to 40 lower-case letters, digits and hyphens, starting with a letter (wecom, my-crm)"
		case len(segs) == 3 && (segs[0] == "actions" || segs[0] == "triggers") && segs[2] == "name":
			probs[i].Message = "an action or trigger name is a letter a-z, then up to 39 letters, digits and _ (send, newLead)"
		default:
			continue
		}
		probs[i].Code, probs[i].Params = "invalid_name", nil
	}
}

// looseManifest reads what it can of a manifest that has problems, key by
// key and item by item (an item that does not decode stays empty in its
// place), so the semantic checks can still report theirs at the right
// pointers.
func looseManifest(inst any) Manifest {
	var m Manifest
	root, _ := inst.(map[string]any)
	into := func(v any, dst any) {
		b, err := json.Marshal(v)
		if err == nil {
			_ = json.Unmarshal(b, dst) // what does not decode stays zero: the schema reported it
		}
	}
	into(root["name"], &m.Name)
	into(root["version"], &m.Version)
	into(root["author"], &m.Author)
	into(root["description"], &m.Description)
	into(root["main"], &m.Main)
	if v, ok := root["settings"]; ok {
		m.Settings, _ = json.Marshal(v)
	}
	if v, ok := root["secrets"]; ok {
		m.Secrets, _ = json.Marshal(v)
	}
	hosts, _ := root["hosts"].([]any)
	m.Hosts = make([]Host, len(hosts))
	for i, h := range hosts {
		into(h, &m.Hosts[i])
	}
	actions, _ := root["actions"].([]any)
	m.Actions = make([]PluginAction, len(actions))
	for i, a := range actions {
		into(a, &m.Actions[i])
	}
	triggers, _ := root["triggers"].([]any)
	m.Triggers = make([]PluginTrigger, len(triggers))
	for i, t := range triggers {
		into(t, &m.Triggers[i])
	}
	if l, ok := root["limits"].(map[string]any); ok {
		m.Limits = &PluginLimits{}
		for k, dst := range map[string]*int{"timeoutMs": &m.Limits.TimeoutMs, "maxRequests": &m.Limits.MaxRequests, "maxResponseKB": &m.Limits.MaxResponseKB} {
			into(l[k], dst)
		}
	}
	return m
}

// decodeStrict reads a JSON text as the app parser does: its syntax, what
// strictjson refuses, numbers kept exact and not absurdly large.
func decodeStrict(data []byte) (any, Problems) {
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		return nil, Problems{syntaxProblem(data, err)}
	}
	var se *strictjson.Error
	if errors.As(strictjson.Check(data), &se) {
		return nil, Problems{{Path: se.Pointer, Code: "invalid_json", Message: se.Message}}
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var inst any
	if err := d.Decode(&inst); err != nil {
		return nil, Problems{syntaxProblem(data, err)}
	}
	if probs := hugeNumbers(inst, ""); len(probs) > 0 {
		sortProblems(probs)
		return nil, probs
	}
	return inst, nil
}

// limitLiteralProblems reports limits written as 10.0 or 1e4: JSON Schema
// counts them as integers but they do not decode into a Go int.
func limitLiteralProblems(inst any, skip map[string]bool) Problems {
	var out Problems
	root, _ := inst.(map[string]any)
	limits, _ := root["limits"].(map[string]any)
	for _, k := range sortedKeys(limits) {
		path := "/limits/" + escapePtr(k)
		if n, ok := limits[k].(json.Number); ok && !skip[path] && !plainInt(string(n)) {
			out.Add(path, "must be a whole number written without a decimal point or exponent, not %s", n)
		}
	}
	return out
}

// check is what the JSON Schema cannot say: the version is semver, names
// are unique, functions are JavaScript identifiers, hosts are host
// patterns, the settings, secrets, inputs and outputs are JSON Schemas of
// objects, limits are within the server's maxima.
func (m *Manifest) check(inst any) Problems {
	var p Problems
	root, _ := inst.(map[string]any)
	if m.Version != "" && !semverPattern.MatchString(m.Version) {
		p.Add("/version", "%q is not a semantic version such as 1.0.0 or 2.1.0-beta.1", m.Version)
	}
	if len(m.Actions) == 0 && len(m.Triggers) == 0 {
		p.Add("", "a plugin needs at least one action or trigger")
	}
	p = append(p, checkHosts(m, root)...)
	p = append(p, checkObjectSchema("/settings", m.Settings, false)...)
	p = append(p, checkObjectSchema("/secrets", m.Secrets, true)...)

	actions := map[string]int{}
	for i, a := range m.Actions {
		at := ptr("actions", i)
		if j, dup := actions[a.Name]; dup && a.Name != "" {
			p.Add(at+"/name", "duplicate action name %q (also at %s)", a.Name, ptr("actions", j))
		} else {
			actions[a.Name] = i
		}
		p = append(p, checkFunction(at, a.Name, a.Function)...)
		p = append(p, checkObjectSchema(at+"/input", a.Input, false)...)
		p = append(p, checkObjectSchema(at+"/output", a.Output, false)...)
	}
	triggers := map[string]int{}
	for i, t := range m.Triggers {
		at := ptr("triggers", i)
		if j, dup := triggers[t.Name]; dup && t.Name != "" {
			p.Add(at+"/name", "duplicate trigger name %q (also at %s)", t.Name, ptr("triggers", j))
		} else {
			triggers[t.Name] = i
		}
		p = append(p, append(checkFunction(at, t.Name, t.Function), checkObjectSchema(at+"/output", t.Output, false)...)...)
	}
	if l := m.Limits; l != nil {
		for _, x := range []struct {
			key      string
			val, max int
		}{{"timeoutMs", l.TimeoutMs, PluginMaxTimeoutMs}, {"maxRequests", l.MaxRequests, PluginMaxRequests}, {"maxResponseKB", l.MaxResponseKB, PluginMaxResponseKB}} {
			if x.val > x.max {
				p.Add("/limits/"+x.key, "%d is above the server's maximum of %d", x.val, x.max)
			}
		}
	}
	return p
}

// checkFunction checks the function an action or trigger calls: its own
// name unless function names another.
func checkFunction(at, name, function string) Problems {
	var p Problems
	path, fn := at+"/function", function
	if fn == "" {
		path, fn = at+"/name", name
	}
	switch {
	case fn == "":
	case !jsIdentifier.MatchString(fn):
		p.Add(path, "%q is not a JavaScript function name (letters, digits, _ and $, not starting with a digit)", fn)
	case jsReserved[fn]:
		p.Add(path, "%q is a reserved word in JavaScript and cannot name a function; give \"function\" another name", fn)
	}
	return p
}

// checkHosts checks each declared host: a host name or IPv4 address with
// an optional port, a wildcard only as a leading "*." over at least two
// labels, no scheme, no path; or {"setting": NAME} naming a setting.
func checkHosts(m *Manifest, root map[string]any) Problems {
	var p Problems
	raw, _ := root["hosts"].([]any)
	props := schemaProperties(m.Settings)
	seen := map[string]int{}
	for i, h := range m.Hosts {
		at := ptr("hosts", i)
		if i < len(raw) {
			if o, ok := raw[i].(map[string]any); ok {
				for _, k := range sortedKeys(o) {
					if k != "setting" {
						p.Add(at+"/"+escapePtr(k), "unknown field %q%s", k, didYouMean(k, []string{"setting"}))
					}
				}
				if s, ok := o["setting"].(string); !ok || s == "" {
					p.Add(at, "a host from a setting is {\"setting\": NAME}, the name of a setting holding a URL or host")
					continue
				}
			}
		}
		if h.Setting != "" {
			if _, ok := props[h.Setting]; !ok {
				p.Add(at+"/setting", "no setting named %q in settings.properties", h.Setting)
			}
			continue
		}
		if msg := hostPatternProblem(h.Pattern); msg != "" {
			p.Add(at, "host %q %s", h.Pattern, msg)
			continue
		}
		if j, dup := seen[h.Pattern]; dup {
			p.Add(at, "%s is already listed at %s", h.Pattern, ptr("hosts", j))
		} else {
			seen[h.Pattern] = i
		}
	}
	return p
}

// hostPatternProblem says what is wrong with a host pattern, "" when
// nothing is.
func hostPatternProblem(s string) string {
	switch {
	case strings.Contains(s, "://"):
		return "has a scheme: write the host only (api.example.com)"
	case strings.ContainsAny(s, "/?#@"):
		return "has a path, query or user: write the host only (api.example.com)"
	case strings.ContainsAny(s, " \t\r\n"):
		return "has spaces"
	}
	host := s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host = s[:i]
		port, err := strconv.Atoi(s[i+1:])
		if err != nil || port < 1 || port > 65535 || s[i+1] == '0' || s[i+1] == '+' {
			return "has a port that is not a number from 1 to 65535"
		}
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Is4() {
			return ""
		}
		return "is an IPv6 address: declare a host name"
	}
	wild := strings.HasPrefix(host, "*.")
	if wild {
		host = host[2:]
	}
	if strings.Contains(host, "*") {
		return "has a wildcard that is not a leading \"*.\""
	}
	if host != strings.ToLower(host) {
		return "must be lower case"
	}
	labels := strings.Split(host, ".")
	if len(host) > 253 {
		return "is longer than 253 characters"
	}
	for _, l := range labels {
		if !hostLabel.MatchString(l) {
			return "is not a host name (labels of a-z, 0-9 and -, separated by dots)"
		}
	}
	if wild && len(labels) < 2 {
		return "is a wildcard over a whole top-level domain: name the domain (*.example.com)"
	}
	return ""
}

// schemaProperties returns the "properties" of a JSON Schema (nil when it
// has none or does not decode).
func schemaProperties(raw json.RawMessage) map[string]any {
	var s struct {
		Properties map[string]any `json:"properties"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return s.Properties
}

// checkObjectSchema checks that raw (when given) is a JSON Schema of an
// object that compiles; secrets says each property must be a string
// (secrets).
func checkObjectSchema(at string, raw json.RawMessage, secrets bool) Problems {
	var p Problems
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s map[string]json.RawMessage
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil // the JSON Schema of plugin.json already says it is not an object
	}
	var typ string
	if json.Unmarshal(s["type"], &typ) != nil || typ != "object" {
		p.Add(at, "must be a JSON Schema of an object: give \"type\": \"object\" and its \"properties\"")
		return p
	}
	if _, err := CompileJSONSchema(raw); err != nil {
		p.Add(at, "is not a JSON Schema that compiles: %s", err.Error())
		return p
	}
	if secrets {
		var props map[string]map[string]json.RawMessage
		if json.Unmarshal(s["properties"], &props) != nil {
			return p
		}
		for _, name := range sortedKeys(props) {
			var t string
			if json.Unmarshal(props[name]["type"], &t) != nil || t != "string" {
				p.Add(at+"/properties/"+escapePtr(name), "a secret is a string: give it \"type\": \"string\"")
			}
		}
	}
	return p
}

// JSONSchema is one of a plugin's own JSON Schemas compiled: its
// settings, its secrets, an action's input or output, a trigger's output.
type JSONSchema struct {
	s   *jsonschema.Schema
	raw any
}

// jsonSchemaURL names a plugin's schema while it compiles; every compile
// has its own compiler, so they never meet.
const jsonSchemaURL = "mem://plugin/schema.json"

// CompileJSONSchema compiles a plugin's JSON Schema (draft 2020-12 unless
// its "$schema" says otherwise). It loads nothing: a "$ref" outside the
// document is an error, never a file or network read.
func CompileJSONSchema(raw json.RawMessage) (js *JSONSchema, err error) {
	if len(raw) > maxPluginSchemaBytes {
		return nil, fmt.Errorf("the schema is larger than %d KB", maxPluginSchemaBytes>>10)
	}
	inst, probs := decodeStrict(raw)
	if probs != nil {
		return nil, fmt.Errorf("%s", probs[0].Message)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("%s: a plugin's schema cannot refer to other documents", s)
	}
	if err := c.AddResource(jsonSchemaURL, bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("%s", schemaErrorText(err))
	}
	// The compiler panics on a pattern Go's regexp refuses (lookahead,
	// backreferences) that the meta-schema lets through.
	defer func() {
		if r := recover(); r != nil {
			js, err = nil, fmt.Errorf("%v", r)
		}
	}()
	s, err := c.Compile(jsonSchemaURL)
	if err != nil {
		return nil, fmt.Errorf("%s", schemaErrorText(err))
	}
	return &JSONSchema{s: s, raw: inst}, nil
}

// schemaErrorText is a compile error's causes on one line (the first at
// each place), without the schema's in-memory URL.
func schemaErrorText(err error) string {
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		seen := map[string]bool{}
		var parts []string
		var walk func(e *jsonschema.ValidationError)
		walk = func(e *jsonschema.ValidationError) {
			if len(e.Causes) == 0 {
				if !seen[e.InstanceLocation] {
					seen[e.InstanceLocation] = true
					parts = append(parts, strings.TrimSpace(e.InstanceLocation+" "+e.Message))
				}
				return
			}
			for _, c := range e.Causes {
				walk(c)
			}
		}
		walk(ve)
		return strings.Join(parts, "; ")
	}
	for {
		var se *jsonschema.SchemaError
		if !errors.As(err, &se) || se.Err == nil {
			break
		}
		err = se.Err
	}
	msg := strings.ReplaceAll(err.Error(), jsonSchemaURL+"#", "")
	return strings.ReplaceAll(msg, jsonSchemaURL, "the schema")
}

// Validate checks a decoded JSON value (numbers as json.Number or float64)
// against the schema: every problem, at its pointer under base
// ("/settings", "/input").
func (j *JSONSchema) Validate(v any, base string) Problems {
	if probs := hugeNumbers(v, base); len(probs) > 0 {
		return probs
	}
	err := j.s.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		var p Problems
		p.AddCode(base, "invalid", nil, "%s", err.Error())
		return p
	}
	probs := schemaProblems(ve, v, j.raw)
	for i := range probs {
		probs[i].Path = base + probs[i].Path
	}
	sortProblems(probs)
	return probs
}

// ValidateJSON is Validate on a JSON text, read strictly (duplicate keys,
// invalid UTF-8 are problems too).
func (j *JSONSchema) ValidateJSON(data []byte, base string) Problems {
	inst, probs := decodeStrict(data)
	if probs != nil {
		for i := range probs {
			probs[i].Path = base + probs[i].Path
		}
		return probs
	}
	return j.Validate(inst, base)
}
