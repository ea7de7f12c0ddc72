// Package bulk moves data in and out of an app in bulk: spreadsheets
// (CSV in UTF-8 or GBK/GB18030, XLSX) read row by row in constant memory,
// their columns mapped to fields and their cells coerced by clear rules,
// imports run as durable jobs through the records service (path import:
// the same validation, rules, hooks, formulas and history as an API
// write), exports streamed under the caller's rules, and duplicate
// detection and merging by the app's matching rules.
//
// The pieces, by file:
//   - bulk.go: the Service, the types the pieces share.
//   - read*.go, encoding.go: Table, reading CSV and XLSX.
//   - mapping.go, coerce.go: headers to fields, cells to values.
//   - export.go: CSV and XLSX out.
//   - import*.go: the import job, its progress and error report.
//   - match*.go, normalize.go, merge.go: duplicates and merging.
package bulk

import (
	"context"
	"errors"
	"log/slog"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Service runs imports, exports and duplicate checks. Create it with New
// and call Register before the job queue starts.
type Service struct {
	db      *store.DB
	catalog *store.Catalog
	records *records.Service
	access  *access.Service
	jobs    *jobs.Queue
	log     *slog.Logger
	match   matcher   // duplicate detection (match.go)
	temp    TempStore // import.go: uploads waiting for their import

	// DuplicateHook finds probable duplicates among an import's rows, per
	// batch inside its transaction (import.go; the matching rules unless
	// set before Register).
	DuplicateHook DuplicateFinder
}

// New returns the bulk service over the engine's services.
func New(db *store.DB, cat *store.Catalog, recs *records.Service, acc *access.Service, q *jobs.Queue, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{db: db, catalog: cat, records: recs, access: acc, jobs: q, log: log}
}

// Register creates the bulk tables and registers the import job kind on
// the queue, before it starts.
func (s *Service) Register(ctx context.Context) error {
	if err := s.registerMatching(ctx); err != nil {
		return err
	}
	return s.registerImports(ctx) // import.go
}

// CheckApp returns what the engine refuses in app's matching rules beyond
// the schema's own checks, each at its pointer.
func (s *Service) CheckApp(ctx context.Context, app *schema.App) schema.Problems { return nil }

// ErrNotImplemented marks what the skeleton does not do yet.
var ErrNotImplemented = errors.New("bulk: not implemented")

// Table is a spreadsheet read row by row, in constant memory.
type Table interface {
	// Header is the first row's cells.
	Header() []string
	// Next returns the next data row's cells and its row number in the
	// file (the header is row 1); io.EOF after the last.
	Next() (cells []string, row int, err error)
	Close() error
}

// ReadOptions say how to read a file; zero values detect.
type ReadOptions struct {
	Format    string // "csv" or "xlsx"; by content and name when empty
	Encoding  string // "utf-8" or "gb18030" (GBK is a subset); detected when empty
	Delimiter rune   // ',', ';' or '\t'; detected when 0
	Sheet     string // XLSX: the first sheet when empty
}

// Mapping says which field each column of a file fills.
type Mapping struct {
	Columns []ColumnMap `json:"columns"`
	// Unknown are headers that fill no field: reported, never silently
	// dropped (an import with unknown columns needs them mapped or
	// ignored explicitly).
	Unknown []string `json:"unknown"`
	// Missing are required fields no column fills.
	Missing []string `json:"missing"`
}

// ColumnMap is one column: its position and header, the field it fills
// ("" for none) and how it was matched: "name", "label" (either
// language) or "map" (the explicit map; "" there ignores the column).
type ColumnMap struct {
	Index  int    `json:"index"`
	Header string `json:"header"`
	Field  string `json:"field,omitempty"`
	By     string `json:"by,omitempty"`
}

// CellProblem is why one cell (or a whole row, Column "") was refused.
type CellProblem struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"` // the header
	Field  string `json:"field,omitempty"`
	Value  string `json:"value,omitempty"` // clipped
	Reason string `json:"reason"`
	Code   string `json:"code,omitempty"` // the problem code (schema/codes.go) when the records service gave one
}

// ImportOptions are an import's choices.
type ImportOptions struct {
	Map         map[string]string `json:"map,omitempty"`      // header → field ("" ignores the column)
	UpsertBy    string            `json:"upsertBy,omitempty"` // a unique field: a row whose value exists updates that record
	SkipBadRows bool              `json:"skipBadRows,omitempty"`
	DryRun      bool              `json:"dryRun,omitempty"`
	TimeZone    string            `json:"timeZone,omitempty"` // datetimes without a zone (the user's zone; UTC when empty)
	Format      string            `json:"format,omitempty"`
	Encoding    string            `json:"encoding,omitempty"`
	Delimiter   string            `json:"delimiter,omitempty"`
	Sheet       string            `json:"sheet,omitempty"`
}
