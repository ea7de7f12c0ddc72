package templates_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

// figures flattens a dashboard answer into "widget/key…/measure" → value
// (a KPI's first row is also "widget" alone for its first measure), naming
// the measures from the app document's widget.
func (s *scen) figures(dash string, answer map[string]any) map[string]decimal.Decimal {
	s.t.Helper()
	out := map[string]decimal.Decimal{}
	var def map[string][]string // widget → measure names
	for _, d := range s.app.Dashboards {
		if d.Name != dash {
			continue
		}
		def = map[string][]string{}
		for _, w := range d.Widgets {
			for _, m := range w.Query.Measures {
				def[w.ID] = append(def[w.ID], m.Name)
			}
		}
	}
	if def == nil {
		s.t.Fatalf("no dashboard %s", dash)
	}
	ws, _ := answer["widgets"].([]any)
	for _, w := range ws {
		m := w.(map[string]any)
		id := str(m["id"])
		if m["error"] != nil {
			s.t.Fatalf("%s/%s: %v", dash, id, m["error"])
		}
		rows, _ := m["rows"].([]any)
		for i, r := range rows {
			row := r.(map[string]any)
			var ks []string
			keys, _ := row["keys"].([]any)
			for _, k := range keys {
				ks = append(ks, str(k))
			}
			vals, _ := row["values"].([]any)
			for j, v := range vals {
				if j >= len(def[id]) {
					break
				}
				name := strings.Join(append(append([]string{id}, ks...), def[id][j]), "/")
				out[name] = dec(s.t, v)
				if len(ks) == 0 && i == 0 && j == 0 {
					out[id] = dec(s.t, v)
				}
			}
		}
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
