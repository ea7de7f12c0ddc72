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

// A role whose read rule has a condition naming the caller (a rep reads
// the deals they own or are to receive: owner = @me || receiver = @me)
// reads the deal's fields: a guard over them is accepted on apply, as it
// is for a role reading its own deals. (The check once compiled the
// condition without a user and took the role to read nothing.)
func TestNeedToKnowConditionOnMe(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cat := store.NewCatalog(db)
		s := New(db, cat, records.New(db, cat), nil, nil, nil)
		doc := strings.Replace(needDoc, `{"name": "rep", "entities": {"deal": {"create": "own", "read": "own", "update": "own", "fields": {"margin": "hidden"}},`,
			`{"name": "rep", "entities": {"deal": {"create": "own", "read": {"scope": "all", "where": "owner = @me || receiver = @me"}, "update": "own", "fields": {"margin": "hidden"}},`, 1)
		doc = strings.Replace(doc, `{"id": "d6", "name": "account", "type": "ref", "entity": "account"}]}`,
			`{"id": "d6", "name": "account", "type": "ref", "entity": "account"}, {"id": "d7", "name": "receiver", "type": "user"}]}`, 1)
		if doc == needDoc {
			t.Fatal("test setup: the document did not change")
		}
		doc = strings.NewReplacer(
			"{{propose}}", `{"name": "propose", "from": ["open"], "to": "proposed", "roles": ["rep"], "guard": "title != \"\"", "evidence": ["nda"]}`,
			"{{win}}", `{"name": "win", "from": ["proposed"], "to": "won", "roles": ["manager"]}`).Replace(doc)
		app, problems := schema.Parse([]byte(doc))
		if len(problems) > 0 {
			t.Fatalf("parse: %v", problems)
		}
		if p := s.CheckApp(ctx, app); len(p) != 0 {
			t.Fatalf("a rep reading deals on a condition naming @me: %v", p)
		}
	})
}
