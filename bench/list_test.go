package bench_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/formaapp/forma/bench/tickets"
	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// openTickets starts an engine with the ticket app (view or not) and n rows.
func openTickets(b *testing.B, dbURL string, view bool, n int) *engine.Engine {
	b.Helper()
	ctx := context.Background()
	eng := open(b, dbURL)
	app, problems := schema.Parse([]byte(tickets.App(view)))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	if _, err := eng.DB.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	if err := tickets.Fill(ctx, eng.DB, n); err != nil {
		b.Fatal(err)
	}
	eng.DB.WaitIndexBuilds()
	return eng
}

// BenchmarkListCost compares the list as the API answers it with
// the same SQL run directly through the same driver (database/sql and the
// store's prepared statements, rows scanned into values), one request at a
// time, the three interleaved: sql-µs is the query alone, service-µs the
// records service (rules, filter, cursor, scan, JSON encoding), http-µs the
// whole request from a client over a loopback connection (client and
// server in this process). The ratios service/sql and http/sql are the
// cost of a list beyond its SQL (medians). "indexed" has the view's index;
// "unindexed" only the declared (status, severity) index, so every page
// sorts its matches.
//
//	FORMA_TEST_POSTGRES=… go test -run '^$' -bench ListCost -benchtime 500x ./bench/
func BenchmarkListCost(b *testing.B) {
	for _, db := range []struct{ name, url string }{{"sqlite", ""}, {"postgres", "pg"}} {
		for _, view := range []bool{true, false} {
			name := db.name + "/unindexed"
			if view {
				name = db.name + "/indexed"
			}
			b.Run(name, func(b *testing.B) {
				dbURL := db.url
				if dbURL == "pg" {
					dbURL = storetest.PostgresURL(b)
				}
				listCost(b, openTickets(b, dbURL, view, rows()))
			})
		}
	}
}

func listCost(b *testing.B, eng *engine.Engine) {
	ctx := context.Background()
	admin := records.Caller{UserID: "bench", Admin: true}
	q := records.Query{Filter: tickets.Filter, Sort: tickets.Sort, Limit: 50}
	query, args, err := eng.Records.ListStatement(ctx, admin, "desk", "ticket", q)
	if err != nil {
		b.Fatal(err)
	}
	pool := eng.DB.Pool()
	direct := func() {
		rows, err := pool.QueryContext(ctx, query, args...)
		if err != nil {
			b.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for j := range vals {
			ptrs[j] = &vals[j]
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				b.Fatal(err)
			}
			n++
		}
		rows.Close()
		if n != 51 {
			b.Fatalf("%d rows", n)
		}
	}
	buf := make([]byte, 0, 64<<10)
	service := func() {
		p, err := eng.Records.List(ctx, admin, "desk", "ticket", q)
		if err != nil {
			b.Fatal(err)
		}
		buf = p.AppendJSON(buf[:0])
	}
	t := serve(b, eng, nil)
	path := "/api/data/desk/ticket?" + url.Values{"filter": {tickets.Filter}, "sort": {tickets.Sort}, "limit": {"50"}}.Encode()
	overHTTP := func() { t.do(b, "GET", path, "", 200, nil) }
	// Warm up every path (prepared statements, caches), then interleave
	// them request by request, so that drift on a shared machine touches
	// all three alike, and report medians.
	for i := 0; i < 20; i++ {
		direct()
		service()
		overHTTP()
	}
	var sqlT, svcT, httpT []time.Duration
	timed := func(fn func(), into *[]time.Duration) {
		t0 := time.Now()
		fn()
		*into = append(*into, time.Since(t0))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		timed(direct, &sqlT)
		timed(service, &svcT)
		timed(overHTTP, &httpT)
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Microseconds())
	}
	ms, mv, mh := med(sqlT), med(svcT), med(httpT)
	b.ReportMetric(ms, "sql-µs")
	b.ReportMetric(mv, "service-µs")
	b.ReportMetric(mh, "http-µs")
	b.ReportMetric(mv/ms, "service/sql")
	b.ReportMetric(mh/ms, "http/sql")
}
