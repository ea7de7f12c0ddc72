package schema

import (
	"fmt"
	"strings"
)

// MeasureExpr is a parsed measure: arithmetic (+ - * /, unary -, numbers,
// parentheses) over aggregates, each aggregate over arithmetic of the
// record's numeric fields:
//
//	count()  count(field)  count_distinct(field)
//	sum(x)  avg(x)  min(x)  max(x)
//
// e.g. "sum(amount * probability) / 100" or "sum(amount) / count()".
// Fields are only allowed inside an aggregate; aggregates do not nest.
type MeasureExpr struct {
	Kind  MeasureKind
	Op    byte   // MeasureBinary: + - * /; MeasureNeg: -
	Num   string // MeasureNumber: the literal as written
	Field string // MeasureField
	Agg   string // MeasureAgg: the function; MeasureField: the aggregate it is inside
	Bare  bool   // MeasureField: the aggregate's whole argument, not part of arithmetic
	L, R  *MeasureExpr
	Pos   int
}

// MeasureKind is the kind of a MeasureExpr node.
type MeasureKind int

// The kinds of measure nodes.
const (
	MeasureNumber MeasureKind = iota + 1
	MeasureField
	MeasureAgg // L is the argument (nil for count())
	MeasureBinary
	MeasureNeg
)

// Aggregates are the aggregate functions of a measure.
var Aggregates = []string{"count", "count_distinct", "sum", "avg", "min", "max"}

// MaxMeasureLen bounds a measure's source.
const MaxMeasureLen = 1000

// Walk calls fn on every node, parents first.
func (m *MeasureExpr) Walk(fn func(*MeasureExpr)) {
	if m == nil {
		return
	}
	fn(m)
	m.L.Walk(fn)
	m.R.Walk(fn)
}

// FieldProblem says why a field of type t cannot be used where this field
// node stands, or "".
func (m *MeasureExpr) FieldProblem(t FieldType) string {
	switch {
	case m.Agg == "count" || m.Agg == "count_distinct":
		if t == JSON || t == MultiSelect || t == LongText {
			return fmt.Sprintf("%s cannot count a %s field (%s)", m.Agg, t, m.Field)
		}
	case !m.Bare:
		if !t.IsNumeric() {
			return fmt.Sprintf("arithmetic needs numbers; %s is a %s field", m.Field, t)
		}
	case m.Agg == "min" || m.Agg == "max":
		if !t.IsNumeric() && t != Date && t != DateTime {
			return fmt.Sprintf("%s needs a number, date or datetime field; %s is a %s field", m.Agg, m.Field, t)
		}
	default: // sum, avg
		if !t.IsNumeric() {
			return fmt.Sprintf("%s needs a number field; %s is a %s field", m.Agg, m.Field, t)
		}
	}
	return ""
}

// Aggs lists the aggregate nodes in order of appearance.
func (m *MeasureExpr) Aggs() []*MeasureExpr {
	var out []*MeasureExpr
	m.Walk(func(n *MeasureExpr) {
		if n.Kind == MeasureAgg {
			out = append(out, n)
		}
	})
	return out
}

// String writes the expression back in canonical form (used as a key).
func (m *MeasureExpr) String() string {
	switch m.Kind {
	case MeasureNumber:
		return m.Num
	case MeasureField:
		return m.Field
	case MeasureAgg:
		if m.L == nil {
			return m.Agg + "()"
		}
		return m.Agg + "(" + m.L.String() + ")"
	case MeasureBinary:
		return "(" + m.L.String() + " " + string(m.Op) + " " + m.R.String() + ")"
	case MeasureNeg:
		return "-" + m.L.String()
	}
	return "?"
}

// ParseMeasure parses a measure expression.
func ParseMeasure(src string) (*MeasureExpr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty measure; e.g. count() or sum(amount)")
	}
	if len(src) > MaxMeasureLen {
		return nil, fmt.Errorf("a measure may be at most %d bytes", MaxMeasureLen)
	}
	p := &mparser{src: src}
	p.next()
	x, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	if p.tok != "" {
		return nil, p.errorf("unexpected %q", p.tok)
	}
	if len(x.Aggs()) == 0 {
		return nil, fmt.Errorf("a measure needs an aggregate such as count() or sum(amount)")
	}
	return x, nil
}

type mparser struct {
	src   string
	pos   int    // next byte to scan
	tok   string // current token ("" at the end)
	tpos  int
	depth int
}

func (p *mparser) errorf(format string, args ...any) error {
	return fmt.Errorf("measure: %s at position %d", fmt.Sprintf(format, args...), p.tpos)
}

// next scans one token: a name, a number or one punctuation byte.
func (p *mparser) next() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n') {
		p.pos++
	}
	p.tpos = p.pos
	if p.pos >= len(p.src) {
		p.tok = ""
		return
	}
	c := p.src[p.pos]
	start := p.pos
	switch {
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
		for p.pos < len(p.src) && (isWordByte(p.src[p.pos]) || p.src[p.pos] == '.') {
			p.pos++
		}
	case c >= '0' && c <= '9':
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.') {
			p.pos++
		}
	default:
		p.pos++
	}
	p.tok = p.src[start:p.pos]
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// expr parses arithmetic; agg is the enclosing aggregate ("" outside one).
func (p *mparser) expr(prec int, agg ...string) (*MeasureExpr, error) {
	inAgg := ""
	if len(agg) > 0 {
		inAgg = agg[0]
	}
	l, err := p.unary(inAgg)
	if err != nil {
		return nil, err
	}
	for {
		op := p.tok
		var opPrec int
		switch op {
		case "+", "-":
			opPrec = 1
		case "*", "/":
			opPrec = 2
		default:
			return l, nil
		}
		if opPrec <= prec {
			return l, nil
		}
		pos := p.tpos
		p.next()
		r, err := p.expr(opPrec, inAgg)
		if err != nil {
			return nil, err
		}
		l = &MeasureExpr{Kind: MeasureBinary, Op: op[0], L: l, R: r, Pos: pos}
	}
}

func (p *mparser) unary(agg string) (*MeasureExpr, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 32 {
		return nil, p.errorf("expression nested too deeply")
	}
	pos, tok := p.tpos, p.tok
	switch {
	case tok == "":
		return nil, p.errorf("unexpected end of the measure")
	case tok == "-":
		p.next()
		x, err := p.unary(agg)
		if err != nil {
			return nil, err
		}
		return &MeasureExpr{Kind: MeasureNeg, Op: '-', L: x, Pos: pos}, nil
	case tok == "(":
		p.next()
		x, err := p.expr(0, agg)
		if err != nil {
			return nil, err
		}
		if p.tok != ")" {
			return nil, p.errorf("expected )")
		}
		p.next()
		return x, nil
	case tok[0] >= '0' && tok[0] <= '9':
		if _, ok := parseNumber(tok); !ok {
			return nil, p.errorf("invalid number %q", tok)
		}
		p.next()
		return &MeasureExpr{Kind: MeasureNumber, Num: tok, Pos: pos}, nil
	case isWordByte(tok[0]):
		p.next()
		if p.tok == "(" {
			return p.aggregate(tok, pos, agg)
		}
		if agg == "" {
			return nil, fmt.Errorf("measure: field %q must be inside an aggregate such as sum(%s) at position %d", tok, tok, pos)
		}
		if !ValidName(tok) {
			return nil, fmt.Errorf("measure: invalid field name %q at position %d", tok, pos)
		}
		return &MeasureExpr{Kind: MeasureField, Field: tok, Agg: agg, Pos: pos}, nil
	}
	return nil, p.errorf("unexpected %q", tok)
}

func (p *mparser) aggregate(name string, pos int, outer string) (*MeasureExpr, error) {
	known := false
	for _, a := range Aggregates {
		known = known || a == name
	}
	switch {
	case !known:
		return nil, fmt.Errorf("measure: unknown function %q at position %d (want %s)", name, pos, strings.Join(Aggregates, ", "))
	case outer != "":
		return nil, fmt.Errorf("measure: %s inside %s at position %d: aggregates do not nest", name, outer, pos)
	}
	p.next() // (
	n := &MeasureExpr{Kind: MeasureAgg, Agg: name, Pos: pos}
	if p.tok == ")" {
		if name != "count" {
			return nil, fmt.Errorf("measure: %s needs an argument at position %d", name, pos)
		}
		p.next()
		return n, nil
	}
	arg, err := p.expr(0, name)
	if err != nil {
		return nil, err
	}
	if p.tok != ")" {
		return nil, p.errorf("expected ) to close %s(", name)
	}
	p.next()
	if arg.Kind == MeasureField {
		arg.Bare = true
	}
	if (name == "count" || name == "count_distinct" || name == "min" || name == "max") && arg.Kind != MeasureField && name != "min" && name != "max" {
		return nil, fmt.Errorf("measure: %s takes a field name at position %d", name, pos)
	}
	hasField := false
	arg.Walk(func(x *MeasureExpr) { hasField = hasField || x.Kind == MeasureField })
	if !hasField {
		return nil, fmt.Errorf("measure: %s needs a field at position %d", name, pos)
	}
	n.L = arg
	return n, nil
}
