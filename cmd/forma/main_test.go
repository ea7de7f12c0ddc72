package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// run executes the CLI with args and returns stdout, stderr and the exit code.
func run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRoot(&out, &errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	code := 0
	var ee exitError
	switch {
	case errors.As(err, &ee):
		code = ee.code
	case err != nil:
		errOut.WriteString(err.Error())
		code = 2
	}
	return out.String(), errOut.String(), code
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateReportsEveryProblem(t *testing.T) {
	bad := writeFile(t, "bad.json", `{"name": "crm", "entities": [
	 {"name": "deal", "fields": [
	   {"id": "f1", "name": "title", "type": "txt"},
	   {"id": "f2", "name": "account", "type": "ref", "entity": "nowhere"},
	   {"id": "f3", "name": "select", "type": "text"}
	 ]}]}`)
	_, stderr, code := run(t, "", "app", "validate", bad)
	if code != 1 {
		t.Fatalf("exit code = %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"/entities/0/fields/0/type", "/entities/0/fields/1/entity", "/entities/0/fields/2/name"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %s:\n%s", want, stderr)
		}
	}

	good := writeFile(t, "good.json", `{"name": "crm", "entities": [{"name": "deal", "fields": [{"id": "f1", "name": "title", "type": "text"}]}]}`)
	if out, stderr, code := run(t, "", "app", "validate", good); code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("valid document: code %d, out %q, err %q", code, out, stderr)
	}

	// Scripts and formulas are compiled too.
	logic := writeFile(t, "logic.json", `{"name": "crm", "entities": [{"name": "deal", "fields": [
	  {"id": "f1", "name": "amount", "type": "decimal"},
	  {"id": "f2", "name": "net", "type": "formula", "expr": "roud(amount, 2)"}],
	  "hooks": {"beforeSave": "deal#beforeSave"}}],
	  "scripts": {"deal": "function beforeSave(record) {\n  if (\n}"}}`)
	_, stderr, code = run(t, "", "app", "validate", logic)
	if code != 1 || !strings.Contains(stderr, `/scripts/deal: line 3`) {
		t.Errorf("logic problems: code %d, stderr:\n%s", code, stderr)
	}

	malformed := writeFile(t, "malformed.json", `{"name": "crm", "entities": [`)
	if _, _, code := run(t, "", "app", "validate", malformed); code != 1 {
		t.Fatalf("malformed JSON: exit code %d, want 1", code)
	}
	if _, _, code := run(t, "", "app", "validate", filepath.Join(t.TempDir(), "missing.json")); code != 2 {
		t.Fatalf("missing file: exit code %d, want 2", code)
	}
}

func TestPlanApplyAndAdminCreate(t *testing.T) {
	data := t.TempDir()
	v1 := writeFile(t, "v1.json", `{"name": "crm", "entities": [{"name": "deal", "fields": [
	  {"id": "f1", "name": "title", "type": "text"}, {"id": "f2", "name": "amount", "type": "integer"}]}]}`)
	v2 := writeFile(t, "v2.json", `{"name": "crm", "entities": [{"name": "deal", "fields": [
	  {"id": "f1", "name": "name", "type": "text"}]}]}`)

	out, stderr, code := run(t, "", "app", "plan", "--data", data, v1)
	if code != 0 || !strings.Contains(out, "create entity deal") {
		t.Fatalf("plan: code %d out %q err %q", code, out, stderr)
	}
	if out, stderr, code = run(t, "", "app", "apply", "--data", data, v1); code != 0 || !strings.Contains(out, "version 0 → 1") {
		t.Fatalf("apply v1: code %d out %q err %q", code, out, stderr)
	}
	// v2 renames title and drops amount: refused without the flag.
	if out, _, code = run(t, "", "app", "apply", "--data", data, v2); code != 1 || !strings.Contains(out, "refused") {
		t.Fatalf("destructive apply without flag: code %d out %q", code, out)
	}
	if out, stderr, code = run(t, "", "app", "apply", "--data", data, "--allow-destructive", v2); code != 0 || !strings.Contains(out, "rename field title to name") {
		t.Fatalf("apply v2: code %d out %q err %q", code, out, stderr)
	}

	if _, stderr, code = run(t, "", "admin", "create", "--data", data, "--email", "boss@example.com"); code != 2 || !strings.Contains(stderr, "required") {
		t.Fatalf("admin create without password: code %d err %q", code, stderr)
	}
	if out, stderr, code = run(t, "s3cret-pass\n", "admin", "create", "--data", data, "--email", "boss@example.com", "--password-stdin"); code != 0 || !strings.Contains(out, "created admin boss@example.com") {
		t.Fatalf("admin create: code %d out %q err %q", code, out, stderr)
	}
	if strings.Contains(out, "s3cret-pass") {
		t.Fatal("the password was printed")
	}
	if _, stderr, code = run(t, "", "admin", "create", "--data", data, "--email", "boss@example.com", "--password", "another-pass"); code != 2 || !strings.Contains(stderr, "exists") {
		t.Fatalf("duplicate admin: code %d err %q", code, stderr)
	}
	if _, stderr, code = run(t, "", "admin", "create", "--data", data, "--email", "x@example.com", "--password", "short"); code != 2 {
		t.Fatalf("short password: code %d err %q", code, stderr)
	}
}

// serve on an empty data folder starts, prints the URL and a one-time setup
// token, and the token creates the first admin.
func TestServeFirstStart(t *testing.T) {
	t.Setenv("FORMA_ADMIN_EMAIL", "")
	t.Setenv("FORMA_ADMIN_PASSWORD", "")
	t.Setenv("FORMA_DB", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var out syncBuffer
	root := newRoot(&out, &out)
	root.SetArgs([]string{"serve", "--addr", addr, "--data", filepath.Join(t.TempDir(), "fresh")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	}()

	var token string
	for i := 0; i < 100 && token == ""; i++ {
		time.Sleep(50 * time.Millisecond)
		if m := regexp.MustCompile(`"token": "(fx_[A-Za-z0-9_-]+)"`).FindStringSubmatch(out.String()); m != nil {
			token = m[1]
		}
	}
	if token == "" || !strings.Contains(out.String(), "http://"+addr) {
		t.Fatalf("serve printed:\n%s", out.String())
	}
	// A newcomer is pointed at the templates: the gallery and the command.
	if s := out.String(); !strings.Contains(s, "gallery") || !strings.Contains(s, "forma template install pipeline --sample 1000") {
		t.Errorf("the banner names no template:\n%s", s)
	}
	var resp *http.Response
	for i := 0; i < 100; i++ {
		resp, err = http.Post("http://"+addr+"/api/auth/setup", "application/json",
			strings.NewReader(`{"token": "`+token+`", "email": "first@example.com", "password": "first-pass-1"}`))
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("setup: %d", resp.StatusCode)
	}
	resp, err = http.Post("http://"+addr+"/api/auth/login", "application/json",
		strings.NewReader(`{"email": "first@example.com", "password": "first-pass-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login after setup: %d", resp.StatusCode)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
