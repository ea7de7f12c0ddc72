package query

import (
	"fmt"
	"strings"

	"github.com/formaapp/forma/engine/filter"
)

// bind replaces the dashboard's parameters in a filter AST by their values
// (as string literals, which the records layer checks against the field),
// and drops every comparison with a parameter left empty: "store = @store"
// with no store picked means every store. @me stays for the records layer.
// It returns nil when nothing is left.
func bind(n filter.Node, params map[string]string) filter.Node {
	switch n := n.(type) {
	case *filter.And:
		l, r := bind(n.Left, params), bind(n.Right, params)
		switch {
		case l == nil:
			return r
		case r == nil:
			return l
		}
		return &filter.And{Left: l, Right: r}
	case *filter.Or:
		l, r := bind(n.Left, params), bind(n.Right, params)
		if l == nil || r == nil {
			return nil // one side always holds
		}
		return &filter.Or{Left: l, Right: r}
	case *filter.Not:
		x := bind(n.X, params)
		if x == nil {
			return nil
		}
		return &filter.Not{X: x}
	case *filter.Compare:
		v, ok := bindValue(n.Value, params)
		if !ok {
			return nil
		}
		c := *n
		c.Value = v
		return &c
	}
	return n
}

func bindValue(v filter.Value, params map[string]string) (filter.Value, bool) {
	switch v.Kind {
	case filter.Variable:
		if v.Str == "me" {
			return v, true
		}
		val := params[v.Str]
		switch val {
		case "":
			return v, false
		case "me": // a user parameter set to the viewer
			return filter.Value{Kind: filter.Variable, Str: "me"}, true
		}
		return filter.Value{Kind: filter.String, Str: val}, true
	case filter.List:
		out := filter.Value{Kind: filter.List}
		for _, it := range v.List {
			b, ok := bindValue(it, params)
			if !ok {
				continue
			}
			out.List = append(out.List, b)
		}
		return out, len(out.List) > 0 || len(v.List) == 0
	}
	return v, true
}

// render writes a filter AST back as filter-language source, so a figure's
// rows can be listed through the records API with the same condition.
func render(n filter.Node) string {
	var b strings.Builder
	renderTo(&b, n)
	return b.String()
}

func renderTo(b *strings.Builder, n filter.Node) {
	switch n := n.(type) {
	case *filter.And:
		b.WriteByte('(')
		renderTo(b, n.Left)
		b.WriteString(" && ")
		renderTo(b, n.Right)
		b.WriteByte(')')
	case *filter.Or:
		b.WriteByte('(')
		renderTo(b, n.Left)
		b.WriteString(" || ")
		renderTo(b, n.Right)
		b.WriteByte(')')
	case *filter.Not:
		b.WriteString("!(")
		renderTo(b, n.X)
		b.WriteByte(')')
	case *filter.Compare:
		b.WriteString(n.Field)
		b.WriteByte(' ')
		b.WriteString(n.Op)
		b.WriteByte(' ')
		renderValue(b, n.Value)
	}
}

func renderValue(b *strings.Builder, v filter.Value) {
	switch v.Kind {
	case filter.String:
		b.WriteString(quoteFilter(v.Str))
	case filter.Number:
		b.WriteString(v.Num)
	case filter.Bool:
		fmt.Fprint(b, v.Bool)
	case filter.Null:
		b.WriteString("null")
	case filter.Variable:
		b.WriteString("@" + v.Str)
	case filter.List:
		b.WriteByte('[')
		for i, it := range v.List {
			if i > 0 {
				b.WriteString(", ")
			}
			renderValue(b, it)
		}
		b.WriteByte(']')
	}
}

// quoteFilter quotes s as a filter-language string literal.
func quoteFilter(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Helpers that build filter nodes for drill-down conditions.

func cmp(field, op string, v filter.Value) filter.Node {
	return &filter.Compare{Field: field, Op: op, Value: v}
}

func strVal(s string) filter.Value { return filter.Value{Kind: filter.String, Str: s} }

var nullVal = filter.Value{Kind: filter.Null}

func and(nodes ...filter.Node) filter.Node {
	var out filter.Node
	for _, n := range nodes {
		switch {
		case n == nil:
		case out == nil:
			out = n
		default:
			out = &filter.And{Left: out, Right: n}
		}
	}
	return out
}
