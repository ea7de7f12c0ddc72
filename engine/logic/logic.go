// Package logic turns the business logic of an app document — formula
// fields, validation rules and entity hooks — into calls on the script
// sandbox. It knows nothing about storage: engine/records hands it a
// record's values and applies what comes back, inside the write's
// transaction, and supplies db.find as a native function bound to the
// caller's permissions.
//
// One Program exists per app version. Compile builds it once: the app's
// scripts plus, for each entity with formulas or validations, a generated
// script "logic/<entity>" whose compute function evaluates every formula in
// dependency order and then every validation rule, in one sandbox call.
package logic

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dop251/goja/parser"

	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/schema"
)

// Events a hook can be attached to.
const (
	BeforeSave   = "beforeSave"
	AfterSave    = "afterSave"
	BeforeDelete = "beforeDelete"
	AfterDelete  = "afterDelete"
)

// Program is one app version's compiled logic. It is safe for concurrent use.
type Program struct {
	app      *schema.App
	scripts  *script.Engine
	entities map[string]*Entity
}

// Entity is the logic of one entity.
type Entity struct {
	Name string
	// Formulas are the entity's formula fields in evaluation order: a
	// formula comes after the formulas it reads.
	Formulas []*schema.Field
	// RefReads maps a ref field to the fields of its target that formulas
	// and validations read ("account.industry" → account: [industry]).
	RefReads map[string][]string
	// Hooks maps an event to its "script#function".
	Hooks        map[string]Hook
	Validations  []schema.Validation
	computed     string        // the generated script, "" when nothing to compute
	computeShape *script.Shape // what compute may set: the formula fields
}

// Hook is a script function attached to an event.
type Hook struct{ Script, Function string }

// String is the hook as the document writes it.
func (h Hook) String() string { return h.Script + "#" + h.Function }

// computeScript names the generated script of an entity; "/" cannot occur
// in the names of an app's own scripts.
func computeScript(entity string) string { return "logic/" + entity }

// Compile builds the Program of app. Problems (a script that does not
// parse, a formula or rule that is not an expression) carry JSON pointers
// into the document.
func Compile(app *schema.App) (*Program, schema.Problems) {
	var problems schema.Problems
	p := &Program{app: app, entities: map[string]*Entity{}}
	sources := make(map[string]string, len(app.Scripts)+len(app.Entities))
	for name, src := range app.Scripts {
		sources[name] = src
	}
	for ei := range app.Entities {
		e := &app.Entities[ei]
		le := &Entity{Name: e.Name, Hooks: map[string]Hook{}, RefReads: map[string][]string{}, Validations: e.Validations}
		for ev, v := range e.Hooks {
			if s, f, ok := schema.ParseHook(v); ok {
				le.Hooks[ev] = Hook{Script: s, Function: f}
			}
		}
		src, probs := generate(app, ei, le)
		problems = append(problems, probs...)
		if src != "" {
			le.computed = computeScript(e.Name)
			sources[le.computed] = src
			le.computeShape = &script.Shape{Name: e.Name, Writable: map[string]bool{}}
			for _, f := range le.Formulas {
				le.computeShape.Writable[f.Name] = true
			}
		}
		p.entities[e.Name] = le
	}
	if len(problems) > 0 {
		return nil, problems
	}
	if len(sources) == 0 {
		return p, nil // nothing to run: no sandbox needed
	}
	opts := script.Options{Natives: map[string][]string{"db": {"find", "get"}}}
	for _, le := range p.entities {
		if le.computed != "" {
			opts.Reuse = append(opts.Reuse, le.computed) // generated: no state
		}
	}
	if app.Settings != nil && app.Settings.ScriptTimeoutMS > 0 {
		opts.Timeout = time.Duration(app.Settings.ScriptTimeoutMS) * time.Millisecond
	}
	eng, err := script.New(sources, opts)
	if err != nil {
		se, _ := err.(*script.Error)
		if se == nil {
			problems.AddCode("/scripts", "script", nil, "%v", err)
			return nil, problems
		}
		if strings.HasPrefix(se.Script, "logic/") {
			// Each expression was parsed on its own above; this is a bug.
			problems.Add("/entities", "generated logic of %s does not compile: %s", strings.TrimPrefix(se.Script, "logic/"), se.Message)
			return nil, problems
		}
		problems.Add("/scripts/"+se.Script, "line %d, column %d: %s", se.Line, se.Column, se.Message)
		return nil, problems
	}
	p.scripts = eng
	// Every function a formula or rule calls must exist: a typo would
	// otherwise fail each save.
	for ei := range app.Entities {
		e := &app.Entities[ei]
		check := func(path, expr string) {
			calls, _ := schema.FormulaCalls(expr)
			for _, name := range calls {
				if !eng.Global(name) {
					problems.Add(path, "unknown function %q%s", name, suggest(name, eng))
				}
			}
		}
		for fi, f := range e.Fields {
			if f.Type == schema.Formula {
				check(fmt.Sprintf("/entities/%d/fields/%d/expr", ei, fi), f.Expr)
			}
		}
		for vi, v := range e.Validations {
			check(fmt.Sprintf("/entities/%d/validations/%d/expr", ei, vi), v.Expr)
		}
	}
	for ei := range app.Entities {
		e := &app.Entities[ei]
		for _, ev := range slices.Sorted(maps.Keys(e.Hooks)) {
			h := p.entities[e.Name].Hooks[ev]
			if h.Script != "" && !eng.Has(h.Script, h.Function) {
				problems.Add(fmt.Sprintf("/entities/%d/hooks/%s", ei, ev), "script %q has no top-level function %q", h.Script, h.Function)
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return p, nil
}

// Entity returns the logic of an entity (never nil for an entity of the app).
func (p *Program) Entity(name string) *Entity {
	if e := p.entities[name]; e != nil {
		return e
	}
	return &Entity{Name: name}
}

// Scripts is the sandbox engine (for tests and the script test endpoint).
func (p *Program) Scripts() *script.Engine { return p.scripts }

// Computes reports whether the entity has formulas or validations.
func (e *Entity) Computes() bool { return e.computed != "" }

// generate writes the compute script of entity ei: formulas in dependency
// order, then validations. Each expression is parsed on its own first, so a
// broken one is reported at its own path.
func generate(app *schema.App, ei int, le *Entity) (string, schema.Problems) {
	e := &app.Entities[ei]
	var problems schema.Problems
	byName := map[string]*schema.Field{}
	for i := range e.Fields {
		byName[e.Fields[i].Name] = &e.Fields[i]
	}
	type expr struct {
		path, text string
		refs       []string
	}
	parse := func(path, text string) (expr, bool) {
		refs, err := schema.FormulaRefs(text)
		if err != nil {
			problems.AddCode(path, "expression", nil, "%v", err)
			return expr{}, false
		}
		if _, err := parser.ParseFile(nil, path, "(\n"+text+"\n)", 0); err != nil {
			problems.Add(path, "not a valid expression: %s", firstLine(err.Error()))
			return expr{}, false
		}
		// What scripts may not use (BigInt, backtracking regular
		// expressions) is refused at the expression's own path.
		if _, _, msg := script.CheckSource(path, "(\n"+text+"\n)"); msg != "" {
			problems.AddCode(path, "expression", nil, "%s", msg)
			return expr{}, false
		}
		for _, r := range refs {
			if ref, target, ok := strings.Cut(r, "."); ok {
				if !slices.Contains(le.RefReads[ref], target) {
					le.RefReads[ref] = append(le.RefReads[ref], target)
				}
			}
		}
		return expr{path, text, refs}, true
	}

	// Formulas, ordered so that each follows the formulas it reads.
	formulas := map[string]expr{}
	for fi := range e.Fields {
		f := &e.Fields[fi]
		if f.Type != schema.Formula {
			continue
		}
		if x, ok := parse(fmt.Sprintf("/entities/%d/fields/%d/expr", ei, fi), f.Expr); ok {
			formulas[f.Name] = x
		}
	}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string)
	visit = func(name string) {
		if state[name] != 0 {
			return // done, or a cycle (refused by schema.Check)
		}
		state[name] = 1
		for _, r := range formulas[name].refs {
			if _, ok := formulas[r]; ok {
				visit(r)
			}
		}
		state[name] = 2
		le.Formulas = append(le.Formulas, byName[name])
	}
	for fi := range e.Fields {
		if _, ok := formulas[e.Fields[fi].Name]; ok {
			visit(e.Fields[fi].Name)
		}
	}
	var rules []expr
	for i, v := range e.Validations {
		if x, ok := parse(fmt.Sprintf("/entities/%d/validations/%d/expr", ei, i), v.Expr); ok {
			rules = append(rules, x)
		}
	}
	if len(problems) > 0 || (len(le.Formulas) == 0 && len(rules) == 0) {
		return "", problems
	}

	var b strings.Builder
	b.WriteString("function compute(r) {\nconst errors = [], failed = [];\n")
	for _, f := range le.Formulas {
		x := formulas[f.Name]
		name := strconv.Quote(f.Name)
		fmt.Fprintf(&b, "try { r[%s] = %s; } catch (e) { r[%s] = null; errors.push([%s, String(e)]); }\n",
			name, call(x.refs, x.text), name, name)
	}
	for i, x := range rules {
		fmt.Fprintf(&b, "try { if (!(%s)) failed.push([%d, \"\"]); } catch (e) { failed.push([%d, String(e)]); }\n", call(x.refs, x.text), i, i)
	}
	b.WriteString("return {errors: errors, failed: failed};\n}\n")
	return b.String(), nil
}

// call is an expression evaluated with the fields it reads as parameters
// (a ref read as "account.x" passes the loaded account object), so helper
// functions and globals stay visible unless a field shadows them.
func call(refs []string, text string) string {
	var params []string
	seen := map[string]bool{}
	for _, r := range refs {
		top, _, _ := strings.Cut(r, ".")
		if !seen[top] {
			seen[top] = true
			params = append(params, top)
		}
	}
	args := make([]string, len(params))
	for i, p := range params {
		args[i] = "r[" + strconv.Quote(p) + "]"
	}
	return "(function(" + strings.Join(params, ", ") + ") { return (\n" + text + "\n); })(" + strings.Join(args, ", ") + ")"
}

// Outcome of Compute.
type Outcome struct {
	// Values are the formula results by field name (plain values: numbers,
	// strings, booleans, nil).
	Values map[string]any
	// Problems are failed formulas (at /<field>) and failed validation rules
	// (at /<rule's field>, or "" when the rule names none).
	Problems schema.Problems
	Logs     []script.LogLine
}

// Compute evaluates the entity's formulas and validations over values: the
// record's fields as plain values, where each ref in RefReads holds the
// referenced record's values (an object; empty when the ref is null).
func (p *Program) Compute(ctx context.Context, entity string, values map[string]any) (*Outcome, error) {
	le := p.Entity(entity)
	out := &Outcome{Values: map[string]any{}}
	if !le.Computes() {
		return out, nil
	}
	// The record is handed in as a record argument: fields are converted
	// only when a formula reads them, and only formula fields may be set.
	res, err := p.scripts.Invoke(ctx, le.computed, "compute", []any{&script.Record{Values: values, Shape: le.computeShape}}, script.Env{})
	out.Logs = res.Logs
	if err != nil {
		return out, err
	}
	m, _ := res.Result.(map[string]any)
	if len(res.Changes) > 0 && res.Changes[0] != nil {
		out.Values = res.Changes[0]
	}
	errs, _ := m["errors"].([]any)
	for _, e := range errs {
		pair, _ := e.([]any)
		if len(pair) == 2 {
			name, _ := pair[0].(string)
			out.Problems = append(out.Problems, schema.Problem{Path: "/" + name, Code: "formula", Params: map[string]any{"field": name},
				Message: fmt.Sprintf("formula %s failed: %v", name, pair[1])})
		}
	}
	failed, _ := m["failed"].([]any)
	for _, f := range failed {
		pair, _ := f.([]any)
		if len(pair) != 2 {
			continue
		}
		i, _ := pair[0].(int64)
		if i < 0 || int(i) >= len(le.Validations) {
			continue
		}
		v := le.Validations[i]
		path := ""
		if v.Field != "" {
			path = "/" + v.Field
		}
		// The rule's own message is the designer's words; code "rule" with
		// the rule's index lets a UI show it in place.
		params := map[string]any{"rule": i}
		if v.Field != "" {
			params["field"] = v.Field
		}
		msg, msgs := v.Message, v.Messages
		if why, _ := pair[1].(string); why != "" {
			msg = fmt.Sprintf("%s (the rule could not be checked: %s)", v.Message, why)
			msgs = make(schema.Labels, len(v.Messages))
			for lang, m := range v.Messages {
				msgs[lang] = fmt.Sprintf("%s (the rule could not be checked: %s)", m, why)
			}
			params["error"] = why
		}
		out.Problems = append(out.Problems, schema.Problem{Path: path, Code: "rule", Params: params, Message: msg, Messages: msgs})
	}
	return out, nil
}

// HookCall is one hook invocation.
type HookCall struct {
	Event  string
	Record *script.Record // the record the script sees (nil for delete hooks' writable view)
	Ctx    any            // ctx: user, previous, changed, isNew, event, app, entity (a plain map or a *script.Record)
	// Natives are the host functions the call may use (db.find).
	Natives map[string]map[string]script.Native
}

// HookResult is what a hook did.
type HookResult struct {
	Hook    Hook
	Changes map[string]any // the fields the hook assigned, with their new values
	Logs    []script.LogLine
}

// RunHook runs the entity's hook for call.Event, if there is one; ok is
// false when there is none. A thrown error or a limit comes back as a
// *script.Error.
func (p *Program) RunHook(ctx context.Context, entity string, call HookCall) (res HookResult, ok bool, err error) {
	h, ok := p.Entity(entity).Hooks[call.Event]
	if !ok {
		return res, false, nil
	}
	res.Hook = h
	out, err := p.scripts.Invoke(ctx, h.Script, h.Function, []any{call.Record, call.Ctx}, script.Env{Natives: call.Natives})
	res.Logs = out.Logs
	if err != nil {
		return res, true, err
	}
	if len(out.Changes) > 0 {
		res.Changes = out.Changes[0]
	}
	return res, true, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// suggest names a helper close to a mistyped function name.
func suggest(name string, eng *script.Engine) string {
	for _, h := range script.LibraryGlobals {
		if eng.Global(h) && closeTo(name, h) {
			return fmt.Sprintf(" (did you mean %q?)", h)
		}
	}
	return ""
}

// closeTo reports whether a and b differ by one edit or a swap.
func closeTo(a, b string) bool {
	if a == b {
		return false
	}
	if len(a) == len(b) {
		diff := []int{}
		for i := range a {
			if a[i] != b[i] {
				diff = append(diff, i)
			}
		}
		return len(diff) == 1 || (len(diff) == 2 && diff[1] == diff[0]+1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]])
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) != 1 {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return a[i:] == b[i+1:]
		}
	}
	return true
}

// Closest is the name of names one edit or one swap away from name, or "";
// editors use it to suggest the helper a typo meant.
func Closest(name string, names []string) string {
	for _, n := range names {
		if closeTo(name, n) {
			return n
		}
	}
	return ""
}
