package automation

import "github.com/formaapp/forma/schema"

// checkSchedule adds the problems of schedule automation i (cron, time
// zone, filter) to p; CheckApp calls it for every schedule trigger.
func checkSchedule(app *schema.App, i int, a *schema.Automation, p *schema.Problems) {}
