package automation

import (
	"fmt"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/schema"
)

// parseSchedule reads a schedule trigger's cron (five fields: minute hour
// day-of-month month day-of-week) in its time zone (default UTC).
// Descriptors (@daily, @every 10s) and a TZ= prefix are refused: the
// document says the time zone in timeZone, and a schedule fires on the
// minute at most.
func parseSchedule(t *schema.Trigger) (*jobs.Schedule, error) {
	loc, err := scheduleZone(t.TimeZone)
	if err != nil {
		return nil, err
	}
	return parseCron(t.Cron, loc)
}

func parseCron(spec string, loc *time.Location) (*jobs.Schedule, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("a schedule trigger needs a cron such as \"0 9 * * 1\" (minute hour day month weekday)")
	}
	if len(spec) > 200 {
		return nil, fmt.Errorf("cron is longer than 200 bytes")
	}
	if f := strings.Fields(spec); len(f) != 5 || strings.ContainsAny(spec, "@=") {
		return nil, fmt.Errorf("cron %q must have five fields: minute hour day-of-month month day-of-week (\"0 9 * * 1\" is Mondays at 09:00)", spec)
	}
	s, err := jobs.ParseCron(spec, loc)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func scheduleZone(name string) (*time.Location, error) {
	if name == "Local" {
		// The server's own zone would make the rule mean different times
		// on different servers.
		return nil, fmt.Errorf("time zone %q depends on the server; name a zone such as Asia/Shanghai", name)
	}
	return schema.LoadTimeZone(name)
}

// checkSchedule adds the problems of schedule automation i (cron, time
// zone, filter) to p; CheckApp calls it for every schedule trigger. The
// filter is only parsed here (see the TODO on checkTimer).
func checkSchedule(app *schema.App, i int, a *schema.Automation, p *schema.Problems) {
	tp := fmt.Sprintf("/automations/%d/trigger", i)
	t := &a.Trigger
	loc, err := scheduleZone(t.TimeZone)
	if err != nil {
		p.Add(tp+"/timeZone", "%v", err)
		loc = time.UTC
	}
	if _, err := parseCron(t.Cron, loc); err != nil {
		p.Add(tp+"/cron", "%v", err)
	}
	if t.Filter != "" {
		if _, err := filter.Parse(t.Filter); err != nil {
			p.Add(tp+"/filter", "%v", err)
		}
	}
	for _, x := range []struct {
		name string
		set  bool
	}{{"field", t.Field != ""}, {"offset", t.Offset != ""}, {"unless", t.Unless != ""},
		{"from", len(t.From) > 0}, {"to", len(t.To) > 0}, {"flow", t.Flow != ""}, {"transition", t.Transition != ""}} {
		if x.set {
			p.Add(tp+"/"+x.name, "a schedule trigger takes no %s", x.name)
		}
	}
}
