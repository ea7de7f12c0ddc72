package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInitThenRunTests(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chat")
	if err := Init(dir, "chat"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"plugin.json", "index.js", "test/send.json", "README.md"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("scaffold lacks %s", f)
		}
	}
	res, err := RunTests(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !res[0].Pass || res[0].Name != "send" {
		t.Fatalf("scaffold tests: %+v", res)
	}
	// Init refuses a bad name and a folder with something in it.
	if err := Init(dir, "chat"); err == nil {
		t.Error("Init wrote over a plugin")
	}
	if err := Init(filepath.Join(t.TempDir(), "x"), "Bad_Name"); err == nil {
		t.Error("Init took a bad name")
	}
}

func TestRunTestsFailures(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chat")
	if err := Init(dir, "chat"); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct{ fixture, want string }{
		// The remote got something else than the fixture expects.
		"wrong_json": {`{"action": "send", "settings": {"channel": "sales"}, "secrets": {"token": "t"}, "input": {"text": "hi"},
			"http": [{"expect": {"method": "POST", "url": "https://api.example.com/v1/messages", "json": {"text": "bye"}}, "respond": {"status": 200, "json": {"ok": true, "id": "m1"}}}],
			"output": {"id": "m1"}}`, "/json/text"},
		"wrong_output": {`{"action": "send", "settings": {"channel": "sales"}, "secrets": {"token": "t"}, "input": {"text": "hi"},
			"http": [{"expect": {"url": "https://api.example.com/v1/messages"}, "respond": {"status": 200, "json": {"ok": true, "id": "m1"}}}],
			"output": {"id": "m2"}}`, `/output/id: expected "m2", got "m1"`},
		// No exchange expected: the request is unexpected (and no network is used).
		"unexpected": {`{"action": "send", "settings": {"channel": "sales"}, "secrets": {"token": "t"}, "input": {"text": "hi"}, "output": {}}`,
			"unexpected request POST https://api.example.com/v1/messages"},
		"not_made": {`{"action": "send", "settings": {"channel": "sales"}, "secrets": {"token": "t"}, "input": {"text": "hi"},
			"http": [{"respond": {"status": 200, "json": {"ok": true, "id": "m1"}}}, {"expect": {"url": "https://api.example.com/x"}}]}`,
			"request 2 (any method https://api.example.com/x) was expected but not made"},
		"bad_input":    {`{"action": "send", "settings": {"channel": "sales"}, "secrets": {"token": "t"}, "input": {}}`, "input:"},
		"bad_settings": {`{"action": "send", "settings": {}, "secrets": {"token": "t"}, "input": {"text": "x"}}`, "settings do not match"},
		"unknown_key":  {`{"action": "send", "inputs": {}}`, "unknown field"},
		"no_action":    {`{"action": "nope"}`, "has no action nope"},
		"error_wanted": {`{"action": "send", "settings": {"channel": "sales"}, "secrets": {"token": "t"}, "input": {"text": "hi"},
			"http": [{"respond": {"status": 200, "json": {"ok": true, "id": "m1"}}}], "error": "boom"}`, `expected an error containing "boom"`},
	}
	for name, tc := range cases {
		writeFile(t, filepath.Join(dir, "test", name+".json"), tc.fixture)
	}
	// Passing fixtures beside them: an expected error, a header check.
	writeFile(t, filepath.Join(dir, "test", "remote_error.json"), `{"action": "send", "settings": {"channel": "sales"}, "secrets": {"token": "t"}, "input": {"text": "hi"},
		"http": [{"expect": {"headers": {"authorization": "Bearer t"}}, "respond": {"status": 500, "body": "down"}}], "error": "Example Chat answered 500: down"}`)
	res, err := RunTests(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]TestResult{}
	for _, r := range res {
		got[r.Name] = r
	}
	if !got["send"].Pass || !got["remote_error"].Pass {
		t.Errorf("passing fixtures failed: %+v %+v", got["send"], got["remote_error"])
	}
	for name, tc := range cases {
		r := got[name]
		if r.Pass || !strings.Contains(r.Message, tc.want) {
			t.Errorf("%s: pass %v, message %q, want %q", name, r.Pass, r.Message, tc.want)
		}
	}
}

func TestRunTestsTriggerAndMail(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plugin.json"), `{"name": "form", "version": "1.0.0", "author": "t", "description": "d",
		"hosts": [{"setting": "host"}],
		"settings": {"type": "object", "properties": {"host": {"type": "string"}}},
		"actions": [{"name": "notify", "input": {"type": "object"}}],
		"triggers": [{"name": "submission", "output": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}}]}`)
	writeFile(t, filepath.Join(dir, "index.js"), `
function submission(req) { return req.form.email ? {email: req.form.email, at: ctx.now} : null }
function notify(input) { return mail.send({host: settings.host, port: 587, from: "a@example.com", to: [input.to], subject: "s", text: "t"}) }`)
	os.MkdirAll(filepath.Join(dir, "test"), 0o755)
	writeFile(t, filepath.Join(dir, "test", "form.json"), `{"trigger": "submission", "now": "2026-05-01T10:00:00Z",
		"request": {"method": "POST", "form": {"email": "a@x.com"}}, "items": [{"email": "a@x.com", "at": "2026-05-01T10:00:00Z"}]}`)
	writeFile(t, filepath.Join(dir, "test", "empty.json"), `{"trigger": "submission", "request": {"form": {}}, "items": []}`)
	writeFile(t, filepath.Join(dir, "test", "mail.json"), `{"action": "notify", "settings": {"host": "smtp.example.com"}, "input": {"to": "rep@x.com"},
		"mail": [{"expect": {"host": "smtp.example.com", "port": 587, "to": ["rep@x.com"]}}], "output": {"messageId": "test-1@forma.test"}}`)
	writeFile(t, filepath.Join(dir, "test", "mail_undeclared.json"), `{"action": "notify", "settings": {"host": "other.example.com"}, "input": {"to": "rep@x.com"},
		"mail": [{"expect": {"host": "smtp.example.com"}}], "output": {}}`)
	res, err := RunTests(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		want := r.Name != "mail_undeclared"
		if r.Pass != want {
			t.Errorf("%s: pass %v: %s", r.Name, r.Pass, r.Message)
		}
	}
	if len(res) != 4 {
		t.Errorf("results %+v", res)
	}
}
