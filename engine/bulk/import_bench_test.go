package bulk

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// TestImportBenchmark measures imports of FORMA_BENCH_IMPORT rows (e.g.
// 1000000) of one CSV file, each case in a process of its own so that its
// peak RSS (VmHWM) is its own:
//
//   - copy: PostgreSQL's COPY of the file into an equivalent plain table;
//   - pg-fast: the import into PostgreSQL on the COPY path (account);
//   - pg-rows: the import into PostgreSQL on the per-row path (lead: a
//     validation, so every row is checked and written on its own, history
//     on);
//   - sqlite: the import into SQLite (per-row path).
//
// It prints one line per case and a table for the README:
//
//	FORMA_BENCH_IMPORT=1000000 FORMA_TEST_POSTGRES=… go test -run TestImportBenchmark -v -timeout 2h ./engine/bulk
func TestImportBenchmark(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FORMA_BENCH_IMPORT"))
	if n <= 0 {
		t.Skip("FORMA_BENCH_IMPORT not set")
	}
	if c := os.Getenv("FORMA_BENCH_IMPORT_CASE"); c != "" {
		benchCase(t, c, os.Getenv("FORMA_BENCH_IMPORT_FILE"))
		return
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "rows.csv")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("name,score\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "row %07d,%d\n", i, i%1000)
	}
	w.Flush()
	f.Close()
	st, _ := os.Stat(file)
	t.Logf("%d rows, %.1f MB", n, float64(st.Size())/(1<<20))
	cases := []string{"sqlite"}
	if os.Getenv(storetest.EnvPostgres) != "" {
		cases = []string{"copy", "pg-fast", "pg-rows", "sqlite"}
	}
	if only := os.Getenv("FORMA_BENCH_IMPORT_ONLY"); only != "" {
		cases = strings.Split(only, ",")
	}
	results := map[string]benchResult{}
	for _, c := range cases {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestImportBenchmark$", "-test.v", "-test.timeout", "2h")
		cmd.Env = append(os.Environ(), "FORMA_BENCH_IMPORT_CASE="+c, "FORMA_BENCH_IMPORT_FILE="+file)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if _, js, ok := strings.Cut(line, "BENCH "); ok {
				var r benchResult
				if err := json.Unmarshal([]byte(js), &r); err != nil {
					t.Fatal(err)
				}
				results[c] = r
				t.Logf("%-8s %8d rows %7.1fs %9.0f rows/s  peak RSS %5d MB", c, r.Rows, r.Seconds, float64(r.Rows)/r.Seconds, r.PeakKB>>10)
			}
		}
	}
	if cp, ok := results["copy"]; ok {
		for _, c := range []string{"pg-fast", "pg-rows"} {
			if r, ok := results[c]; ok {
				t.Logf("%s / COPY: %.2f×", c, (float64(r.Rows)/r.Seconds)/(float64(cp.Rows)/cp.Seconds))
			}
		}
	}
}

type benchResult struct {
	Rows    int     `json:"rows"`
	Seconds float64 `json:"seconds"`
	PeakKB  int     `json:"peakKB"`
}

// peakKB is this process's peak resident set (VmHWM), in KB.
func peakKB() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

func benchCase(t *testing.T, c, file string) {
	var db *store.DB
	if c == "sqlite" {
		db = storetest.SQLite(t)
	} else {
		db = storetest.Postgres(t)
	}
	ctx := context.Background()
	fx := newImportFixture(t, db)
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	st, _ := in.Stat()
	start := time.Now()
	rows := 0
	switch c {
	case "copy":
		if _, err := db.SQL.Exec(`CREATE TABLE plain (id text PRIMARY KEY DEFAULT md5(random()::text), name text NOT NULL UNIQUE, score bigint)`); err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(ctx, withoutPoolParams(db.URL))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		start = time.Now()
		tag, err := conn.PgConn().CopyFrom(ctx, in, `COPY plain (name, score) FROM STDIN WITH (FORMAT csv, HEADER true)`)
		if err != nil {
			t.Fatal(err)
		}
		rows = int(tag.RowsAffected())
	default:
		entity := "lead"
		if c == "pg-fast" {
			entity = "account"
			// account has no score: the same two columns, as name and phone
		}
		o := ImportOptions{}
		if entity == "account" {
			o.Map = map[string]string{"score": "phone"}
		}
		res, err := fx.s.Import(ctx, Run{Caller: importAdmin, App: "crm", Entity: entity, File: in, Size: st.Size(), Name: "rows.csv", Options: o})
		if err != nil {
			t.Fatal(err)
		}
		if res.Bad != 0 || !res.Committed {
			t.Fatalf("%+v", res)
		}
		if want := map[string]string{"pg-fast": "copy", "pg-rows": "rows", "sqlite": "rows"}[c]; res.Path != want {
			t.Fatalf("path %s, want %s", res.Path, want)
		}
		rows = res.Created
	}
	r := benchResult{Rows: rows, Seconds: time.Since(start).Seconds(), PeakKB: peakKB()}
	js, _ := json.Marshal(r)
	fmt.Printf("BENCH %s\n", js)
}

// withoutPoolParams drops pgxpool's parameters, which a plain connection
// would send to the server as settings.
func withoutPoolParams(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	p.RawQuery = q.Encode()
	return p.String()
}
