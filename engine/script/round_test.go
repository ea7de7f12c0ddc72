package script

import (
	"context"
	"math/rand"
	"testing"
	"time"
)

// round's fast path agrees with the decimal-shift rounding it short-cuts,
// on money-like values that are full of ties and near-ties.
func TestRoundFastPath(t *testing.T) {
	e := mustNew(t, map[string]string{"r.js": `
function shift(x, d) {
  if (d === 0) return x;
  const s = String(x), i = s.indexOf("e");
  if (i < 0) return Number(s + "e" + d);
  return Number(s.slice(0, i) + "e" + (Number(s.slice(i + 1)) + d));
}
function slow(x, d) {
  const r = Math.round(shift(Math.abs(x), d));
  const v = (x < 0 ? -1 : 1) * shift(r, -d);
  return v === 0 ? 0 : v;
}
function r(a) {
  const bad = [];
  for (const x of a.xs) for (let d = 0; d <= 4; d++) if (round(x, d) !== slow(x, d)) bad.push([x, d, round(x, d), slow(x, d)]);
  return bad.slice(0, 5);
}`}, Options{Timeout: 5 * time.Second})
	rng := rand.New(rand.NewSource(1))
	xs := make([]any, 0, 20000)
	for i := 0; i < 20000; i++ {
		var x float64
		switch i % 5 {
		case 0:
			x = float64(rng.Intn(10000000)) / 1000
		case 1:
			x = float64(rng.Intn(100000))/100 + 0.005
		case 2:
			x = rng.Float64() * 1e6
		case 3:
			x = -float64(rng.Intn(1000000)) / 10000
		default:
			x = float64(rng.Intn(1000)) * 1.005
		}
		xs = append(xs, x)
	}
	out, _, err := e.Call(context.Background(), "r.js", "r", map[string]any{"xs": xs}, Env{})
	if err != nil {
		t.Fatal(err)
	}
	if bad := out.([]any); len(bad) > 0 {
		t.Fatalf("fast and decimal-shift rounding differ: %v", bad)
	}
}
