package templates_test

import (
	"context"
	"testing"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/plugins"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// TestPipelineApplies installs the sales-pipeline template into a fresh
// engine through the checks `forma app apply` runs (records, automations,
// flows, assignment, bulk, plugins, then the migration itself), so a key
// the engine refuses fails here and not on a newcomer's first install.
func TestPipelineApplies(t *testing.T) {
	doc, err := templates.Document(templates.FS(), "pipeline")
	if err != nil {
		t.Fatal(err)
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			url := ""
			if dialect == "postgres" {
				url = storetest.PostgresURL(t)
			}
			ctx := context.Background()
			// The built-in connectors (webform) are installed as `forma serve`
			// installs them, so the template's connector finds its plugin.
			eng, err := engine.Open(ctx, engine.Config{DataDir: t.TempDir(), DBURL: url, Plugins: plugin.Options{Builtins: plugins.FS()}})
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			app, problems := schema.Parse(doc)
			if len(problems) > 0 {
				t.Fatalf("parse: %v", problems)
			}
			if _, problems := logic.Compile(app); len(problems) > 0 {
				t.Fatalf("compile: %v", problems)
			}
			problems = append(append(eng.Records.CheckApp(app), eng.Automations.CheckApp(ctx, app)...), eng.Flows.CheckApp(ctx, app)...)
			problems = append(append(problems, eng.Assign.CheckApp(ctx, app)...), eng.Bulk.CheckApp(ctx, app)...)
			problems = append(problems, eng.Plugins.CheckApp(ctx, app)...)
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
		})
	}
}
