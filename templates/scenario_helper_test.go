package templates_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

// scenT0 is when a scenario starts: a Monday 09:30 in Shanghai, inside the
// pipeline's working hours. It lies years ahead of the real clock the job
// queue keeps (the queue takes the database's clock when the engine opens,
// before a test can swap it), so a job the engine schedules for "in 24 h"
// on the test clock never falls due by itself during the test: every
// deadline here fires because the test moved the clock and ticked.
var scenT0 = time.Date(2030, 1, 7, 1, 30, 0, 0, time.UTC)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

const scenPassword = "a-long-scenario-password"

// scen is an installed template served through its HTTP API, on a test
// clock, with people in the three roles across nested teams:
//
//	销售部 Sales (root, manager: boss, executive)
//	├── 华东 East (manager: mgr) ── rep2
//	│   └── 上海 Shanghai (manager: mgr) ── rep1      (nested: mgr sees it)
//	└── 华南 South (manager: mgr2) ── rep3            (mgr does not)
type scen struct {
	t      *testing.T
	eng    *engine.Engine
	app    *schema.App
	h      *fiber.App
	clk    *clock.Test
	ids    map[string]string  // person → user id
	names  map[string]string  // user id → person
	tokens map[string]string  // person → session token (cleared when the clock moves)
	people map[string]*person // user id → person, from directory()
	parent map[string]string  // team id → parent team id
}

func newScen(t *testing.T, name, dialect string) *scen {
	t.Helper()
	eng, app := installed(t, name, dialect)
	clk := clock.NewTest(scenT0)
	eng.DB.Clock = clk // before Start: nothing reads it concurrently yet
	ctx := context.Background()
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	s := &scen{t: t, eng: eng, app: app, h: eng.Handler(), clk: clk, ids: map[string]string{}, names: map[string]string{}, tokens: map[string]string{}}
	team := func(name, parent string) string {
		tm, err := eng.Access.CreateTeamWith(ctx, access.NewTeam{Name: name, ParentID: parent})
		if err != nil {
			t.Fatalf("team %s: %v", name, err)
		}
		return tm.ID
	}
	sales := team("销售部 Sales", "")
	east := team("华东 East", sales)
	sh := team("上海 Shanghai", east)
	south := team("华南 South", sales)
	person := func(name, role, teamID string, admin bool) {
		u, err := eng.Access.CreateUserWith(ctx, access.NewUser{Email: name + "@example.com", Password: scenPassword, Name: name, Admin: admin, Roles: roleList(role), TeamID: teamID})
		if err != nil {
			t.Fatalf("user %s: %v", name, err)
		}
		s.ids[name], s.names[u.ID] = u.ID, name
	}
	person("admin", "", "", true)
	person("boss", "executive", sales, false)
	person("mgr", "manager", east, false)
	person("mgr2", "manager", south, false)
	person("rep1", "rep", sh, false)
	person("rep2", "rep", east, false)
	person("rep3", "rep", south, false)
	for teamID, mgr := range map[string]string{sales: "boss", east: "mgr", sh: "mgr", south: "mgr2"} {
		id := s.ids[mgr]
		if _, err := eng.Access.UpdateTeam(ctx, teamID, access.TeamUpdate{ManagerID: &id}); err != nil {
			t.Fatal(err)
		}
	}
	// A first tick arms the schedules from T0 (a schedule's first slot is
	// the one after the tick that first sees it).
	s.tickTo(0)
	return s
}

func roleList(role string) []string {
	if role == "" {
		return nil
	}
	return []string{role}
}

// person is a user as the admin API lists them.
type person struct {
	id, email, team string
	roles           []string
}

// directory reads the users and teams through the admin API (again after
// someone created more), for the slices the tests compute by hand.
func (s *scen) directory() {
	s.t.Helper()
	s.people = map[string]*person{}
	for _, u := range items(s.must(200, "admin", "GET", "/api/admin/users", nil)) {
		p := &person{id: str(u["id"]), email: str(u["email"]), team: str(u["teamId"])}
		for _, r := range u["roles"].([]any) {
			p.roles = append(p.roles, str(r))
		}
		s.people[p.id] = p
	}
	s.parent = map[string]string{}
	for _, tm := range items(s.must(200, "admin", "GET", "/api/admin/teams", nil)) {
		s.parent[str(tm["id"])] = str(tm["parentId"])
	}
}

// idOf is the user id of who: a person of newScen's tree by name, or an id.
func (s *scen) idOf(who string) string {
	if id := s.ids[who]; id != "" {
		return id
	}
	return who
}

// roleOf is who's role (each person here has one).
func (s *scen) roleOf(who string) string {
	if s.people == nil {
		s.directory()
	}
	if p := s.people[s.idOf(who)]; p != nil && len(p.roles) > 0 {
		return p.roles[0]
	}
	return ""
}

// teamOf is whose records a team-scoped rule shows who: their own and
// those of everyone in their team or a team below it (none when they have
// no team). Worked out here from the directory, not asked of the engine.
func (s *scen) teamOf(who string) map[string]bool {
	if s.people == nil {
		s.directory()
	}
	me := s.people[s.idOf(who)]
	out := map[string]bool{me.id: true}
	if me.team == "" {
		return out
	}
	under := func(team string) bool {
		for t, hops := team, 0; t != "" && hops < 100; t, hops = s.parent[t], hops+1 {
			if t == me.team {
				return true
			}
		}
		return false
	}
	for _, p := range s.people {
		if p.team != "" && under(p.team) {
			out[p.id] = true
		}
	}
	return out
}

// token logs who in through the API (once per clock position: moving the
// clock days ahead would outrun a session).
func (s *scen) token(who string) string {
	s.t.Helper()
	if tok := s.tokens[who]; tok != "" {
		return tok
	}
	email := who + "@example.com"
	if p := s.people[who]; p != nil && s.ids[who] == "" {
		email = p.email // a generated user, by id (see adopt)
	}
	st, body := s.send("", "POST", "/api/auth/login", map[string]any{"email": email, "password": scenPassword})
	if st != 200 {
		s.t.Fatalf("login %s: %d %v", who, st, body)
	}
	s.tokens[who] = body["token"].(string)
	return s.tokens[who]
}

// adopt gives a user someone else created (the sample generator) the
// scenario password, through the admin's reset and the reset endpoint, so
// the tests can sign in as them by id.
func (s *scen) adopt(id string) {
	s.t.Helper()
	reset := s.must(200, "admin", "POST", "/api/admin/users/"+id+"/reset-password", nil)
	s.must(200, "", "POST", "/api/auth/reset-password", map[string]any{"token": reset["resetToken"], "password": scenPassword})
	if s.people == nil || s.people[id] == nil {
		s.directory()
	}
}

// do sends a JSON request as who ("" for no session).
func (s *scen) do(who, method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	tok := ""
	if who != "" {
		tok = s.token(who)
	}
	return s.send(tok, method, path, body)
}

func (s *scen) send(tok, method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return s.roundTrip(tok, req)
}

func (s *scen) roundTrip(tok string, req *http.Request) (int, map[string]any) {
	s.t.Helper()
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.h.Test(req, -1)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if len(raw) == 0 {
		return resp.StatusCode, nil
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		s.t.Fatalf("%s %s: answer %d is not a JSON object: %v\n%.500s", req.Method, req.URL, resp.StatusCode, err, raw)
	}
	return resp.StatusCode, out
}

// must sends a request and fails unless it answers want.
func (s *scen) must(want int, who, method, path string, body any) map[string]any {
	s.t.Helper()
	st, out := s.do(who, method, path, body)
	if st != want {
		s.t.Fatalf("%s %s as %s: %d %v, want %d", method, path, who, st, out, want)
	}
	return out
}

// form posts a urlencoded form to an inbound endpoint, without a session.
func (s *scen) form(path string, v url.Values) (int, map[string]any) {
	s.t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return s.roundTrip("", req)
}

// upload puts a file as who and returns its id.
func (s *scen) upload(who, name, content string) string {
	s.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("app", s.app.Name); err != nil {
		s.t.Fatal(err)
	}
	part, err := w.CreateFormFile("file", name)
	if err != nil {
		s.t.Fatal(err)
	}
	part.Write([]byte(content))
	w.Close()
	req := httptest.NewRequest("POST", "/api/files", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	st, body := s.roundTrip(s.token(who), req)
	if st != 201 {
		s.t.Fatalf("upload %s as %s: %d %v", name, who, st, body)
	}
	return str(body["id"])
}

// rec reads a record as who.
func (s *scen) rec(who, entity, id string) map[string]any {
	s.t.Helper()
	return s.must(200, who, "GET", "/api/data/"+s.app.Name+"/"+entity+"/"+id, nil)
}

// create writes a record as who.
func (s *scen) create(who, entity string, body map[string]any) map[string]any {
	s.t.Helper()
	return s.must(201, who, "POST", "/api/data/"+s.app.Name+"/"+entity, body)
}

// patch changes a record as who, at the version it has now.
func (s *scen) patch(who, entity, id string, fields map[string]any) map[string]any {
	s.t.Helper()
	body := map[string]any{"version": s.rec(who, entity, id)["version"]}
	for k, v := range fields {
		body[k] = v
	}
	return s.must(200, who, "PATCH", "/api/data/"+s.app.Name+"/"+entity+"/"+id, body)
}

// take takes a flow transition as who, at the record's current version.
func (s *scen) take(who, entity, id, name string, fields map[string]any) (int, map[string]any) {
	s.t.Helper()
	body := map[string]any{"version": s.rec("admin", entity, id)["version"]}
	if fields != nil {
		body["fields"] = fields
	}
	return s.do(who, "POST", "/api/data/"+s.app.Name+"/"+entity+"/"+id+"/transitions/"+name, body)
}

// decide decides an approval request as who.
func (s *scen) decide(who, id, decision string) (int, map[string]any) {
	s.t.Helper()
	st, req := s.do(who, "GET", "/api/approvals/"+id, nil)
	if st != 200 {
		return st, req
	}
	return s.do(who, "POST", "/api/approvals/"+id+"/"+decision, map[string]any{"version": req["version"]})
}

// list reads every record of entity matching filter as who.
func (s *scen) list(who, entity, filter string) []map[string]any {
	s.t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		path := "/api/data/" + s.app.Name + "/" + entity + "?limit=500&filter=" + url.QueryEscape(filter)
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		body := s.must(200, who, "GET", path, nil)
		out = append(out, items(body)...)
		next, _ := body["nextCursor"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// all reads every record of entity as the engine's admin caller, through
// the records service (not the query engine the dashboards use).
func (s *scen) all(entity string) []*records.Record {
	s.t.Helper()
	var out []*records.Record
	q := records.Query{Limit: 500}
	for {
		page, err := s.eng.Records.List(context.Background(), records.Caller{Admin: true}, s.app.Name, entity, q)
		if err != nil {
			s.t.Fatalf("list %s: %v", entity, err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out
		}
		q.Cursor = page.NextCursor
	}
}

// notes are who's notifications about record id.
func (s *scen) notes(who, id string) []string {
	s.t.Helper()
	var out []string
	for _, n := range items(s.must(200, who, "GET", "/api/me/notifications?limit=100", nil)) {
		if str(n["recordId"]) == id {
			out = append(out, str(n["message"]))
		}
	}
	return out
}

// tickTo moves the clock to T0+d and fires what is due (timers,
// countdown steps, schedules, pool deadlines, approval deadlines).
func (s *scen) tickTo(d time.Duration) {
	s.t.Helper()
	s.clk.Set(scenT0.Add(d))
	clear(s.tokens)
	ctx := context.Background()
	if err := s.eng.Automations.Tick(ctx); err != nil {
		s.t.Fatalf("automations tick: %v", err)
	}
	if err := s.eng.Assign.Tick(ctx); err != nil {
		s.t.Fatalf("assign tick: %v", err)
	}
	if err := s.eng.Flows.Tick(ctx); err != nil {
		s.t.Fatalf("flows tick: %v", err)
	}
}

// eventually polls cond (jobs run on the queue's workers) for up to 30 s.
func (s *scen) eventually(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits until the job queue has nothing available or running, so
// what a write set off (automations, notifications) has happened.
func (s *scen) settle() { s.settleWithin(120 * time.Second) }

// settleWithin is settle with a bound, reporting a slow queue's progress.
func (s *scen) settleWithin(bound time.Duration) {
	s.t.Helper()
	start := time.Now()
	deadline, report := start.Add(bound), start.Add(10*time.Second)
	for {
		var n int
		// Polled gently: on SQLite the workers share one writer.
		err := s.eng.DB.SQL.QueryRowContext(context.Background(),
			`SELECT COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'pending')`).Scan(&n)
		if err == nil && n == 0 {
			if time.Since(start) > 10*time.Second {
				s.t.Logf("the job queue settled in %s", time.Since(start).Round(time.Second))
			}
			return
		}
		if now := time.Now(); now.After(deadline) {
			s.t.Fatalf("the job queue did not settle within %s: %d jobs left (%v): %s", bound, n, err, s.jobKinds())
		} else if now.After(report) {
			s.t.Logf("the job queue: %d jobs left after %s", n, now.Sub(start).Round(time.Second))
			report = now.Add(10 * time.Second)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// jobKinds counts the unfinished jobs by kind and state, for a report.
func (s *scen) jobKinds() string {
	rows, err := s.eng.DB.SQL.QueryContext(context.Background(),
		`SELECT kind, state, COUNT(*) FROM river_job WHERE state IN ('available', 'running', 'retryable', 'pending') GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return err.Error()
		}
		out = append(out, fmt.Sprintf("%s %s %d", kind, state, n))
	}
	return strings.Join(out, ", ")
}

func items(body map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := body["items"].([]any)
	for _, it := range list {
		out = append(out, it.(map[string]any))
	}
	return out
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// dec reads a JSON number (or a decimal string) exactly; nil is zero.
func dec(t *testing.T, v any) decimal.Decimal {
	t.Helper()
	if v == nil {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(fmt.Sprint(v))
	if err != nil {
		t.Fatalf("not a number: %v (%T)", v, v)
	}
	return d
}
