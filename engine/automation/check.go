package automation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/webhook"
	"github.com/formaapp/forma/schema"
)

// CheckApp returns what is wrong with app's automations beyond what
// schema.Check finds (filters, expressions, crons, webhook addresses),
// each problem at its JSON pointer, so a bad automation is refused when
// the app is applied.
func (s *Service) CheckApp(ctx context.Context, app *schema.App) schema.Problems {
	var p schema.Problems
	var allowPrivate *bool // asked once, only when there is a webhook
	for i := range app.Automations {
		a := &app.Automations[i]
		e := app.Entity(a.Entity)
		if e == nil {
			continue // schema.Check reports it
		}
		ap := fmt.Sprintf("/automations/%d", i)
		switch a.Trigger.Type {
		case schema.TriggerTimer:
			checkTimer(app, i, a, &p)
		case schema.TriggerSchedule:
			checkSchedule(app, i, a, &p)
		}
		// A timer's unless and a schedule's filter, against the entity.
		s.checkTriggerFilter(app, i, a, &p)
		if a.Condition != "" {
			if err := s.checkCondition(app, a); err != nil {
				p.AddCode(ap+"/condition", "expression", nil, "%v", err)
			}
		}
		each := func(path string, actions []schema.Action) {
			s.checkActions(ctx, app, e, path, actions, &allowPrivate, &p)
		}
		each(ap+"/actions", a.Actions)
		for k := range a.Variants {
			each(fmt.Sprintf("%s/variants/%d/actions", ap, k), a.Variants[k].Actions)
		}
	}
	return p
}

// checkCondition compiles a's condition against its entity: previous.FIELD
// only where there is a previous record (updated, fieldChanged), and no
// ref's fields where the record is gone (deleted).
func (s *Service) checkCondition(app *schema.App, a *schema.Automation) error {
	n, err := filter.Parse(a.Condition)
	if err != nil {
		return err
	}
	e := app.Entity(a.Entity)
	var bad error
	filter.Fields(n, func(c *filter.Compare) {
		if bad != nil {
			return
		}
		name, prev := strings.CutPrefix(c.Field, previousPrefix)
		switch {
		case prev && a.Trigger.Type != schema.TriggerUpdated && a.Trigger.Type != schema.TriggerFieldChanged:
			bad = fmt.Errorf("filter: %s: previous values exist only for updated and fieldChanged triggers, not %s", c.Field, a.Trigger.Type)
		case prev && strings.Contains(name, "."):
			bad = fmt.Errorf("filter: %s: previous values are the record's own fields", c.Field)
		case prev && c.Value.Kind == filter.Variable:
			bad = fmt.Errorf("filter: %s cannot be compared with @%s", c.Field, c.Value.Str)
		case prev:
			// The comparison must make sense for the field (and the field
			// exist): compiled as a comparison of the field itself.
			one := *c
			one.Field = name
			if err := s.records.CheckFilter(app, e.Name, &one); err != nil {
				bad = err
			}
		case a.Trigger.Type == schema.TriggerDeleted && strings.Contains(c.Field, "."):
			bad = fmt.Errorf("filter: %s: a deleted record's condition reads its own fields only", c.Field)
		}
	})
	if bad != nil {
		return bad
	}
	sub, _ := substitute(n, func(c *filter.Compare) (bool, bool, error) {
		return true, strings.HasPrefix(c.Field, previousPrefix), nil
	})
	return s.records.CheckFilter(app, e.Name, sub)
}

// checkFunction refuses a script action whose function the app's scripts
// do not define at top level (schema.Check has found the script itself).
func (s *Service) checkFunction(app *schema.App, fn string) error {
	script, name, ok := schema.ParseHook(fn)
	if !ok || app.Scripts[script] == "" {
		return nil // schema.Check reports it
	}
	if !hasFunction(app.Scripts[script], name) {
		return fmt.Errorf("script %q has no top-level function %q", script, name)
	}
	return nil
}

// allowsPrivate says whether an admin let app's webhooks reach private
// addresses (never, without the webhook service).
func (s *Service) allowsPrivate(ctx context.Context, app string) (bool, error) {
	if s.webhooks == nil {
		return false, nil
	}
	return s.webhooks.AllowsPrivate(ctx, app)
}

// checkActions checks actions of entity e at path: field expressions,
// webhook addresses (allowPrivate is asked once, when first needed) and
// script functions.
func (s *Service) checkActions(ctx context.Context, app *schema.App, e *schema.Entity, path string, actions []schema.Action, allowPrivate **bool, p *schema.Problems) {
	for j := range actions {
		x := &actions[j]
		xp := fmt.Sprintf("%s/%d", path, j)
		checkValues(e, xp+"/fields", x.Fields, p)
		checkValues(e, xp+"/input", x.Input, p) // a plugin action's input
		if x.Type == schema.ActionWebhook && x.URL != "" {
			if *allowPrivate == nil {
				ok, err := s.allowsPrivate(ctx, app.Name)
				if err != nil {
					p.Add(xp+"/url", "cannot read whether this app may call private addresses: %v", err)
					continue
				}
				*allowPrivate = &ok
			}
			if err := webhook.CheckURL(x.URL, **allowPrivate); err != nil {
				p.AddCode(xp+"/url", "url", nil, "%v", err)
			}
		}
		if x.Type == schema.ActionScript {
			if err := s.checkFunction(app, x.Function); err != nil {
				p.AddCode(xp+"/function", "hook", nil, "%v", err)
			}
		}
	}
}

// checkValues checks the expressions among an action's values (a set or
// create action's fields, a plugin action's input) against entity e.
func checkValues(e *schema.Entity, path string, values map[string]json.RawMessage, p *schema.Problems) {
	for _, name := range sortedKeys(values) {
		v, err := parseValue(values[name])
		if err == nil && v.expr != "" {
			err = checkExpr(e, v.expr)
		}
		if err != nil {
			p.AddCode(path+"/"+escapePtr(name), "expression", map[string]any{"field": name}, "%v", err)
		}
	}
}
