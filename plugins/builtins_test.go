package plugins_test

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/plugins"
	"github.com/formaapp/forma/schema"
)

// The app every test configures the built-ins in.
const appName = "sales"

const appDoc = `{"name": "sales", "entities": [{"name": "lead", "fields": [
	{"id": "l1", "name": "name", "type": "text"}, {"id": "l2", "name": "email", "type": "text"}]}]}`

// The engine clock of every test: DingTalk's signature is made from it.
var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// world is an engine whose plugins reach only the test's fakes: every
// HTTP request goes to one httptest server (which sees the host the
// plugin asked for in r.Host), every SMTP connection to an in-memory fake.
type world struct {
	t    *testing.T
	eng  *engine.Engine
	p    *plugin.Service
	mux  *http.ServeMux
	smtp *fakeSMTP
	logs string // the server's log file (slog)
}

// each runs fn on SQLite and, when configured, on PostgreSQL.
func each(t *testing.T, fn func(t *testing.T, w *world)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newWorld(t, "")) })
	t.Run("postgres", func(t *testing.T) { fn(t, newWorld(t, storetest.PostgresURL(t))) })
}

func newWorld(t *testing.T, dbURL string) *world {
	t.Helper()
	w := &world{t: t, mux: http.NewServeMux(), smtp: &fakeSMTP{}, logs: filepath.Join(t.TempDir(), "server.log")}
	logFile, err := os.Create(w.logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	srv := httptest.NewServer(w.mux)
	t.Cleanup(srv.Close)
	key := make([]byte, 32)
	if _, err = rand.Read(key); err != nil {
		t.Fatal(err)
	}
	cfg := engine.Config{
		DataDir: t.TempDir(),
		DBURL:   dbURL,
		Log:     slog.New(slog.NewTextHandler(logFile, nil)),
		Plugins: plugin.Options{
			SecretKey: key,
			Builtins:  plugins.FS(),
			Transport: redirect{addr: srv.Listener.Addr().String()},
			SMTPDial:  w.smtp.dial,
		},
	}
	ctx := context.Background()
	eng, err := engine.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open the engine: %v", err)
	}
	t.Cleanup(func() { eng.Close() })
	eng.DB.Clock = clock.NewTest(testNow)
	var app schema.App
	if err := json.Unmarshal([]byte(appDoc), &app); err != nil {
		t.Fatal(err)
	}
	if p := app.Check(); len(p) > 0 {
		t.Fatalf("app: %v", p)
	}
	if _, err := eng.DB.Apply(ctx, &app, store.ApplyOptions{}); err != nil {
		t.Fatalf("apply the app: %v", err)
	}
	w.eng, w.p = eng, eng.Plugins
	return w
}

// configure enables name in the test app with settings and secrets.
func (w *world) configure(name string, settings map[string]any, secrets map[string]string) {
	w.t.Helper()
	on := true
	in := plugin.ConfigInput{Enabled: &on, Secrets: map[string]*string{}}
	if settings != nil {
		b, err := json.Marshal(settings)
		if err != nil {
			w.t.Fatal(err)
		}
		in.Settings = b
	}
	for k, v := range secrets {
		in.Secrets[k] = &v
	}
	if _, err := w.p.Configure(context.Background(), appName, name, in, "admin", true); err != nil {
		w.t.Fatalf("configure %s: %v", name, err)
	}
}

func (w *world) call(name, action string, input map[string]any) (map[string]any, error) {
	return w.p.Call(context.Background(), appName, name, action, input, plugin.CallMeta{Kind: "action", Automation: "notify", Key: "k1"})
}

// mustFail checks err is a *plugin.Error whose message has want, and
// whether it is retried.
func mustFail(t *testing.T, err error, want string, retry bool) *plugin.Error {
	t.Helper()
	var pe *plugin.Error
	if !errors.As(err, &pe) {
		t.Fatalf("want a plugin error with %q, got %v", want, err)
	}
	if !strings.Contains(pe.Message, want) {
		t.Fatalf("want an error with %q, got %v", want, pe)
	}
	if pe.Retry != retry {
		t.Fatalf("%v: Retry = %v, want %v", pe, pe.Retry, retry)
	}
	return pe
}

// noSecret checks that secret appears in no answer, error, call log line
// or server log line.
func (w *world) noSecret(name, secret string, seen ...any) {
	w.t.Helper()
	calls, err := w.p.Calls(context.Background(), appName, name, 50)
	if err != nil {
		w.t.Fatalf("calls: %v", err)
	}
	b, _ := json.Marshal(append(seen, calls))
	if strings.Contains(string(b), secret) {
		w.t.Fatalf("the secret %q leaked into %s", secret, b)
	}
	logs, err := os.ReadFile(w.logs)
	if err != nil {
		w.t.Fatal(err)
	}
	if strings.Contains(string(logs), secret) {
		w.t.Fatalf("the secret %q leaked into the server log:\n%s", secret, logs)
	}
}

// redirect sends every request to the fake server, keeping the host the
// plugin asked for as the request's Host.
type redirect struct{ addr string }

func (r redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = "http", r.addr, req.URL.Host
	return http.DefaultTransport.RoundTrip(out)
}

// decodeStrict decodes a request body refusing unknown fields, so a body
// with anything the documented format lacks fails the test.
func decodeStrict(r *http.Request, v any) error {
	d := json.NewDecoder(r.Body)
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ---- WeCom ----

// wecomBody is the group robot's documented body (text and markdown).
type wecomBody struct {
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content             string   `json:"content"`
		MentionedList       []string `json:"mentioned_list,omitempty"`
		MentionedMobileList []string `json:"mentioned_mobile_list,omitempty"`
	} `json:"text,omitempty"`
	Markdown *struct {
		Content string `json:"content"`
	} `json:"markdown,omitempty"`
}

// fakeWeCom answers like qyapi.weixin.qq.com for one robot key; status,
// when set, is answered instead (an outage).
func fakeWeCom(t *testing.T, mux *http.ServeMux, key string, got *[]wecomBody, status *int) {
	mux.HandleFunc("/cgi-bin/webhook/send", func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "qyapi.weixin.qq.com" || r.Method != http.MethodPost {
			t.Errorf("wecom: %s %s%s", r.Method, r.Host, r.URL)
			http.NotFound(w, r)
			return
		}
		if status != nil && *status != 0 {
			w.WriteHeader(*status)
			return
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			writeJSON(w, 200, map[string]any{"errcode": 40008, "errmsg": "invalid message type: " + ct})
			return
		}
		if r.URL.Query().Get("key") != key {
			writeJSON(w, 200, map[string]any{"errcode": 93000, "errmsg": "invalid webhook url, hint: [1700000000_1_abc]"})
			return
		}
		var b wecomBody
		if err := decodeStrict(r, &b); err != nil {
			t.Errorf("wecom body: %v", err)
			writeJSON(w, 200, map[string]any{"errcode": 40035, "errmsg": "invalid parameter"})
			return
		}
		if (b.MsgType == "text") != (b.Text != nil) || (b.MsgType == "markdown") != (b.Markdown != nil) {
			t.Errorf("wecom body: msgtype %q with text %v markdown %v", b.MsgType, b.Text, b.Markdown)
		}
		*got = append(*got, b)
		writeJSON(w, 200, map[string]any{"errcode": 0, "errmsg": "ok"})
	})
}

func TestWeComPayload(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		const key = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
		var got []wecomBody
		var outage int
		fakeWeCom(t, w.mux, key, &got, &outage)
		// The admin pasted the whole webhook address: the key is taken from it.
		w.configure("wecom", nil, map[string]string{"key": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + key})

		out, err := w.call("wecom", "send", map[string]any{"content": "New lead: 李雷", "mentionedMobiles": []any{"138-0000-1111", "@all"}})
		if err != nil {
			t.Fatalf("text: %v", err)
		}
		if fmt.Sprint(out["errcode"]) != "0" || out["errmsg"] != "ok" {
			t.Fatalf("output %v", out)
		}
		out2, err := w.call("wecom", "send", map[string]any{"msgtype": "markdown", "content": "## 新线索\n> **李雷**"})
		if err != nil {
			t.Fatalf("markdown: %v", err)
		}
		if len(got) != 2 {
			t.Fatalf("the fake got %d messages", len(got))
		}
		if g := got[0]; g.MsgType != "text" || g.Text.Content != "New lead: 李雷" ||
			!reflect.DeepEqual(g.Text.MentionedMobileList, []string{"13800001111", "@all"}) || g.Text.MentionedList != nil {
			t.Errorf("text body: %+v %+v", g, g.Text)
		}
		if g := got[1]; g.MsgType != "markdown" || g.Markdown.Content != "## 新线索\n> **李雷**" {
			t.Errorf("markdown body: %+v", g)
		}

		// Markdown cannot mention by mobile: refused before any request.
		_, err = w.call("wecom", "send", map[string]any{"msgtype": "markdown", "content": "x", "mentionedMobiles": []any{"13800001111"}})
		mustFail(t, err, "cannot mention by mobile", false)
		// The input schema: an unknown msgtype, a missing content.
		_, err = w.call("wecom", "send", map[string]any{"msgtype": "news", "content": "x"})
		if pe := mustFail(t, err, "", false); pe.Kind != plugin.KindInput || len(pe.Details) == 0 || pe.Details[0].Path != "/msgtype" {
			t.Errorf("bad msgtype: %+v", pe)
		}
		_, err = w.call("wecom", "send", map[string]any{"mentionedMobiles": "13800001111"})
		if pe := mustFail(t, err, "", false); pe.Kind != plugin.KindInput {
			t.Errorf("wrong types: %+v", pe)
		}
		// Over WeCom's 2048 bytes for text, counted in UTF-8.
		_, err = w.call("wecom", "send", map[string]any{"content": strings.Repeat("线", 683)})
		mustFail(t, err, "longer than 2048 bytes", false)
		if len(got) != 2 {
			t.Fatalf("refused calls reached WeCom: %d", len(got))
		}

		// WeCom's errcode fails the call with its code; an outage is retried.
		w.configure("wecom", nil, map[string]string{"key": "wrong-key"})
		_, err = w.call("wecom", "send", map[string]any{"content": "hello"})
		mustFail(t, err, "errcode 93000", false)
		outage = http.StatusBadGateway
		_, err = w.call("wecom", "send", map[string]any{"content": "hello"})
		mustFail(t, err, "HTTP 502", true)
		w.noSecret("wecom", key, out, out2)
		w.noSecret("wecom", "wrong-key")
	})
}

// ---- DingTalk ----

type dingAt struct {
	AtMobiles []string `json:"atMobiles"`
	AtUserIDs []string `json:"atUserIds,omitempty"`
	IsAtAll   bool     `json:"isAtAll"`
}

// dingBody is the custom robot's documented body (text and markdown).
type dingBody struct {
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text,omitempty"`
	Markdown *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown,omitempty"`
	At *dingAt `json:"at,omitempty"`
}

// fakeDingTalk answers like oapi.dingtalk.com for one robot: it checks
// the signature as DingTalk does — recomputed from the timestamp and the
// robot's secret, the timestamp within an hour of its clock — and refuses
// a bad one with errcode 310000. secret "" is an unsigned robot.
func fakeDingTalk(t *testing.T, mux *http.ServeMux, token, secret string, now func() time.Time, got *[]dingBody) {
	mux.HandleFunc("/robot/send", func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "oapi.dingtalk.com" || r.Method != http.MethodPost {
			t.Errorf("dingtalk: %s %s%s", r.Method, r.Host, r.URL)
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if q.Get("access_token") != token {
			writeJSON(w, 200, map[string]any{"errcode": 300001, "errmsg": "token is not exist"})
			return
		}
		if secret != "" {
			ts, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
			if err != nil || now().Sub(time.UnixMilli(ts)).Abs() > time.Hour {
				writeJSON(w, 200, map[string]any{"errcode": 310000, "errmsg": "invalid timestamp"})
				return
			}
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(q.Get("timestamp") + "\n" + secret))
			want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
			// The raw query must carry the signature URL-encoded
			// (base64's + / = escaped), as DingTalk requires.
			if q.Get("sign") != want || !strings.Contains(r.URL.RawQuery, "sign="+url.QueryEscape(want)) {
				writeJSON(w, 200, map[string]any{"errcode": 310000, "errmsg": "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"})
				return
			}
		} else if q.Has("sign") || q.Has("timestamp") {
			t.Errorf("dingtalk: an unsigned robot got %s", r.URL.RawQuery)
		}
		var b dingBody
		if err := decodeStrict(r, &b); err != nil {
			t.Errorf("dingtalk body: %v", err)
			writeJSON(w, 200, map[string]any{"errcode": 40035, "errmsg": "缺少参数 json"})
			return
		}
		if (b.MsgType == "text") != (b.Text != nil) || (b.MsgType == "markdown") != (b.Markdown != nil) || b.At == nil {
			t.Errorf("dingtalk body: %+v", b)
		}
		*got = append(*got, b)
		writeJSON(w, 200, map[string]any{"errcode": 0, "errmsg": "ok"})
	})
}

func TestDingTalkPayloadAndSignature(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		const token = "b1f0c2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1"
		const secret = "SECb6e4f1a2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e"
		var got []dingBody
		// DingTalk's clock stays at testNow while the engine's may move.
		fakeDingTalk(t, w.mux, token, secret, func() time.Time { return testNow }, &got)
		w.configure("dingtalk", nil, map[string]string{"accessToken": token, "signSecret": secret})

		out, err := w.call("dingtalk", "send", map[string]any{"content": "New lead: Li Lei", "atMobiles": []any{"138 0000 1111"}})
		if err != nil {
			t.Fatalf("text: %v", err)
		}
		_, err = w.call("dingtalk", "send", map[string]any{"msgtype": "markdown", "content": "#### 新线索\n> 李雷 @13900002222",
			"atMobiles": []any{"13900002222", "13800001111"}})
		if err != nil {
			t.Fatalf("markdown: %v", err)
		}
		_, err = w.call("dingtalk", "send", map[string]any{"msgtype": "markdown", "title": "日报", "content": "**12** new leads", "atAll": true})
		if err != nil {
			t.Fatalf("at all: %v", err)
		}
		want := []dingBody{
			{MsgType: "text", At: &dingAt{AtMobiles: []string{"13800001111"}}},
			{MsgType: "markdown", At: &dingAt{AtMobiles: []string{"13900002222", "13800001111"}}},
			{MsgType: "markdown", At: &dingAt{AtMobiles: []string{}, IsAtAll: true}},
		}
		want[0].Text = &struct {
			Content string `json:"content"`
		}{"New lead: Li Lei"}
		want[1].Markdown = &struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		}{"新线索", "#### 新线索\n> 李雷 @13900002222\n\n@13800001111"}
		want[2].Markdown = &struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		}{"日报", "**12** new leads"}
		if !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			x, _ := json.Marshal(want)
			t.Fatalf("bodies:\n got %s\nwant %s", g, x)
		}

		// A wrong signing secret: DingTalk's fake refuses the signature.
		w.configure("dingtalk", nil, map[string]string{"signSecret": "SECnot-the-robots"})
		_, err = w.call("dingtalk", "send", map[string]any{"content": "hello"})
		mustFail(t, err, "errcode 310000: sign not match", false)
		// The engine clock more than an hour off DingTalk's: refused too,
		// so the timestamp is the engine's, not a constant.
		w.configure("dingtalk", nil, map[string]string{"signSecret": secret})
		w.eng.DB.Clock = clock.NewTest(testNow.Add(2 * time.Hour))
		_, err = w.call("dingtalk", "send", map[string]any{"content": "hello"})
		mustFail(t, err, "errcode 310000: invalid timestamp", false)
		w.eng.DB.Clock = clock.NewTest(testNow.Add(30 * time.Minute))
		if _, err = w.call("dingtalk", "send", map[string]any{"content": "half an hour later"}); err != nil {
			t.Fatalf("signed half an hour later: %v", err)
		}
		got = got[:len(got)-1]
		if len(got) != 3 {
			t.Fatalf("refused messages were counted: %d", len(got))
		}
		w.noSecret("dingtalk", secret, out)
		w.noSecret("dingtalk", token)
	})
}

func TestDingTalkUnsigned(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		const token = "abc_DEF-123"
		var got []dingBody
		fakeDingTalk(t, w.mux, token, "", w.eng.DB.Now, &got)
		w.configure("dingtalk", nil, map[string]string{"accessToken": "https://oapi.dingtalk.com/robot/send?access_token=" + token})
		if _, err := w.call("dingtalk", "send", map[string]any{"content": "hi", "atAll": true}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Text.Content != "hi" || !got[0].At.IsAtAll {
			t.Fatalf("got %+v", got)
		}
		// An input the schema refuses reaches nobody.
		for _, in := range []map[string]any{
			{"content": ""},
			{"content": "x", "atAll": "yes"},
			{"content": "x", "atMobiles": []any{"13800001111; DROP TABLE"}},
			{"content": "x", "extra": 1},
		} {
			_, err := w.call("dingtalk", "send", in)
			if pe := mustFail(t, err, "", false); pe.Kind != plugin.KindInput {
				t.Errorf("%v: %+v", in, pe)
			}
		}
		if len(got) != 1 {
			t.Fatalf("refused inputs were sent: %d", len(got))
		}
	})
}

// ---- REST ----

func TestRESTCall(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		const auth = "Bearer tok-5f1c9e"
		type seen struct {
			Method, Path, Query, Auth, Client, ContentType string
			Body                                           map[string]any
		}
		var got []seen
		w.mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
			if r.Host != "api.example.com" {
				t.Errorf("rest: host %s", r.Host)
			}
			s := seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"),
				Client: r.Header.Get("X-Client"), ContentType: r.Header.Get("Content-Type")}
			if r.ContentLength > 0 {
				if err := json.NewDecoder(r.Body).Decode(&s.Body); err != nil {
					t.Errorf("rest body: %v", err)
				}
			}
			got = append(got, s)
			switch r.URL.Path {
			case "/v1/leads":
				writeJSON(rw, 201, map[string]any{"id": "L-1"})
			case "/v1/down":
				rw.WriteHeader(503)
			default:
				writeJSON(rw, 404, map[string]any{"error": "no such thing"})
			}
		})
		// Settings the manifest refuses: a URL with a login or another
		// scheme, a header name that is not one, a setting not declared.
		for _, bad := range []struct {
			settings string
			path     string
		}{
			{`{"baseUrl": "https://user:pw@api.example.com"}`, "/settings/baseUrl"},
			{`{"baseUrl": "ftp://api.example.com"}`, "/settings/baseUrl"},
			{`{"baseUrl": "https://api.example.com/x?y#z"}`, "/settings/baseUrl"},
			{`{"baseUrl": "https://api.example.com", "headers": {"X Bad": "1"}}`, "/settings/headers"},
			{`{"baseUrl": "https://api.example.com", "headers": {"X-Ok": 1}}`, "/settings/headers/X-Ok"},
			{`{"baseUrl": "https://api.example.com", "proxy": "http://10.0.0.1"}`, "/settings"},
		} {
			on := true
			_, err := w.p.Configure(context.Background(), appName, "rest", plugin.ConfigInput{Enabled: &on, Settings: json.RawMessage(bad.settings)}, "admin", true)
			var re *plugin.RefusedError
			if !errors.As(err, &re) || re.Status != 422 || len(re.Details) == 0 {
				t.Fatalf("%s: want a 422 with problems, got %v", bad.settings, err)
			}
			if !strings.HasPrefix(re.Details[0].Path, bad.path) {
				t.Errorf("%s: want a problem at %s, got %v", bad.settings, bad.path, re.Details)
			}
		}
		w.configure("rest", map[string]any{"baseUrl": "https://api.example.com/v1/", "headers": map[string]any{"X-Client": "forma"}},
			map[string]string{"authorization": auth})

		out, err := w.call("rest", "call", map[string]any{"method": "POST", "path": "/leads",
			"query": map[string]any{"source": "web form", "n": 2}, "body": map[string]any{"name": "Li Lei"}})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(out["status"]) != "201" {
			t.Errorf("output %v", out)
		}
		if j, _ := out["json"].(map[string]any); j["id"] != "L-1" {
			t.Errorf("output json %v", out)
		}
		want := seen{Method: "POST", Path: "/v1/leads", Auth: auth, Client: "forma",
			ContentType: "application/json", Body: map[string]any{"name": "Li Lei"}}
		if len(got) != 1 {
			t.Fatalf("%d requests", len(got))
		}
		// The query's order is the runtime's; its encoding is the
		// plugin's (a space as %20).
		q, err := url.ParseQuery(got[0].Query)
		if err != nil || !reflect.DeepEqual(q, url.Values{"source": {"web form"}, "n": {"2"}}) || !strings.Contains(got[0].Query, "source=web%20form") {
			t.Errorf("query %q", got[0].Query)
		}
		got[0].Query = ""
		if !reflect.DeepEqual(got[0], want) {
			t.Fatalf("request:\n got %+v\nwant %+v", got[0], want)
		}
		_, err = w.call("rest", "call", map[string]any{"method": "GET", "path": "/missing"})
		mustFail(t, err, "answered HTTP 404", false)
		_, err = w.call("rest", "call", map[string]any{"method": "GET", "path": "/down"})
		mustFail(t, err, "answered HTTP 503", true)
		// The path cannot leave baseUrl's host, nor the input set the
		// secret's header.
		for in, msg := range map[string]string{
			`{"method": "GET", "path": "//evil.example.net/x"}`:                          "must start with a single /",
			`{"method": "GET", "path": "/../admin"}`:                                     "no . or .. segments",
			`{"method": "GET", "path": "/me", "headers": {"Authorization": "Bearer x"}}`: "cannot be set here",
			`{"method": "GET", "path": "/me", "body": {"a": 1}}`:                         "a GET call has no body",
		} {
			var m map[string]any
			json.Unmarshal([]byte(in), &m)
			_, err := w.call("rest", "call", m)
			mustFail(t, err, msg, false)
		}
		_, err = w.call("rest", "call", map[string]any{"method": "TRACE", "path": "/x"})
		if pe := mustFail(t, err, "", false); pe.Kind != plugin.KindInput {
			t.Errorf("TRACE: %+v", pe)
		}
		if len(got) != 3 {
			t.Fatalf("refused calls were made: %d", len(got))
		}
		w.noSecret("rest", "tok-5f1c9e", out)
	})
}

// ---- webform ----

func TestWebformSubmission(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		w.configure("webform", nil, nil)
		recv := func(req plugin.Inbound) ([]map[string]any, error) {
			return w.p.Receive(context.Background(), appName, "webform", "submission", "website", req)
		}
		items, err := recv(plugin.Inbound{Method: "POST", ContentType: "application/x-www-form-urlencoded",
			Form: map[string]string{"name": " Li Lei ", "email": "li@example.com", "_token": "T", "_redirect": "https://example.com/thanks"}})
		if err != nil {
			t.Fatal(err)
		}
		if want := []map[string]any{{"name": "Li Lei", "email": "li@example.com"}}; !reflect.DeepEqual(items, want) {
			t.Fatalf("form: %v", items)
		}
		items, err = recv(plugin.Inbound{Method: "POST", ContentType: "application/json",
			JSON: []any{map[string]any{"name": "A", "budget": 5000}, map[string]any{}, map[string]any{"name": "B", "tags": []any{"x", "y"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if want := []map[string]any{{"name": "A", "budget": "5000"}, {"name": "B", "tags": "x, y"}}; !reflect.DeepEqual(items, want) {
			t.Fatalf("json: %v", items)
		}
		// Only control fields: nothing to write.
		items, err = recv(plugin.Inbound{Method: "POST", Form: map[string]string{"_token": "T"}, Query: map[string]string{"token": "T"}})
		if err != nil || len(items) != 0 {
			t.Fatalf("empty: %v %v", items, err)
		}
		// Not an object, too many fields: refused.
		_, err = recv(plugin.Inbound{Method: "POST", ContentType: "application/json", JSON: "text"})
		mustFail(t, err, "must be an object of fields", false)
		many := map[string]string{}
		for i := 0; i < 201; i++ {
			many["f"+strconv.Itoa(i)] = "v"
		}
		_, err = recv(plugin.Inbound{Method: "POST", Form: many})
		mustFail(t, err, "more than 200 fields", false)
		flood := make([]any, 101)
		for i := range flood {
			flood[i] = map[string]any{"name": "x"}
		}
		_, err = recv(plugin.Inbound{Method: "POST", ContentType: "application/json", JSON: flood})
		mustFail(t, err, "at most 100 items", false)
	})
}

// ---- email ----

func TestEmailTemplate(t *testing.T) {
	each(t, func(t *testing.T, w *world) {
		w.configure("email", map[string]any{"host": "smtp.example.com", "port": 25, "tls": "none",
			"from":     "Forma CRM <crm@example.com>",
			"template": "<html><body><h2>{{subject}}</h2>{{body}}<p>Forma</p></body></html>"}, nil)
		out, err := w.call("email", "send", map[string]any{"to": "rep@example.com; boss@example.com", "cc": "ops@example.com",
			"subject": "New lead: Li\r\nBcc: victim@example.com", "body": "Li Lei <li@example.com>\nwants a demo"})
		if err != nil {
			t.Fatal(err)
		}
		if out["sent"] != true {
			t.Fatalf("output %v", out)
		}
		msgs := w.smtp.messages()
		if len(msgs) != 1 {
			t.Fatalf("the fake SMTP server got %d messages", len(msgs))
		}
		m := msgs[0]
		if m.addr != "smtp.example.com:25" || m.from != "crm@example.com" ||
			!reflect.DeepEqual(m.rcpt, []string{"rep@example.com", "boss@example.com", "ops@example.com"}) {
			t.Fatalf("envelope: %s from %s to %v", m.addr, m.from, m.rcpt)
		}
		// The subject's line break did not become a header: nobody was
		// Bcc'ed, and the Subject header is one line.
		if strings.Contains(strings.ToLower(m.data), "\nbcc:") {
			t.Fatalf("header injected:\n%s", m.data)
		}
		for _, want := range []string{"crm@example.com", "rep@example.com", "ops@example.com",
			"text/plain", "text/html", "wants a demo"} {
			if !strings.Contains(m.data, want) {
				t.Errorf("the message lacks %q:\n%s", want, m.data)
			}
		}
		text, html := m.parts(t)
		if !strings.Contains(text, "Li Lei <li@example.com>\r\nwants a demo") && !strings.Contains(text, "Li Lei <li@example.com>\nwants a demo") {
			t.Errorf("text part: %q", text)
		}
		if !strings.Contains(html, "<h2>New lead: Li Bcc: victim@example.com</h2>Li Lei &lt;li@example.com&gt;<br>") ||
			!strings.Contains(html, "<p>Forma</p></body></html>") {
			t.Errorf("html part: %q", html)
		}

		// A recipient smuggling a header is refused before connecting.
		_, err = w.call("email", "send", map[string]any{"to": "rep@example.com, x@y.com\r\nBcc: all@example.com", "subject": "s", "body": "b"})
		mustFail(t, err, "is not an email address", false)
		_, err = w.call("email", "send", map[string]any{"to": "rep@example.com", "subject": "s"})
		if pe := mustFail(t, err, "", false); pe.Kind != plugin.KindInput {
			t.Errorf("no body: %+v", pe)
		}
		if len(w.smtp.messages()) != 1 {
			t.Fatal("a refused mail was sent")
		}

		// A login: without TLS only to a relay the platform admin allowed
		// as private; the password is the secret, never shown again.
		const password = "smtp-pw-77c1"
		w.smtp.mu.Lock()
		w.smtp.user, w.smtp.pass = "crm@example.com", password
		w.smtp.mu.Unlock()
		relay := map[string]any{"host": "relay.example.com:2525", "tls": "none", "username": "crm@example.com", "from": "crm@example.com"}
		w.configure("email", relay, map[string]string{"password": password})
		in := map[string]any{"to": "rep@example.com", "subject": "Plain", "body": "no template"}
		_, err = w.call("email", "send", in)
		mustFail(t, err, "a login without TLS is allowed only to a private server", false)
		on := true
		rb, _ := json.Marshal(relay)
		if _, err := w.p.Configure(context.Background(), appName, "email", plugin.ConfigInput{Enabled: &on, Settings: rb, AllowPrivate: &on}, "admin", true); err != nil {
			t.Fatal(err)
		}
		if out, err = w.call("email", "send", in); err != nil {
			t.Fatalf("with a login: %v", err)
		}
		msgs = w.smtp.messages()
		if len(msgs) != 2 || msgs[1].login != "crm@example.com" || msgs[1].addr != "relay.example.com:2525" {
			t.Fatalf("login: %+v", msgs[len(msgs)-1])
		}
		if text, html := msgs[1].parts(t); strings.TrimSpace(text) != "no template" || html != "" {
			t.Errorf("without a template: text %q html %q", text, html)
		}
		// A wrong password: the server's refusal fails the call.
		wrong := "not-" + password
		w.configure("email", relay, map[string]string{"password": wrong})
		_, err = w.call("email", "send", in)
		if err == nil {
			t.Fatal("a refused login sent the mail")
		}
		w.noSecret("email", password, out, err.Error())
		w.noSecret("email", wrong)
	})
}

// ---- a tiny SMTP server ----

// fakeSMTP accepts every connection the plugins make (Options.SMTPDial)
// and keeps the messages delivered: enough SMTP for a client without TLS
// or authentication.
type fakeSMTP struct {
	mu   sync.Mutex
	msgs []smtpMessage
	// user and pass, when set, are the only login AUTH PLAIN accepts.
	user, pass string
}

type smtpMessage struct {
	addr, from string
	login      string // the user who logged in, "" none
	rcpt       []string
	data       string
}

func (f *fakeSMTP) messages() []smtpMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]smtpMessage(nil), f.msgs...)
}

func (f *fakeSMTP) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	client, server := net.Pipe()
	go f.serve(server, addr)
	return client, nil
}

func (f *fakeSMTP) serve(c net.Conn, addr string) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := newLineReader(c)
	say := func(s string) { io.WriteString(c, s+"\r\n") }
	say("220 smtp.example.com ESMTP fake")
	m := smtpMessage{addr: addr}
	for {
		line, err := r.line()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-smtp.example.com")
			say("250-8BITMIME")
			say("250-AUTH PLAIN")
			say("250 SMTPUTF8")
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			resp := strings.TrimSpace(line[len("AUTH PLAIN"):])
			if resp == "" {
				say("334 ")
				if resp, err = r.line(); err != nil {
					return
				}
			}
			b, _ := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(b), "\x00")
			f.mu.Lock()
			ok := len(parts) == 3 && f.user != "" && parts[1] == f.user && parts[2] == f.pass
			f.mu.Unlock()
			if !ok {
				say("535 5.7.8 authentication failed")
				continue
			}
			m.login = parts[1]
			say("235 2.7.0 authenticated")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m.from = strings.Trim(strings.Fields(line[len("MAIL FROM:"):])[0], "<>")
			say("250 OK")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.rcpt = append(m.rcpt, strings.Trim(strings.TrimSpace(line[len("RCPT TO:"):]), "<>"))
			say("250 OK")
		case cmd == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.line()
				if err != nil {
					return
				}
				if l == "." {
					break
				}
				b.WriteString(strings.TrimPrefix(l, ".") + "\n")
			}
			m.data = b.String()
			f.mu.Lock()
			f.msgs = append(f.msgs, m)
			f.mu.Unlock()
			m = smtpMessage{addr: addr, login: m.login}
			say("250 OK queued")
		case cmd == "RSET", cmd == "NOOP":
			say("250 OK")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

// parts returns the message's text/plain and text/html bodies (decoded).
func (m smtpMessage) parts(t *testing.T) (text, html string) {
	t.Helper()
	return mimeParts(t, m.data)
}
