package flow

import (
	"context"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// needDoc: reps may not read a deal's margin (hidden) nor its cost (a
// formula reading margin is hidden with it); managers read everything;
// auditors read no deal. {{propose}} && {{win}} are the transitions.
const needDoc = `{"name": "ntk", "entities": [
 {"id": "e1", "name": "account", "fields": [{"id": "a1", "name": "name", "type": "text"}, {"id": "a2", "name": "rating", "type": "integer"}]},
 {"id": "e2", "name": "deal", "fields": [
	{"id": "d1", "name": "title", "type": "text"},
	{"id": "d2", "name": "stage", "type": "select", "options": ["open", "proposed", "won"]},
	{"id": "d3", "name": "nda", "type": "file"},
	{"id": "d4", "name": "margin", "type": "integer"},
	{"id": "d5", "name": "cost", "type": "formula", "expr": "margin * 2"},
	{"id": "d6", "name": "account", "type": "ref", "entity": "account"}]}],
 "roles": [
	{"name": "rep", "entities": {"deal": {"create": "own", "read": "own", "update": "own", "fields": {"margin": "hidden"}},
		"account": {"read": "all", "fields": {"rating": "hidden"}}}},
	{"name": "manager", "entities": {"deal": {"read": "all", "update": "all"}, "account": {"read": "all"}}},
	{"name": "auditor", "entities": {"account": {"read": "all"}}}],
 "flows": [{"name": "selling", "entity": "deal", "field": "stage",
	"states": [{"name": "open"}, {"name": "proposed"}, {"name": "won", "final": true}],
	"transitions": [{{propose}}, {{win}}]}]}`

func needApp(t *testing.T, propose, win string) *schema.App {
	t.Helper()
	doc := strings.NewReplacer("{{propose}}", propose, "{{win}}", win).Replace(needDoc)
	app, problems := schema.Parse([]byte(doc))
	if len(problems) > 0 {
		t.Fatalf("parse: %v", problems)
	}
	return app
}

// A transition whose guard or evidence reads a field hidden from a role
// that may take it is refused when the app is applied, at the guard's or
// the evidence entry's pointer with code flow_field_hidden; the same
// transitions limited to roles that read those fields are accepted.
func TestNeedToKnowCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cat := store.NewCatalog(db)
		s := New(db, cat, records.New(db, cat), nil, nil, nil)

		refused := needApp(t,
			// reps may take it, && its guard reads margin (hidden from
			// them) && the account's rating (hidden too); the nda they read.
			`{"name": "propose", "from": ["open"], "to": "proposed", "roles": ["rep", "manager"], "guard": "margin > 10 && title != \"\"", "evidence": ["nda"]}`,
			// no roles: everyone reading deals may take it; cost reads margin.
			`{"name": "win", "from": ["proposed"], "to": "won", "evidence": ["title", "cost"]}`)
		p := s.CheckApp(ctx, refused)
		got := map[string]schema.Problem{}
		for _, pr := range p {
			got[pr.Path] = pr
		}
		if len(p) != 2 {
			t.Fatalf("problems: %v", p)
		}
		g, ok := got["/flows/0/transitions/0/guard"]
		if !ok || g.Code != CodeFieldHidden || !strings.Contains(g.Message, "role rep ") ||
			!strings.Contains(g.Message, "read margin,") || strings.Contains(g.Message, "manager") {
			t.Fatalf("guard problem: %+v", g)
		}
		ev, ok := got["/flows/0/transitions/1/evidence/1"]
		if !ok || ev.Code != CodeFieldHidden || !strings.Contains(ev.Message, "role rep ") || !strings.Contains(ev.Message, "cost") {
			t.Fatalf("evidence problem: %+v", ev)
		}

		// A role that reads no deal may not be named either: with a role
		// that reads the deal but not margin, it would see the lacks.
		p = s.CheckApp(ctx, needApp(t,
			`{"name": "propose", "from": ["open"], "to": "proposed", "roles": ["auditor"], "guard": "margin > 10"}`,
			`{"name": "win", "from": ["proposed"], "to": "won", "roles": ["manager"]}`))
		if len(p) != 1 || p[0].Path != "/flows/0/transitions/0/guard" || p[0].Code != CodeFieldHidden || !strings.Contains(p[0].Message, "role auditor ") {
			t.Fatalf("a role reading no deal: %v", p)
		}

		accepted := needApp(t,
			`{"name": "propose", "from": ["open"], "to": "proposed", "roles": ["manager"], "guard": "margin > 10", "evidence": ["nda"]}`,
			`{"name": "win", "from": ["proposed"], "to": "won", "guard": "title != \"\" && owner != null", "evidence": ["title", "nda"]}`)
		if p := s.CheckApp(ctx, accepted); len(p) != 0 {
			t.Fatalf("accepted document: %v", p)
		}
		// And it applies.
		if _, err := db.Apply(ctx, accepted, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}
