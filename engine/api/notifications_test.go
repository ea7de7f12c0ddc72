package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// notifiers holds one notify service per database handle, as a server
// process has one: its ids then order notifications made in the same
// millisecond too.
var notifiers sync.Map

// sendNotes stores one notification per message for userID, as an
// automation's notify action does (inside a transaction), on db.
func sendNotes(t *testing.T, db *store.DB, acc *access.Service, userID string, msgs ...string) {
	t.Helper()
	ns, _ := notifiers.LoadOrStore(db, notify.New(db, acc))
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var list []notify.Notification
	for _, m := range msgs {
		list = append(list, notify.Notification{UserID: userID, App: "kit", Entity: "lead", RecordID: "r-" + m,
			Automation: "grade", Message: m, Key: "k-" + m})
	}
	if _, err := ns.(*notify.Service).Send(ctx, tx, list); err != nil {
		tx.Rollback()
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func (e *env) userToken(email string) (string, string) {
	e.t.Helper()
	u, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: email, Password: adminPassword, Roles: []string{"rep"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID, e.login(email, adminPassword)
}

func TestNotificationRoutes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		ann, annTok := e.userToken("ann@example.com")
		bob, bobTok := e.userToken("bob@example.com")
		for i := range 5 {
			sendNotes(t, e.db, e.acc, ann, fmt.Sprint("ann", i))
		}
		sendNotes(t, e.db, e.acc, bob, "bob0")

		st, body := e.doAs(annTok, "GET", "/api/me/notifications?limit=2", nil)
		list := items(t, body)
		if st != 200 || len(list) != 2 || num(t, body["unread"]) != 5 || str(body["nextCursor"]) == "" {
			t.Fatalf("first page: %d %v", st, body)
		}
		it := list[0]
		if it["message"] != "ann4" || it["app"] != "kit" || it["entity"] != "lead" || it["recordId"] != "r-ann4" ||
			it["automation"] != "grade" || it["readAt"] != nil || str(it["createdAt"]) == "" || str(it["id"]) == "" {
			t.Fatalf("item %v", it)
		}
		for _, k := range []string{"userId", "key", "UserID", "Key"} {
			if _, ok := it[k]; ok {
				t.Errorf("item shows %s: %v", k, it)
			}
		}
		var all []string
		cursor := ""
		for {
			st, body := e.doAs(annTok, "GET", "/api/me/notifications?limit=2&cursor="+q(cursor), nil)
			if st != 200 {
				t.Fatalf("page: %d %v", st, body)
			}
			for _, it := range items(t, body) {
				all = append(all, str(it["message"]))
			}
			if body["nextCursor"] == nil {
				break
			}
			cursor = str(body["nextCursor"])
		}
		if got := strings.Join(all, ","); got != "ann4,ann3,ann2,ann1,ann0" {
			t.Fatalf("pages %s", got)
		}

		// Only one's own: bob's id is a 404 for ann, exactly like an unknown one.
		_, body = e.doAs(bobTok, "GET", "/api/me/notifications", nil)
		bobs := items(t, body)
		if len(bobs) != 1 || bobs[0]["message"] != "bob0" {
			t.Fatalf("bob sees %v", bobs)
		}
		_, other := e.raw(annTok, "POST", "/api/me/notifications/"+str(bobs[0]["id"])+"/read", nil)
		_, unknown := e.raw(annTok, "POST", "/api/me/notifications/01hzzzzzzzzzzzzzzzzzzzzzzz/read", nil)
		if string(other) != string(unknown) {
			t.Errorf("another's id answers %s, an unknown one %s", other, unknown)
		}
		for _, id := range []string{str(bobs[0]["id"]), "01hzzzzzzzzzzzzzzzzzzzzzzz", "nope", "%27%20OR%201%3D1--", strings.Repeat("x", 5000)} {
			st, body := e.doAs(annTok, "POST", "/api/me/notifications/"+id+"/read", nil)
			wantErr(t, "read "+clip(id), st, body, 404, "not_found")
		}
		// NUL in the id or a parameter: refused at the edge like on every route.
		st, body = e.doAs(annTok, "POST", "/api/me/notifications/a%00b/read", nil)
		wantErr(t, "NUL id", st, body, 400, "bad_request")
		st, body = e.doAs(annTok, "GET", "/api/me/notifications?cursor=a%00b", nil)
		wantErr(t, "NUL cursor", st, body, 400, "bad_request")
		if _, body := e.doAs(bobTok, "GET", "/api/me/notifications?unread=1", nil); num(t, body["unread"]) != 1 {
			t.Fatalf("bob's unread changed: %v", body)
		}

		// Read one, then all.
		st, body = e.doAs(annTok, "POST", "/api/me/notifications/"+str(it["id"])+"/read", nil)
		if st != 200 || num(t, body["unread"]) != 4 {
			t.Fatalf("read: %d %v", st, body)
		}
		st, body = e.doAs(annTok, "GET", "/api/me/notifications?unread=1&limit=100", nil)
		if st != 200 || len(items(t, body)) != 4 || num(t, body["unread"]) != 4 {
			t.Fatalf("unread list: %d %v", st, body)
		}
		_, body = e.doAs(annTok, "GET", "/api/me/notifications?unread=0&limit=1", nil)
		if got := items(t, body)[0]; got["readAt"] == nil {
			t.Fatalf("read item %v", got)
		}
		st, body = e.doAs(annTok, "POST", "/api/me/notifications/read-all", nil)
		if st != 200 || num(t, body["marked"]) != 4 || num(t, body["unread"]) != 0 {
			t.Fatalf("read-all: %d %v", st, body)
		}
		if _, body := e.doAs(bobTok, "GET", "/api/me/notifications", nil); num(t, body["unread"]) != 1 {
			t.Fatalf("ann's read-all touched bob's: %v", body)
		}
		// The admin has none: an empty list, not null.
		if st, body := e.do("GET", "/api/me/notifications", nil); st != 200 || body["items"] == nil || len(items(t, body)) != 0 || num(t, body["unread"]) != 0 {
			t.Fatalf("admin: %d %v", st, body)
		}

		// Bad input: 400 and nothing changed.
		for _, qs := range []string{"unread=maybe", "unread=2", "limit=-1", "limit=0", "limit=101", "limit=9999", "limit=abc", "limit=1.5",
			"cursor=x", "cursor=" + q("' OR 1=1 --"), "cursor=" + strings.ToUpper(str(it["id"])), "cursor=" + strings.Repeat("z", 9000)} {
			st, body := e.doAs(annTok, "GET", "/api/me/notifications?"+qs, nil)
			wantErr(t, qs, st, body, 400, "invalid_query")
		}
		// Unknown parameters are ignored, as on every other list route.
		if st, _ := e.doAs(annTok, "GET", "/api/me/notifications?color=red", nil); st != 200 {
			t.Errorf("unknown parameter: %d", st)
		}

		// Methods.
		for _, m := range []struct{ method, path, allow string }{
			{"POST", "/api/me/notifications", "GET"}, {"DELETE", "/api/me/notifications", "GET"},
			{"GET", "/api/me/notifications/read-all", "POST"}, {"PUT", "/api/me/notifications/x/read", "POST"},
			{"GET", "/api/me/notifications/" + str(it["id"]) + "/read", "POST"}, {"POST", "/api/me/notifications/stream", "GET"},
		} {
			st, body := e.doAs(annTok, m.method, m.path, nil)
			wantErr(t, m.method+" "+m.path, st, body, 405, "method_not_allowed")
		}

		// Unauthenticated: 401 everywhere, and the stream too.
		for _, r := range [][2]string{{"GET", "/api/me/notifications"}, {"GET", "/api/me/notifications/stream"},
			{"POST", "/api/me/notifications/read-all"}, {"POST", "/api/me/notifications/" + str(it["id"]) + "/read"}} {
			st, body := e.doAs("", r[0], r[1], nil)
			wantErr(t, "no token "+r[1], st, body, 401, "unauthorized")
			st, body = e.doAs("forma_s_notatoken", r[0], r[1], nil)
			wantErr(t, "bad token "+r[1], st, body, 401, "unauthorized")
		}
	})
}

// TestNotificationStreamAcrossServers: the stream on server A announces a
// notification another server (its own pool) stored, and a read; it ends
// when its session is revoked.
func TestNotificationStreamAcrossServers(t *testing.T) {
	old := api.NotificationPoll
	api.NotificationPoll = 100 * time.Millisecond
	defer func() { api.NotificationPoll = old }()
	eachTwo(t, func(t *testing.T, dbA, dbB *store.DB) {
		a := newEnv(t, dbA, "")
		ann, annTok := a.userToken("ann@example.com")
		sendNotes(t, dbA, a.acc, ann, "before")

		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go a.app.Listener(ln)
		defer a.app.ShutdownWithTimeout(time.Second)
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/me/notifications/stream", nil)
		req.Header.Set("Authorization", "Bearer "+annTok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := make(chan string, 10)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			name := ""
			for sc.Scan() {
				line := sc.Text()
				if v, ok := strings.CutPrefix(line, "event: "); ok {
					name = v
				}
				if v, ok := strings.CutPrefix(line, "data: "); ok {
					events <- name + " " + v
				}
			}
			close(events)
		}()
		next := func(want string) {
			t.Helper()
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("stream ended; want %s", want)
				}
				if ev != want {
					t.Fatalf("event %q, want %q", ev, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no event within 5 s; want %s", want)
			}
		}
		next(`unread {"unread":1}`) // at connect

		// Stored through server B's own handles.
		accB, err := access.New(context.Background(), dbB, access.Options{})
		if err != nil {
			t.Fatal(err)
		}
		sendNotes(t, dbB, accB, ann, "x", "y")
		next(`unread {"unread":3}`)
		if _, err := notify.New(dbB, accB).MarkAllRead(context.Background(), ann); err != nil {
			t.Fatal(err)
		}
		next(`unread {"unread":0}`)

		// Logging out ends the stream.
		if st, body := a.doAs(annTok, "POST", "/api/auth/logout", nil); st != 200 && st != 204 {
			t.Fatalf("logout: %d %v", st, body)
		}
		select {
		case ev, ok := <-events:
			if ok {
				t.Fatalf("event after logout: %s", ev)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the stream outlived its session")
		}
	})
}

func TestTeamManagerRoutes(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		lead, _ := e.userToken("lead@example.com")
		gone, _ := e.userToken("gone@example.com")
		if err := e.acc.SetActive(context.Background(), gone, false); err != nil {
			t.Fatal(err)
		}
		st, body := e.do("POST", "/api/admin/teams", map[string]any{"name": "North", "managerId": lead})
		if st != 201 || body["managerId"] != lead {
			t.Fatalf("create with manager: %d %v", st, body)
		}
		north := str(body["id"])
		st, body = e.do("POST", "/api/admin/teams", map[string]any{"name": "South", "managerId": nil})
		if st != 201 || body["managerId"] != nil {
			t.Fatalf("create with null manager: %d %v", st, body)
		}
		south := str(body["id"])

		// Set, keep, clear with null.
		if st, body := e.do("PATCH", "/api/admin/teams/"+south, map[string]any{"managerId": strings.ToUpper(lead)}); st != 200 || body["managerId"] != lead {
			t.Fatalf("set: %d %v", st, body)
		}
		if st, body := e.do("PATCH", "/api/admin/teams/"+south, map[string]any{"name": "South 1"}); st != 200 || body["managerId"] != lead {
			t.Fatalf("rename kept the manager? %d %v", st, body)
		}
		if st, body := e.do("PATCH", "/api/admin/teams/"+south, `{"managerId": null}`); st != 200 || body["managerId"] != nil {
			t.Fatalf("clear: %d %v", st, body)
		}
		_, body = e.do("GET", "/api/admin/teams", nil)
		for _, tm := range items(t, body) {
			if want := map[string]any{north: lead, south: nil}[str(tm["id"])]; tm["managerId"] != want {
				t.Errorf("listed %v, want managerId %v", tm, want)
			}
		}

		// Audited.
		_, body = e.do("GET", "/api/admin/audit?action=team_change&limit=10", nil)
		found := false
		for _, a := range items(t, body) {
			if d, _ := a["detail"].(map[string]any); d != nil && d["managerId"] == lead && a["target"] == south {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit entry with the manager: %v", body)
		}

		// Bad input: refused with a pointer, nothing changed.
		for _, bad := range []struct {
			body  string
			path  string
			wants int
		}{
			{`{"managerId": "` + gone + `"}`, "/managerId", 422},
			{`{"managerId": "01hzzzzzzzzzzzzzzzzzzzzzzz"}`, "/managerId", 422},
			{`{"managerId": "x' OR '1'='1"}`, "/managerId", 422},
			{`{"managerId": "a\u0000b"}`, "", 422},
			{`{"managerId": 7}`, "", 422},
			{`{"managerId": ["` + lead + `"]}`, "", 422},
			{`{"managerId": {"id": "` + lead + `"}}`, "", 422},
			{`{"managerId": "` + strings.Repeat("a", 10000) + `"}`, "/managerId", 422},
			{`{"managerId": "` + lead + `", "boss": 1}`, "", 422},
			{`{"managerId": `, "", 400},
		} {
			st, body := e.do("PATCH", "/api/admin/teams/"+north, bad.body)
			if st != bad.wants {
				t.Errorf("%s: %d %v", clip(bad.body), st, body)
				continue
			}
			errCode(t, body)
			if bad.path != "" {
				wantDetail(t, clip(bad.body), body, bad.path)
			}
			st, body = e.do("POST", "/api/admin/teams", strings.Replace(bad.body, "{", `{"name": "Bad", `, 1))
			if st < 400 || st > 422 {
				t.Errorf("create %s: %d %v", clip(bad.body), st, body)
			}
		}
		if _, body := e.do("GET", "/api/admin/teams", nil); len(items(t, body)) != 2 {
			t.Errorf("a refused create made a team: %v", body)
		}
		_, body = e.do("GET", "/api/admin/teams", nil)
		for _, tm := range items(t, body) {
			if tm["id"] == north && tm["managerId"] != lead {
				t.Errorf("a refused patch changed the manager: %v", tm)
			}
		}
		// Not for non-admins.
		_, repTok := e.userToken("rep@example.com")
		st, body = e.doAs(repTok, "PATCH", "/api/admin/teams/"+north, map[string]any{"managerId": nil})
		wantErr(t, "rep sets a manager", st, body, 403, "forbidden")
	})
}

// TestNotificationStreamEndsCleanly: a stream ends by itself before the
// server's write timeout would cut it, with a proper end of the body, and a
// new one starts with the count.
func TestNotificationStreamEndsCleanly(t *testing.T) {
	old := api.NotificationStreamLife
	api.NotificationStreamLife = 300 * time.Millisecond
	defer func() { api.NotificationStreamLife = old }()
	e := newEnv(t, storetest.SQLite(t), "")
	ann, tok := e.userToken("ann@example.com")
	sendNotes(t, e.db, e.acc, ann, "one")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go e.app.Listener(ln)
	defer e.app.ShutdownWithTimeout(time.Second)
	for range 2 {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/me/notifications/stream", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("the stream was cut off: %v", err)
		}
		if !strings.Contains(string(body), "event: unread\ndata: {\"unread\":1}\n\n") {
			t.Fatalf("stream body %q", body)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("the stream lasted %v", d)
		}
	}
}
