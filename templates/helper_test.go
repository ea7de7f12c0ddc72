package templates_test

import (
	"context"
	"testing"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/plugins"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// installed opens a fresh engine on dialect ("sqlite" or "postgres"), with
// the built-in connectors installed as `forma serve` installs them, and
// applies template name's document through the checks `forma app apply`
// runs (engine.Check)
// and the migration, so a key the engine refuses fails here and not on a
// newcomer's first install.
func installed(t *testing.T, name, dialect string) (*engine.Engine, *schema.App) {
	t.Helper()
	url := ""
	if dialect == "postgres" {
		url = storetest.PostgresURL(t)
	}
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Config{DataDir: t.TempDir(), DBURL: url, Plugins: plugin.Options{Builtins: plugins.FS()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	doc, err := templates.Document(templates.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	app, problems := schema.Parse(doc)
	if len(problems) == 0 {
		problems = eng.Check(ctx, app)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Path, p.Message)
	}
	if t.Failed() {
		t.FailNow()
	}
	plan, _, err := eng.Records.Apply(ctx, app, store.ApplyOptions{AppliedBy: "test"})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(plan.Refused) > 0 {
		t.Fatalf("refused: %v", plan.Refused)
	}
	return eng, app
}
