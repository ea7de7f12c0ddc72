package strictjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		in      string
		pointer string // "-" when the text is accepted
		message string // a part of the message
	}{
		{`{"title": "Acme", "qty": 3, "tags": ["a", "b"], "meta": {"x": [1, {"y": null}]}}`, "-", ""},
		{`{"title": "广州汽配 Émile 😀", "esc": "\n\t\"\\\/\u00e9\ud83d\ude00"}`, "-", ""},
		{`"plain"`, "-", ""},
		{`[]`, "-", ""},
		{`{"a": {"b": 1}, "c": {"b": 2}}`, "-", ""}, // the same key in two objects
		{`[{"a": 1}, {"a": 2}]`, "-", ""},
		{`{"a": 1, "b": {"c": 1}, "a": 2}`, "/a", `duplicate key "a"`},
		{`{"a": 1, "\u0061": 2}`, "/a", `duplicate key "a"`},
		{`{"x": {"y": [0, {"k": 1, "k": 2}]}}`, "/x/y/1/k", `duplicate key "k"`},
		{`{"a/b~": 1, "a/b~": 1}`, "/a~1b~0", "duplicate key"},
		{`{"t": "a\u0000b"}`, "/t", "NUL"},
		{"{\"t\": \"a\x00b\"}", "/t", "NUL"},
		{`{"list": ["ok", "\u0000"]}`, "/list/1", "NUL"},
		{`{"a\u0000": 1}`, `/a\u0000`, "NUL"},
		{`{"t": "\ud800"}`, "/t", `\ud800`},
		{`{"t": "\udc00x"}`, "/t", `\udc00`},
		{`{"t": "\ud800\u0041"}`, "/t", `\ud800`},
		{`{"t": "\uD83D"}`, "/t", `\uD83D`},
		{`{"t": "x\ud83d`, "/t", "surrogate"},
		{"{\"t\": \"\xff\"}", "/t", "UTF-8"},
		{"{\"t\": \"\xc0\x80\"}", "/t", "UTF-8"},     // overlong NUL
		{"{\"t\": \"\xe0\x80\xaf\"}", "/t", "UTF-8"}, // overlong "/"
		{"{\"t\": \"\xed\xa0\x80\"}", "/t", "UTF-8"}, // an encoded surrogate
		{"{\"t\": \"\xf4\x90\x80\x80\"}", "/t", "UTF-8"},
		{"{\"k\xff\": 1}", `/k\xff`, "UTF-8"},
		{"{\"t\": \"a\tb\"}", "/t", "control"},
	} {
		err := Check([]byte(c.in))
		if c.pointer == "-" {
			if err != nil {
				t.Errorf("%q: refused: %v", c.in, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: accepted, want a refusal at %s", c.in, c.pointer)
			continue
		}
		if e.Pointer != c.pointer || !strings.Contains(e.Message, c.message) {
			t.Errorf("%q: %q at %q, want %q at %q", c.in, e.Message, e.Pointer, c.message, c.pointer)
		}
	}
}

// An object with many keys switches to a map; duplicates are still found,
// wherever they are.
func TestCheckManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 100 {
		fmt.Fprintf(&b, `"k%d": {"k%d": %d}, `, i, i, i)
	}
	ok := b.String() + `"end": 1}`
	if err := Check([]byte(ok)); err != nil {
		t.Fatalf("100 keys: %v", err)
	}
	for _, dup := range []string{"k0", "k15", "k16", "k99"} {
		err := Check([]byte(b.String() + `"` + dup + `": 1}`))
		var e *Error
		if !errors.As(err, &e) || e.Pointer != "/"+dup {
			t.Errorf("duplicate %s: %v", dup, err)
		}
	}
}

// The texts encoding/json accepts but would alter are refused; the
// decoded value of every text Check accepts re-encodes to what was sent.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a": "b"}`, `{"a": 1, "a": 2}`, `"\ud800"`, "\"\xff\"", `["\u0000"]`, `{"a": {"b": [1, "c"]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Check(data) // never panics, on any input
		if err != nil || !json.Valid(data) {
			return
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		if s := fmt.Sprint(v); strings.ContainsRune(s, 0) || strings.ContainsRune(s, '\uFFFD') && !strings.Contains(string(data), "\uFFFD") && !strings.Contains(strings.ToLower(string(data)), `\ufffd`) {
			t.Fatalf("accepted %q, which decodes to %q", data, s)
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	body := []byte(`{"title": "Renewal — Acme Trading 广州", "notes": "Called on Tuesday; wants the 3-year plan with onboarding.\nFollow up after the budget meeting.",
 "qty": 12, "amount": "18450.50", "done": false, "due": "2026-12-15", "at": "2026-12-06T09:30:00+08:00",
 "stage": "won", "tags": ["a", "vip"], "email": "buyer@acme.example", "phone": "+86 20 1234 5678",
 "site": "https://acme.example/", "meta": {"source": "fair", "score": 87, "contacts": ["Li", "Émile"]}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(body); err != nil {
			b.Fatal(err)
		}
	}
}

// An array inside an object leaves the object's keys as they were.
func TestCheckArrayInObject(t *testing.T) {
	for _, in := range []string{`{"a": [], "b": 1, "a": 2}`, `{"a": 1, "b": [[], {}], "a": 2}`, `{"a": 1, "b": [{"c": 1}], "a": 2}`} {
		var e *Error
		if err := Check([]byte(in)); !errors.As(err, &e) || e.Pointer != "/a" {
			t.Errorf("%s: %v, want a duplicate at /a", in, err)
		}
	}
}
