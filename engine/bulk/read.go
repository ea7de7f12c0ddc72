package bulk

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// FileError is why a file cannot be read at all (a bad row is a
// CellProblem instead). Code is one of the Code constants.
type FileError struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
	Row    int    `json:"row,omitempty"`   // where the reading stopped, when it did on a row
	Field  string `json:"field,omitempty"` // unknown_field: the field named
}

func (e *FileError) Error() string {
	if e.Row > 0 {
		return fmt.Sprintf("row %d: %s", e.Row, e.Reason)
	}
	return e.Reason
}

// FileError codes.
const (
	CodeUnreadable     = "unreadable_file" // binary, not text in any encoding read, not a workbook
	CodeEmptyFile      = "empty_file"      // no header row
	CodeMalformedCSV   = "malformed_csv"   // a quote out of place, a row past MaxRowBytes
	CodeXLSXTooLarge   = "xlsx_too_large"  // past MaxXLSXRows, MaxXLSXCols or MaxXLSXBytes
	CodeUnknownSheet   = "unknown_sheet"
	CodeUnknownField   = "unknown_field"   // an explicit map names a field the entity lacks
	CodeDuplicateField = "duplicate_field" // an explicit map fills one field from two columns
	CodeBadOption      = "bad_option"      // a ReadOptions value not understood
)

// Limits of what OpenTable reads; variables so that tests can lower them.
var (
	MaxRowBytes  = 16 << 20  // one CSV row, decoded
	MaxXLSXRows  = 2_000_000 // rows of a sheet
	MaxXLSXCols  = 500       // columns of a sheet
	MaxXLSXBytes = int64(2 << 30)
)

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// OpenTable opens a spreadsheet (size bytes of r, named name) for reading
// row by row. The format comes from o, else the content (a zip is a
// workbook), else the name; a CSV's encoding and delimiter are detected
// unless o says. Errors are *FileError.
func OpenTable(r io.ReaderAt, size int64, name string, o ReadOptions) (Table, error) {
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	format := strings.ToLower(strings.TrimSpace(o.Format))
	if format == "" {
		switch {
		case bytes.HasPrefix(head, zipMagic):
			format = "xlsx"
		case bytes.HasPrefix(head, oleMagic):
			return nil, unreadable("an old Excel .xls (or a password-protected) workbook: save it as .xlsx or CSV")
		case strings.EqualFold(path.Ext(name), ".xlsx"):
			format = "xlsx"
		default:
			format = "csv"
		}
	}
	switch format {
	case "xlsx":
		if !bytes.HasPrefix(head, zipMagic) {
			return nil, unreadable("the file is not an .xlsx workbook")
		}
		return openXLSX(r, size, o)
	case "csv":
		return openCSV(r, size, o)
	}
	return nil, &FileError{Code: CodeBadOption, Reason: fmt.Sprintf("unknown format %q: csv or xlsx", o.Format)}
}

// csvTable reads CSV records through the file's decoder.
type csvTable struct {
	cr     *csv.Reader
	guard  *rowGuard
	header []string
	row    int
	// Encoding and Delimiter say how the file was read.
	Encoding  string
	Delimiter rune
}

func openCSV(r io.ReaderAt, size int64, o ReadOptions) (*csvTable, error) {
	if size == 0 {
		return nil, &FileError{Code: CodeEmptyFile, Reason: "the file is empty: the first row must name the columns"}
	}
	enc, skip := "", int64(0)
	if o.Encoding != "" {
		if enc = normEncoding(o.Encoding); enc == "" {
			return nil, &FileError{Code: CodeBadOption, Reason: fmt.Sprintf("unknown encoding %q: utf-8, gb18030 (gbk) or utf-16", o.Encoding)}
		}
		if enc == EncUTF8 {
			b := make([]byte, 3)
			if n, _ := r.ReadAt(b, 0); n == 3 && bytes.Equal(b, bomUTF8) {
				skip = 3
			}
		}
	} else {
		var err error
		if enc, skip, err = detectEncoding(r, size); err != nil {
			return nil, err
		}
	}
	var src io.Reader = io.NewSectionReader(r, skip, size-skip)
	if d := decoder(enc); d != nil {
		src = d.Reader(src)
	}
	br := bufio.NewReaderSize(src, 64<<10)
	delim := o.Delimiter
	switch delim {
	case 0:
		peek, _ := br.Peek(64 << 10)
		delim = sniffDelimiter(peek)
	case ',', ';', '\t':
	default:
		return nil, &FileError{Code: CodeBadOption, Reason: fmt.Sprintf("unknown delimiter %q: comma, semicolon or tab", delim)}
	}
	g := &rowGuard{r: br}
	cr := csv.NewReader(g)
	cr.Comma = delim
	cr.LazyQuotes = false
	cr.FieldsPerRecord = -1 // a ragged row comes back; the coercer reports it
	t := &csvTable{cr: cr, guard: g, Encoding: enc, Delimiter: delim}
	h, err := t.read()
	if err == io.EOF {
		return nil, &FileError{Code: CodeEmptyFile, Reason: "the file has no rows: the first row must name the columns"}
	}
	if err != nil {
		return nil, err
	}
	if len(h) > 0 {
		h[0] = strings.TrimPrefix(h[0], "\uFEFF")
	}
	t.header = h
	return t, nil
}

func (t *csvTable) Header() []string { return t.header }

func (t *csvTable) read() ([]string, error) {
	t.guard.n = 0
	rec, err := t.cr.Read()
	if err == nil || err == io.EOF {
		t.row++
		return rec, err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, &FileError{Code: CodeMalformedCSV, Row: t.row + 1, Reason: fmt.Sprintf("line %d: %v (a field with a quote must be quoted whole, its quotes doubled)", pe.Line, pe.Err)}
	}
	var fe *FileError
	if errors.As(err, &fe) {
		fe.Row = t.row + 1
		return nil, fe
	}
	return nil, unreadable("the file cannot be read: " + err.Error())
}

// Next returns the next row that has a non-blank cell (blank rows are
// skipped; row numbers count them).
func (t *csvTable) Next() ([]string, int, error) { return nextFilled(t.read, &t.row) }

func (t *csvTable) Close() error { return nil }

// nextFilled reads rows with read until one has a non-blank cell; row is
// the reader's row count.
func nextFilled(read func() ([]string, error), row *int) ([]string, int, error) {
	for {
		cells, err := read()
		if err != nil {
			return nil, *row, err
		}
		if !blankRow(cells) {
			return cells, *row, nil
		}
	}
}

func blankRow(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// rowGuard fails a read once one row (n, reset per row) passes MaxRowBytes:
// a file with no line break or an unclosed quote is not read whole into
// memory.
type rowGuard struct {
	r io.Reader
	n int
}

func (g *rowGuard) Read(p []byte) (int, error) {
	if g.n > MaxRowBytes {
		return 0, &FileError{Code: CodeMalformedCSV, Reason: fmt.Sprintf("a row longer than %d MB (an unclosed quote?)", MaxRowBytes>>20)}
	}
	n, err := g.r.Read(p)
	g.n += n
	return n, err
}

// sniffDelimiter picks the delimiter among , ; and tab from the first
// lines of text (quoted parts ignored): the one each line has the same
// number of, most of; a comma when none says.
func sniffDelimiter(text []byte) rune {
	cands := []rune{',', ';', '\t'}
	var lines []map[rune]int
	cur := map[rune]int{}
	inQuote := false
	for i, ch := range string(text) {
		switch {
		case ch == '"':
			inQuote = !inQuote
		case inQuote:
		case ch == '\n' || ch == '\r':
			if ch == '\r' && i+1 < len(text) && text[i+1] == '\n' {
				continue
			}
			lines = append(lines, cur)
			cur = map[rune]int{}
			if len(lines) == 20 {
				goto score
			}
		default:
			cur[ch]++
		}
	}
	if len(text) < 64<<10 && len(cur) > 0 { // the whole file: its last line counts
		lines = append(lines, cur)
	}
score:
	if len(lines) == 0 {
		return ','
	}
	best, bestScore := ',', -1
	for _, c := range cands {
		first := lines[0][c]
		if first == 0 {
			continue
		}
		same := 0
		for _, l := range lines {
			if l[c] == first {
				same++
			}
		}
		// Consistency first, then how many columns it makes.
		score := same*1000 + first
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

// TableInfo says how a table was read, for a preview.
type TableInfo struct {
	Format    string `json:"format"`              // csv or xlsx
	Encoding  string `json:"encoding,omitempty"`  // csv
	Delimiter string `json:"delimiter,omitempty"` // csv: ",", ";" or "\t"
	Sheet     string `json:"sheet,omitempty"`     // xlsx
}

// Describe returns how t (from OpenTable) was read.
func Describe(t Table) TableInfo {
	switch x := t.(type) {
	case *csvTable:
		return TableInfo{Format: "csv", Encoding: x.Encoding, Delimiter: string(x.Delimiter)}
	case *xlsxTable:
		return TableInfo{Format: "xlsx", Sheet: x.Sheet}
	}
	return TableInfo{}
}
