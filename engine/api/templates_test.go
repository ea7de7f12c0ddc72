package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/plugin"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/engine/template"
	"github.com/formaapp/forma/plugins"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// templateEnv is an API with the built-in connector plugins (the pipeline
// template's web form needs them) and no app.
func templateEnv(t *testing.T, db *store.DB) *env {
	t.Helper()
	return newEnvPlugins(t, db, "", plugin.Options{SecretKey: bytes.Repeat([]byte{7}, 32), Builtins: plugins.FS()})
}

// appVersions is every installed app and its version: what "nothing
// changed" compares.
func (e *env) appVersions() map[string]int {
	e.t.Helper()
	list, err := e.db.Apps(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, a := range list {
		out[a.Name] = a.Version
	}
	return out
}

const installPath = "/api/meta/templates/pipeline/install"

func TestTemplateList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := templateEnv(t, db)
		st, body := e.do("GET", "/api/meta/templates", nil)
		list := items(t, body)
		if st != 200 || len(list) != 2 || list[0]["name"] != "pipeline" || list[1]["name"] != "store-sales" {
			t.Fatalf("%d %v", st, body)
		}
		for _, it := range list {
			labels, _ := it["labels"].(map[string]any)
			descs, _ := it["descriptions"].(map[string]any)
			if it["app"] == "" || labels["zh-CN"] == nil || labels["en"] == nil || descs == nil || it["installed"] != false {
				t.Errorf("%v", it)
			}
			if p, ok := it["picture"].(string); ok && !strings.HasPrefix(p, "data:image/") {
				t.Errorf("picture %q", clip(p))
			}
		}
		if st, body := e.do("POST", installPath, map[string]any{}); st != 201 {
			t.Fatalf("%d %v", st, body)
		}
		_, body = e.do("GET", "/api/meta/templates", nil)
		if list := items(t, body); list[0]["installed"] != true || list[1]["installed"] != false {
			t.Fatalf("%v", list)
		}

		// Admins only: anonymous 401, a user 403 — and they change nothing.
		_, tok := e.userToken("rep@example.com")
		for _, c := range []struct{ method, path string }{{"GET", "/api/meta/templates"}, {"POST", "/api/meta/templates/store-sales/install"}} {
			if st, body := e.doAs("", c.method, c.path, map[string]any{}); st != 401 {
				t.Errorf("anonymous %s %s: %d %v", c.method, c.path, st, body)
			}
			st, body := e.doAs(tok, c.method, c.path, map[string]any{})
			wantErr(t, "user "+c.method+" "+c.path, st, body, 403, "forbidden")
		}
		if v := e.appVersions(); len(v) != 1 {
			t.Fatalf("apps %v", v)
		}
	})
}

func TestTemplateInstall(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := templateEnv(t, db)
		// Bad input: refused, and nothing changed.
		for _, c := range []struct {
			what, path string
			body       any
			status     int
			code       string
			detail     string
		}{
			{"malformed", installPath, `{"app": `, 400, "invalid_json", ""},
			{"an array", installPath, `[{"app": "x"}]`, 400, "invalid_json", ""},
			{"null", installPath, `null`, 400, "invalid_json", ""},
			{"two values", installPath, `{} {}`, 400, "invalid_json", ""},
			{"unknown key", installPath, `{"apps": "crm"}`, 400, "invalid_json", "/apps"},
			{"sample a string", installPath, `{"sample": "10"}`, 422, "validation_failed", "/sample"},
			{"sample a fraction", installPath, `{"sample": 1.5}`, 422, "validation_failed", "/sample"},
			{"sample huge", installPath, `{"sample": 1e30}`, 422, "validation_failed", "/sample"},
			{"upgrade a string", installPath, `{"upgrade": "yes"}`, 422, "validation_failed", "/upgrade"},
			{"app a number", installPath, `{"app": 5}`, 422, "validation_failed", "/app"},
			{"seed a string", installPath, `{"seed": "1"}`, 422, "validation_failed", "/seed"},
			{"app twice", installPath, `{"app": "a", "app": "b"}`, 422, "validation_failed", ""},
			{"sample over the API's limit", installPath, `{"sample": 20001}`, 422, "invalid_value", "/sample"},
			{"negative sample", installPath, `{"sample": -1}`, 422, "invalid_value", "/sample"},
			{"sample under the generator's least", installPath, `{"sample": 99}`, 422, "invalid_value", "/sample"},
			{"app name with spaces", installPath, `{"app": "my sales"}`, 422, "validation_failed", "/app"},
			{"app name injection", installPath, `{"app": "x\"; DROP TABLE _forma_apps; --"}`, 422, "validation_failed", "/app"},
			{"app name quote", installPath, `{"app": "x' OR '1'='1"}`, 422, "validation_failed", "/app"},
			{"app name reserved", installPath, `{"app": "forma_apps"}`, 422, "validation_failed", "/app"},
			{"oversized", installPath, `{"app": "` + strings.Repeat("a", 5000) + `"}`, 413, "payload_too_large", ""},
			{"unknown template", "/api/meta/templates/nope/install", `{}`, 404, "template_not_found", ""},
			{"traversal", "/api/meta/templates/..%2Fpipeline/install", `{}`, 404, "template_not_found", ""},
			{"dot-dot", "/api/meta/templates/%2E%2E/install", `{}`, 404, "template_not_found", ""},
			{"NUL", "/api/meta/templates/pipeline%00/install", `{}`, 400, "bad_request", ""},
			{"upper case", "/api/meta/templates/Pipeline/install", `{}`, 404, "template_not_found", ""},
		} {
			st, body := e.do("POST", c.path, c.body)
			wantErr(t, c.what, st, body, c.status, c.code)
			if c.detail != "" {
				wantDetail(t, c.what, body, c.detail)
			}
			if v := e.appVersions(); len(v) != 0 {
				t.Fatalf("%s: apps %v", c.what, v)
			}
		}
		// A body past the server's limit is refused from its length.
		if st, body := e.announceBody("POST", installPath, 9<<20); st != 413 {
			t.Errorf("9 MiB: %d %v", st, body)
		}

		// An empty body installs the template as it is.
		st, body := e.do("POST", installPath, nil)
		if st != 201 || body["app"] != "pipeline" || num(t, body["version"]) != 1 || num(t, body["users"]) != 0 {
			t.Fatalf("%d %v", st, body)
		}
		plan, _ := body["plan"].(map[string]any)
		sampleRows, _ := body["sample"].(map[string]any)
		if steps, _ := plan["steps"].([]any); len(steps) == 0 || sampleRows == nil || len(sampleRows) != 0 {
			t.Fatalf("%v", body)
		}
		st, body = e.do("GET", "/api/meta/apps/pipeline", nil)
		if st != 200 || body["label"] != "Sales pipeline" {
			t.Fatalf("%d %v", st, body)
		}
		// The admin's install is in the audit log, naming the template.
		st, body = e.do("GET", "/api/admin/audit?action=app_apply", nil)
		if st != 200 || !strings.Contains(mustJSON(body), `"template":"pipeline"`) {
			t.Errorf("audit: %d %v", st, body)
		}

		// Again: 409, still version 1.
		before := e.appVersions()
		st, body = e.do("POST", installPath, map[string]any{"upgrade": false})
		wantErr(t, "again", st, body, 409, "app_exists")
		wantDetail(t, "again", body, "/app")
		if after := e.appVersions(); !reflect.DeepEqual(before, after) {
			t.Fatalf("%v → %v", before, after)
		}
		// Upgrade over itself: nothing to migrate, no new version.
		st, body = e.do("POST", installPath, map[string]any{"upgrade": true})
		if st != 201 || num(t, body["version"]) != 1 {
			t.Fatalf("upgrade: %d %v", st, body)
		}
		// Under another name, beside it.
		st, body = e.do("POST", installPath, map[string]any{"app": "crm", "seed": 3})
		if st != 201 || body["app"] != "crm" {
			t.Fatalf("%d %v", st, body)
		}
		if v := e.appVersions(); v["crm"] != 1 || v["pipeline"] != 1 {
			t.Fatalf("%v", v)
		}

		// Sample rows: written when the template has a recipe (part B),
		// else refused before anything changed.
		before = e.appVersions()
		st, body = e.do("POST", installPath, map[string]any{"app": "demo", "sample": 100, "seed": 1})
		if _, err := fs.Stat(templates.FS(), "pipeline/sample.json"); err != nil {
			wantErr(t, "sample without a recipe", st, body, 422, "invalid_value")
			if after := e.appVersions(); !reflect.DeepEqual(before, after) {
				t.Fatalf("%v → %v", before, after)
			}
		} else {
			rows, _ := body["sample"].(map[string]any)
			if st != 201 || len(rows) == 0 || num(t, body["users"]) == 0 {
				t.Fatalf("sample: %d %v", st, body)
			}
			for entity, n := range rows {
				if got := e.count("demo/" + entity); int64(got) < num(t, n) {
					t.Errorf("%s: %d rows, the answer says %v", entity, got, n)
				}
			}
		}
	})
}

// exportZip fetches an app's template zip as token and unzips it into a
// new folder, returning the folder.
func (e *env) exportZip(token, app string) (int, string) {
	e.t.Helper()
	req := httptest.NewRequest("GET", "http://forma.test/api/meta/apps/"+app+"/template", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, ""
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/zip" {
		e.t.Fatalf("content type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="`+app+`-template.zip"` {
		e.t.Fatalf("content disposition %q", cd)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		e.t.Fatal(err)
	}
	dir := e.t.TempDir()
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, app+"/") || strings.Contains(f.Name, "..") {
			e.t.Fatalf("zip entry %q", f.Name)
		}
		r, err := f.Open()
		if err != nil {
			e.t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	return 200, dir
}

// An installed and changed app, exported as a zip and installed from the
// unzipped folder on another server, is the same app document there.
func TestTemplateExport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := templateEnv(t, db)
		if st, body := e.do("POST", installPath, map[string]any{"app": "crm"}); st != 201 {
			t.Fatalf("%d %v", st, body)
		}
		// The admin changes it: a field more on account.
		st, body := e.do("GET", "/api/meta/apps/crm", nil)
		if st != 200 {
			t.Fatalf("%d %v", st, body)
		}
		delete(body, "systemFields")
		for _, en := range body["entities"].([]any) {
			if m := en.(map[string]any); m["name"] == "account" {
				m["fields"] = append(m["fields"].([]any), map[string]any{"id": "f_memo", "name": "memo", "type": "text", "label": "备注 <memo> & co"})
			}
		}
		if st, body := e.do("POST", "/api/meta/apps", body); st != 201 {
			t.Fatalf("change: %d %v", st, body)
		}
		_, want := e.do("GET", "/api/meta/apps/crm", nil)
		// An upgrade from the template would drop the new field: refused
		// as apply refuses it, nothing changed.
		before := e.appVersions()
		st, body = e.do("POST", installPath, map[string]any{"app": "crm", "upgrade": true})
		wantErr(t, "upgrade dropping a field", st, body, 422, "migration_refused")
		if after := e.appVersions(); !reflect.DeepEqual(before, after) {
			t.Fatalf("%v → %v", before, after)
		}

		st, dir := e.exportZip(e.token, "crm")
		if st != 200 {
			t.Fatalf("export: %d", st)
		}
		for _, f := range []string{"template.json", "app/00-app.json", "app/10-entities.json"} {
			if _, err := os.Stat(filepath.Join(dir, "crm", f)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		js, _ := filepath.Glob(filepath.Join(dir, "crm", "scripts", "*.js"))
		if len(js) == 0 {
			t.Error("no scripts/*.js in the export")
		}

		// Elsewhere: a new database of the same dialect.
		var other *store.DB
		if db.Dialect.Name() == "postgres" {
			other = storetest.Postgres(t)
		} else {
			other = storetest.SQLite(t)
		}
		e2 := templateEnv(t, other)
		ctx := context.Background()
		check := func(ctx context.Context, app *schema.App) schema.Problems { return e2.recs.CheckApp(app) }
		in, err := template.Install(ctx, template.Target{DB: e2.db, Records: e2.recs, Access: e2.acc, Check: check, AppliedBy: e2.admin.ID},
			os.DirFS(dir), "crm", template.InstallOptions{})
		if err != nil || in.Version != 1 {
			t.Fatalf("%+v %v", in, err)
		}
		_, got := e2.do("GET", "/api/meta/apps/crm", nil)
		delete(want, "version")
		delete(got, "version")
		if a, b := mustJSON(want), mustJSON(got); a != b {
			t.Fatalf("the app elsewhere differs:\n%s\n----\n%s", clip(a), clip(b))
		}

		// Who may read the app's metadata may export it, as far as they
		// may see it: a rep gets no scripts or role rules; a user with no
		// role in the app, and a stranger, get nothing.
		_, repTok := e.userToken("rep@example.com")
		st, repDir := e.exportZip(repTok, "crm")
		if st != 200 {
			t.Fatalf("rep export: %d", st)
		}
		if js, _ := filepath.Glob(filepath.Join(repDir, "crm", "scripts", "*.js")); len(js) != 0 {
			t.Errorf("a rep's export holds scripts: %v", js)
		}
		u, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "nobody@example.com", Password: adminPassword})
		if err != nil || u == nil {
			t.Fatal(err)
		}
		if st, _ := e.exportZip(e.login("nobody@example.com", adminPassword), "crm"); st != 404 {
			t.Errorf("a user without a role: %d", st)
		}
		if st, _ := e.exportZip("", "crm"); st != 401 {
			t.Errorf("anonymous: %d", st)
		}
		if st, _ := e.exportZip(e.token, "nope"); st != 404 {
			t.Errorf("no such app: %d", st)
		}
		var m map[string]any
		b, _ := os.ReadFile(filepath.Join(repDir, "crm", "template.json"))
		if err := json.Unmarshal(b, &m); err != nil || m["app"] != "crm" {
			t.Errorf("template.json %s %v", b, err)
		}
	})
}
