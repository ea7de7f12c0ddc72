package bulk

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxTable reads one sheet with excelize's row iterator: the sheet's XML
// is streamed (excelize keeps a large one in a temporary file), cells come
// raw (a date is its serial number, a number as stored), so the coercer
// reads what the cell holds rather than how it is shown.
type xlsxTable struct {
	f      *excelize.File
	rows   *excelize.Rows
	header []string
	row    int
	Sheet  string
}

// openXLSX checks the workbook against bombs before excelize reads it:
// the zip's declared uncompressed sizes (MaxXLSXBytes) and the sheet's
// declared dimension (MaxXLSXRows × MaxXLSXCols); rows and columns are
// counted again while reading, since a declaration may lie.
func openXLSX(r io.ReaderAt, size int64, o ReadOptions) (*xlsxTable, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, unreadable("the file is not an .xlsx workbook (not a zip archive)")
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
	}
	if total > uint64(MaxXLSXBytes) || len(zr.File) > 10000 {
		return nil, tooLarge(fmt.Sprintf("the workbook unpacks to %d MB: more than %d MB", total>>20, MaxXLSXBytes>>20))
	}
	sheetPath, sheetName, err := findSheet(zr, o.Sheet)
	if err != nil {
		return nil, err
	}
	if err := checkDimension(zr, sheetPath); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(io.NewSectionReader(r, 0, size), excelize.Options{UnzipSizeLimit: MaxXLSXBytes, UnzipXMLSizeLimit: 16 << 20})
	if err != nil {
		return nil, unreadable("the workbook cannot be read: " + err.Error())
	}
	rows, err := f.Rows(sheetName)
	if err != nil {
		f.Close()
		return nil, unreadable("the sheet cannot be read: " + err.Error())
	}
	t := &xlsxTable{f: f, rows: rows, Sheet: sheetName}
	h, err := t.read()
	if err == io.EOF {
		t.Close()
		return nil, &FileError{Code: CodeEmptyFile, Reason: fmt.Sprintf("the sheet %q is empty: its first row must name the columns", sheetName)}
	}
	if err != nil {
		t.Close()
		return nil, err
	}
	t.header = h
	return t, nil
}

func tooLarge(reason string) *FileError {
	return &FileError{Code: CodeXLSXTooLarge, Reason: reason}
}

func (t *xlsxTable) Header() []string { return t.header }

func (t *xlsxTable) read() ([]string, error) {
	if !t.rows.Next() {
		if err := t.rows.Error(); err != nil {
			return nil, &FileError{Code: CodeXLSXTooLarge, Row: t.row + 1, Reason: err.Error()}
		}
		return nil, io.EOF
	}
	t.row++
	if t.row > MaxXLSXRows+1 {
		return nil, &FileError{Code: CodeXLSXTooLarge, Row: t.row, Reason: fmt.Sprintf("the sheet has more than %d rows", MaxXLSXRows)}
	}
	cells, err := t.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, &FileError{Code: CodeUnreadable, Row: t.row, Reason: "the row cannot be read: " + err.Error()}
	}
	if len(cells) > MaxXLSXCols {
		return nil, &FileError{Code: CodeXLSXTooLarge, Row: t.row, Reason: fmt.Sprintf("the row has more than %d columns", MaxXLSXCols)}
	}
	return cells, nil
}

// Next returns the next row that has a non-blank cell, padded to the
// header's width: a sheet stores no trailing empty cells, so a row whose
// last columns are empty is short, not ragged.
func (t *xlsxTable) Next() ([]string, int, error) {
	cells, row, err := nextFilled(t.read, &t.row)
	for err == nil && len(cells) < len(t.header) {
		cells = append(cells, "")
	}
	return cells, row, err
}

func (t *xlsxTable) Close() error {
	if t.rows != nil {
		t.rows.Close()
	}
	return t.f.Close()
}

// findSheet returns the zip path and name of the sheet named want (the
// first sheet when ""), from the workbook and its relationships.
func findSheet(zr *zip.Reader, want string) (string, string, error) {
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			RID  string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := readZipXML(zr, "xl/workbook.xml", &wb); err != nil {
		return "", "", err
	}
	if err := readZipXML(zr, "xl/_rels/workbook.xml.rels", &rels); err != nil {
		return "", "", err
	}
	if len(wb.Sheets) == 0 {
		return "", "", &FileError{Code: CodeEmptyFile, Reason: "the workbook has no sheet"}
	}
	i := 0
	if want != "" {
		i = -1
		for j, s := range wb.Sheets {
			if s.Name == want {
				i = j
			}
		}
		if i < 0 {
			names := make([]string, len(wb.Sheets))
			for j, s := range wb.Sheets {
				names[j] = s.Name
			}
			return "", "", &FileError{Code: CodeUnknownSheet, Reason: fmt.Sprintf("no sheet %q; the workbook has %s", want, strings.Join(names, ", "))}
		}
	}
	for _, r := range rels.Rels {
		if r.ID == wb.Sheets[i].RID {
			p := r.Target
			if strings.HasPrefix(p, "/") {
				p = strings.TrimPrefix(p, "/")
			} else {
				p = path.Join("xl", p)
			}
			return p, wb.Sheets[i].Name, nil
		}
	}
	return "", "", unreadable("the workbook does not say where its sheet is")
}

// readZipXML decodes a small XML part of the workbook (at most 16 MB read).
func readZipXML(zr *zip.Reader, name string, v any) error {
	rc, err := openEntry(zr, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := xml.NewDecoder(io.LimitReader(rc, 16<<20)).Decode(v); err != nil {
		return unreadable("the workbook cannot be read: " + name + ": " + err.Error())
	}
	return nil
}

// openEntry opens the zip entry name of the workbook.
func openEntry(zr *zip.Reader, name string) (io.ReadCloser, error) {
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				return nil, unreadable("the workbook cannot be read: " + err.Error())
			}
			return rc, nil
		}
	}
	return nil, unreadable("the file is a zip archive but not an .xlsx workbook (no " + name + ")")
}

var dimensionRE = regexp.MustCompile(`<(?:\w+:)?dimension\s+ref="([A-Za-z]+)?(\d+)?(?::([A-Za-z]+)(\d+))?"`)

// checkDimension reads the start of the sheet's XML for its declared
// dimension (<dimension ref="A1:XFD1048576"/>) and refuses one past the
// limits before a row is read.
func checkDimension(zr *zip.Reader, sheetPath string) error {
	rc, err := openEntry(zr, sheetPath)
	if err != nil {
		return err
	}
	defer rc.Close()
	head := make([]byte, 8<<10)
	n, _ := io.ReadFull(rc, head)
	head = head[:n]
	if i := bytes.Index(head, []byte("<sheetData")); i >= 0 {
		head = head[:i]
	}
	m := dimensionRE.FindSubmatch(head)
	if m == nil {
		return nil
	}
	col, row := string(m[1]), string(m[2])
	if len(m[3]) > 0 {
		col, row = string(m[3]), string(m[4])
	}
	c, r := 0, 0
	if col != "" {
		var err error
		if c, err = excelize.ColumnNameToNumber(strings.ToUpper(col)); err != nil {
			c = 1 << 30
		}
	}
	if row != "" {
		if len(row) > 9 {
			r = 1 << 30
		} else {
			fmt.Sscan(row, &r)
		}
	}
	if r > MaxXLSXRows+1 || c > MaxXLSXCols {
		return tooLarge(fmt.Sprintf("the sheet declares %d rows × %d columns: at most %d rows × %d columns are read", r, c, MaxXLSXRows, MaxXLSXCols))
	}
	return nil
}
