package main

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/engine/template"
	"github.com/formaapp/forma/templates"
)

// appDocument reads an app's current document from a database (a data
// folder or a PostgreSQL URL) as JSON without its version.
func appDocument(t *testing.T, dbArgs []string, app string) string {
	t.Helper()
	url, dir := "", ""
	if dbArgs[0] == "--db" {
		url = dbArgs[1]
	} else {
		dir = dbArgs[1]
	}
	db, err := store.Open(context.Background(), url, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	doc, err := db.Document(context.Background(), app, 0)
	if err != nil {
		t.Fatalf("%s: %v", app, err)
	}
	doc.Version = 0
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dbFor returns the storage flags of a fresh database of dialect.
func dbFor(t *testing.T, dialect string) []string {
	if dialect == "postgres" {
		return []string{"--db", storetest.PostgresURL(t)}
	}
	return []string{"--data", t.TempDir()}
}

func TestTemplateCommands(t *testing.T) {
	t.Setenv("FORMA_DB", "")
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			d := dbFor(t, dialect)
			with := func(args ...string) []string { return append(args, d...) }

			out, stderr, code := run(t, "", with("template", "list")...)
			if code != 0 || !strings.Contains(out, "pipeline") || !strings.Contains(out, "store-sales") || !strings.Contains(out, "销售管理系统") || strings.Contains(out, "yes") {
				t.Fatalf("list: %d %q %q", code, out, stderr)
			}

			// Refusals: exit 1, a reason, nothing installed.
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"template", "install", "nope"}, "no template"},
				{[]string{"template", "install", "../templates/pipeline"}, "no template"},
				{[]string{"template", "install", "pipeline", "--app", "Bad Name"}, "/app"},
				{[]string{"template", "install", "pipeline", "--app", "x; DROP TABLE _forma_apps"}, "/app"},
				{[]string{"template", "install", "pipeline", "--sample", "-1"}, "sample must be 0 (none) or between 100 and 1000000"},
				{[]string{"template", "install", "pipeline", "--sample", "99"}, "sample must be 0 (none) or between"},
				{[]string{"template", "install", "pipeline", "--sample", "2000000"}, "sample must be 0 (none) or between"},
			} {
				out, stderr, code := run(t, "", with(c.args...)...)
				if code != 1 || !strings.Contains(stderr, c.want) {
					t.Errorf("%v: %d %q %q", c.args, code, out, stderr)
				}
			}
			if out, _, _ := run(t, "", with("template", "list")...); strings.Contains(out, "yes") {
				t.Fatalf("installed after a refusal:\n%s", out)
			}

			out, stderr, code = run(t, "", with("template", "install", "pipeline")...)
			if code != 0 || !strings.Contains(out, "installed template pipeline as app pipeline (version 1)") || !strings.Contains(out, "create entity lead") {
				t.Fatalf("install: %d %q %q", code, out, stderr)
			}
			out, stderr, code = run(t, "", with("template", "install", "pipeline")...)
			if code != 1 || !strings.Contains(stderr, "installed already") || !strings.Contains(stderr, "nothing was changed") {
				t.Fatalf("again: %d %q %q", code, out, stderr)
			}
			if out, _, _ := run(t, "", with("template", "list")...); !strings.Contains(out, "yes") {
				t.Fatalf("list after the install:\n%s", out)
			}
			out, stderr, code = run(t, "", with("template", "install", "pipeline", "--upgrade")...)
			if code != 0 || !strings.Contains(out, "no schema changes") || !strings.Contains(out, "(version 1)") {
				t.Fatalf("upgrade: %d %q %q", code, out, stderr)
			}

			// The app gains a field the template does not have: an upgrade
			// would drop it, and is refused with nothing changed.
			doc, err := template.Document(templates.FS(), "pipeline")
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(doc, &m); err != nil {
				t.Fatal(err)
			}
			for _, e := range m["entities"].([]any) {
				if em := e.(map[string]any); em["name"] == "account" {
					em["fields"] = append(em["fields"].([]any), map[string]any{"id": "f_memo", "name": "memo", "type": "text"})
				}
			}
			changed, _ := json.Marshal(m)
			if out, stderr, code := run(t, "", with("app", "apply", writeFile(t, "changed.json", string(changed)))...); code != 0 {
				t.Fatalf("apply the change: %d %q %q", code, out, stderr)
			}
			out, stderr, code = run(t, "", with("template", "install", "pipeline", "--upgrade")...)
			if code != 1 || !strings.Contains(out, "refused") || !strings.Contains(stderr, "would lose data") {
				t.Fatalf("upgrade dropping a field: %d %q %q", code, out, stderr)
			}
			if !strings.Contains(appDocument(t, d, "pipeline"), `"memo"`) {
				t.Fatal("the field is gone after a refused upgrade")
			}

			// Export, and install the folder on another database.
			dir := filepath.Join(t.TempDir(), "mine")
			out, stderr, code = run(t, "", with("app", "export", "pipeline", "--template", filepath.Join(dir, "crm"))...)
			if code != 0 || !strings.Contains(out, "wrote app pipeline") {
				t.Fatalf("export: %d %q %q", code, out, stderr)
			}
			for _, f := range []string{"template.json", "app/00-app.json", "app/10-entities.json", "scripts/lead.js"} {
				if _, err := os.Stat(filepath.Join(dir, "crm", filepath.FromSlash(f))); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			d2 := dbFor(t, dialect)
			out, stderr, code = run(t, "", append([]string{"template", "install", "crm", "--dir", dir}, d2...)...)
			if code != 0 || !strings.Contains(out, "as app pipeline (version 1)") {
				t.Fatalf("install the export: %d %q %q", code, out, stderr)
			}
			if a, b := appDocument(t, d, "pipeline"), appDocument(t, d2, "pipeline"); a != b {
				t.Fatalf("the app elsewhere differs:\n%s\n----\n%s", a, b)
			}
			if out, stderr, code := run(t, "", with("app", "export", "nope", "--template", filepath.Join(dir, "x"))...); code != 1 || !strings.Contains(stderr, `no app "nope"`) {
				t.Errorf("export of no app: %d %q %q", code, out, stderr)
			}
			if _, stderr, code := run(t, "", with("app", "export", "pipeline")...); code != 2 || !strings.Contains(stderr, "--template") {
				t.Errorf("export without --template: %d %q", code, stderr)
			}
			// The export has no sample recipe: sample rows are refused
			// before anything changed.
			d3 := dbFor(t, dialect)
			if _, stderr, code := run(t, "", append([]string{"template", "install", "crm", "--dir", dir, "--sample", "100"}, d3...)...); code != 1 || !strings.Contains(stderr, "sample.json") {
				t.Errorf("sample without a recipe: %d %q", code, stderr)
			}
			if out, _, _ := run(t, "", append([]string{"template", "list", "--dir", dir}, d3...)...); !strings.Contains(out, "no") || strings.Contains(out, "yes") {
				t.Errorf("installed after the refusal:\n%s", out)
			}
		})
	}
}

// With a recipe (part B), --sample writes the rows with a progress bar on
// stderr and counts them on stdout.
func TestTemplateInstallSample(t *testing.T) {
	if _, err := fs.Stat(templates.FS(), "store-sales/sample.json"); err != nil {
		t.Skip("store-sales has no sample recipe yet (part B of issue 18)")
	}
	t.Setenv("FORMA_DB", "")
	d := dbFor(t, "sqlite")
	out, stderr, code := run(t, "", append([]string{"template", "install", "store-sales", "--sample", "300", "--seed", "5"}, d...)...)
	if code != 0 || !strings.Contains(out, "sample data:") || !strings.Contains(stderr, "sample data") || !strings.Contains(stderr, "rows") {
		t.Fatalf("%d %q %q", code, out, stderr)
	}
}
