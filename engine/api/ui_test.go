package api_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// The web UI is served outside /api: files as they are, index.html for the
// UI's own routes, with caching that suits hashed assets; /api stays JSON.
func TestServeUI(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db, "")
	cat := store.NewCatalog(db)
	ui := fstest.MapFS{
		"index.html":          {Data: []byte("<!doctype html><title>Forma</title>")},
		"assets/app-1a2b.js":  {Data: []byte("console.log(1)")},
		"assets/app-1a2b.css": {Data: []byte("body{}")},
	}
	srv := &api.Server{DB: db, Catalog: cat, Access: e.acc, Records: records.New(db, cat), UI: ui,
		Log: slog.New(slog.NewTextHandler(testLog{t}, nil))}
	app := srv.New()
	get := func(method, path string) (int, string, string, string) {
		t.Helper()
		resp, err := app.Test(httptest.NewRequest(method, path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control")
	}
	for _, path := range []string{"/", "/index.html", "/apps/crm/deal", "/%2e%2e/%2e%2e/etc/passwd"} {
		st, body, ct, cc := get("GET", path)
		if st != 200 || !strings.Contains(body, "<title>Forma</title>") || !strings.HasPrefix(ct, "text/html") || cc != "no-cache" {
			t.Errorf("GET %s: %d %q %q %q", path, st, body, ct, cc)
		}
	}
	st, body, ct, cc := get("GET", "/assets/app-1a2b.js")
	if st != 200 || body != "console.log(1)" || !strings.Contains(ct, "javascript") || !strings.Contains(cc, "immutable") {
		t.Errorf("asset: %d %q %q %q", st, body, ct, cc)
	}
	resp, err := app.Test(httptest.NewRequest("GET", "/", nil), -1)
	if err != nil || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("CSP: %v %q", err, resp.Header.Get("Content-Security-Policy"))
	}
	if st, _, _, cc := get("GET", "/assets/missing.js"); st != 404 || cc != "" {
		t.Errorf("missing asset: %d %q", st, cc)
	}
	if st, body, ct, _ := get("GET", "/api/nope"); st != 404 || !strings.Contains(body, `"not_found"`) || !strings.HasPrefix(ct, "application/json") {
		t.Errorf("unknown API route: %d %q %q", st, body, ct)
	}
	if st, body, _, _ := get("GET", "/api/health"); st != 200 || !strings.Contains(body, "ok") {
		t.Errorf("health: %d %q", st, body)
	}
	if st, body, _, _ := get("POST", "/apps"); st < 400 || !strings.Contains(body, `"error"`) {
		t.Errorf("POST outside /api: %d %q", st, body)
	}
	if st, _, _, _ := get("HEAD", "/"); st != 200 {
		t.Errorf("HEAD /: %d", st)
	}
}
