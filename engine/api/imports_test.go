package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/bulk"
	"github.com/formaapp/forma/engine/files"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/jobs/jobstest"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

const importsApp = `{"name": "crm", "settings": {"maxImportMB": 1},
  "entities": [{"name": "lead", "fields": [
    {"id": "f1", "name": "name", "type": "text", "required": true, "unique": true},
    {"id": "f2", "name": "score", "type": "integer"},
    {"id": "f3", "name": "tier", "type": "select", "options": ["a", "b"]}]}],
  "roles": [{"name": "rep", "entities": {"lead": {"create": "own", "read": "own", "update": "own", "fields": {"tier": "readonly"}}}}]}`

// importsEnv is the API with the bulk service, a job queue and a folder
// bucket, and two reps.
type importsEnv struct {
	*filesEnv
	bulk *bulk.Service
}

func newImportsEnv(t *testing.T, db *store.DB) *importsEnv {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(testLog{t}, nil))
	acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	cat := store.NewCatalog(db)
	recs := records.New(db, cat)
	q, err := jobs.New(ctx, db, jobs.Options{PollInterval: 20 * time.Millisecond, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := recs.UseJobs(q); err != nil {
		t.Fatal(err)
	}
	b := bulk.New(db, cat, recs, acc, q, log)
	if err := b.Register(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	fs, err := files.New(db, cat, recs, "", dir, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	b.UseTemp(fs)
	jobstest.Start(t, ctx, q)
	srv := &api.Server{DB: db, Catalog: cat, Access: acc, Records: recs, Jobs: q, Log: log, Bulk: b, Files: fs}
	e := &env{t: t, db: db, acc: acc, app: srv.New(), dialect: db.Dialect.Name(), jobs: q, recs: recs}
	if e.admin, err = acc.CreateUser(ctx, adminEmail, adminPassword, "Admin", true); err != nil {
		t.Fatal(err)
	}
	e.token = e.login(adminEmail, adminPassword)
	if st, body := e.do("POST", "/api/meta/apps", importsApp); st != 201 {
		t.Fatalf("apply: %d %v", st, body)
	}
	f := &filesEnv{env: e, files: fs, dir: filepath.Join(dir, "files"), tokens: map[string]string{"admin": e.token}, ids: map[string]string{}}
	for _, name := range []string{"rep1", "rep2"} {
		u, err := acc.CreateUserWith(ctx, access.NewUser{Email: name + "@example.com", Password: "password " + name, Name: name, Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		f.ids[name] = u.ID
		f.tokens[name] = e.login(name+"@example.com", "password "+name)
	}
	return &importsEnv{filesEnv: f, bulk: b}
}

// startImport posts csv with options (raw JSON, "" for none) as who.
func (f *importsEnv) startImport(who, path, filename, csv, options string) (int, map[string]any) {
	f.t.Helper()
	parts := []part{{name: "file", filename: filename, contentType: "text/csv", body: []byte(csv)}}
	if options != "" {
		parts = append(parts, part{name: "options", body: []byte(options)})
	}
	body, ct := multipartBody(parts...)
	resp, raw := f.send(who, "POST", path, ct, body)
	return resp.StatusCode, decodeObject(f.t, raw)
}

// waitImport polls the import until it is done or failed.
func (f *importsEnv) waitImport(who, id string) map[string]any {
	f.t.Helper()
	var body map[string]any
	f.eventually("import "+id+" finishes", func() bool {
		resp, raw := f.send(who, "GET", "/api/data/crm/lead/imports/"+id, "", nil)
		if resp.StatusCode != 200 {
			f.t.Fatalf("get import: %d %s", resp.StatusCode, raw)
		}
		body = decodeObject(f.t, raw)
		return body["status"] == "done" || body["status"] == "failed"
	})
	return body
}

func (f *importsEnv) leads() int {
	var n int
	if err := f.db.SQL.QueryRow(`SELECT COUNT(*) FROM crm_lead`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestImportAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newImportsEnv(t, db)
		const path = "/api/data/crm/lead/imports"

		// preview: nothing written
		body, ct := multipartBody(part{name: "file", filename: "l.csv", contentType: "text/csv", body: []byte("name,score\na,1\nb,x\n")})
		resp, raw := f.send("rep1", "POST", path+"/preview", ct, body)
		pv := decodeObject(t, raw)
		if resp.StatusCode != 200 || len(pv["rows"].([]any)) != 2 || f.leads() != 0 {
			t.Fatalf("preview: %d %v", resp.StatusCode, pv)
		}
		// the preview says how the file was read (detected, or as the options stated)
		if pv["format"] != "csv" || pv["encoding"] != "utf-8" || pv["delimiter"] != "," {
			t.Fatalf("preview read as: %v %v %q", pv["format"], pv["encoding"], pv["delimiter"])
		}
		gbk, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte("name\tscore\n华为\t1\n"))
		body, ct = multipartBody(part{name: "file", filename: "l.csv", contentType: "text/csv", body: gbk},
			part{name: "options", body: []byte(`{"encoding":"gb18030","delimiter":"\t"}`)})
		resp, raw = f.send("rep1", "POST", path+"/preview", ct, body)
		pv = decodeObject(t, raw)
		if rows, _ := pv["rows"].([]any); resp.StatusCode != 200 || pv["encoding"] != "gb18030" || pv["delimiter"] != "\t" || len(rows) != 1 ||
			rows[0].(map[string]any)["values"].(map[string]any)["name"] != "华为" {
			t.Fatalf("GB18030, tab: %d %v", resp.StatusCode, pv)
		}

		// one bad row: nothing written, the report and errors.csv name it
		st, started := f.startImport("rep1", path, "leads.csv", "name,score\na,1\nb,x\nc,3\n", "")
		if st != 202 || started["status"] != "queued" {
			t.Fatalf("start: %d %v", st, started)
		}
		id := started["id"].(string)
		got := f.waitImport("rep1", id)
		errs, _ := got["errors"].([]any)
		if got["status"] != "failed" || fmt.Sprint(got["bad"]) != "1" || len(errs) != 1 || f.leads() != 0 {
			t.Fatalf("bad row: %v", got)
		}
		if e := errs[0].(map[string]any); fmt.Sprint(e["row"]) != "3" || e["column"] != "score" {
			t.Fatalf("error: %v", e)
		}
		resp, raw = f.send("rep1", "GET", path+"/"+id+"/errors.csv", "", nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(string(raw), "\ufeffname,score,reason\nb,x,score: ") {
			t.Fatalf("errors.csv: %d %q", resp.StatusCode, raw)
		}
		// only the starter or an admin sees it
		if resp, _ := f.send("rep2", "GET", path+"/"+id, "", nil); resp.StatusCode != 404 {
			t.Fatalf("another rep sees the import: %d", resp.StatusCode)
		}
		if resp, _ := f.send("rep2", "GET", path+"/"+id+"/errors.csv", "", nil); resp.StatusCode != 404 {
			t.Fatalf("another rep sees the errors: %d", resp.StatusCode)
		}
		if resp, _ := f.send("admin", "GET", path+"/"+id, "", nil); resp.StatusCode != 200 {
			t.Fatalf("the admin cannot see the import: %d", resp.StatusCode)
		}

		// skip bad rows: the good ones written, owned by the rep
		st, started = f.startImport("rep1", path, "leads.csv", "name,score\na,1\nb,x\nc,3\n", `{"skipBadRows": true}`)
		if st != 202 {
			t.Fatalf("start: %d %v", st, started)
		}
		got = f.waitImport("rep1", started["id"].(string))
		if got["status"] != "done" || fmt.Sprint(got["created"]) != "2" || fmt.Sprint(got["skipped"]) != "1" || f.leads() != 2 {
			t.Fatalf("skip: %v", got)
		}
		// the upload is gone once the import finished
		if entries, _ := os.ReadDir(filepath.Join(f.dir, "tmp", "imports")); len(entries) != 0 {
			t.Fatalf("uploads left: %v", entries)
		}

		// a rep cannot set a read-only field nor create outside their scope
		st, started = f.startImport("rep1", path, "leads.csv", "name,tier,owner\nd,a,\ne,,"+f.ids["rep2"]+"\n", "")
		got = f.waitImport("rep1", started["id"].(string))
		if got["status"] != "failed" || fmt.Sprint(got["bad"]) != "2" || f.leads() != 2 {
			t.Fatalf("rep rules: %v", got)
		}
	})
}

func TestImportAPIBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newImportsEnv(t, db)
		const path = "/api/data/crm/lead/imports"
		check := func(what string, st int, body map[string]any, status int, code string) {
			t.Helper()
			wantErr(t, what, st, body, status, code)
			if f.leads() != 0 {
				t.Fatalf("%s: rows written", what)
			}
			var n int
			f.db.SQL.QueryRow(`SELECT COUNT(*) FROM _forma_imports`).Scan(&n)
			if n != 0 {
				t.Fatalf("%s: an import was queued", what)
			}
		}
		st, body := f.startImport("rep1", path, "bin.csv", "\x00\x01\x02\x03PK\x03\x04", "")
		check("a binary file named .csv", st, body, 415, "unreadable_file")
		st, body = f.startImport("rep1", path, "l.csv", "name,x\na,1\n", `{"map": {"x": "nope"}}`)
		check("a map to an unknown field", st, body, 422, "unknown_field")
		st, body = f.startImport("rep1", path, "l.csv", "name\na\n", `{"skipBadRows": tru`)
		check("malformed options", st, body, 422, "invalid")
		st, body = f.startImport("rep1", path, "l.csv", "name\na\n", `{"skipBadRows": true, "sql": "DROP TABLE"}`)
		check("an unknown option", st, body, 422, "invalid")
		st, body = f.startImport("rep1", path, "l.csv", "name\na\n", `{"upsertBy": "score"}`)
		check("upsert by a field that is not unique", st, body, 422, "validation_failed")
		st, body = f.startImport("rep1", path, "l.csv", "name\na\n", `{"timeZone": "Mars/Olympus"}`)
		check("an unknown time zone", st, body, 422, "invalid")
		resp, raw := f.send("rep1", "POST", path, "application/json", []byte(`{}`))
		check("not multipart", resp.StatusCode, decodeObject(t, raw), 415, "unsupported_media_type")
		// over the app's limit (1 MB): refused from the Content-Length,
		// before a byte of the 2 GB is read
		st, body = f.rawRequest(fmt.Sprintf("POST %s HTTP/1.1\r\nHost: forma.test\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n--x",
			path, f.tokens["rep1"], int64(2)<<30))
		check("a 2 GB upload", st, body, 413, "file_too_large")
		big := "name\n" + strings.Repeat("a-very-long-name-for-a-lead\n", 50000)
		st, body = f.startImport("rep1", path, "big.csv", big, "")
		check("over the app's import limit", st, body, 413, "file_too_large")
		// an unknown import, one with a hostile id
		for _, id := range []string{"01hzzzzzzzzzzzzzzzzzzzzzzz", "x' OR '1'='1", strings.Repeat("9", 300)} {
			resp, raw := f.send("rep1", "GET", path+"/"+url.PathEscape(id), "", nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("import %q: %d %s", id, resp.StatusCode, raw)
			}
		}
	})
}
