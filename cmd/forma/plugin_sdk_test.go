package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPluginInitAndTest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "chat")
	if out, errOut, code := run(t, "", "plugin", "init", "chat", "--dir", dir); code != 0 || !strings.Contains(out, "wrote plugin chat") {
		t.Fatalf("init: %d %q %q", code, out, errOut)
	}
	out, errOut, code := run(t, "", "plugin", "test", dir)
	if code != 0 || !strings.Contains(out, "PASS send") || !strings.Contains(out, "1 passed, 0 failed") {
		t.Fatalf("test: %d %q %q", code, out, errOut)
	}
	// A fixture that expects another output fails the run with exit 1.
	bad := `{"action": "send", "settings": {"channel": "sales"}, "secrets": {"token": "t"}, "input": {"text": "hi"},
		"http": [{"respond": {"status": 200, "json": {"ok": true, "id": "m1"}}}], "output": {"id": "other"}}`
	if err := os.WriteFile(filepath.Join(dir, "test", "bad.json"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code = run(t, "", "plugin", "test", dir)
	if code != 1 || !strings.Contains(out, "FAIL bad") || !strings.Contains(out, `/output/id: expected "other", got "m1"`) || !strings.Contains(out, "PASS send") {
		t.Errorf("failing fixture: %d %q", code, out)
	}
	// Init refuses a folder with something in it; test refuses a folder without a plugin.
	if _, _, code := run(t, "", "plugin", "init", "chat", "--dir", dir); code != 2 {
		t.Errorf("init over a plugin: exit %d", code)
	}
	if _, _, code := run(t, "", "plugin", "test", t.TempDir()); code != 2 {
		t.Errorf("test of an empty folder: exit %d", code)
	}
}
