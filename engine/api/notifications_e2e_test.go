package api_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store/storetest"
)

const leadsApp = `{
  "name": "leads",
  "label": "Leads",
  "entities": [
    {"id": "e_lead", "name": "lead", "fields": [
      {"id": "l1", "name": "title", "type": "text", "required": true, "maxLength": 200}
    ]}
  ],
  "roles": [{"name": "rep", "entities": {"lead": {"create": "own", "read": "own"}}},
            {"name": "manager", "entities": {"lead": {"read": "all"}}}],
  "automations": [
    {"name": "tell_manager", "entity": "lead", "trigger": {"type": "created"},
     "actions": [{"type": "notify", "to": {"manager": true}, "message": "New lead: {{title}}"}]}
  ]
}`

// TestManagerNotifiedEndToEnd runs the whole engine (automations, jobs,
// the API) on each dialect: a rep creates a lead; the manager of the rep's
// team finds it in their notifications, linked to the record, and nobody
// else does; with the team's manager cleared, the next lead goes to the
// manager of the team above.
func TestManagerNotifiedEndToEnd(t *testing.T) {
	for _, d := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", "postgres"}} {
		t.Run(d.name, func(t *testing.T) {
			cfg := engine.Config{DataDir: t.TempDir(), Access: access.Options{BcryptCost: bcrypt.MinCost},
				Jobs: jobs.Options{PollInterval: 20 * time.Millisecond}, Log: slog.New(slog.NewTextHandler(testLog{t}, nil))}
			if d.url != "" {
				cfg.DBURL = storetest.PostgresURL(t)
			}
			ctx := context.Background()
			eng, err := engine.Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			if err := eng.Start(ctx); err != nil {
				t.Fatal(err)
			}
			e := &env{t: t, db: eng.DB, acc: eng.Access, app: eng.Handler(), dialect: eng.DB.Dialect.Name()}
			if e.admin, err = eng.Access.CreateUser(ctx, adminEmail, adminPassword, "Admin", true); err != nil {
				t.Fatal(err)
			}
			e.token = e.login(adminEmail, adminPassword)
			if st, body := e.do("POST", "/api/meta/apps", leadsApp); st != 201 {
				t.Fatalf("apply: %d %v", st, body)
			}
			director, directorTok := e.userToken("director@example.com")
			boss, bossTok := e.userToken("boss@example.com")
			rep, repTok := e.userToken("rep@example.com")
			// Managers read every lead; a notification reaches only who may
			// read its record.
			for _, id := range []string{director, boss} {
				if st, body := e.do("PATCH", "/api/admin/users/"+id, map[string]any{"roles": []string{"manager"}}); st != 200 {
					t.Fatalf("manager role: %d %v", st, body)
				}
			}
			_, region := e.do("POST", "/api/admin/teams", map[string]any{"name": "Region", "managerId": director})
			st, east := e.do("POST", "/api/admin/teams", map[string]any{"name": "East", "parentId": region["id"], "managerId": boss})
			if st != 201 {
				t.Fatalf("team: %d %v", st, east)
			}
			if st, body := e.do("PATCH", "/api/admin/users/"+rep, map[string]any{"teamId": east["id"]}); st != 200 {
				t.Fatalf("rep's team: %d %v", st, body)
			}

			waitFor := func(tok string, n int) []map[string]any {
				t.Helper()
				var got []map[string]any
				e.eventually("notifications", func() bool {
					_, body := e.doAs(tok, "GET", "/api/me/notifications", nil)
					got = items(t, body)
					return len(got) >= n
				})
				return got
			}

			st, lead := e.doAs(repTok, "POST", "/api/data/leads/lead", map[string]any{"title": "Expo visitor"})
			if st != 201 {
				t.Fatalf("create lead: %d %v", st, lead)
			}
			got := waitFor(bossTok, 1)
			n := got[0]
			if len(got) != 1 || n["message"] != "New lead: Expo visitor" || n["app"] != "leads" || n["entity"] != "lead" ||
				n["recordId"] != lead["id"] || n["automation"] != "tell_manager" || n["readAt"] != nil {
				t.Fatalf("boss's notifications %v", got)
			}
			// Nobody else: not the rep (not named), the director (not the
			// nearest manager) or the admin.
			time.Sleep(200 * time.Millisecond)
			for who, tok := range map[string]string{"rep": repTok, "director": directorTok, "admin": e.token} {
				if _, body := e.doAs(tok, "GET", "/api/me/notifications", nil); len(items(t, body)) != 0 {
					t.Errorf("%s was notified: %v", who, body)
				}
			}
			if st, body := e.doAs(bossTok, "POST", "/api/me/notifications/"+str(n["id"])+"/read", nil); st != 200 || num(t, body["unread"]) != 0 {
				t.Fatalf("read: %d %v", st, body)
			}

			// The East team without a manager: the region's director.
			if st, body := e.do("PATCH", "/api/admin/teams/"+str(east["id"]), `{"managerId": null}`); st != 200 {
				t.Fatalf("clear manager: %d %v", st, body)
			}
			if st, body := e.doAs(repTok, "POST", "/api/data/leads/lead", map[string]any{"title": "Second"}); st != 201 {
				t.Fatalf("second lead: %d %v", st, body)
			}
			if got := waitFor(directorTok, 1); len(got) != 1 || got[0]["message"] != "New lead: Second" {
				t.Fatalf("director's notifications %v", got)
			}
			if _, body := e.doAs(bossTok, "GET", "/api/me/notifications?unread=1", nil); num(t, body["unread"]) != 0 {
				t.Errorf("boss notified after the manager was cleared: %v", body)
			}
		})
	}
}
