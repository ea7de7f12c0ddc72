package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// countdownApp has two rules with a countdown: one over fields a rep may
// see, one whose first-contact field is hidden from them.
const countdownApp = `{
  "name": "leads",
  "entities": [
    {"name": "lead", "fields": [
      {"id": "f1", "name": "title", "type": "text"},
      {"id": "f2", "name": "contacted_at", "type": "datetime"}
    ]},
    {"name": "vip", "fields": [
      {"id": "v1", "name": "title", "type": "text"},
      {"id": "v2", "name": "vip_called_at", "type": "datetime"}
    ]}
  ],
  "assignments": [
    {"name": "inbound", "entity": "lead", "strategy": "roundRobin", "candidates": {"roles": ["rep"], "condition": "region = \"SECRETREGION\""},
     "countdown": {"until": "contacted_at", "within": "4h", "steps": [{"after": "4h", "do": "remind", "message": "MSGSECRET"}]}},
    {"name": "vip", "entity": "vip", "strategy": "roundRobin", "candidates": {"roles": ["rep"]},
     "countdown": {"until": "vip_called_at", "within": "1h"}}
  ],
  "roles": [
    {"name": "rep", "entities": {"lead": {"create": "own", "read": "own", "update": "own"},
      "vip": {"read": "own", "fields": {"vip_called_at": "hidden"}}}}
  ]
}`

// TestMemberSeesCountdownOnly: a rep's document carries the countdown of a
// rule over fields they see — so lists and records can show the time left
// — and nothing else of it (candidates, messages), and no rule whose
// fields are hidden from them.
func TestMemberSeesCountdownOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, countdownApp)
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "password rep", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		tok := e.login("rep@example.com", "password rep")
		st, raw := e.raw(tok, "GET", "/api/meta/apps/leads", nil)
		if st != 200 {
			t.Fatalf("rep's document: %d %s", st, raw)
		}
		for _, w := range []string{"SECRETREGION", "MSGSECRET", `"roles"`, "vip_called_at", "roundRobin"} {
			if strings.Contains(string(raw), w) {
				t.Errorf("rep's document names %s: %s", w, raw)
			}
		}
		var doc struct {
			Assignments []struct {
				Name      string `json:"name"`
				Entity    string `json:"entity"`
				Countdown *struct {
					Until  string `json:"until"`
					Within string `json:"within"`
					Steps  []struct {
						After string `json:"after"`
						Do    string `json:"do"`
					} `json:"steps"`
				} `json:"countdown"`
			} `json:"assignments"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Assignments) != 1 || doc.Assignments[0].Name != "inbound" || doc.Assignments[0].Entity != "lead" {
			t.Fatalf("rep's rules: %s", raw)
		}
		cd := doc.Assignments[0].Countdown
		if cd == nil || cd.Until != "contacted_at" || cd.Within != "4h" || len(cd.Steps) != 1 || cd.Steps[0].After != "4h" || cd.Steps[0].Do != "remind" {
			t.Errorf("rep's countdown: %s", raw)
		}
		// The admin's document is whole.
		st, raw = e.raw(e.token, "GET", "/api/meta/apps/leads", nil)
		if st != 200 || !strings.Contains(string(raw), "SECRETREGION") || !strings.Contains(string(raw), `"vip"`) {
			t.Errorf("admin's document: %d %s", st, raw)
		}
	})
}
