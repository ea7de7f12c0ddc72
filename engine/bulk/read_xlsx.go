package bulk

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// xlsxTable reads one sheet token by token: the sheet's XML is decoded
// as it is unzipped (nothing of it is held but the current row), shared
// strings come from a sharedStrings (in memory when small, else a
// temporary file), cells come raw (a date is its serial number, a number
// as stored), so the coercer reads what the cell holds rather than how it
// is shown.
type xlsxTable struct {
	rc     io.ReadCloser
	dec    *xml.Decoder
	ss     *sharedStrings
	header []string
	row    int
	done   bool
	Sheet  string
}

// openXLSX checks the workbook against bombs before a row is read: the
// zip's declared uncompressed sizes (MaxXLSXBytes) and the sheet's
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
	ss, err := loadSharedStrings(zr)
	if err != nil {
		return nil, err
	}
	rc, err := openEntry(zr, sheetPath)
	if err != nil {
		ss.Close()
		return nil, err
	}
	dec := xml.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	t := &xlsxTable{rc: rc, dec: dec, ss: ss, Sheet: sheetName}
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

// read returns the cells of the next <row> of the sheet, t.row set to its
// number (its r attribute: rows the sheet leaves out are blank rows, and
// counted).
func (t *xlsxTable) read() ([]string, error) {
	if t.done {
		return nil, io.EOF
	}
	bad := func(err error) error {
		return &FileError{Code: CodeUnreadable, Row: t.row + 1, Reason: "the sheet cannot be read: " + err.Error()}
	}
	for {
		tok, err := t.dec.Token()
		if err == io.EOF {
			t.done = true
			return nil, io.EOF
		}
		if err != nil {
			return nil, bad(err)
		}
		switch el := tok.(type) {
		case xml.EndElement:
			if el.Name.Local == "sheetData" {
				t.done = true
				return nil, io.EOF
			}
		case xml.StartElement:
			if el.Name.Local != "row" {
				continue
			}
			n := t.row + 1
			if v := attr(el, "r"); v != "" {
				if r, err := strconv.Atoi(v); err == nil && r > t.row {
					n = r
				} else if err != nil && len(v) > 9 {
					n = MaxXLSXRows + 2
				}
			}
			t.row = n
			if t.row > MaxXLSXRows+1 {
				return nil, &FileError{Code: CodeXLSXTooLarge, Row: t.row, Reason: fmt.Sprintf("the sheet has more than %d rows", MaxXLSXRows)}
			}
			cells, err := t.readRow()
			if err != nil {
				var fe *FileError
				if errors.As(err, &fe) {
					return nil, fe
				}
				return nil, &FileError{Code: CodeUnreadable, Row: t.row, Reason: "the row cannot be read: " + err.Error()}
			}
			return cells, nil
		}
	}
}

// readRow reads the cells of the row just started, up to its end: a cell
// goes to its r column (cells the sheet leaves out are ""), or after the
// previous one when it has none.
func (t *xlsxTable) readRow() ([]string, error) {
	var cells []string
	for {
		tok, err := innerToken(t.dec)
		if err != nil {
			return nil, err
		}
		switch el := tok.(type) {
		case xml.EndElement:
			if el.Name.Local == "row" {
				return cells, nil
			}
		case xml.StartElement:
			if el.Name.Local != "c" {
				if err := t.dec.Skip(); err != nil {
					return nil, err
				}
				continue
			}
			col := len(cells) + 1
			if ref := attr(el, "r"); ref != "" {
				if c := refColumn(ref); c > 0 {
					col = c
				}
			}
			if col > MaxXLSXCols {
				return nil, &FileError{Code: CodeXLSXTooLarge, Row: t.row, Reason: fmt.Sprintf("the row has more than %d columns", MaxXLSXCols)}
			}
			v, err := t.readCell(attr(el, "t"))
			if err != nil {
				return nil, err
			}
			for len(cells) < col-1 {
				cells = append(cells, "")
			}
			if col <= len(cells) { // a cell repeated or out of order: the last one wins
				cells[col-1] = v
			} else {
				cells = append(cells, v)
			}
		}
	}
}

// readCell reads the cell just started, of type typ, up to its end: its
// <v> raw (a shared string's index looked up), an inline string's text.
func (t *xlsxTable) readCell(typ string) (string, error) {
	var v string
	var inline strings.Builder
	hasInline := false
	for {
		tok, err := innerToken(t.dec)
		if err != nil {
			return "", err
		}
		switch el := tok.(type) {
		case xml.EndElement:
			if el.Name.Local != "c" {
				continue
			}
			switch {
			case typ == "inlineStr" || hasInline && v == "":
				return inline.String(), nil
			case typ == "s":
				i, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return "", fmt.Errorf("a shared string index %q", v)
				}
				return t.ss.Get(i)
			}
			return v, nil
		case xml.StartElement:
			switch el.Name.Local {
			case "v":
				if v, err = elementText(t.dec); err != nil {
					return "", err
				}
			case "is":
				hasInline = true
				if err := stringItem(t.dec, &inline); err != nil {
					return "", err
				}
			default: // <f>, <extLst>
				if err := t.dec.Skip(); err != nil {
					return "", err
				}
			}
		}
	}
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
	err := t.rc.Close()
	if e := t.ss.Close(); err == nil {
		err = e
	}
	return err
}

func attr(el xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// refColumn is the column number of a cell reference ("AB12" → 28), 0 when
// it has no letters; a column past the sheet's limits is MaxXLSXCols+1.
func refColumn(ref string) int {
	c := 0
	for i := 0; i < len(ref); i++ {
		ch := ref[i] | 0x20
		if ch < 'a' || ch > 'z' {
			break
		}
		c = c*26 + int(ch-'a'+1)
		if c > MaxXLSXCols {
			return MaxXLSXCols + 1
		}
	}
	return c
}

// innerToken is the next token inside an element: the end of the file
// there is an error.
func innerToken(dec *xml.Decoder) (xml.Token, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return tok, err
}

// elementText reads the text of the element just started up to its end
// (text in nested elements included).
func elementText(dec *xml.Decoder) (string, error) {
	var b strings.Builder
	depth := 1
	for depth > 0 {
		tok, err := innerToken(dec)
		if err != nil {
			return "", err
		}
		switch el := tok.(type) {
		case xml.CharData:
			if b.Len()+len(el) > MaxRowBytes {
				return "", fmt.Errorf("a cell longer than %d MB", MaxRowBytes>>20)
			}
			b.Write(el)
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return b.String(), nil
}

// stringItem appends to b the text of the string item just started (<si>
// or <is>) up to its end: its <t>, or its rich text runs' <t> one after
// the other; phonetic runs (<rPh>) are not the text.
func stringItem(dec *xml.Decoder, b *strings.Builder) error {
	depth := 1
	for depth > 0 {
		tok, err := innerToken(dec)
		if err != nil {
			return err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "t":
				s, err := elementText(dec)
				if err != nil {
					return err
				}
				if b.Len()+len(s) > MaxRowBytes {
					return fmt.Errorf("a string longer than %d MB", MaxRowBytes>>20)
				}
				b.WriteString(s)
			case "rPh", "phoneticPr", "rPr":
				if err := dec.Skip(); err != nil {
					return err
				}
			default:
				depth++
			}
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// sharedStringsInMemory is the unpacked size of xl/sharedStrings.xml up to
// which its strings are held in memory; a larger part is written once to
// a temporary file and read back by offset. A variable so that tests can
// lower it.
var sharedStringsInMemory = int64(16 << 20)

// sharedStrings are the workbook's shared strings: in memory (mem), or in
// a temporary file (file) with each string's start offset (8 bytes a
// string) and a small cache of the strings read last.
type sharedStrings struct {
	mem   []string
	file  *os.File
	off   []int64 // string i is file[off[i]:off[i+1]]
	cache [1024]struct {
		i  int
		s  string
		ok bool
	}
}

// loadSharedStrings reads xl/sharedStrings.xml (none: an empty list).
func loadSharedStrings(zr *zip.Reader) (*sharedStrings, error) {
	ss := &sharedStrings{}
	var zf *zip.File
	for _, f := range zr.File {
		if strings.EqualFold(f.Name, "xl/sharedStrings.xml") {
			zf = f
		}
	}
	if zf == nil {
		return ss, nil
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, unreadable("the workbook cannot be read: " + err.Error())
	}
	defer rc.Close()
	var w *bufio.Writer
	if int64(zf.UncompressedSize64) > sharedStringsInMemory {
		if ss.file, err = os.CreateTemp("", "forma-xlsx-strings-*"); err != nil {
			return nil, fmt.Errorf("xlsx shared strings: %w", err)
		}
		os.Remove(ss.file.Name()) // gone from the directory at once where the system allows (Close removes it otherwise)
		w = bufio.NewWriterSize(ss.file, 64<<10)
		ss.off = append(ss.off, 0)
	}
	fail := func(err error) (*sharedStrings, error) {
		ss.Close()
		var fe *FileError
		if errors.As(err, &fe) {
			return nil, fe
		}
		return nil, unreadable("the workbook cannot be read: xl/sharedStrings.xml: " + err.Error())
	}
	dec := xml.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	var b strings.Builder
	pos := int64(0)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		el, ok := tok.(xml.StartElement)
		if !ok || el.Name.Local != "si" {
			continue
		}
		b.Reset()
		if err := stringItem(dec, &b); err != nil {
			return fail(err)
		}
		if w == nil {
			ss.mem = append(ss.mem, b.String())
			continue
		}
		n, err := w.WriteString(b.String())
		if err != nil {
			return fail(fmt.Errorf("writing the shared strings: %w", err))
		}
		pos += int64(n)
		ss.off = append(ss.off, pos)
	}
	if w != nil {
		if err := w.Flush(); err != nil {
			return fail(fmt.Errorf("writing the shared strings: %w", err))
		}
	}
	return ss, nil
}

// Len is the number of shared strings.
func (ss *sharedStrings) Len() int {
	if ss.file != nil {
		return len(ss.off) - 1
	}
	return len(ss.mem)
}

// Get returns shared string i.
func (ss *sharedStrings) Get(i int) (string, error) {
	if i < 0 || i >= ss.Len() {
		return "", fmt.Errorf("no shared string %d (the workbook has %d)", i, ss.Len())
	}
	if ss.file == nil {
		return ss.mem[i], nil
	}
	c := &ss.cache[i%len(ss.cache)]
	if c.ok && c.i == i {
		return c.s, nil
	}
	buf := make([]byte, ss.off[i+1]-ss.off[i])
	if _, err := ss.file.ReadAt(buf, ss.off[i]); err != nil {
		return "", fmt.Errorf("reading the shared strings: %w", err)
	}
	c.i, c.s, c.ok = i, string(buf), true
	return c.s, nil
}

func (ss *sharedStrings) Close() error {
	if ss == nil || ss.file == nil {
		return nil
	}
	err := ss.file.Close()
	os.Remove(ss.file.Name())
	ss.file = nil
	return err
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
