package schema

import (
	"fmt"
	"strconv"
	"time"
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
