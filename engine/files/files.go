// Package files keeps uploaded files: the bytes in a gocloud.dev/blob
// bucket (a folder under the data directory by default, an S3-compatible
// bucket by URL for several servers), their metadata in _forma_files
// (created by engine/store), thumbnails of images, and the removal of files
// no record references after a grace period.
//
// The pieces, by file:
//   - files.go: the Service, its bucket, limits and errors.
//   - upload.go: Put — size limit, sniffed type, hash, file name cleaning.
//   - thumb.go: thumbnails of images, with a guard against decompression bombs.
//   - serve.go: Meta and Open — who may fetch a file (a record they may read
//     references it, or they uploaded it and nothing references it yet).
//   - gc.go: Collect and its periodic job.
//
// records checks a file field's value against _forma_files itself (the file
// must exist and belong to the record's app): this package is above records
// and reads records only through its read scope.
package files

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob" // s3:// bucket URLs

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Limits and defaults.
const (
	// DefaultMaxMB is an app's upload limit in megabytes when its document
	// says none (settings.maxFileMB); MaxMB is the most it may say.
	DefaultMaxMB = 10
	MaxMB        = 100
	// MaxBytes is the largest upload any app allows: the HTTP server lets
	// bodies up to about this size through on the upload route only.
	MaxBytes = MaxMB << 20
	// Grace is how long a file no record references is kept: an upload is
	// made before the record that takes it is saved, and a form may stay
	// open for a while.
	Grace = 24 * time.Hour
	// MaxName is the most bytes of a file name kept.
	MaxName = 255
)

const table = "_forma_files"

// File is one stored file's metadata as callers see it.
type File struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"contentType"`
	Thumbnail   bool   `json:"thumbnail"`

	App       string    `json:"-"`
	SHA256    string    `json:"-"`
	Uploader  string    `json:"-"`
	CreatedAt time.Time `json:"-"`
	key       string
	thumb     string
}

// Error is a refusal the caller can act on, with its HTTP status and code;
// the API answers it like a records error.
type Error = records.Error

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// notFound is the one answer for a file that does not exist and for one the
// caller may not see: the two look the same.
func notFound() *Error { return errorf(404, records.CodeNotFound, "no such file") }

// Service stores and serves files. Any number of servers may share one
// database and one bucket.
type Service struct {
	db      *store.DB
	catalog *store.Catalog
	records *records.Service
	log     *slog.Logger
	url     string

	mu     sync.Mutex
	bucket *blob.Bucket
}

// New returns the service; bucketURL is a gocloud.dev/blob URL
// (file:///path, s3://bucket?region=…&endpoint=…), dataDir's "files"
// folder when empty. The bucket is opened on first use (or by Ready), so
// commands that never touch files create no folder; a malformed URL or an
// unsupported scheme is refused here.
func New(db *store.DB, catalog *store.Catalog, recs *records.Service, bucketURL, dataDir string, log *slog.Logger) (*Service, error) {
	if log == nil {
		log = slog.Default()
	}
	if bucketURL == "" {
		if dataDir == "" {
			dataDir = "./forma_data"
		}
		abs, err := filepath.Abs(filepath.Join(dataDir, "files"))
		if err != nil {
			return nil, fmt.Errorf("files: %w", err)
		}
		bucketURL = (&url.URL{Scheme: fileblob.Scheme, Path: filepath.ToSlash(abs)}).String() + "?create_dir=1"
	}
	u, err := url.Parse(bucketURL)
	if err != nil {
		return nil, fmt.Errorf("files: bucket URL: %w", err)
	}
	if u.Scheme != "file" && u.Scheme != "s3" {
		return nil, fmt.Errorf("files: bucket URL %q: the scheme must be file:// or s3://", redact(u))
	}
	return &Service{db: db, catalog: catalog, records: recs, log: log, url: bucketURL}, nil
}

// redact drops what a URL may carry that is not for logs (a password, the
// query's keys).
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	return c.String()
}

// Ready opens the bucket now, so that a server fails at start rather than
// at its first upload when the bucket cannot be opened.
func (s *Service) Ready(ctx context.Context) error {
	_, err := s.open(ctx)
	return err
}

func (s *Service) open(ctx context.Context) (*blob.Bucket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bucket != nil {
		return s.bucket, nil
	}
	u, _ := url.Parse(s.url)
	if u.Scheme == "file" {
		// fileblob creates only the folder itself, and only when asked;
		// the folder and its parents may be missing on a first start.
		dir := u.Path
		if u.Host == "." { // file://./relative/path
			dir = strings.TrimPrefix(dir, "/")
		}
		if err := os.MkdirAll(filepath.FromSlash(dir), 0o700); err != nil {
			return nil, fmt.Errorf("files: create the folder for files: %w", err)
		}
	}
	b, err := blob.OpenBucket(ctx, s.url)
	if err != nil {
		return nil, fmt.Errorf("files: open bucket %s: %w", redact(u), err)
	}
	s.bucket = b
	return b, nil
}

// Close releases the bucket.
func (s *Service) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bucket == nil {
		return nil
	}
	err := s.bucket.Close()
	s.bucket = nil
	return err
}

// Limit is app's upload limit in bytes.
func Limit(app *schema.App) int64 {
	mb := DefaultMaxMB
	if app.Settings != nil && app.Settings.MaxFileMB > 0 {
		mb = min(app.Settings.MaxFileMB, MaxMB)
	}
	return int64(mb) << 20
}

// newID returns a lower-case ULID from the engine clock with 80 fresh
// random bits: ids are handed to whoever may hold them, and one must not
// tell the next (a monotonic ULID's would follow from the last).
func (s *Service) newID() string {
	return strings.ToLower(ulid.MustNew(ulid.Timestamp(s.db.Clock.Now()), rand.Reader).String())
}

const columns = "id, app, name, size, content_type, sha256, key, thumb, uploader, created_at"

// row reads one file's metadata; nil when there is none.
func (s *Service) row(ctx context.Context, q store.Conn, id string) (*File, error) {
	if id == "" || len(id) > 26 {
		return nil, nil
	}
	var f File
	err := q.QueryRowContext(ctx, "SELECT "+columns+" FROM "+table+" WHERE id = ?", id).
		Scan(&f.ID, &f.App, &f.Name, &f.Size, &f.ContentType, &f.SHA256, &f.key, &f.thumb, &f.Uploader, &f.CreatedAt)
	if errors.Is(err, errNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("files: read %s: %w", id, err)
	}
	f.Thumbnail = f.thumb != ""
	f.CreatedAt = f.CreatedAt.UTC()
	return &f, nil
}
