package schema

import (
	"strings"
	"testing"
)

const connectorsDoc = `{"name": "crm", "entities": [
  {"name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text"},
    {"id": "l2", "name": "email", "type": "email", "unique": true},
    {"id": "l3", "name": "phone", "type": "phone"},
    {"id": "l4", "name": "source", "type": "text"},
    {"id": "l5", "name": "score", "type": "formula", "expr": "1"},
    {"id": "l6", "name": "num", "type": "autonumber"}]}],
 "roles": [{"name": "web", "entities": {"lead": {"read": "own", "create": "all"}}}],
 "automations": [{"name": "tell", "entity": "lead", "trigger": {"type": "created"}, "actions": ACTIONS}],
 "connectors": CONNECTORS}`

func connectorsApp(actions, connectors string) []byte {
	s := strings.Replace(connectorsDoc, "ACTIONS", actions, 1)
	return []byte(strings.Replace(s, "CONNECTORS", connectors, 1))
}

const okPlugin = `[{"type": "plugin", "plugin": "wecom", "action": "send", "input": {"content": {"template": "New lead {{name}}"}, "msgtype": "text", "n": 1, "ids": ["a"], "x": {"expr": "name"}}}]`
const okConnector = `{"name": "website", "plugin": "webform", "trigger": "submission", "entity": "lead",
  "mapping": {"name": "name", "email": "email", "phone": "phone"}, "defaults": {"source": "website"},
  "match": "email", "honeypot": "company_url", "rateLimit": 30, "role": "web"}`

func TestConnectorsValid(t *testing.T) {
	app, probs := Parse(connectorsApp(okPlugin, "["+okConnector+"]"))
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	c := app.Connector("website")
	if c == nil || c.Match != "email" || c.EffectiveRateLimit() != 30 || !c.IsEnabled() || string(c.Defaults["source"]) != `"website"` {
		t.Fatalf("connector = %+v", c)
	}
	x := app.Automations[0].Actions[0]
	if x.Plugin != "wecom" || x.PluginAction != "send" || len(x.Input) != 5 {
		t.Fatalf("action = %+v", x)
	}
}

func TestConnectorsProblems(t *testing.T) {
	one := func(mod string) string { // okConnector with one key replaced or added
		return "[" + strings.Replace(okConnector, `"name": "website",`, `"name": "website", `+mod+`,`, 1) + "]"
	}
	repl := func(old, new string) string { return "[" + strings.Replace(okConnector, old, new, 1) + "]" }
	for _, c := range []struct{ actions, connectors, path, msg string }{
		{`[{"type": "plugin", "action": "send"}]`, "[]", "/automations/0/actions/0/plugin", "needs the plugin"},
		{`[{"type": "plugin", "plugin": "wecom"}]`, "[]", "/automations/0/actions/0/action", "needs the name"},
		{`[{"type": "plugin", "plugin": "We Com", "action": "send"}]`, "[]", "/automations/0/actions/0/plugin", ""},
		{`[{"type": "plugin", "plugin": "wecom", "action": "send", "input": {"a": {"nope": 1}}}]`, "[]", "/automations/0/actions/0/input/a", ""},
		{`[{"type": "plugin", "plugin": "wecom", "action": "send", "extra": 1}]`, "[]", "/automations/0/actions/0/extra", ""},
		{okPlugin, `[` + okConnector + `, ` + okConnector + `]`, "/connectors/1/name", "duplicate connector name"},
		{okPlugin, repl(`"name": "website"`, `"name": "Web Site"`), "/connectors/0/name", ""},
		{okPlugin, repl(`"entity": "lead"`, `"entity": "leed"`), "/connectors/0/entity", "no entity named"},
		{okPlugin, repl(`"name": "name",`, `"owner": "name", "name": "name",`), "/connectors/0/mapping/owner", "set by the server"},
		{okPlugin, repl(`"name": "name",`, `"id": "name", "name": "name",`), "/connectors/0/mapping/id", "set by the server"},
		{okPlugin, repl(`"name": "name",`, `"created_by": "x", "name": "name",`), "/connectors/0/mapping/created_by", "set by the server"},
		{okPlugin, repl(`"name": "name",`, `"version": "x", "name": "name",`), "/connectors/0/mapping/version", "set by the server"},
		{okPlugin, repl(`"name": "name",`, `"score": "x", "name": "name",`), "/connectors/0/mapping/score", "computed"},
		{okPlugin, repl(`"name": "name",`, `"num": "x", "name": "name",`), "/connectors/0/mapping/num", "computed"},
		{okPlugin, repl(`"name": "name",`, `"nope": "x", "name": "name",`), "/connectors/0/mapping/nope", "unknown field"},
		{okPlugin, repl(`{"source": "website"}`, `{"owner": "u1"}`), "/connectors/0/defaults/owner", "set by the server"},
		{okPlugin, repl(`{"source": "website"}`, `{"updated_at": "2020-01-01"}`), "/connectors/0/defaults/updated_at", "set by the server"},
		{okPlugin, repl(`"match": "email"`, `"match": "phone"`), "/connectors/0/match", "not a unique field"},
		{okPlugin, repl(`"match": "email"`, `"match": "source"`), "/connectors/0/match", "not a unique field"},
		{okPlugin, repl(`"email": "email", `, ``), "/connectors/0/match", "not in the mapping"},
		{okPlugin, repl(`"honeypot": "company_url"`, `"honeypot": "email"`), "/connectors/0/honeypot", "also mapped"},
		{okPlugin, repl(`"honeypot": "company_url"`, `"honeypot": "_token"`), "/connectors/0/honeypot", ""},
		{okPlugin, repl(`"honeypot": "company_url"`, `"honeypot": "a\"><script>"`), "/connectors/0/honeypot", ""},
		{okPlugin, repl(`"rateLimit": 30`, `"rateLimit": 10001`), "/connectors/0/rateLimit", ""},
		{okPlugin, repl(`"rateLimit": 30`, `"rateLimit": -1`), "/connectors/0/rateLimit", ""},
		{okPlugin, repl(`"rateLimit": 30`, `"rateLimit": "30"`), "/connectors/0/rateLimit", ""},
		{okPlugin, repl(`"role": "web"`, `"role": "boss"`), "/connectors/0/role", "no role named"},
		{okPlugin, repl(`"mapping": {"name": "name", "email": "email", "phone": "phone"}`, `"mapping": {}`), "/connectors/0/mapping", ""},
		{okPlugin, one(`"token": "secret"`), "/connectors/0/token", ""},
		{okPlugin, repl(`"plugin": "webform", `, ``), "/connectors/0", ""},
	} {
		_, probs := Parse(connectorsApp(c.actions, c.connectors))
		expectCodes(t, probs)
		found := false
		for _, p := range probs {
			if p.Path == c.path && strings.Contains(p.Message, c.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s: want a problem at %s (%q); got %v", c.actions, c.connectors, c.path, c.msg, probs)
		}
	}
}

func TestConnectorsGoChecks(t *testing.T) {
	// An App built in Go skips the JSON Schema: Check alone refuses.
	app, probs := Parse(connectorsApp(okPlugin, "["+okConnector+"]"))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	app.Connectors[0].RateLimit = 20000
	app.Connectors[0].Name = "Bad"
	app.Connectors[0].Plugin = ""
	probs = app.Check()
	expectCodes(t, probs)
	want := map[string]bool{"/connectors/0/rateLimit": true, "/connectors/0/name": true, "/connectors/0/plugin": true}
	for _, p := range probs {
		delete(want, p.Path)
	}
	if len(want) > 0 {
		t.Fatalf("missing %v in %v", want, probs)
	}
}

func TestPluginActionInVariant(t *testing.T) {
	doc := strings.Replace(string(connectorsApp(okPlugin, "[]")), `"actions": [{"type": "plugin", "plugin": "wecom", "action": "send", "input"`,
		`"variants": [{"name": "A", "weight": 1, "actions": [{"type": "plugin", "plugin": "wecom"}]}, {"name": "B", "weight": 1, "actions": [{"type": "plugin", "plugin": "wecom", "action": "send", "input"`, 1)
	doc = strings.Replace(doc, `"x": {"expr": "name"}}}]`, `"x": {"expr": "name"}}}]}]`, 1)
	_, probs := Parse([]byte(doc))
	expectCodes(t, probs)
	if len(probs) != 1 || probs[0].Path != "/automations/0/variants/0/actions/0/action" {
		t.Fatalf("problems = %v", probs)
	}
}
