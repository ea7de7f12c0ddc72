package automation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/schema"
)

// Conditions are the filter language over the triggering record, plus
// previous.FIELD: the field's value before an update. The record's own
// fields are read inside the write's transaction (records.MatchTx); each
// comparison on previous.FIELD is decided here, over the previous
// record's values, and replaced in the AST by a comparison that is always
// true or always false, so the SQL sees only the record's own fields.
//
// For a deleted record (gone when its event fires) the whole condition is
// decided here over the deleted record's values; a ref's target
// (account.name) cannot be read so, and is refused in the conditions of
// deleted triggers when the app is applied.

const previousPrefix = "previous."

// always returns a comparison that holds for every record (true) or for
// none (false): every record has an id.
func always(v bool) filter.Node {
	op := "="
	if v {
		op = "!="
	}
	return &filter.Compare{Field: "id", Op: op, Value: filter.Value{Kind: filter.Null}}
}

// usesPrevious reports whether a condition reads previous.FIELD.
func usesPrevious(n filter.Node) bool {
	found := false
	filter.Fields(n, func(c *filter.Compare) {
		found = found || strings.HasPrefix(c.Field, previousPrefix)
	})
	return found
}

// substitute returns n with every comparison for which decide answers
// (ok) replaced by its outcome; decide sees each comparison in turn.
func substitute(n filter.Node, decide func(c *filter.Compare) (v, ok bool, err error)) (filter.Node, error) {
	switch x := n.(type) {
	case *filter.And:
		l, r, err := substituteBoth(x.Left, x.Right, decide)
		if err != nil {
			return nil, err
		}
		return &filter.And{Left: l, Right: r}, nil
	case *filter.Or:
		l, r, err := substituteBoth(x.Left, x.Right, decide)
		if err != nil {
			return nil, err
		}
		return &filter.Or{Left: l, Right: r}, nil
	case *filter.Not:
		in, err := substitute(x.X, decide)
		if err != nil {
			return nil, err
		}
		return &filter.Not{X: in}, nil
	case *filter.Compare:
		v, ok, err := decide(x)
		if err != nil {
			return nil, err
		}
		if ok {
			return always(v), nil
		}
		return x, nil
	}
	return n, nil
}

// withPrevious replaces the previous.FIELD comparisons of n by their
// outcome over prev (the record before the write, in the API's value form;
// nil on create, where every previous value is null).
func withPrevious(n filter.Node, e *schema.Entity, prev map[string]any) (filter.Node, error) {
	return substitute(n, func(c *filter.Compare) (bool, bool, error) {
		name, ok := strings.CutPrefix(c.Field, previousPrefix)
		if !ok {
			return false, false, nil
		}
		v, err := evalCompare(fieldType(e, name), prev[name], c)
		return v, true, err
	})
}

// evalAll decides all of n over rec (a deleted record's values).
func evalAll(n filter.Node, e *schema.Entity, rec map[string]any) (bool, error) {
	sub, err := substitute(n, func(c *filter.Compare) (bool, bool, error) {
		if strings.Contains(c.Field, ".") {
			return false, false, condErr("condition: %s cannot be read once the record is deleted", c.Field)
		}
		v, err := evalCompare(fieldType(e, c.Field), rec[c.Field], c)
		return v, true, err
	})
	if err != nil {
		return false, err
	}
	return evalConst(sub), nil
}

// evalConst evaluates a tree whose comparisons are all always(…).
func evalConst(n filter.Node) bool {
	switch x := n.(type) {
	case *filter.And:
		return evalConst(x.Left) && evalConst(x.Right)
	case *filter.Or:
		return evalConst(x.Left) || evalConst(x.Right)
	case *filter.Not:
		return !evalConst(x.X)
	case *filter.Compare:
		return x.Op == "!="
	}
	return false
}

// fieldType is the stored type of a field of e, system columns included
// (text for an unknown one: CheckApp has refused those).
func fieldType(e *schema.Entity, name string) *schema.Field {
	if f := e.Field(name); f != nil {
		return f
	}
	if t, ok := schema.SystemColumnType(name); ok {
		return &schema.Field{Name: name, Type: t}
	}
	return &schema.Field{Name: name, Type: schema.Text}
}

// evalCompare decides one comparison of v, a value of field f in the API's
// value form, with the same meaning the SQL compiler gives it (filter
// package): != and !~ match an empty value, ~ is a case-insensitive
// "contains" (or "has this option" on a multiselect).
func evalCompare(f *schema.Field, v any, c *filter.Compare) (bool, error) {
	lit := c.Value
	if lit.Kind == filter.Variable {
		return false, condErr("condition: %s cannot be compared with @%s", c.Field, lit.Str)
	}
	t := f.StorageType()
	if lit.Kind == filter.Null {
		switch c.Op {
		case "=":
			return isNull(v), nil
		case "!=":
			return !isNull(v), nil
		}
		return false, condErr("condition: null only works with = and !=")
	}
	switch c.Op {
	case "=":
		return !isNull(v) && equal(t, v, lit), nil
	case "!=":
		return isNull(v) || !equal(t, v, lit), nil
	case "in":
		if isNull(v) {
			return false, nil
		}
		for _, item := range lit.List {
			if equal(t, v, item) {
				return true, nil
			}
		}
		return false, nil
	case "<", "<=", ">", ">=":
		if isNull(v) {
			return false, nil
		}
		d, ok := order(t, v, lit)
		if !ok {
			return false, nil
		}
		switch c.Op {
		case "<":
			return d < 0, nil
		case "<=":
			return d <= 0, nil
		case ">":
			return d > 0, nil
		}
		return d >= 0, nil
	case "~", "!~":
		has := false
		if !isNull(v) {
			has = contains(t, v, lit.Str)
		}
		if c.Op == "~" {
			return has, nil
		}
		return !has, nil
	}
	return false, condErr("condition: unknown operator %q", c.Op)
}

func isNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return false
	case []any:
		return len(x) == 0
	}
	return false
}

// number reads a numeric value (json.Number, text, float or integer).
func number(v any) (*big.Rat, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = x
	case float64:
		return new(big.Rat).SetFloat64(x), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	default:
		return nil, false
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

func literal(l filter.Value) any {
	switch l.Kind {
	case filter.String:
		return l.Str
	case filter.Number:
		return json.Number(l.Num)
	case filter.Bool:
		return l.Bool
	}
	return nil
}

func equal(t schema.FieldType, v any, l filter.Value) bool {
	d, ok := order(t, v, l)
	return ok && d == 0
}

// order compares v with the literal l as values of type t.
func order(t schema.FieldType, v any, l filter.Value) (int, bool) {
	lv := literal(l)
	switch {
	case t.IsNumeric():
		a, ok1 := number(v)
		b, ok2 := number(lv)
		if !ok1 || !ok2 {
			return 0, false
		}
		return a.Cmp(b), true
	case t == schema.Boolean:
		a, ok1 := v.(bool)
		b, ok2 := lv.(bool)
		if !ok1 || !ok2 {
			return 0, false
		}
		if a == b {
			return 0, true
		}
		if !a {
			return -1, true
		}
		return 1, true
	case t == schema.DateTime:
		a, err1 := time.Parse(time.RFC3339Nano, fmt.Sprint(v))
		b, err2 := time.Parse(time.RFC3339Nano, fmt.Sprint(lv))
		if err1 != nil || err2 != nil {
			return 0, false
		}
		return a.Compare(b), true
	}
	a, ok1 := v.(string)
	b, ok2 := lv.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(a, b), true
}

func contains(t schema.FieldType, v any, s string) bool {
	if t == schema.MultiSelect {
		list, _ := v.([]any)
		for _, o := range list {
			if o == s {
				return true
			}
		}
		return false
	}
	text, ok := v.(string)
	return ok && strings.Contains(strings.ToLower(text), strings.ToLower(s))
}

// apiValues decodes a record in the API's value form (numbers exact).
func apiValues(raw []byte) (map[string]any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("automation: record: %w", err)
	}
	return m, nil
}

// condErr is a condition that cannot be decided, as a filter error (the
// subscriber skips the automation rather than fail the write).
func condErr(format string, args ...any) error {
	return &filter.Error{Message: fmt.Sprintf(format, args...)}
}

// substituteBoth substitutes both sides of a binary node.
func substituteBoth(left, right filter.Node, decide func(c *filter.Compare) (v, ok bool, err error)) (l, r filter.Node, err error) {
	if l, err = substitute(left, decide); err != nil {
		return nil, nil, err
	}
	if r, err = substitute(right, decide); err != nil {
		return nil, nil, err
	}
	return l, r, nil
}
