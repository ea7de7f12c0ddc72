package bulk

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Imports. An import reads a spreadsheet row by row (OpenTable), maps its
// columns (MapColumns), coerces its cells a batch at a time (Coercer) and
// writes the rows through the records service's batch path
// (records.Importer) inside ONE transaction: every row under the same
// rules, hooks, formulas, history and events as an API write on path
// "import". All or nothing by default: one bad row and the transaction is
// rolled back, the report naming every bad row; SkipBadRows commits the
// good ones; DryRun checks everything and rolls back.
//
// Started from the API, an import is a durable job (ImportKind): the
// upload is stored first in the files bucket (imports/<id>), where any
// server can read it, and a row in _forma_imports says who started it,
// with what options, and how it went. The job's transaction also marks
// that row done, so a job run again after its commit (the process was
// killed before River heard of it) finds it done and does nothing, and one
// killed before its commit wrote nothing: either every row or none, never
// twice.

// ImportKind is the job kind of imports.
const ImportKind = "forma_import"

// Limits of imports.
const (
	// DefaultMaxImportMB is an app's import size limit when its document
	// says none (settings.maxImportMB); MaxImportMB the most it may say.
	DefaultMaxImportMB = 200
	MaxImportMB        = 1024
	// MaxReportedErrors is how many bad rows an import's status lists
	// (every one is kept for errors.csv).
	MaxReportedErrors = 200
	// batchRows is how many rows are coerced, checked for duplicates and
	// written at once; copyBatchRows on the COPY path.
	batchRows     = 500
	copyBatchRows = 5000
	// progressEvery is how often (in rows) a running import's progress is
	// stored for other servers to show (PostgreSQL; see progress).
	progressEvery = 5000
	importTimeout = time.Hour
)

// ImportLimit is app's import size limit in bytes.
func ImportLimit(app *schema.App) int64 {
	mb := DefaultMaxImportMB
	if app != nil && app.Settings != nil && app.Settings.MaxImportMB > 0 {
		mb = min(app.Settings.MaxImportMB, MaxImportMB)
	}
	return int64(mb) << 20
}

// Statuses of an import.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Duplicate is a row that a matching rule finds probably already entered.
type Duplicate struct {
	Row     int      `json:"row"`
	Matches []string `json:"matches"`
	Rule    string   `json:"rule"`
	// Refuse: the rule refuses such a row (onCreate: refuse): it is a bad
	// row. Otherwise it is only reported.
	Refuse bool `json:"-"`
}

// DuplicateFinder finds probable duplicates among a batch of rows about to
// be written, inside the import's transaction (rows of earlier batches are
// visible in it). The import calls it once per batch when set
// (Service.DuplicateHook; nil: none) and lists what it finds in the
// report. By default it is the app's matching rules (matchFinder), which
// report; a rule that refuses refuses the row at its create's event, as
// any create (match.go).
type DuplicateFinder interface {
	FindDuplicates(ctx context.Context, tx store.Conn, c records.Caller, app *schema.App, e *schema.Entity, rows []records.ImportRow) ([]Duplicate, error)
}

// TempStore keeps uploads until their import ends, where every server
// can read them (engine/files' bucket).
type TempStore interface {
	PutTemp(ctx context.Context, key string, r io.Reader) error
	OpenTemp(ctx context.Context, key string) (io.ReadCloser, error)
	DeleteTemp(ctx context.Context, key string) error
}

// UseTemp sets where uploads wait for their import (before the queue
// starts).
func (s *Service) UseTemp(t TempStore) { s.temp = t }

// ImportStatus is an import as GET …/imports/{id} shows it.
type ImportStatus struct {
	ID            string        `json:"id"`
	App           string        `json:"app"`
	Entity        string        `json:"entity"`
	Status        string        `json:"status"`
	DryRun        bool          `json:"dryRun"`
	Options       ImportOptions `json:"options"`
	Rows          int           `json:"rows"`
	Processed     int           `json:"processed"`
	Created       int           `json:"created"`
	Updated       int           `json:"updated"`
	Skipped       int           `json:"skipped"`
	Bad           int           `json:"bad"`
	Duplicates    []Duplicate   `json:"duplicates"`
	Errors        []CellProblem `json:"errors"`
	ErrorCount    int           `json:"errorCount"`
	StartedAt     *time.Time    `json:"startedAt"`
	FinishedAt    *time.Time    `json:"finishedAt"`
	RowsPerSecond float64       `json:"rowsPerSecond"`
	Message       string        `json:"message"`
	Path          string        `json:"path,omitempty"` // "copy" or "rows": how the rows were written
	Mapping       *Mapping      `json:"mapping,omitempty"`
}

// importRow is one import (GORM model: only for EnsureTables).
type importRow struct {
	ID         string    `gorm:"primaryKey;size:26"`
	App        string    `gorm:"size:63;not null"`
	Entity     string    `gorm:"size:63;not null"`
	UserID     string    `gorm:"column:user_id;size:26"`
	Caller     string    `gorm:"not null"` // records.Caller, JSON
	File       string    `gorm:"size:255;not null"`
	Size       int64     `gorm:"not null"`
	Status     string    `gorm:"size:16;not null"`
	Options    string    `gorm:"not null"` // ImportOptions, JSON
	Header     string    // the file's header row, JSON (errors.csv)
	Rows       int       `gorm:"not null"`
	Processed  int       `gorm:"not null"`
	Created    int       `gorm:"not null"`
	Updated    int       `gorm:"not null"`
	Skipped    int       `gorm:"not null"`
	Bad        int       `gorm:"not null"`
	ErrorCount int       `gorm:"column:error_count;not null"`
	Errors     string    // the first MaxReportedErrors CellProblems, JSON
	Duplicates string    // []Duplicate, JSON (the first MaxReportedErrors)
	Path       string    `gorm:"size:8"`
	Message    string    `gorm:"size:2000"`
	CreatedAt  time.Time `gorm:"not null"`
	StartedAt  *time.Time
	FinishedAt *time.Time
}

func (importRow) TableName() string { return "_forma_imports" }

// importErrorRow is one bad row of an import, as uploaded, with why.
type importErrorRow struct {
	ImportID string `gorm:"column:import_id;primaryKey;size:26"`
	Row      int    `gorm:"primaryKey;autoIncrement:false"`
	Cells    string `gorm:"not null"` // []string, JSON
	Reason   string `gorm:"not null"`
}

func (importErrorRow) TableName() string { return "_forma_import_errors" }

// importArgs is an import's job: the row says the rest.
type importArgs struct {
	ID string `json:"id"`
}

func (importArgs) Kind() string { return ImportKind }

// One attempt for the rows' faults (a bad row would be bad again), more
// for the database's: the job is idempotent.
func (importArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

type importWorker struct {
	river.WorkerDefaults[importArgs]
	s *Service
}

// Timeout is the queue's rescue timeout: a longer one would delay the
// rescue of an import whose server died to it (River rescues a job only
// once its own timeout is over). An import must finish within it
// (--jobs-rescue-after, an hour by default: a million rows take minutes).
func (w *importWorker) Timeout(*river.Job[importArgs]) time.Duration {
	if d := w.s.jobs.RescueAfter(); d > 0 {
		return d
	}
	return importTimeout
}

func (w *importWorker) Work(ctx context.Context, job *river.Job[importArgs]) error {
	return w.s.runJob(ctx, job.Args.ID)
}

// registerImports creates the import tables and registers the job.
func (s *Service) registerImports(ctx context.Context) error {
	if err := s.db.EnsureTables(ctx, &importRow{}, &importErrorRow{}); err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	if s.DuplicateHook == nil {
		s.DuplicateHook = matchFinder{s}
	}
	if s.jobs == nil {
		return nil
	}
	return jobs.Register(s.jobs, &importWorker{s: s})
}

// running is the progress of the imports this process runs, by id: on
// SQLite the import's transaction holds the database's one write slot, so
// progress cannot be stored while it runs; GET answers from here when the
// import runs on this server, from the stored row otherwise (PostgreSQL
// stores it every progressEvery rows, SQLite at the end).
var running sync.Map // id → *liveProgress

type liveProgress struct {
	processed, created, updated, bad atomic.Int64
	started                          time.Time
}

// Progress is what an import reports as it goes (the CLI's bar).
type Progress struct {
	Processed, Bad int
	Size, Read     int64 // the file's bytes, and how far it has been read (0 when unknown)
}

// Run is one import run synchronously: the job's work, and forma import.
type Run struct {
	Caller   records.Caller
	App      string
	Entity   string
	File     io.ReaderAt
	Size     int64
	Name     string
	Options  ImportOptions
	ID       string // the import's row ("": none, as the CLI runs it)
	Progress func(Progress)
}

// Result is what an import did.
type Result struct {
	Status     string
	Rows       int
	Created    int
	Updated    int
	Skipped    int
	Bad        int
	Errors     []CellProblem // the first MaxReportedErrors
	ErrorCount int
	Duplicates []Duplicate
	Path       string
	Message    string
	Committed  bool
	Elapsed    time.Duration
	Mapping    *Mapping
	// BadRows holds every bad row when Run has no ID (the CLI writes
	// them out); with an ID they are stored for errors.csv.
	BadRows []BadRow
	header  []string
}

// BadRow is a refused row as uploaded, with why.
type BadRow struct {
	Row    int
	Cells  []string
	Reason string
}

// inputError is an import refused as a whole before any row: a 4xx.
func inputError(status int, code, path, format string, args ...any) *records.Error {
	msg := fmt.Sprintf(format, args...)
	return &records.Error{Status: status, Code: code, Message: msg, Details: []schema.Problem{{Path: path, Code: code, Message: msg}}}
}

// fileProblem answers a FileError as the API does: 415 for a file that is
// no spreadsheet, 422 for one whose content cannot be used.
func fileProblem(err error) error {
	var fe *FileError
	if !errors.As(err, &fe) {
		return err
	}
	status := 422
	if fe.Code == CodeUnreadable {
		status = 415 // no spreadsheet at all
	}
	path := "/file"
	switch fe.Code {
	case CodeUnknownField, CodeDuplicateField:
		path = "/options/map"
	case CodeBadOption, CodeUnknownSheet:
		path = "/options"
	}
	return inputError(status, fe.Code, path, "%s", fe.Reason)
}

// readOptions are the ReadOptions an import's options name.
func (o ImportOptions) readOptions() (ReadOptions, error) {
	ro := ReadOptions{Format: o.Format, Encoding: o.Encoding, Sheet: o.Sheet}
	switch o.Delimiter {
	case "":
	case ",", ";", "\t":
		ro.Delimiter = rune(o.Delimiter[0])
	case "tab", "\\t":
		ro.Delimiter = '\t'
	default:
		return ro, inputError(422, "invalid", "/options/delimiter", "the delimiter must be \",\", \";\" or tab")
	}
	return ro, nil
}

// DecodeOptions reads an import's options JSON strictly: an unknown key
// or a wrong type is refused (422), not ignored.
func DecodeOptions(raw []byte) (ImportOptions, error) {
	var o ImportOptions
	if len(strings.TrimSpace(string(raw))) == 0 {
		return o, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, inputError(422, "invalid", "/options", "the options are not valid: %s", strings.ToValidUTF8(err.Error(), "?"))
	}
	if dec.More() {
		return o, inputError(422, "invalid", "/options", "the options hold more than one JSON value")
	}
	if o.TimeZone != "" {
		if _, err := time.LoadLocation(o.TimeZone); err != nil {
			return o, inputError(422, "invalid", "/options/timeZone", "unknown time zone %q", o.TimeZone)
		}
	}
	if _, err := o.readOptions(); err != nil {
		return o, err
	}
	return o, nil
}

// prepared is an import's file opened and mapped.
type prepared struct {
	app     *schema.App
	entity  *schema.Entity
	table   Table
	mapping *Mapping
	coercer *Coercer
}

// prepare opens and maps the file for caller c, refusing what would make
// every row fail: an unreadable file, a map naming an unknown field, a
// column that fills no field (unless mapped to ""), an unknown upsert
// field.
func (s *Service) prepare(ctx context.Context, c records.Caller, app, entity string, f io.ReaderAt, size int64, name string, o ImportOptions) (*prepared, error) {
	p, err := s.open(ctx, c, app, entity, f, size, name, o)
	if err != nil {
		return nil, err
	}
	if m := p.mapping; len(m.Unknown) > 0 {
		p.table.Close()
		e := inputError(422, "unknown_column", "/options/map", "the columns %s fill no field of %s: map them to a field, or to \"\" to leave them out", quoted(m.Unknown), entity)
		e.Details[0].Params = map[string]any{"columns": m.Unknown}
		return nil, e
	}
	return p, nil
}

// open opens the file as an import with o reads it — its table, the
// columns mapped to fields, a coercer for the caller — whatever columns
// it has (a preview shows the unknown ones; prepare refuses them).
func (s *Service) open(ctx context.Context, c records.Caller, app, entity string, f io.ReaderAt, size int64, name string, o ImportOptions) (*prepared, error) {
	a, err := s.catalog.App(ctx, app)
	if err != nil {
		return nil, inputError(404, records.CodeNotFound, "", "no app %q", app)
	}
	e := a.Entity(entity)
	if e == nil {
		return nil, inputError(404, records.CodeNotFound, "", "no entity %q in app %q", entity, app)
	}
	ro, err := o.readOptions()
	if err != nil {
		return nil, err
	}
	t, err := OpenTable(f, size, name, ro)
	if err != nil {
		return nil, fileProblem(err)
	}
	m, err := MapColumns(a, e, t.Header(), o.Map)
	if err != nil {
		t.Close()
		return nil, fileProblem(err)
	}
	tz := time.UTC
	if o.TimeZone != "" {
		tz, _ = time.LoadLocation(o.TimeZone)
	}
	co := NewCoercer(a, e, m, CoerceOptions{TimeZone: tz, Lookup: &lookup{s: s, c: c, app: app}})
	return &prepared{app: a, entity: e, table: t, mapping: m, coercer: co}, nil
}

func quoted(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// Import runs r synchronously (forma import; the job calls it too).
func (s *Service) Import(ctx context.Context, r Run) (*Result, error) {
	started := time.Now() // elapsed time for rows/s only; nothing decides by it
	p, err := s.prepare(ctx, r.Caller, r.App, r.Entity, r.File, r.Size, r.Name, r.Options)
	if err != nil {
		return nil, err
	}
	defer p.table.Close()
	res, err := records.Retry(func() (*Result, error) { return s.write(ctx, r, p) })
	if res != nil {
		res.Elapsed = time.Since(started)
		res.Mapping = p.mapping
	}
	return res, err
}

// spool keeps an import's bad rows on disk while its transaction runs
// (all of them, in constant memory).
type spool struct {
	f *os.File
	w *bufio.Writer
}

func newSpool() (*spool, error) {
	f, err := os.CreateTemp("", "forma-import-errors-*")
	if err != nil {
		return nil, fmt.Errorf("bulk: import: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriter(f)}, nil
}

func (sp *spool) add(b BadRow) error {
	line, _ := json.Marshal(b)
	_, err := sp.w.Write(append(line, '\n'))
	return err
}

func (sp *spool) each(fn func(BadRow) error) error {
	if err := sp.w.Flush(); err != nil {
		return err
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sc := bufio.NewScanner(sp.f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		var b BadRow
		if err := json.Unmarshal(sc.Bytes(), &b); err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return sc.Err()
}

func (sp *spool) close() {
	sp.f.Close()
	os.Remove(sp.f.Name())
}

// write is one attempt at writing the rows, in one transaction.
func (s *Service) write(ctx context.Context, r Run, p *prepared) (_ *Result, err error) {
	res := &Result{header: p.table.Header()}
	bad, err := newSpool()
	if err != nil {
		return nil, err
	}
	defer bad.close()
	tx, err := s.db.BeginConn(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if r.ID != "" {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT "status" FROM "_forma_imports" WHERE "id" = ?`, r.ID).Scan(&status); err != nil {
			return nil, fmt.Errorf("bulk: import %s: %w", r.ID, err)
		}
		if status == StatusDone || status == StatusFailed {
			return &Result{Status: status, Message: "already finished"}, nil // a run again after the commit
		}
	}
	im, err := s.records.NewImporter(ctx, tx, r.Caller, r.App, r.Entity, records.ImportOptions{UpsertBy: r.Options.UpsertBy})
	if err != nil {
		return nil, err
	}
	var filled []string
	for _, cm := range p.mapping.Columns {
		if cm.Field != "" {
			filled = append(filled, cm.Field)
		}
	}
	copyOK, why := im.CopyOK(filled)
	if copyOK && len(p.app.MatchingOf(p.entity.Name)) > 0 {
		copyOK, why = false, "matching rules" // checked per row, at each create's event
	}
	res.Path = "rows"
	if copyOK {
		res.Path = "copy"
	}
	_ = why
	live, _ := running.Load(r.ID)
	lp, _ := live.(*liveProgress)
	addBad := func(b BadRow, pr CellProblem) error {
		res.Bad++
		res.ErrorCount++
		if len(res.Errors) < MaxReportedErrors {
			res.Errors = append(res.Errors, pr)
		}
		return bad.add(b)
	}
	lastStored := 0
	flush := func(ch *chunk) error {
		for _, b := range ch.ragged {
			pr := CellProblem{Row: b.Row, Reason: b.Reason, Code: "ragged_row"}
			if err := addBad(b, pr); err != nil {
				return err
			}
		}
		res.Rows += len(ch.ragged)
		if len(ch.cells) == 0 {
			return nil
		}
		if !ch.sifted {
			ch.sift()
		}
		cells, rows, cellsOf := ch.cells, ch.rows, ch.cellsOf
		for _, b := range ch.unread {
			for _, pr := range b.problems {
				if err := addBad(BadRow{Row: b.row, Cells: b.cells, Reason: reasonOf(pr)}, pr); err != nil {
					return err
				}
			}
		}
		if s.DuplicateHook != nil && len(rows) > 0 && !copyOK { // copyOK: the entity has no matching rules
			dups, err := s.DuplicateHook.FindDuplicates(ctx, tx, r.Caller, p.app, p.entity, rows)
			if err != nil {
				return err
			}
			if dups, err = notUpserted(ctx, im, rows, dups); err != nil {
				return err
			}
			refused := map[int]bool{}
			for _, d := range dups {
				if len(res.Duplicates) < MaxReportedErrors {
					res.Duplicates = append(res.Duplicates, d)
				}
				if d.Refuse && !refused[d.Row] {
					refused[d.Row] = true
					pr := CellProblem{Row: d.Row, Reason: fmt.Sprintf("probably a duplicate of %s (rule %s)", strings.Join(d.Matches, ", "), d.Rule), Code: "duplicate"}
					if err := addBad(BadRow{Row: d.Row, Cells: cellsOf[d.Row], Reason: pr.Reason}, pr); err != nil {
						return err
					}
				}
			}
			if len(refused) > 0 {
				kept := rows[:0]
				for _, row := range rows {
					if !refused[row.Row] {
						kept = append(kept, row)
					}
				}
				rows = kept
			}
		}
		var outs []records.RowOutcome
		var err error
		switch {
		case ch.batch != nil:
			outs, err = im.WriteCopy(ctx, ch.batch)
		case ch.prepErr != nil:
			err = ch.prepErr
		case copyOK:
			outs, err = im.Copy(ctx, rows)
		default:
			outs, err = im.Write(ctx, rows)
		}
		if err != nil {
			return err
		}
		for _, o := range outs {
			switch {
			case o.Err != nil:
				for _, pr := range problemsOf(o.Row, o.Err, p.mapping) {
					if err := addBad(BadRow{Row: o.Row, Cells: cellsOf[o.Row], Reason: reasonOf(pr)}, pr); err != nil {
						return err
					}
				}
			case o.Created:
				res.Created++
			case o.Updated:
				res.Updated++
			}
		}
		res.Rows += len(cells)
		if lp != nil {
			lp.processed.Store(int64(res.Rows))
			lp.created.Store(int64(res.Created))
			lp.updated.Store(int64(res.Updated))
			lp.bad.Store(int64(res.Bad))
		}
		if r.Progress != nil {
			r.Progress(Progress{Processed: res.Rows, Bad: res.Bad, Size: r.Size})
		}
		if r.ID != "" && s.db.Dialect.Name() == "postgres" && res.Rows-lastStored >= progressEvery {
			// On another connection, outside the import's transaction.
			lastStored = res.Rows
			if _, err := s.db.Pool().ExecContext(ctx, `UPDATE "_forma_imports" SET "processed" = ? WHERE "id" = ?`, res.Rows, r.ID); err != nil {
				s.log.Warn("bulk: store import progress", "import", r.ID, "err", err)
			}
		}
		return nil
	}
	batch := batchRows
	if copyOK {
		batch = copyBatchRows
	}
	// The file is read and coerced a batch ahead, beside the writing.
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	chunks := make(chan *chunk, 2)
	go p.readAhead(rctx, batch, chunks)
	var in <-chan *chunk = chunks
	if copyOK {
		// And checked and encoded for COPY a batch ahead, beside the
		// database copying the one before: the import's time is then
		// about the database's, not the database's plus ours.
		in = prepareAhead(rctx, im, chunks)
	}
	for ch := range in {
		if ch.err != nil {
			return nil, ch.err
		}
		if err := flush(ch); err != nil {
			return nil, err
		}
	}
	commit := !r.Options.DryRun && (res.Bad == 0 || r.Options.SkipBadRows)
	if res.Bad > 0 && r.Options.SkipBadRows {
		res.Skipped = res.Bad
	}
	res.Status = StatusDone
	switch {
	case r.Options.DryRun:
		res.Message = fmt.Sprintf("dry run: %d rows checked, %d bad; nothing was written", res.Rows, res.Bad)
	case !commit:
		res.Status = StatusFailed
		res.Message = fmt.Sprintf("%d of %d rows are bad; nothing was written (fix them, or import with skipBadRows)", res.Bad, res.Rows)
	case res.Bad > 0:
		res.Message = fmt.Sprintf("%d rows written, %d bad rows skipped", res.Created+res.Updated, res.Bad)
	default:
		res.Message = fmt.Sprintf("%d rows written", res.Created+res.Updated)
	}
	if commit {
		if err := im.Finish(ctx); err != nil {
			return nil, err
		}
		if r.ID != "" {
			// Stamped in the same transaction: a run again after this
			// commit finds the import done and writes nothing.
			ok, err := s.finish(ctx, tx, r.ID, res, true)
			if err != nil {
				return nil, err
			}
			if !ok {
				return &Result{Status: StatusDone, Message: "already finished"}, nil
			}
			if err := s.storeBadRows(ctx, tx, r.ID, bad); err != nil {
				return nil, err
			}
		}
		if err := tx.Commit(); err != nil {
			return nil, err
		}
		res.Committed = true
	} else {
		tx.Rollback()
		if !r.Options.DryRun {
			res.Created, res.Updated = 0, 0
		}
		if r.ID != "" {
			err := s.inTx(ctx, func(tx store.Conn) error {
				if _, err := s.finish(ctx, tx, r.ID, res, false); err != nil {
					return err
				}
				return s.storeBadRows(ctx, tx, r.ID, bad)
			})
			if err != nil {
				return nil, err
			}
		}
	}
	if r.ID == "" {
		if err := bad.each(func(b BadRow) error { res.BadRows = append(res.BadRows, b); return nil }); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// reasonOf is a problem as the reason column says it.
func reasonOf(p CellProblem) string {
	if p.Column != "" {
		return p.Column + ": " + p.Reason
	}
	return p.Reason
}

// problemsOf turns the records service's refusal of a row into cell
// problems, each at its column (the header of the field's column).
func problemsOf(row int, e *records.Error, m *Mapping) []CellProblem {
	headerOf := map[string]string{}
	for _, cm := range m.Columns {
		if cm.Field != "" {
			headerOf[cm.Field] = cm.Header
		}
	}
	if len(e.Details) == 0 {
		return []CellProblem{{Row: row, Reason: e.Message, Code: e.Code}}
	}
	out := make([]CellProblem, 0, len(e.Details))
	for _, d := range e.Details {
		field := strings.TrimPrefix(d.Path, "/")
		if i := strings.IndexByte(field, '/'); i >= 0 {
			field = field[:i]
		}
		code := d.Code
		if code == "" {
			code = e.Code
		}
		out = append(out, CellProblem{Row: row, Column: headerOf[field], Field: field, Reason: d.Message, Code: code})
	}
	return out
}

// finish stores an import's outcome. Inside the import's own transaction
// (committed) it is the stamp that makes a run again a no-op: false when
// another run stamped it first.
func (s *Service) finish(ctx context.Context, tx store.Conn, id string, res *Result, committed bool) (bool, error) {
	errs, _ := json.Marshal(nonNil(res.Errors))
	dups, _ := json.Marshal(nonNilDup(res.Duplicates))
	now := s.db.Now()
	q := `UPDATE "_forma_imports" SET "status" = ?, "rows" = ?, "processed" = ?, "created" = ?, "updated" = ?, "skipped" = ?, "bad" = ?, "error_count" = ?, "errors" = ?, "duplicates" = ?, "path" = ?, "message" = ?, "finished_at" = ? WHERE "id" = ?`
	if committed {
		q += ` AND "status" <> 'done'`
	}
	out, err := tx.ExecContext(ctx, q, res.Status, res.Rows, res.Rows, res.Created, res.Updated, res.Skipped, res.Bad, res.ErrorCount,
		string(errs), string(dups), res.Path, clipBytes(res.Message, 2000), now, id)
	if err != nil {
		return false, fmt.Errorf("bulk: import %s: %w", id, err)
	}
	n, _ := out.RowsAffected()
	return n == 1, nil
}

func nonNil(p []CellProblem) []CellProblem {
	if p == nil {
		return []CellProblem{}
	}
	return p
}

func nonNilDup(d []Duplicate) []Duplicate {
	if d == nil {
		return []Duplicate{}
	}
	return d
}

func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// storeBadRows keeps every bad row for errors.csv (one reason per row:
// the first problem, the others joined to it).
func (s *Service) storeBadRows(ctx context.Context, tx store.Conn, id string, sp *spool) error {
	var last *BadRow
	put := func() error {
		if last == nil {
			return nil
		}
		cells, _ := json.Marshal(last.Cells)
		_, err := tx.ExecContext(ctx, `INSERT INTO "_forma_import_errors" ("import_id", "row", "cells", "reason") VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			id, last.Row, string(cells), last.Reason)
		if err != nil {
			return fmt.Errorf("bulk: import %s: store bad rows: %w", id, err)
		}
		return nil
	}
	err := sp.each(func(b BadRow) error {
		if last != nil && last.Row == b.Row {
			last.Reason += "; " + b.Reason
			return nil
		}
		if err := put(); err != nil {
			return err
		}
		last = &b
		return nil
	})
	if err != nil {
		return err
	}
	return put()
}

// notUpserted drops from dups the record each row updates by the upsert
// field: a row is not a duplicate of the record it updates.
func notUpserted(ctx context.Context, im *records.Importer, rows []records.ImportRow, dups []Duplicate) ([]Duplicate, error) {
	byRow := make(map[int]map[string]any, len(rows))
	for _, r := range rows {
		byRow[r.Row] = r.Values
	}
	out := dups[:0]
	for _, d := range dups {
		id, err := im.Existing(ctx, byRow[d.Row])
		if err != nil {
			return nil, err
		}
		if id != "" {
			ms := make([]string, 0, len(d.Matches))
			for _, m := range d.Matches {
				if m != id {
					ms = append(ms, m)
				}
			}
			if d.Matches = ms; len(ms) == 0 {
				continue
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// matchFinder reports the records the app's matching rules find for an
// import's rows, among those the importer may read.
type matchFinder struct{ s *Service }

func (m matchFinder) FindDuplicates(ctx context.Context, tx store.Conn, c records.Caller, app *schema.App, e *schema.Entity, rows []records.ImportRow) ([]Duplicate, error) {
	if len(app.MatchingOf(e.Name)) == 0 {
		return nil, nil
	}
	values := make([]map[string]any, len(rows))
	for i, r := range rows {
		values[i] = r.Values
	}
	found, err := m.s.FindDuplicatesFor(ctx, tx, c, app, e.Name, values)
	if err != nil {
		return nil, err
	}
	var out []Duplicate
	for i, ms := range found {
		byRule := map[string]*Duplicate{}
		for _, mt := range ms {
			d := byRule[mt.Rule]
			if d == nil {
				out = append(out, Duplicate{Row: rows[i].Row, Rule: mt.Rule})
				d = &out[len(out)-1]
				byRule[mt.Rule] = d
			}
			d.Matches = append(d.Matches, mt.ID)
		}
	}
	return out, nil
}

// chunk is a batch of rows read and coerced ahead of the writing.
type chunk struct {
	cells    [][]string
	nums     []int
	values   []map[string]any
	problems []CellProblem
	ragged   []BadRow // rows whose cells are not the header's count
	err      error    // the file cannot be read on (the last chunk)

	// sift's split: the rows to write, the others with their problems.
	sifted  bool
	rows    []records.ImportRow
	unread  []unreadRow
	cellsOf map[int][]string
	// batch is rows checked and encoded for COPY (prepareAhead).
	batch   *records.CopyBatch
	prepErr error
}

// unreadRow is a row whose cells could not be coerced.
type unreadRow struct {
	row      int
	cells    []string
	problems []CellProblem
}

// sift splits ch's coerced rows into those to write and those whose cells
// have problems.
func (ch *chunk) sift() {
	ch.sifted = true
	byRow := map[int][]CellProblem{}
	for _, pr := range ch.problems {
		byRow[pr.Row] = append(byRow[pr.Row], pr)
	}
	ch.rows = make([]records.ImportRow, 0, len(ch.cells))
	ch.cellsOf = make(map[int][]string, len(ch.cells))
	for i, v := range ch.values {
		ch.cellsOf[ch.nums[i]] = ch.cells[i]
		if ps := byRow[ch.nums[i]]; len(ps) > 0 || v == nil {
			if len(ps) == 0 {
				ps = []CellProblem{{Row: ch.nums[i], Reason: "the row cannot be read"}}
			}
			ch.unread = append(ch.unread, unreadRow{ch.nums[i], ch.cells[i], ps})
			continue
		}
		ch.rows = append(ch.rows, records.ImportRow{Row: ch.nums[i], Values: v})
	}
}

// prepareAhead sifts each chunk of in and prepares its rows for COPY, one
// chunk ahead of the writer.
func prepareAhead(ctx context.Context, im *records.Importer, in <-chan *chunk) <-chan *chunk {
	out := make(chan *chunk, 1)
	go func() {
		defer close(out)
		for ch := range in {
			if ch.err == nil && len(ch.cells) > 0 {
				ch.sift()
				ch.batch, ch.prepErr = im.PrepareCopy(ch.rows)
			}
			select {
			case out <- ch:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// readAhead reads p's rows into chunks of up to batch rows, each coerced,
// and closes out when the file ends, fails or ctx is done.
func (p *prepared) readAhead(ctx context.Context, batch int, out chan<- *chunk) {
	defer close(out)
	width := len(p.table.Header())
	ch := &chunk{}
	send := func() bool {
		if len(ch.cells) > 0 {
			ch.values, ch.problems = p.coercer.Rows(ctx, ch.cells, ch.nums)
		}
		select {
		case out <- ch:
			ch = &chunk{}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		row, n, err := p.table.Next()
		if errors.Is(err, io.EOF) {
			send()
			return
		}
		if err != nil {
			var fe *FileError
			if errors.As(err, &fe) {
				// The file stops being readable here: so does the import
				// (its end cannot be read).
				err = inputError(422, fe.Code, "/file", "row %d: %s", n, fe.Reason)
			}
			if send() {
				select {
				case out <- &chunk{err: err}:
				case <-ctx.Done():
				}
			}
			return
		}
		if blankRow(row) {
			continue
		}
		if len(row) != width {
			ch.ragged = append(ch.ragged, BadRow{Row: n, Cells: row, Reason: fmt.Sprintf("the row has %d cells where the header has %d", len(row), width)})
			continue
		}
		ch.cells, ch.nums = append(ch.cells, row), append(ch.nums, n)
		if len(ch.cells) == batch && !send() {
			return
		}
	}
}
