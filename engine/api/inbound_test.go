package api_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/api"
)

const formType = "application/x-www-form-urlencoded"

// wantCORS checks the inbound route's CORS answer: any origin, no
// credentials.
func wantCORS(t *testing.T, what string, h map[string][]string) {
	t.Helper()
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if get("Access-Control-Allow-Origin") != "*" || !strings.Contains(get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("%s: CORS headers missing: %v", what, h)
	}
	if get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("%s: credentials allowed", what)
	}
}

// The inbound route needs no session, answers a preflight, refuses other
// methods and bad bodies with CORS headers (a website's script reads the
// answer), and never sets CORS headers on other routes.
func TestInboundRouteEdge(t *testing.T) {
	pluginEnv(t, kitApp, nil, func(t *testing.T, e *env) {
		st, h, _ := e.send("", "OPTIONS", "/api/in/kit/website", "", nil, map[string]string{
			"Origin": "https://www.example.com", "Access-Control-Request-Method": "POST"})
		if st != 204 {
			t.Errorf("preflight: %d", st)
		}
		wantCORS(t, "preflight", h)
		st, h, raw := e.send("", "GET", "/api/in/kit/website", "", nil, nil)
		wantErr(t, "GET", st, decodeAnswer(t, raw), 405, "method_not_allowed")
		wantCORS(t, "GET", h)
		st, h, raw = e.send("", "POST", "/api/in/kit/website", formType, []byte("name=a%00b"), nil)
		wantErr(t, "NUL", st, decodeAnswer(t, raw), 400, "bad_request")
		wantCORS(t, "NUL", h)
		st, h, raw = e.send("", "POST", "/api/in/kit/website", "text/plain", make([]byte, api.MaxInboundBytes+1), nil)
		wantErr(t, "too large", st, decodeAnswer(t, raw), 413, "payload_too_large")
		wantCORS(t, "too large", h)
		// A session's route stays without CORS.
		_, h, _ = e.send(e.token, "GET", "/api/meta/apps", "", nil, map[string]string{"Origin": "https://www.example.com"})
		if len(h["Access-Control-Allow-Origin"]) > 0 {
			t.Errorf("CORS on a session route: %v", h)
		}
	})
}

// kitWithConnector is the kit app with an inbound endpoint writing items
// through the echo plugin's trigger.
func kitWithConnector(t *testing.T, rateLimit int) string {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(kitApp), &doc); err != nil {
		t.Fatal(err)
	}
	doc["connectors"] = []any{map[string]any{"name": "website", "plugin": "echo", "trigger": "submission", "entity": "item",
		"mapping": map[string]any{"title": "name", "email": "email", "notes": "message"}, "defaults": map[string]any{"stage": "lead"},
		"match": "email", "honeypot": "company_url", "rateLimit": rateLimit}}
	return mustJSON(doc)
}

// A connector end to end: its endpoint and token, a submission by form
// and by JSON, wrong tokens and unknown endpoints alike, the honeypot, the
// redirect of a browser's form, a refused value, rotation, the flood.
func TestInboundConnector(t *testing.T) {
	pluginEnv(t, "", nil, func(t *testing.T, e *env) {
		st, _, raw := e.send(e.token, "POST", "/api/admin/plugins?allowUnsigned=1", "application/zip", packZip(t, echoFiles("1.0.0"), nil), nil)
		if st != 201 {
			t.Fatalf("install echo: %d %s", st, raw)
		}
		if st, body := e.do("POST", "/api/meta/apps", kitWithConnector(t, 8)); st != 201 {
			t.Fatalf("apply: %d %v", st, body)
		}
		if st, body := e.do("PUT", "/api/meta/apps/kit/plugins/echo", map[string]any{"enabled": true}); st != 200 {
			t.Fatalf("enable: %d %v", st, body)
		}
		st, ep := e.do("GET", "/api/meta/apps/kit/connectors/website", nil)
		if st != 200 || ep["path"] != "/api/in/kit/website" || str(ep["token"]) == "" || !strings.Contains(str(ep["snippet"]), "/api/in/kit/website") {
			t.Fatalf("endpoint: %d %v", st, ep)
		}
		token := str(ep["token"])
		st, body := e.do("GET", "/api/meta/apps/kit/connectors/nope", nil)
		wantErr(t, "unknown connector", st, body, 404, api.CodePluginNotFound)

		post := func(path, ctype, body string, hdr map[string]string) (int, map[string][]string, map[string]any) {
			st, h, raw := e.send("", "POST", path, ctype, []byte(body), hdr)
			return st, h, decodeAnswer(t, raw)
		}
		form := url.Values{"name": {"Ann"}, "email": {"ann@example.com"}, "message": {"call me"}, "_token": {token}}
		st, h, ans := post("/api/in/kit/website", formType, form.Encode(), nil)
		if st != 202 || ans["ok"] != true {
			t.Fatalf("submission: %d %v", st, ans)
		}
		wantCORS(t, "submission", h)
		if n := e.count("item"); n != 1 {
			t.Fatalf("items after a submission: %d", n)
		}

		// A wrong token and an unknown endpoint answer alike.
		st, _, wrong := post("/api/in/kit/website", formType, "name=Bo&_token=nope", nil)
		wantErr(t, "wrong token", st, wrong, 401, "invalid_token")
		st, _, unknown := post("/api/in/kit/nope", formType, "name=Bo&_token="+token, nil)
		wantErr(t, "unknown endpoint", st, unknown, 401, "invalid_token")
		if mustJSON(wrong) != mustJSON(unknown) {
			t.Errorf("a wrong token and an unknown endpoint answer differently: %v / %v", wrong, unknown)
		}
		st, _, ans = post("/api/in/kit/website", formType, "name=Bo", nil)
		wantErr(t, "no token", st, ans, 401, "invalid_token")

		// The honeypot: accepted, dropped.
		st, _, ans = post("/api/in/kit/website", formType, "name=Bot&company_url=http://spam.example&_token="+token, nil)
		if st != 202 || e.count("item") != 1 {
			t.Errorf("honeypot: %d %v, items %d", st, ans, e.count("item"))
		}

		// A browser's form post goes on to _redirect; JSON with the header.
		form = url.Values{"name": {"Cy"}, "email": {"cy@example.com"}, "_token": {token}, "_redirect": {"https://www.example.com/thanks"}}
		st, h, _ = post("/api/in/kit/website", formType, form.Encode(), map[string]string{"Accept": "text/html,application/xhtml+xml"})
		if st != 303 || h["Location"][0] != "https://www.example.com/thanks" {
			t.Errorf("redirect: %d %v", st, h)
		}
		st, _, ans = post("/api/in/kit/website", "application/json", `{"name": "Di", "email": "di@example.com"}`, map[string]string{"X-Forma-Token": token})
		if st != 202 || e.count("item") != 3 {
			t.Errorf("JSON: %d %v, items %d", st, ans, e.count("item"))
		}

		// A value the entity refuses: 422 by field, nothing written.
		st, _, ans = post("/api/in/kit/website?token="+url.QueryEscape(token), formType, "name=Ed&email=not-an-email", nil)
		wantErr(t, "bad email", st, ans, 422, "validation_failed")
		if st == 422 {
			wantDetail(t, "bad email", ans, "/email")
		}

		// Rotation: the old token stops working.
		st, ep = e.do("POST", "/api/meta/apps/kit/connectors/website/token", nil)
		if st != 200 || str(ep["token"]) == token || str(ep["token"]) == "" {
			t.Fatalf("rotate: %d %v", st, ep)
		}
		st, _, ans = post("/api/in/kit/website", formType, "name=Fa&_token="+token, nil)
		wantErr(t, "old token", st, ans, 401, "invalid_token")
		token = str(ep["token"])

		// Disabled in the app: 409.
		e.do("PUT", "/api/meta/apps/kit/plugins/echo", map[string]any{"enabled": false})
		st, _, ans = post("/api/in/kit/website", formType, "name=Gu&_token="+token, nil)
		wantErr(t, "disabled", st, ans, 409, api.CodePluginDisabled)
		e.do("PUT", "/api/meta/apps/kit/plugins/echo", map[string]any{"enabled": true})

		// A flood is throttled with Retry-After.
		throttled := false
		for i := 0; i < 20 && !throttled; i++ {
			st, h, ans = post("/api/in/kit/website", formType, "name=Flood&_token="+token, nil)
			if st == 429 {
				throttled = true
				wantErr(t, "flood", st, ans, 429, "too_many_requests")
				if retryAfter(h) <= 0 {
					t.Errorf("429 without Retry-After: %v", h)
				}
				wantCORS(t, "flood", h)
			}
		}
		if !throttled {
			t.Error("20 submissions within a minute were not throttled (rate limit 8)")
		}
	})
}
