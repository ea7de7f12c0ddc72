package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// textsDoc gives every per-language text a map beside its single string:
// a form section's titles, a validation's messages, a transition's
// guardMessages, notify actions' messages (an automation's and a
// transition's) and countdown steps' messages.
const textsDoc = `{"name": "crm", "entities": [
  {"name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text"},
    {"id": "l2", "name": "stage", "type": "select", "options": ["new", "won"]},
    {"id": "l3", "name": "rep", "type": "user"},
    {"id": "l4", "name": "contacted_at", "type": "datetime"}],
   "validations": [{"expr": "name != null", "message": "请填写名称", "messages": {"zh-CN": "请填写名称", "en": "Give the name"}, "field": "name"}]}],
 "forms": [{"entity": "lead", "kind": "form", "sections": [{"title": "线索", "titles": {"zh-CN": "线索", "en": "Lead"}, "fields": ["name"]}]}],
 "flows": [{"name": "sales", "entity": "lead", "field": "stage", "states": [{"name": "new"}, {"name": "won", "final": true}],
   "transitions": [{"name": "win", "to": "won", "guard": "name != null", "guardMessage": "先填名称", "guardMessages": {"zh-CN": "先填名称", "en": "Name it first"},
     "actions": [{"type": "notify", "to": {"owner": true}, "message": "赢单：{{name}}", "messages": {"zh-CN": "赢单：{{name}}", "en": "Won: {{name}}"}}]}]}],
 "automations": [{"name": "hello", "entity": "lead", "trigger": {"type": "created"},
   "actions": [{"type": "notify", "to": {"owner": true}, "message": "新线索 {{name}}", "messages": {"zh-CN": "新线索 {{name}}", "en": "New lead {{name}}"}}]}],
 "assignments": [{"name": "leads", "entity": "lead", "field": "rep", "strategy": "roundRobin", "candidates": {"roles": ["rep"]},
   "countdown": {"until": "contacted_at", "within": "4h", "steps": [
     {"after": "4h", "do": "remind", "message": "请联系 {{name}}", "messages": {"zh-CN": "请联系 {{name}}", "en": "Call {{name}}"}},
     {"after": "5h", "do": "notifyManager"},
     {"after": "6h", "do": "notifyManager", "messages": {"en": "Still nobody called {{name}}"}}]}}]}`

func TestTextsParse(t *testing.T) {
	app, problems := Parse([]byte(textsDoc))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	check := func(app *App) {
		t.Helper()
		tr := app.Flows[0].Transitions[0]
		steps := app.Assignments[0].Countdown.Steps
		for _, c := range []struct {
			what string
			got  Labels
			en   string
		}{
			{"section titles", app.Forms[0].Sections[0].Titles, "Lead"},
			{"validation messages", app.Entities[0].Validations[0].Messages, "Give the name"},
			{"guard messages", tr.GuardMessages, "Name it first"},
			{"transition notify messages", tr.Actions[0].Messages, "Won: {{name}}"},
			{"automation notify messages", app.Automations[0].Actions[0].Messages, "New lead {{name}}"},
			{"step messages", steps[0].Messages, "Call {{name}}"},
		} {
			if c.got["en"] != c.en || c.got["zh-CN"] == "" {
				t.Errorf("%s: %v", c.what, c.got)
			}
		}
	}
	checkRoundTrip(t, app, check)

	// The language picker: the variant, else the single string.
	v := app.Entities[0].Validations[0]
	if v.Messages.In("en", v.Message) != "Give the name" || v.Messages.In("fr", v.Message) != "请填写名称" || Labels(nil).In("en", "x") != "x" {
		t.Errorf("In picks wrongly")
	}
}

// A countdown step's automation carries the step's messages; a step
// without a message gets the built-in reminder in both UI languages (its
// own variants kept over them), its fallback holding both.
func TestCountdownMessages(t *testing.T) {
	app, problems := Parse([]byte(textsDoc))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	as := app.Assignments[0].CountdownAutomations()
	if len(as) != 3 {
		t.Fatalf("%d automations", len(as))
	}
	first := as[0].Actions[0]
	if first.Message != "请联系 {{name}}" || !reflect.DeepEqual(first.Messages, Labels{"zh-CN": "请联系 {{name}}", "en": "Call {{name}}"}) {
		t.Errorf("step 0: %q %v", first.Message, first.Messages)
	}
	second := as[1].Actions[0]
	if !strings.Contains(second.Message, "Golden hours") || !strings.Contains(second.Message, "黄金时间") ||
		!strings.HasPrefix(second.Messages["en"], "Golden hours: this lead has had no first contact 5h") || !strings.HasPrefix(second.Messages["zh-CN"], "黄金时间") ||
		strings.Contains(second.Messages["en"], "黄金") || strings.Contains(second.Messages["zh-CN"], "Golden") {
		t.Errorf("step 1: %q %v", second.Message, second.Messages)
	}
	third := as[2].Actions[0]
	if third.Messages["en"] != "Still nobody called {{name}}" || !strings.HasPrefix(third.Messages["zh-CN"], "黄金时间") {
		t.Errorf("step 2: %v", third.Messages)
	}
	// The document's own steps are left as they were.
	if app.Assignments[0].Countdown.Steps[1].Messages != nil {
		t.Errorf("the step was changed: %v", app.Assignments[0].Countdown.Steps[1].Messages)
	}
}

// Bad per-language texts are refused where they stand: a bad language
// tag, a value that is not text, an empty or blank variant, one longer
// than its single string may be, a map that is not an object.
func TestTextsProblems(t *testing.T) {
	const (
		title = `"titles": {"zh-CN": "线索", "en": "Lead"}`
		valid = `"messages": {"zh-CN": "请填写名称", "en": "Give the name"}`
		guard = `"guardMessages": {"zh-CN": "先填名称", "en": "Name it first"}`
		trAct = `"messages": {"zh-CN": "赢单：{{name}}", "en": "Won: {{name}}"}`
		auAct = `"messages": {"zh-CN": "新线索 {{name}}", "en": "New lead {{name}}"}`
		step  = `"messages": {"zh-CN": "请联系 {{name}}", "en": "Call {{name}}"}`
	)
	long := func(n int) string { return strings.Repeat("长", n) }
	wantProblemsAt(t, textsDoc, []replaced{
		{title, `"titles": {"English": "Lead"}`, "/forms/0/sections/0/titles/English"},
		{title, `"titles": {"en": 7}`, "/forms/0/sections/0/titles/en"},
		{title, `"titles": {"en": ""}`, "/forms/0/sections/0/titles/en"},
		{title, `"titles": {"en": "   "}`, "/forms/0/sections/0/titles/en"},
		{title, `"titles": {"en": "` + long(256) + `"}`, "/forms/0/sections/0/titles/en"},
		{title, `"titles": "Lead"`, "/forms/0/sections/0/titles"},
		{valid, `"messages": {"en_GB": "Give the name"}`, "/entities/0/validations/0/messages/en_GB"},
		{valid, `"messages": {"en": null}`, "/entities/0/validations/0/messages/en"},
		{valid, `"messages": {"en": ""}`, "/entities/0/validations/0/messages/en"},
		{valid, `"messages": {"en": "\t"}`, "/entities/0/validations/0/messages/en"},
		{valid, `"messages": {"en": "` + long(1001) + `"}`, "/entities/0/validations/0/messages/en"},
		{valid, `"messages": ["Give the name"]`, "/entities/0/validations/0/messages"},
		{guard, `"guardMessages": {"EN": "Name it first"}`, "/flows/0/transitions/0/guardMessages/EN"},
		{guard, `"guardMessages": {"en": ""}`, "/flows/0/transitions/0/guardMessages/en"},
		{guard, `"guardMessages": {"en": " "}`, "/flows/0/transitions/0/guardMessages/en"},
		{guard, `"guardMessages": {"en": "` + long(501) + `"}`, "/flows/0/transitions/0/guardMessages/en"},
		{trAct, `"messages": {"zh CN": "赢单"}`, "/flows/0/transitions/0/actions/0/messages/zh CN"},
		{trAct, `"messages": {"en": " "}`, "/flows/0/transitions/0/actions/0/messages/en"},
		{auAct, `"messages": {"en": false}`, "/automations/0/actions/0/messages/en"},
		{auAct, `"messages": {"en": ""}`, "/automations/0/actions/0/messages/en"},
		{auAct, `"messages": {"en": "` + long(2001) + `"}`, "/automations/0/actions/0/messages/en"},
		{step, `"messages": {"x": "Call"}`, "/assignments/0/countdown/steps/0/messages/x"},
		{step, `"messages": {"en": ""}`, "/assignments/0/countdown/steps/0/messages/en"},
		{step, `"messages": {"en": "  "}`, "/assignments/0/countdown/steps/0/messages/en"},
		{step, `"messages": {"en": "` + long(2001) + `"}`, "/assignments/0/countdown/steps/0/messages/en"},
		// The single string stays required where it was.
		{`"message": "请填写名称", `, ``, "/entities/0/validations/0"},
		{`"message": "新线索 {{name}}", `, ``, "/automations/0/actions/0/message"},
		// A misspelt key is refused, not dropped.
		{guard, `"guardMessage_en": "Name it first"`, "/flows/0/transitions/0/guardMessage_en"},
	})
}

// checkRoundTrip runs check on app, and again on app marshalled and
// parsed back: the per-language maps survive both.
func checkRoundTrip(t *testing.T, app *App, check func(*App)) {
	t.Helper()
	check(app)
	b, err := json.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	again, problems := Parse(b)
	if len(problems) > 0 {
		t.Fatalf("marshalled again: %v", problems)
	}
	check(again)
}

// replaced is doc with from replaced by to, which must be refused with a
// problem at path.
type replaced struct{ from, to, path string }

// wantProblemsAt parses doc with each case's replacement and wants a
// problem at the case's path.
func wantProblemsAt(t *testing.T, doc string, cases []replaced) {
	t.Helper()
	for _, c := range cases {
		if !strings.Contains(doc, c.from) {
			t.Fatalf("test setup: %q not in the document", c.from)
		}
		_, problems := Parse([]byte(strings.Replace(doc, c.from, c.to, 1)))
		found := false
		for _, p := range problems {
			found = found || p.Path == c.path
		}
		if !found {
			t.Errorf("%.60s: want a problem at %s, got %v", c.to, c.path, problems)
		}
	}
}
