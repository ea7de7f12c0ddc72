package automation

import (
	"context"

	"github.com/formaapp/forma/schema"
)

// CheckApp returns what is wrong with app's automations beyond what
// schema.Check finds (filters, crons, webhook addresses), each problem at
// its JSON pointer, so a bad automation is refused when the app is applied.
func (s *Service) CheckApp(ctx context.Context, app *schema.App) schema.Problems {
	var p schema.Problems
	for i := range app.Automations {
		a := &app.Automations[i]
		switch a.Trigger.Type {
		case schema.TriggerTimer:
			checkTimer(app, i, a, &p)
		case schema.TriggerSchedule:
			checkSchedule(app, i, a, &p)
		}
	}
	return p
}
