package templates_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/flow"
	"github.com/formaapp/forma/engine/records"
)

// TestPipelineApplies installs the sales-pipeline template into a fresh
// engine through the checks `forma app apply` runs (records, automations,
// flows, assignment, bulk, plugins, then the migration itself), so a key
// the engine refuses fails here and not on a newcomer's first install.
func TestPipelineApplies(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			eng, _ := installed(t, "pipeline", dialect)
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
