package sample_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/query"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/sample"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// Benchmarks of installing a template with its sample data and of loading
// the store-sales dashboards on it. The row count is FORMA_BENCH_ROWS
// (10,000 when unset); run one at a time, on a quiet machine:
//
//	FORMA_BENCH_ROWS=10000 go test ./templates/sample/ -run '^$' -bench 'Install/store-sales/sqlite' -benchtime 1x
//	FORMA_BENCH_ROWS=10000 go test ./templates/sample/ -run '^$' -bench 'Dashboards/sqlite' -benchtime 5x -v
//
// (PostgreSQL: FORMA_TEST_POSTGRES set, '/postgres' instead of '/sqlite'.)

func benchRows(b *testing.B) int {
	n := 10_000
	if s := os.Getenv("FORMA_BENCH_ROWS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatalf("FORMA_BENCH_ROWS: %v", err)
		}
	}
	return n
}

// install applies template name and writes rows of sample data: what
// `forma template install NAME --sample ROWS` does.
func install(b *testing.B, eng *engine.Engine, name string, rows int) (*schema.App, *sample.Result) {
	app := apply(b, eng, name)
	started, last := time.Now(), -1
	progress := func(done, total int) {
		// A line per 5 %, on stderr at once (a benchmark's log waits for
		// its end): a million rows take an hour or more.
		if pct := done * 100 / max(total, 1); pct/5 != last/5 {
			last = pct
			fmt.Fprintf(os.Stderr, "%s %s: %d / %d (%d%%) after %s\n", name, eng.DB.Dialect.Name(), done, total, pct, time.Since(started).Round(time.Second))
		}
	}
	res, err := sample.Generate(context.Background(), target(eng), templates.FS(), name, app.Name, sample.Options{Rows: rows, Seed: 1, Now: eng.DB.Now(), Progress: progress})
	if err != nil {
		b.Fatal(err)
	}
	return app, res
}

func BenchmarkInstall(b *testing.B) {
	rows := benchRows(b)
	for _, name := range []string{"pipeline", "store-sales"} {
		b.Run(name, func(b *testing.B) {
			for _, dialect := range []string{"sqlite", "postgres"} {
				b.Run(dialect, func(b *testing.B) {
					var total int
					for range b.N {
						b.StopTimer()
						eng := open(b, dialect)
						b.StartTimer()
						_, res := install(b, eng, name, rows)
						b.StopTimer()
						total = 0
						for _, n := range res.Rows {
							total += n
						}
						eng.Close()
						b.StartTimer()
					}
					b.ReportMetric(float64(total), "rows")
					b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
				})
			}
		})
	}
}

// BenchmarkDashboards computes every widget of every store-sales dashboard
// as GET /api/dash/{app}/{dashboard} does for an executive, with no cached
// answer (a new query engine each time).
func BenchmarkDashboards(b *testing.B) {
	rows := benchRows(b)
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			// Installed here, once: a benchmark with sub-benchmarks runs
			// once, while "load" runs for each b.N Go tries.
			eng := open(b, dialect)
			defer eng.Close()
			started := time.Now()
			app, _ := install(b, eng, "store-sales", rows)
			b.Logf("store-sales with %d orders installed in %s", rows, time.Since(started).Round(time.Millisecond))
			ctx := context.Background()
			c := records.Caller{UserID: "bench", Roles: []string{"executive"}}
			// Each widget once, alone and uncached: where the load's time goes.
			q := query.New(eng.DB, eng.Records, eng.Catalog)
			for _, d := range app.Dashboards {
				for _, w := range d.Widgets {
					started := time.Now()
					if _, err := q.Widget(ctx, c, app.Name, d.Name, w.ID, nil); err != nil {
						b.Fatalf("%s/%s: %v", d.Name, w.ID, err)
					}
					b.Logf("%s/%s (%s): %s", d.Name, w.ID, w.Type, time.Since(started).Round(10*time.Microsecond))
				}
			}
			b.Run("load", func(b *testing.B) {
				widgets := 0
				for range b.N {
					q := query.New(eng.DB, eng.Records, eng.Catalog)
					widgets = 0
					for _, d := range app.Dashboards {
						r, err := q.Dashboard(ctx, c, app.Name, d.Name, nil)
						if err != nil {
							b.Fatal(err)
						}
						for _, w := range r.Widgets {
							if w.Error != nil {
								b.Fatalf("%s/%s: %s", d.Name, w.ID, w.Error.Message)
							}
						}
						widgets += len(r.Widgets)
					}
				}
				b.ReportMetric(float64(widgets), "widgets")
			})
		})
	}
}
