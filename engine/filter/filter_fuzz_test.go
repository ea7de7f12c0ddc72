package filter

import (
	"errors"
	"hash/fnv"
	"regexp"
	"strings"
	"testing"

	"github.com/formaapp/forma/schema"
)

// anyResolver accepts every name, giving it a type derived from the name so
// the fuzzer reaches every type's code path, and records the column SQL it
// handed out.
type anyResolver struct{ cols map[string]bool }

func (r anyResolver) Column(name string) (Column, bool) {
	h := fnv.New32a()
	h.Write([]byte(name))
	c := Column{SQL: `"` + name + `"`, Type: schema.FieldTypes[h.Sum32()%uint32(len(schema.FieldTypes))]}
	r.cols[c.SQL] = true
	return c, true
}

// sqlToken matches the pieces Compile may emit besides column SQL and the
// ESCAPE clause; sqlWords is the whole vocabulary of words.
var (
	sqlToken = regexp.MustCompile(`^(?:\s+|[A-Za-z_][A-Za-z_.]*|[0-9]+|<>|<=|>=|@>|[()?,=<>])`)
	sqlWords = map[string]bool{
		"AND": true, "OR": true, "NOT": true, "COALESCE": true, "FALSE": true, "IS": true, "NULL": true,
		"IN": true, "LIKE": true, "ILIKE": true, "EXISTS": true, "SELECT": true, "FROM": true,
		"json_each": true, "WHERE": true, "json_each.value": true, "CAST": true, "AS": true, "jsonb": true,
		FoldFunc: true,
	}
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`amount >= 1000 && (stage = "won" || stage = "lost") && title ~ "acme" && closed_at != null`,
		`a = 1`,
		`a != "x"`,
		`!(a in ["x", 'y']) || b !~ "%_\\"`,
		`a in ()`,
		`a in [1, -2.5, true, false]`,
		`a in [null]`,
		`tags ~ "vip" && tags !~ "a"`,
		`a = "\u00e9\ud83d\ude00"`,
		`a = "\ud800"`,
		`a = "x\" OR 1=1 --"`,
		`a = '\'; DROP TABLE t; --'`,
		`ti"tle = 1`,
		`a = "abc`,
		`a = 1 b = 2`,
		`((((a = 1))))`,
		`!!!!a = 1`,
		`a = 1.`,
		`a = -`,
		`a = 1e5`,
		`a = null && b != null`,
		`a > null`,
		`a ~ 1`,
		"a\t=\n1\r",
		`a = "é"`,
		"a = \"\xff\"",
		`a = 1 & b`,
		`a = 1 || || b`,
		`)`,
		``,
		strings.Repeat("(", 40) + "a = 1" + strings.Repeat(")", 40),
		"a in [" + strings.Repeat("1,", 499) + "1]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := Parse(src)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) || fe.Pos < 0 || fe.Pos > len(src) {
				t.Fatalf("Parse(%q) error %#v: want *Error with 0 <= Pos <= %d", src, err, len(src))
			}
			return
		}
		if n == nil {
			t.Fatalf("Parse(%q) = nil, nil", src)
		}

		// Printing the AST and parsing it again gives the same AST.
		if s := format(n); len(s) <= MaxLength {
			n2, err := Parse(s)
			if err != nil {
				t.Fatalf("Parse(%q) ok but its print %q fails: %v", src, s, err)
			}
			if s2 := format(n2); s2 != s {
				t.Fatalf("round trip of %q: %q then %q", src, s, s2)
			}
		}

		for _, d := range []string{"sqlite", "postgres"} {
			r := anyResolver{cols: map[string]bool{}}
			where, args, err := Compile(n, r, nil, d)
			if err != nil {
				var fe *Error
				if !errors.As(err, &fe) || fe.Pos < 0 || fe.Pos > len(src) {
					t.Fatalf("%s: Compile(%q) error %#v: want *Error with 0 <= Pos <= %d", d, src, err, len(src))
				}
				continue
			}
			if q := strings.Count(where, "?"); q != len(args) {
				t.Fatalf("%s: Compile(%q) = %q with %d placeholders but %d args", d, src, where, q, len(args))
			}
			// Nothing from the literals may reach the SQL: once column SQL
			// and the fixed ESCAPE clause are removed, only the fixed
			// vocabulary is left, and in particular no quote or backslash.
			rest := strings.ReplaceAll(where, `ESCAPE '\'`, "")
			for c := range r.cols {
				rest = strings.ReplaceAll(rest, c, "")
			}
			if strings.ContainsAny(rest, `'"\`) {
				t.Fatalf("%s: Compile(%q) = %q: stray quote", d, src, where)
			}
			for rest != "" {
				tok := sqlToken.FindString(rest)
				if tok == "" || (tok[0] >= 'A' && tok[0] <= 'z' && !sqlWords[tok]) {
					t.Fatalf("%s: Compile(%q) = %q: unexpected SQL at %q", d, src, where, rest)
				}
				rest = rest[len(tok):]
			}
		}
	})
}
