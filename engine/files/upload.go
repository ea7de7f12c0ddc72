package files

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

var errNoRows = sql.ErrNoRows

// CodeTooLarge is the code of an upload over its app's limit (413).
const CodeTooLarge = "file_too_large"

// Upload is one file as a client sent it.
type Upload struct {
	App  string // the app whose records will take it
	Name string // the client's file name, cleaned by Put
	// Size is the length the request declares, checked before anything is
	// read; the bytes read are counted against the limit too.
	Size int64
	// Open opens the bytes; Put calls it once to store them and, for an
	// image, again to make its thumbnail.
	Open func() (io.ReadCloser, error)
}

// Put stores an upload for app u.App on behalf of c and records its
// metadata. c must be in the app (else the not-found answer of an unknown
// app); the file must be within the app's limit (else 413 file_too_large,
// and nothing is kept). Its content type is sniffed from its bytes, never
// taken from the client. An image that can be decoded gets a thumbnail.
func (s *Service) Put(ctx context.Context, c records.Caller, u Upload) (*File, error) {
	app, err := s.memberApp(ctx, c, u.App)
	if err != nil {
		return nil, err
	}
	name, err := CleanName(u.Name)
	if err != nil {
		return nil, err
	}
	limit := Limit(app)
	if u.Size > limit {
		return nil, tooLarge(limit)
	}
	b, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	id := s.newID()
	f := &File{ID: id, App: app.Name, Name: name, Uploader: c.UserID, key: app.Name + "/" + id}
	if err := s.write(ctx, b, f, u, limit); err != nil {
		return nil, err
	}
	if thumbable(f.ContentType) {
		data, ext, err := thumbnail(u.Open, f.ContentType)
		if err == nil {
			key := f.key + ".thumb" + ext
			err = b.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: thumbType(key)})
			if err == nil {
				f.thumb, f.Thumbnail = key, true
			}
		}
		if err != nil && !errors.Is(err, errNoThumb) {
			s.log.Warn("files: no thumbnail", "file", f.ID, "err", err)
		}
	}
	f.CreatedAt = s.db.Now()
	_, err = s.db.Pool().ExecContext(ctx, "INSERT INTO "+table+" ("+columns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		f.ID, f.App, f.Name, f.Size, f.ContentType, f.SHA256, f.key, f.thumb, f.Uploader, f.CreatedAt)
	if err != nil {
		s.deleteBlobs(context.WithoutCancel(ctx), f.key, f.thumb)
		return nil, fmt.Errorf("files: record %s: %w", f.ID, err)
	}
	return f, nil
}

// memberApp is app's current document when c is in it; otherwise the very
// answer of an app that does not exist.
func (s *Service) memberApp(ctx context.Context, c records.Caller, name string) (*schema.App, error) {
	app, err := s.appFor(ctx, c, name)
	if err == nil && app == nil {
		if len(name) > 100 { // a form value may be long; the answer need not be
			name = name[:100] + "…"
		}
		err = errorf(404, records.CodeNotFound, "no app %q", strings.ToValidUTF8(name, "?"))
	}
	return app, err
}

// appFor is app's current document when c is in it, nil when there is no
// such app or c is not in it.
func (s *Service) appFor(ctx context.Context, c records.Caller, name string) (*schema.App, error) {
	if !schema.ValidName(name) {
		return nil, nil
	}
	app, err := s.catalog.App(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if !s.records.Member(app, c) {
		return nil, nil
	}
	return app, nil
}

func tooLarge(limit int64) *Error {
	return errorf(413, CodeTooLarge, "the file is larger than this app's limit of %d MB", limit>>20)
}

// sniffBytes is how much of a file the content type is sniffed from
// (mimetype's default read limit).
const sniffBytes = 3072

// write streams the upload into the bucket under f.key, sniffing its type
// and hashing it on the way; on any failure the write is aborted and
// nothing is kept.
func (s *Service) write(ctx context.Context, b *blob.Bucket, f *File, u Upload, limit int64) (err error) {
	r, err := u.Open()
	if err != nil {
		return fmt.Errorf("files: open upload: %w", err)
	}
	defer r.Close()
	head := make([]byte, sniffBytes)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("files: read upload: %w", err)
	}
	head = head[:n]
	f.ContentType = mimetype.Detect(head).String()

	// Cancelling the writer's context before Close aborts the write.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.NewWriter(wctx, f.key, &blob.WriterOptions{ContentType: f.ContentType})
	if err != nil {
		return fmt.Errorf("files: store %s: %w", f.ID, err)
	}
	defer func() {
		if err != nil {
			cancel()
			w.Close()
		}
	}()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(io.MultiReader(bytes.NewReader(head), r), limit+1))
	if err != nil {
		return fmt.Errorf("files: store %s: %w", f.ID, err)
	}
	if size > limit {
		return tooLarge(limit)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("files: store %s: %w", f.ID, err)
	}
	f.Size, f.SHA256 = size, hex.EncodeToString(h.Sum(nil))
	return nil
}

// deleteBlobs removes keys from the bucket; one already gone is fine.
func (s *Service) deleteBlobs(ctx context.Context, keys ...string) error {
	b, err := s.open(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range keys {
		if k == "" {
			continue
		}
		if err := b.Delete(ctx, k); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			s.log.Error("files: delete blob", "key", k, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CleanName makes a client's file name safe to keep and show: only its last
// path element (after "/" or "\"), without control characters (NUL
// included) and the invisible marks that reorder text ("gpj.exe" shown as
// "exe.jpg"), trimmed, and cut to MaxName bytes on a character boundary,
// keeping a short extension. A name left empty becomes "file". A name that
// is not valid UTF-8 is refused (400): there is no telling what it says.
func CleanName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", &Error{Status: 400, Code: "bad_request", Message: "the file name is not valid UTF-8",
			Details: []schema.Problem{{Path: "/file", Message: "the file name must be UTF-8 text"}}}
	}
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || bidiControl(r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		name = ""
	}
	if len(name) > MaxName {
		ext := path.Ext(name)
		if len(ext) > 32 {
			ext = ""
		}
		// Cut on a byte count, then drop the character the cut split.
		base := strings.TrimSuffix(name, ext)
		name = strings.ToValidUTF8(base[:MaxName-len(ext)], "") + ext
	}
	if name == "" {
		name = "file"
	}
	return name, nil
}

// bidiControl reports the Unicode marks that change the direction of the
// text around them.
func bidiControl(r rune) bool {
	return r == 0x200E || r == 0x200F || r == 0x061C || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
