package automation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/schema"
)

// An action's field value is a JSON value as the API takes it,
// {"expr": "…"} (a formula-language expression over the triggering
// record) or {"template": "…"} (text with {{field}} placeholders).
type value struct {
	literal  json.RawMessage
	expr     string
	template *string
}

func parseValue(raw json.RawMessage) (value, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return value{literal: raw}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		return value{}, fmt.Errorf("not a JSON value: %v", err)
	}
	if len(m) != 1 {
		return value{}, errors.New(`an object value is {"expr": "…"} or {"template": "…"}`)
	}
	var s string
	switch {
	case m["expr"] != nil:
		if err := json.Unmarshal(m["expr"], &s); err != nil || strings.TrimSpace(s) == "" {
			return value{}, errors.New(`"expr" must be a non-empty expression`)
		}
		return value{expr: s}, nil
	case m["template"] != nil:
		if err := json.Unmarshal(m["template"], &s); err != nil {
			return value{}, errors.New(`"template" must be text`)
		}
		return value{template: &s}, nil
	}
	return value{}, errors.New(`an object value is {"expr": "…"} or {"template": "…"}`)
}

// checkExpr refuses an expression that does not parse, reads a field e
// does not have, or reads a ref's target (an action reads the record's
// own fields).
func checkExpr(e *schema.Entity, expr string) error {
	refs, err := script.ParseExpr("expr", expr)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if strings.Contains(r, ".") {
			return fmt.Errorf("%s: an automation's expression reads the record's own fields", r)
		}
		if e.Field(r) == nil {
			if _, sys := schema.SystemColumnType(r); !sys {
				return fmt.Errorf("unknown field %q: entity %q has no such field", r, e.Name)
			}
		}
	}
	return nil
}

// exprs evaluates expressions over records in a sandbox of their own: one
// generated script per expression text, compiled once per text.
type exprs struct {
	mu   sync.Mutex
	engs map[string]*script.Engine // expression text → engine
}

// eval evaluates expr over rec (the record as the automation reads it,
// plain values).
func (x *exprs) eval(ctx context.Context, expr string, rec map[string]any) (any, error) {
	x.mu.Lock()
	eng := x.engs[expr]
	x.mu.Unlock()
	if eng == nil {
		refs, err := schema.FormulaRefs(expr)
		if err != nil {
			return nil, err
		}
		src := "function value(r) { return " + script.Bind(expr, refs, "r") + "; }"
		if eng, err = script.New(map[string]string{"expr": src}, script.Options{PoolSize: 1, Reuse: []string{"expr"}}); err != nil {
			return nil, err
		}
		x.mu.Lock()
		if x.engs == nil {
			x.engs = map[string]*script.Engine{}
		}
		if len(x.engs) > 1000 { // bounded: documents change, texts pile up
			x.engs = map[string]*script.Engine{}
		}
		x.engs[expr] = eng
		x.mu.Unlock()
	}
	res, _, err := eng.Call(ctx, "expr", "value", rec, script.Env{})
	return res, err
}

// hasFunction reports whether src defines a top-level function name.
func hasFunction(src, name string) bool {
	eng, err := script.New(map[string]string{"s": src}, script.Options{PoolSize: 1})
	return err == nil && eng.Has("s", name)
}

var placeholder = regexp.MustCompile(`\{\{\s*([a-z][a-z0-9_]{0,62})\s*\}\}`)

// render fills a template's {{field}} placeholders with rec's values; a
// field rec does not hold (unknown, or hidden from the automation's role)
// renders empty.
func render(tpl string, rec map[string]any) string {
	return placeholder.ReplaceAllStringFunc(tpl, func(m string) string {
		name := placeholder.FindStringSubmatch(m)[1]
		return text(rec[name])
	})
}

// renderEach renders every language's variant of a message over the same
// record as its default (the recipient's view of it), so a field hidden
// from the recipient stays hidden in every language; nil for none.
func renderEach(tpls schema.Labels, rec map[string]any) schema.Labels {
	if len(tpls) == 0 {
		return nil
	}
	out := make(schema.Labels, len(tpls))
	for lang, tpl := range tpls {
		out[lang] = render(tpl, rec)
	}
	return out
}

// text is a value as a message shows it.
func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return string(x)
	case bool, int64, float64, int:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = text(p)
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// escapePtr escapes a key for a JSON pointer (RFC 6901).
func escapePtr(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }
