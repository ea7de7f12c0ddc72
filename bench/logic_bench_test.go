package bench_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// hookDoc has two entities with the same fields: plain has no logic,
// hooked has a trivial beforeSave hook.
const hookDoc = `{"name": "hooks", "entities": [
 {"name": "plain", "fields": [
  {"id": "f1", "name": "title", "type": "text", "required": true},
  {"id": "f2", "name": "amount", "type": "decimal"},
  {"id": "f3", "name": "stage", "type": "select", "options": ["lead", "won"]}]},
 {"name": "hooked", "hooks": {"beforeSave": "deal#beforeSave"}, "fields": [
  {"id": "f1", "name": "title", "type": "text", "required": true},
  {"id": "f2", "name": "amount", "type": "decimal"},
  {"id": "f3", "name": "stage", "type": "select", "options": ["lead", "won"]}]},
 {"name": "computed", "validations": [{"expr": "amount >= 0", "message": "no negative amounts"}], "fields": [
  {"id": "f1", "name": "title", "type": "text", "required": true},
  {"id": "f2", "name": "amount", "type": "decimal"},
  {"id": "f3", "name": "stage", "type": "select", "options": ["lead", "won"]},
  {"id": "f4", "name": "weighted", "type": "formula", "expr": "round(amount * (stage == 'won' ? 1 : 0.3), 2)"}]}],
 "scripts": {"deal": "function beforeSave(record, ctx) { if (record.title === '') record.title = 'untitled'; }"}}`

// BenchmarkHookOverhead creates records one at a time through the HTTP API
// into an entity without logic, one with a trivial beforeSave hook and one
// with a formula and a validation rule: the difference in ns/op is what the
// logic adds to a request.
func BenchmarkHookOverhead(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { runHooks(b, "") })
	b.Run("postgres", func(b *testing.B) { runHooks(b, storetest.PostgresURL(b)) })
}

func runHooks(b *testing.B, dbURL string) {
	eng := open(b, dbURL)
	app, problems := schema.Parse([]byte(hookDoc))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	if _, err := eng.DB.Apply(context.Background(), app, store.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	// In process, without HTTP: the service call alone.
	for _, entity := range []string{"plain", "hooked", "computed"} {
		b.Run("service/"+entity, func(b *testing.B) {
			ctx := context.Background()
			c := records.Caller{Admin: true}
			if _, err := eng.Records.Create(ctx, c, "hooks", entity, []byte(`{"title": "warm up", "amount": 1}`)); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := eng.Records.Create(ctx, c, "hooks", entity, []byte(fmt.Sprintf(`{"title": "Deal %d", "amount": "1234.50", "stage": "won"}`, i))); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b)
		})
	}
	t := serve(b, eng, nil)
	for _, entity := range []string{"plain", "hooked", "computed"} {
		b.Run("http/"+entity, func(b *testing.B) {
			path := "/api/data/hooks/" + entity
			t.do(b, "POST", path, `{"title": "warm up", "amount": 1}`, 201, nil) // compile the app's logic
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t.do(b, "POST", path, fmt.Sprintf(`{"title": "Deal %d", "amount": "1234.50", "stage": "won"}`, i), 201, nil)
			}
			reportRate(b)
		})
	}
}
