package filter

import (
	"errors"
	"strings"
	"testing"
)

// format prints n back as filter source with the fewest parentheses the
// grammar needs, so format(Parse(format(n))) == format(n) and tests can state
// the expected tree as readable source. prec: 0 or, 1 and, 2 unary.
func format(n Node) string { return formatPrec(n, 0) }

func formatPrec(n Node, prec int) string {
	wrap := func(s string, p int) string {
		if p < prec {
			return "(" + s + ")"
		}
		return s
	}
	switch n := n.(type) {
	case *Or:
		// The parser is left-associative, so a right operand of the same
		// operator only arises from explicit parentheses: keep them.
		return wrap(formatPrec(n.Left, 0)+" || "+formatPrec(n.Right, 1), 0)
	case *And:
		return wrap(formatPrec(n.Left, 1)+" && "+formatPrec(n.Right, 2), 1)
	case *Not:
		return "!" + formatPrec(n.X, 2)
	case *Compare:
		return n.Field + " " + n.Op + " " + formatValue(n.Value)
	}
	return "<nil>"
}

func formatValue(v Value) string {
	switch v.Kind {
	case String:
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`, "\r", `\r`)
		return `"` + r.Replace(v.Str) + `"`
	case Number:
		return v.Num
	case Bool:
		if v.Bool {
			return "true"
		}
		return "false"
	case Null:
		return "null"
	case Variable:
		return "@" + v.Str
	case List:
		items := make([]string, len(v.List))
		for i, it := range v.List {
			items[i] = formatValue(it)
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return "<invalid>"
}

func TestParse(t *testing.T) {
	tests := []struct{ src, want string }{
		// precedence: ! binds tighter than &&, && tighter than ||
		{`a = 1`, `a = 1`},
		{`a = 1 && b = 2 || c = 3`, `a = 1 && b = 2 || c = 3`},
		{`a = 1 || b = 2 && c = 3`, `a = 1 || b = 2 && c = 3`},
		{`(a = 1 || b = 2) && c = 3`, `(a = 1 || b = 2) && c = 3`},
		{`a = 1 && (b = 2 || c = 3)`, `a = 1 && (b = 2 || c = 3)`},
		{`a = 1 && (b = 2 && c = 3)`, `a = 1 && (b = 2 && c = 3)`},
		{`!a = 1 && b = 2`, `!a = 1 && b = 2`},
		{`!(a = 1 && b = 2)`, `!(a = 1 && b = 2)`},
		{`!!a = 1`, `!!a = 1`},
		{`((a = 1))`, `a = 1`},
		{`!(!(a = 1))`, `!!a = 1`},
		{`(a = 1) || (b = 2)`, `a = 1 || b = 2`},
		{`amount >= 1000 && (stage = "won" || stage = "lost") && title ~ "acme" && closed_at != null`,
			`amount >= 1000 && (stage = "won" || stage = "lost") && title ~ "acme" && closed_at != null`},
		// every operator
		{`a != 1`, `a != 1`},
		{`a > 1`, `a > 1`},
		{`a >= 1`, `a >= 1`},
		{`a < 1`, `a < 1`},
		{`a <= 1`, `a <= 1`},
		{`a ~ "x"`, `a ~ "x"`},
		{`a !~ "x"`, `a !~ "x"`},
		{`a in [1, 2]`, `a in [1, 2]`},
		{`a in ("won", 'lost')`, `a in ["won", "lost"]`},
		{`a in []`, `a in []`},
		{`a in ()`, `a in []`},
		{`a in [true, false, "x", -1.5]`, `a in [true, false, "x", -1.5]`},
		// literals
		{`a = "s"`, `a = "s"`},
		{`a = 's'`, `a = "s"`},
		{`a = ""`, `a = ""`},
		{`a = -12.50`, `a = -12.50`},
		{`a = 0`, `a = 0`},
		{`a = 007`, `a = 007`},
		{`a = 123456789012345678901234567890.000000001`, `a = 123456789012345678901234567890.000000001`},
		{`a = true`, `a = true`},
		{`a = false`, `a = false`},
		{`a = null`, `a = null`},
		// escapes
		{`a = "q\"q"`, `a = "q\"q"`},
		{`a = 'it\'s'`, `a = "it's"`},
		{`a = "it's"`, `a = "it's"`},
		{`a = 'say "hi"'`, `a = "say \"hi\""`},
		{`a = "\\"`, `a = "\\"`},
		{`a = "\n\t\r\/"`, `a = "\n\t\r/"`},
		{`a = "\u00e9\u00C9"`, `a = "éÉ"`},
		{`a = "\ud83d\ude00"`, `a = "😀"`},
		{`a = "héllo 😀"`, `a = "héllo 😀"`},
		{"a = \"two\nlines\"", `a = "two\nlines"`},
		// whitespace anywhere, or nowhere
		{"  a>=1&&b<2  ", `a >= 1 && b < 2`},
		{"\n\ta\r\n=\t1\n", `a = 1`},
		{`a in[1,2]`, `a in [1, 2]`},
		{`!(a=1)||b!~'x'`, `!a = 1 || b !~ "x"`},
		{`a=-1`, `a = -1`},
		// names
		{`a_1b = 1`, `a_1b = 1`},
		{`created_at >= "2024-01-01" && owner = "u1" && version > 3 && id = "x"`,
			`created_at >= "2024-01-01" && owner = "u1" && version > 3 && id = "x"`},
		{`nullable = 1 && truth = 2 && inside = 3`, `nullable = 1 && truth = 2 && inside = 3`},
	}
	for _, tt := range tests {
		n, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		if got := format(n); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.src, got, tt.want)
		}
	}
}

func TestParseTree(t *testing.T) {
	// format hides the exact tree shape; check one fully.
	n, err := Parse(`a = 1 || !b in ["x"] && c ~ 'y'`)
	if err != nil {
		t.Fatal(err)
	}
	or, ok := n.(*Or)
	if !ok {
		t.Fatalf("root is %T, want *Or", n)
	}
	a := or.Left.(*Compare)
	if a.Field != "a" || a.Op != "=" || a.Value.Kind != Number || a.Value.Num != "1" || a.Pos != 0 {
		t.Errorf("left = %+v", a)
	}
	and := or.Right.(*And)
	b := and.Left.(*Not).X.(*Compare)
	if b.Field != "b" || b.Op != "in" || b.Value.Kind != List || len(b.Value.List) != 1 ||
		b.Value.List[0].Kind != String || b.Value.List[0].Str != "x" || b.Pos != 10 {
		t.Errorf("b = %+v", b)
	}
	c := and.Right.(*Compare)
	if c.Field != "c" || c.Op != "~" || c.Value.Str != "y" || c.Pos != 24 {
		t.Errorf("c = %+v", c)
	}
	n, _ = Parse(`x = true && y = false`)
	if v := n.(*And).Left.(*Compare).Value; v.Kind != Bool || !v.Bool {
		t.Errorf("true = %+v", v)
	}
	if v := n.(*And).Right.(*Compare).Value; v.Kind != Bool || v.Bool {
		t.Errorf("false = %+v", v)
	}
}

func TestParseErrors(t *testing.T) {
	nest := func(open string, n int) string { return strings.Repeat(open, n) + "a = 1" }
	list := func(n int) string { return "a in [" + strings.Repeat("1,", n-1) + "1]" }
	tests := []struct {
		src  string
		pos  int
		want string // substring of the message
	}{
		{``, 0, "empty filter"},
		{"  \n ", 0, "empty filter"},
		{`a = "abc`, 4, "unterminated string"},
		{`a = 'abc\'`, 4, "unterminated string"},
		{`a = "abc\`, 8, "unterminated string"},
		{`a = "\x41"`, 5, `invalid escape \x`},
		{`a = "\u12"`, 5, `invalid \u escape`},
		{`a = "\u12zz"`, 5, `invalid \u escape`},
		{`a = "\ud800"`, 5, "unpaired surrogate"},
		{`a = "\ud800\u0041"`, 5, "unpaired surrogate"},
		{`a = "\udc00"`, 5, "unpaired surrogate"},
		{`a = "\u0000"`, 5, "NUL"},
		{"a = \"x\x00\"", 6, "NUL"},
		{"a = \"\xff\"", 5, "invalid UTF-8"},
		{`a = 1 b = 2`, 6, `unexpected name "b"; expected && or ||`},
		{`a = 1 && b = 2 c`, 15, `unexpected name "c"`},
		{`a = 1)`, 5, "unexpected ) without matching ("},
		{`(a = 1`, 0, "missing ) for this ("},
		{`(a = 1 b = 2)`, 7, `unexpected name "b"; expected &&, || or )`},
		{`()`, 1, `unexpected ")"`},
		{`a = 1 &&`, 8, "unexpected end of filter"},
		{`a = 1 || || b = 2`, 9, `unexpected "||"`},
		{`!`, 1, "unexpected end of filter"},
		{`a`, 1, "expected an operator"},
		{`a 1`, 2, "expected an operator"},
		{`a =`, 3, "expected a value"},
		{`a = = 1`, 4, `unexpected "="; expected a value`},
		{`a == 1`, 3, `unexpected "="`},
		{`= 1`, 0, `unexpected "="`},
		{`"a" = 1`, 0, "a comparison starts with a field name"},
		{`1 = a`, 0, "a comparison starts with a field name"},
		{`null = a`, 0, "a comparison starts with a field name"},
		{`a = b`, 4, "the right side must be a value"},
		{`Title = 1`, 0, `invalid name "Title"`},
		{`_a = 1`, 0, `invalid name "_a"`},
		{`a = TRUE`, 4, `invalid name "TRUE"`},
		{`ti"tle = 1`, 2, "unterminated string"},
		{`ti"tle" = 1`, 2, `unexpected string "tle"`},
		{"`title` = 1", 0, "unexpected character"},
		{`title = 'x'' OR ''1''=''1'`, 11, `unexpected string ' OR '`},
		{`a = 1 & b = 2`, 6, `did you mean "&&"`},
		{`a = 1 | b = 2`, 6, `did you mean "||"`},
		{`a = 1 #`, 6, `unexpected character '#'`},
		{`a = 1; drop table x`, 5, `unexpected character ';'`},
		{`a = 1.`, 4, "invalid number"},
		{`a = .5`, 4, `unexpected character '.'`},
		{`a = 1e5`, 4, `invalid number "1e5"`},
		{`a = 1.2.3`, 4, `invalid number "1.2.3"`},
		{`a = 12abc`, 4, `invalid number "12abc"`},
		{`a = -`, 4, "invalid number"},
		{`a = - 1`, 4, "invalid number"},
		{`a = [1]`, 4, "a list needs the in operator"},
		{`a = (1)`, 4, "a list needs the in operator"},
		{`a in 1`, 5, "in needs a list"},
		{`a in "x"`, 5, "in needs a list"},
		{`a in [1 2]`, 8, "expected , or ]"},
		{`a in (1]`, 7, "expected , or )"},
		{`a in [1,`, 8, "unexpected end of filter; expected a value"},
		{`a in [1`, 5, "unterminated list"},
		{`a in [1,]`, 8, "expected a value"},
		{`a in [[1]]`, 6, "lists cannot be nested"},
		{`a in [b]`, 6, "the right side must be a value"},
		{strings.Repeat(" ", MaxLength+1), MaxLength, "longer than 4096 bytes"},
		{strings.Repeat("(", 10000), MaxLength, "longer than 4096 bytes"},
		{nest("(", MaxDepth+1), MaxDepth, "nested too deeply"},
		{nest("!", MaxDepth+1), MaxDepth, "nested too deeply"},
		{nest("!(", MaxDepth), MaxDepth, "nested too deeply"},
		{nest("(", 2000), MaxDepth, "nested too deeply"},
		{nest("!", 4000), MaxDepth, "nested too deeply"},
		{list(MaxListLen + 1), 6 + 2*MaxListLen, "more than 500 items"},
	}
	for _, tt := range tests {
		n, err := Parse(tt.src)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Parse(%q) = %v, %v; want *Error", clip(tt.src), n, err)
			continue
		}
		if fe.Pos != tt.pos || !strings.Contains(fe.Message, tt.want) {
			t.Errorf("Parse(%q) error = %q at %d; want %q at %d", clip(tt.src), fe.Message, fe.Pos, tt.want, tt.pos)
		}
	}
}

func TestParseLimits(t *testing.T) {
	ok := []string{
		strings.Repeat("(", MaxDepth) + "a = 1" + strings.Repeat(")", MaxDepth),
		strings.Repeat("!", MaxDepth) + "a = 1",
		strings.Repeat("!(", MaxDepth/2) + "a = 1" + strings.Repeat(")", MaxDepth/2),
		"a in [" + strings.Repeat("1,", MaxListLen-1) + "1]",
		// long flat chains are not nesting
		strings.Repeat("a = 1 && ", 400) + "a = 1",
		strings.Repeat("a = 1 || ", 400) + "a = 1",
		// exactly MaxLength bytes
		`a = "` + strings.Repeat("x", MaxLength-6) + `"`,
	}
	for _, src := range ok {
		if _, err := Parse(src); err != nil {
			t.Errorf("Parse(%q): %v", clip(src), err)
		}
	}
}

func TestErrorString(t *testing.T) {
	_, err := Parse(`a = "x`)
	if got, want := err.Error(), "filter: unterminated string at position 4"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
