package automation

import (
	"strings"
	"testing"

	"github.com/formaapp/forma/schema"
)

func TestCheckSchedule(t *testing.T) {
	cases := []struct {
		name string
		trig schema.Trigger
		want map[string]string
	}{
		{"ok", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "Asia/Shanghai", Filter: `title != "x"`}, nil},
		{"utc default", schema.Trigger{Type: "schedule", Cron: "30 7 * * 1-5"}, nil},
		{"no cron", schema.Trigger{Type: "schedule"}, map[string]string{"/automations/1/trigger/cron": "needs a cron"}},
		{"garbage cron", schema.Trigger{Type: "schedule", Cron: "every monday"}, map[string]string{"/automations/1/trigger/cron": "five fields"}},
		{"six fields", schema.Trigger{Type: "schedule", Cron: "0 0 9 * * 1"}, map[string]string{"/automations/1/trigger/cron": "five fields"}},
		{"out of range", schema.Trigger{Type: "schedule", Cron: "61 9 * * 1"}, map[string]string{"/automations/1/trigger/cron": "cron spec"}},
		{"descriptor", schema.Trigger{Type: "schedule", Cron: "@every 1s"}, map[string]string{"/automations/1/trigger/cron": "five fields"}},
		{"tz prefix", schema.Trigger{Type: "schedule", Cron: "CRON_TZ=UTC 0 9 * * 1"}, map[string]string{"/automations/1/trigger/cron": "five fields"}},
		{"huge", schema.Trigger{Type: "schedule", Cron: strings.Repeat("1,", 200) + "1 * * * *"}, map[string]string{"/automations/1/trigger/cron": "longer"}},
		{"bad zone", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "Mars/Olympus"}, map[string]string{"/automations/1/trigger/timeZone": "unknown time zone"}},
		{"zone injection", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "UTC'; DROP TABLE x; --"}, map[string]string{"/automations/1/trigger/timeZone": "not a time zone"}},
		{"local zone", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "Local"}, map[string]string{"/automations/1/trigger/timeZone": "depends on the server"}},
		{"path zone", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", TimeZone: "../../etc/passwd"}, map[string]string{"/automations/1/trigger/timeZone": "not a time zone"}},
		{"bad filter", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", Filter: `stage = `}, map[string]string{"/automations/1/trigger/filter": "position"}},
		{"timer keys", schema.Trigger{Type: "schedule", Cron: "0 9 * * 1", Field: "opened_at", Offset: "1h", Unless: "x = 1"},
			map[string]string{"/automations/1/trigger/field": "takes no", "/automations/1/trigger/offset": "takes no", "/automations/1/trigger/unless": "takes no"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &schema.Automation{Name: "x", Entity: "quote", Trigger: c.trig}
			var p schema.Problems
			checkSchedule(timerApp(), 1, a, &p)
			problemsAt(t, p, c.want)
		})
	}
}
