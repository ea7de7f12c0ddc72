package bulk

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// The big-file measurements: FORMA_BULK_BIG=DIR makes (once) a 1,000,000
// row CSV and a 200,000 row XLSX in DIR, then reads and coerces each in a
// child process of its own and reports its peak resident memory (VmHWM)
// and time. README: Benchmarks › Import and export.
const envBig = "FORMA_BULK_BIG"

const envChild = "FORMA_BULK_CHILD"

func TestBigFilesPeakRSS(t *testing.T) {
	dir := os.Getenv(envBig)
	if dir == "" {
		t.Skipf("%s=DIR not set: the big-file measurements are skipped", envBig)
	}
	csvPath := filepath.Join(dir, "deals-1m.csv")
	xlsxRows := 200_000
	if n, err := strconv.Atoi(os.Getenv("FORMA_BULK_XLSX_ROWS")); err == nil && n > 0 {
		xlsxRows = n // to see that memory does not grow with the rows
	}
	xlsxPath := filepath.Join(dir, fmt.Sprintf("deals-%dk.xlsx", xlsxRows/1000))
	if _, err := os.Stat(csvPath); err != nil {
		makeBigCSV(t, csvPath, 1_000_000)
	}
	if _, err := os.Stat(xlsxPath); err != nil {
		makeBigXLSX(t, xlsxPath, xlsxRows)
	}
	for _, p := range []string{"", csvPath, xlsxPath} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBigFilesChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChild+"="+cmp(p, "-"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", p, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, "RESULT ") {
				st, _ := os.Stat(p)
				size := int64(0)
				if st != nil {
					size = st.Size()
				}
				name := "baseline (the test binary, no file)"
				if p != "" {
					name = filepath.Base(p)
				}
				t.Logf("%s (%d MB): %s", name, size>>20, strings.TrimPrefix(line, "RESULT "))
			}
		}
	}
}

func cmp(a, b string) string {
	if a != "" && a != "-" {
		return a
	}
	return b
}

// TestBigFilesChild reads and coerces one file (the parent's child).
func TestBigFilesChild(t *testing.T) {
	p := os.Getenv(envChild)
	if p == "" {
		t.Skip("run by TestBigFilesPeakRSS")
	}
	start := time.Now()
	rows := 0
	if p != "-" {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		tb, err := OpenTable(f, st.Size(), p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		app := loadApp(t)
		e := app.Entity("deal")
		m, err := MapColumns(app, e, tb.Header(), nil)
		if err != nil {
			t.Fatal(err)
		}
		c := NewCoercer(app, e, m, CoerceOptions{})
		batch, nums := make([][]string, 0, 1000), make([]int, 0, 1000)
		flush := func() {
			_, probs := c.Rows(context.Background(), batch, nums)
			if len(probs) > 0 {
				t.Fatalf("problems: %+v", probs[0])
			}
			batch, nums = batch[:0], nums[:0]
		}
		for {
			cells, n, err := tb.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			rows++
			batch, nums = append(batch, cells), append(nums, n)
			if len(batch) == cap(batch) {
				flush()
			}
		}
		flush()
		tb.Close()
	}
	took := time.Since(start)
	fmt.Printf("RESULT rows=%d peak_rss=%d MB time=%v rows/s=%.0f\n", rows, vmHWM()>>10, took.Round(time.Millisecond), float64(rows)/took.Seconds())
}

// vmHWM is the process's peak resident set in kB (Linux).
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

var bigHeader = []string{"title", "数量", "amount", "won", "due", "at", "stage", "tags", "email"}

func bigRow(i int) []string {
	return []string{fmt.Sprintf("D%d, \"q\"", i), strconv.Itoa(i % 1000), fmt.Sprintf("¥%d,%03d.50", (i/1000)%999+1, i%1000), []string{"是", "否"}[i%2],
		fmt.Sprintf("2026/%d/%d", i%12+1, i%28+1), fmt.Sprintf("2026-03-05 %02d:%02d", i%24, i%60), []string{"lead", "赢单"}[i%2], "a、b", fmt.Sprintf("u%d@example.com", i)}
}

func makeBigCSV(t *testing.T, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("\uFEFF" + strings.Join(bigHeader, ",") + "\n")
	for i := 1; i <= n; i++ {
		r := bigRow(i)
		r[0] = `"` + strings.ReplaceAll(r[0], `"`, `""`) + `"`
		r[2] = `"` + r[2] + `"`
		w.WriteString(strings.Join(r, ",") + "\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func makeBigXLSX(t *testing.T, path string, n int) {
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	row := make([]any, len(bigHeader))
	for i, h := range bigHeader {
		row[i] = h
	}
	sw.SetRow("A1", row)
	date, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	for i := 1; i <= n; i++ {
		r := bigRow(i)
		row := []any{r[0], i % 1000, float64(i) + 0.5, i%2 == 0, excelize.Cell{StyleID: date, Value: time.Date(2026, time.Month(i%12+1), i%28+1, 0, 0, 0, 0, time.UTC)}, r[5], r[6], r[7], r[8]}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, row); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveAs(path); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkCoerce coerces the big files' rows in batches of 1000.
func BenchmarkCoerce(b *testing.B) {
	app := loadApp(b)
	e := app.Entity("deal")
	m, err := MapColumns(app, e, bigHeader, nil)
	if err != nil {
		b.Fatal(err)
	}
	c := NewCoercer(app, e, m, CoerceOptions{})
	rows := make([][]string, 1000)
	for i := range rows {
		rows[i] = bigRow(i + 1)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, probs := c.Rows(context.Background(), rows, nil); len(probs) > 0 {
			b.Fatal(probs[0])
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/b.Elapsed().Seconds(), "rows/s")
}
