package schema

import (
	"strings"
	"testing"
)

const automationsDoc = `{"name": "crm", "entities": [
  {"name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text"},
    {"id": "l2", "name": "stage", "type": "select", "options": ["new", "won", "lost"]},
    {"id": "l3", "name": "budget", "type": "decimal"},
    {"id": "l4", "name": "score", "type": "formula", "expr": "budget / 1000"},
    {"id": "l5", "name": "rep", "type": "user"},
    {"id": "l6", "name": "hot", "type": "boolean"}]},
  {"name": "task", "fields": [
    {"id": "t1", "name": "title", "type": "text"},
    {"id": "t2", "name": "lead", "type": "ref", "entity": "lead"}]}],
 "scripts": {"lead": "function grade(r) { return {hot: true}; }"},
 "roles": [{"name": "manager", "entities": {"lead": {"read": "all"}}}],
 "automations": AUTOS}`

func automationsApp(autos string) string {
	return strings.Replace(automationsDoc, "AUTOS", autos, 1)
}

func TestAutomationsValid(t *testing.T) {
	app, problems := Parse([]byte(automationsApp(`[
	 {"name": "grade", "entity": "lead", "role": "manager", "trigger": {"type": "created"}, "condition": "budget > 1000",
	  "actions": [{"type": "set", "fields": {"stage": "won", "hot": {"expr": "budget > 5000"}}},
	              {"type": "create", "entity": "task", "fields": {"lead": {"expr": "id"}, "title": {"template": "Call {{name}}"}}},
	              {"type": "notify", "to": {"owner": true, "fields": ["rep"], "roles": ["manager"]}, "message": "Lead {{name}}"},
	              {"type": "webhook", "url": "https://hooks.example.com/x"},
	              {"type": "script", "function": "lead#grade"}]},
	 {"name": "won", "entity": "lead", "trigger": {"type": "fieldChanged", "field": "stage", "from": "new", "to": "won"},
	  "variants": [{"name": "A", "weight": 50, "actions": [{"type": "notify", "to": {"owner": true}, "message": "a"}]},
	               {"name": "B", "weight": 50, "actions": [{"type": "notify", "to": {"owner": true}, "message": "b"}]}]}]`)))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if len(app.Automations) != 2 || !app.Automations[0].IsEnabled() || app.Automation("won").Variants[1].Weight != 50 {
		t.Fatalf("automations = %+v", app.Automations)
	}
}

func TestAutomationsProblems(t *testing.T) {
	ok := `"trigger": {"type": "created"}, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]`
	for _, c := range []struct{ autos, path string }{
		{`[{"name": "Bad", "entity": "lead", ` + ok + `}]`, "/automations/0/name"},
		{`[{"name": "a", "entity": "lead", ` + ok + `}, {"name": "a", "entity": "lead", ` + ok + `}]`, "/automations/1/name"},
		{`[{"name": "a", "entity": "leed", ` + ok + `}]`, "/automations/0/entity"},
		{`[{"name": "a", "entity": "lead", "role": "boss", ` + ok + `}]`, "/automations/0/role"},
		{`[{"name": "a", "entity": "lead", "when": 1, ` + ok + `}]`, "/automations/0/when"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "sometimes"}, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}]`, "/automations/0/trigger/type"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "fieldChanged", "field": "stag"}, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}]`, "/automations/0/trigger/field"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "fieldChanged", "field": "stage", "to": "wonn"}, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}]`, "/automations/0/trigger/to"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "fieldChanged", "field": "budget", "from": "x"}, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}]`, "/automations/0/trigger/from"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}}]`, "/automations/0/actions"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "explode"}]}]`, "/automations/0/actions/0/type"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "set", "fields": {"nope": 1}}]}]`, "/automations/0/actions/0/fields/nope"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "set", "fields": {"score": 1}}]}]`, "/automations/0/actions/0/fields/score"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "set", "fields": {"version": 1}}]}]`, "/automations/0/actions/0/fields/version"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "set", "fields": {"stage": {"expr": ""}}}]}]`, "/automations/0/actions/0/fields/stage"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "create", "entity": "tsk", "fields": {}}]}]`, "/automations/0/actions/0/entity"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "create", "entity": "task", "fields": {"titel": "x"}}]}]`, "/automations/0/actions/0/fields/titel"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "notify", "to": {"owner": true}}]}]`, "/automations/0/actions/0/message"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "notify", "message": "m"}]}]`, "/automations/0/actions/0/to"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "notify", "to": {"roles": ["ceo"]}, "message": "m"}]}]`, "/automations/0/actions/0/to/roles/0"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "notify", "to": {"fields": ["name"]}, "message": "m"}]}]`, "/automations/0/actions/0/to/fields/0"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "notify", "to": {"bosses": true}, "message": "m"}]}]`, "/automations/0/actions/0/to/bosses"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "script", "function": "nope#grade"}]}]`, "/automations/0/actions/0/function"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "script", "function": "grade"}]}]`, "/automations/0/actions/0/function"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "actions": [{"type": "webhook"}]}]`, "/automations/0/actions/0/url"},
		{`[{"name": "a", "entity": "lead", ` + ok + `, "variants": [{"name": "A", "weight": 1, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}, {"name": "B", "weight": 1, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}]}]`, "/automations/0"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "variants": [{"name": "A", "weight": 0, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}, {"name": "B", "weight": 1, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}]}]`, "/automations/0/variants/0/weight"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "variants": [{"name": "A", "weight": 1, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}, {"name": "A", "weight": 1, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}]}]`, "/automations/0/variants/1/name"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "variants": [{"name": "A", "weight": 1, "actions": []}, {"name": "B", "weight": 1, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}]}]`, "/automations/0/variants/0/actions"},
		{`[{"name": "a", "entity": "lead", "trigger": {"type": "created"}, "variants": [{"name": "A", "weight": 1, "actions": [{"type": "notify", "to": {"owner": true}, "message": "m"}]}]}]`, "/automations/0/variants"},
		{`{"name": "a"}`, "/automations"},
		{`[{"name": "a", "entity": "lead", "condition": 7, ` + ok + `}]`, "/automations/0/condition"},
	} {
		_, problems := Parse([]byte(automationsApp(c.autos)))
		expectCodes(t, problems)
		found := false
		for _, p := range problems {
			found = found || p.Path == c.path
		}
		if !found {
			t.Errorf("%s: want a problem at %s, got %v", c.autos, c.path, problems)
		}
	}
}
