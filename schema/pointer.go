package schema

import (
	"sort"
	"strconv"
	"strings"
)

// ptr builds a JSON pointer from segments: ptr("entities", 1, "fields") is
// "/entities/1/fields". String segments are escaped (RFC 6901).
func ptr(segs ...any) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		switch s := s.(type) {
		case int:
			b.WriteString(strconv.Itoa(s))
		case string:
			b.WriteString(escapePtr(s))
		}
	}
	return b.String()
}

var (
	ptrEscaper   = strings.NewReplacer("~", "~0", "/", "~1")
	ptrUnescaper = strings.NewReplacer("~1", "/", "~0", "~")
)

// escapePtr escapes one JSON pointer segment.
func escapePtr(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return ptrEscaper.Replace(s)
}

// unescapePtr undoes escapePtr.
func unescapePtr(s string) string {
	if !strings.Contains(s, "~") {
		return s
	}
	return ptrUnescaper.Replace(s)
}

// splitPtr splits a JSON pointer into unescaped segments; "" has none.
func splitPtr(p string) []string {
	if p == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i := range parts {
		parts[i] = unescapePtr(parts[i])
	}
	return parts
}

// lookupPtr returns the value at pointer p inside a decoded JSON value.
func lookupPtr(v any, p string) (any, bool) {
	for _, seg := range splitPtr(p) {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// keyOrder ranks the keys of an app document in the order the Go types (and
// well-written documents) give them, so problems read top to bottom.
var keyOrder = func() map[string]int {
	keys := []string{"id", "name", "label", "description", "version", "type", "required", "unique",
		"maxLength", "min", "max", "precision", "scale", "options", "default", "entity", "onDelete",
		"expr", "returns", "rollup", "via", "op", "field", "filter", "entities", "fields", "indexes",
		"hooks", "scripts", "forms", "flows", "automations", "dashboards", "roles",
		"beforeSave", "afterSave", "beforeDelete", "afterDelete"}
	m := make(map[string]int, len(keys))
	for i, k := range keys {
		m[k] = i + 1
	}
	return m
}()

// comparePtr orders JSON pointers as a reader meets them in a document:
// segment by segment, array indexes numerically, known keys in the order of
// the Go types, a parent before its children.
func comparePtr(a, b string) int {
	as, bs := splitPtr(a), splitPtr(b)
	for i := 0; i < len(as) && i < len(bs); i++ {
		if as[i] == bs[i] {
			continue
		}
		ai, aerr := strconv.Atoi(as[i])
		bi, berr := strconv.Atoi(bs[i])
		if aerr == nil && berr == nil {
			if ai < bi {
				return -1
			}
			return 1
		}
		ar, br := keyOrder[as[i]], keyOrder[bs[i]]
		if ar == 0 {
			ar = len(keyOrder) + 1
		}
		if br == 0 {
			br = len(keyOrder) + 1
		}
		if ar != br {
			return ar - br
		}
		return strings.Compare(as[i], bs[i])
	}
	return len(as) - len(bs)
}

// sortProblems orders problems by path, keeping the order of problems that
// share a path.
func sortProblems(p Problems) {
	sort.SliceStable(p, func(i, j int) bool { return comparePtr(p[i].Path, p[j].Path) < 0 })
}

// quote is strconv.Quote.
func quote(s string) string { return strconv.Quote(s) }

// DidYouMean suggests the candidate closest to s, as ` (did you mean "x"?)`,
// or returns "" when none is close: the wording of every "unknown name"
// problem, in schema and in the engine's checks alike.
func DidYouMean(s string, candidates []string) string { return didYouMean(s, candidates) }

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
	return " (did you mean " + quote(best) + "?)"
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours, in bytes.
func editDistance(a, b string) int {
	if len(a) > 100 || len(b) > 100 {
		return 100
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
