package plugins_test

import (
	"io/fs"
	"os"
	"path"
	"sort"
	"testing"

	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/plugins"
	"github.com/formaapp/forma/schema"
)

// builtins are the connector folders FS embeds.
func builtins(t *testing.T) []string {
	t.Helper()
	entries, err := fs.ReadDir(plugins.FS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestEmbedsEveryFolder: every plugin folder beside embed.go is embedded
// (a new connector is not silently left out of the binary), and each one
// is complete: a manifest that parses and names its folder, its script,
// a README and fixtures.
func TestEmbedsEveryFolder(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, e := range entries {
		if _, err := os.Stat(path.Join(e.Name(), "plugin.json")); e.IsDir() && err == nil {
			onDisk = append(onDisk, e.Name())
		}
	}
	embedded := builtins(t)
	sort.Strings(onDisk)
	if len(embedded) != 5 || len(onDisk) != len(embedded) {
		t.Fatalf("embedded %v, on disk %v", embedded, onDisk)
	}
	for i, name := range embedded {
		if onDisk[i] != name {
			t.Fatalf("embedded %v, on disk %v", embedded, onDisk)
		}
		b, err := fs.ReadFile(plugins.FS(), name+"/plugin.json")
		if err != nil {
			t.Fatal(err)
		}
		m, probs := schema.ParseManifest(b)
		if len(probs) > 0 {
			t.Errorf("%s/plugin.json: %v", name, probs)
			continue
		}
		if m.Name != name {
			t.Errorf("%s/plugin.json is named %q", name, m.Name)
		}
		for _, f := range []string{"index.js", "README.md"} {
			if _, err := fs.Stat(plugins.FS(), name+"/"+f); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if fx, _ := fs.Glob(plugins.FS(), name+"/test/*.json"); len(fx) < 3 {
			t.Errorf("%s has %d fixtures, want at least 3", name, len(fx))
		}
	}
}

// TestBuiltinFixtures runs every built-in's test/*.json through the SDK's
// runner, as `forma plugin test plugins/NAME` does.
func TestBuiltinFixtures(t *testing.T) {
	for _, name := range builtins(t) {
		t.Run(name, func(t *testing.T) {
			results, err := plugin.RunTests(name)
			if err != nil {
				t.Fatalf("plugin test %s: %v", name, err)
			}
			fx, _ := fs.Glob(plugins.FS(), name+"/test/*.json")
			if len(results) != len(fx) {
				t.Fatalf("%d results for %d fixtures", len(results), len(fx))
			}
			for _, r := range results {
				if !r.Pass {
					t.Errorf("%s/test/%s.json: %s", name, r.Name, r.Message)
				}
			}
		})
	}
}
