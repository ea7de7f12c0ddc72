package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// pluginFolder writes a plugin folder of version.
func pluginFolder(t *testing.T, version string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "notifier")
	os.MkdirAll(filepath.Join(dir, "test"), 0o755)
	for name, content := range map[string]string{
		"plugin.json": `{"name": "notifier", "version": "` + version + `", "author": "Acme", "description": "Sends a message",
		  "hosts": ["api.example.com"], "secrets": {"type": "object", "properties": {"token": {"type": "string"}}},
		  "actions": [{"name": "send"}]}`,
		"index.js":       "function send(input) { return {ok: true}; }\n",
		"test/send.json": `{"action": "send", "input": {}, "output": {"ok": true}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestPluginCommands: keygen → pack → trust → install → list → remove,
// and what is refused on the way.
func TestPluginCommands(t *testing.T) {
	t.Setenv("FORMA_SECRET_KEY", base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))))
	t.Setenv("FORMA_PLUGIN_KEYS", "")
	t.Setenv("FORMA_PLUGIN_ALLOW_UNSIGNED", "")
	eachDB(t, func(t *testing.T, db []string) {
		cli := func(args ...string) (string, string, int) {
			t.Helper()
			return run(t, "", append(args, db...)...)
		}
		work := t.TempDir()
		prefix := filepath.Join(work, "acme")

		// keygen: two files, the private one 0600, the key id printed.
		out, stderr, code := run(t, "", "plugin", "keygen", "--out", prefix)
		if code != 0 || !strings.Contains(out, "key id ") {
			t.Fatalf("keygen: %d %q %q", code, out, stderr)
		}
		id := strings.Fields(strings.SplitN(out, "\n", 2)[0])[2]
		if st, err := os.Stat(prefix + ".key"); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("private key file: %v %v", st, err)
		}
		if _, _, code := run(t, "", "plugin", "keygen", "--out", prefix); code == 0 {
			t.Fatal("keygen overwrote a key")
		}

		// pack: the zip and its sha256 line.
		zipPath := filepath.Join(work, "notifier-1.0.0.zip")
		out, stderr, code = run(t, "", "plugin", "pack", pluginFolder(t, "1.0.0"), "--key", prefix+".key", "--out", zipPath)
		if code != 0 || !strings.Contains(out, "signed by "+id) {
			t.Fatalf("pack: %d %q %q", code, out, stderr)
		}
		z, _ := os.ReadFile(zipPath)
		sumLine, _ := os.ReadFile(zipPath + ".sha256")
		sum := sha256.Sum256(z)
		if string(sumLine) != hex.EncodeToString(sum[:])+"  notifier-1.0.0.zip\n" {
			t.Fatalf("sha256 file %q", sumLine)
		}
		// Without --out: NAME-VERSION.zip in the working folder.
		wd, _ := os.Getwd()
		os.Chdir(work)
		_, stderr, code = run(t, "", "plugin", "pack", pluginFolder(t, "1.1.0"), "--key", prefix+".key")
		os.Chdir(wd)
		if _, err := os.Stat(filepath.Join(work, "notifier-1.1.0.zip")); code != 0 || err != nil {
			t.Fatalf("pack default name: %d %q %v", code, stderr, err)
		}
		for _, bad := range [][]string{
			{"plugin", "pack", pluginFolder(t, "1.0.0")},                                                                // no key
			{"plugin", "pack", pluginFolder(t, "1.0.0"), "--key", zipPath},                                              // not a key file
			{"plugin", "pack", zipPath, "--key", prefix + ".key"},                                                       // not a folder
			{"plugin", "pack", pluginFolder(t, "bad"), "--key", prefix + ".key", "--out", filepath.Join(work, "x.zip")}, // manifest problems
		} {
			if _, _, code := run(t, "", bad...); code == 0 {
				t.Errorf("%v: accepted", bad)
			}
		}

		// Not yet trusted: refused, exit 1.
		if _, stderr, code := cli("plugin", "install", zipPath); code != 1 || !strings.Contains(stderr, "plugin_untrusted") {
			t.Fatalf("untrusted install: %d %q", code, stderr)
		}
		out, stderr, code = cli("plugin", "trust", prefix+".pub", "--name", "Acme")
		if code != 0 || !strings.Contains(out, id) {
			t.Fatalf("trust: %d %q %q", code, out, stderr)
		}
		out, stderr, code = cli("plugin", "install", zipPath)
		if code != 0 || !strings.Contains(out, "installed notifier 1.0.0 (signed by "+id) {
			t.Fatalf("install: %d %q %q", code, out, stderr)
		}

		// A tampered zip and a folder (without --allow-unsigned) are refused.
		bad := append([]byte(nil), z...)
		bad[len(bad)/3] ^= 1
		badPath := filepath.Join(work, "tampered.zip")
		os.WriteFile(badPath, bad, 0o644)
		if _, stderr, code := cli("plugin", "install", badPath); code != 1 || !strings.Contains(stderr, "plugin_signature") {
			t.Fatalf("tampered: %d %q", code, stderr)
		}
		if _, stderr, code := cli("plugin", "install", badPath, "--allow-unsigned"); code != 1 || !strings.Contains(stderr, "plugin_signature") {
			t.Fatalf("tampered, allow-unsigned: %d %q", code, stderr)
		}
		folder := pluginFolder(t, "1.2.0")
		if _, stderr, code := cli("plugin", "install", folder); code != 1 || !strings.Contains(stderr, "plugin_unsigned") {
			t.Fatalf("folder: %d %q", code, stderr)
		}
		// A manifest with problems: each printed at its pointer.
		os.WriteFile(filepath.Join(folder, "plugin.json"), []byte(`{"name": "Notifier", "version": "1.x", "actions": [{"name": "send"}, {"name": "send"}]}`), 0o644)
		_, stderr, code = cli("plugin", "install", folder, "--allow-unsigned")
		for _, want := range []string{"plugin_invalid", "/name:", "/version:", "/actions/1/name:"} {
			if code != 1 || !strings.Contains(stderr, want) {
				t.Errorf("invalid manifest: %d, no %q in %q", code, want, stderr)
			}
		}
		out, stderr, code = cli("plugin", "install", pluginFolder(t, "1.2.0"), "--allow-unsigned")
		if code != 0 || !strings.Contains(out, "installed notifier 1.2.0 (unsigned") {
			t.Fatalf("folder upgrade: %d %q %q", code, out, stderr)
		}

		// An automation uses it: list shows it, remove is refused naming it.
		eng := openFor(t, db)
		app, probs := schema.Parse([]byte(`{"name": "sales", "entities": [{"id": "e1", "name": "lead", "fields": [{"id": "f1", "name": "title", "type": "text"}]}]}`))
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		app.Automations = []schema.Automation{{Name: "notify_lead", Entity: "lead", Trigger: schema.Trigger{Type: schema.TriggerCreated},
			Actions: []schema.Action{{Type: schema.ActionPlugin, Plugin: "notifier", PluginAction: "send"}}}}
		if _, err := eng.DB.Apply(context.Background(), app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		eng.Close()
		out, stderr, code = cli("plugin", "list")
		if code != 0 || !strings.Contains(out, "notifier") || !strings.Contains(out, "1.2.0") || !strings.Contains(out, "sales/notify_lead") {
			t.Fatalf("list: %d %q %q", code, out, stderr)
		}
		out, _, code = cli("plugin", "list", "--json")
		var list []struct {
			Name   string
			UsedBy []struct{ App, Automation string }
		}
		if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil {
			t.Fatalf("list --json: %v %q", err, out)
		}
		found := false
		for _, p := range list {
			if p.Name == "notifier" && len(p.UsedBy) == 1 && p.UsedBy[0].Automation == "notify_lead" {
				found = true
			}
		}
		if !found {
			t.Fatalf("list --json: %q", out)
		}
		if _, stderr, code := cli("plugin", "remove", "notifier"); code != 1 || !strings.Contains(stderr, "plugin_in_use") || !strings.Contains(stderr, "sales/notify_lead") {
			t.Fatalf("remove in use: %d %q", code, stderr)
		}
		eng = openFor(t, db)
		app.Automations = nil
		if _, err := eng.DB.Apply(context.Background(), app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		eng.Close()
		if out, stderr, code := cli("plugin", "remove", "notifier"); code != 0 || !strings.Contains(out, "removed notifier") {
			t.Fatalf("remove: %d %q %q", code, out, stderr)
		}
		if _, stderr, code := cli("plugin", "remove", "notifier"); code != 1 || !strings.Contains(stderr, "not_found") {
			t.Fatalf("remove again: %d %q", code, stderr)
		}
		if out, _, _ := cli("plugin", "list"); strings.Contains(out, "notifier") {
			t.Fatalf("still listed: %q", out)
		}
	})
}

// TestPluginEnvironment: malformed plugin settings stop a command.
func TestPluginEnvironment(t *testing.T) {
	for env, val := range map[string]string{"FORMA_SECRET_KEY": "short", "FORMA_PLUGIN_KEYS": "AAAA,not-a-key"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			_, stderr, code := run(t, "", "plugin", "list", "--data", t.TempDir())
			if code == 0 || !strings.Contains(stderr, env) || strings.Contains(stderr, val) && env == "FORMA_SECRET_KEY" {
				t.Fatalf("%d %q", code, stderr)
			}
		})
	}
}
