package assign

import (
	"context"
	"math"
	"sync"

	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/schema"
)

// scorers evaluate score expressions in the script sandbox: one generated
// script per expression text, compiled once, whose one function maps an
// array of candidates' statistics to their scores — one sandbox call per
// decision, however many candidates.
type scorers struct {
	mu   sync.Mutex
	engs map[string]*script.Engine // expression text → engine
}

// score sets the Score of each candidate from its Stats by expr (nil
// where the expression gives no finite number).
func (x *scorers) score(ctx context.Context, expr string, cs []Candidate) error {
	if len(cs) == 0 {
		return nil
	}
	eng, err := x.engine(expr)
	if err != nil {
		return err
	}
	rows := make([]any, len(cs))
	for i, c := range cs {
		row := make(map[string]any, len(c.Stats))
		for k, v := range c.Stats {
			if v == nil {
				row[k] = nil
			} else {
				row[k] = *v
			}
		}
		rows[i] = row
	}
	out, err := eng.Invoke(ctx, "score", "scoreAll", []any{rows}, script.Env{})
	if err != nil {
		return err
	}
	list, _ := out.Result.([]any)
	for i := range cs {
		cs[i].Score = nil
		if i >= len(list) {
			continue
		}
		var v float64
		switch n := list[i].(type) {
		case int64:
			v = float64(n)
		case float64:
			v = n
		case bool:
			if n {
				v = 1
			}
		default:
			continue
		}
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			cs[i].Score = &v
		}
	}
	return nil
}

// engine returns the compiled script of expr.
func (x *scorers) engine(expr string) (*script.Engine, error) {
	x.mu.Lock()
	eng := x.engs[expr]
	x.mu.Unlock()
	if eng != nil {
		return eng, nil
	}
	refs, err := schema.FormulaRefs(expr)
	if err != nil {
		return nil, err
	}
	src := "function scoreAll(rows) { return rows.map(function (r) { return " + script.Bind(expr, refs, "r") + "; }); }"
	if eng, err = script.New(map[string]string{"score": src}, script.Options{PoolSize: 2, Reuse: []string{"score"}}); err != nil {
		return nil, err
	}
	x.mu.Lock()
	if x.engs == nil || len(x.engs) > 500 { // bounded: documents change, texts pile up
		x.engs = map[string]*script.Engine{}
	}
	x.engs[expr] = eng
	x.mu.Unlock()
	return eng, nil
}
