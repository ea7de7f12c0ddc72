package logic

import (
	"context"
	"testing"

	"github.com/formaapp/forma/schema"
)

const benchDoc = `{"name": "b", "entities": [{"name": "deal", "fields": [
  {"id": "f1", "name": "amount", "type": "decimal"},
  {"id": "f2", "name": "probability", "type": "integer"},
  {"id": "f3", "name": "stage", "type": "text"},
  {"id": "f4", "name": "weighted", "type": "formula", "expr": "round(amount * probability / 100, 2)"},
  {"id": "f5", "name": "label", "type": "formula", "expr": "concat(upper(stage), ' ', weighted)", "returns": "text"},
  {"id": "f6", "name": "big", "type": "formula", "expr": "weighted > 1000", "returns": "boolean"}]}]}`

// BenchmarkCompute evaluates an entity's three formulas on one record per
// op, on one goroutine: formulas/s is evaluations per second on one core.
func BenchmarkCompute(b *testing.B) {
	app, problems := schema.Parse([]byte(benchDoc))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	p, problems := Compile(app)
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	rec := map[string]any{"amount": 12500.5, "probability": 40, "stage": "proposal"}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := p.Compute(ctx, "deal", rec)
		if err != nil || len(out.Problems) > 0 {
			b.Fatal(err, out.Problems)
		}
	}
	b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "formulas/s")
}
