package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Limits on automations beyond the JSON Schema's.
const (
	MaxAutomations      = 200
	MaxActions          = 20 // actions per automation or variant
	MaxVariants         = 10
	maxAutomationWeight = 10000
)

// checkAutomations checks what the JSON Schema cannot: names unique,
// entities, fields and roles that exist, field writability, recipients
// and script functions. Filters, expressions, crons and webhook addresses
// are compiled by the engine (engine/automation CheckApp).
func (c *checker) checkAutomations() {
	a := c.app
	if len(a.Automations) > MaxAutomations {
		c.p.Add("/automations", "must have at most %d items", MaxAutomations)
	}
	seen := map[string]string{}
	roles := a.EffectiveRoles()
	roleNames := sortedKeys(roles)
	for i := range a.Automations {
		au := &a.Automations[i]
		ap := ptr("automations", i)
		c.uniqueName(ap, "automation", au.Name, seen)
		ei, ok := c.ents[au.Entity]
		if !ok {
			c.p.Add(ap+"/entity", "no entity named %q in this app%s", au.Entity, didYouMean(au.Entity, c.entityNames()))
		}
		if au.Role != "" && roles[au.Role] == nil {
			c.p.Add(ap+"/role", "no role named %q in this app%s", au.Role, didYouMean(au.Role, roleNames))
		}
		if ok {
			c.checkTrigger(ap+"/trigger", ei, &au.Trigger)
		}
		switch {
		case len(au.Actions) > 0 && len(au.Variants) > 0:
			c.p.Add(ap, "an automation has either actions or variants, not both")
		case len(au.Actions) == 0 && len(au.Variants) == 0:
			c.p.Add(ap+"/actions", "an automation needs at least one action (or variants)")
		}
		if len(au.Actions) > MaxActions {
			c.p.Add(ap+"/actions", "must have at most %d items", MaxActions)
		}
		for j := range au.Actions {
			c.checkAction(fmt.Sprintf("%s/actions/%d", ap, j), ei, ok, &au.Actions[j], roles, roleNames)
		}
		if len(au.Variants) == 1 {
			c.p.Add(ap+"/variants", "an A/B test needs at least two variants")
		}
		if len(au.Variants) > MaxVariants {
			c.p.Add(ap+"/variants", "must have at most %d items", MaxVariants)
		}
		vnames := map[string]int{}
		for j := range au.Variants {
			v := &au.Variants[j]
			vp := fmt.Sprintf("%s/variants/%d", ap, j)
			switch {
			case strings.TrimSpace(v.Name) == "":
				c.p.Add(vp+"/name", "a variant needs a name")
			case len(v.Name) > 63:
				c.p.Add(vp+"/name", "a variant name has at most 63 bytes")
			default:
				if k, dup := vnames[v.Name]; dup {
					c.p.Add(vp+"/name", "duplicate variant name %q (also at %s/variants/%d)", v.Name, ap, k)
				} else {
					vnames[v.Name] = j
				}
			}
			if v.Weight < 1 || v.Weight > maxAutomationWeight {
				c.p.Add(vp+"/weight", "the weight must be a whole number from 1 to %d", maxAutomationWeight)
			}
			if len(v.Actions) == 0 {
				c.p.Add(vp+"/actions", "a variant needs at least one action")
			}
			if len(v.Actions) > MaxActions {
				c.p.Add(vp+"/actions", "must have at most %d items", MaxActions)
			}
			for k := range v.Actions {
				c.checkAction(fmt.Sprintf("%s/actions/%d", vp, k), ei, ok, &v.Actions[k], roles, roleNames)
			}
		}
	}
}

// checkTrigger checks a trigger's fields for its type (the engine compiles
// filters and crons).
func (c *checker) checkTrigger(tp string, ei int, t *Trigger) {
	e := &c.app.Entities[ei]
	unexpected := func(name string, set bool) {
		if set {
			c.p.Add(tp+"/"+name, "a %s trigger takes no %s", t.Type, name)
		}
	}
	switch t.Type {
	case TriggerCreated, TriggerUpdated, TriggerDeleted:
		unexpected("field", t.Field != "")
		unexpected("from", len(t.From) > 0)
		unexpected("to", len(t.To) > 0)
	case TriggerFieldChanged:
		if t.Field == "" {
			c.p.Add(tp+"/field", "a fieldChanged trigger needs the field it watches")
			return
		}
		f := c.field(ei, t.Field)
		if f == nil {
			if _, sys := SystemColumnType(t.Field); !sys || t.Field != "owner" {
				c.p.Add(tp+"/field", "unknown field %q: entity %q has no such field%s", t.Field, e.Name, didYouMean(t.Field, c.fieldNames(ei)))
				return
			}
			f = &Field{Name: "owner", Type: User}
		}
		for _, side := range []struct {
			name string
			raw  json.RawMessage
		}{{"from", t.From}, {"to", t.To}} {
			if len(side.raw) > 0 {
				if msg := triggerValueProblem(f, side.raw); msg != "" {
					c.p.AddCode(tp+"/"+side.name, "option", map[string]any{"field": f.Name}, "%s", msg)
				}
			}
		}
	case TriggerTransition:
		if t.Flow == "" {
			c.p.Add(tp+"/flow", "a transition trigger needs the flow whose transitions it watches")
		}
	case TriggerTimer, TriggerSchedule:
		// engine/automation's timers and schedules check these.
	default:
		c.p.Add(tp+"/type", "unknown trigger type %q%s", t.Type,
			didYouMean(t.Type, []string{TriggerCreated, TriggerUpdated, TriggerFieldChanged, TriggerDeleted, TriggerTransition, TriggerSchedule, TriggerTimer}))
	}
}

// triggerValueProblem says what is wrong with a fieldChanged from/to value
// for field f ("" when nothing).
func triggerValueProblem(f *Field, raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "not a JSON value"
	}
	if v == nil {
		return ""
	}
	t := f.StorageType()
	switch x := v.(type) {
	case json.Number:
		if !t.IsNumeric() {
			return fmt.Sprintf("%s is a %s field: a number never matches it", f.Name, t)
		}
	case bool:
		if t != Boolean {
			return fmt.Sprintf("%s is a %s field: true or false never matches it", f.Name, t)
		}
	case string:
		switch {
		case t == Select:
			if !hasString(f.Options, x) {
				return fmt.Sprintf("%q is not an option of %s (options: %s)%s", x, f.Name, strings.Join(f.Options, ", "), didYouMean(x, f.Options))
			}
		case t.IsNumeric(), t == Boolean, t == MultiSelect, t == JSON:
			return fmt.Sprintf("%s is a %s field: a text value never matches it", f.Name, t)
		}
	case []any:
		if t != MultiSelect {
			return fmt.Sprintf("%s is a %s field: a list never matches it", f.Name, t)
		}
		for _, o := range x {
			s, _ := o.(string)
			if !hasString(f.Options, s) {
				return fmt.Sprintf("%v is not an option of %s", o, f.Name)
			}
		}
	default:
		return "must be a text, number, boolean, list or null"
	}
	return ""
}

// checkAction checks one action; ei is the automation's entity (known
// says whether it exists).
func (c *checker) checkAction(xp string, ei int, known bool, x *Action, roles map[string]*Role, roleNames []string) {
	switch x.Type {
	case ActionSet:
		if len(x.Fields) == 0 {
			c.p.Add(xp+"/fields", "a set action needs the fields it sets")
		}
		if known {
			c.checkWritable(xp+"/fields", ei, x.Fields)
		}
	case ActionCreate:
		ti, ok := c.ents[x.Entity]
		if !ok {
			c.p.Add(xp+"/entity", "no entity named %q in this app%s", x.Entity, didYouMean(x.Entity, c.entityNames()))
			return
		}
		c.checkWritable(xp+"/fields", ti, x.Fields)
	case ActionNotify:
		if strings.TrimSpace(x.Message) == "" {
			c.p.Add(xp+"/message", "a notify action needs a message")
		}
		blankTexts(&c.p, xp+"/messages", x.Messages)
		to := x.To
		if to == nil || (!to.Owner && !to.Manager && len(to.Roles) == 0 && len(to.Fields) == 0 && len(to.Users) == 0) {
			c.p.Add(xp+"/to", "a notify action needs recipients: owner, manager, roles, fields or users")
			return
		}
		for i, r := range to.Roles {
			if roles[r] == nil {
				c.p.Add(fmt.Sprintf("%s/to/roles/%d", xp, i), "no role named %q in this app%s", r, didYouMean(r, roleNames))
			}
		}
		for i, name := range to.Fields {
			if !known {
				break
			}
			f := c.field(ei, name)
			switch {
			case f == nil && name != "owner" && name != "created_by":
				c.p.Add(fmt.Sprintf("%s/to/fields/%d", xp, i), "unknown field %q: entity %q has no such field%s", name, c.app.Entities[ei].Name, didYouMean(name, c.fieldNames(ei)))
			case f != nil && f.Type != User:
				c.p.Add(fmt.Sprintf("%s/to/fields/%d", xp, i), "%s is a %s field; recipients come from user fields", name, f.Type)
			}
		}
	case ActionWebhook:
		if x.URL == "" {
			c.p.Add(xp+"/url", "a webhook action needs a url")
		}
	case ActionScript:
		script, fn, ok := ParseHook(x.Function)
		switch {
		case !ok:
			c.p.Add(xp+"/function", "function must be \"script#function\", e.g. \"lead#grade\"")
		case c.app.Scripts[script] == "":
			c.p.Add(xp+"/function", "no script named %q in \"scripts\"%s", script, didYouMean(script, sortedKeys(c.app.Scripts)))
		default:
			_ = fn // the engine checks the function exists once the scripts compile
		}
	case ActionAssign:
		r := c.app.Assignment(x.Rule)
		switch {
		case x.Rule == "":
			c.p.Add(xp+"/rule", "an assign action needs the assignment rule it assigns by")
		case r == nil:
			c.p.Add(xp+"/rule", "no assignment rule named %q in this app%s", x.Rule, didYouMean(x.Rule, c.assignmentNames()))
		case known && r.Entity != c.app.Entities[ei].Name:
			c.p.Add(xp+"/rule", "assignment rule %q assigns %s records, not %s", x.Rule, r.Entity, c.app.Entities[ei].Name)
		}
	case ActionPlugin:
		c.checkPluginAction(xp, x)
	default:
		c.p.Add(xp+"/type", "unknown action type %q%s", x.Type, didYouMean(x.Type, []string{ActionSet, ActionCreate, ActionNotify, ActionWebhook, ActionScript, ActionAssign, ActionPlugin}))
	}
}

// checkWritable refuses fields an action may not set on entity ei:
// unknown ones, computed ones and the system columns (owner excepted).
func (c *checker) checkWritable(fp string, ei int, fields map[string]json.RawMessage) {
	e := &c.app.Entities[ei]
	for _, name := range sortedKeys(fields) {
		p := fp + "/" + escapePtr(name)
		f := c.field(ei, name)
		switch {
		case f == nil && name == "owner":
		case f == nil:
			if _, sys := SystemColumnType(name); sys {
				c.p.Add(p, "%s is set by the server and cannot be written", name)
			} else {
				c.p.Add(p, "unknown field %q: entity %q has no such field%s", name, e.Name, didYouMean(name, c.fieldNames(ei)))
			}
		case f.Type.Computed():
			c.p.Add(p, "%s is a computed %s field and cannot be written", name, f.Type)
		}
	}
}
