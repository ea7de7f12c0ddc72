package schema

import (
	"reflect"
	"strings"
	"testing"
)

func TestFormulaRefs(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{"amount * probability / 100", []string{"amount", "probability"}},
		{"", nil},
		{"42", nil},
		{"round(amount, 2)", []string{"amount"}},
		{"round( amount , 2 )", []string{"amount"}},
		{"account.industry == 'retail' ? amount : 0", []string{"account.industry", "amount"}},
		{"account . name", []string{"account.name"}},
		{"concat('it''s', \"x\", title)", []string{"title"}},
		{`'amount \' still string' + "probability \" too" + qty`, []string{"qty"}},
		{"a + a + b", []string{"a", "b"}},
		{"true && !false || x == null", []string{"x"}},
		{"typeof x == 'number' && undefined != NaN", []string{"x"}},
		{"Math.max(a, b) + Math.PI", []string{"a", "b"}},
		{"amount.toFixed(2)", []string{"amount"}},
		{"account.name.toUpperCase()", []string{"account.name"}},
		{"(a + b).toFixed(2)", []string{"a", "b"}},
		{"'abc'.length + x", []string{"x"}},
		{"1.5e+3 * .5 + 0x1F - 2E-2 * rate", []string{"rate"}},
		{"a.b.c", []string{"a.b.c"}},
		{"items[0] + [1, 2][1]", []string{"items"}},
		{"x > 1 ? 'big' : \"small\"", []string{"x"}},
	}
	for _, c := range cases {
		got, err := FormulaRefs(c.expr)
		if err != nil {
			t.Errorf("FormulaRefs(%q): unexpected error %v", c.expr, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("FormulaRefs(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}

func TestFormulaRefsErrors(t *testing.T) {
	cases := []struct{ expr, msg string }{
		{"round(amount * 2", `'(' opened at column 6 is never closed`},
		{"amount * 2)", `')' at column 11 has no opening '('`},
		{"(a]", `']' at column 3 closes '(' opened at column 1`},
		{"'abc", "unterminated string starting at column 1"},
		{`x + "abc`, "unterminated string starting at column 5"},
		{"a; drop()", `unexpected character ';' at column 2`},
		{"{a: 1}", `unexpected character '{'`},
		{"`x${a}`", "template strings"},
		{"a #b", `unexpected character '#' at column 3`},
		{"account.", "expected a name after"},
		{"+ .", "unexpected '.'"},
		{"é + 1", `unexpected character 'é' at column 1`},
	}
	for _, c := range cases {
		_, err := FormulaRefs(c.expr)
		if err == nil {
			t.Errorf("FormulaRefs(%q): no error, want %q", c.expr, c.msg)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("FormulaRefs(%q) error %q, want it to contain %q", c.expr, err, c.msg)
		}
	}
}

func TestFormulaCalls(t *testing.T) {
	cases := []struct {
		expr string
		want []string
	}{
		{"round(amount, 2) + round(x) + max(a, b)", []string{"round", "max"}},
		{"amount.toFixed(2) + Math.max(a, b) + 'x'.toUpperCase()", nil},
		{"typeof(x) == 'number'", nil},
		{"roud(amount)", []string{"roud"}},
		{"concat(upper(stage), ' ', coalesce(x, 0))", []string{"concat", "upper", "coalesce"}},
	}
	for _, c := range cases {
		got, err := FormulaCalls(c.expr)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("FormulaCalls(%q) = %q, %v; want %q", c.expr, got, err, c.want)
		}
	}
}
