package plugin

import (
	"context"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/plugins"
	"github.com/formaapp/forma/schema"
)

// notifyManifest is a test plugin with one action whose input schema the
// tests check literal inputs against.
const notifyManifest = `{"name": "notify", "version": "1.0.0", "author": "t", "description": "d", "actions": [{"name": "send",
	"input": {"type": "object", "additionalProperties": false, "required": ["content"],
	  "$defs": {"mobile": {"type": "string", "pattern": "^[0-9+]{5,20}$"}},
	  "properties": {"msgtype": {"enum": ["text", "markdown"]}, "content": {"type": "string", "maxLength": 10},
	    "mentionedMobiles": {"type": "array", "items": {"$ref": "#/$defs/mobile"}}, "a/b": {"type": "integer"}}}}]}`

// TestCheckApp checks an app against what is installed: the built-ins
// (webform's trigger, wecom without one), the notify test plugin, and
// broken, whose stored manifest no longer parses.
func TestCheckApp(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		testCheckApp(t, db)
	})
}

func testCheckApp(t *testing.T, db *store.DB) {
	e := newEnv(t, db, Options{Builtins: plugins.FS()})
	e.install(t, notifyManifest, "function send(input) { return {}; }")
	e.install(t, manifest("broken", nil, "", plainAction), "function send(input) { return {}; }")
	if err := db.Gorm.Exec(`UPDATE _forma_plugins SET manifest = '{' WHERE name = 'broken'`).Error; err != nil {
		t.Fatal(err)
	}
	s := e.s
	doc := `{"name": "crm", "entities": [{"name": "lead", "fields": [{"id": "l1", "name": "name", "type": "text"}]}],
	 "automations": [{"name": "tell", "entity": "lead", "trigger": {"type": "created"}, "actions": [ACTIONS]}],
	 "connectors": [CONNECTORS]}`
	parse := func(actions, connectors string) *schema.App {
		app, probs := schema.Parse([]byte(strings.Replace(strings.Replace(doc, "ACTIONS", actions, 1), "CONNECTORS", connectors, 1)))
		if len(probs) > 0 {
			t.Fatalf("parse: %v", probs)
		}
		return app
	}
	good := `{"type": "plugin", "plugin": "notify", "action": "send", "input": {"msgtype": "text", "content": {"template": "{{name}} is a long name"}, "mentionedMobiles": ["+8613800138000"], "a/b": 3}}`
	conn := `{"name": "website", "plugin": "webform", "trigger": "submission", "entity": "lead", "mapping": {"name": "name"}}`
	if p := s.CheckApp(context.Background(), parse(good, conn)); len(p) > 0 {
		t.Fatalf("a good app: %v", p)
	}
	for _, c := range []struct{ actions, connectors, path, code, msg string }{
		{`{"type": "plugin", "plugin": "nosuch", "action": "send"}`, conn, "/automations/0/actions/0/plugin", "unknown_plugin", "nosuch"},
		{`{"type": "plugin", "plugin": "broken", "action": "send"}`, conn, "/automations/0/actions/0/plugin", "internal", "does not parse"},
		{`{"type": "plugin", "plugin": "notify", "action": "sned", "input": {"content": "x"}}`, conn, "/automations/0/actions/0/action", "unknown_plugin_action", "actions: send"},
		{`{"type": "plugin", "plugin": "notify", "action": "send", "input": {"content": "x", "msgtype": "html"}}`, conn, "/automations/0/actions/0/input/msgtype", "plugin_input", ""},
		{`{"type": "plugin", "plugin": "notify", "action": "send", "input": {"content": "a much too long text"}}`, conn, "/automations/0/actions/0/input/content", "plugin_input", ""},
		{`{"type": "plugin", "plugin": "notify", "action": "send", "input": {"content": 5}}`, conn, "/automations/0/actions/0/input/content", "plugin_input", ""},
		{`{"type": "plugin", "plugin": "notify", "action": "send", "input": {"content": "x", "mentionedMobiles": ["abc"]}}`, conn, "/automations/0/actions/0/input/mentionedMobiles", "plugin_input", "/0"},
		{`{"type": "plugin", "plugin": "notify", "action": "send", "input": {"content": "x", "a/b": "three"}}`, conn, "/automations/0/actions/0/input/a~1b", "plugin_input", ""},
		{`{"type": "plugin", "plugin": "notify", "action": "send", "input": {"content": "x", "extra": 1}}`, conn, "/automations/0/actions/0/input/extra", "plugin_input", "takes no input"},
		{`{"type": "plugin", "plugin": "notify", "action": "send", "input": {"msgtype": "text"}}`, conn, "/automations/0/actions/0/input", "plugin_input", `"content"`},
		{good, `{"name": "website", "plugin": "webhooks", "trigger": "submission", "entity": "lead", "mapping": {"name": "name"}}`, "/connectors/0/plugin", "unknown_plugin", ""},
		{good, `{"name": "website", "plugin": "webform", "trigger": "post", "entity": "lead", "mapping": {"name": "name"}}`, "/connectors/0/trigger", "unknown_plugin_action", "triggers: submission"},
		{good, `{"name": "website", "plugin": "wecom", "trigger": "submission", "entity": "lead", "mapping": {"name": "name"}}`, "/connectors/0/trigger", "unknown_plugin_action", ""},
	} {
		p := s.CheckApp(context.Background(), parse(c.actions, c.connectors))
		found := false
		for _, pr := range p {
			if _, ok := schema.Codes[pr.Code]; !ok {
				t.Errorf("code %q is not in schema.Codes", pr.Code)
			}
			if pr.Path == c.path && pr.Code == c.code && strings.Contains(pr.Message, c.msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s: want %s %s (%q), got %v", c.actions, c.connectors, c.path, c.code, c.msg, p)
		}
	}
	// Variants are checked too.
	variants := `{"name": "crm", "entities": [{"name": "lead", "fields": [{"id": "l1", "name": "name", "type": "text"}]}],
	 "automations": [{"name": "ab", "entity": "lead", "trigger": {"type": "created"}, "variants": [
	   {"name": "A", "weight": 1, "actions": [` + good + `]},
	   {"name": "B", "weight": 1, "actions": [{"type": "plugin", "plugin": "nope", "action": "send"}]}]}]}`
	app, probs := schema.Parse([]byte(variants))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if p := s.CheckApp(context.Background(), app); len(p) != 1 || p[0].Path != "/automations/0/variants/1/actions/0/plugin" {
		t.Fatalf("variants: %v", p)
	}
}

func TestErrorRetryable(t *testing.T) {
	var r interface{ Retryable() bool } = &Error{Kind: KindTimeout, Retry: true}
	if !r.Retryable() || (&Error{Kind: KindInput}).Retryable() {
		t.Fatal("Retryable does not say Retry")
	}
}

// TestCheckAppAgainstTheStore: CheckApp reads what is installed — on a
// server without plugins every connector's plugin is unknown; once the
// fixture has installed webform and overflow, the app has no problem.
func TestCheckAppAgainstTheStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		app, probs := schema.Parse([]byte(inboundApp))
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		bare := newEnv(t, db, Options{})
		p := bare.s.CheckApp(context.Background(), app)
		if len(p) != len(app.Connectors) || p[0].Path != "/connectors/0/plugin" || p[2].Path != "/connectors/2/plugin" || p[1].Code != "unknown_plugin" {
			t.Fatalf("problems = %v", p)
		}
		f := newInbound(t, db, false)
		if p := f.s.CheckApp(context.Background(), app); len(p) != 0 {
			t.Fatalf("problems with the plugins installed = %v", p)
		}
	})
}
