package api_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/files"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// docsApp has two file fields on deals, one of them hidden from reps; reps
// read and write their own deals only. Its uploads are limited to 1 MB.
const docsApp = `{"name": "docs", "settings": {"maxFileMB": 1},
  "entities": [{"id": "e_deal", "name": "deal", "fields": [
    {"id": "d1", "name": "title", "type": "text"},
    {"id": "d2", "name": "contract", "type": "file"},
    {"id": "d3", "name": "memo", "type": "file"}]}],
  "roles": [{"name": "rep", "entities": {"deal": {"create": "own", "read": "own", "update": "own", "delete": "own",
    "fields": {"memo": "hidden"}}}}]}`

// otherApp is a second app with a file field, for ids that cross apps.
const otherApp = `{"name": "other",
  "entities": [{"id": "e_deal", "name": "deal", "fields": [{"id": "d1", "name": "contract", "type": "file"}]}],
  "roles": [{"name": "rep", "entities": {"deal": {"create": "own", "read": "own", "update": "own"}}}]}`

// filesEnv is the API with a files service on a folder bucket, the docs
// and other apps, two reps and a user in no app.
type filesEnv struct {
	*env
	files  *files.Service
	dir    string // the bucket's folder
	clk    *clock.Test
	tokens map[string]string // rep1, rep2, nobody
	ids    map[string]string
}

func newFilesEnv(t *testing.T, db *store.DB) *filesEnv {
	t.Helper()
	clk := clock.NewTest(time.Now())
	db.Clock = clk
	e := newEnv(t, db, docsApp)
	if st, body := e.do("POST", "/api/meta/apps", otherApp); st != 201 {
		t.Fatalf("apply other: %d %v", st, body)
	}
	dir := t.TempDir()
	cat := store.NewCatalog(db)
	log := slog.New(slog.NewTextHandler(testLog{t}, nil))
	fs, err := files.New(db, cat, e.recs, "", dir, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	srv := &api.Server{DB: db, Catalog: cat, Access: e.acc, Records: e.recs, Log: log, Automations: e.autos, Webhooks: e.hooks, Files: fs}
	e.app = srv.New()
	f := &filesEnv{env: e, files: fs, dir: filepath.Join(dir, "files"), clk: clk, tokens: map[string]string{}, ids: map[string]string{}}
	for _, u := range []struct{ name, role string }{{"rep1", "rep"}, {"rep2", "rep"}, {"nobody", ""}} {
		var roles []string
		if u.role != "" {
			roles = []string{u.role}
		}
		au, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: u.name + "@example.com", Password: "password " + u.name, Name: u.name, Roles: roles})
		if err != nil {
			t.Fatal(err)
		}
		f.ids[u.name] = au.ID
		f.tokens[u.name] = e.login(u.name+"@example.com", "password "+u.name)
	}
	f.tokens["admin"] = e.token
	return f
}

// part is one multipart part.
type part struct {
	name, filename, contentType string
	body                        []byte
	encoded                     bool // filename is RFC 2231's filename*, percent-encoded
}

// multipartBody encodes parts, writing the filename parameter as given
// (mime/multipart's CreateFormFile would escape it).
func multipartBody(parts ...part) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.name + `"`
		switch {
		case p.encoded:
			cd += `; filename*=UTF-8''` + p.filename
		case p.filename != "":
			cd += `; filename="` + p.filename + `"`
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, _ := w.CreatePart(h)
		pw.Write(p.body)
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

// send sends a request as who with a body of the given content type and
// returns the response, its body read.
func (f *filesEnv) send(who, method, path, contentType string, body []byte, header ...string) (*http.Response, []byte) {
	f.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, "http://forma.test"+path, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	req.Header.Set("Authorization", "Bearer "+f.tokens[who])
	resp, err := f.app.Test(req, -1)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// upload posts one file to app as who and returns the status and answer.
func (f *filesEnv) upload(who, app, filename, contentType string, data []byte) (int, map[string]any) {
	f.t.Helper()
	body, ct := multipartBody(part{name: "app", body: []byte(app)}, part{name: "file", filename: filename, contentType: contentType, body: data})
	resp, raw := f.send(who, "POST", "/api/files", ct, body)
	return resp.StatusCode, decodeObject(f.t, raw)
}

// mustUpload uploads and returns the new file's id.
func (f *filesEnv) mustUpload(who, app, filename string, data []byte) string {
	f.t.Helper()
	st, body := f.upload(who, app, filename, "application/octet-stream", data)
	if st != 201 {
		f.t.Fatalf("upload %s: %d %v", filename, st, body)
	}
	return str(body["id"])
}

// fetch gets a file (or its meta, or thumb) as who.
func (f *filesEnv) fetch(who, path string) (*http.Response, []byte) {
	f.t.Helper()
	return f.send(who, "GET", path, "", nil)
}

// fileRows counts the rows of _forma_files.
func (f *filesEnv) fileRows() int {
	f.t.Helper()
	var n int
	if err := f.db.SQL.QueryRow(`SELECT COUNT(*) FROM _forma_files`).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// blobs lists the bucket's files.
func (f *filesEnv) blobs() []string {
	f.t.Helper()
	var out []string
	filepath.WalkDir(f.dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
			rel, _ := filepath.Rel(f.dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func decodeObject(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, clip(string(raw)))
	}
	return out
}

func pngImage(w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// bombPNG is a valid PNG signature and header claiming w × h pixels, with
// a tiny data chunk: decoding it would allocate w·h·4 bytes.
func bombPNG(w, h uint32) []byte {
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&buf, binary.BigEndian, uint32(len(data)))
		c := crc32.NewIEEE()
		c.Write([]byte(typ))
		c.Write(data)
		buf.WriteString(typ)
		buf.Write(data)
		binary.Write(&buf, binary.BigEndian, c.Sum32())
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return buf.Bytes()
}

// An upload round trip: the type is sniffed from the bytes (a PNG sent as
// text/plain is image/png), the bytes come back whole under safe headers,
// a PNG gets a thumbnail, and the metadata route answers the same.
func TestFileRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFilesEnv(t, db)
		img := pngImage(600, 300)
		st, body := f.upload("rep1", "docs", "报价 单.png", "text/plain", img)
		if st != 201 {
			t.Fatalf("upload: %d %v", st, body)
		}
		id := str(body["id"])
		if body["name"] != "报价 单.png" || body["contentType"] != "image/png" || num(t, body["size"]) != int64(len(img)) || body["thumbnail"] != true {
			t.Errorf("upload answer: %v", body)
		}
		if len(body) != 5 {
			t.Errorf("upload answer has keys beyond the contract's: %v", body)
		}

		resp, raw := f.fetch("rep1", "/api/files/"+id)
		if resp.StatusCode != 200 || !bytes.Equal(raw, img) {
			t.Fatalf("fetch: %d, %d bytes (want %d)", resp.StatusCode, len(raw), len(img))
		}
		for h, want := range map[string]string{
			"Content-Type":           "image/png",
			"X-Content-Type-Options": "nosniff",
			"Content-Disposition":    `inline; filename="__ _.png"; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%20%E5%8D%95.png`,
			"Cache-Control":          "private, no-cache",
		} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}

		resp, raw = f.fetch("rep1", "/api/files/"+id+"/meta")
		if meta := decodeObject(t, raw); resp.StatusCode != 200 || mustJSON(meta) != mustJSON(body) {
			t.Errorf("meta: %d %v, want %v", resp.StatusCode, meta, body)
		}

		resp, raw = f.fetch("rep1", "/api/files/"+id+"?thumb=1")
		if resp.StatusCode != 200 {
			t.Fatalf("thumb: %d %s", resp.StatusCode, raw)
		}
		thumb, format, err := image.Decode(bytes.NewReader(raw))
		if err != nil || format != "png" || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("thumb: %s %v (%s)", format, err, resp.Header.Get("Content-Type"))
		}
		if b := thumb.Bounds(); b.Dx() != 256 || b.Dy() != 128 {
			t.Errorf("thumb is %v, want 256×128", b)
		}
		// A bad flag is a 400, as everywhere.
		if resp, _ := f.fetch("rep1", "/api/files/"+id+"?thumb=yes"); resp.StatusCode != 400 {
			t.Errorf("thumb=yes: %d", resp.StatusCode)
		}

		// The record takes the id; reading it gives the id back.
		st, rec := f.doAs(f.tokens["rep1"], "POST", "/api/data/docs/deal", map[string]any{"title": "Acme", "contract": id})
		if st != 201 || rec["contract"] != id {
			t.Fatalf("create with the file: %d %v", st, rec)
		}
		// A text file has no thumbnail.
		txt := f.mustUpload("rep1", "docs", "notes.txt", []byte("plain words\n"))
		if resp, _ := f.fetch("rep1", "/api/files/"+txt+"?thumb=1"); resp.StatusCode != 404 {
			t.Errorf("thumb of a text file: %d", resp.StatusCode)
		}
		resp, _ = f.fetch("rep1", "/api/files/"+txt)
		if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "text/plain; charset=utf-8" || !strings.HasPrefix(cd, "attachment;") {
			t.Errorf("text file: %s, %s", ct, cd)
		}
	})
}

// What a browser could run is never served inline: HTML sent as an image
// is text/html, an attachment, with nosniff and a sandbox; SVG too.
func TestFileSniffedNotTrusted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFilesEnv(t, db)
		for _, c := range []struct {
			name, sentAs, body, want string
		}{
			{"cat.png", "image/png", "<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>", "text/html; charset=utf-8"},
			{"logo.svg", "image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, "image/svg+xml"},
		} {
			st, body := f.upload("rep1", "docs", c.name, c.sentAs, []byte(c.body))
			if st != 201 || body["contentType"] != c.want || body["thumbnail"] != false {
				t.Fatalf("%s: %d %v", c.name, st, body)
			}
			resp, raw := f.fetch("rep1", "/api/files/"+str(body["id"]))
			if resp.StatusCode != 200 || string(raw) != c.body {
				t.Fatalf("%s: %d %s", c.name, resp.StatusCode, raw)
			}
			h := resp.Header
			if h.Get("Content-Type") != c.want || h.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
				t.Errorf("%s served with %v", c.name, h)
			}
		}
	})
}

// An upload over the app's limit is refused with 413 and nothing is kept;
// so is a body announced larger than any app allows, before it is read.
func TestFileTooLarge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFilesEnv(t, db)
		st, body := f.upload("rep1", "docs", "big.bin", "", bytes.Repeat([]byte("x"), 1<<20+1))
		wantErr(t, "over the app's limit", st, body, 413, "file_too_large")
		if n := f.fileRows(); n != 0 {
			t.Errorf("%d file rows after a refused upload", n)
		}
		if b := f.blobs(); len(b) != 0 {
			t.Errorf("blobs after a refused upload: %v", b)
		}
		// Exactly the limit passes.
		if st, body := f.upload("rep1", "docs", "max.bin", "", bytes.Repeat([]byte("x"), 1<<20)); st != 201 {
			t.Errorf("at the limit: %d %v", st, body)
		}
		// The other app keeps the default 10 MB.
		if st, body := f.upload("rep1", "other", "mid.bin", "", bytes.Repeat([]byte("x"), 2<<20)); st != 201 {
			t.Errorf("2 MB to an app of 10: %d %v", st, body)
		}
		st, body = f.rawRequest(fmt.Sprintf("POST /api/files HTTP/1.1\r\nHost: forma.test\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n--x",
			f.token, api.MaxUploadBytes+1))
		wantErr(t, "announced over every limit", st, body, 413, "file_too_large")
		// Without a token, the upload route keeps the usual limit.
		st, body = f.rawRequest(fmt.Sprintf("POST /api/files HTTP/1.1\r\nHost: forma.test\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n--x",
			api.MaxBodyBytes+1))
		wantErr(t, "large upload without a token", st, body, 413, "file_too_large")
		// Other routes keep their own limit.
		st, body = f.announceBody("POST", "/api/data/docs/deal", api.MaxBodyBytes+1)
		wantErr(t, "record body over its limit", st, body, 413, "payload_too_large")
	})
}

// A file field takes only an upload of the record's own app; a rep cannot
// fetch a file of a record they may not read (nor through a field hidden
// from them), while the owner and the admin can; the uploader can fetch
// their file only while no record references it.
func TestFileAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFilesEnv(t, db)
		rep1 := f.tokens["rep1"]
		mine := f.mustUpload("rep1", "docs", "nda.pdf", []byte("%PDF-1.4\n%fake\n"))
		foreign := f.mustUpload("rep1", "other", "other.pdf", []byte("%PDF-1.4\n%other\n"))

		// Bad ids: unknown, of another app, not a string.
		for _, c := range []struct {
			what  string
			value any
			code  int
		}{
			{"unknown id", "01h0000000000000000000000x", 422},
			{"a file id of another app", foreign, 422},
			{"a number", 5, 422},
		} {
			st, body := f.doAs(rep1, "POST", "/api/data/docs/deal", map[string]any{"title": "x", "contract": c.value})
			wantErr(t, c.what, st, body, c.code, "validation_failed")
			wantDetail(t, c.what, body, "/contract")
		}

		// Unreferenced: only the uploader.
		unknown := "01h0000000000000000000000x"
		_, notFoundBody := f.fetch("rep2", "/api/files/"+unknown)
		// wantFetch checks who gets the file and its metadata; a refusal
		// is word for word the answer to an unknown id.
		wantFetch := func(what string, wants map[string]int) {
			t.Helper()
			for who, want := range wants {
				for _, path := range []string{"/api/files/" + mine, "/api/files/" + mine + "/meta"} {
					resp, raw := f.fetch(who, path)
					if resp.StatusCode != want {
						t.Errorf("%s: %s gets %s: %d, want %d", what, who, path, resp.StatusCode, want)
					}
					if want == 404 && string(raw) != string(notFoundBody) {
						t.Errorf("%s: %s: 404 %s differs from an unknown id's %s", what, who, raw, notFoundBody)
					}
				}
			}
		}
		wantFetch("unreferenced", map[string]int{"rep1": 200, "rep2": 404, "nobody": 404, "admin": 404})

		// rep1's deal references it: rep1 (who reads the deal) and the admin may fetch it, rep2 may not.
		st, deal := f.doAs(rep1, "POST", "/api/data/docs/deal", map[string]any{"title": "Acme", "contract": mine})
		if st != 201 {
			t.Fatalf("deal: %d %v", st, deal)
		}
		wantFetch("on rep1's deal", map[string]int{"rep1": 200, "admin": 200, "rep2": 404, "nobody": 404})
		// Holding the id is not enough: rep2 cannot attach rep1's upload to
		// a deal of their own and fetch it through that — the same 422 as
		// an unknown id.
		st, body2 := f.doAs(f.tokens["rep2"], "POST", "/api/data/docs/deal", map[string]any{"title": "Mine now", "contract": mine})
		wantErr(t, "another's upload", st, body2, 422, "validation_failed")
		wantDetail(t, "another's upload", body2, "/contract")
		wantFetch("after rep2 tried to attach it", map[string]int{"rep1": 200, "rep2": 404})
		// A file in a field hidden from reps is not theirs to fetch, even on
		// their own deal, even though rep1 uploaded it.
		hidden := f.mustUpload("rep1", "docs", "memo.pdf", []byte("%PDF-1.4\n%memo\n"))
		st, body := f.do("POST", "/api/data/docs/deal", map[string]any{"title": "Hidden memo", "memo": hidden, "owner": f.ids["rep1"]})
		if st != 201 {
			t.Fatalf("deal with memo: %d %v", st, body)
		}
		if resp, _ := f.fetch("rep1", "/api/files/"+hidden); resp.StatusCode != 404 {
			t.Errorf("rep1 fetches a file held in a field hidden from them: %d", resp.StatusCode)
		}
		if resp, _ := f.fetch("admin", "/api/files/"+hidden); resp.StatusCode != 200 {
			t.Errorf("admin fetches the memo: %d", resp.StatusCode)
		}
		// Removing the reference makes it the uploader's again.
		st, body = f.do("PATCH", "/api/data/docs/deal/"+str(body["id"]), map[string]any{"memo": nil, "version": 1})
		if st != 200 {
			t.Fatalf("clear memo: %d %v", st, body)
		}
		if resp, _ := f.fetch("rep1", "/api/files/"+hidden); resp.StatusCode != 200 {
			t.Errorf("rep1 fetches their unreferenced upload again: %d", resp.StatusCode)
		}
	})
}

// Bad input to the upload route: each is refused with its status, and
// nothing is stored.
func TestFileBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFilesEnv(t, db)
		post := func(who string, parts ...part) (int, map[string]any) {
			body, ct := multipartBody(parts...)
			resp, raw := f.send(who, "POST", "/api/files", ct, body)
			return resp.StatusCode, decodeObject(t, raw)
		}
		app := part{name: "app", body: []byte("docs")}
		file := part{name: "file", filename: "a.txt", body: []byte("hello")}

		st, body := post("rep1", app)
		wantErr(t, "no file part", st, body, 400, "bad_request")
		wantDetail(t, "no file part", body, "/file")
		st, body = post("rep1", app, file, file)
		wantErr(t, "two file parts", st, body, 400, "bad_request")
		st, body = post("rep1", file)
		wantErr(t, "no app", st, body, 400, "bad_request")
		wantDetail(t, "no app", body, "/app")
		st, body = post("rep1", part{name: "file", body: []byte("not a file part")}, app)
		wantErr(t, "file sent as a value", st, body, 400, "bad_request")

		resp, raw := f.send("rep1", "POST", "/api/files", "application/json", []byte(`{"app": "docs", "file": "aGVsbG8="}`))
		wantErr(t, "JSON body", resp.StatusCode, decodeObject(t, raw), 415, "unsupported_media_type")
		resp, raw = f.send("rep1", "POST", "/api/files", "multipart/form-data", []byte("x"))
		wantErr(t, "no boundary", resp.StatusCode, decodeObject(t, raw), 415, "unsupported_media_type")
		// fasthttp reads a multipart body of known length as it arrives
		// and answers a broken one itself (app.Test cannot show that).
		broken := "--zz\r\nnot a part\r\n--zz--\r\n"
		st, body = f.rawRequest(fmt.Sprintf("POST /api/files HTTP/1.1\r\nHost: forma.test\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: %d\r\n\r\n%s",
			f.tokens["rep1"], len(broken), broken))
		wantErr(t, "broken multipart", st, body, 400, "bad_request")
		// A chunked body is parsed by the handler.
		st, body = f.rawRequest(fmt.Sprintf("POST /api/files HTTP/1.1\r\nHost: forma.test\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=zz\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n",
			f.tokens["rep1"], len(broken), broken))
		wantErr(t, "broken chunked multipart", st, body, 400, "bad_request")
		chunked, cct := multipartBody(app, part{name: "file", filename: "chunked.txt", body: []byte("sent in chunks")})
		st, body = f.rawRequest(fmt.Sprintf("POST /api/files HTTP/1.1\r\nHost: forma.test\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n",
			f.tokens["rep1"], cct, len(chunked), chunked))
		if st != 201 || body["name"] != "chunked.txt" || fmt.Sprint(body["size"]) != "14" {
			t.Errorf("chunked upload: %d %v", st, body)
		}
		f.db.SQL.Exec(`DELETE FROM _forma_files`)
		good, ct := multipartBody(app, file)
		resp, raw = f.send("rep1", "POST", "/api/files", ct, good, "Content-Encoding", "gzip")
		wantErr(t, "content encoding", resp.StatusCode, decodeObject(t, raw), 415, "unsupported_media_type")

		// An unknown app and an app the caller is not in answer alike.
		st, unknown := post("rep1", part{name: "app", body: []byte("nosuch")}, file)
		wantErr(t, "unknown app", st, unknown, 404, "not_found")
		st, notMine := post("nobody", app, file)
		wantErr(t, "not in the app", st, notMine, 404, "not_found")
		if strings.ReplaceAll(mustJSON(notMine), "docs", "nosuch") != mustJSON(unknown) {
			t.Errorf("not a member %v differs from unknown %v", notMine, unknown)
		}
		for _, bad := range []string{"", "Docs", "docs\x00", "../docs", "\xff", strings.Repeat("a", 5000)} {
			st, body := post("rep1", part{name: "app", body: []byte(bad)}, file)
			wantErr(t, fmt.Sprintf("app %.20q", bad), st, body, 404, "not_found")
			if len(mustJSON(body)) > 300 {
				t.Errorf("app %.20q: a long answer %s", bad, clip(mustJSON(body)))
			}
		}
		if n := f.fileRows(); n != 0 {
			t.Fatalf("%d files stored by refused uploads", n)
		}

		// File names are cleaned: path parts, control characters and
		// reordering marks go; a long name is cut keeping its extension;
		// one that is not UTF-8 is refused.
		long := strings.Repeat("长", 200) + ".pdf" // 604 bytes
		for _, c := range []struct {
			sent    string
			encoded bool
			want    string
		}{
			{`..\..\windows\system32\evil.exe`, false, "evil.exe"},
			{"../../etc/passwd", false, "passwd"},
			{"in%01voice%7F%0D%0A.txt", true, "invoice.txt"},
			{"nul%00.txt", true, "nul.txt"},
			{"photo%E2%80%AEgpj.exe", true, "photogpj.exe"},
			{"..%2F..%2Fetc%2Fshadow", true, "shadow"},
			{long, false, strings.Repeat("长", 83) + ".pdf"},
			{strings.Repeat("a", 300), false, strings.Repeat("a", 255)},
			{"..", false, "file"},
			{"   ", false, "file"},
		} {
			st, body := post("rep1", app, part{name: "file", filename: c.sent, encoded: c.encoded, body: []byte("x")})
			if st != 201 || body["name"] != c.want {
				t.Errorf("name %q: %d %v, want %q", c.sent, st, body, c.want)
			}
		}
		st, body = post("rep1", app, part{name: "file", filename: "bad%FFname.txt", encoded: true, body: []byte("x")})
		wantErr(t, "name not UTF-8", st, body, 400, "bad_request")
		wantDetail(t, "name not UTF-8", body, "/file")
		// Control characters sent raw in the part's header: the multipart
		// parser refuses the header (fasthttp answers, before the handler).
		for _, name := range []string{"nul\x00.txt", "in\x01voice.txt"} {
			raw, ct := multipartBody(app, part{name: "file", filename: name, body: []byte("x")})
			st, body := f.rawRequest(fmt.Sprintf("POST /api/files HTTP/1.1\r\nHost: forma.test\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s",
				f.tokens["rep1"], ct, len(raw), raw))
			wantErr(t, fmt.Sprintf("raw name %q", name), st, body, 400, "bad_request")
		}

		// A PNG whose header claims 100 000 × 100 000 pixels is kept, at
		// once and without a thumbnail: it is never decoded.
		start := time.Now()
		st, body = post("rep1", app, part{name: "file", filename: "bomb.png", body: bombPNG(100000, 100000)})
		if st != 201 || body["contentType"] != "image/png" || body["thumbnail"] != false || time.Since(start) > 5*time.Second {
			t.Errorf("bomb: %d %v in %s", st, body, time.Since(start))
		}
		// A corrupt PNG is kept without a thumbnail.
		st, body = post("rep1", app, part{name: "file", filename: "broken.png", body: pngImage(10, 10)[:60]})
		if st != 201 || body["thumbnail"] != false {
			t.Errorf("broken png: %d %v", st, body)
		}

		// Reading: unknown ids of any shape are 404.
		for _, id := range []string{"nosuch", strings.Repeat("a", 300), "%00"} {
			resp, raw := f.fetch("rep1", "/api/files/"+id)
			if resp.StatusCode != 404 && resp.StatusCode != 400 {
				t.Errorf("fetch %q: %d %s", id, resp.StatusCode, raw)
			}
		}
		// Without a token: 401.
		req := httptest.NewRequest("GET", "http://forma.test/api/files/x", nil)
		if resp, _ := f.app.Test(req, -1); resp.StatusCode != 401 {
			t.Errorf("no token: %d", resp.StatusCode)
		}
	})
}

// The collector removes, once their grace is over, the files no record
// references — row, bytes and thumbnail — and keeps the referenced ones
// and the young ones.
func TestFileCollect(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFilesEnv(t, db)
		ctx := context.Background()
		kept := f.mustUpload("rep1", "docs", "kept.png", pngImage(40, 40))
		gone := f.mustUpload("rep1", "docs", "gone.png", pngImage(40, 40))
		other := f.mustUpload("rep1", "other", "other.pdf", []byte("%PDF-1.4\n"))
		st, body := f.doAs(f.tokens["rep1"], "POST", "/api/data/docs/deal", map[string]any{"title": "Acme", "contract": kept})
		if st != 201 {
			t.Fatalf("deal: %d %v", st, body)
		}
		st, body = f.doAs(f.tokens["rep1"], "POST", "/api/data/other/deal", map[string]any{"contract": other})
		if st != 201 {
			t.Fatalf("other deal: %d %v", st, body)
		}
		if b := f.blobs(); len(b) != 5 { // two PNGs with thumbnails, one PDF
			t.Fatalf("blobs before: %v", b)
		}
		if n, err := f.files.Collect(ctx); err != nil || n != 0 {
			t.Fatalf("collect within the grace: %d %v", n, err)
		}
		f.clk.Advance(files.Grace - time.Minute)
		young := f.mustUpload("rep1", "docs", "young.txt", []byte("young"))
		if n, err := f.files.Collect(ctx); err != nil || n != 0 {
			t.Fatalf("collect just before the grace: %d %v", n, err)
		}
		f.clk.Advance(2 * time.Minute)
		f.relogin() // sessions expire too
		if n, err := f.files.Collect(ctx); err != nil || n != 1 {
			t.Fatalf("collect after the grace: %d %v", n, err)
		}
		if resp, _ := f.fetch("rep1", "/api/files/"+gone); resp.StatusCode != 404 {
			t.Errorf("collected file: %d", resp.StatusCode)
		}
		for _, id := range []string{kept, young} {
			if resp, _ := f.fetch("rep1", "/api/files/"+id); resp.StatusCode != 200 {
				t.Errorf("kept file %s: %d", id, resp.StatusCode)
			}
		}
		for _, b := range f.blobs() {
			if strings.Contains(b, gone) {
				t.Errorf("blob %s of a collected file is left", b)
			}
		}
		if b := f.blobs(); len(b) != 4 { // kept and its thumbnail, young, other
			t.Errorf("blobs after: %v", b)
		}
		// A collected id is refused by records like any unknown one.
		st, body = f.doAs(f.tokens["rep1"], "POST", "/api/data/docs/deal", map[string]any{"title": "late", "contract": gone})
		wantErr(t, "collected id", st, body, 422, "validation_failed")

		// Deleting the record frees its file: collected after the grace
		// counted from its upload, which has long passed.
		st, _ = f.doAs(f.tokens["rep1"], "DELETE", "/api/data/docs/deal/"+f.dealOf(kept)+"?version=1", nil)
		if st != 204 && st != 200 {
			t.Fatalf("delete deal: %d", st)
		}
		if n, err := f.files.Collect(ctx); err != nil || n != 1 {
			t.Fatalf("collect after the delete: %d %v", n, err)
		}
		f.clk.Advance(files.Grace)
		f.relogin()
		if n, err := f.files.Collect(ctx); err != nil || n != 1 { // young
			t.Fatalf("collect young: %d %v", n, err)
		}
		if resp, _ := f.fetch("rep1", "/api/files/"+other); resp.StatusCode != 200 {
			t.Errorf("other app's referenced file: %d", resp.StatusCode)
		}
	})
}

// relogin gets fresh tokens once the clock has moved past their expiry.
func (f *filesEnv) relogin() {
	f.t.Helper()
	for who := range f.ids {
		f.tokens[who] = f.login(who+"@example.com", "password "+who)
	}
	f.token = f.login(adminEmail, adminPassword)
	f.tokens["admin"] = f.token
}

// dealOf returns the id of the docs deal whose contract is file.
func (f *filesEnv) dealOf(file string) string {
	f.t.Helper()
	var id string
	if err := f.db.SQL.QueryRow(`SELECT id FROM docs_deal WHERE contract = `+placeholder(f.dialect), file).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func placeholder(dialect string) string {
	if dialect == "postgres" {
		return "$1"
	}
	return "?"
}
