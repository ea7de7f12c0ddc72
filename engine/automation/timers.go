package automation

import (
	"context"

	"github.com/formaapp/forma/schema"
)

func (s *Service) registerTimers(ctx context.Context) error { return nil }

// checkTimer adds the problems of timer automation i (offset, field,
// unless) to p; CheckApp calls it for every timer trigger.
func checkTimer(app *schema.App, i int, a *schema.Automation, p *schema.Problems) {}
