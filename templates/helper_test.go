package templates_test

import (
	"context"
	"errors"
	"testing"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/engine/template"
	"github.com/formaapp/forma/plugins"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// openEngine opens an empty engine on dialect ("sqlite" or "postgres"),
// with the built-in connectors installed as `forma serve` installs them.
func openEngine(t *testing.T, dialect string) *engine.Engine {
	t.Helper()
	url := ""
	if dialect == "postgres" {
		url = storetest.PostgresURL(t)
	}
	eng, err := engine.Open(context.Background(), engine.Config{DataDir: t.TempDir(), DBURL: url, Plugins: plugin.Options{Builtins: plugins.FS()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	return eng
}

// target is the engine as the installer sees it.
func target(eng *engine.Engine) template.Target {
	return template.Target{DB: eng.DB, Records: eng.Records, Access: eng.Access, Catalog: eng.Catalog, Check: eng.Check, AppliedBy: "test"}
}

// installed opens a fresh engine on dialect and installs template name as
// `forma template install` does: through every check `forma app apply`
// runs (engine.Check) and the migration, so a key the engine refuses fails
// here and not on a newcomer's first install.
func installed(t *testing.T, name, dialect string) (*engine.Engine, *schema.App) {
	t.Helper()
	eng := openEngine(t, dialect)
	ctx := context.Background()
	in, err := template.Install(ctx, target(eng), templates.FS(), name, template.InstallOptions{})
	var problems schema.Problems
	if errors.As(err, &problems) {
		for _, p := range problems {
			t.Errorf("%s: %s", p.Path, p.Message)
		}
		t.FailNow()
	}
	if err != nil {
		t.Fatalf("install %s: %v", name, err)
	}
	app, err := eng.DB.Document(ctx, in.App, 0)
	if err != nil {
		t.Fatal(err)
	}
	return eng, app
}
