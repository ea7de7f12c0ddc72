package records

import (
	"math"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestScaledText(t *testing.T) {
	for _, c := range []struct {
		v     int64
		scale int
		want  string
	}{
		{0, 2, "0.00"}, {5, 2, "0.05"}, {-5, 2, "-0.05"}, {150, 2, "1.50"}, {-123456, 3, "-123.456"},
		{42, 0, "42"}, {-42, 0, "-42"}, {1, 18, "0.000000000000000001"},
		{math.MaxInt64, 2, "92233720368547758.07"}, {math.MinInt64, 2, "-92233720368547758.08"},
	} {
		if got := scaledText(c.v, c.scale); got != c.want {
			t.Errorf("scaledText(%d, %d) = %s, want %s", c.v, c.scale, got, c.want)
		}
		if want := decimal.New(c.v, -int32(c.scale)).StringFixed(int32(c.scale)); want != c.want {
			t.Errorf("case %d/%d disagrees with shopspring: %s", c.v, c.scale, want)
		}
	}
}

func TestDatetimeText(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 21, 23, 59, 59, 999999000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 1, 2, 3, 4000, time.FixedZone("CST", 8*3600)),
	} {
		s := string(appendDatetimeText(nil, tm))
		if want := tm.UTC().Format(datetimeText); s != want {
			t.Errorf("format %v = %s, want %s", tm, s, want)
		}
		back, ok := parseDatetimeText(s)
		if !ok || !back.Equal(tm) {
			t.Errorf("parse %s = %v %v", s, back, ok)
		}
	}
	for _, bad := range []string{"", "2026-11-21T23:59:59Z", "2026-11-21T23:59:59.00000xZ", "2026-11-21 23:59:59.000000Z"} {
		if _, ok := parseDatetimeText(bad); ok {
			t.Errorf("parseDatetimeText(%q) accepted", bad)
		}
	}
}

// A decimal PostgreSQL answered is used as it is only when StringFixed
// would write the same text; anything else takes the slow path.
func TestFixedDecimal(t *testing.T) {
	for _, c := range []struct {
		s     string
		scale int
	}{
		{"0.00", 2}, {"1.25", 2}, {"-1.25", 2}, {"12345.678", 3}, {"42", 0}, {"-42", 0}, {"0", 0},
		{"1.2", 2}, {"1.250", 2}, {"01.25", 2}, {"-0.00", 2}, {"1e3", 0}, {"1,25", 2}, {".25", 2}, {"", 0},
		{"-", 0}, {"1.", 0}, {"NaN", 0}, {"+1.25", 2}, {"00", 0}, {"-0", 0}, {"1 25", 2}, {"1.2x", 2},
	} {
		want := false
		if d, err := decimal.NewFromString(c.s); err == nil {
			want = d.StringFixed(int32(c.scale)) == c.s
		}
		if got := fixedDecimal(c.s, c.scale); got != want {
			t.Errorf("fixedDecimal(%q, %d) = %v, want %v", c.s, c.scale, got, want)
		}
	}
}
