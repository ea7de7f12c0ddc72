package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// crmRoles is the roles section of the access matrix app. rep's update scope
// carries a condition (a won deal is closed for reps).
const crmRoles = `[
  {"name": "rep", "entities": {
    "deal": {"create": "own", "read": "own", "update": {"scope": "own", "where": "stage != \"won\""}, "delete": "none",
             "fields": {"cost": "hidden", "margin": "hidden", "owner": "readonly"}},
    "account": {"read": "all", "create": "own", "update": "own"},
    "note": {"read": "all", "create": "own", "update": "own"}}},
  {"name": "manager", "entities": {
    "deal": {"create": "team", "read": "team", "update": "team", "delete": "team",
             "fields": {"cost": "readonly", "margin": "hidden"}},
    "account": {"read": "all", "create": "own", "update": "own"},
    "note": {"read": "all", "create": "own", "update": "own"}}},
  {"name": "executive", "entities": {
    "deal": {"create": "all", "read": "all", "update": "all", "delete": "all"},
    "account": {"read": "all", "create": "own", "update": "own"},
    "note": {"read": "all", "create": "own", "update": "own"}}}
]`

const crmEntities = `[
  {"id": "e_account", "name": "account", "fields": [
    {"id": "a1", "name": "name", "type": "text", "required": true}
  ]},
  {"id": "e_deal", "name": "deal", "fields": [
    {"id": "d1", "name": "title",   "type": "text", "required": true},
    {"id": "d2", "name": "amount",  "type": "decimal", "scale": 2},
    {"id": "d3", "name": "cost",    "type": "decimal", "scale": 2},
    {"id": "d4", "name": "margin",  "type": "decimal", "scale": 2},
    {"id": "d5", "name": "stage",   "type": "select", "options": ["open", "won", "lost"]},
    {"id": "d6", "name": "account", "type": "ref", "entity": "account"}
  ]},
  {"id": "e_note", "name": "note", "fields": [
    {"id": "n1", "name": "body", "type": "text"},
    {"id": "n2", "name": "deal", "type": "ref", "entity": "deal", "onDelete": "setNull"}
  ]}
]`

func crmDoc(roles string) string {
	return `{"name": "crm", "entities": ` + crmEntities + `, "roles": ` + roles + `}`
}

// The values of the hidden fields on every deal the admin creates: no answer
// to a user who may not see them may contain them, not even an error.
const (
	secretCost   = "987654.32"
	secretMargin = "13579.24"
)

type member struct {
	name, id, token string
	hidden          []string // fields the user may not see on deal
}

// crm is an env with the crm app, teams, users and one deal per owner.
type crm struct {
	*env
	users map[string]*member
	deals map[string]string // owner name → the admin-made deal of that owner
	acct  string
}

func newCRM(t *testing.T, db *store.DB) *crm { return newCRMWith(t, db, crmDoc(crmRoles)) }

// newCRMWith is newCRM with another document of the same shape.
func newCRMWith(t *testing.T, db *store.DB, doc string) *crm {
	ctx := context.Background()
	c := &crm{env: newEnv(t, db, doc), users: map[string]*member{}, deals: map[string]string{}}
	east, err := c.acc.CreateTeam(ctx, "east", "")
	if err != nil {
		t.Fatal(err)
	}
	north, err := c.acc.CreateTeam(ctx, "east_north", east.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name, role, team string
		hidden           []string
	}{
		{"rep1", "rep", north.ID, []string{"cost", "margin"}},
		{"rep2", "rep", east.ID, []string{"cost", "margin"}},
		{"rep3", "rep", "", []string{"cost", "margin"}},
		{"mgr", "manager", east.ID, []string{"margin"}},
		{"exec", "executive", "", nil},
		{"nobody", "", "", nil},
	} {
		var roles []string
		if u.role != "" {
			roles = []string{u.role}
		}
		email := u.name + "@example.com"
		au, err := c.acc.CreateUserWith(ctx, access.NewUser{Email: email, Password: "password " + u.name, Name: u.name, Roles: roles, TeamID: u.team})
		if err != nil {
			t.Fatal(err)
		}
		c.users[u.name] = &member{name: u.name, id: au.ID, token: c.login(email, "password "+u.name), hidden: u.hidden}
	}
	st, body := c.do("POST", "/api/data/crm/account", map[string]any{"name": "Acme"})
	if st != 201 {
		t.Fatalf("account: %d %v", st, body)
	}
	c.acct = str(body["id"])
	for _, o := range []string{"rep1", "rep2", "rep3", "mgr", "exec"} {
		c.deals[o] = c.deal(o, "open")
	}
	return c
}

// deal creates, as the admin, a deal owned by owner with the secret cost
// and margin, and returns its id.
func (c *crm) deal(owner, stage string) string {
	c.t.Helper()
	st, body := c.do("POST", "/api/data/crm/deal", map[string]any{"title": "Deal of " + owner, "amount": "1000.00",
		"cost": secretCost, "margin": secretMargin, "stage": stage, "account": c.acct, "owner": c.users[owner].id})
	if st != 201 {
		c.t.Fatalf("deal of %s: %d %v", owner, st, body)
	}
	return str(body["id"])
}

// as sends a request as user u and checks the answer for leaks: a success
// never names a hidden field, and no answer holds a hidden field's value.
func (c *crm) as(u *member, method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	st, raw := c.raw(u.token, method, path, body)
	s := string(raw)
	for _, f := range u.hidden {
		if st < 300 && strings.Contains(s, `"`+f+`"`) {
			c.t.Errorf("%s %s %s: answer %d names hidden field %s: %s", u.name, method, path, st, f, clip(s))
		}
		// The admin sets 987654.3x and 13579.24; no visible value starts so.
		secret := map[string]string{"cost": "987654", "margin": "13579.2"}[f]
		if strings.Contains(s, secret) {
			c.t.Errorf("%s %s %s: answer %d holds the value of hidden field %s: %s", u.name, method, path, st, f, clip(s))
		}
	}
	if len(raw) == 0 {
		return st, nil
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("%s %s: answer %d is not a JSON object: %v", method, path, st, err)
	}
	return st, out
}

func (c *crm) count(entity string) int {
	c.t.Helper()
	var n int
	if err := c.db.SQL.QueryRow(`SELECT COUNT(*) FROM "crm_` + entity + `"`).Scan(&n); err != nil {
		c.t.Fatalf("count %s: %v", entity, err)
	}
	return n
}

// snapshot is the admin's view of a deal ("" when it does not exist).
func (c *crm) snapshot(id string) string {
	c.t.Helper()
	st, body := c.do("GET", "/api/data/crm/deal/"+id, nil)
	switch st {
	case 200:
		return mustJSON(body)
	case 404:
		return ""
	}
	c.t.Fatalf("snapshot %s: %d %v", id, st, body)
	return ""
}

// listIDs lists deals as u and returns the ids, failing on anything but 200.
func (c *crm) listIDs(u *member, query string) map[string]bool {
	c.t.Helper()
	st, body := c.as(u, "GET", "/api/data/crm/deal?limit=500&"+query, nil)
	if st != 200 {
		c.t.Fatalf("%s list %s: %d %v", u.name, query, st, body)
	}
	out := map[string]bool{}
	for _, it := range items(c.t, body) {
		out[str(it["id"])] = true
	}
	return out
}

// TestAccessMatrix checks every role × operation × record class.
func TestAccessMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newCRM(t, db)
		// Whose records are own, same-team (subteam: a team below the
		// user's) and other for each user.
		classes := map[string]map[string]string{
			"rep1": {"own": "rep1", "team": "rep2", "other": "rep3"},
			"rep2": {"own": "rep2", "team": "rep1", "other": "rep3"},
			"rep3": {"own": "rep3", "other": "rep1"},
			"mgr":  {"own": "mgr", "team": "rep2", "subteam": "rep1", "other": "rep3"},
			"exec": {"own": "exec", "team": "rep1", "other": "rep3"},
		}
		rep := map[string]map[string]int{
			"create": {"own": 201, "team": 403, "other": 403}, // owner is read-only for reps
			"read":   {"own": 200, "team": 404, "other": 404},
			"update": {"own": 200, "team": 404, "other": 404},
			"delete": {"own": 403, "team": 403, "other": 403}, // reps may delete nothing
		}
		want := map[string]map[string]map[string]int{
			"rep1": rep, "rep2": rep, "rep3": rep,
			"mgr": {
				"create": {"own": 201, "team": 201, "subteam": 201, "other": 403},
				"read":   {"own": 200, "team": 200, "subteam": 200, "other": 404},
				"update": {"own": 200, "team": 200, "subteam": 200, "other": 404},
				"delete": {"own": 204, "team": 204, "subteam": 204, "other": 404},
			},
			"exec": {
				"create": {"own": 201, "team": 201, "other": 201},
				"read":   {"own": 200, "team": 200, "other": 200},
				"update": {"own": 200, "team": 200, "other": 200},
				"delete": {"own": 204, "team": 204, "other": 204},
			},
		}
		for _, name := range []string{"rep1", "rep2", "rep3", "mgr", "exec"} {
			u := c.users[name]
			for _, op := range []string{"create", "read", "update", "delete"} {
				for _, class := range []string{"own", "team", "subteam", "other"} {
					owner, ok := classes[name][class]
					if !ok {
						continue
					}
					wantSt := want[name][op][class]
					what := fmt.Sprintf("%s %s %s", name, op, class)
					n := c.count("deal")
					var id, before string
					if op != "create" {
						id = c.deal(owner, "open")
						before = c.snapshot(id)
						n++
					}
					var st int
					var body map[string]any
					switch op {
					case "create":
						in := map[string]any{"title": "Made by " + name, "amount": "5.00", "account": c.acct}
						if class != "own" {
							in["owner"] = c.users[owner].id
						}
						st, body = c.as(u, "POST", "/api/data/crm/deal", in)
					case "read":
						st, body = c.as(u, "GET", "/api/data/crm/deal/"+id, nil)
					case "update":
						st, body = c.as(u, "PATCH", "/api/data/crm/deal/"+id, map[string]any{"version": 1, "title": "Changed by " + name})
					case "delete":
						st, body = c.as(u, "DELETE", "/api/data/crm/deal/"+id, nil)
					}
					if st != wantSt {
						t.Errorf("%s: status %d, want %d (%v)", what, st, wantSt, body)
						continue
					}
					if st >= 400 {
						wantCode := map[int]string{403: "forbidden", 404: "not_found"}[st]
						if got := errCode(t, body); got != wantCode {
							t.Errorf("%s: code %q, want %q", what, got, wantCode)
						}
						if got := c.count("deal"); got != n {
							t.Errorf("%s: refused, but the deal count went from %d to %d", what, n, got)
						}
						if id != "" && c.snapshot(id) != before {
							t.Errorf("%s: refused, but the record changed:\n%s\n%s", what, before, c.snapshot(id))
						}
						continue
					}
					switch op {
					case "create":
						if c.count("deal") != n+1 || str(body["owner"]) != c.users[owner].id {
							t.Errorf("%s: count %d (was %d), owner %v", what, c.count("deal"), n, body["owner"])
						}
					case "read":
						if str(body["id"]) != id || str(body["owner"]) != c.users[owner].id {
							t.Errorf("%s: got %v", what, body)
						}
					case "update":
						after := c.snapshot(id)
						var rec map[string]any
						json.Unmarshal([]byte(after), &rec)
						if rec["version"] != json.Number("2") && fmt.Sprint(rec["version"]) != "2" || rec["title"] != "Changed by "+name {
							t.Errorf("%s: after update %s", what, after)
						}
						if rec["cost"] == nil || !strings.HasPrefix(fmt.Sprint(rec["cost"]), "987654.3") {
							t.Errorf("%s: update lost the hidden cost: %s", what, after)
						}
					case "delete":
						if c.snapshot(id) != "" || c.count("deal") != n-1 {
							t.Errorf("%s: record still there after 204", what)
						}
					}
				}
			}
		}
	})
}

// TestAccessVisibility checks list scopes, hidden fields on every read
// route, field rules on writes and the role condition.
func TestAccessVisibility(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newCRM(t, db)
		rep1, mgr, exec := c.users["rep1"], c.users["mgr"], c.users["exec"]
		d := c.deals

		// List scopes.
		for _, tc := range []struct {
			u    *member
			sees []string
		}{
			{rep1, []string{"rep1"}},
			{c.users["rep2"], []string{"rep2"}},
			{c.users["rep3"], []string{"rep3"}},
			{mgr, []string{"rep1", "rep2", "mgr"}},
			{exec, []string{"rep1", "rep2", "rep3", "mgr", "exec"}},
		} {
			got := c.listIDs(tc.u, "")
			if len(got) != len(tc.sees) {
				t.Errorf("%s sees %d deals, want %d (%v)", tc.u.name, len(got), len(tc.sees), tc.sees)
			}
			for _, o := range tc.sees {
				if !got[d[o]] {
					t.Errorf("%s does not see %s's deal", tc.u.name, o)
				}
			}
			// A filter narrows inside the scope, and so does a cursor walk.
			if got := c.listIDs(tc.u, "filter="+q(`amount > 0`)+"&sort=-title"); len(got) != len(tc.sees) {
				t.Errorf("%s filtered: %d deals, want %d", tc.u.name, len(got), len(tc.sees))
			}
			seen := 0
			cursor := ""
			for range 10 {
				st, body := c.as(tc.u, "GET", "/api/data/crm/deal?limit=1&sort=title&cursor="+q(cursor), nil)
				if st != 200 {
					t.Fatalf("%s page: %d %v", tc.u.name, st, body)
				}
				seen += len(items(t, body))
				if cursor = str(body["nextCursor"]); cursor == "" {
					break
				}
			}
			if seen != len(tc.sees) {
				t.Errorf("%s paged through %d deals, want %d", tc.u.name, seen, len(tc.sees))
			}
		}
		// To a user with no role in the app, the app does not exist: every
		// data route answers exactly as for an unknown app.
		_, unknown := c.as(c.users["nobody"], "GET", "/api/data/nosuchapp/deal", nil)
		for _, ent := range []string{"deal", "account", "note"} {
			for _, r := range []struct{ method, path string }{
				{"GET", "/api/data/crm/" + ent},
				{"POST", "/api/data/crm/" + ent},
				{"GET", "/api/data/crm/" + ent + "/" + d["rep1"]},
				{"PATCH", "/api/data/crm/" + ent + "/" + d["rep1"]},
				{"DELETE", "/api/data/crm/" + ent + "/" + d["rep1"]},
				{"GET", "/api/data/crm/" + ent + "/" + d["rep1"] + "/history"},
			} {
				var body map[string]any
				if r.method == "POST" || r.method == "PATCH" {
					body = map[string]any{"title": "x"}
				}
				st, got := c.as(c.users["nobody"], r.method, r.path, body)
				wantErr(t, "no roles "+r.method+" "+r.path, st, got, 404, "not_found")
				if msg, want := fmt.Sprint(got["error"].(map[string]any)["message"]), strings.Replace(fmt.Sprint(unknown["error"].(map[string]any)["message"]), "nosuchapp", "crm", 1); msg != want {
					t.Errorf("no roles %s %s: message %q, want the unknown app's %q", r.method, r.path, msg, want)
				}
			}
		}

		// Hidden fields are unknown fields on every route.
		for _, tc := range []struct {
			u        *member
			field    string
			fake     string
			readable bool // visible (the query succeeds)
		}{
			{rep1, "cost", "cozt", false},
			{rep1, "margin", "marzin", false},
			{mgr, "margin", "marzin", false},
			{mgr, "cost", "cozt", true},
			{exec, "margin", "marzin", true},
		} {
			for _, qs := range []string{"filter=%s", "sort=%s", "sort=-%s", "fields=title,%s", "expand=%s", "one:fields=%s", "one:expand=%s"} {
				{
					path := "/api/data/crm/deal?"
					if one, ok := strings.CutPrefix(qs, "one:"); ok {
						path, qs = "/api/data/crm/deal/"+d[tc.u.name]+"?", one
					}
					real, fake := path+fmt.Sprintf(qs, tc.field), path+fmt.Sprintf(qs, tc.fake)
					if strings.HasPrefix(qs, "filter") {
						real, fake = path+fmt.Sprintf(qs, q(tc.field+" > 0")), path+fmt.Sprintf(qs, q(tc.fake+" > 0"))
					}
					st, body := c.as(tc.u, "GET", real, nil)
					fst, fbody := c.as(tc.u, "GET", fake, nil)
					what := tc.u.name + " " + real
					if fst != 400 {
						t.Errorf("%s: made-up field answered %d %v", what, fst, fbody)
						continue
					}
					if tc.readable && !strings.HasPrefix(qs, "expand") {
						if st != 200 {
							t.Errorf("%s: visible field answered %d %v", what, st, body)
						}
						continue
					}
					if st != 400 {
						t.Errorf("%s: hidden field answered %d, want 400 like a made-up field (%v)", what, st, body)
						continue
					}
					a := strings.ReplaceAll(mustJSON(body), tc.field, "FIELD")
					b := strings.ReplaceAll(mustJSON(fbody), tc.fake, "FIELD")
					if a != b {
						t.Errorf("%s: hidden field answer differs from a made-up field's:\n%s\n%s", what, a, b)
					}
				}
			}
		}

		// GET and list answers: the as() check refuses any hidden key.
		for _, u := range []*member{rep1, mgr} {
			st, body := c.as(u, "GET", "/api/data/crm/deal/"+d["rep1"], nil)
			if st != 200 {
				t.Errorf("%s get rep1's deal: %d %v", u.name, st, body)
			}
			if _, ok := body["title"]; !ok {
				t.Errorf("%s get: no title in %v", u.name, body)
			}
		}
		if st, body := c.as(mgr, "GET", "/api/data/crm/deal/"+d["rep1"], nil); st != 200 || body["cost"] == nil {
			t.Errorf("mgr reads cost (read-only, not hidden): %d %v", st, body)
		}
		c.as(rep1, "GET", "/api/data/crm/deal", nil)

		// expand from note to deal obeys deal's rules.
		notes := map[string]string{}
		for _, o := range []string{"rep1", "rep3"} {
			st, body := c.do("POST", "/api/data/crm/note", map[string]any{"body": "about " + o, "deal": d[o]})
			if st != 201 {
				t.Fatalf("note: %d %v", st, body)
			}
			notes[o] = str(body["id"])
		}
		for _, u := range []*member{rep1, mgr} {
			st, body := c.as(u, "GET", "/api/data/crm/note?expand=deal", nil)
			if st != 200 {
				t.Fatalf("%s notes: %d %v", u.name, st, body)
			}
			for _, it := range items(t, body) {
				ex := it["expand"].(map[string]any)["deal"]
				own := str(it["deal"]) == d["rep1"]
				if own && ex == nil {
					t.Errorf("%s: readable deal expanded to null", u.name)
				}
				if !own && ex != nil {
					t.Errorf("%s: unreadable deal expanded: %v", u.name, ex)
				}
			}
			st, body = c.as(u, "GET", "/api/data/crm/note/"+notes["rep3"]+"?expand=deal", nil)
			if st != 200 || body["expand"].(map[string]any)["deal"] != nil {
				t.Errorf("%s get note of rep3's deal: %d %v", u.name, st, body)
			}
			// The ref's id itself stays: the note is readable.
			if str(body["deal"]) != d["rep3"] {
				t.Errorf("%s: note's ref %v", u.name, body["deal"])
			}
			st, body = c.as(u, "GET", "/api/data/crm/note/"+notes["rep1"]+"?expand=deal", nil)
			if ex, _ := body["expand"].(map[string]any)["deal"].(map[string]any); st != 200 || ex == nil || ex["title"] == nil {
				t.Errorf("%s get note of rep1's deal: %d %v", u.name, st, body)
			}
		}

		// History: hidden fields are left out; an unreadable deal is a 404.
		st, body := c.do("PATCH", "/api/data/crm/deal/"+d["rep1"], map[string]any{"version": 1, "cost": "987654.33", "title": "Deal of rep1 (v2)"})
		if st != 200 {
			t.Fatalf("admin patch: %d %v", st, body)
		}
		st, body = c.as(rep1, "GET", "/api/data/crm/deal/"+d["rep1"]+"/history", nil)
		if hs := items(t, body); st != 200 || len(hs) != 2 {
			t.Errorf("rep1 history: %d %v", st, body)
		} else if _, ok := hs[0]["changes"].(map[string]any)["title"]; !ok {
			t.Errorf("rep1 history lacks a visible change: %v", hs[0])
		}
		st, body = c.as(mgr, "GET", "/api/data/crm/deal/"+d["rep1"]+"/history", nil)
		if st != 200 || !strings.Contains(mustJSON(body), "987654.33") {
			t.Errorf("mgr history shows cost: %d %v", st, body)
		}
		for _, tc := range []struct {
			u     *member
			owner string
		}{{rep1, "rep3"}, {rep1, "rep2"}, {mgr, "rep3"}, {mgr, "exec"}} {
			st, body := c.as(tc.u, "GET", "/api/data/crm/deal/"+d[tc.owner]+"/history", nil)
			wantErr(t, tc.u.name+" history of "+tc.owner+"'s deal", st, body, 404, "not_found")
		}
		st, body = c.as(rep1, "GET", "/api/data/crm/deal/01hzzzzzzzzzzzzzzzzzzzzzzz/history", nil)
		wantErr(t, "history of no deal", st, body, 404, "not_found")

		// OpenAPI shows a role only what it may see.
		for _, tc := range []struct {
			u       *member
			absent  []string
			present []string
		}{
			{rep1, []string{"cost", "margin"}, []string{"title", "stage"}},
			{mgr, []string{"margin"}, []string{"cost", "title"}},
			{exec, nil, []string{"cost", "margin"}},
		} {
			st, raw := c.raw(tc.u.token, "GET", "/api/meta/apps/crm/openapi.json", nil)
			if st != 200 {
				t.Errorf("%s openapi: %d %s", tc.u.name, st, clip(string(raw)))
				continue
			}
			for _, f := range tc.absent {
				if strings.Contains(string(raw), f) {
					i := strings.Index(string(raw), f)
					t.Errorf("%s openapi mentions %s: …%s…", tc.u.name, f, string(raw)[max(0, i-80):min(len(raw), i+80)])
				}
			}
			for _, f := range tc.present {
				if !strings.Contains(string(raw), `"`+f+`"`) {
					t.Errorf("%s openapi lacks %s", tc.u.name, f)
				}
			}
		}

		// Writes: read-only fields are a 403 with details, hidden ones an
		// unknown field (422), and nothing changes.
		ver := func(id string) any {
			var rec map[string]any
			json.Unmarshal([]byte(c.snapshot(id)), &rec)
			return rec["version"]
		}
		for _, tc := range []struct {
			u      *member
			id     string
			body   map[string]any
			status int
			path   string
		}{
			{rep1, d["rep1"], map[string]any{"owner": rep1.id}, 403, "/owner"},
			{rep1, d["rep1"], map[string]any{"owner": c.users["rep2"].id}, 403, "/owner"},
			{rep1, d["rep1"], map[string]any{"cost": "1.00"}, 422, "/cost"},
			{rep1, d["rep1"], map[string]any{"margin": "1.00", "title": "x"}, 422, "/margin"},
			{mgr, d["rep1"], map[string]any{"cost": "1.00"}, 403, "/cost"},
			{mgr, d["rep1"], map[string]any{"margin": "1.00"}, 422, "/margin"},
			{mgr, d["rep2"], map[string]any{"owner": c.users["rep3"].id}, 403, ""}, // out of the team
		} {
			before, n := c.snapshot(tc.id), c.count("deal")
			tc.body["version"] = ver(tc.id)
			st, body := c.as(tc.u, "PATCH", "/api/data/crm/deal/"+tc.id, tc.body)
			what := fmt.Sprintf("%s patch %v", tc.u.name, tc.body)
			code := map[int]string{403: "forbidden", 422: "validation_failed"}[tc.status]
			wantErr(t, what, st, body, tc.status, code)
			if tc.path != "" {
				wantDetail(t, what, body, tc.path)
			}
			if st == 422 {
				// Exactly like a made-up field.
				fake := map[string]any{"version": tc.body["version"], "zz": "1.00"}
				_, fb := c.as(tc.u, "PATCH", "/api/data/crm/deal/"+tc.id, fake)
				a := strings.ReplaceAll(mustJSON(body), strings.TrimPrefix(tc.path, "/"), "FIELD")
				b := strings.ReplaceAll(mustJSON(fb), "zz", "FIELD")
				if _, hasTitle := tc.body["title"]; !hasTitle && a != b {
					t.Errorf("%s: answer differs from a made-up field's:\n%s\n%s", what, a, b)
				}
			}
			if c.snapshot(tc.id) != before || c.count("deal") != n {
				t.Errorf("%s: refused, but something changed", what)
			}
		}
		// Create with hidden or read-only fields.
		for _, tc := range []struct {
			u      *member
			body   map[string]any
			status int
			path   string
		}{
			{rep1, map[string]any{"title": "t", "cost": "1.00"}, 422, "/cost"},
			{rep1, map[string]any{"title": "t", "owner": rep1.id}, 403, "/owner"},
			{mgr, map[string]any{"title": "t", "cost": "1.00"}, 403, "/cost"},
			{mgr, map[string]any{"title": "t", "margin": "1.00"}, 422, "/margin"},
		} {
			n := c.count("deal")
			st, body := c.as(tc.u, "POST", "/api/data/crm/deal", tc.body)
			what := fmt.Sprintf("%s create %v", tc.u.name, tc.body)
			wantErr(t, what, st, body, tc.status, map[int]string{403: "forbidden", 422: "validation_failed"}[tc.status])
			wantDetail(t, what, body, tc.path)
			if c.count("deal") != n {
				t.Errorf("%s: refused, but a deal was created", what)
			}
		}
		// A successful create and patch by a rep answer without hidden fields.
		st, body = c.as(rep1, "POST", "/api/data/crm/deal", map[string]any{"title": "Mine", "stage": "open"})
		if st != 201 {
			t.Fatalf("rep1 create: %d %v", st, body)
		}
		mine := str(body["id"])
		if st, body := c.as(rep1, "PATCH", "/api/data/crm/deal/"+mine, map[string]any{"version": 1, "amount": "7.00"}); st != 200 {
			t.Errorf("rep1 patch own open deal: %d %v", st, body)
		}

		// The role condition: a rep may not change their own won deal, and
		// may not make a deal won either (the change would leave the scope).
		won := c.deal("rep1", "won")
		before := c.snapshot(won)
		st, body = c.as(rep1, "PATCH", "/api/data/crm/deal/"+won, map[string]any{"version": 1, "title": "reopen?"})
		wantErr(t, "rep1 patch own won deal", st, body, 403, "forbidden")
		st, body = c.as(rep1, "PATCH", "/api/data/crm/deal/"+won, map[string]any{"version": 1, "stage": "open"})
		wantErr(t, "rep1 reopen own won deal", st, body, 403, "forbidden")
		if c.snapshot(won) != before {
			t.Error("a refused patch of a won deal changed it")
		}
		if st, _ := c.as(rep1, "GET", "/api/data/crm/deal/"+won, nil); st != 200 {
			t.Errorf("rep1 read own won deal: %d", st)
		}
		before = c.snapshot(mine)
		st, body = c.as(rep1, "PATCH", "/api/data/crm/deal/"+mine, map[string]any{"version": 2, "stage": "won"})
		wantErr(t, "rep1 mark own deal won", st, body, 403, "forbidden")
		if c.snapshot(mine) != before {
			t.Error("a refused patch to won changed the deal")
		}
		// A deal without a stage is not won: != matches empty values.
		nostage := c.deal("rep1", "open")
		if st, body := c.do("PATCH", "/api/data/crm/deal/"+nostage, map[string]any{"version": 1, "stage": nil}); st != 200 {
			t.Fatalf("clear stage: %d %v", st, body)
		}
		if st, body := c.as(rep1, "PATCH", "/api/data/crm/deal/"+nostage, map[string]any{"version": 2, "title": "no stage"}); st != 200 {
			t.Errorf("rep1 patch own deal without stage: %d %v", st, body)
		}
	})
}

// TestAccessDocumentAndUsers checks a bad role condition, deactivation and
// a team change.
func TestAccessDocumentAndUsers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		c := newCRM(t, db)
		ctx := context.Background()
		_, app := c.do("GET", "/api/meta/apps/crm", nil)
		bad := strings.Replace(crmRoles, `"where": "stage != \"won\""`, `"where": "nope = 1"`, 1)
		for _, doc := range []string{crmDoc(bad), crmDoc(strings.Replace(crmRoles, `"read": "team"`, `"read": {"scope": "team", "where": "stage ="}`, 1))} {
			st, body := c.do("POST", "/api/meta/apps", doc)
			wantErr(t, "bad role condition", st, body, 422, "validation_failed")
			paths := details(t, body)
			if len(paths) == 0 {
				t.Errorf("bad role condition: no details: %v", body)
			}
			for _, p := range paths {
				if !strings.HasPrefix(p, "/roles/") {
					t.Errorf("bad role condition: detail at %q, want under /roles/", p)
				}
			}
		}
		if st, body := c.do("POST", "/api/meta/apps", crmDoc(strings.Replace(crmRoles, `"nope`, `"x`, 1))); st != 201 && st != 200 {
			t.Errorf("re-apply a good document: %d %v", st, body)
		}
		if _, after := c.do("GET", "/api/meta/apps/crm", nil); mustJSON(after["version"]) != mustJSON(app["version"]) {
			t.Errorf("a refused or unchanged apply made a new version: %v → %v", app["version"], after["version"])
		}

		// Team change: rep2 leaves east, and mgr no longer sees their deals.
		mgr := c.users["mgr"]
		if !c.listIDs(mgr, "")[c.deals["rep2"]] {
			t.Fatal("mgr does not see rep2's deal before the team change")
		}
		none := ""
		if _, err := c.acc.UpdateUser(ctx, c.users["rep2"].id, access.UserUpdate{TeamID: &none}); err != nil {
			t.Fatal(err)
		}
		if c.listIDs(mgr, "")[c.deals["rep2"]] {
			t.Error("mgr still lists rep2's deal after rep2 left east")
		}
		st, body := c.as(mgr, "GET", "/api/data/crm/deal/"+c.deals["rep2"], nil)
		wantErr(t, "mgr get rep2's deal after the team change", st, body, 404, "not_found")
		// rep2 still sees their own deal.
		if !c.listIDs(c.users["rep2"], "")[c.deals["rep2"]] {
			t.Error("rep2 lost their own deal")
		}

		// Deactivation ends a session at once.
		rep3 := c.users["rep3"]
		c.listIDs(rep3, "")
		no := false
		if _, err := c.acc.UpdateUser(ctx, rep3.id, access.UserUpdate{Active: &no}); err != nil {
			t.Fatal(err)
		}
		n := c.count("deal")
		st, body = c.as(rep3, "GET", "/api/data/crm/deal", nil)
		wantErr(t, "deactivated list", st, body, 401, "unauthorized")
		st, body = c.as(rep3, "POST", "/api/data/crm/deal", map[string]any{"title": "late"})
		wantErr(t, "deactivated create", st, body, 401, "unauthorized")
		if c.count("deal") != n {
			t.Error("a deactivated user created a deal")
		}
		// And through SetActive as well.
		rep1 := c.users["rep1"]
		c.listIDs(rep1, "")
		if err := c.acc.SetActive(ctx, rep1.id, false); err != nil {
			t.Fatal(err)
		}
		st, body = c.as(rep1, "GET", "/api/data/crm/deal/"+c.deals["rep1"], nil)
		wantErr(t, "deactivated (SetActive) get", st, body, 401, "unauthorized")
	})
}
