package openapi

import (
	"strconv"
	"strings"
	"unicode"
)

// Component names fixed by the document, whatever the app declares.
const (
	errorSchemaName = "Error"
	securityScheme  = "bearerAuth"
	expandProp      = "expand"
)

// derived are the suffixes of the schemas generated for each entity.
var derived = []string{"", "Input", "Patch", "List"}

// flowDerived are the suffixes added for each entity of an app with flows.
var flowDerived = []string{"Take", "Taken"}

// namer hands out component schema base names that are Go identifiers and
// never collide: entity "sales_order" is "SalesOrder" (with SalesOrderInput,
// SalesOrderPatch, SalesOrderList); a clash, e.g. with an entity named
// "sales_order_input" or "error", gets a numeric suffix.
type namer struct {
	used    map[string]bool
	derived []string
}

// newNamer returns a namer; flows reserves the flow components' names and
// the suffixes of the transition routes' schemas, assignments the
// assignment components' names.
func newNamer(flows, assignments bool) *namer {
	n := &namer{used: map[string]bool{errorSchemaName: true}, derived: derived}
	if assignments {
		for _, r := range assignComponents {
			n.used[r] = true
		}
	}
	if flows {
		for _, r := range flowComponents {
			n.used[r] = true
		}
		n.derived = append(append([]string{}, derived...), flowDerived...)
	}
	return n
}

func (n *namer) entity(name string) string {
	base := pascal(name)
	for i := 1; ; i++ {
		cand := base
		if i > 1 {
			cand += strconv.Itoa(i)
		}
		free := true
		for _, s := range n.derived {
			if n.used[cand+s] {
				free = false
				break
			}
		}
		if free {
			for _, s := range n.derived {
				n.used[cand+s] = true
			}
			return cand
		}
	}
}

// pascal turns a snake_case name into PascalCase, dropping anything that is
// not a letter or digit and making sure the result starts with a letter.
func pascal(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if up {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	s := b.String()
	if s == "" || !unicode.IsLetter(rune(s[0])) {
		s = "E" + s
	}
	return s
}
