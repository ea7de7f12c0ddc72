// Package strictjson holds the rules every JSON body read by Forma obeys
// beyond JSON's syntax: its text is valid UTF-8 without NUL characters and
// without lone UTF-16 surrogate escapes, and no object names a key twice.
//
// encoding/json accepts all of these silently: invalid UTF-8 and a lone
// "\ud800" become U+FFFD, and of two equal keys the last one wins. What it
// would store is then not what the client sent, and PostgreSQL refuses a NUL
// in text and jsonb outright. Check finds the first such thing with its JSON
// pointer, so a caller can refuse the body with a clear 422.
//
// The package is a leaf (stdlib only) so that schema (app documents) and
// the engine (records, accounts, tokens) apply one rule.
package strictjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Error is the first thing in a JSON text that Check refuses.
type Error struct {
	// Pointer is the JSON pointer (RFC 6901) of the string or key at fault;
	// "" is the whole text.
	Pointer string
	Message string
}

func (e *Error) Error() string {
	if e.Pointer == "" {
		return e.Message
	}
	return e.Pointer + ": " + e.Message
}

// What Check says about each refusal; Error.Pointer says where.
const (
	msgNUL       = `holds a NUL character (\u0000), which cannot be stored`
	msgControl   = "holds a raw control character; escape it (\\n, \\t, \\u001f)"
	msgSurrogate = "holds the escape %s, a lone UTF-16 surrogate that is no character"
	msgUTF8      = "holds bytes that are not valid UTF-8 (at byte %d of the body)"
	msgDuplicate = "duplicate key %q: a key may appear only once in an object"
)

// manyKeys is the number of keys after which an object's duplicates are
// found through a map instead of by comparing with every earlier key.
const manyKeys = 16

type frame struct {
	object   bool
	index    int    // array: the current element
	key      []byte // object: the current key, unescaped
	keysFrom int    // object: where its keys start in checker.keys
	set      map[string]struct{}
}

type checker struct {
	data  []byte
	stack []frame
	keys  [][]byte // keys of the open objects, innermost last
}

// Check reports the first string or key of data that holds invalid UTF-8
// (overlong forms and encoded surrogates included), a NUL character (raw or
// \u0000), a raw control character or a lone surrogate escape, and the
// first object that repeats a key (keys compare after unescaping, so "a"
// and "\u0061" are the same key). It returns nil or an *Error.
//
// data should be a JSON text that encoding/json accepted: Check does not
// report syntax errors (on malformed input it returns some answer and never
// panics). It allocates only for escaped keys and for objects with many
// keys, so it adds little to decoding.
func Check(data []byte) error {
	c := checkers.Get().(*checker)
	c.data = data
	err := c.run()
	// Forget the body (keys point into it) before the checker is reused.
	clear(c.stack[:cap(c.stack)])
	clear(c.keys[:cap(c.keys)])
	*c = checker{stack: c.stack[:0], keys: c.keys[:0]}
	checkers.Put(c)
	return err
}

// checkers keeps checkers with their stacks, so that checking a body
// allocates nothing in the common case.
var checkers = sync.Pool{New: func() any {
	return &checker{stack: make([]frame, 0, 8), keys: make([][]byte, 0, 32)}
}}

func (c *checker) run() error {
	expectKey := false
	for i := 0; i < len(c.data); {
		switch c.data[i] {
		case '{':
			c.stack = append(c.stack, frame{object: true, keysFrom: len(c.keys)})
			expectKey = true
			i++
		case '[':
			c.stack = append(c.stack, frame{keysFrom: len(c.keys)})
			expectKey = false
			i++
		case '}', ']':
			if n := len(c.stack); n > 0 {
				c.keys = c.keys[:c.stack[n-1].keysFrom]
				c.stack = c.stack[:n-1]
			}
			expectKey = false
			i++
		case ',':
			if n := len(c.stack); n > 0 {
				top := &c.stack[n-1]
				if top.object {
					expectKey = true
				} else {
					top.index++
				}
			}
			i++
		case '"':
			isKey := expectKey && len(c.stack) > 0
			end, escaped, err := c.scanString(i, isKey)
			if err != nil {
				return err
			}
			if isKey {
				if err := c.addKey(c.data[i:end], escaped); err != nil {
					return err
				}
				expectKey = false
			}
			i = end
		default: // white space, ':', numbers, true, false, null
			i++
		}
	}
	return nil
}

// scanString checks the string that starts with the quote at data[start]
// and returns the index after its closing quote and whether it holds
// escapes.
func (c *checker) scanString(start int, isKey bool) (end int, escaped bool, err error) {
	d := c.data
	i := start + 1
	for i < len(d) {
		b := d[i]
		if plain[b] {
			i++
			continue
		}
		switch {
		case b == '"':
			return i + 1, escaped, nil
		case b == '\\':
			escaped = true
			if i+1 >= len(d) {
				return len(d), escaped, nil
			}
			if d[i+1] != 'u' {
				i += 2
				continue
			}
			r, ok := hex4(d, i+2)
			if !ok {
				i += 2
				continue
			}
			switch {
			case r == 0:
				return 0, escaped, c.fail(start, isKey, msgNUL)
			case r >= 0xD800 && r < 0xDC00: // a high surrogate needs a low one next
				if lo, ok := hex4(d, i+8); ok && d[i+6] == '\\' && d[i+7] == 'u' && lo >= 0xDC00 && lo < 0xE000 {
					i += 12
					continue
				}
				return 0, escaped, c.fail(start, isKey, fmt.Sprintf(msgSurrogate, d[i:i+6]))
			case r >= 0xDC00 && r < 0xE000:
				return 0, escaped, c.fail(start, isKey, fmt.Sprintf(msgSurrogate, d[i:i+6]))
			}
			i += 6
		case b == 0:
			return 0, escaped, c.fail(start, isKey, msgNUL)
		case b < 0x20:
			return 0, escaped, c.fail(start, isKey, msgControl)
		case b < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size <= 1 {
				return 0, escaped, c.fail(start, isKey, fmt.Sprintf(msgUTF8, i))
			}
			i += size
		}
	}
	return len(d), escaped, nil
}

// plain marks the bytes a string holds as they are: printable ASCII other
// than the quote and the backslash.
var plain = func() (t [256]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// hex4 reads the four hex digits of a \u escape at d[at:].
func hex4(d []byte, at int) (rune, bool) {
	if at+4 > len(d) {
		return 0, false
	}
	var r rune
	for _, b := range d[at : at+4] {
		switch {
		case b >= '0' && b <= '9':
			r = r<<4 | rune(b-'0')
		case b >= 'a' && b <= 'f':
			r = r<<4 | rune(b-'a'+10)
		case b >= 'A' && b <= 'F':
			r = r<<4 | rune(b-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// addKey records the key quoted (quotes included) as the current key of the
// innermost object, refusing it when the object already has it.
func (c *checker) addKey(quoted []byte, escaped bool) error {
	top := &c.stack[len(c.stack)-1]
	var key []byte
	if len(quoted) >= 2 && quoted[len(quoted)-1] == '"' {
		key = quoted[1 : len(quoted)-1]
	} else {
		key = quoted[1:] // unterminated: malformed input
	}
	if escaped {
		var s string
		if json.Unmarshal(quoted, &s) == nil {
			key = []byte(s)
		}
	}
	top.key = key
	dup := false
	if top.set != nil {
		_, dup = top.set[string(key)]
		top.set[string(key)] = struct{}{}
	} else {
		own := c.keys[top.keysFrom:]
		for _, k := range own {
			if bytes.Equal(k, key) {
				dup = true
				break
			}
		}
		if len(own) >= manyKeys {
			top.set = make(map[string]struct{}, 2*manyKeys)
			for _, k := range own {
				top.set[string(k)] = struct{}{}
			}
			top.set[string(key)] = struct{}{}
			c.keys = c.keys[:top.keysFrom]
		} else {
			c.keys = append(c.keys, key)
		}
	}
	if dup {
		return &Error{Pointer: c.pointer(), Message: fmt.Sprintf(msgDuplicate, string(key))}
	}
	return nil
}

// fail is the error for the string that starts at data[start]: a key's
// problem is reported at the key, a value's at the value.
func (c *checker) fail(start int, isKey bool, msg string) error {
	if isKey {
		// The key is not read yet: name it by its raw text, made
		// printable, so the pointer itself is valid UTF-8.
		end := start + 1
		for end < len(c.data) && c.data[end] != '"' {
			if c.data[end] == '\\' {
				end++
			}
			end++
		}
		raw := c.data[start+1 : min(end, len(c.data))]
		c.stack[len(c.stack)-1].key = []byte(printable(raw))
	}
	return &Error{Pointer: c.pointer(), Message: msg}
}

// printable shows raw key bytes in a pointer: invalid UTF-8 and control
// characters as Go escapes, so the pointer tells where without carrying
// the bytes that were refused.
func printable(raw []byte) string {
	if utf8.Valid(raw) && bytes.IndexFunc(raw, func(r rune) bool { return r < 0x20 }) < 0 {
		return string(raw)
	}
	q := strconv.QuoteToGraphic(string(raw))
	return q[1 : len(q)-1]
}

var ptrEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// pointer is the JSON pointer of the current position: each open object's
// current key and each open array's current index.
func (c *checker) pointer() string {
	var b strings.Builder
	for _, f := range c.stack {
		b.WriteByte('/')
		if f.object {
			b.WriteString(ptrEscaper.Replace(string(f.key)))
		} else {
			b.WriteString(strconv.Itoa(f.index))
		}
	}
	return b.String()
}
