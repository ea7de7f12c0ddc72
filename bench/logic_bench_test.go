package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

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

// BenchmarkHookOverhead creates records one at a time into an entity
// without logic, one with a trivial beforeSave hook and one with a formula
// and a validation rule, in turn, so drift on a shared machine hits all
// three alike. It reports the mean µs per create of each and what the hook
// and the formula add: through the records service in process, and through
// the HTTP API.
func BenchmarkHookOverhead(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { runHooks(b, "") })
	b.Run("postgres", func(b *testing.B) { runHooks(b, storetest.PostgresURL(b)) })
}

var hookEntities = []string{"plain", "hooked", "computed"}

func runHooks(b *testing.B, dbURL string) {
	eng := open(b, dbURL)
	app, problems := schema.Parse([]byte(hookDoc))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	if _, err := eng.DB.Apply(context.Background(), app, store.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	c := records.Caller{Admin: true}
	service := func(b *testing.B, entity, body string) {
		if _, err := eng.Records.Create(ctx, c, "hooks", entity, []byte(body)); err != nil {
			b.Fatal(err)
		}
	}
	t := serve(b, eng, nil)
	web := func(b *testing.B, entity, body string) {
		t.do(b, "POST", "/api/data/hooks/"+entity, body, 201, nil)
	}
	for _, layer := range []struct {
		name   string
		create func(b *testing.B, entity, body string)
	}{{"service", service}, {"http", web}} {
		b.Run(layer.name, func(b *testing.B) {
			for _, e := range hookEntities {
				layer.create(b, e, `{"title": "warm up", "amount": 1}`) // compile the app's logic
			}
			var spent [3]time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				body := fmt.Sprintf(`{"title": "Deal %d", "amount": "1234.50", "stage": "won"}`, i)
				for k, e := range hookEntities {
					start := time.Now()
					layer.create(b, e, body)
					spent[k] += time.Since(start)
				}
			}
			us := func(k int) float64 { return float64(spent[k].Microseconds()) / float64(b.N) }
			b.ReportMetric(us(0), "plain-µs")
			b.ReportMetric(us(1), "hooked-µs")
			b.ReportMetric(us(2), "computed-µs")
			b.ReportMetric(us(1)-us(0), "hook-added-µs")
			b.ReportMetric(us(2)-us(0), "formula-added-µs")
		})
	}
}
