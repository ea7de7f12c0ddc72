package filter

import (
	"unicode/utf8"
)

// Parse turns src into an AST. Errors are *Error.
//
// Grammar, loosest binding first:
//
//	or      = and { "||" and }
//	and     = unary { "&&" unary }
//	unary   = "!" unary | "(" or ")" | compare
//	compare = name op scalar | name "in" list
//	list    = "[" [ scalar { "," scalar } ] "]" | "(" … ")"
//	scalar  = string | number | true | false | null
func Parse(src string) (Node, error) {
	if len(src) > MaxLength {
		return nil, errorf(MaxLength, "filter is longer than %d bytes", MaxLength)
	}
	if !utf8.ValidString(src) {
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		return nil, errorf(i, "invalid UTF-8")
	}
	p := &parser{lx: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, errorf(0, "empty filter")
	}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		if p.tok.kind == tRParen {
			return nil, errorf(p.tok.pos, "unexpected ) without matching (")
		}
		return nil, errorf(p.tok.pos, "unexpected %s; expected && or ||", p.tok.describe())
	}
	return n, nil
}

type parser struct {
	lx    lexer
	tok   token // current token, not yet consumed
	depth int   // nesting of ( and ! around the current position
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) or() (Node, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	// Loops, not recursion, for chains: a || b || c … costs no stack.
	for p.tok.kind == tOr {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = &Or{Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) and() (Node, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tAnd {
		if err := p.advance(); err != nil {
			return nil, err
		}
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = &And{Left: left, Right: right}
	}
	return left, nil
}

// enter bounds recursion: ( and ! are the only ways to nest, so counting them
// keeps the parser's stack (and Compile's) small whatever the input.
func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return errorf(p.tok.pos, "filter is nested too deeply (more than %d levels of ( and !)", MaxDepth)
	}
	return nil
}

func (p *parser) unary() (Node, error) {
	switch p.tok.kind {
	case tNot:
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		p.depth--
		return &Not{X: x}, nil
	case tLParen:
		open := p.tok.pos
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			if p.tok.kind == tEOF {
				return nil, errorf(open, "missing ) for this (")
			}
			return nil, errorf(p.tok.pos, "unexpected %s; expected &&, || or )", p.tok.describe())
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		p.depth--
		return x, nil
	case tIdent:
		return p.compare()
	case tEOF:
		return nil, errorf(p.tok.pos, "unexpected end of filter; expected a comparison")
	case tString, tNumber, tTrue, tFalse, tNull, tVar:
		return nil, errorf(p.tok.pos, "unexpected %s; a comparison starts with a field name, e.g. amount > 10", p.tok.describe())
	}
	return nil, errorf(p.tok.pos, "unexpected %s; expected a field name, ( or !", p.tok.describe())
}

func (p *parser) compare() (Node, error) {
	c := &Compare{Field: p.tok.text, Pos: p.tok.pos}
	if err := p.advance(); err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tOp, tIn:
		c.Op = p.tok.text
	default:
		return nil, errorf(p.tok.pos, "unexpected %s after %q; expected an operator (= != > >= < <= ~ !~ in)", p.tok.describe(), c.Field)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	var err error
	if c.Op == "in" {
		c.Value, err = p.list()
	} else {
		if p.tok.kind == tLBrack || p.tok.kind == tLParen {
			return nil, errorf(p.tok.pos, "a list needs the in operator, e.g. %s in [\"a\", \"b\"]", c.Field)
		}
		c.Value, err = p.scalar()
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (p *parser) list() (Value, error) {
	var close tokKind
	switch p.tok.kind {
	case tLBrack:
		close = tRBrack
	case tLParen:
		close = tRParen
	default:
		return Value{}, errorf(p.tok.pos, "unexpected %s; in needs a list, e.g. [\"a\", \"b\"]", p.tok.describe())
	}
	open := p.tok.pos
	if err := p.advance(); err != nil {
		return Value{}, err
	}
	v := Value{Kind: List, List: []Value{}}
	if p.tok.kind == close {
		return v, p.advance()
	}
	for {
		if len(v.List) == MaxListLen {
			return Value{}, errorf(p.tok.pos, "list has more than %d items", MaxListLen)
		}
		item, err := p.scalar()
		if err != nil {
			return Value{}, err
		}
		v.List = append(v.List, item)
		switch p.tok.kind {
		case tComma:
			if err := p.advance(); err != nil {
				return Value{}, err
			}
		case close:
			return v, p.advance()
		case tEOF:
			return Value{}, errorf(open, "unterminated list")
		default:
			return Value{}, errorf(p.tok.pos, "unexpected %s in list; expected , or %s", p.tok.describe(), closeText(close))
		}
	}
}

func closeText(k tokKind) string {
	if k == tRParen {
		return ")"
	}
	return "]"
}

func (p *parser) scalar() (Value, error) {
	var v Value
	switch p.tok.kind {
	case tString:
		v = Value{Kind: String, Str: p.tok.str}
	case tNumber:
		v = Value{Kind: Number, Num: p.tok.text}
	case tTrue, tFalse:
		v = Value{Kind: Bool, Bool: p.tok.kind == tTrue}
	case tNull:
		v = Value{Kind: Null}
	case tVar:
		v = Value{Kind: Variable, Str: p.tok.text}
	case tIdent:
		return Value{}, errorf(p.tok.pos, "unexpected %s; the right side must be a value (quote strings, e.g. \"%s\")", p.tok.describe(), p.tok.text)
	case tLBrack, tLParen:
		return Value{}, errorf(p.tok.pos, "unexpected %s; lists cannot be nested", p.tok.describe())
	default:
		return Value{}, errorf(p.tok.pos, "unexpected %s; expected a value", p.tok.describe())
	}
	return v, p.advance()
}
