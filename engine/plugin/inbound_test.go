package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/jobs/jobstest"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/plugins"
	"github.com/formaapp/forma/schema"
)

// inboundApp has a lead entity, one automation on created leads and the
// connectors the tests post to.
const inboundApp = `{"name": "crm", "entities": [
  {"name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text", "label": "Name <b>\"you\"</b>", "required": true},
    {"id": "l2", "name": "email", "type": "email", "unique": true},
    {"id": "l3", "name": "phone", "type": "phone"},
    {"id": "l4", "name": "source", "type": "text"},
    {"id": "l5", "name": "grade", "type": "text"},
    {"id": "l6", "name": "rep", "type": "user"},
    {"id": "l7", "name": "score", "type": "formula", "expr": "1"}]}],
 "roles": [{"name": "web", "entities": {"lead": {"read": "own", "create": "all", "update": "all"}}}],
 "automations": [{"name": "grade_web", "entity": "lead", "trigger": {"type": "created"}, "condition": "source = \"website\"",
   "actions": [{"type": "set", "fields": {"grade": "web"}}]}],
 "connectors": [
  {"name": "website", "plugin": "webform", "trigger": "submission", "entity": "lead",
   "mapping": {"name": "name", "email": "email", "phone": "phone"}, "defaults": {"source": "website"},
   "match": "email", "honeypot": "company_url"},
  {"name": "tight", "plugin": "webform", "trigger": "submission", "entity": "lead", "role": "web",
   "mapping": {"name": "name"}, "rateLimit": 3},
  {"name": "off", "enabled": false, "plugin": "webform", "trigger": "submission", "entity": "lead", "mapping": {"name": "name"}},
  {"name": "many", "plugin": "overflow", "trigger": "submission", "entity": "lead", "mapping": {"name": "name"}}]}`

// overflowManifest and overflowJS are a test plugin whose trigger makes
// one record more than a submission may (MaxItems).
const overflowManifest = `{"name": "overflow", "version": "1.0.0", "author": "t", "description": "makes too many items",
  "triggers": [{"name": "submission", "output": {"type": "object", "properties": {"name": {"type": "string"}}}}]}`

const overflowJS = `function submission(request) {
  var items = [];
  for (var i = 0; i <= 100; i++) items.push({name: "many " + i});
  return items;
}`

type inboundFixture struct {
	t    testing.TB
	db   *store.DB
	clk  *clock.Test
	recs *records.Service
	s    *Service
}

func newInbound(t testing.TB, db *store.DB, withAutomations bool) *inboundFixture {
	t.Helper()
	ctx := context.Background()
	f := &inboundFixture{t: t, db: db, clk: clock.NewTest(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))}
	db.Clock = f.clk
	cat := store.NewCatalog(db)
	f.recs = records.New(db, cat)
	log := slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError}))
	q, err := jobs.New(ctx, db, jobs.Options{PollInterval: 20 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.recs.UseJobs(q); err != nil {
		t.Fatal(err)
	}
	if withAutomations {
		acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatal(err)
		}
		autos := automation.New(db, cat, f.recs, acc, q, log)
		if err := autos.Register(ctx); err != nil {
			t.Fatal(err)
		}
		jobstest.Start(t, ctx, q)
	}
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	// The built-in webform runs each submission in the sandbox, as in
	// production; the overflow test plugin is installed beside it.
	opts := Options{SecretKey: key, Builtins: plugins.FS(), AllowUnsigned: true}
	if f.s, err = New(ctx, db, cat, f.recs, q, opts, log); err != nil {
		t.Fatal(err)
	}
	app, probs := schema.Parse([]byte(inboundApp))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if _, _, err := f.recs.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	pkg, err := ReadFolder(fstest.MapFS{"plugin.json": {Data: []byte(overflowManifest)}, "index.js": {Data: []byte(overflowJS)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Install(ctx, pkg, "u1", true); err != nil {
		t.Fatal(err)
	}
	on := true
	for _, name := range []string{"webform", "overflow"} {
		if _, err := f.s.Configure(ctx, "crm", name, ConfigInput{Enabled: &on}, "u1", true); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// runs is how many times the webform's trigger ran in crm (its call log).
func (f *inboundFixture) runs() int {
	f.t.Helper()
	calls, err := f.s.Calls(context.Background(), "crm", "webform", KeepCalls)
	if err != nil {
		f.t.Fatal(err)
	}
	return len(calls)
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func (f *inboundFixture) token(connector string) string {
	f.t.Helper()
	ep, err := f.s.Endpoint(context.Background(), "crm", connector, "https://crm.example.com/")
	if err != nil {
		f.t.Fatal(err)
	}
	return ep.Token
}

func (f *inboundFixture) leads() []*records.Record {
	f.t.Helper()
	page, err := f.recs.List(context.Background(), records.Caller{Admin: true}, "crm", "lead", records.Query{Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Items
}

func form(kv ...string) Inbound {
	req := Inbound{Method: "POST", ContentType: "application/x-www-form-urlencoded", IP: "203.0.113.7", Form: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Form[kv[i]] = kv[i+1]
	}
	return req
}

func TestAcceptCreatesWithHistoryAndAutomation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newInbound(t, db, true)
		ctx := context.Background()
		tok := f.token("website")
		ids, status, err := f.s.Accept(ctx, "crm", "website", tok, form("_token", tok, "name", " Li Lei ", "email", "li@example.com", "phone", "+86 138 0013 8000", "note", "kept out"))
		if err != nil || status != 202 || len(ids) != 1 {
			t.Fatalf("accept = %v %d %v", ids, status, err)
		}
		rec, err := f.recs.Get(ctx, records.Caller{Admin: true}, "crm", "lead", ids[0], "", "")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Get("name") != "Li Lei" || rec.Get("email") != "li@example.com" || rec.Get("source") != "website" {
			t.Fatalf("record = %v", rec)
		}
		hist, err := f.recs.History(ctx, records.Caller{Admin: true}, "crm", "lead", ids[0], 0, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(hist.Items) != 1 || hist.Items[0].Path != records.PathPlugin || hist.Items[0].Plugin != "webform" {
			t.Fatalf("history = %+v", hist.Items)
		}
		if b, _ := json.Marshal(hist); !strings.Contains(string(b), `"path":"plugin"`) || !strings.Contains(string(b), `"plugin":"webform"`) {
			t.Fatalf("history JSON = %s", b)
		}
		// The automation on created leads ran on the plugin's write.
		deadline := time.Now().Add(30 * time.Second)
		for {
			rec, err = f.recs.Get(ctx, records.Caller{Admin: true}, "crm", "lead", ids[0], "", "")
			if err != nil {
				t.Fatal(err)
			}
			if rec.Get("grade") == "web" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the automation did not run: %v", rec)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func TestAcceptRefusesTokens(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newInbound(t, db, false)
		ctx := context.Background()
		tok := f.token("website")
		for _, c := range []struct{ app, connector, token string }{
			{"crm", "website", ""},
			{"crm", "website", tok + "x"},
			{"crm", "website", tok[:len(tok)-1]},
			{"crm", "website", strings.ToUpper(tok)},
			{"crm", "tight", tok}, // another connector's token
			{"crm", "nosuch", tok},
			{"nosuch", "website", tok},
			{"crm", "website", "' OR 1=1 --"},
		} {
			ids, status, err := f.s.Accept(ctx, c.app, c.connector, c.token, form("name", "Mallory", "email", "m@example.com"))
			if status != 401 || err == nil || len(ids) != 0 {
				t.Errorf("%+v: %v %d %v", c, ids, status, err)
			}
			if err != nil && strings.Contains(err.Error(), tok) {
				t.Errorf("the error shows the token: %v", err)
			}
		}
		if n, runs := len(f.leads()), f.runs(); n != 0 || runs != 0 {
			t.Fatalf("%d leads written, %d trigger runs", n, runs)
		}
		// Rotated: the old token stops working, the new one works.
		ep, err := f.s.RotateToken(ctx, "crm", "website", "https://crm.example.com")
		if err != nil || ep.Token == tok || len(ep.Token) != 43 {
			t.Fatalf("rotate = %+v %v", ep, err)
		}
		if _, status, _ := f.s.Accept(ctx, "crm", "website", tok, form("name", "Old")); status != 401 {
			t.Fatalf("the old token: %d", status)
		}
		if _, status, err := f.s.Accept(ctx, "crm", "website", ep.Token, form("name", "New")); status != 202 {
			t.Fatalf("the new token: %d %v", status, err)
		}
		if runs := f.runs(); runs != 1 {
			t.Fatalf("%d trigger runs, want 1 (the call log counts them)", runs)
		}
		// At rest the token is sealed.
		var stored string
		if err := db.SQL.QueryRow(`SELECT token FROM _forma_connector_tokens WHERE connector = 'website'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, ep.Token) {
			t.Fatal("the token is stored in the clear")
		}
		// A disabled connector, with its right token: 409, nothing written.
		if _, status, _ := f.s.Accept(ctx, "crm", "off", f.token("off"), form("name", "Off")); status != 409 {
			t.Fatalf("disabled: %d", status)
		}
		if n := len(f.leads()); n != 1 {
			t.Fatalf("%d leads", n)
		}
	})
}

func TestAcceptRateLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newInbound(t, db, false)
		ctx := context.Background()
		tok := f.token("tight")
		post := func(ip string) (int, error) {
			req := form("name", "flood")
			req.IP = ip
			_, status, err := f.s.Accept(ctx, "crm", "tight", tok, req)
			return status, err
		}
		for i := 0; i < 3; i++ {
			if status, err := post("198.51.100.1"); status != 202 {
				t.Fatalf("submission %d: %d %v", i, status, err)
			}
		}
		for i := 0; i < 5; i++ {
			status, err := post("198.51.100.1")
			var rl *ErrRateLimited
			if status != 429 || !errors.As(err, &rl) || rl.RetryAfter() <= 0 || rl.RetryAfter() > time.Minute {
				t.Fatalf("flood %d: %d %v", i, status, err)
			}
		}
		if n := len(f.leads()); n != 3 {
			t.Fatalf("%d leads, want 3", n)
		}
		// Another address has its own count; a second server on the same
		// database shares the count (it lives in the database).
		if status, _ := post("198.51.100.2"); status != 202 {
			t.Fatalf("another address: %d", status)
		}
		other, err := New(ctx, db, f.s.cat, f.recs, f.s.q, f.s.opts, nil)
		if err != nil {
			t.Fatal(err)
		}
		req := form("name", "flood")
		req.IP = "198.51.100.1"
		if _, status, _ := other.Accept(ctx, "crm", "tight", tok, req); status != 429 {
			t.Fatalf("a second server: %d", status)
		}
		// The next minute the address may post again.
		f.clk.Advance(time.Minute)
		if status, err := post("198.51.100.1"); status != 202 {
			t.Fatalf("next minute: %d %v", status, err)
		}
		// A very long address is cut, not refused.
		if status, err := post(strings.Repeat("9", 500)); status != 202 {
			t.Fatalf("long address: %d %v", status, err)
		}
	})
}

func TestAcceptHoneypotAndSystemFields(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newInbound(t, db, false)
		ctx := context.Background()
		tok := f.token("website")
		ids, status, err := f.s.Accept(ctx, "crm", "website", tok, form("name", "Bot", "email", "bot@example.com", "company_url", "http://spam.example"))
		if status != 202 || err != nil || len(ids) != 0 || f.runs() != 0 || len(f.leads()) != 0 {
			t.Fatalf("honeypot: %v %d %v, %d runs", ids, status, err, f.runs())
		}
		jsonReq := Inbound{Method: "POST", ContentType: "application/json", IP: "203.0.113.9", JSON: map[string]any{"name": "Bot", "company_url": 1}}
		if ids, status, _ := f.s.Accept(ctx, "crm", "website", tok, jsonReq); status != 202 || len(ids) != 0 || len(f.leads()) != 0 {
			t.Fatalf("honeypot in JSON: %v %d", ids, status)
		}
		// A submission carrying system fields sets none of them.
		ids, status, err = f.s.Accept(ctx, "crm", "website", tok, form("name", "Eve", "email", "eve@example.com",
			"owner", "01hadmin000000000000000000", "id", "chosen", "created_by", "01hadmin000000000000000000", "version", "99",
			"created_at", "2000-01-01T00:00:00Z", "updated_at", "2000-01-01T00:00:00Z", "score", "5", "rep", "01hadmin000000000000000000", "grade", "A"))
		if status != 202 || err != nil || len(ids) != 1 {
			t.Fatalf("accept = %v %d %v", ids, status, err)
		}
		rec, err := f.recs.Get(ctx, records.Caller{Admin: true}, "crm", "lead", ids[0], "", "")
		if err != nil {
			t.Fatal(err)
		}
		if rec.ID() == "chosen" || rec.Get("owner") != nil || rec.Get("created_by") != nil || fmt.Sprint(rec.Get("version")) != "1" ||
			rec.Get("rep") != nil || rec.Get("grade") != nil || !rec.Get("created_at").(time.Time).Equal(f.clk.Now()) {
			t.Fatalf("record = %v", rec)
		}
	})
}

func TestAcceptUpsertAndValidation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newInbound(t, db, false)
		ctx := context.Background()
		tok := f.token("website")
		a, status, err := f.s.Accept(ctx, "crm", "website", tok, form("name", "Han Meimei", "email", "han@example.com"))
		if status != 202 || err != nil {
			t.Fatal(status, err)
		}
		b, status, err := f.s.Accept(ctx, "crm", "website", tok, form("name", "Han Meimei (2)", "email", "han@example.com", "phone", "+86 139 0000 0000"))
		if status != 202 || err != nil || b[0] != a[0] {
			t.Fatalf("upsert: %v %v %d %v", a, b, status, err)
		}
		leads := f.leads()
		if len(leads) != 1 || leads[0].Get("name") != "Han Meimei (2)" || leads[0].Get("phone") == nil || fmt.Sprint(leads[0].Get("version")) != "2" {
			t.Fatalf("leads = %v", leads)
		}
		hist, err := f.recs.History(ctx, records.Caller{Admin: true}, "crm", "lead", a[0], 0, "")
		if err != nil || len(hist.Items) != 2 || hist.Items[0].Op != records.OpUpdate || hist.Items[0].Plugin != "webform" {
			t.Fatalf("history = %+v %v", hist, err)
		}
		// A value the entity refuses: 422 with details, nothing written.
		_, status, err = f.s.Accept(ctx, "crm", "website", tok, form("name", "Bad", "email", "not an email"))
		var re *records.Error
		if status != 422 || !errors.As(err, &re) || len(re.Details) == 0 || re.Details[0].Path != "/email" {
			t.Fatalf("invalid: %d %v", status, err)
		}
		// A required field missing: 422.
		if _, status, _ := f.s.Accept(ctx, "crm", "website", tok, form("email", "x@example.com")); status != 422 {
			t.Fatalf("required: %d", status)
		}
		// A match value made to break out of the filter matches nothing.
		_, status, err = f.s.Accept(ctx, "crm", "website", tok, form("name", "Inject", "email", `han@example.com" || name = "x`))
		if status != 422 {
			t.Fatalf("injection: %d %v", status, err)
		}
		_, status, err = f.s.Accept(ctx, "crm", "website", tok, form("name", "Ctl", "email", "a\bb@example.com"))
		if status != 422 {
			t.Fatalf("control character: %d %v", status, err)
		}
		// Items the trigger's output schema refuses (a field name longer
		// than the webform allows): 422 from the trigger, with details.
		long := map[string]any{"name": "Long", strings.Repeat("k", 101): "v"}
		_, status, err = f.s.Accept(ctx, "crm", "website", tok, Inbound{Method: "POST", IP: "203.0.113.1", JSON: long})
		var pe *Error
		if status != 422 || !errors.As(err, &pe) || pe.Kind != KindOutput || len(pe.Details) == 0 {
			t.Fatalf("a trigger's output error: %d %v", status, err)
		}
		// A body the webform's script refuses (not objects): the script
		// throws, which refuses the submission (422), nothing written.
		_, status, err = f.s.Accept(ctx, "crm", "website", tok, Inbound{Method: "POST", IP: "203.0.113.1", JSON: []any{1, 2}})
		if status != 422 || !errors.As(err, &pe) || pe.Kind != KindScript || !strings.Contains(pe.Message, "must be an object of fields") {
			t.Fatalf("a trigger's script error: %d %v", status, err)
		}
		// A trigger that makes too many items at once: 422, nothing written.
		if _, status, _ := f.s.Accept(ctx, "crm", "many", f.token("many"), form("name", "many")); status != 422 {
			t.Fatalf("too many items: %d", status)
		}
		if n := len(f.leads()); n != 1 {
			t.Fatalf("%d leads", n)
		}
	})
}

func TestEndpointSnippet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newInbound(t, db, false)
		ctx := context.Background()
		ep, err := f.s.Endpoint(ctx, "crm", "website", "https://crm.example.com/")
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.s.Endpoint(ctx, "crm", "website", "https://crm.example.com")
		if err != nil || again.Token != ep.Token {
			t.Fatalf("a second read made another token: %v", err)
		}
		if ep.Path != "/api/in/crm/website" || ep.App != "crm" || ep.Name != "website" {
			t.Fatalf("endpoint = %+v", ep)
		}
		for _, want := range []string{
			`action="https://crm.example.com/api/in/crm/website"`,
			`name="_token" value="` + ep.Token + `"`,
			`type="email" name="email"`, `type="tel" name="phone"`, `name="name" required`,
			`Name &lt;b&gt;&#34;you&#34;&lt;/b&gt;`,
			`name="company_url" tabindex="-1"`, `aria-hidden="true"`,
		} {
			if !strings.Contains(ep.Snippet, want) {
				t.Errorf("the snippet lacks %s:\n%s", want, ep.Snippet)
			}
		}
		if strings.Contains(ep.Snippet, "<b>") {
			t.Errorf("a label is not escaped:\n%s", ep.Snippet)
		}
		for _, c := range [][2]string{{"crm", "nosuch"}, {"nosuch", "website"}} {
			_, err := f.s.Endpoint(ctx, c[0], c[1], "")
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind != KindNotFound {
				t.Errorf("%v: %v", c, err)
			}
		}
	})
}

// BenchmarkAcceptWebForm measures inbound web-form leads accepted per
// second into a lead table with one automation (its job enqueued with
// each write): the token, the rate limit's upsert, the mapping and the
// write with its history, and the built-in webform's trigger run in the
// sandbox (with its call log) for each submission.
func BenchmarkAcceptWebForm(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *store.DB
			if dialect == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			f := newInbound(b, db, true)
			ctx := context.Background()
			tok := f.token("website")
			var n atomic.Int64
			b.SetParallelism(4) // posts from several visitors at once
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					req := form("name", "Lead", "email", fmt.Sprintf("lead%d@example.com", i))
					req.IP = fmt.Sprintf("10.%d.%d.%d", i/62500%250, i/250%250, i%250) // under each address's limit
					if _, status, err := f.s.Accept(ctx, "crm", "website", tok, req); status != 202 {
						b.Error(status, err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "leads/s")
		})
	}
}
