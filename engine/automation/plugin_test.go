package automation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// pluginApp is testApp with an automation calling a plugin action.
var pluginApp = strings.Replace(testApp, `"automations": [`, `"automations": [
  {"name": "tell_wecom", "entity": "lead", "trigger": {"type": "created"}, "condition": "name ~ \"plug\"",
   "actions": [{"type": "plugin", "plugin": "wecom", "action": "send",
                "input": {"msgtype": "text", "content": {"template": "New lead {{name}}"}, "budget": {"expr": "budget * 2"}, "to": ["a", "b"]}},
               {"type": "set", "fields": {"grade": "told"}}]},`, 1)

// pluginErr stands in for *plugin.Error (this package cannot import
// engine/plugin): Retryable is what the automation reads.
type pluginErr struct {
	kind  string
	retry bool
}

func (e *pluginErr) Error() string   { return "plugin: " + e.kind }
func (e *pluginErr) Retryable() bool { return e.retry }

// fakePlugins answers plugin calls: a lead named "plug hang" times out
// (after hanging a little) on its first two attempts, "plug bad" is
// refused as bad input, others succeed.
type fakePlugins struct {
	mu    sync.Mutex
	calls []fakeCall
}

type fakeCall struct {
	app, plugin, action string
	input               map[string]any
	meta                PluginCall
}

func (p *fakePlugins) Call(ctx context.Context, app, plugin, action string, input map[string]any, meta PluginCall) (map[string]any, error) {
	p.mu.Lock()
	p.calls = append(p.calls, fakeCall{app, plugin, action, input, meta})
	n := 0
	for _, c := range p.calls {
		if c.meta.Key == meta.Key {
			n++
		}
	}
	p.mu.Unlock()
	content, _ := input["content"].(string)
	switch {
	case strings.Contains(content, "hang") && n <= 2:
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
		}
		return nil, &pluginErr{kind: "timeout", retry: true}
	case strings.Contains(content, "bad"):
		return nil, &pluginErr{kind: "input"}
	}
	return map[string]any{"errcode": 0, "sent": content}, nil
}

func (p *fakePlugins) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

func (p *fakePlugins) callsFor(key string) []fakeCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []fakeCall
	for _, c := range p.calls {
		if c.meta.Key == key {
			out = append(out, c)
		}
	}
	return out
}

func TestPluginAction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, pluginApp)
		plugs := &fakePlugins{}
		f.s.UsePlugins(plugs)

		lead := f.create("lead", `{"name": "plug one", "budget": "12.5"}`)
		run := f.settled("tell_wecom", lead.ID())
		if run.Status != StatusSucceeded || !strings.Contains(run.Steps[0].Detail, `"sent":"New lead plug one"`) {
			t.Fatalf("run = %+v", run)
		}
		calls := plugs.callsFor(run.ID + "/0")
		if len(calls) != 1 {
			t.Fatalf("calls = %+v", calls)
		}
		c := calls[0]
		if c.app != "crm" || c.plugin != "wecom" || c.action != "send" || c.meta.Automation != "tell_wecom" ||
			c.input["msgtype"] != "text" || c.input["content"] != "New lead plug one" {
			t.Fatalf("call = %+v", c)
		}
		if to, ok := c.input["to"].([]any); !ok || len(to) != 2 || to[0] != "a" {
			t.Fatalf("a literal list: %#v", c.input["to"])
		}
		if b := fmt.Sprint(c.input["budget"]); b != "25" {
			t.Fatalf("an expression: %#v", c.input["budget"])
		}
		if g := f.get("lead", lead.ID()).Get("grade"); g != "told" {
			t.Fatalf("the action after the plugin: grade %v", g)
		}

		// The dry run shows the input and calls nothing.
		before := plugs.count()
		res, err := f.s.Test(context.Background(), f.app, f.app.Automation("tell_wecom"), lead.ID())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		if !strings.Contains(string(b), `"input":{"budget":25,"content":"New lead plug one","msgtype":"text","to":["a","b"]}`) || plugs.count() != before {
			t.Fatalf("dry run = %s (%d calls)", b, plugs.count()-before)
		}

		// A timeout is retried by the job queue with the same key.
		lead = f.create("lead", `{"name": "plug hang"}`)
		run = f.settled("tell_wecom", lead.ID())
		st := run.Steps[0]
		if run.Status != StatusSucceeded || st.Attempts != 3 || !strings.Contains(st.Detail, "attempt 1: plugin: timeout") ||
			!strings.Contains(st.Detail, "attempt 3: output") {
			t.Fatalf("run = %+v", run)
		}
		if n := len(plugs.callsFor(run.ID + "/0")); n != 3 {
			t.Fatalf("%d calls, want 3", n)
		}

		// Bad input fails the run at once: no retry, the rest skipped.
		lead = f.create("lead", `{"name": "plug bad"}`)
		run = f.settled("tell_wecom", lead.ID())
		if run.Status != StatusFailed || run.Steps[0].Attempts != 1 || run.Steps[1].Status != StepSkipped ||
			!strings.Contains(run.Steps[0].Detail+run.Message, "plugin: input") {
			t.Fatalf("run = %+v", run)
		}
		if n := len(plugs.callsFor(run.ID + "/0")); n != 1 {
			t.Fatalf("%d calls, want 1", n)
		}
		if g := f.get("lead", lead.ID()).Get("grade"); g != nil {
			t.Fatalf("a skipped action ran: grade %v", g)
		}
	})
}

func TestPluginActionCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, pluginApp)
		app := *f.app
		app.Automations = append([]schema.Automation(nil), f.app.Automations...)
		a := app.Automations[0]
		a.Actions = append([]schema.Action(nil), a.Actions...)
		a.Actions[0].Input = map[string]json.RawMessage{"content": json.RawMessage(`{"expr": "nosuch + 1"}`)}
		app.Automations[0] = a
		p := f.s.CheckApp(context.Background(), &app)
		if len(p) != 1 || p[0].Path != "/automations/0/actions/0/input/content" || p[0].Code != "expression" {
			t.Fatalf("problems = %v", p)
		}
	})
}
