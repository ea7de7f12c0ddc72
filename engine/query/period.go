package query

import (
	"fmt"
	"time"

	"github.com/formaapp/forma/schema"
)

// span is a half-open period [From, To) of local time in a zone.
type span struct {
	From, To time.Time
}

// resolvePeriod turns a daterange value (a preset or "from..to", both days
// included) into a span in loc, relative to now.
func resolvePeriod(value string, now time.Time, loc *time.Location) (span, error) {
	preset, days, err := schema.ParseDateRange(value)
	if err != nil {
		return span{}, err
	}
	if preset == "" {
		from := time.Date(days[0].Year(), days[0].Month(), days[0].Day(), 0, 0, 0, 0, loc)
		to := time.Date(days[1].Year(), days[1].Month(), days[1].Day()+1, 0, 0, 0, 0, loc)
		return span{from, to}, nil
	}
	n := now.In(loc)
	today := time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
	day := func(t time.Time, d int) time.Time { return time.Date(t.Year(), t.Month(), t.Day()+d, 0, 0, 0, 0, loc) }
	monday := day(today, -((int(today.Weekday()) + 6) % 7))
	month := time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc)
	quarter := time.Date(n.Year(), time.Month((int(n.Month())-1)/3*3+1), 1, 0, 0, 0, 0, loc)
	year := time.Date(n.Year(), 1, 1, 0, 0, 0, 0, loc)
	switch preset {
	case "today":
		return span{today, day(today, 1)}, nil
	case "yesterday":
		return span{day(today, -1), today}, nil
	case "last7Days":
		return span{day(today, -6), day(today, 1)}, nil
	case "last30Days":
		return span{day(today, -29), day(today, 1)}, nil
	case "last90Days":
		return span{day(today, -89), day(today, 1)}, nil
	case "thisWeek":
		return span{monday, day(monday, 7)}, nil
	case "lastWeek":
		return span{day(monday, -7), monday}, nil
	case "thisMonth":
		return span{month, month.AddDate(0, 1, 0)}, nil
	case "lastMonth":
		return span{month.AddDate(0, -1, 0), month}, nil
	case "thisQuarter":
		return span{quarter, quarter.AddDate(0, 3, 0)}, nil
	case "lastQuarter":
		return span{quarter.AddDate(0, -3, 0), quarter}, nil
	case "thisYear":
		return span{year, year.AddDate(1, 0, 0)}, nil
	case "lastYear":
		return span{year.AddDate(-1, 0, 0), year}, nil
	}
	return span{}, fmt.Errorf("unknown preset %q", preset)
}

// previous is the period just before s, of the same length: whole
// calendar months shift by months (this month → last month, this quarter →
// last quarter), anything else by its number of days.
func (s span) previous() span {
	if s.From.Day() == 1 && s.To.Day() == 1 && isMidnight(s.From) && isMidnight(s.To) {
		months := (s.To.Year()-s.From.Year())*12 + int(s.To.Month()) - int(s.From.Month())
		if months > 0 {
			return span{s.From.AddDate(0, -months, 0), s.From}
		}
	}
	if isMidnight(s.From) && isMidnight(s.To) {
		days := 0
		for t := s.From; t.Before(s.To); t = t.AddDate(0, 0, 1) {
			days++
		}
		return span{s.From.AddDate(0, 0, -days), s.From}
	}
	d := s.To.Sub(s.From)
	return span{s.From.Add(-d), s.From}
}

func isMidnight(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// bucketStart truncates local time t to the start of its bucket.
func bucketStart(t time.Time, bucket string) time.Time {
	loc := t.Location()
	switch bucket {
	case "hour":
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc)
	case "day":
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	case "week":
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case "month":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	case "quarter":
		return time.Date(t.Year(), time.Month((int(t.Month())-1)/3*3+1), 1, 0, 0, 0, 0, loc)
	}
	return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, loc)
}

// nextBucket is the start of the bucket after the one starting at t.
func nextBucket(t time.Time, bucket string) time.Time {
	switch bucket {
	case "hour":
		// Absolute time: the local hour after 01:00 on the night clocks go
		// forward is 03:00, and time.Date would not say which 02:00 it means.
		return t.Add(time.Hour)
	case "day":
		return t.AddDate(0, 0, 1)
	case "week":
		return t.AddDate(0, 0, 7)
	case "month":
		return t.AddDate(0, 1, 0)
	case "quarter":
		return t.AddDate(0, 3, 0)
	}
	return t.AddDate(1, 0, 0)
}

// bucketKey is how a bucket is named in results: 2026-01-31T23:00 (hour),
// 2026-01-31 (day; week: its Monday), 2026-01, 2026-Q1, 2026.
func bucketKey(t time.Time, bucket string) string {
	switch bucket {
	case "hour":
		return t.Format("2006-01-02T15:00")
	case "day", "week":
		return t.Format(time.DateOnly)
	case "month":
		return t.Format("2006-01")
	case "quarter":
		return fmt.Sprintf("%04d-Q%d", t.Year(), (int(t.Month())+2)/3)
	}
	return t.Format("2006")
}

// parseBucketKey is the inverse of bucketKey: the bucket's start in loc.
func parseBucketKey(key, bucket string, loc *time.Location) (time.Time, bool) {
	var layout string
	switch bucket {
	case "hour":
		layout = "2006-01-02T15:04"
	case "day", "week":
		layout = time.DateOnly
	case "month":
		layout = "2006-01"
	case "quarter":
		var y, q int
		if _, err := fmt.Sscanf(key, "%04d-Q%d", &y, &q); err != nil || q < 1 || q > 4 {
			return time.Time{}, false
		}
		return time.Date(y, time.Month(q*3-2), 1, 0, 0, 0, 0, loc), true
	default:
		layout = "2006"
	}
	t, err := time.ParseInLocation(layout, key, loc)
	return t, err == nil
}
