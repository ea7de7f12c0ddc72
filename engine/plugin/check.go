package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/formaapp/forma/schema"
)

// CheckApp returns what is wrong with app's plugin actions and
// connectors on this server: plugins that are not installed, actions and
// triggers they do not offer, literal inputs the action's input schema
// refuses and required inputs that are missing (templates and
// expressions are checked at run time, when they have a value). The
// shape of both is schema.Check's; the mapping's targets too.
func (s *Service) CheckApp(ctx context.Context, app *schema.App) schema.Problems {
	var p schema.Problems
	type lookup struct {
		m   *Installed
		err error
	}
	cache := map[string]lookup{} // each plugin read once, reported at every use
	get := func(at, name string) *Installed {
		l, ok := cache[name]
		if !ok {
			l.m, l.err = s.Get(ctx, name)
			cache[name] = l
		}
		switch {
		case l.err != nil:
			p.AddCode(at, "internal", nil, "cannot read the installed plugin %s: %v", name, l.err)
		case l.m == nil:
			p.AddCode(at, "unknown_plugin", map[string]any{"plugin": name}, "no plugin named %q is installed on this server", name)
		}
		return l.m
	}
	for i := range app.Automations {
		a := &app.Automations[i]
		ap := fmt.Sprintf("/automations/%d", i)
		s.checkActions(ap+"/actions", a.Actions, get, &p)
		for k := range a.Variants {
			s.checkActions(fmt.Sprintf("%s/variants/%d/actions", ap, k), a.Variants[k].Actions, get, &p)
		}
	}
	for i := range app.Connectors {
		cn := &app.Connectors[i]
		if cn.Plugin == "" {
			continue // schema.Check reports it
		}
		cp := fmt.Sprintf("/connectors/%d", i)
		m := get(cp+"/plugin", cn.Plugin)
		if m == nil {
			continue
		}
		if m.Manifest.Trigger(cn.Trigger) == nil {
			p.AddCode(cp+"/trigger", "unknown_plugin_action", map[string]any{"plugin": cn.Plugin, "action": cn.Trigger},
				"plugin %s has no trigger %q (triggers: %s)", cn.Plugin, cn.Trigger, triggerNames(m.Manifest))
		}
	}
	return p
}

// checkActions checks the plugin actions among actions at path.
func (s *Service) checkActions(path string, actions []schema.Action, get func(at, name string) *Installed, p *schema.Problems) {
	for j := range actions {
		x := &actions[j]
		if x.Type != schema.ActionPlugin || x.Plugin == "" || x.PluginAction == "" {
			continue // schema.Check reports what is missing
		}
		xp := fmt.Sprintf("%s/%d", path, j)
		m := get(xp+"/plugin", x.Plugin)
		if m == nil {
			continue
		}
		act := m.Manifest.Action(x.PluginAction)
		if act == nil {
			p.AddCode(xp+"/action", "unknown_plugin_action", map[string]any{"plugin": x.Plugin, "action": x.PluginAction},
				"plugin %s has no action %q (actions: %s)", x.Plugin, x.PluginAction, actionNames(m.Manifest))
			continue
		}
		checkInput(xp+"/input", x, act, p)
	}
}

// checkInput validates an action's literal inputs against the plugin
// action's input schema, each against its property's schema, and names
// the required inputs the action does not give at all.
func checkInput(at string, x *schema.Action, act *schema.PluginAction, p *schema.Problems) {
	if len(act.Input) == 0 {
		return
	}
	var root struct {
		Required             []string                   `json:"required"`
		Properties           map[string]json.RawMessage `json:"properties"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
	}
	if json.Unmarshal(act.Input, &root) != nil {
		return // the manifest was checked at install
	}
	params := map[string]any{"plugin": x.Plugin, "action": x.PluginAction}
	for _, name := range root.Required {
		if _, ok := x.Input[name]; !ok {
			p.AddCode(at, "plugin_input", params, "the action %s of %s needs the input %q", x.PluginAction, x.Plugin, name)
		}
	}
	const url = "forma-plugin-input.json"
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.LoadURL = func(s string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("%s: a plugin's schema loads nothing", s)
	}
	if err := c.AddResource(url, bytes.NewReader(act.Input)); err != nil {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(x.Input)) {
		ip := at + "/" + inputPointer(name)
		if _, declared := root.Properties[name]; !declared {
			if root.AdditionalProperties != nil && !*root.AdditionalProperties {
				p.AddCode(ip, "plugin_input", params, "the action %s of %s takes no input %q (inputs: %s)", x.PluginAction, x.Plugin, name, strings.Join(slices.Sorted(maps.Keys(root.Properties)), ", "))
			}
			continue
		}
		v, literal := literalValue(x.Input[name])
		if !literal {
			continue // a template or an expression: known at run time
		}
		sch, err := c.Compile(url + "#/properties/" + inputPointer(name))
		if err != nil {
			continue
		}
		if err := sch.Validate(v); err != nil {
			p.AddCode(ip, "plugin_input", params, "%s", validationMessage(err))
		}
	}
}

// literalValue decodes an action value that is a literal (not
// {"expr"} or {"template"}) as jsonschema validates it.
func literalValue(raw json.RawMessage) (any, bool) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '{' {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil, false
	}
	return v, true
}

// validationMessage is the innermost cause of a validation error, the
// one a person can act on.
func validationMessage(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err.Error()
	}
	for len(ve.Causes) > 0 {
		ve = ve.Causes[0]
	}
	if ve.InstanceLocation != "" {
		return ve.InstanceLocation + ": " + ve.Message
	}
	return ve.Message
}

func inputPointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func actionNames(m *schema.Manifest) string {
	names := make([]string, len(m.Actions))
	for i, a := range m.Actions {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}

func triggerNames(m *schema.Manifest) string {
	names := make([]string, len(m.Triggers))
	for i, t := range m.Triggers {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}
