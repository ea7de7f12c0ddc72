package assign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// fair fails unless every rep got within ±1 of an equal share.
func fair(t *testing.T, counts map[string]int, total int) {
	t.Helper()
	share := total / len(reps)
	for _, r := range reps {
		if n := counts[r]; n < share-1 || n > share+1 {
			t.Fatalf("%s got %d of %d (want %d±1): %v", r, n, total, share, counts)
		}
	}
}

// Round-robin is fair over 1,000 leads, across a restart half-way (a new
// service on the same database picks up the stored turn).
func TestRoundRobinFairAcrossRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		counts := map[string]int{}
		for i := 0; i < 1000; i++ {
			if i == 500 {
				f.open() // restart
			}
			d := f.assign("rr", f.lead("retail"))
			counts[f.byID[d.Winner]]++
			if d.Strategy != schema.StrategyRoundRobin || !strings.Contains(d.Reason, "round-robin") || len(d.Candidates) != 5 {
				t.Fatalf("decision: %+v", d)
			}
		}
		fair(t, counts, 1000)
	})
}

// Two servers on one PostgreSQL assigning at the same time share one turn.
func TestRoundRobinFairAcrossServers(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	db1, err := store.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	f := newFixture(t, db1)
	db2, err := store.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	db2.Clock = f.clk
	cat2 := store.NewCatalog(db2)
	acc2, err := access.New(ctx, db2, access.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2 := New(db2, cat2, records.New(db2, cat2), acc2, nil, nil)
	if err := s2.Register(ctx); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = f.lead("bank")
	}
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for k, s := range []*Service{f.s, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := k; i < len(ids); i += 2 {
				d, err := s.Assign(ctx, f.app, "rr", ids[i], Options{Caller: records.Caller{Admin: true, Path: records.PathSystem}})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				counts[f.byID[d.Winner]]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fair(t, counts, 1000)
}

// opportunity makes a closed opportunity of owner in industry.
func (f *fixture) opportunity(owner, industry, stage string, closed time.Time) {
	f.t.Helper()
	f.create("opportunity", fmt.Sprintf(`{"name": "Opp", "industry": %q, "stage": %q, "closed_at": %q, "owner": %q}`,
		industry, stage, closed.Format(time.RFC3339), f.users[owner].ID))
}

// The score strategy gives a retail lead to the rep who wins most retail
// deals, a bank lead to the best banker; with no history everyone ties
// and the tie goes round-robin.
func TestScorePicksBestWinRate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ago := t0.Add(-10 * 24 * time.Hour)
		for i, r := range reps {
			// r3 wins 4 of 5 retail deals, the others 1 of 5; r1 wins
			// every bank deal. Old wins (outside 90 days) do not count.
			for k := 0; k < 5; k++ {
				stage := "lost"
				if k == 0 || (r == "r3" && k < 4) {
					stage = "won"
				}
				f.opportunity(r, "retail", stage, ago)
			}
			if r == "r1" {
				f.opportunity(r, "bank", "won", ago)
			}
			f.opportunity(r, "bank", "lost", ago)
			if i == 4 {
				for k := 0; k < 10; k++ {
					f.opportunity(r, "retail", "won", t0.Add(-200*24*time.Hour))
				}
			}
		}
		d := f.assign("score", f.lead("retail"))
		if f.byID[d.Winner] != "r3" || d.Strategy != schema.StrategyScore || !strings.Contains(d.Reason, "highest score") {
			t.Fatalf("retail lead: %+v", d)
		}
		for _, c := range d.Candidates {
			want := 0.2
			if f.byID[c.User] == "r3" {
				want = 0.8
			}
			if c.Stats["win"] == nil || *c.Stats["win"] != want || c.Score == nil || *c.Score != want*100 {
				t.Fatalf("%s: stats %v score %v", f.byID[c.User], c.Stats, c.Score)
			}
		}
		if d := f.assign("score", f.lead("bank")); f.byID[d.Winner] != "r1" {
			t.Fatalf("bank lead went to %s: %s", f.byID[d.Winner], d.Reason)
		}
		// No history in "mining": all tie at 0, taken round-robin from
		// the last winner (r1) on.
		var got []string
		for i := 0; i < 3; i++ {
			d := f.assign("score", f.lead("mining"))
			if !strings.Contains(d.Reason, "a tie of 5 broken round-robin") {
				t.Fatalf("tie: %s", d.Reason)
			}
			got = append(got, f.byID[d.Winner])
		}
		if strings.Join(got, ",") != "r2,r3,r4" {
			t.Fatalf("ties went to %v", got)
		}
	})
}

// Capacity and absence: a rep at capacity or away gets nothing, and the
// decision says why.
func TestCapacityAndAbsence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		for i := 0; i < 3; i++ {
			f.create("lead", fmt.Sprintf(`{"name": "Busy", "stage": "working", "owner": %q}`, f.users["r1"].ID))
		}
		f.create("lead", fmt.Sprintf(`{"name": "Done", "stage": "won", "owner": %q}`, f.users["r2"].ID))
		f.setProfile("r3", access.Profile{Away: true})
		back := t0.Add(time.Hour)
		f.setProfile("r4", access.Profile{Away: true, AwayUntil: &back})
		d := f.assign("least", f.lead("x"))
		if w := f.byID[d.Winner]; w != "r2" {
			t.Fatalf("winner %s: %s", w, d.Reason)
		}
		why := map[string]string{}
		for _, c := range d.Candidates {
			why[f.byID[c.User]] = c.Why
		}
		if why["r1"] != "at capacity (3 of 3)" || why["r3"] != "away" || why["r4"] != "away" || why["r2"] != "" || why["r5"] != "" {
			t.Fatalf("whys: %v", why)
		}
		// r2 and r5 now have one open lead each: a tie, round-robin.
		if d := f.assign("least", f.lead("x")); f.byID[d.Winner] != "r5" {
			t.Fatalf("second: %s", d.Reason)
		}
		f.clk.Advance(2 * time.Hour) // r4 is back, with no open lead
		if d := f.assign("least", f.lead("x")); f.byID[d.Winner] != "r4" {
			t.Fatalf("after r4 is back: %s", d.Reason)
		}
	})
}

// Working hours are the rule's, in its zone; outside them nobody is
// eligible and the record stays as it is.
func TestWorkingHours(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		if d := f.assign("hours", f.lead("x")); d.Winner == "" {
			t.Fatalf("17:00 in Shanghai: %s", d.Reason)
		}
		f.clk.Advance(2 * time.Hour) // 19:00 in Shanghai
		id := f.lead("x")
		d := f.assign("hours", id)
		if d.Winner != "" || !strings.Contains(d.Reason, "5 outside working hours") || f.owner(id) != "" {
			t.Fatalf("19:00 in Shanghai: %+v, owner %s", d, f.owner(id))
		}
		f.clk.Set(time.Date(2026, 3, 7, 3, 0, 0, 0, time.UTC)) // Saturday 11:00 in Shanghai
		if d := f.assign("hours", f.lead("x")); d.Winner != "" {
			t.Fatalf("Saturday: %s", d.Reason)
		}
	})
}

// Fallbacks are tried in order: nobody is in team west, so the reps with
// the retail skill, and when they are away, the managers.
func TestFallbacks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.setProfile("r2", access.Profile{Skills: []string{"Retail", "bank"}})
		d := f.assign("fb", f.lead("x"))
		if f.byID[d.Winner] != "r2" || d.Fallback != 1 || !strings.Contains(d.Reason, "fallback 1") || len(d.Candidates) != 1 {
			t.Fatalf("fallback 1: %+v", d)
		}
		f.setProfile("r2", access.Profile{Skills: []string{"retail"}, Away: true})
		d = f.assign("fb", f.lead("x"))
		if f.byID[d.Winner] != "mia" || d.Fallback != 2 {
			t.Fatalf("fallback 2: %+v", d)
		}
		f.setProfile("mia", access.Profile{Away: true})
		id := f.lead("x")
		d = f.assign("fb", id)
		if d.Winner != "" || !strings.Contains(d.Reason, "nobody was eligible") || f.owner(id) != "" {
			t.Fatalf("nobody: %+v", d)
		}
	})
}

// The write goes through the records service: the history entry carries
// the path and the reason; the log keeps the decision; a dry run
// (preview) writes nothing.
func TestDecisionLogAndHistory(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		id := f.lead("x")
		p, err := f.s.Preview(ctx, f.app, f.app.Assignment("rr"), id)
		if err != nil || p.Winner == "" || f.owner(id) != "" {
			t.Fatalf("preview: %+v, %v, owner %s", p, err, f.owner(id))
		}
		d := f.assign("rr", id)
		if d.Winner != p.Winner || f.owner(id) != f.byID[d.Winner] {
			t.Fatalf("assign after preview: %s vs %s", d.Winner, p.Winner)
		}
		h, err := f.recs.History(ctx, admin, "sales", "lead", id, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range h.Items {
			if e.Path == records.PathSystem && strings.Contains(e.Comment, "round-robin") {
				found = true
			}
		}
		if !found {
			t.Fatalf("history: %+v", h.Items)
		}
		ds, err := f.s.Decisions(ctx, admin, "sales", "lead", id)
		if err != nil || len(ds) != 1 || ds[0].ID != d.ID || len(ds[0].Candidates) != 5 {
			t.Fatalf("decisions: %+v, %v", ds, err)
		}
		// The owner (a rep) sees the decision without the figures; another
		// rep does not see the record at all.
		owner := f.byID[d.Winner]
		if ds, err := f.s.Decisions(ctx, f.as(owner), "sales", "lead", id); err != nil || len(ds) != 1 || ds[0].Candidates != nil {
			t.Fatalf("owner's view: %+v, %v", ds, err)
		}
		other := "r1"
		if owner == "r1" {
			other = "r2"
		}
		var re *records.Error
		if _, err := f.s.Decisions(ctx, f.as(other), "sales", "lead", id); !errors.As(err, &re) || re.Status != 404 {
			t.Fatalf("other rep: %v", err)
		}
		if ds, err := f.s.Decisions(ctx, f.as("mia"), "sales", "lead", id); err != nil || len(ds[0].Candidates) != 5 {
			t.Fatalf("manager's view: %+v, %v", ds, err)
		}
	})
}

// Manual reassignment: the owner's manager may, with a reason that goes
// into the history; a rep may not (403); a stale version is 409; a
// target who is no user is 422.
func TestReassign(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		id := f.lead("x")
		f.assign("rr", id) // r1
		var re *records.Error
		status := func(err error) int {
			if errors.As(err, &re) {
				return re.Status
			}
			return 0
		}
		if _, _, err := f.s.Reassign(ctx, f.as("r1"), "sales", "lead", id, ReassignRequest{To: "r2@example.com", Rule: "rr", Reason: "mine"}); status(err) != 403 {
			t.Fatalf("rep: %v", err)
		}
		if _, _, err := f.s.Reassign(ctx, f.as("mia"), "sales", "lead", id, ReassignRequest{To: "r2@example.com", Rule: "rr", Reason: " "}); status(err) != 422 {
			t.Fatalf("no reason: %v", err)
		}
		if _, _, err := f.s.Reassign(ctx, f.as("mia"), "sales", "lead", id, ReassignRequest{To: "r2@example.com", Rule: "rr", Reason: strings.Repeat("x", 1001)}); status(err) != 422 {
			t.Fatalf("long reason: %v", err)
		}
		if _, _, err := f.s.Reassign(ctx, f.as("mia"), "sales", "lead", id, ReassignRequest{To: "nobody@example.com", Rule: "rr", Reason: "r"}); status(err) != 422 {
			t.Fatalf("unknown target: %v", err)
		}
		if _, _, err := f.s.Reassign(ctx, f.as("mia"), "sales", "lead", id, ReassignRequest{To: "r2@example.com", Rule: "nope", Reason: "r"}); status(err) != 422 {
			t.Fatalf("unknown rule: %v", err)
		}
		if _, _, err := f.s.Reassign(ctx, f.as("mia"), "sales", "lead", id, ReassignRequest{To: "r2@example.com", Rule: "rr", Reason: "r", Version: 1}); status(err) != 409 {
			t.Fatalf("stale: %v", err)
		}
		if f.owner(id) != "r1" {
			t.Fatalf("a refused reassignment changed the owner to %s", f.owner(id))
		}
		rec, d, err := f.s.Reassign(ctx, f.as("mia"), "sales", "lead", id, ReassignRequest{To: "r2@example.com", Rule: "rr", Reason: "speaks Cantonese", Version: 2})
		if err != nil || d.Strategy != "manual" || f.byID[d.Winner] != "r2" || f.byID[d.Previous] != "r1" || rec == nil || f.owner(id) != "r2" {
			t.Fatalf("manager: %+v, %v", d, err)
		}
		h, _ := f.recs.History(ctx, admin, "sales", "lead", id, 10, "")
		if !strings.Contains(h.Items[0].Comment, "speaks Cantonese") || h.Items[0].Actor != f.users["mia"].ID {
			t.Fatalf("history: %+v", h.Items[0])
		}
		// By the rule, to someone other than the owner.
		_, d, err = f.s.Reassign(ctx, admin, "sales", "lead", id, ReassignRequest{Rule: "rr", Reason: "rebalance"})
		if err != nil || d.Winner == "" || f.byID[d.Winner] == "r2" || d.Note != "rebalance" {
			t.Fatalf("by rule: %+v, %v", d, err)
		}
	})
}

// A/B: the variant is picked by weight per record, stored for good, and
// counted by the report.
func TestVariants(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		seen := map[string]int{}
		var ids []string
		for i := 0; i < 40; i++ {
			id := f.lead("x")
			d := f.assign("ab", id)
			if d.Variant == "" || d.Strategy != map[string]string{"rr": "roundRobin", "least": "leastLoad"}[d.Variant] {
				t.Fatalf("variant: %+v", d)
			}
			if again := f.assign("ab", id); again.Variant != d.Variant {
				t.Fatalf("variant changed: %s → %s", d.Variant, again.Variant)
			}
			seen[d.Variant]++
			ids = append(ids, id)
		}
		if seen["rr"] == 0 || seen["least"] == 0 {
			t.Fatalf("variants: %v", seen)
		}
		cur, err := f.recs.Get(ctx, admin, "sales", "lead", ids[0], "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.recs.Patch(ctx, admin, "sales", "lead", ids[0], []byte(fmt.Sprintf(`{"stage": "won", "version": %d}`, cur.Get("version")))); err != nil {
			t.Fatal(err)
		}
		rep, err := f.s.VariantReport(ctx, admin, f.app, f.app.Assignment("ab"), `stage = "won"`)
		if err != nil || len(rep.Variants) != 2 || rep.Variants[0].Records+rep.Variants[1].Records != 40 ||
			rep.Variants[0].Reached+rep.Variants[1].Reached != 1 {
			t.Fatalf("report: %+v, %v", rep, err)
		}
	})
}

// Bad rules are refused when the app is applied: a score expression that
// does not parse or names an unknown statistic, a candidates' condition
// on an unknown attribute, an open filter on an unknown field.
func TestCheckApp(t *testing.T) {
	db := storetest.SQLite(t)
	f := newFixture(t, db)
	for _, c := range []struct{ from, to, path string }{
		{`"score": "win * 100 + same_region * 0`, `"score": "win * 100 + wins * 0`, "/assignments/2/score"},
		{`"score": "win * 100 + same_region * 0`, `"score": "win * (100 + same_region * 0`, "/assignments/2/score"},
		{`"score": "win * 100 + same_region * 0`, `"score": "win * 100 + opportunity.x * 0`, "/assignments/2/score"},
		{`"condition": "skills ~ \"retail\""`, `"condition": "salary > 3"`, "/assignments/4/fallbacks/0/condition"},
		{`"condition": "skills ~ \"retail\""`, `"condition": "skills ~ "`, "/assignments/4/fallbacks/0/condition"},
		{`"capacity": 3`, `"capacity": 3, "open": "stag = \"new\""`, "/assignments/1/open"},
		{`"won": "stage = \"won\""`, `"won": "stag = \"won\""`, "/assignments/2/statistics/0/won"},
	} {
		doc := strings.Replace(salesDoc, c.from, c.to, 1)
		if doc == salesDoc {
			t.Fatalf("%q not in the document", c.from)
		}
		app, problems := schema.Parse([]byte(doc))
		if len(problems) == 0 {
			problems = f.s.CheckApp(context.Background(), app)
		}
		found := false
		for _, p := range problems {
			found = found || (p.Path == c.path && p.Code != "")
		}
		if !found {
			t.Errorf("%s: want a problem at %s, got %v", c.to, c.path, problems)
		}
	}
}
