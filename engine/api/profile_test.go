package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

func TestProfiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := clock.NewTest(poolT0)
		db.Clock = clk
		e := newEnv(t, db, "")
		u, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Name: "Rep", Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		profileOf := func(body map[string]any) string { return mustJSON(body["profile"]) }

		// The admin sets skills and region; the user's next request sees them.
		st, body := e.do("PATCH", "/api/admin/users/"+u.ID, `{"profile": {"skills": ["retail", " Retail ", "cn"], "region": " east ", "away": false}}`)
		if st != 200 || profileOf(body) != `{"away":false,"region":"east","skills":["retail","cn"]}` {
			t.Fatalf("patch profile: %d %v", st, body)
		}
		if _, body := e.doAs(rep, "GET", "/api/auth/me", nil); profileOf(body) != `{"away":false,"region":"east","skills":["retail","cn"]}` {
			t.Fatalf("me: %v", body)
		}
		_, body = e.do("GET", "/api/admin/users", nil)
		found := false
		for _, it := range items(t, body) {
			if str(it["id"]) == u.ID {
				found = strings.Contains(mustJSON(it["profile"]), `"retail"`)
			}
		}
		if !found {
			t.Fatalf("admin list without the profile: %v", body)
		}
		// Bad profiles change nothing.
		for _, bad := range []string{
			`{"profile": {"skills": "retail"}}`,
			`{"profile": {"skills": [1]}}`,
			`{"profile": {"skills": [""]}}`,
			`{"profile": {"away": "yes"}}`,
			`{"profile": {"awayUntil": "tomorrow"}}`,
			`{"profile": {"mood": "great"}}`,
			`{"profile": {"region": "` + strings.Repeat("x", 101) + `"}}`,
			`{"profile": {"skills": ["a"], "skills": ["b"]}}`,
			`{"profile": []}`,
			`{"profile": {`,
		} {
			st, body := e.do("PATCH", "/api/admin/users/"+u.ID, bad)
			if st != 400 && st != 422 {
				t.Fatalf("bad profile %s: %d %v", bad, st, body)
			}
		}
		// A rep may not set anyone's profile through the admin route.
		if st, _ := e.doAs(rep, "PATCH", "/api/admin/users/"+u.ID, `{"profile": {"skills": []}}`); st != 403 {
			t.Fatalf("rep patching a profile: %d", st)
		}

		// Availability: away until tomorrow, then back; skills stay.
		until := poolT0.Add(24 * time.Hour).Format(time.RFC3339)
		st, body = e.doAs(rep, "PUT", "/api/me/availability", `{"away": true, "awayUntil": "`+until+`"}`)
		if st != 200 || profileOf(body) != `{"away":true,"awayUntil":"`+until+`","region":"east","skills":["retail","cn"]}` {
			t.Fatalf("away: %d %v", st, body)
		}
		if _, body := e.doAs(rep, "GET", "/api/auth/me", nil); !strings.Contains(profileOf(body), `"away":true`) {
			t.Fatalf("me after away: %v", body)
		}
		for _, bad := range []struct {
			body   string
			status int
		}{
			{`{"away": "yes"}`, 422},
			{`{"away": 1}`, 422},
			{`{}`, 422},
			{`{"away": true, "awayUntil": "2020-01-01T00:00:00Z"}`, 422},
			{`{"away": true, "awayUntil": "` + poolT0.Format(time.RFC3339) + `"}`, 422},
			{`{"away": true, "awayUntil": "next week"}`, 422},
			{`{"away": true, "awayUntil": 5}`, 422},
			{`{"away": false, "awayUntil": "` + until + `"}`, 422},
			{`{"away": true, "skills": ["x"]}`, 422},
			{`{"away": true, "away": false}`, 422},
			{`{"away": true`, 400},
			{`not json`, 400},
			{``, 400},
		} {
			st, body := e.doAs(rep, "PUT", "/api/me/availability", bad.body)
			if st != bad.status {
				t.Fatalf("availability %s: %d %v", bad.body, st, body)
			}
		}
		if _, body := e.doAs(rep, "GET", "/api/auth/me", nil); !strings.Contains(profileOf(body), `"awayUntil":"`+until+`"`) {
			t.Fatalf("a refused availability changed the profile: %v", body)
		}
		st, body = e.doAs(rep, "PUT", "/api/me/availability", `{"away": false, "awayUntil": null}`)
		if st != 200 || profileOf(body) != `{"away":false,"region":"east","skills":["retail","cn"]}` {
			t.Fatalf("back: %d %v", st, body)
		}
		if st, _ := e.doAs("", "PUT", "/api/me/availability", `{"away": true}`); st != 401 {
			t.Fatalf("availability without a session: %d", st)
		}
		if st, _ := e.doAs(rep, "GET", "/api/me/availability", nil); st != 404 && st != 405 {
			t.Fatalf("GET availability: %d", st)
		}
	})
}
