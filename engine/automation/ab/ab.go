// Package ab is the arithmetic of an automation's A/B variants: which
// variant a record gets (Pick) and whether a variant's goal rate differs
// from the control's (Compare).
package ab

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
)

// Pick returns the index of the variant the record gets, with probability
// weights[i] / sum(weights). It is a pure function of (automation,
// recordID, weights): a retried run, or a run on another node, picks the
// same variant, so the stored variant never disagrees with a recomputed
// one.
//
// Weights must be positive: the app check refuses a zero or negative
// weight, so Pick does not define a meaning for one beyond never picking
// it. Pick returns -1 when no weight is positive (nothing can be picked).
func Pick(automation, recordID string, weights []int) int {
	var total uint64
	for _, w := range weights {
		if w > 0 {
			total += uint64(w)
		}
	}
	if total == 0 {
		return -1
	}
	// The NUL separator keeps ("ab", "c") and ("a", "bc") apart; names and
	// record ids never hold one.
	seed := make([]byte, 0, len(automation)+len(recordID)+2)
	seed = append(seed, automation...)
	seed = append(seed, 0)
	seed = append(seed, recordID...)
	// Rejection keeps the draw exactly uniform over [0, total): values at
	// or above the largest multiple of total are redrawn from a re-hash.
	// With weights summing to hundreds the chance of a redraw is ~1e-17,
	// so this is about being exact, not about speed.
	limit := math.MaxUint64 - math.MaxUint64%total
	sum := sha256.Sum256(seed)
	v := binary.BigEndian.Uint64(sum[:8])
	for v >= limit {
		sum = sha256.Sum256(sum[:])
		v = binary.BigEndian.Uint64(sum[:8])
	}
	r := v % total
	for i, w := range weights {
		if w <= 0 {
			continue
		}
		if r < uint64(w) {
			return i
		}
		r -= uint64(w)
	}
	return -1 // unreachable: r < total
}

// Arm is one variant's outcome: how many records got it and how many of
// those reached the goal.
type Arm struct {
	Records, Reached int64
}

// Alpha is the significance level Compare uses.
const Alpha = 0.05

// Comparison is the result of a two-proportion z-test of an arm against
// the control.
type Comparison struct {
	Z, P        float64
	Significant bool
}

// Compare runs a pooled two-proportion z-test, two-sided, at Alpha: is the
// arm's goal rate different from the control's? Z is positive when the arm
// does better. P comes from the normal distribution (erfc), which is
// accurate when each arm has a few successes and failures; a report shows
// the counts next to it.
//
// Degenerate inputs give Z = 0, P = 1, not significant, never NaN: an arm
// with no records, or a pooled rate of 0 or 1 (nobody, or everybody,
// reached the goal — there is no difference to test). Counts out of range
// (negative, or Reached > Records) are clamped.
func Compare(control, arm Arm) Comparison {
	n1, x1 := clamp(control)
	n2, x2 := clamp(arm)
	none := Comparison{Z: 0, P: 1}
	if n1 == 0 || n2 == 0 {
		return none
	}
	p1, p2 := x1/n1, x2/n2
	pooled := (x1 + x2) / (n1 + n2)
	se := math.Sqrt(pooled * (1 - pooled) * (1/n1 + 1/n2))
	if !(se > 0) || math.IsInf(se, 0) {
		return none
	}
	z := (p2 - p1) / se
	p := math.Erfc(math.Abs(z) / math.Sqrt2)
	if math.IsNaN(z) || math.IsNaN(p) {
		return none
	}
	return Comparison{Z: z, P: p, Significant: p < Alpha}
}

func clamp(a Arm) (n, x float64) {
	r, g := a.Records, a.Reached
	if r < 0 {
		r = 0
	}
	if g < 0 {
		g = 0
	}
	if g > r {
		g = r
	}
	return float64(r), float64(g)
}
