package bulk

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// readAll opens data and returns its header and rows (cells and row numbers).
func readAll(t *testing.T, data []byte, name string, o ReadOptions) (Table, []string, [][]string, []int) {
	t.Helper()
	tb, err := OpenTable(bytes.NewReader(data), int64(len(data)), name, o)
	if err != nil {
		t.Fatalf("OpenTable: %v", err)
	}
	var rows [][]string
	var nums []int
	for {
		cells, n, err := tb.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		rows = append(rows, cells)
		nums = append(nums, n)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	return tb, tb.Header(), rows, nums
}

func fileErr(t *testing.T, err error, code string) *FileError {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("want a FileError %s, got %v", code, err)
	}
	return fe
}

func TestReadCSVQuirks(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("名称,金额\n华为技术有限公司,\"1,234.50\"\n")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, in string
		enc      string
		delim    string
		header   []string
		rows     [][]string
		nums     []int
	}{
		{"utf8", "name,amount\nAcme,12\n", EncUTF8, ",", []string{"name", "amount"}, [][]string{{"Acme", "12"}}, []int{2}},
		{"bom", "\uFEFFname,amount\n阿里巴巴,12\n", EncUTF8, ",", []string{"name", "amount"}, [][]string{{"阿里巴巴", "12"}}, []int{2}},
		{"gbk", gbk, EncGB18030, ",", []string{"名称", "金额"}, [][]string{{"华为技术有限公司", "1,234.50"}}, []int{2}},
		{"semicolon", "name;amount\n\"a;b\";1,5\nc;2\n", EncUTF8, ";", []string{"name", "amount"}, [][]string{{"a;b", "1,5"}, {"c", "2"}}, []int{2, 3}},
		{"tab", "name\tamount\r\nx, y\t3\r\n", EncUTF8, "\t", []string{"name", "amount"}, [][]string{{"x, y", "3"}}, []int{2}},
		{"quoted newline", "name,notes\n\"a\",\"line 1\nline 2, still\"\nb,c\n", EncUTF8, ",", []string{"name", "notes"}, [][]string{{"a", "line 1\nline 2, still"}, {"b", "c"}}, []int{2, 3}},
		{"ragged and blank rows", "a,b\n1,2,3\n,\n4\n", EncUTF8, ",", []string{"a", "b"}, [][]string{{"1", "2", "3"}, {"4"}}, []int{2, 4}},
		{"no final newline", "a\n1", EncUTF8, ",", []string{"a"}, [][]string{{"1"}}, []int{2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tb, h, rows, nums := readAll(t, []byte(c.in), "x.csv", ReadOptions{})
			info := Describe(tb)
			if info.Format != "csv" || info.Encoding != c.enc || info.Delimiter != c.delim {
				t.Errorf("read as %+v", info)
			}
			if !reflect.DeepEqual(h, c.header) || !reflect.DeepEqual(rows, c.rows) || !reflect.DeepEqual(nums, c.nums) {
				t.Errorf("got %q %q %v", h, rows, nums)
			}
		})
	}
}

func TestReadCSVStatedOptions(t *testing.T) {
	gbk, _ := simplifiedchinese.GBK.NewEncoder().String("名称|x\n")
	_, h, _, _ := readAll(t, []byte(gbk), "x.txt", ReadOptions{Format: "csv", Encoding: "gbk", Delimiter: ','})
	if !reflect.DeepEqual(h, []string{"名称|x"}) {
		t.Errorf("header %q", h)
	}
	for _, o := range []ReadOptions{{Encoding: "latin9"}, {Delimiter: '|'}, {Format: "ods"}} {
		_, err := OpenTable(strings.NewReader("a\n"), 2, "x.csv", o)
		fileErr(t, err, CodeBadOption)
	}
}

func TestReadBadFiles(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0xff, 0x00, 0x81}, 100)...)
	noNUL := bytes.Repeat([]byte{0x80, 0xff, 0x81, 0xfe}, 50) // invalid in UTF-8 and in GB18030
	cases := []struct {
		name string
		data []byte
		code string
	}{
		{"binary named csv", png, CodeUnreadable},
		{"invalid everywhere", noNUL, CodeUnreadable},
		{"utf8 bom then junk", append([]byte("\uFEFFa,b\n"), 0xff, 0xfe, 0x80), CodeUnreadable},
		{"empty", nil, CodeEmptyFile},
		{"blank", []byte("\n\n"), CodeEmptyFile},
		{"xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), CodeUnreadable},
		{"xlsx name not zip", []byte("a,b\n"), CodeUnreadable},
		{"zip not xlsx", zipOf(t, map[string]string{"readme.txt": "hi"}), CodeUnreadable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "data.csv"
			if c.name == "xlsx name not zip" {
				name = "data.xlsx"
			}
			_, err := OpenTable(bytes.NewReader(c.data), int64(len(c.data)), name, ReadOptions{})
			if c.name == "xlsx name not zip" && err == nil {
				// a CSV named .xlsx: the name decides the format only
				// when the content does not
				t.Fatal("a text file named .xlsx was read")
			}
			fileErr(t, err, c.code)
		})
	}
}

func TestReadCSVMalformed(t *testing.T) {
	tb, err := OpenTable(strings.NewReader("a,b\n1,2\nx \"y\" z,3\n"), 22, "x.csv", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tb.Next(); err != nil {
		t.Fatal(err)
	}
	_, _, err = tb.Next()
	fe := fileErr(t, err, CodeMalformedCSV)
	if fe.Row != 3 {
		t.Errorf("row %d", fe.Row)
	}
	old := MaxRowBytes
	MaxRowBytes = 1 << 10
	defer func() { MaxRowBytes = old }()
	long := "a\n\"" + strings.Repeat("x", 200<<10)
	tb, err = OpenTable(strings.NewReader(long), int64(len(long)), "x.csv", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = tb.Next()
	fileErr(t, err, CodeMalformedCSV)
}

func TestSniffDelimiter(t *testing.T) {
	for in, want := range map[string]rune{
		"a,b,c\n1,2,3\n":                 ',',
		"a;b;c\n1,5;2,5;3\n":             ';',
		"a\tb\n\"x;y;z\"\t2\n":           '\t',
		"\"a,b\";c\n\"1,2,3\";4\n":       ';',
		"single\ncolumn\n":               ',',
		"name,note\n\"x;\ny;\nz\",1\n2,": ',',
	} {
		if got := sniffDelimiter([]byte(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestReadUTF16(t *testing.T) {
	// Excel's "Unicode text": UTF-16LE with a BOM, tab separated.
	s := "名称\t金额\r\nAcme\t5\r\n"
	var b bytes.Buffer
	b.Write([]byte{0xFF, 0xFE})
	for _, r := range s {
		b.WriteByte(byte(r))
		b.WriteByte(byte(r >> 8))
	}
	tb, h, rows, _ := readAll(t, b.Bytes(), "x.txt", ReadOptions{})
	if Describe(tb).Encoding != EncUTF16 || !reflect.DeepEqual(h, []string{"名称", "金额"}) || !reflect.DeepEqual(rows, [][]string{{"Acme", "5"}}) {
		t.Errorf("%+v %q %q", Describe(tb), h, rows)
	}
}

func TestReadXLSX(t *testing.T) {
	f := excelize.NewFile()
	sh := f.GetSheetName(0)
	f.SetSheetRow(sh, "A1", &[]any{"name", "amount", "due", "at", "ok"})
	f.SetSheetRow(sh, "A2", &[]any{"Acme", 1234.5, 46086, 46086.6041666667, true})
	date, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	f.SetCellStyle(sh, "C2", "D2", date)
	f.SetSheetRow(sh, "A4", &[]any{"华为", -3})
	f.NewSheet("Other")
	f.SetCellStr("Other", "A1", "x")
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	tb, h, rows, nums := readAll(t, buf.Bytes(), "upload.bin", ReadOptions{})
	if Describe(tb).Format != "xlsx" || Describe(tb).Sheet != sh {
		t.Errorf("%+v", Describe(tb))
	}
	if !reflect.DeepEqual(h, []string{"name", "amount", "due", "at", "ok"}) {
		t.Errorf("header %q", h)
	}
	// the short row is padded to the header (a sheet stores no trailing empty cells)
	want := [][]string{{"Acme", "1234.5", "46086", "46086.6041666667", "1"}, {"华为", "-3", "", "", ""}}
	if !reflect.DeepEqual(rows, want) || !reflect.DeepEqual(nums, []int{2, 4}) {
		t.Errorf("rows %q %v", rows, nums)
	}
	_, h, _, _ = readAll(t, buf.Bytes(), "x.xlsx", ReadOptions{Sheet: "Other"})
	if !reflect.DeepEqual(h, []string{"x"}) {
		t.Errorf("other sheet %q", h)
	}
	_, err := OpenTable(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "x.xlsx", ReadOptions{Sheet: "Nope"})
	fileErr(t, err, CodeUnknownSheet)
}

// zipOf builds a zip archive of name → content.
func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for name, content := range files {
		fw, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, content)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// minimalXLSX is a workbook of one sheet whose XML is sheet.
func minimalXLSX(t *testing.T, sheet string) []byte {
	return zipOf(t, map[string]string{
		"[Content_Types].xml":        `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`,
		"_rels/.rels":                `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"xl/workbook.xml":            `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml":   sheet,
	})
}

func sheetXML(dimension string, rows ...string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	if dimension != "" {
		fmt.Fprintf(&b, `<dimension ref="%s"/>`, dimension)
	}
	b.WriteString("<sheetData>")
	for _, r := range rows {
		b.WriteString(r)
	}
	b.WriteString("</sheetData></worksheet>")
	return b.String()
}

func TestReadXLSXBombs(t *testing.T) {
	row := func(n int, cells ...string) string {
		var b strings.Builder
		fmt.Fprintf(&b, `<row r="%d">`, n)
		for i, c := range cells {
			col, _ := excelize.ColumnNumberToName(i + 1)
			fmt.Fprintf(&b, `<c r="%s%d" t="inlineStr"><is><t>%s</t></is></c>`, col, n, c)
		}
		b.WriteString("</row>")
		return b.String()
	}
	// A tiny file that declares the largest sheet Excel has.
	bomb := minimalXLSX(t, sheetXML("A1:XFD1048576", row(1, "a")))
	if len(bomb) > 4096 {
		t.Fatalf("the bomb is %d bytes", len(bomb))
	}
	old := MaxXLSXRows
	MaxXLSXRows = 1_000_000
	_, err := OpenTable(bytes.NewReader(bomb), int64(len(bomb)), "x.xlsx", ReadOptions{})
	MaxXLSXRows = old
	fileErr(t, err, CodeXLSXTooLarge)
	wide := minimalXLSX(t, sheetXML("A1:ZZ2", row(1, "a")))
	_, err = OpenTable(bytes.NewReader(wide), int64(len(wide)), "x.xlsx", ReadOptions{})
	fileErr(t, err, CodeXLSXTooLarge)

	// A zip that unpacks to more than the limit (lowered for the test).
	oldB := MaxXLSXBytes
	MaxXLSXBytes = 64 << 10
	big := minimalXLSX(t, sheetXML("A1:A2", row(1, "a"), `<row r="2"><c r="A2" t="inlineStr"><is><t>`+strings.Repeat("0", 100<<10)+`</t></is></c></row>`))
	_, err = OpenTable(bytes.NewReader(big), int64(len(big)), "x.xlsx", ReadOptions{})
	MaxXLSXBytes = oldB
	fileErr(t, err, CodeXLSXTooLarge)

	// No dimension: the rows are counted while reading.
	MaxXLSXRows = 3
	defer func() { MaxXLSXRows = old }()
	var rows []string
	for i := 1; i <= 6; i++ {
		rows = append(rows, row(i, "v"))
	}
	liar := minimalXLSX(t, sheetXML("", rows...))
	tb, err := OpenTable(bytes.NewReader(liar), int64(len(liar)), "x.xlsx", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tb.Close()
	for {
		_, _, err = tb.Next()
		if err != nil {
			break
		}
	}
	fileErr(t, err, CodeXLSXTooLarge)
	// Nor a row past the columns' limit.
	cells := make([]string, MaxXLSXCols+1)
	for i := range cells {
		cells[i] = "x"
	}
	wideRow := minimalXLSX(t, sheetXML("", row(1, cells...)))
	_, err = OpenTable(bytes.NewReader(wideRow), int64(len(wideRow)), "x.xlsx", ReadOptions{})
	fileErr(t, err, CodeXLSXTooLarge)
}

// xlsxWithStrings is minimalXLSX with a shared strings part.
func xlsxWithStrings(t *testing.T, sheet, sst string) []byte {
	return zipOf(t, map[string]string{
		"xl/workbook.xml":            `<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet1.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml":   sheet,
		"xl/sharedStrings.xml":       sst,
	})
}

func TestReadXLSXCellKinds(t *testing.T) {
	sst := `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="5" uniqueCount="5">` +
		`<si><t>name</t></si><si><t>amount</t></si><si><t xml:space="preserve">ok </t></si>` +
		`<si><r><rPr><b/></rPr><t>华为</t></r><r><t xml:space="preserve"> 技术</t></r><rPh sb="0" eb="1"><t>ホア</t></rPh></si>` +
		`<si><t>a &amp; &lt;b&gt;</t></si></sst>`
	// No <dimension>; row 3 left out; B2 left out (a missing cell in the
	// middle); inline strings (plain and rich); booleans; a formula's
	// cached string and an error value; a cell with no r.
	sheet := sheetXML("",
		`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="inlineStr"><is><t>note</t></is></c></row>`,
		`<row r="2"><c r="A2" t="s" s="1"><v>3</v></c><c r="C2" t="b"><v>1</v></c><c r="D2" t="inlineStr"><is><r><t>x</t></r><r><rPr><i/></rPr><t>y</t></r></is></c></row>`,
		`<row r="4"><c r="A4" t="s"><v>4</v></c><c r="B4"><v>12.5</v></c><c r="C4" t="b"><v>0</v></c><c r="D4" t="str"><f>A4&amp;""</f><v>f</v></c></row>`,
		`<row r="5"><c t="e"><v>#DIV/0!</v></c><c><v>7</v></c></row>`,
		`<row r="6"><c r="A6" t="inlineStr"><is><t></t></is></c></row>`,
	)
	for _, limit := range []int64{16 << 20, 0} { // in memory, then the temporary file
		t.Run(fmt.Sprint("in memory up to ", limit), func(t *testing.T) {
			old := sharedStringsInMemory
			sharedStringsInMemory = limit
			defer func() { sharedStringsInMemory = old }()
			data := xlsxWithStrings(t, sheet, sst)
			tb, h, rows, nums := readAll(t, data, "x.xlsx", ReadOptions{})
			if x := tb.(*xlsxTable); (x.ss.off != nil) != (limit == 0) || x.ss.file != nil {
				t.Errorf("shared strings: temp file %v, offsets %d", x.ss.file != nil, len(x.ss.off))
			}
			if !reflect.DeepEqual(h, []string{"name", "amount", "ok ", "note"}) {
				t.Errorf("header %q", h)
			}
			want := [][]string{{"华为 技术", "", "1", "xy"}, {"a & <b>", "12.5", "0", "f"}, {"#DIV/0!", "7", "", ""}}
			if !reflect.DeepEqual(rows, want) || !reflect.DeepEqual(nums, []int{2, 4, 5}) {
				t.Errorf("rows %q %v", rows, nums)
			}
		})
	}
	// A shared string index past the list, a sheet cut short.
	for _, bad := range []string{
		sheetXML("", `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`, `<row r="2"><c r="A2" t="s"><v>99</v></c></row>`),
		sheetXML("", `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`, `<row r="2"><c r="A2" t="s"><v>x</v></c></row>`),
		strings.TrimSuffix(sheetXML("", `<row r="1"><c r="A1" t="s"><v>0</v></c></row>`), "</sheetData></worksheet>") + `<row r="2"><c r="A2"><v>1`,
	} {
		data := xlsxWithStrings(t, bad, sst)
		tb, err := OpenTable(bytes.NewReader(data), int64(len(data)), "x.xlsx", ReadOptions{})
		if err == nil {
			_, _, err = tb.Next()
			tb.Close()
		}
		fileErr(t, err, CodeUnreadable)
	}
}

// The temporary file of the shared strings reads many strings back in
// order and out of it (past its cache), and is gone once the table is
// closed.
func TestReadXLSXSharedStringsFile(t *testing.T) {
	old := sharedStringsInMemory
	sharedStringsInMemory = 1 << 10
	defer func() { sharedStringsInMemory = old }()
	const n = 5000
	var sst, sheet strings.Builder
	sst.WriteString(`<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sst, `<si><t>s%d 名</t></si>`, i)
	}
	sst.WriteString(`</sst>`)
	rows := []string{`<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>`}
	for r := 2; r <= 2000; r++ {
		rows = append(rows, fmt.Sprintf(`<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d" t="s"><v>%d</v></c></row>`, r, r, (r*7919)%n, r, n-1-r))
	}
	sheet.WriteString(sheetXML("A1:B2000", rows...))
	data := xlsxWithStrings(t, sheet.String(), sst.String())
	tb, h, got, _ := readAll(t, data, "x.xlsx", ReadOptions{})
	x := tb.(*xlsxTable)
	if len(x.ss.off) != n+1 {
		t.Fatalf("%d offsets: the strings were not written to the file", len(x.ss.off))
	}
	if !reflect.DeepEqual(h, []string{"s0 名", "s1 名"}) || len(got) != 1999 {
		t.Fatalf("header %q, %d rows", h, len(got))
	}
	for i, row := range got {
		r := i + 2
		if row[0] != fmt.Sprintf("s%d 名", (r*7919)%n) || row[1] != fmt.Sprintf("s%d 名", n-1-r) {
			t.Fatalf("row %d: %q", r, row)
		}
	}
}
