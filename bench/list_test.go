package bench_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

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
// time, all interleaved so drift on a shared machine touches each alike:
//
//   - sql-µs: the query alone;
//   - service-µs: the records service (rules, filter, cursor, scan, JSON
//     encoding);
//   - server-µs: the server's whole handling of the HTTP request (routing,
//     middleware, session, the list, the JSON page), timed around fiber's
//     handler inside the server;
//   - http-µs: the round trip from a net/http client over a loopback
//     connection (client and server in this process);
//   - floor-µs: the same round trip for GET /api/health, which does no
//     work: what the transport costs by itself on this machine;
//   - auth-µs: the session check other routes make (a cached token and
//     the auth epoch's own read); the list's route no longer makes it —
//     it reads the epoch in the page's statement (requireCachedUser) —
//     so this is what that saves per list.
//
// The ratios service/sql, server/sql and http/sql are the cost of a list
// beyond its SQL (medians). "indexed" has the view's index; "unindexed"
// only the declared (status, severity) index, so every page sorts its
// matches.
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
	t, handled := serveTimed(b, eng)
	path := "/api/data/desk/ticket?" + url.Values{"filter": {tickets.Filter}, "sort": {tickets.Sort}, "limit": {"50"}}.Encode()
	var srvT []time.Duration
	overHTTP := func() {
		t.do(b, "GET", path, "", 200, nil)
		srvT = append(srvT, time.Duration(handled.Load()))
	}
	floor := func() { t.do(b, "GET", "/api/health", "", 200, nil) }
	// What the session check of other routes costs by itself: the token
	// is cached, but the auth epoch is read on its own (revocations on any
	// server); the list reads it inside its own statement instead.
	auth := func() {
		if _, err := eng.Access.Authenticate(ctx, t.token); err != nil {
			b.Fatal(err)
		}
	}
	// Warm up every path (prepared statements, caches), then interleave
	// them request by request, so that drift on a shared machine touches
	// all alike, and report medians.
	for i := 0; i < 20; i++ {
		direct()
		service()
		overHTTP()
		floor()
		auth()
	}
	srvT = srvT[:0]
	var sqlT, svcT, httpT, floorT, authT []time.Duration
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
		timed(floor, &floorT)
		timed(auth, &authT)
	}
	b.StopTimer()
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds()) / 1000
	}
	ms, mv, msrv, mh, mf, ma := med(sqlT), med(svcT), med(srvT), med(httpT), med(floorT), med(authT)
	b.ReportMetric(ms, "sql-µs")
	b.ReportMetric(mv, "service-µs")
	b.ReportMetric(msrv, "server-µs")
	b.ReportMetric(mh, "http-µs")
	b.ReportMetric(mf, "floor-µs")
	b.ReportMetric(ma, "auth-µs")
	b.ReportMetric(mv/ms, "service/sql")
	b.ReportMetric(msrv/ms, "server/sql")
	b.ReportMetric(mh/ms, "http/sql")
}

// serveTimed is serve with the server's handling of each request timed
// inside the server: from fiber's handler being called to its return (the
// response then goes to the socket). handled holds the last request's time.
func serveTimed(b *testing.B, eng *engine.Engine) (*target, *atomic.Int64) {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	h := eng.Handler().Handler()
	handled := new(atomic.Int64)
	srv := &fasthttp.Server{Handler: func(c *fasthttp.RequestCtx) {
		t0 := time.Now()
		h(c)
		handled.Store(int64(time.Since(t0)))
	}}
	go srv.Serve(ln)
	t := &target{base: "http://" + ln.Addr().String(), client: &http.Client{
		Transport: &http.Transport{MaxIdleConns: 8, MaxIdleConnsPerHost: 8},
		Timeout:   30 * time.Second,
	}}
	b.Cleanup(func() {
		t.client.CloseIdleConnections()
		srv.Shutdown()
	})
	t.token = t.login(b, "bench@example.com", "benchpass1")
	return t, handled
}
