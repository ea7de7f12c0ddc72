package automation

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/schema"
)

// MaxOffset bounds a timer's offset either way: a year and a day, so a
// yearly renewal reminder fits and a typo ("720d") is refused.
const MaxOffset = 366 * 24 * time.Hour

// ParseOffset reads a timer offset: an optional sign, then whole numbers of
// days, hours and minutes, each unit at most once and in that order ("4h",
// "72h", "3d", "1d12h", "-30m", "90m"). Zero ("0m") is allowed: the timer
// fires at the field's own time.
func ParseOffset(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("an offset is required, such as \"4h\", \"3d\" or \"-30m\"")
	}
	if len(s) > 32 {
		return 0, fmt.Errorf("offset %q is too long", s[:32]+"…")
	}
	rest, neg := s, false
	switch rest[0] {
	case '-':
		rest, neg = rest[1:], true
	case '+':
		rest = rest[1:]
	}
	if rest == "" {
		return 0, fmt.Errorf("offset %q has no amount; write it like \"4h\", \"3d\", \"1d12h\" or \"-30m\"", s)
	}
	units := []struct {
		c byte
		d time.Duration
	}{{'d', 24 * time.Hour}, {'h', time.Hour}, {'m', time.Minute}}
	var total time.Duration
	next := 0 // the first unit still allowed
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("offset %q is not a duration such as \"4h\", \"3d\", \"1d12h\" or \"-30m\"", s)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64(MaxOffset/time.Minute) {
			return 0, fmt.Errorf("offset %q is more than 366 days", s)
		}
		u := -1
		for k := next; k < len(units); k++ {
			if units[k].c == rest[i] {
				u = k
				break
			}
		}
		if u < 0 {
			return 0, fmt.Errorf("offset %q: units are d, h and m, each once and in that order (\"1d12h30m\")", s)
		}
		total += time.Duration(n) * units[u].d
		if total > MaxOffset {
			return 0, fmt.Errorf("offset %q is more than 366 days", s)
		}
		next = u + 1
		rest = rest[i+1:]
	}
	if neg {
		total = -total
	}
	return total, nil
}

func (s *Service) registerTimers(ctx context.Context) error { return nil }

// timerField returns the type of the field a timer may count from: a date
// or datetime field (a formula or rollup returning one counts), or the
// record's created_at or updated_at; ok is false for any other name.
func timerField(e *schema.Entity, name string) (schema.FieldType, bool) {
	if t, sys := schema.SystemColumnType(name); sys {
		return t, t == schema.DateTime
	}
	f := e.Field(name)
	if f == nil {
		return "", false
	}
	t := f.Type
	if f.Returns != "" {
		t = f.Returns
	}
	return t, t == schema.Date || t == schema.DateTime
}

// checkTimer adds the problems of timer automation i (offset, field,
// unless) to p; CheckApp calls it for every timer trigger.
//
// The unless filter is only parsed here: compiling it against the entity
// (unknown fields, wrong types) needs the records service, which CheckApp
// has.
// TODO(core): in CheckApp, compile Trigger.Unless (and the schedule's
// Trigger.Filter) with s.records.CheckFilter(app, a.Entity, node) and
// report at /automations/i/trigger/unless (…/filter).
func checkTimer(app *schema.App, i int, a *schema.Automation, p *schema.Problems) {
	tp := fmt.Sprintf("/automations/%d/trigger", i)
	t := &a.Trigger
	if t.Field == "" {
		p.Add(tp+"/field", "a timer trigger needs the date or datetime field it counts from")
	} else if e := app.Entity(a.Entity); e != nil {
		// An unknown entity is reported at /automations/i/entity by the
		// schema's checks.
		if typ, ok := timerField(e, t.Field); !ok {
			if typ == "" {
				names := []string{"created_at", "updated_at"}
				for _, f := range e.Fields {
					if _, ok := timerField(e, f.Name); ok {
						names = append(names, f.Name)
					}
				}
				p.Add(tp+"/field", "unknown field %q: entity %q has no such date or datetime field%s", t.Field, e.Name, didYouMean(t.Field, names))
			} else {
				p.Add(tp+"/field", "field %q is a %s field; a timer counts from a date or datetime field", t.Field, typ)
			}
		}
	}
	if _, err := ParseOffset(t.Offset); err != nil {
		p.Add(tp+"/offset", "%v", err)
	}
	if t.Unless != "" {
		if _, err := filter.Parse(t.Unless); err != nil {
			p.Add(tp+"/unless", "%v", err)
		}
	}
	for _, x := range []struct {
		name string
		set  bool
	}{{"cron", t.Cron != ""}, {"timeZone", t.TimeZone != ""}, {"filter", t.Filter != ""},
		{"from", len(t.From) > 0}, {"to", len(t.To) > 0}, {"flow", t.Flow != ""}, {"transition", t.Transition != ""}} {
		if x.set {
			p.Add(tp+"/"+x.name, "a timer trigger takes no %s", x.name)
		}
	}
}

// didYouMean suggests the candidate closest to s, as ` (did you mean "x"?)`,
// or "" when none is close: the wording of the schema's own checks.
func didYouMean(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if c == "" || c == s {
			continue
		}
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		if d < bestD && d <= len(c)/2 {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return ` (did you mean "` + best + `"?)`
}

// editDistance is the Levenshtein distance between a and b in bytes,
// capped for long inputs (a document's names are short).
func editDistance(a, b string) int {
	if len(a) > 100 || len(b) > 100 {
		return 100
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
