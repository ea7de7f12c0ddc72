package schema

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// formulaLiterals are identifiers that are values, and formulaOperators
// identifiers that are operators: neither is ever a field.
var (
	formulaLiterals  = map[string]bool{"true": true, "false": true, "null": true, "undefined": true, "NaN": true, "Infinity": true}
	formulaOperators = map[string]bool{"typeof": true, "instanceof": true, "in": true, "new": true}
	formulaGlobals   = map[string]bool{"Math": true, "Date": true, "Number": true, "String": true, "JSON": true,
		"Object": true, "Array": true, "Boolean": true, "parseInt": true, "parseFloat": true, "isNaN": true, "isFinite": true}
)

// FormulaRefs returns the field references of a formula expression, each once,
// in the order they first appear: "amount" for a field of the same record,
// "account.industry" for a field of the record that the ref field "account"
// points at (deeper chains such as "a.b.c" are returned as written so the
// caller can refuse them). A method call on a field reads the field:
// "amount.toFixed(2)" refers to "amount".
//
// The syntax is that of a JavaScript expression: identifiers, numbers, strings
// in '…' or "…" (skipped), operators + - * / % < > = ! & | ? : , ^ ~,
// parentheses and brackets. A name followed by "(" is a function call, not a
// field ("round(amount, 2)"); the literals true, false, null, undefined, NaN
// and Infinity, the operators typeof, instanceof, in and new, and the
// JavaScript globals Math, Date, Number, String, JSON, Object, Array,
// Boolean, parseInt, parseFloat, isNaN and isFinite ("Math.PI",
// "Math.max(a, b)") are not fields either. Members of a computed value ("(a).b",
// "'x'.length") are skipped.
//
// The error reports unbalanced parentheses or brackets, an unterminated
// string, or a character that has no place in an expression (";", "{", "`",
// "#", …), with its 1-based column.
func FormulaRefs(expr string) ([]string, error) {
	refs, _, err := scanFormula(expr)
	return refs, err
}

// FormulaCalls returns the names of the functions a formula expression
// calls directly ("round" in "round(amount, 2)"), each once, in order;
// method calls ("name.toUpperCase()") and globals' members
// ("Math.max(a, b)") are not included.
func FormulaCalls(expr string) ([]string, error) {
	_, calls, err := scanFormula(expr)
	return calls, err
}

func scanFormula(expr string) (refs, calls []string, err error) {
	type open struct {
		ch  byte
		pos int
	}
	var (
		seen     = map[string]bool{}
		called   = map[string]bool{}
		stack    []open
		n        = len(expr)
		i        int
		hasValue bool // the previous token ends a value, so "." is member access
	)
	col := func(pos int) int { return utf8.RuneCountInString(expr[:pos]) + 1 }
	skipSpace := func(j int) int {
		for j < n && isSpace(expr[j]) {
			j++
		}
		return j
	}
	readIdent := func(j int) (string, int) {
		k := j
		for k < n && isIdentPart(expr[k]) {
			k++
		}
		return expr[j:k], k
	}
	for i < n {
		c := expr[i]
		switch {
		case isSpace(c):
			i++
		case c == '\'' || c == '"':
			j := i + 1
			closed := false
			for j < n {
				if expr[j] == '\\' {
					j += 2
					continue
				}
				if expr[j] == '\n' {
					break
				}
				if expr[j] == c {
					closed = true
					break
				}
				j++
			}
			if !closed {
				return nil, nil, ferr(i, "unterminated string starting at column %d", col(i))
			}
			i = j + 1
			hasValue = true
		case c == '`':
			return nil, nil, ferr(i, "template strings (`) are not supported at column %d; use '…' or \"…\"", col(i))
		case isDigit(c) || (c == '.' && i+1 < n && isDigit(expr[i+1])):
			j := i + 1
			for j < n {
				d := expr[j]
				if isIdentPart(d) || d == '.' {
					j++
				} else if (d == '+' || d == '-') && (expr[j-1] == 'e' || expr[j-1] == 'E') && !strings.HasPrefix(strings.ToLower(expr[i:j]), "0x") {
					j++
				} else {
					break
				}
			}
			i = j
			hasValue = true
		case isIdentStart(c):
			name, j := readIdent(i)
			chain := []string{name}
			for {
				k := skipSpace(j)
				if k < n && expr[k] == '.' {
					k = skipSpace(k + 1)
					if k < n && isIdentStart(expr[k]) {
						var part string
						part, j = readIdent(k)
						chain = append(chain, part)
						continue
					}
					return nil, nil, ferr(k, "expected a name after %q at column %d", strings.Join(chain, ".")+".", col(k))
				}
				break
			}
			next := skipSpace(j)
			call := next < n && expr[next] == '('
			keyword := len(chain) == 1 && (formulaLiterals[name] || formulaOperators[name])
			if call {
				if len(chain) == 1 && !keyword && !called[name] {
					called[name] = true
					calls = append(calls, name)
				}
				chain = chain[:len(chain)-1] // the method or function called
			}
			if len(chain) > 0 && !keyword && !formulaGlobals[chain[0]] {
				ref := strings.Join(chain, ".")
				if !seen[ref] {
					seen[ref] = true
					refs = append(refs, ref)
				}
			}
			i = j
			hasValue = !(len(chain) == 1 && formulaOperators[name])
		case c == '.':
			if !hasValue {
				return nil, nil, ferr(i, "unexpected '.' at column %d", col(i))
			}
			k := skipSpace(i + 1)
			if k >= n || !isIdentStart(expr[k]) {
				return nil, nil, ferr(i, "expected a name after '.' at column %d", col(i))
			}
			_, i = readIdent(k)
			hasValue = true
		case c == '(' || c == '[':
			stack = append(stack, open{c, i})
			i++
			hasValue = false
		case c == ')' || c == ']':
			want := byte('(')
			if c == ']' {
				want = '['
			}
			if len(stack) == 0 {
				return nil, nil, ferr(i, "unbalanced parentheses: %q at column %d has no opening %q", c, col(i), want)
			}
			top := stack[len(stack)-1]
			if top.ch != want {
				return nil, nil, ferr(i, "unbalanced parentheses: %q at column %d closes %q opened at column %d", c, col(i), top.ch, col(top.pos))
			}
			stack = stack[:len(stack)-1]
			i++
			hasValue = true
		case strings.IndexByte("+-*/%<>=!&|?:,^~", c) >= 0:
			i++
			hasValue = false
		default:
			r, _ := utf8.DecodeRuneInString(expr[i:])
			return nil, nil, ferr(i, "unexpected character %q at column %d", r, col(i))
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		closing := ")"
		if top.ch == '[' {
			closing = "]"
		}
		return nil, nil, ferr(top.pos, "unbalanced parentheses: %q opened at column %d is never closed with %q", top.ch, col(top.pos), closing)
	}
	return refs, calls, nil
}

// FormulaError is a formula that does not scan, at Pos, the byte offset
// of the character at fault (an editor marks it there).
type FormulaError struct {
	Pos     int
	Message string
}

func (e *FormulaError) Error() string { return e.Message }

func ferr(pos int, format string, args ...any) *FormulaError {
	return &FormulaError{Pos: pos, Message: fmt.Sprintf(format, args...)}
}

func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || c == '$' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) }
