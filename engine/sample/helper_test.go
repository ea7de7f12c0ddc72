package sample_test

import (
	"context"
	"testing"
	"time"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/sample"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/engine/template"
	"github.com/formaapp/forma/plugins"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// now is the sample's Now in the tests: a fixed instant, so dates are
// checked against it and not the clock.
var now = time.Date(2026, 11, 20, 6, 30, 0, 0, time.UTC)

// installed opens a fresh engine on dialect ("sqlite" or "postgres") and
// applies template name's document to it.
func installed(t testing.TB, name, dialect string) (*engine.Engine, *schema.App) {
	t.Helper()
	eng := open(t, dialect)
	t.Cleanup(func() { eng.Close() })
	return eng, apply(t, eng, name)
}

// open opens an empty engine on dialect, with the built-in connectors
// installed as `forma serve` installs them.
func open(t testing.TB, dialect string) *engine.Engine {
	t.Helper()
	url := ""
	if dialect == "postgres" {
		url = storetest.PostgresURL(t)
	}
	eng, err := engine.Open(context.Background(), engine.Config{DataDir: t.TempDir(), DBURL: url, Plugins: plugin.Options{Builtins: plugins.FS()}})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// apply migrates eng's database to template name's document (the
// template tests in templates/ run every check of `forma app apply` on
// it; here it only has to be there).
func apply(t testing.TB, eng *engine.Engine, name string) *schema.App {
	t.Helper()
	doc, err := template.Document(templates.FS(), name)
	if err != nil {
		t.Fatal(err)
	}
	app, problems := schema.Parse(doc)
	if len(problems) == 0 {
		_, problems = logic.Compile(app)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Path, p.Message)
	}
	if len(problems) > 0 {
		t.FailNow()
	}
	plan, _, err := eng.Records.Apply(context.Background(), app, store.ApplyOptions{AppliedBy: "test"})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if len(plan.Refused) > 0 {
		t.Fatalf("refused: %v", plan.Refused)
	}
	return app
}

func target(eng *engine.Engine) sample.Target {
	return sample.Target{Records: eng.Records, DB: eng.DB, Access: eng.Access}
}

func dialects(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}
