package template

import (
	"encoding/json"
	"errors"
	"github.com/formaapp/forma/templates"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// eachTemplate runs fn as a subtest for every built-in template, with its
// template.json and its assembled document.
func eachTemplate(t *testing.T, fn func(t *testing.T, name string, info *Info, doc []byte)) {
	t.Helper()
	names, err := Names(templates.FS())
	if err != nil || len(names) == 0 {
		t.Fatalf("names %v %v", names, err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			info, err := Read(templates.FS(), name)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := Document(templates.FS(), name)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, name, info, doc)
		})
	}
}

// sameJSON fails t unless a and b are the same JSON value (key order and
// spacing aside).
func sameJSON(t *testing.T, what string, a, b []byte) {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: first: %v", what, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: second: %v", what, err)
	}
	if !reflect.DeepEqual(x, y) {
		t.Fatalf("%s: the documents differ\n%s\n----\n%s", what, a, b)
	}
}

// Writing a built-in template's document out and reading the folder back
// gives the same document, with its parts and scripts in their own files.
func TestWriteRoundTripBuiltins(t *testing.T) {
	eachTemplate(t, func(t *testing.T, name string, info *Info, doc []byte) {
		dir := t.TempDir()
		if err := Write(dir, *info, doc); err != nil {
			t.Fatal(err)
		}
		back, err := Document(os.DirFS(dir), ".")
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, name, doc, back)
		again, err := Read(os.DirFS(dir), ".")
		if err != nil || !reflect.DeepEqual(again, info) {
			t.Fatalf("template.json: %+v %v, want %+v", again, err, info)
		}
		// Readable parts: one file per list, a .js file per script.
		for _, f := range []string{"app/00-app.json", "app/10-entities.json", "app/20-roles.json", "app/80-dashboards.json"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		js, _ := filepath.Glob(filepath.Join(dir, "scripts", "*.js"))
		orig, _ := fs.Glob(templates.FS(), name+"/scripts/*.js")
		if len(js) != len(orig) {
			t.Errorf("%d scripts written, the template has %d", len(js), len(orig))
		}
		b, _ := os.ReadFile(filepath.Join(dir, "app", "00-app.json"))
		if !strings.Contains(string(b), info.Labels["zh-CN"]) {
			t.Errorf("00-app.json does not show the Chinese label as text:\n%s", b)
		}
	})
}

// A changed app — an empty list, an unknown list key, an object, an inline
// script next to file scripts, text with <, > and & — comes back equal, and
// writing it over an older export drops the parts the app no longer has
// while the folder's other files stay.
func TestWriteRoundTripChanged(t *testing.T) {
	doc := []byte(`{
	  "name": "shop", "label": "店铺 <Shop> & co", "version": 7,
	  "settings": {"scriptTimeoutMs": 500},
	  "entities": [{"id": "e1", "name": "item", "fields": [{"id": "f1", "name": "title", "type": "text"}]}],
	  "forms": [],
	  "widgets2": [{"a": 1}],
	  "scripts": {"price": "export function f(r) { return r.a > 1 && r.b < 2 }", "Bad-Name": "x"}
	}`)
	dir := t.TempDir()
	info := Info{Name: "shop", App: "shop", Labels: map[string]string{"en": "Shop"}}
	if err := Write(dir, info, doc); err != nil {
		t.Fatal(err)
	}
	back, err := Document(os.DirFS(dir), ".")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "changed", doc, back)
	if b, err := os.ReadFile(filepath.Join(dir, "scripts", "price.js")); err != nil || !strings.Contains(string(b), "r.a > 1 && r.b < 2") {
		t.Fatalf("price.js: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "app", "90-widgets2.json")); err != nil {
		t.Fatal(err)
	}

	// The folder is kept in a repository with a README and a recipe.
	for _, f := range []string{"README.md", "sample.json"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	smaller := []byte(`{"name": "shop", "label": "Shop", "entities": [{"id": "e1", "name": "item", "fields": []}]}`)
	if err := Write(dir, info, smaller); err != nil {
		t.Fatal(err)
	}
	back, err = Document(os.DirFS(dir), ".")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "rewritten", smaller, back)
	for _, f := range []string{"README.md", "sample.json"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || string(b) != "keep" {
			t.Errorf("%s: %q %v", f, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "scripts", "price.js")); !os.IsNotExist(err) {
		t.Errorf("price.js of the older export is still there: %v", err)
	}
}

// Bad input writes nothing.
func TestWriteRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		info Info
		doc  string
	}{
		{"malformed", Info{Name: "x", App: "x"}, `{"name": `},
		{"not an object", Info{Name: "x", App: "x"}, `["name"]`},
		{"null", Info{Name: "x", App: "x"}, `null`},
		{"scripts not strings", Info{Name: "x", App: "x"}, `{"name": "x", "scripts": {"a": 1}}`},
		{"no name", Info{App: "x"}, `{"name": "x"}`},
		{"no app", Info{Name: "x"}, `{"name": "x"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if err := Write(dir, c.info, []byte(c.doc)); err == nil {
				t.Fatal("written")
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("the folder was made: %v", err)
			}
		})
	}
}

func TestList(t *testing.T) {
	ls, err := List(templates.FS())
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].Name != "pipeline" || ls[1].Name != "store-sales" {
		t.Fatalf("%+v", ls)
	}
	for _, l := range ls {
		if l.Dir != l.Name || l.App == "" || l.Labels["zh-CN"] == "" || l.Labels["en"] == "" {
			t.Errorf("%+v", l.Info)
		}
		if l.Picture != nil && l.PictureType == "" {
			t.Errorf("%s: a picture without a type", l.Name)
		}
	}

	good := fstest.MapFS{
		"a/template.json": {Data: []byte(`{"name": "a", "app": "a", "labels": {"en": "A"}, "picture": "p.svg"}`)},
		"a/p.svg":         {Data: []byte(`<svg/>`)},
	}
	ls, err = List(good)
	if err != nil || len(ls) != 1 || string(ls[0].Picture) != "<svg/>" || ls[0].PictureType != "image/svg+xml" {
		t.Fatalf("%+v %v", ls, err)
	}
	for _, pic := range []string{"../b/p.svg", "p.gif", ".p.svg", "sub/p.svg", "missing.svg"} {
		bad := fstest.MapFS{
			"a/template.json": {Data: []byte(`{"name": "a", "app": "a", "picture": "` + pic + `"}`)},
			"b/p.svg":         {Data: []byte(`<svg/>`)},
			"a/sub/p.svg":     {Data: []byte(`<svg/>`)},
		}
		if _, err := List(bad); err == nil {
			t.Errorf("picture %q taken", pic)
		}
	}
	broken := fstest.MapFS{"a/template.json": {Data: []byte(`{"name": "a", "app": "a", "extra": 1}`)}}
	if _, err := List(broken); err == nil {
		t.Error("a template.json with an unknown key was listed")
	}
}

func TestFind(t *testing.T) {
	if d, err := Find(templates.FS(), "pipeline"); err != nil || d != "pipeline" {
		t.Fatalf("%q %v", d, err)
	}
	for _, n := range []string{"", ".", "..", "../pipeline", "pipeline/", "pipeline/app", "Pipeline", "nope", "pipeline\x00"} {
		if _, err := Find(templates.FS(), n); !errors.Is(err, ErrNotFound) {
			t.Errorf("%q: %v", n, err)
		}
	}
}
