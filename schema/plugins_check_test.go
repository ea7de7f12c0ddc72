package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

const goodManifest = `{
  "$schema": "https://formaapp.dev/schema/plugin.schema.json",
  "name": "wecom", "version": "1.2.0-beta.1", "author": "Forma", "description": "WeCom group robot",
  "labels": {"zh-CN": "企业微信", "en": "WeCom"},
  "hosts": ["qyapi.weixin.qq.com", "*.example.com", "10.0.0.1:8443", {"setting": "baseUrl"}],
  "settings": {"type": "object", "properties": {"baseUrl": {"type": "string"}}},
  "secrets": {"type": "object", "properties": {"key": {"type": "string"}}, "required": ["key"]},
  "actions": [{"name": "send", "input": {"type": "object", "properties": {"content": {"type": "string"}}, "required": ["content"]},
               "output": {"type": "object"}},
              {"name": "remove", "function": "removeIt"}],
  "triggers": [{"name": "submission", "output": {"type": "object", "additionalProperties": {"type": "string"}}}],
  "limits": {"timeoutMs": 5000, "maxRequests": 3}
}`

func TestParseManifestGood(t *testing.T) {
	m, probs := ParseManifest([]byte(goodManifest))
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if m.Name != "wecom" || m.Version != "1.2.0-beta.1" || len(m.Hosts) != 4 || m.Hosts[3].Setting != "baseUrl" ||
		m.Action("send") == nil || m.Trigger("submission") == nil || m.Limits.TimeoutMs != 5000 || m.Labels["zh-CN"] != "企业微信" {
		t.Fatalf("manifest %+v", m)
	}
}

// TestParseManifestEveryProblem: one manifest with many faults reports
// each at its pointer, with a documented code.
func TestParseManifestEveryProblem(t *testing.T) {
	bad := `{
  "name": "WeCom", "version": "1.2", "author": "", "description": "x", "extra": 1,
  "hosts": ["https://api.example.com", "api.example.com/v1", "a.*.example.com", "*.com", "api.example.com:99999",
            {"setting": "nope"}, {"setting": "baseUrl", "other": 1}, "ok.example.com", "ok.example.com", 3],
  "settings": {"type": "string"},
  "secrets": {"type": "object", "properties": {"key": {"type": "integer"}}},
  "actions": [
    {"name": "send", "input": {"type": "object", "properties": {"a": {"type": "nonsense"}}}},
    {"name": "send"},
    {"name": "delete"},
    {"name": "ok", "function": "1abc"},
    {"name": "Bad Name"},
    {"name": "x", "output": {"type": "object", "$ref": "file:///etc/passwd"}}
  ],
  "triggers": [{"name": "t"}],
  "limits": {"timeoutMs": 60000, "maxRequests": 5.0, "maxResponseKB": 0}
}`
	_, probs := ParseManifest([]byte(bad))
	expectCodes(t, probs)
	want := map[string]string{
		"/name":                   "invalid_name",
		"/version":                "min_length",
		"/author":                 "min_length",
		"/extra":                  "unknown_field",
		"/hosts/0":                "host",
		"/hosts/1":                "host",
		"/hosts/2":                "host",
		"/hosts/3":                "host",
		"/hosts/4":                "host",
		"/hosts/5/setting":        "host",
		"/hosts/6/other":          "unknown_field",
		"/hosts/8":                "duplicate_item",
		"/hosts/9":                "type",
		"/settings":               "json_schema",
		"/secrets/properties/key": "json_schema",
		"/actions/0/input":        "json_schema",
		"/actions/1/name":         "duplicate_name",
		"/actions/2/name":         "invalid_name",
		"/actions/3/function":     "invalid_name",
		"/actions/4/name":         "invalid_name",
		"/actions/5/output":       "json_schema",
		"/triggers/0":             "required",
		"/limits/maxRequests":     "type",
		"/limits/maxResponseKB":   "min",
		"/limits/timeoutMs":       "max",
	}
	got := map[string]string{}
	for _, p := range probs {
		if p.Message == "" {
			t.Errorf("%s: no message", p.Path)
		}
		if _, seen := got[p.Path]; !seen {
			got[p.Path] = p.Code
		}
	}
	for path, code := range want {
		if got[path] != code {
			t.Errorf("%s: code %q, want %q", path, got[path], code)
		}
	}
	if t.Failed() || testing.Verbose() {
		for _, p := range probs {
			t.Logf("%s [%s] %s", p.Path, p.Code, p.Message)
		}
	}
	for _, p := range probs {
		if strings.Contains(p.Message, "root:") || strings.Contains(p.Message, "mem://") {
			t.Errorf("%s: message shows internals: %s", p.Path, p.Message)
		}
	}
}

func TestParseManifestSemver(t *testing.T) {
	for _, v := range []string{"1.2.x", "01.2.3", "1.2.3-", "v1.2.3", "1.2.3.4"} {
		doc := strings.Replace(goodManifest, `"1.2.0-beta.1"`, `"`+v+`"`, 1)
		_, probs := ParseManifest([]byte(doc))
		if len(probs) != 1 || probs[0].Path != "/version" {
			t.Errorf("%s: %v", v, probs)
		}
	}
	for _, v := range []string{"0.0.1", "10.20.30", "1.0.0-alpha+001", "1.0.0+20130313144700"} {
		doc := strings.Replace(goodManifest, `"1.2.0-beta.1"`, `"`+v+`"`, 1)
		if _, probs := ParseManifest([]byte(doc)); len(probs) > 0 {
			t.Errorf("%s: %v", v, probs)
		}
	}
}

// TestParseManifestBadInput: malformed JSON, duplicate keys, invalid
// UTF-8, huge numbers, the wrong type, no actions.
func TestParseManifestBadInput(t *testing.T) {
	for name, c := range map[string]struct{ doc, path, code string }{
		"empty":      {``, "", "required"},
		"syntax":     {`{"name": "x",}`, "", "invalid_json"},
		"array":      {`[]`, "", "type"},
		"duplicate":  {`{"name": "a", "name": "b"}`, "/name", "invalid_json"},
		"utf8":       {"{\"name\": \"a\xff\"}", "/name", "invalid_json"},
		"huge":       {`{"limits": {"timeoutMs": 1e999999}}`, "/limits/timeoutMs", "number"},
		"no actions": {`{"name": "ab", "version": "1.0.0", "author": "a", "description": "d"}`, "", "min_items"},
	} {
		m, probs := ParseManifest([]byte(c.doc))
		if m != nil || len(probs) == 0 {
			t.Errorf("%s: accepted", name)
			continue
		}
		found := false
		for _, p := range probs {
			if p.Path == c.path && p.Code == c.code {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want %s [%s], got %v", name, c.path, c.code, probs)
		}
	}
}

func TestJSONSchemaValidate(t *testing.T) {
	js, err := CompileJSONSchema(json.RawMessage(`{"type": "object", "required": ["port"], "additionalProperties": false,
	  "properties": {"port": {"type": "integer", "maximum": 65535}, "host": {"type": "string", "minLength": 1}}}`))
	if err != nil {
		t.Fatal(err)
	}
	probs := js.ValidateJSON([]byte(`{"port": 70000, "host": "", "x": 1}`), "/settings")
	want := map[string]string{"/settings/port": "max", "/settings/host": "min_length", "/settings/x": "unknown_field"}
	if len(probs) != len(want) {
		t.Fatalf("problems %v", probs)
	}
	for _, p := range probs {
		if want[p.Path] != p.Code {
			t.Errorf("%s [%s] %s", p.Path, p.Code, p.Message)
		}
	}
	if probs := js.ValidateJSON([]byte(`{}`), "/settings"); len(probs) != 1 || probs[0].Path != "/settings" || probs[0].Code != "required" {
		t.Errorf("missing: %v", probs)
	}
	if probs := js.ValidateJSON([]byte(`{"port": 1, "port": 2}`), "/settings"); len(probs) != 1 || probs[0].Code != "invalid_json" {
		t.Errorf("duplicate key: %v", probs)
	}
	// Nothing outside the document is loaded; a pattern Go cannot compile is an error, not a panic.
	for _, s := range []string{`{"$ref": "file:///etc/passwd"}`, `{"$ref": "https://example.com/x.json"}`,
		`{"type": "object", "properties": {"a": {"type": "string", "pattern": "(?=x)"}}}`, `{"type": 3}`} {
		if _, err := CompileJSONSchema(json.RawMessage(s)); err == nil {
			t.Errorf("%s compiled", s)
		}
	}
}
