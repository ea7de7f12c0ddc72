package flow_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/flow"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// benchDoc moves deals between "open" and "review" and back: each
// transition has a guard (amount > 0) and file evidence (the proposal must
// hold an uploaded file), and every move writes its history entry, as a
// PATCH does.
const benchDoc = `{"name": "bench", "entities": [
  {"name": "deal", "fields": [
    {"id": "f1", "name": "title", "type": "text"},
    {"id": "f2", "name": "stage", "type": "select", "options": ["open", "review"]},
    {"id": "f3", "name": "amount", "type": "decimal", "scale": 2},
    {"id": "f4", "name": "proposal", "type": "file"},
    {"id": "f5", "name": "note", "type": "text"}]}],
 "flows": [{"name": "sales", "entity": "deal", "field": "stage", "states": [{"name": "open"}, {"name": "review"}],
   "transitions": [
     {"name": "submit", "from": ["open"], "to": "review", "guard": "amount > 0", "evidence": ["proposal"]},
     {"name": "reopen", "from": ["review"], "to": "open", "guard": "amount > 0", "evidence": ["proposal"]}]}]}`

// BenchmarkTransition measures a transition taken through the flow
// service (roles, from-state, guard, file evidence, history, event) against
// a plain PATCH of one field of the same records, one writer at a time.
//
//	FORMA_TEST_POSTGRES=… go test -run '^$' -bench Transition -benchtime 3000x ./engine/flow/
func BenchmarkTransition(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchTransition(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchTransition(b, storetest.Postgres(b)) })
}

func benchTransition(b *testing.B, db *store.DB) {
	ctx := context.Background()
	app, problems := schema.Parse([]byte(benchDoc))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	if _, err := db.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	cat := store.NewCatalog(db)
	recs := records.New(db, cat)
	flows := flow.New(db, cat, recs, nil, nil, nil)
	if err := flows.Register(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Pool().ExecContext(ctx, `INSERT INTO _forma_files ("id", "app", "name", "size", "content_type", "sha256", "key", "thumb", "uploader", "created_at") VALUES ('01hproposal', 'bench', 'p.pdf', 1, 'application/pdf', '', 'k', '', '', ?)`, time.Now().UTC()); err != nil {
		b.Fatal(err)
	}
	c := records.Caller{Admin: true}
	const n = 200
	ids := make([]string, n)
	versions := make([]int64, n)
	states := make([]string, n)
	for i := range ids {
		rec, err := recs.Create(ctx, c, "bench", "deal", []byte(fmt.Sprintf(`{"title": "deal %d", "amount": 1000, "proposal": "01hproposal"}`, i)))
		if err != nil {
			b.Fatal(err)
		}
		ids[i], versions[i], states[i] = rec.ID(), 1, "open"
	}
	b.Run("transition", func(b *testing.B) {
		i := 0
		for b.Loop() {
			k := i % n
			name := "submit"
			if states[k] == "review" {
				name = "reopen"
			}
			taken, err := flows.Take(ctx, c, "bench", "deal", ids[k], name, flow.TakeRequest{Version: versions[k]})
			if err != nil {
				b.Fatal(err)
			}
			versions[k], _ = taken.Record.Get("version").(int64)
			states[k], _ = taken.Record.Get("stage").(string)
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("patch", func(b *testing.B) {
		i := 0
		for b.Loop() {
			k := i % n
			rec, err := recs.Patch(ctx, c, "bench", "deal", ids[k], []byte(fmt.Sprintf(`{"note": "n%d", "version": %d}`, i, versions[k])))
			if err != nil {
				b.Fatal(err)
			}
			versions[k], _ = rec.Get("version").(int64)
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}
