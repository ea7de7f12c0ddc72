package files

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/jobs/jobstest"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

func opener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

func encoded(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, nil)
	case "gif":
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A 1×1 lossless WebP.
const webp1x1 = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="

func TestThumbnail(t *testing.T) {
	web, _ := base64.StdEncoding.DecodeString(webp1x1)
	for _, c := range []struct {
		ct         string
		data       []byte
		ext        string
		w, h       int
		wantFormat string
	}{
		{"image/png", encoded(t, "png", 1000, 500), ".png", 256, 128, "png"},
		{"image/jpeg", encoded(t, "jpeg", 300, 900), ".jpg", 85, 256, "jpeg"},
		{"image/gif", encoded(t, "gif", 100, 50), ".png", 100, 50, "png"}, // small: kept at its size
		{"image/webp", web, ".png", 1, 1, "png"},
	} {
		data, ext, err := thumbnail(opener(c.data), c.ct)
		if err != nil || ext != c.ext {
			t.Errorf("%s: %q %v", c.ct, ext, err)
			continue
		}
		img, format, err := image.Decode(bytes.NewReader(data))
		if err != nil || format != c.wantFormat || img.Bounds().Dx() != c.w || img.Bounds().Dy() != c.h {
			t.Errorf("%s: thumbnail %s %v %v, want %s %d×%d", c.ct, format, img.Bounds(), err, c.wantFormat, c.w, c.h)
		}
	}
	for _, c := range []struct {
		ct   string
		data []byte
	}{
		{"text/plain; charset=utf-8", []byte("hello")},
		{"image/svg+xml", []byte("<svg/>")},
		{"image/png", []byte("\x89PNG\r\n\x1a\ntruncated")},
		{"image/jpeg", encoded(t, "png", 4, 4)}, // a PNG claiming to be a JPEG
	} {
		if _, _, err := thumbnail(opener(c.data), c.ct); err != errNoThumb {
			t.Errorf("%s: %v, want no thumbnail", c.ct, err)
		}
	}
}

// An image whose header claims more than MaxPixels is never decoded: the
// refusal comes from its header alone, at once.
func TestThumbnailBomb(t *testing.T) {
	// (engine/api's TestFileBadInput sends a real PNG header of 100 000²
	// pixels through the whole upload.)
	for _, dims := range [][2]int{{20000, 20000}, {MaxPixels, 2}, {1, MaxPixels + 1}} {
		cfg := image.Config{Width: dims[0], Height: dims[1]}
		c := codec{
			config: func(io.Reader) (image.Config, error) { return cfg, nil },
			decode: func(io.Reader) (image.Image, error) {
				t.Fatalf("%v decoded", dims)
				return nil, nil
			},
		}
		codecs["test/bomb"] = c
		start := time.Now()
		if _, _, err := thumbnail(opener(nil), "test/bomb"); err != errNoThumb || time.Since(start) > time.Second {
			t.Errorf("%v: %v in %s", dims, err, time.Since(start))
		}
		delete(codecs, "test/bomb")
	}
}

func TestFit(t *testing.T) {
	for _, c := range [][4]int{
		{1000, 500, 256, 128}, {500, 1000, 128, 256}, {256, 256, 256, 256}, {10, 10, 10, 10},
		{100000, 1, 256, 1}, {1, 100000, 1, 256}, {257, 256, 256, 255},
	} {
		if w, h := fit(c[0], c[1], 256); w != c[2] || h != c[3] {
			t.Errorf("fit(%d, %d) = %d×%d, want %d×%d", c[0], c[1], w, h, c[2], c[3])
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":                    "report.pdf",
		"季度 报告.xlsx":                    "季度 报告.xlsx",
		"C:\\Users\\li\\合同.docx":        "合同.docx",
		"/etc/passwd":                   "passwd",
		"a/b/":                          "file",
		"nul\x00byte.txt":               "nulbyte.txt",
		"tab\tand\nnewline.txt":         "tabandnewline.txt",
		"evil\u202Etxt.exe":             "eviltxt.exe",
		"\u2066iso\u2069.png":           "iso.png",
		"  spaced  ":                    "spaced",
		"..":                            "file",
		"":                              "file",
		strings.Repeat("x", 300):        strings.Repeat("x", 255),
		strings.Repeat("é", 200) + ".z": strings.Repeat("é", 126) + ".z", // 2 bytes each: 252 + 2
	} {
		got, err := CleanName(in)
		if err != nil || got != want {
			t.Errorf("CleanName(%q) = %q, %v; want %q", in, got, err, want)
		}
		if len(got) > MaxName {
			t.Errorf("CleanName(%q) is %d bytes", in, len(got))
		}
	}
	// An extension too long to be one is cut with the rest.
	if got, _ := CleanName("a." + strings.Repeat("b", 300)); len(got) != MaxName {
		t.Errorf("long extension: %d bytes", len(got))
	}
	if _, err := CleanName("bad\xffname"); err == nil {
		t.Error("a name that is not UTF-8 was taken")
	}
}

func TestInline(t *testing.T) {
	for ct, want := range map[string]bool{
		"image/png": true, "image/jpeg": true, "image/webp": true, "application/pdf": true,
		"image/svg+xml": false, "text/html; charset=utf-8": false, "text/plain; charset=utf-8": false,
		"application/xhtml+xml": false, "text/xml; charset=utf-8": false, "application/octet-stream": false,
		"application/javascript": false, "": false,
	} {
		if Inline(ct) != want {
			t.Errorf("Inline(%q) = %v", ct, !want)
		}
	}
}

func TestLimit(t *testing.T) {
	for _, c := range []struct {
		s    *schema.Settings
		want int64
	}{
		{nil, 10 << 20}, {&schema.Settings{}, 10 << 20}, {&schema.Settings{MaxFileMB: 1}, 1 << 20},
		{&schema.Settings{MaxFileMB: 100}, 100 << 20}, {&schema.Settings{MaxFileMB: 1000}, 100 << 20},
	} {
		if got := Limit(&schema.App{Settings: c.s}); got != c.want {
			t.Errorf("%+v: %d, want %d", c.s, got, c.want)
		}
	}
}

func TestNewBucketURL(t *testing.T) {
	for _, u := range []string{"gs://bucket", "http://example.com/x", "://bad", "azblob://x"} {
		if _, err := New(nil, nil, nil, u, "", nil); err == nil {
			t.Errorf("%q was taken", u)
		}
	}
	for _, u := range []string{"", "file:///tmp/forma-files-test", "s3://bucket?region=us-east-1&endpoint=http://127.0.0.1:9000&use_path_style=true"} {
		if _, err := New(nil, nil, nil, u, t.TempDir(), nil); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
}

// The collector runs as a River job: registered with the queue, a run
// removes what the clock says has outlived its grace.
func TestCollectJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewTest(time.Now())
		db.Clock = clk
		acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatal(err)
		}
		u, err := acc.CreateUser(ctx, "admin@example.com", "correct horse battery", "Admin", true)
		if err != nil {
			t.Fatal(err)
		}
		cat := store.NewCatalog(db)
		recs := records.New(db, cat)
		app, problems := schema.Parse([]byte(`{"name": "crm", "entities": [{"id": "e1", "name": "deal", "fields": [{"id": "f1", "name": "doc", "type": "file"}]}]}`))
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		if _, _, err := recs.Apply(ctx, app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		q, err := jobs.New(ctx, db, jobs.Options{PollInterval: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		s, err := New(db, cat, recs, "", t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Register(q); err != nil {
			t.Fatal(err)
		}
		jobstest.Start(t, ctx, q)
		admin := records.Caller{UserID: u.ID, Admin: true}
		put := func(name string) *File {
			f, err := s.Put(ctx, admin, Upload{App: "crm", Name: name, Size: 5, Open: opener([]byte("hello"))})
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		old, kept := put("old.txt"), put("kept.txt")
		if _, err := recs.Create(ctx, admin, "crm", "deal", []byte(`{"doc": "`+kept.ID+`"}`)); err != nil {
			t.Fatal(err)
		}
		clk.Advance(Grace + time.Second)
		if _, err := q.Insert(ctx, collectArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			f, err := s.row(ctx, db.Pool(), old.ID)
			if err != nil {
				t.Fatal(err)
			}
			if f == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the collector job did not remove the old file within 30s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if f, err := s.Meta(ctx, admin, kept.ID); err != nil || f.Name != "kept.txt" {
			t.Errorf("kept file: %v %v", f, err)
		}
		b, _ := s.open(ctx)
		if ok, _ := b.Exists(ctx, old.key); ok {
			t.Error("the old file's bytes are left")
		}
	})
}

// Ready opens the bucket, creating a folder and its missing parents.
func TestReadyCreatesFolder(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ url, data, want string }{
		{"file://" + dir + "/a/b?metadata=skip", "", dir + "/a/b"},
		{"", dir + "/data", dir + "/data/files"},
	} {
		s, err := New(nil, nil, nil, c.url, c.data, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Ready(context.Background()); err != nil {
			t.Fatalf("%q: %v", c.url, err)
		}
		if fi, err := os.Stat(c.want); err != nil || !fi.IsDir() {
			t.Errorf("%q: %s not made: %v", c.url, c.want, err)
		}
		s.Close()
	}
	s, _ := New(nil, nil, nil, "file:///proc/forma-cannot-write-here", "", nil)
	if err := s.Ready(context.Background()); err == nil {
		t.Error("an unwritable folder was taken")
	}
}
