package templates_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/sample"
	"github.com/formaapp/forma/templates"
)

// TestSampleDashboards installs each template with 500 sample rows from
// its recipe (part B's generator), then checks that every widget of every
// dashboard, as a generated rep, manager and executive (signed in through
// the API), equals the figure computed in Go over the records of their
// slice, and that the executive's dashboards are not empty.
func TestSampleDashboards(t *testing.T) {
	for _, name := range []string{"pipeline", "store-sales"} {
		for _, dialect := range []string{"sqlite", "postgres"} {
			t.Run(name+"/"+dialect, func(t *testing.T) {
				s := newScen(t, name, dialect)
				ctx := context.Background()
				res, err := sample.Generate(ctx, sample.Target{Records: s.eng.Records, DB: s.eng.DB, Access: s.eng.Access},
					templates.FS(), name, s.app.Name, sample.Options{Rows: 500, Seed: 18, Now: s.clk.Now()})
				if err != nil {
					t.Fatalf("sample: %v", err)
				}
				if res.Users == 0 || len(res.Rows) == 0 {
					t.Fatalf("sample wrote %v", res)
				}
				// The imported rows set off their automations (routing,
				// countdowns, rollups): let them finish first.
				s.settleWithin(5 * time.Minute)
				for entity, n := range res.Rows {
					if got := len(s.list("admin", entity, "")); got < n {
						t.Errorf("%s: %d records, the generator says it wrote %d", entity, got, n)
					}
				}

				// One generated person of each role, in a team where the
				// role has one; signed in by id.
				s.directory()
				var ids []string
				for id := range s.people {
					ids = append(ids, id)
				}
				sort.Strings(ids)
				viewers := map[string]string{}
				for _, id := range ids {
					p := s.people[id]
					if s.names[id] != "" || len(p.roles) != 1 || viewers[p.roles[0]] != "" {
						continue // newScen's own people, or the role is taken
					}
					if p.team == "" && p.roles[0] != "executive" {
						continue
					}
					viewers[p.roles[0]] = id
				}
				var who []string
				for _, role := range []string{"rep", "manager", "executive"} {
					if viewers[role] == "" {
						t.Fatalf("no generated %s among %d users", role, len(s.people))
					}
					s.adopt(viewers[role])
					who = append(who, viewers[role])
				}
				if name == "pipeline" {
					s.checkAll(s.pipelineWants(), "", who, s.pipelineSlice)
				} else {
					s.checkAll(s.storeWants(""), "", who, s.storeSlice)
					store := str(s.list("admin", "store", `kind = "store"`)[0]["id"])
					s.checkAll(s.storeWants(store), "?store="+store, who, s.storeSlice)
				}
				// Meaningful data: every dashboard shows the executive
				// something other than zero.
				for _, d := range s.app.Dashboards {
					nonzero := false
					for _, v := range s.figures(d.Name, s.must(200, viewers["executive"], "GET", "/api/dash/"+s.app.Name+"/"+d.Name, nil)) {
						nonzero = nonzero || !v.IsZero()
					}
					if !nonzero {
						t.Errorf("dashboard %s is all zero on the sample data", d.Name)
					}
				}
			})
		}
	}
}
