package templates_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/flow"
	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/records"
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
			// The grading hook runs on the installed app: an auto-parts lead
			// with a 600k budget and 3 product-page visits is an A lead, its
			// reason kept, and its source defaults to manual.
			lead, err := eng.Records.Create(ctx, records.Caller{Admin: true}, "pipeline", "lead",
				[]byte(`{"name": "王伟", "company": "华东汽配", "industry": "auto_parts", "budget": 600000, "page_visits": 3}`))
			if err != nil {
				t.Fatalf("create lead: %v", err)
			}
			got := lead.Plain()
			if got["grade"] != "A" || got["grade_reason"] != "A / auto parts / ≥500k / 3 product-page visits" || got["source"] != "manual" {
				t.Fatalf("lead graded %v / %v, source %v", got["grade"], got["grade_reason"], got["source"])
			}
			// Stages are evidence-gated: no signed NDA, no move to "nda".
			acct, err := eng.Records.Create(ctx, records.Caller{Admin: true}, "pipeline", "account", []byte(`{"name": "华东汽配", "industry": "auto_parts"}`))
			if err != nil {
				t.Fatalf("create account: %v", err)
			}
			opp, err := eng.Records.Create(ctx, records.Caller{Admin: true}, "pipeline", "opportunity",
				[]byte(`{"title": "MES 一期", "account": "`+acct.ID()+`", "amount": 800000, "cto_joined": true}`))
			if err != nil {
				t.Fatalf("create opportunity: %v", err)
			}
			if p := opp.Plain()["probability"]; fmt.Sprint(p) != "40" {
				t.Errorf("probability %v, want 10 (discovery) + 30 (CTO joined)", p)
			}
			version, _ := opp.Get("version").(int64)
			if _, err := eng.Flows.Take(ctx, records.Caller{Admin: true}, "pipeline", "opportunity", opp.ID(), "sign_nda", flow.TakeRequest{Version: version}); err == nil || !strings.Contains(fmt.Sprintf("%v %+v", err, err), "nda_file") {
				t.Fatalf("sign_nda without the signed NDA: %v, want a refusal naming nda_file", err)
			}
		})
	}
}
