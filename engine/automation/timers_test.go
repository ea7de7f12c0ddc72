package automation

import (
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/schema"
)

func TestParseOffset(t *testing.T) {
	good := map[string]time.Duration{
		"4h":       4 * time.Hour,
		"72h":      72 * time.Hour,
		"3d":       72 * time.Hour,
		"1d12h":    36 * time.Hour,
		"-30m":     -30 * time.Minute,
		"90m":      90 * time.Minute,
		"+2h":      2 * time.Hour,
		"1d2h3m":   26*time.Hour + 3*time.Minute,
		"0m":       0,
		"366d":     366 * 24 * time.Hour,
		"-366d":    -366 * 24 * time.Hour,
		"8784h":    366 * 24 * time.Hour,
		"527040m":  366 * 24 * time.Hour,
		"0001h":    time.Hour,
		"365d23h":  365*24*time.Hour + 23*time.Hour,
		"-1d0h30m": -(24*time.Hour + 30*time.Minute),
	}
	for in, want := range good {
		got, err := ParseOffset(in)
		if err != nil || got != want {
			t.Errorf("ParseOffset(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := []string{"", "-", "+", "h", "4", "4x", "4H", "4 h", " 4h", "4h ", "4s", "1h1d", "4h4h", "1.5h",
		"367d", "366d1m", "8785h", "-367d", "99999999999999999999d", "9223372036854775807m", "--4h", "4h-", "4h;DROP TABLE x",
		"４h", "4h\x00", strings.Repeat("1", 40) + "h", "P1D", "1w", "1y"}
	for _, in := range bad {
		if d, err := ParseOffset(in); err == nil {
			t.Errorf("ParseOffset(%q) = %v, want an error", in, d)
		}
	}
}

func timerApp() *schema.App {
	return &schema.App{Name: "sales", Entities: []schema.Entity{{Name: "quote", Fields: []schema.Field{
		{Name: "title", Type: schema.Text},
		{Name: "opened_at", Type: schema.DateTime},
		{Name: "due_on", Type: schema.Date},
		{Name: "replied_at", Type: schema.DateTime},
		{Name: "next_call", Type: schema.Formula, Expr: "opened_at", Returns: schema.DateTime},
	}}}}
}

// problemsAt checks that ps has exactly one problem per wanted path, each
// message containing its wanted text.
func problemsAt(t *testing.T, ps schema.Problems, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, p := range ps {
		if _, dup := got[p.Path]; dup {
			t.Errorf("two problems at %s: %v", p.Path, ps)
		}
		got[p.Path] = p.Message
	}
	for path, text := range want {
		msg, ok := got[path]
		if !ok {
			t.Errorf("no problem at %s; got %v", path, ps)
			continue
		}
		if !strings.Contains(msg, text) {
			t.Errorf("problem at %s = %q, want it to say %q", path, msg, text)
		}
		delete(got, path)
	}
	for path, msg := range got {
		t.Errorf("unexpected problem at %s: %s", path, msg)
	}
}

func TestCheckTimer(t *testing.T) {
	cases := []struct {
		name string
		trig schema.Trigger
		want map[string]string
	}{
		{"ok", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "72h", Unless: `replied_at != null`}, nil},
		{"date field", schema.Trigger{Type: "timer", Field: "due_on", Offset: "-1d"}, nil},
		{"formula returning datetime", schema.Trigger{Type: "timer", Field: "next_call", Offset: "0m"}, nil},
		{"system column", schema.Trigger{Type: "timer", Field: "created_at", Offset: "4h"}, nil},
		{"no field", schema.Trigger{Type: "timer", Offset: "4h"}, map[string]string{"/automations/3/trigger/field": "needs the date or datetime field"}},
		{"unknown field", schema.Trigger{Type: "timer", Field: "opend_at", Offset: "4h"},
			map[string]string{"/automations/3/trigger/field": `did you mean "opened_at"?`}},
		{"text field", schema.Trigger{Type: "timer", Field: "title", Offset: "4h"},
			map[string]string{"/automations/3/trigger/field": "is a text field"}},
		{"owner is no date", schema.Trigger{Type: "timer", Field: "owner", Offset: "4h"},
			map[string]string{"/automations/3/trigger/field": "is a user field"}},
		{"no offset", schema.Trigger{Type: "timer", Field: "opened_at"}, map[string]string{"/automations/3/trigger/offset": "required"}},
		{"bad offset", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "72 hours"}, map[string]string{"/automations/3/trigger/offset": "units are d, h and m"}},
		{"too long", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "400d"}, map[string]string{"/automations/3/trigger/offset": "366 days"}},
		{"bad unless", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "1h", Unless: `replied_at != `},
			map[string]string{"/automations/3/trigger/unless": "position"}},
		{"injection in unless", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "1h", Unless: `1=1; DROP TABLE sales_quote`},
			map[string]string{"/automations/3/trigger/unless": "filter"}},
		{"schedule keys", schema.Trigger{Type: "timer", Field: "opened_at", Offset: "1h", Cron: "* * * * *", TimeZone: "UTC", Filter: "x = 1"},
			map[string]string{"/automations/3/trigger/cron": "takes no cron", "/automations/3/trigger/timeZone": "takes no", "/automations/3/trigger/filter": "takes no"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := timerApp()
			a := &schema.Automation{Name: "x", Entity: "quote", Trigger: c.trig}
			var p schema.Problems
			checkTimer(app, 3, a, &p)
			problemsAt(t, p, c.want)
		})
	}
	// An unknown entity is the schema check's to report, once.
	var p schema.Problems
	checkTimer(timerApp(), 0, &schema.Automation{Entity: "nope", Trigger: schema.Trigger{Type: "timer", Field: "x", Offset: "1h"}}, &p)
	problemsAt(t, p, nil)
}
