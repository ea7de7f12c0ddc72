package filter

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF    tokKind = iota
	tIdent          // field name
	tString         // quoted string; str holds the decoded value
	tNumber         // text holds the literal as written
	tTrue
	tFalse
	tNull
	tIn
	tOp // comparison operator other than in; text holds it
	tAnd
	tOr
	tNot
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tVar // @name; text holds the name without @
)

type token struct {
	kind tokKind
	pos  int
	text string // source text of the token (raw, quotes included, for strings)
	str  string // decoded value of a string
}

// describe names a token for error messages.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tIdent:
		return fmt.Sprintf("name %q", t.text)
	case tString:
		return "string " + clip(t.text)
	case tNumber:
		return "number " + clip(t.text)
	}
	return strconv.Quote(t.text)
}

// clip keeps error messages short when the offending token is long.
func clip(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

var keywords = map[string]tokKind{"true": tTrue, "false": tFalse, "null": tNull, "in": tIn}

// lexer produces tokens on demand. It assumes src is valid UTF-8 (Parse checks).
type lexer struct {
	src string
	pos int
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && isSpace(l.src[l.pos]) {
		l.pos++
	}
	start := l.pos
	if start == len(l.src) {
		return token{kind: tEOF, pos: start}, nil
	}
	c := l.src[start]
	tok := func(k tokKind, n int) (token, error) {
		l.pos += n
		return token{kind: k, pos: start, text: l.src[start:l.pos]}, nil
	}
	two := func(s string) bool { return strings.HasPrefix(l.src[start:], s) }
	switch {
	case two("&&"):
		return tok(tAnd, 2)
	case two("||"):
		return tok(tOr, 2)
	case two("!="), two("!~"), two(">="), two("<="):
		return tok(tOp, 2)
	case c == '=' || c == '>' || c == '<' || c == '~':
		return tok(tOp, 1)
	case c == '!':
		return tok(tNot, 1)
	case c == '(':
		return tok(tLParen, 1)
	case c == ')':
		return tok(tRParen, 1)
	case c == '[':
		return tok(tLBrack, 1)
	case c == ']':
		return tok(tRBrack, 1)
	case c == ',':
		return tok(tComma, 1)
	case c == '"' || c == '\'':
		return l.str()
	case c == '@':
		l.pos++
		w, err := l.word()
		if err != nil || w.kind != tIdent {
			return token{}, errorf(start, "after @ comes a variable name such as @me")
		}
		return token{kind: tVar, pos: start, text: w.text}, nil
	case c == '-' || isDigit(c):
		return l.number()
	case isWord(c):
		return l.word()
	case c == '&' || c == '|':
		return token{}, errorf(start, "unexpected %q (did you mean %q?)", c, string([]byte{c, c}))
	}
	r, _ := utf8.DecodeRuneInString(l.src[start:])
	return token{}, errorf(start, "unexpected character %q", r)
}

// word scans a field name or keyword. It accepts upper case and a leading
// underscore only to report them clearly rather than as a stray character.
func (l *lexer) word() (token, error) {
	start := l.pos
	for l.pos < len(l.src) && (isWord(l.src[l.pos]) || isDigit(l.src[l.pos])) {
		l.pos++
	}
	w := l.src[start:l.pos]
	if k, ok := keywords[w]; ok {
		return token{kind: k, pos: start, text: w}, nil
	}
	if !validName(w) {
		return token{}, errorf(start, "invalid name %q: names are lower-case letters, digits and _, starting with a letter", clip(w))
	}
	// ref.field follows a reference one hop (store.name ~ "静安").
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		at := l.pos
		for l.pos < len(l.src) && (isWord(l.src[l.pos]) || isDigit(l.src[l.pos])) {
			l.pos++
		}
		f := l.src[at:l.pos]
		if !validName(f) {
			return token{}, errorf(at, "after %s. comes a field of the entity %s points at, e.g. %s.name", w, w, w)
		}
		if l.pos < len(l.src) && l.src[l.pos] == '.' {
			return token{}, errorf(l.pos, "a filter follows one reference only: %s.%s, not further", w, f)
		}
		w += "." + f
	}
	return token{kind: tIdent, pos: start, text: w}, nil
}

func validName(w string) bool {
	if w == "" || w[0] < 'a' || w[0] > 'z' {
		return false
	}
	for i := 1; i < len(w); i++ {
		c := w[i]
		if !(c >= 'a' && c <= 'z' || isDigit(c) || c == '_') {
			return false
		}
	}
	return true
}

// number scans -?digits(.digits)? and keeps its text.
func (l *lexer) number() (token, error) {
	start := l.pos
	if l.src[l.pos] == '-' {
		l.pos++
	}
	digits := func() int {
		n := 0
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
			n++
		}
		return n
	}
	if digits() == 0 {
		return token{}, errorf(start, "invalid number: expected a digit after -")
	}
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		if digits() == 0 {
			return token{}, errorf(start, "invalid number %q: expected a digit after the point", l.src[start:l.pos])
		}
	}
	// 12abc, 1.2.3 or 1e5 are one malformed number, not a number and a name.
	if l.pos < len(l.src) {
		if c := l.src[l.pos]; isWord(c) || c == '.' {
			end := l.pos
			for end < len(l.src) && (isWord(l.src[end]) || isDigit(l.src[end]) || l.src[end] == '.') {
				end++
			}
			return token{}, errorf(start, "invalid number %q", clip(l.src[start:end]))
		}
	}
	return token{kind: tNumber, pos: start, text: l.src[start:l.pos]}, nil
}

// str scans a quoted string, decoding escapes.
func (l *lexer) str() (token, error) {
	start := l.pos
	q := l.src[start]
	l.pos++
	var b strings.Builder
	for {
		if l.pos >= len(l.src) {
			return token{}, errorf(start, "unterminated string")
		}
		c := l.src[l.pos]
		switch {
		case c == q:
			l.pos++
			return token{kind: tString, pos: start, text: l.src[start:l.pos], str: b.String()}, nil
		case c == 0:
			// PostgreSQL text cannot hold NUL; refuse it here for both dialects.
			return token{}, errorf(l.pos, "strings may not contain NUL")
		case c == '\\':
			r, err := l.escape()
			if err != nil {
				return token{}, err
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
}

// escape decodes the escape sequence at l.pos (which holds the backslash).
func (l *lexer) escape() (rune, error) {
	at := l.pos
	if at+1 >= len(l.src) {
		return 0, errorf(at, "unterminated string")
	}
	c := l.src[at+1]
	l.pos += 2
	switch c {
	case '"', '\'', '\\', '/':
		return rune(c), nil
	case 'n':
		return '\n', nil
	case 't':
		return '\t', nil
	case 'r':
		return '\r', nil
	case 'u':
		r, ok := l.hex4()
		if !ok {
			return 0, errorf(at, `invalid \u escape: expected 4 hex digits`)
		}
		if utf16IsHigh(r) {
			// A character outside the BMP is written as a surrogate pair, as in JSON.
			if !strings.HasPrefix(l.src[l.pos:], `\u`) {
				return 0, errorf(at, `invalid \u escape: unpaired surrogate`)
			}
			l.pos += 2
			lo, ok := l.hex4()
			if !ok || !utf16IsLow(lo) {
				return 0, errorf(at, `invalid \u escape: unpaired surrogate`)
			}
			return (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000, nil
		}
		if utf16IsLow(r) {
			return 0, errorf(at, `invalid \u escape: unpaired surrogate`)
		}
		if r == 0 {
			return 0, errorf(at, "strings may not contain NUL")
		}
		return r, nil
	}
	r, _ := utf8.DecodeRuneInString(l.src[at+1:])
	return 0, errorf(at, "invalid escape \\%c", r)
}

func (l *lexer) hex4() (rune, bool) {
	if l.pos+4 > len(l.src) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(l.src[l.pos : l.pos+4]) {
		var d byte
		switch {
		case isDigit(c):
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	l.pos += 4
	return r, true
}

func utf16IsHigh(r rune) bool { return r >= 0xD800 && r < 0xDC00 }
func utf16IsLow(r rune) bool  { return r >= 0xDC00 && r < 0xE000 }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isWord(c byte) bool  { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
