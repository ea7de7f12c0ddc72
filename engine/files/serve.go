package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Who may fetch a file: a user who may read a record that references it —
// a record their row rules let them read, through a file field their
// field rules do not hide, exactly as the records API would show it — or
// the user who uploaded it, while no record references it (between the
// upload and the save of the form that takes it). Anyone else gets the
// answer of an id that does not exist.

// Meta returns the metadata of file id for c.
func (s *Service) Meta(ctx context.Context, c records.Caller, id string) (*File, error) {
	f, err := s.row(ctx, s.db.Pool(), id)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, notFound()
	}
	ok, err := s.mayFetch(ctx, c, f)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound()
	}
	return f, nil
}

// Content is a file's bytes (or its thumbnail's) as served; the caller
// closes it.
type Content struct {
	io.ReadCloser
	Size        int64
	ContentType string
}

// Open returns file id's metadata and its bytes for c, or its thumbnail's
// with thumb (the not-found answer when it has none).
func (s *Service) Open(ctx context.Context, c records.Caller, id string, thumb bool) (*File, *Content, error) {
	f, err := s.Meta(ctx, c, id)
	if err != nil {
		return nil, nil, err
	}
	key, ct := f.key, f.ContentType
	if thumb {
		if f.thumb == "" {
			return nil, nil, notFound()
		}
		key, ct = f.thumb, thumbType(f.thumb)
	}
	b, err := s.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("files: read %s: %w", key, err)
	}
	return f, &Content{ReadCloser: r, Size: r.Size(), ContentType: ct}, nil
}

// Inline reports whether a file of this content type may be shown in the
// browser rather than downloaded: raster images and PDF only. Anything a
// browser would run — HTML, SVG (an image that carries scripts), XML — is
// always an attachment.
func Inline(contentType string) bool {
	t, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(t) {
	case "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp", "application/pdf":
		return true
	}
	return false
}

// mayFetch applies the rule above.
func (s *Service) mayFetch(ctx context.Context, c records.Caller, f *File) (bool, error) {
	app, err := s.appFor(ctx, c, f.App)
	if err != nil || app == nil {
		return false, err
	}
	for _, ref := range fileFields(app) {
		scope, err := s.records.ReadScope(ctx, c, app, ref.entity)
		var re *records.Error
		if errors.As(err, &re) && re.Status == 404 {
			continue // an entity they may not use
		} else if err != nil {
			return false, err
		}
		if scope.None {
			continue
		}
		var cols []string
		for _, col := range ref.columns {
			if !scope.Hidden[col] {
				cols = append(cols, col)
			}
		}
		if len(cols) == 0 {
			continue
		}
		q, args := refQuery(scope.Table, cols, f.ID)
		if scope.Where != "" {
			q += " AND (" + scope.Where + ")"
			args = append(args, scope.Args...)
		}
		found, err := exists(ctx, s.db.Pool(), q, args)
		if err != nil || found {
			return found, err
		}
	}
	if c.UserID == "" || c.UserID != f.Uploader {
		return false, nil
	}
	referenced, err := s.referenced(ctx, s.db.Pool(), app, f.ID)
	return !referenced, err
}

// fileRef is one entity's file fields.
type fileRef struct {
	entity, table string
	columns       []string
}

// fileFields lists app's entities that have file fields.
func fileFields(app *schema.App) []fileRef {
	var out []fileRef
	for i := range app.Entities {
		e := &app.Entities[i]
		ref := fileRef{entity: e.Name, table: schema.TableName(app.Name, e.Name)}
		for j := range e.Fields {
			if e.Fields[j].Type == schema.File {
				ref.columns = append(ref.columns, e.Fields[j].Name)
			}
		}
		if len(ref.columns) > 0 {
			out = append(out, ref)
		}
	}
	return out
}

// refQuery selects the records of table whose columns hold id.
func refQuery(table string, cols []string, id string) (string, []any) {
	conds := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, col := range cols {
		conds[i] = store.Quote(col) + " = ?"
		args[i] = id
	}
	return "SELECT 1 FROM " + store.Quote(table) + " WHERE (" + strings.Join(conds, " OR ") + ")", args
}

// referenced reports whether any record of app (any entity, any reader)
// references file id now.
func (s *Service) referenced(ctx context.Context, q store.Conn, app *schema.App, id string) (bool, error) {
	for _, ref := range fileFields(app) {
		query, args := refQuery(ref.table, ref.columns, id)
		found, err := exists(ctx, q, query, args)
		if err != nil || found {
			return found, err
		}
	}
	return false, nil
}

func exists(ctx context.Context, q store.Conn, query string, args []any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query+" LIMIT 1", args...).Scan(&one)
	if errors.Is(err, errNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("files: check references: %w", err)
	}
	return true, nil
}
