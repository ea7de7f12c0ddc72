package query

import (
	"testing"
	"time"
)

func TestResolvePeriod(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	// 2026-03-31 20:00 UTC is already April 1st in Shanghai.
	now := time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC)
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 0, 0, 0, 0, sh) }
	for _, c := range []struct {
		value    string
		from, to time.Time
		prevFrom time.Time
	}{
		{"today", d(2026, 4, 1), d(2026, 4, 2), d(2026, 3, 31)},
		{"yesterday", d(2026, 3, 31), d(2026, 4, 1), d(2026, 3, 30)},
		{"last7Days", d(2026, 3, 26), d(2026, 4, 2), d(2026, 3, 19)},
		{"last90Days", d(2026, 1, 2), d(2026, 4, 2), d(2025, 10, 4)},
		{"thisWeek", d(2026, 3, 30), d(2026, 4, 6), d(2026, 3, 23)}, // Monday to Monday
		{"thisMonth", d(2026, 4, 1), d(2026, 5, 1), d(2026, 3, 1)},
		{"lastMonth", d(2026, 3, 1), d(2026, 4, 1), d(2026, 2, 1)},
		{"thisQuarter", d(2026, 4, 1), d(2026, 7, 1), d(2026, 1, 1)},
		{"lastQuarter", d(2026, 1, 1), d(2026, 4, 1), d(2025, 10, 1)},
		{"thisYear", d(2026, 1, 1), d(2027, 1, 1), d(2025, 1, 1)},
		{"2026-02-01..2026-02-28", d(2026, 2, 1), d(2026, 3, 1), d(2026, 1, 1)},
		{"2026-02-10..2026-02-19", d(2026, 2, 10), d(2026, 2, 20), d(2026, 1, 31)},
	} {
		s, err := resolvePeriod(c.value, now, sh)
		if err != nil || !s.From.Equal(c.from) || !s.To.Equal(c.to) {
			t.Errorf("%s = %v..%v (%v), want %v..%v", c.value, s.From, s.To, err, c.from, c.to)
			continue
		}
		if p := s.previous(); !p.From.Equal(c.prevFrom) || !p.To.Equal(s.From) {
			t.Errorf("%s: previous = %v..%v, want %v..%v", c.value, p.From, p.To, c.prevFrom, s.From)
		}
	}
	if _, err := resolvePeriod("lastDecade", now, sh); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestBucketKeys(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Date(2026, 3, 8, 1, 30, 0, 0, ny) // the night clocks go forward
	for bucket, want := range map[string]string{"hour": "2026-03-08T01:00", "day": "2026-03-08", "week": "2026-03-02",
		"month": "2026-03", "quarter": "2026-Q1", "year": "2026"} {
		start := bucketStart(at, bucket)
		if got := bucketKey(start, bucket); got != want {
			t.Errorf("%s: %s, want %s", bucket, got, want)
		}
		if back, ok := parseBucketKey(want, bucket, ny); !ok || !back.Equal(start) {
			t.Errorf("%s: parse %s = %v, want %v", bucket, want, back, start)
		}
	}
	// Hours across the change: 01:00 is followed by 03:00.
	if n := nextBucket(bucketStart(at, "hour"), "hour"); n.Hour() != 3 {
		t.Errorf("next hour after 01:00 on the DST night = %v", n)
	}
	if _, ok := fixedOffset(ny, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("New York has one offset through March?")
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	if off, ok := fixedOffset(sh, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)); !ok || off != 8*3600 {
		t.Errorf("Shanghai: %d %v", off, ok)
	}
}
