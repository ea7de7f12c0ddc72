package bulk

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"crypto/rand"
	"database/sql"

	"github.com/oklog/ulid/v2"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// The import as a durable job: StartImport stores the upload and queues
// the job, runJob runs it (Import), ImportStatus and ErrorsCSV show it to
// the user who started it (or an admin).

// importKey is where an import's upload waits in the files bucket.
func importKey(id string) string { return "imports/" + id }

// Started answers StartImport.
type Started struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// Upload is a file to import.
type Upload struct {
	Name string
	Size int64
	File io.ReaderAt
	Open func() (io.ReadCloser, error) // the bytes from the start, to store
}

// StartImport checks an import (the caller may import into the entity,
// the file is a spreadsheet, its columns map to fields, the options are
// valid), stores the upload where every server can read it and queues the
// job: 202 {id, status: queued}.
func (s *Service) StartImport(ctx context.Context, c records.Caller, app, entity string, u Upload, o ImportOptions) (*Started, error) {
	if s.jobs == nil || s.temp == nil {
		return nil, &records.Error{Status: 501, Code: "not_implemented", Message: "imports need the job queue and the files bucket"}
	}
	if err := s.records.CheckImport(ctx, c, app, entity, records.ImportOptions{UpsertBy: o.UpsertBy}); err != nil {
		return nil, err
	}
	a, err := s.catalog.App(ctx, app)
	if err != nil {
		return nil, err
	}
	if u.Size > ImportLimit(a) {
		return nil, TooLarge(ImportLimit(a))
	}
	p, err := s.prepare(ctx, c, app, entity, u.File, u.Size, u.Name, o)
	if err != nil {
		return nil, err
	}
	header := p.table.Header()
	p.table.Close()
	id := s.newID()
	rc, err := u.Open()
	if err != nil {
		return nil, fmt.Errorf("bulk: import: %w", err)
	}
	err = s.temp.PutTemp(ctx, importKey(id), rc)
	rc.Close()
	if err != nil {
		return nil, err
	}
	opts, _ := json.Marshal(o)
	caller, _ := json.Marshal(c)
	head, _ := json.Marshal(header)
	_, err = s.db.Pool().ExecContext(ctx, `INSERT INTO "_forma_imports" ("id", "app", "entity", "user_id", "caller", "file", "size", "status", "options", "header", "rows", "processed", "created", "updated", "skipped", "bad", "error_count", "errors", "duplicates", "path", "message", "created_at")
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, '[]', '[]', '', '', ?)`,
		id, a.Name, entity, c.UserID, string(caller), clipBytes(u.Name, 255), u.Size, StatusQueued, string(opts), string(head), s.db.Now())
	if err != nil {
		s.temp.DeleteTemp(context.WithoutCancel(ctx), importKey(id))
		return nil, fmt.Errorf("bulk: import: %w", err)
	}
	if _, err := s.jobs.Insert(ctx, importArgs{ID: id}, nil); err != nil {
		s.fail(context.WithoutCancel(ctx), id, "the import could not be queued")
		return nil, fmt.Errorf("bulk: queue the import: %w", err)
	}
	return &Started{ID: id, Status: StatusQueued}, nil
}

// TooLarge is the 413 of a file over limit bytes.
func TooLarge(limit int64) *records.Error {
	return &records.Error{Status: 413, Code: "file_too_large", Message: fmt.Sprintf("the file is larger than this app's import limit (%d MB)", limit>>20),
		Details: []schema.Problem{{Path: "/file", Code: "file_too_large", Params: map[string]any{"limitMB": limit >> 20}, Message: "the file is too large"}}}
}

func (s *Service) newID() string { return strings.ToLower(newULID(s.db.Clock.Now())) }

// fail marks an import failed with message (it wrote nothing).
func (s *Service) fail(ctx context.Context, id, message string) {
	now := s.db.Now()
	_, err := s.db.Pool().ExecContext(ctx, `UPDATE "_forma_imports" SET "status" = ?, "message" = ?, "finished_at" = ? WHERE "id" = ? AND "status" <> 'done'`,
		StatusFailed, clipBytes(message, 2000), now, id)
	if err != nil {
		s.log.Error("bulk: mark import failed", "import", id, "err", err)
	}
}

// runJob runs the import id: a no-op when it is finished (a run again
// after its commit).
func (s *Service) runJob(ctx context.Context, id string) error {
	var row importRow
	var started sql.NullTime
	err := s.db.Pool().QueryRowContext(ctx, `SELECT "app", "entity", "caller", "file", "size", "status", "options" FROM "_forma_imports" WHERE "id" = ?`, id).
		Scan(&row.App, &row.Entity, &row.Caller, &row.File, &row.Size, &row.Status, &row.Options)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // removed
	}
	if err != nil {
		return fmt.Errorf("bulk: import %s: %w", id, err)
	}
	_ = started
	if row.Status == StatusDone || row.Status == StatusFailed {
		s.temp.DeleteTemp(ctx, importKey(id))
		return nil
	}
	var c records.Caller
	var o ImportOptions
	if err := json.Unmarshal([]byte(row.Caller), &c); err != nil {
		return fmt.Errorf("bulk: import %s: caller: %w", id, err)
	}
	if err := json.Unmarshal([]byte(row.Options), &o); err != nil {
		return fmt.Errorf("bulk: import %s: options: %w", id, err)
	}
	// The upload, copied to a local file: reading it is random access
	// (XLSX) and sequential many times faster than from a bucket.
	rc, err := s.temp.OpenTemp(ctx, importKey(id))
	if err != nil {
		s.fail(ctx, id, "the uploaded file is gone")
		return nil
	}
	f, err := os.CreateTemp("", "forma-import-*")
	if err != nil {
		rc.Close()
		return fmt.Errorf("bulk: import %s: %w", id, err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	size, err := io.Copy(f, rc)
	rc.Close()
	if err != nil {
		return fmt.Errorf("bulk: import %s: read the upload: %w", id, err)
	}
	now := s.db.Now()
	if _, err := s.db.Pool().ExecContext(ctx, `UPDATE "_forma_imports" SET "status" = ?, "started_at" = ? WHERE "id" = ? AND "status" NOT IN ('done', 'failed')`, StatusRunning, now, id); err != nil {
		return fmt.Errorf("bulk: import %s: %w", id, err)
	}
	lp := &liveProgress{started: now}
	running.Store(id, lp)
	defer running.Delete(id)
	_, err = s.Import(ctx, Run{Caller: c, App: row.App, Entity: row.Entity, File: f, Size: size, Name: row.File, Options: o, ID: id})
	var re *records.Error
	if errors.As(err, &re) && re.Status < 500 {
		// The import's fault (the app changed under it, the caller lost
		// the right): it would fail again.
		s.fail(ctx, id, re.Message)
		s.temp.DeleteTemp(ctx, importKey(id))
		return nil
	}
	if err != nil {
		return err // the database's trouble: run again (idempotent)
	}
	s.temp.DeleteTemp(ctx, importKey(id))
	return nil
}

// ImportStatus answers GET …/imports/{id}: to the user who started it or
// an admin; anyone else gets 404. While the import runs on this server,
// its progress is this process's; otherwise the stored one (PostgreSQL
// stores it every few thousand rows, SQLite when the import ends).
func (s *Service) ImportStatus(ctx context.Context, c records.Caller, app, entity, id string) (*ImportStatus, error) {
	row, err := s.importFor(ctx, c, app, entity, id)
	if err != nil {
		return nil, err
	}
	st := &ImportStatus{ID: row.ID, App: row.App, Entity: row.Entity, Status: row.Status, Rows: row.Rows, Processed: row.Processed,
		Created: row.Created, Updated: row.Updated, Skipped: row.Skipped, Bad: row.Bad, ErrorCount: row.ErrorCount,
		StartedAt: row.StartedAt, FinishedAt: row.FinishedAt, Message: row.Message, Path: row.Path,
		Errors: []CellProblem{}, Duplicates: []Duplicate{}}
	_ = json.Unmarshal([]byte(row.Options), &st.Options)
	st.DryRun = st.Options.DryRun
	if row.Errors != "" {
		_ = json.Unmarshal([]byte(row.Errors), &st.Errors)
	}
	if row.Duplicates != "" {
		_ = json.Unmarshal([]byte(row.Duplicates), &st.Duplicates)
	}
	end := s.db.Now()
	if v, ok := running.Load(id); ok && st.Status == StatusRunning {
		lp := v.(*liveProgress)
		st.Processed = int(lp.processed.Load())
		st.Created, st.Updated, st.Bad = int(lp.created.Load()), int(lp.updated.Load()), int(lp.bad.Load())
	}
	if st.FinishedAt != nil {
		end = *st.FinishedAt
	}
	if st.StartedAt != nil {
		if secs := end.Sub(*st.StartedAt).Seconds(); secs > 0 {
			st.RowsPerSecond = float64(st.Processed) / secs
		}
	}
	return st, nil
}

// importFor reads the import id of app's entity for c: 404 unless they
// started it or are an admin.
func (s *Service) importFor(ctx context.Context, c records.Caller, app, entity, id string) (*importRow, error) {
	notFound := &records.Error{Status: 404, Code: records.CodeNotFound, Message: fmt.Sprintf("no import %q", clipBytes(id, 40))}
	if len(id) > 26 {
		return nil, notFound
	}
	var r importRow
	var started, finished sql.NullTime
	var header, errs, dups, path, message sql.NullString
	err := s.db.Pool().QueryRowContext(ctx, `SELECT "id", "app", "entity", "user_id", "status", "options", "header", "rows", "processed", "created", "updated", "skipped", "bad", "error_count", "errors", "duplicates", "path", "message", "started_at", "finished_at" FROM "_forma_imports" WHERE "id" = ?`, id).
		Scan(&r.ID, &r.App, &r.Entity, &r.UserID, &r.Status, &r.Options, &header, &r.Rows, &r.Processed, &r.Created, &r.Updated, &r.Skipped, &r.Bad, &r.ErrorCount, &errs, &dups, &path, &message, &started, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("bulk: import %s: %w", id, err)
	}
	if r.App != app || r.Entity != entity || (r.UserID != c.UserID && !c.Admin) || c.UserID == "" && !c.Admin {
		return nil, notFound
	}
	r.Header, r.Errors, r.Duplicates, r.Path, r.Message = header.String, errs.String, dups.String, path.String, message.String
	if started.Valid {
		t := started.Time.UTC()
		r.StartedAt = &t
	}
	if finished.Valid {
		t := finished.Time.UTC()
		r.FinishedAt = &t
	}
	return &r, nil
}

// ErrorsCSV writes an import's bad rows as uploaded, with a "reason"
// column, as CSV in UTF-8 with a BOM (Excel reads it so).
func (s *Service) ErrorsCSV(ctx context.Context, c records.Caller, app, entity, id string, w io.Writer) error {
	row, err := s.importFor(ctx, c, app, entity, id)
	if err != nil {
		return err
	}
	var header []string
	_ = json.Unmarshal([]byte(row.Header), &header)
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(append(append([]string{}, neutraliseAll(header)...), "reason")); err != nil {
		return err
	}
	rows, err := s.db.Pool().QueryContext(ctx, `SELECT "cells", "reason" FROM "_forma_import_errors" WHERE "import_id" = ? ORDER BY "row"`, id)
	if err != nil {
		return fmt.Errorf("bulk: import %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var cells, reason string
		if err := rows.Scan(&cells, &reason); err != nil {
			return fmt.Errorf("bulk: import %s: %w", id, err)
		}
		var cs []string
		_ = json.Unmarshal([]byte(cells), &cs)
		if err := cw.Write(append(neutraliseAll(cs), reason)); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return rows.Err()
}

// neutraliseAll neutralises each cell (export.go's neutralise).
func neutraliseAll(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = neutralise(c)
	}
	return out
}

// Preview answers POST …/imports/preview: the file read, mapped and its
// first rows coerced, nothing written.
type Preview struct {
	Format    string         `json:"format"`
	Encoding  string         `json:"encoding"`
	Delimiter string         `json:"delimiter"`
	Sheet     string         `json:"sheet"`
	Headers   []string       `json:"headers"`
	Mapping   *Mapping       `json:"mapping"`
	Rows      []PreviewRow   `json:"rows"`
	Fields    []PreviewField `json:"fields"`
}

// PreviewRow is one row of a preview.
type PreviewRow struct {
	Row      int            `json:"row"`
	Values   map[string]any `json:"values"`
	Problems []CellProblem  `json:"problems"`
}

// PreviewField is a field a column may fill.
type PreviewField struct {
	Name     string           `json:"name"`
	Label    string           `json:"label,omitempty"`
	Type     schema.FieldType `json:"type"`
	Required bool             `json:"required"`
}

// PreviewRows is how many rows a preview shows.
const PreviewRows = 20

// Preview reads the first rows of u as an import with o would.
func (s *Service) Preview(ctx context.Context, c records.Caller, app, entity string, u Upload, o ImportOptions) (*Preview, error) {
	if err := s.records.CheckImport(ctx, c, app, entity, records.ImportOptions{UpsertBy: o.UpsertBy}); err != nil {
		return nil, err
	}
	p, err := s.open(ctx, c, app, entity, u.File, u.Size, u.Name, o)
	if err != nil {
		return nil, err
	}
	defer p.table.Close()
	a, e, t, m, co := p.app, p.entity, p.table, p.mapping, p.coercer
	var cells [][]string
	var nums []int
	for len(cells) < PreviewRows {
		row, n, err := t.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fileProblem(err)
		}
		cells, nums = append(cells, row), append(nums, n)
	}
	// How the file was read (detected when o left it open), not what o asked.
	info := Describe(t)
	out := &Preview{Format: info.Format, Encoding: info.Encoding, Delimiter: info.Delimiter, Sheet: info.Sheet, Headers: t.Header(), Mapping: m, Rows: []PreviewRow{}}
	values, problems := co.Rows(ctx, cells, nums)
	for i, v := range values {
		pr := PreviewRow{Row: nums[i], Values: v, Problems: []CellProblem{}}
		for _, p := range problems {
			if p.Row == nums[i] {
				pr.Problems = append(pr.Problems, p)
			}
		}
		out.Rows = append(out.Rows, pr)
	}
	readable, err := s.records.Readable(a, entity, c)
	if err != nil {
		return nil, err
	}
	for _, f := range e.Fields {
		if f.Type.Computed() || (len(readable) > 0 && !readable[f.Name]) {
			continue
		}
		out.Fields = append(out.Fields, PreviewField{Name: f.Name, Label: f.Label, Type: f.Type, Required: f.Required})
	}
	return out, nil
}

// inTx runs fn in a transaction of its own.
func (s *Service) inTx(ctx context.Context, fn func(tx store.Conn) error) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// lookup finds refs by the referenced entity's unique field and users by
// email, for the coercer, under the importing caller's read rules.
type lookup struct {
	s   *Service
	c   records.Caller
	app string
}

func (l *lookup) Refs(ctx context.Context, entity, field string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for i := 0; i < len(keys); i += records.MaxLimit {
		part := keys[i:min(i+records.MaxLimit, len(keys))]
		list, _ := json.Marshal(part)
		page, err := l.s.records.List(ctx, l.c, l.app, entity, records.Query{Filter: field + " in " + string(list), Fields: field, Limit: records.MaxLimit})
		if err != nil {
			return nil, err
		}
		for _, r := range page.Items {
			if k, ok := r.Get(field).(string); ok {
				out[k] = r.ID()
			}
		}
	}
	return out, nil
}

func (l *lookup) Users(ctx context.Context, emails []string) (map[string]string, error) {
	out := map[string]string{}
	for _, e := range emails {
		var id string
		err := l.s.db.Pool().QueryRowContext(ctx, `SELECT "id" FROM "_forma_users" WHERE LOWER("email") = LOWER(?)`, e).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("bulk: look up users: %w", err)
		}
		out[e] = id
	}
	return out, nil
}

// newULID is a ULID from t with fresh random bits: an import's id is
// handed to its starter only, and one must not tell the next.
func newULID(t time.Time) string {
	return ulid.MustNew(ulid.Timestamp(t), rand.Reader).String()
}
