package records

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/formaapp/forma/schema"
)

// typicalBody is a record body of the size sales apps send: a dozen
// fields, some text, a decimal, a multiselect and a small json value.
var typicalBody = []byte(`{"title": "Renewal — Acme Trading 广州", "notes": "Called on Tuesday; wants the 3-year plan with onboarding.\nFollow up after the budget meeting.",
 "qty": 12, "amount": "18450.50", "done": false, "due": "2026-12-15", "at": "2026-12-06T09:30:00+08:00",
 "stage": "won", "tags": ["a", "vip"], "email": "buyer@acme.example", "phone": "+86 20 1234 5678",
 "site": "https://acme.example/", "meta": {"source": "fair", "score": 87, "contacts": ["Li", "Émile"]}}`)

func BenchmarkDecodeBody(b *testing.B) {
	b.SetBytes(int64(len(typicalBody)))
	for b.Loop() {
		if _, err := decodeBody(typicalBody); err != nil {
			b.Fatal(err)
		}
	}
}

// decodeBody refuses what encoding/json would silently alter, with the
// JSON pointer of the string or key at fault.
func TestDecodeBodyStrict(t *testing.T) {
	for in, want := range map[string]struct {
		status  int
		pointer string
	}{
		`{"title": "a\u0000b"}`:                {422, "/title"},
		"{\"title\": \"a\xffb\"}":              {422, "/title"},
		"{\"title\": \"\xc0\x80\"}":            {422, "/title"},
		"{\"title\": \"\xed\xa0\x80\"}":        {422, "/title"},
		`{"title": "\ud800"}`:                  {422, "/title"},
		`{"title": "a", "title": "b"}`:         {422, "/title"},
		`{"meta": {"x": 1, "x": 2}}`:           {422, "/meta/x"},
		`{"tags": ["a", "\u0000"]}`:            {422, "/tags/1"},
		"{\"title\": \"a\x00b\"}":              {400, ""}, // a raw NUL is not JSON
		`{"title": "a"} {"title": "b"}`:        {400, ""},
		`["title"]`:                            {400, ""},
		`{"title": "emoji \ud83d\ude00 fine"}`: {0, ""},
	} {
		obj, err := decodeBody([]byte(in))
		if want.status == 0 {
			if err != nil || obj["title"] != "emoji 😀 fine" {
				t.Errorf("%q: %v %v", in, obj, err)
			}
			continue
		}
		var re *Error
		if !errors.As(err, &re) || re.Status != want.status {
			t.Errorf("%q: %v, want a %d", in, err, want.status)
			continue
		}
		if want.pointer != "" && (len(re.Details) != 1 || re.Details[0].Path != want.pointer) {
			t.Errorf("%q: details %v, want one at %s", in, re.Details, want.pointer)
		}
	}
}

// FuzzDecodeBody: the record body decoder never panics, and what it
// accepts is a JSON object whose every key and string is valid UTF-8
// without NUL, with no key twice in one object, and that says what was
// sent (no U+FFFD that the body did not hold).
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{
		string(typicalBody), `{}`, `{"a": 1, "a": 2}`, `{"a": {"b": 1, "\u0062": 2}}`,
		`{"t": "\ud800"}`, `{"t": "\ud83d\ude00"}`, "{\"t\": \"\xed\xa0\x80\"}", "{\"t\": \"\xc0\x80\"}",
		`{"t": "\u0000"}`, "{\"t\": \"\x00\"}", "{\"t\xff\": 1}", `{"n": 1e400}`, `[1]`, `{"a": [{"b": [{}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		obj, err := decodeBody(body)
		if err != nil {
			var re *Error
			if !errors.As(err, &re) || (re.Status != 400 && re.Status != 422) {
				t.Fatalf("%q: %v, want a 400 or 422", body, err)
			}
			return
		}
		if obj == nil {
			t.Fatalf("%q: accepted as no object", body)
		}
		// A NUL escape is checked in the decoded strings (checkText): the
		// body's text may hold an escaped backslash before "u0000", which
		// is no NUL (the fuzzer found that this check once read it as one).
		if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
			t.Fatalf("accepted %q", body)
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case string:
				checkText(t, body, x)
			case []any:
				for _, e := range x {
					walk(e)
				}
			case map[string]any:
				for k, e := range x {
					checkText(t, body, k)
					walk(e)
				}
			}
		}
		walk(obj)
		// No key twice: the keys the decoder kept are all the keys sent.
		if n := countKeys(body); n != totalKeys(obj) {
			t.Fatalf("accepted %q: %d keys sent, %d kept", body, n, totalKeys(obj))
		}
	})
}

func checkText(t *testing.T, body []byte, s string) {
	t.Helper()
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		t.Fatalf("accepted %q holding %q", body, s)
	}
	if strings.ContainsRune(s, utf8.RuneError) && !bytes.Contains(body, []byte("\uFFFD")) && !bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) {
		t.Fatalf("accepted %q as %q: a U+FFFD the body did not hold", body, s)
	}
}

func totalKeys(v any) int {
	n := 0
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			n += totalKeys(e)
		}
	case map[string]any:
		for _, e := range x {
			n += 1 + totalKeys(e)
		}
	}
	return n
}

// countKeys counts the keys in a JSON text by reading its tokens.
func countKeys(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	type level struct {
		object bool
		key    bool // the next string is a key
	}
	var stack []level
	n := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		top := len(stack) - 1
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				if top >= 0 && stack[top].object {
					stack[top].key = true
				}
				stack = append(stack, level{object: tok == '{', key: tok == '{'})
			default:
				stack = stack[:top]
				if top-1 >= 0 && stack[top-1].object {
					stack[top-1].key = true
				}
			}
			continue
		}
		if top >= 0 && stack[top].object {
			if stack[top].key {
				n++
			}
			stack[top].key = !stack[top].key
		}
	}
}

// Values that do not come from a body (a script's, a default's) meet the
// same rule in coerce: no NUL, no invalid UTF-8, in text and in json.
func TestCoerceRefusesUnstorableText(t *testing.T) {
	text := &schema.Field{Name: "t", Type: schema.Text}
	js := &schema.Field{Name: "j", Type: schema.JSON}
	for _, c := range []struct {
		f *schema.Field
		v any
	}{
		{text, "a\x00b"}, {text, "a\xffb"}, {text, "\xed\xa0\x80"},
		{js, "a\x00b"}, {js, "a\xffb"}, {js, []any{"ok", "\xc0\x80"}},
		{js, map[string]any{"k\xff": 1}}, {js, map[string]any{"k": map[string]any{"\x00": 1}}},
	} {
		if v, err := coerce(c.f, c.v); err == nil {
			t.Errorf("%s %q: accepted as %v", c.f.Type, c.v, v)
		}
	}
	if _, err := coerce(js, map[string]any{"k": "广州 😀"}); err != nil {
		t.Errorf("valid json refused: %v", err)
	}
}
