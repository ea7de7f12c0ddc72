package query

import (
	"fmt"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/schema"
)

// CheckApp compiles every widget filter of app against its entity, with
// the dashboard's parameters standing in as values, so a filter mistake is
// refused when the app is applied (schema.Check has checked the rest).
func (e *Engine) CheckApp(app *schema.App) schema.Problems {
	var problems schema.Problems
	for i := range app.Dashboards {
		d := &app.Dashboards[i]
		params := map[string]string{}
		for _, p := range d.Params {
			params[p.Name] = "x" // a ref or user id stands in for any value
		}
		for j := range d.Widgets {
			q := &d.Widgets[j].Query
			if q.Filter == "" || app.Entity(q.Entity) == nil {
				continue
			}
			path := fmt.Sprintf("/dashboards/%d/widgets/%d/query/filter", i, j)
			n, err := filter.Parse(q.Filter)
			if err == nil {
				if b := bind(n, params); b != nil {
					err = e.Records.CheckFilter(app, q.Entity, b)
				}
			}
			if err != nil {
				problems.AddCode(path, "expression", nil, "%v", err)
			}
		}
	}
	return problems
}
