package bench_test

// Dashboard benchmarks: a sales entity of FORMA_DASH_ROWS rows (default
// 1,000,000; loaded with one INSERT … SELECT per table, generated in SQL),
// three widgets — a 90-day daily sum, the top 10 products of those 90 days
// and a 12-month × region pivot through the store's region — each through
// the endpoint uncached (its change counter bumped before every call),
// through the endpoint cached, and as the same hand-written SQL on the same
// data in the same run.
//
//	FORMA_DASH_ROWS=1000000 go test -run '^$' -bench Dash -benchtime 10x -timeout 1h ./bench/
//
// Each widget's endpoint and hand-written SQL run alternately in one loop
// (metrics endpoint-ms, direct-ms, ratio), so load from elsewhere on the
// machine weighs on both alike.
//
// TestDashBenchSmoke runs the harness on a few thousand rows and checks
// that the endpoint and the hand-written SQL agree.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/query"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// The dashboard's indexes: the period's range scan reads (at, amount) and
// (at, product, amount) / (at, store, amount) without touching the table.
const dashDoc = `{"name": "shop", "entities": [
  {"name": "store", "fields": [
    {"id": "s1", "name": "name", "type": "text"},
    {"id": "s2", "name": "region", "type": "select", "options": ["north", "south", "east", "west"]}]},
  {"name": "product", "fields": [{"id": "p1", "name": "name", "type": "text"}]},
  {"name": "sale", "fields": [
    {"id": "o1", "name": "amount", "type": "decimal", "precision": 14, "scale": 2},
    {"id": "o2", "name": "at", "type": "datetime"},
    {"id": "o3", "name": "store", "type": "ref", "entity": "store"},
    {"id": "o4", "name": "product", "type": "ref", "entity": "product"}],
   "indexes": [{"fields": ["at", "amount"]}, {"fields": ["at", "product", "amount"]}, {"fields": ["at", "store", "amount"]}]}],
 "dashboards": [{"name": "sales", "timeZone": "Asia/Shanghai",
   "params": [{"name": "period", "type": "daterange"}],
   "widgets": [
    {"id": "daily", "type": "line", "layout": {"x": 0, "y": 0, "w": 12, "h": 4},
     "query": {"entity": "sale", "measures": [{"name": "total", "expr": "sum(amount)"}],
       "dimensions": [{"field": "at", "bucket": "day"}], "period": {"field": "at", "preset": "last90Days"}}},
    {"id": "top", "type": "bar", "layout": {"x": 0, "y": 4, "w": 6, "h": 4},
     "query": {"entity": "sale", "measures": [{"name": "total", "expr": "sum(amount)"}],
       "dimensions": [{"field": "product"}], "limit": 10, "period": {"field": "at", "preset": "last90Days"}}},
    {"id": "pivot", "type": "pivot", "layout": {"x": 6, "y": 4, "w": 6, "h": 4},
     "query": {"entity": "sale", "measures": [{"name": "total", "expr": "sum(amount)"}],
       "dimensions": [{"field": "at", "bucket": "month"}, {"field": "store.region"}],
       "period": {"field": "at", "param": "period"}}}]}]}`

// dashRows is FORMA_DASH_ROWS, else FORMA_BENCH_ROWS (CI's smoke run sets
// it small), else 1,000,000.
func dashRows() int {
	for _, env := range []string{"FORMA_DASH_ROWS", "FORMA_BENCH_ROWS"} {
		if n, err := strconv.Atoi(os.Getenv(env)); err == nil && n > 0 {
			return n
		}
	}
	return 1_000_000
}

// The data's clock: sales spread evenly over the 400 days before end.
var dashEnd = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

type dashTarget struct {
	*target
	eng   *engine.Engine
	since time.Time // 90 days
	year  [2]string // the pivot's period param: 12 whole months
}

func dashSetup(tb testing.TB, dbURL string, n int) *dashTarget {
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Config{DataDir: tb.TempDir(), DBURL: dbURL, Access: access.Options{BcryptCost: bcrypt.MinCost}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { eng.Close() })
	if _, err := eng.Access.CreateUser(ctx, "bench@example.com", "benchpass1", "", true); err != nil {
		tb.Fatal(err)
	}
	app, problems := schema.Parse([]byte(dashDoc))
	if len(problems) > 0 {
		tb.Fatal(problems)
	}
	if _, err := eng.DB.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	dashLoad(tb, eng.DB, n)
	tb.Logf("%s: loaded %d sales in %v", eng.DB.Dialect.Name(), n, time.Since(start).Round(time.Millisecond))
	t := serveDash(tb, eng)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	endLocal := dashEnd.Add(-time.Hour).In(sh)
	today := time.Date(endLocal.Year(), endLocal.Month(), endLocal.Day(), 0, 0, 0, 0, sh)
	first := time.Date(endLocal.Year(), endLocal.Month(), 1, 0, 0, 0, 0, sh).AddDate(-1, 0, 0)
	last := time.Date(endLocal.Year(), endLocal.Month(), 1, 0, 0, 0, 0, sh).AddDate(0, 0, -1)
	return &dashTarget{target: t, eng: eng, since: today.AddDate(0, 0, -89), year: [2]string{first.Format(time.DateOnly), last.Format(time.DateOnly)}}
}

// dashLoad fills the tables in SQL: 50 stores in 4 regions, 2,000
// products, n sales spread over 400 days with pseudo-random amounts.
func dashLoad(tb testing.TB, db *store.DB, n int) {
	pg := db.Dialect.Name() == "postgres"
	span := int64(400 * 24 * 3600)
	from := dashEnd.Unix() - span
	var stmts []string
	if pg {
		stmts = []string{
			`INSERT INTO shop_store (id, created_at, updated_at, name, region) SELECT 's' || i, now(), now(), 'Store ' || i, (ARRAY['north','south','east','west'])[1 + i % 4] FROM generate_series(0, 49) i`,
			`INSERT INTO shop_product (id, created_at, updated_at, name) SELECT 'p' || i, now(), now(), 'Product ' || i FROM generate_series(0, 1999) i`,
			fmt.Sprintf(`INSERT INTO shop_sale (id, created_at, updated_at, amount, at, store, product) SELECT 'o' || lpad(i::text, 10, '0'), t, t,
				CAST((i::bigint * 7919) %% 1000000 AS numeric) / 100, t, 's' || ((i::bigint * 17) %% 50), 'p' || ((i::bigint * 31 + i / 7) %% 2000)
				FROM (SELECT i, to_timestamp(%d + (i::bigint * %d) / %d) AS t FROM generate_series(0, %d) i) g`, from, span, n, n-1),
			`ANALYZE shop_store`, `ANALYZE shop_product`, `ANALYZE shop_sale`,
		}
	} else {
		stmts = []string{
			`WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 49)
			 INSERT INTO shop_store (id, created_at, updated_at, version, name, region) SELECT 's' || i, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1, 'Store ' || i,
			 CASE i % 4 WHEN 0 THEN 'north' WHEN 1 THEN 'south' WHEN 2 THEN 'east' ELSE 'west' END FROM s`,
			`WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 1999)
			 INSERT INTO shop_product (id, created_at, updated_at, version, name) SELECT 'p' || i, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', 1, 'Product ' || i FROM s`,
			fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
			 INSERT INTO shop_sale (id, created_at, updated_at, version, amount, at, store, product)
			 SELECT printf('o%%010d', i), t, t, 1, (i * 7919) %% 1000000, t, 's' || ((i * 17) %% 50), 'p' || ((i * 31 + i / 7) %% 2000)
			 FROM (SELECT i, strftime('%%Y-%%m-%%dT%%H:%%M:%%S.000000Z', %d + (i * %d) / %d, 'unixepoch') AS t FROM s)`, n-1, from, span, n),
		}
	}
	for _, q := range stmts {
		if _, err := db.SQL.Exec(q); err != nil {
			tb.Fatalf("load: %v\n%s", err, q)
		}
	}
}

// serveDash serves eng's API on a loopback port, with the query engine's
// clock at the data's end so that presets are stable, and logs in.
func serveDash(tb testing.TB, eng *engine.Engine) *target {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	q := query.New(eng.DB, eng.Records, eng.Catalog)
	q.Now = func() time.Time { return dashEnd.Add(-time.Hour) }
	srv := (&api.Server{DB: eng.DB, Catalog: eng.Catalog, Access: eng.Access, Records: eng.Records, Query: q,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).New()
	go srv.Listener(ln)
	t := &target{base: "http://" + ln.Addr().String(), client: &http.Client{
		Transport: &http.Transport{MaxIdleConns: 16, MaxIdleConnsPerHost: 16},
		Timeout:   10 * time.Minute,
	}}
	tb.Cleanup(func() {
		t.client.CloseIdleConnections()
		srv.ShutdownWithTimeout(5 * time.Second)
	})
	body := strings.NewReader(`{"email": "bench@example.com", "password": "benchpass1"}`)
	resp, err := t.client.Post(t.base+"/api/auth/login", "application/json", body)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var login struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&login); err != nil || login.Token == "" {
		tb.Fatalf("login: %v", err)
	}
	t.token = login.Token
	return t
}

// get reads a widget.
func (d *dashTarget) get(tb testing.TB, path string, out *widgetAnswer) {
	req, _ := http.NewRequest("GET", d.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+d.token)
	resp, err := d.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		tb.Fatalf("GET %s: %d %s", path, resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		tb.Fatal(err)
	}
}

// The widgets' hand-written SQL, per dialect.
func (d *dashTarget) direct(widget string) (string, []any) {
	pg := d.eng.DB.Dialect.Name() == "postgres"
	sh, _ := time.LoadLocation("Asia/Shanghai")
	since := d.since
	until := dashEnd.Add(-time.Hour).In(sh)
	until = time.Date(until.Year(), until.Month(), until.Day()+1, 0, 0, 0, 0, sh)
	y0, _ := time.ParseInLocation(time.DateOnly, d.year[0], sh)
	y1, _ := time.ParseInLocation(time.DateOnly, d.year[1], sh)
	y1 = y1.AddDate(0, 0, 1)
	arg := func(t time.Time) any {
		if pg {
			return t
		}
		return t.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	switch {
	case widget == "daily" && pg:
		return `SELECT date_trunc('day', at AT TIME ZONE 'Asia/Shanghai') AS d, SUM(amount) FROM shop_sale WHERE at >= $1 AND at < $2 GROUP BY 1 ORDER BY 1`, []any{arg(since), arg(until)}
	case widget == "daily":
		return `SELECT date(at, '480 minutes') AS d, SUM(amount) FROM shop_sale WHERE at >= ? AND at < ? GROUP BY 1 ORDER BY 1`, []any{arg(since), arg(until)}
	case widget == "top":
		q := `SELECT s.product, MAX(p.name), SUM(s.amount) AS total FROM shop_sale s LEFT JOIN shop_product p ON p.id = s.product
			WHERE s.at >= ? AND s.at < ? GROUP BY s.product ORDER BY total DESC LIMIT 10`
		return d.eng.DB.Rebind(q), []any{arg(since), arg(until)}
	case widget == "pivot" && pg:
		return `SELECT date_trunc('month', s.at AT TIME ZONE 'Asia/Shanghai'), st.region, SUM(s.amount) FROM shop_sale s
			LEFT JOIN shop_store st ON st.id = s.store WHERE s.at >= $1 AND s.at < $2 GROUP BY 1, 2`, []any{arg(y0), arg(y1)}
	default:
		return `SELECT strftime('%Y-%m', s.at, '480 minutes'), st.region, SUM(s.amount) FROM shop_sale s
			LEFT JOIN shop_store st ON st.id = s.store WHERE s.at >= ? AND s.at < ? GROUP BY 1, 2`, []any{arg(y0), arg(y1)}
	}
}

// runDirect runs a widget's hand-written SQL and reads every row.
func (d *dashTarget) runDirect(tb testing.TB, widget string) [][]any {
	q, args := d.direct(widget)
	rows, err := d.eng.DB.SQL.Query(q, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]any
	for rows.Next() {
		r := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func (d *dashTarget) path(widget string) string {
	p := "/api/dash/shop/sales/widgets/" + widget
	if widget == "pivot" {
		p += "?period=" + d.year[0] + ".." + d.year[1]
	}
	return p
}

type widgetAnswer struct {
	Rows []struct {
		Keys   []any  `json:"keys"`
		Values []any  `json:"values"`
		Drill  string `json:"drill"`
	} `json:"rows"`
	Cached bool    `json:"cached"`
	SQLMs  float64 `json:"sqlMs"`
}

// invalidate bumps the sale entity's change counter, as a write would.
func (d *dashTarget) invalidate(tb testing.TB) {
	if _, err := d.eng.DB.SQL.Exec(d.eng.DB.Rebind(`INSERT INTO _forma_change_counters (app, entity, slot, n) VALUES ('shop', 'sale', 0, 1) ON CONFLICT (app, entity, slot) DO UPDATE SET n = _forma_change_counters.n + 1`)); err != nil {
		tb.Fatal(err)
	}
}

func benchDash(b *testing.B, dbURL string) {
	d := dashSetup(b, dbURL, dashRows())
	for _, w := range []string{"daily", "top", "pivot"} {
		// The endpoint (uncached) and the hand-written SQL alternate within
		// one loop, so a neighbour's build slows both alike; ns/op is their
		// sum, the metrics each one's mean and the ratio.
		b.Run(w+"/endpoint-vs-direct", func(b *testing.B) {
			var endpoint, direct time.Duration
			var sqlMs float64
			for i := 0; i < b.N; i++ {
				d.invalidate(b)
				start := time.Now()
				var a widgetAnswer
				d.get(b, d.path(w), &a)
				endpoint += time.Since(start)
				if a.Cached {
					b.Fatal("answered from the cache")
				}
				sqlMs += a.SQLMs
				start = time.Now()
				d.runDirect(b, w)
				direct += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(float64(endpoint.Microseconds())/1000/n, "endpoint-ms")
			b.ReportMetric(sqlMs/n, "endpoint-sql-ms")
			b.ReportMetric(float64(direct.Microseconds())/1000/n, "direct-ms")
			b.ReportMetric(float64(endpoint)/float64(direct), "ratio")
		})
		b.Run(w+"/endpoint-cached", func(b *testing.B) {
			var a widgetAnswer
			d.get(b, d.path(w), &a)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d.get(b, d.path(w), &a)
			}
			if !a.Cached {
				b.Fatal("not cached")
			}
		})
	}
}

func BenchmarkDashSQLite(b *testing.B) { benchDash(b, "") }

func BenchmarkDashPostgres(b *testing.B) {
	if os.Getenv(storetest.EnvPostgres) == "" {
		b.Skip("FORMA_TEST_POSTGRES not set")
	}
	benchDash(b, storetest.PostgresURL(b))
}

// TestDashBenchSmoke runs the benchmark's setup on a few thousand rows and
// checks that each widget answers what its hand-written SQL does.
func TestDashBenchSmoke(t *testing.T) {
	each := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return storetest.PostgresURL(t) },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			d := dashSetup(t, each[name](t), 5000)
			for _, w := range []string{"daily", "top", "pivot"} {
				direct := d.runDirect(t, w)
				var a widgetAnswer
				d.get(t, d.path(w), &a)
				want := map[string]decimal.Decimal{}
				for _, r := range direct {
					want[directKey(w, r)] = toDec(r[len(r)-1], name == "sqlite")
				}
				got := map[string]decimal.Decimal{}
				for _, r := range a.Rows {
					var parts []string
					for _, k := range r.Keys {
						parts = append(parts, fmt.Sprint(k))
					}
					k := strings.Join(parts, " ")
					v, _ := decimal.NewFromString(fmt.Sprint(r.Values[0]))
					if v.IsZero() && w == "daily" {
						continue // filled empty day
					}
					got[k] = v
				}
				if len(got) != len(want) || len(want) == 0 {
					t.Errorf("%s: %d groups, hand-written SQL %d", w, len(got), len(want))
				}
				for k, v := range want {
					if !got[k].Equal(v) {
						t.Errorf("%s %s: endpoint %s, hand-written SQL %s", w, k, got[k], v)
					}
				}
			}
		})
	}
}

func directKey(widget string, r []any) string {
	str := func(v any) string {
		switch x := v.(type) {
		case nil:
			return "<nil>"
		case []byte:
			return string(x)
		case time.Time:
			if widget == "pivot" {
				return x.Format("2006-01")
			}
			return x.Format(time.DateOnly)
		}
		return fmt.Sprint(v)
	}
	switch widget {
	case "top":
		return str(r[0])
	case "pivot":
		return str(r[0]) + " " + str(r[1])
	}
	return str(r[0])
}

func toDec(v any, sqlite bool) decimal.Decimal {
	switch x := v.(type) {
	case int64:
		if sqlite {
			return decimal.New(x, -2)
		}
		return decimal.New(x, 0)
	case []byte:
		d, _ := decimal.NewFromString(string(x))
		return d
	case string:
		d, _ := decimal.NewFromString(x)
		return d
	case float64:
		return decimal.NewFromFloat(x)
	}
	return decimal.Zero
}
