package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// readInboundVia runs readInbound on one request and answers what it read
// (or its error's status and code).
func readInboundVia(t *testing.T, target, ctype string, body []byte, hdr map[string]string) (*inboundRequest, *Error) {
	t.Helper()
	var (
		got  *inboundRequest
		gerr *Error
	)
	app := fiber.New(fiber.Config{Immutable: true})
	app.Post("/api/in/:app/:endpoint", func(c *fiber.Ctx) error {
		in, err := readInbound(c)
		if err != nil {
			gerr = toAPIError(err)
			return c.SendStatus(gerr.Status)
		}
		got = in
		return c.SendStatus(202)
	})
	req := httptest.NewRequest("POST", "http://forma.test"+target, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return got, gerr
}

// A urlencoded form: the token from the form is taken and removed from
// the form and the raw body; headers are lower-cased without cookies, the
// session or the token; repeated fields are joined.
func TestReadInboundForm(t *testing.T) {
	body := "name=Ann&_token=t0k&email=ann%40example.com&interest=a&interest=b&_redirect=https%3A%2F%2Fexample.com%2Fthanks"
	in, e := readInboundVia(t, "/api/in/kit/website?src=ad&token=", "application/x-www-form-urlencoded", []byte(body),
		map[string]string{"Cookie": "s=1", "Authorization": "Bearer x", "X-Custom": "v", "User-Agent": "ua"})
	if e != nil {
		t.Fatalf("refused: %v", e)
	}
	if in.token != "t0k" {
		t.Errorf("token %q", in.token)
	}
	if in.req.Form["name"] != "Ann" || in.req.Form["email"] != "ann@example.com" || in.req.Form["interest"] != "a,b" {
		t.Errorf("form %v", in.req.Form)
	}
	if _, ok := in.req.Form["_token"]; ok || strings.Contains(in.req.Body, "t0k") {
		t.Errorf("the token reaches the trigger: %v %q", in.req.Form, in.req.Body)
	}
	if !strings.Contains(in.req.Body, "name=Ann") || !strings.Contains(in.req.Body, "interest=b") {
		t.Errorf("body %q", in.req.Body)
	}
	for _, h := range []string{"cookie", "authorization", "x-forma-token"} {
		if _, ok := in.req.Headers[h]; ok {
			t.Errorf("header %s reaches the trigger", h)
		}
	}
	if in.req.Headers["x-custom"] != "v" || in.req.Headers["user-agent"] != "ua" {
		t.Errorf("headers %v", in.req.Headers)
	}
	if in.req.Query["src"] != "ad" || len(in.req.Query) != 1 {
		t.Errorf("query %v", in.req.Query)
	}
	if in.redirect != "https://example.com/thanks" || in.req.Method != "POST" || in.req.IP == "" {
		t.Errorf("redirect %q method %q ip %q", in.redirect, in.req.Method, in.req.IP)
	}
}

// The token's sources in order: the header, ?token=, the form field; none
// of them reaches the trigger.
func TestReadInboundTokenSources(t *testing.T) {
	in, _ := readInboundVia(t, "/api/in/a/b?token=q", "application/x-www-form-urlencoded", []byte("_token=f"), map[string]string{"X-Forma-Token": "h"})
	if in.token != "h" || len(in.req.Query) != 0 || len(in.req.Form) != 0 {
		t.Errorf("header first: %q %v %v", in.token, in.req.Query, in.req.Form)
	}
	in, _ = readInboundVia(t, "/api/in/a/b?token=q", "application/x-www-form-urlencoded", []byte("_token=f"), nil)
	if in.token != "q" {
		t.Errorf("query second: %q", in.token)
	}
	in, _ = readInboundVia(t, "/api/in/a/b", "application/json", []byte(`{"name": "Bo", "n": [1, 2]}`), nil)
	if in.token != "" || in.req.Form != nil {
		t.Errorf("json: %q %v", in.token, in.req.Form)
	}
	if j, _ := json.Marshal(in.req.JSON); string(j) != `{"n":[1,2],"name":"Bo"}` {
		t.Errorf("json %s", j)
	}
}

// Multipart fields are read; the raw multipart text (with the token) is
// not handed on; a file part is refused.
func TestReadInboundMultipart(t *testing.T) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "李雷")
	mw.WriteField("_token", "t0k")
	mw.Close()
	in, e := readInboundVia(t, "/api/in/a/b", mw.FormDataContentType(), buf.Bytes(), nil)
	if e != nil || in.token != "t0k" || in.req.Form["name"] != "李雷" || in.req.Body != "" || len(in.req.Form) != 1 {
		t.Fatalf("multipart: %v %+v", e, in)
	}
	buf.Reset()
	mw = multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("cv", "cv.pdf")
	io.WriteString(w, "%PDF")
	mw.Close()
	if _, e := readInboundVia(t, "/api/in/a/b", mw.FormDataContentType(), buf.Bytes(), nil); e == nil || e.Status != 415 {
		t.Errorf("file part: %v", e)
	}
}

// Bad bodies are refused with a 4xx before anything runs.
func TestReadInboundRefusals(t *testing.T) {
	cases := []struct {
		what, ctype string
		body        string
		hdr         map[string]string
		status      int
	}{
		{"NUL in a form value", "application/x-www-form-urlencoded", "name=a%00b", nil, 400},
		{"invalid UTF-8 in a form value", "application/x-www-form-urlencoded", "name=%ff", nil, 400},
		{"bad escape", "application/x-www-form-urlencoded", "name=%zz", nil, 400},
		{"raw NUL", "text/plain", "a\x00b", nil, 400},
		{"raw invalid UTF-8", "text/plain", "a\xffb", nil, 400},
		{"bad JSON", "application/json", `{"a": `, nil, 400},
		{"two JSON values", "application/json", `{} {}`, nil, 400},
		{"duplicate JSON key", "application/json", `{"a": 1, "a": 2}`, nil, 422},
		{"NUL in JSON", "application/json", `{"a": "\u0000"}`, nil, 422},
		{"gzip", "application/json", `{}`, map[string]string{"Content-Encoding": "gzip"}, 415},
		{"too large", "text/plain", strings.Repeat("x", MaxInboundBytes+1), nil, 413},
		{"too many fields", "application/x-www-form-urlencoded", manyFields(maxInboundFields + 1), nil, 413},
		{"multipart without boundary", "multipart/form-data", "x", nil, 400},
		{"bad header", "text/plain", "x", map[string]string{"X-Bad": "a\xffb"}, 400},
	}
	for _, c := range cases {
		_, e := readInboundVia(t, "/api/in/a/b", c.ctype, []byte(c.body), c.hdr)
		if e == nil || e.Status != c.status {
			t.Errorf("%s: %v, want %d", c.what, e, c.status)
		}
	}
}

func manyFields(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = "f" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26) + "=1"
	}
	return strings.Join(parts, "&")
}

// Only an absolute http(s) _redirect is followed.
func TestRedirectTarget(t *testing.T) {
	for raw, want := range map[string]string{
		"https://example.com/thanks?x=1": "https://example.com/thanks?x=1",
		"http://example.com":             "http://example.com",
		"javascript:alert(1)":            "",
		"/thanks":                        "",
		"//evil.example/":                "",
		"https://user:pw@example.com/":   "",
		"https://exa mple.com/\r\nX: y":  "",
		"":                               "",
	} {
		if got := redirectTarget(raw); got != want {
			t.Errorf("%q → %q, want %q", raw, got, want)
		}
	}
}
