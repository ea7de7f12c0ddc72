package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/engine/webhook"
	"github.com/formaapp/forma/schema"
)

// autoDoc is a deal with the fields automations set, and a task they
// create. %s is the automations array.
const autoDoc = `{"name": "auto", "entities": [
 {"name": "deal", "fields": [
  {"id": "f1", "name": "title", "type": "text", "required": true, "maxLength": 200},
  {"id": "f2", "name": "amount", "type": "decimal", "scale": 2, "min": 0},
  {"id": "f3", "name": "stage", "type": "select", "options": ["lead", "won", "lost"], "default": "lead"},
  {"id": "f4", "name": "grade", "type": "text"}]},
 {"name": "task", "fields": [
  {"id": "t1", "name": "deal", "type": "ref", "entity": "deal", "onDelete": "cascade"},
  {"id": "t2", "name": "title", "type": "text"}]}],
 "automations": %s}`

// threeAutomations all match every create: one sets a field, one creates
// a related record, one sends a webhook (to url).
func threeAutomations(url string) string {
	return `[
 {"name": "grade", "enabled": true, "entity": "deal", "trigger": {"type": "created"}, "condition": "amount >= 0",
  "actions": [{"type": "set", "fields": {"grade": "A"}}]},
 {"name": "follow_up", "enabled": true, "entity": "deal", "trigger": {"type": "created"}, "condition": "stage != \"won\"",
  "actions": [{"type": "create", "entity": "task", "fields": {"deal": {"expr": "id"}, "title": {"template": "Call about {{title}}"}}}]},
 {"name": "notify_crm", "enabled": true, "entity": "deal", "trigger": {"type": "created"}, "condition": "title != null",
  "actions": [{"type": "webhook", "url": "` + url + `"}]}]`
}

// autoEnv is an engine with its job workers running, serving the API on a
// loopback port, with a webhook receiver the app may call.
type autoEnv struct {
	*target
	eng      *engine.Engine
	arrivals chan string // the record id of every webhook received
}

func openAuto(b *testing.B, dbURL string, automations func(url string) string) *autoEnv {
	b.Helper()
	ctx := context.Background()
	e := &autoEnv{arrivals: make(chan string, 1<<16)}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ ID string }
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &p)
		w.WriteHeader(204)
		select {
		case e.arrivals <- p.ID:
		default:
		}
	}))
	b.Cleanup(rcv.Close)
	eng, err := engine.Open(ctx, engine.Config{DataDir: b.TempDir(), DBURL: dbURL, Access: access.Options{BcryptCost: bcrypt.MinCost}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	e.eng = eng
	if _, err := eng.Access.CreateUser(ctx, "bench@example.com", "benchpass1", "", true); err != nil {
		b.Fatal(err)
	}
	// The receiver is on 127.0.0.1: a platform admin's allowance.
	if err := webhook.New(eng.DB).SetAllowPrivate(ctx, "auto", true, ""); err != nil {
		b.Fatal(err)
	}
	app, problems := schema.Parse([]byte(fmt.Sprintf(autoDoc, automations(rcv.URL+"/hook"))))
	if len(problems) > 0 {
		b.Fatal(problems)
	}
	if _, err := eng.DB.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		b.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		b.Fatal(err)
	}
	e.target = serve(b, eng, nil)
	return e
}

func (e *autoEnv) create(b *testing.B, i int) string {
	var out struct{ ID string }
	e.do(b, "POST", "/api/data/auto/deal", fmt.Sprintf(`{"title": "Deal %d", "amount": %d.50}`, i, i%100000), 201, &out)
	return out.ID
}

// ended counts the automation runs that ended, and those of them that
// failed (a starved machine can stop an expression at its time limit: the
// benchmark reports it rather than wait for a success that never comes).
func (e *autoEnv) ended(b *testing.B) (done, failed int) {
	err := e.eng.DB.SQL.QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'succeeded' THEN 0 ELSE 1 END), 0)
FROM _forma_automation_runs WHERE status IN ('succeeded', 'failed', 'stopped', 'cancelled')`).Scan(&done, &failed)
	if err != nil {
		b.Fatalf("count runs (are automations on this build?): %v", err)
	}
	return done, failed
}

// BenchmarkAutomations measures records created per second through the
// HTTP API (4 clients per core) with no automation, and with three that
// match every create (set a field, create a related record, send a
// webhook to a local receiver), the job workers running in the same
// process. "drained/s" is records whose three runs all finished, per
// second from the first create to the last run's end.
//
//	go test -run '^$' -bench Automations -benchtime 2000x ./bench/
func BenchmarkAutomations(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			url := func() string {
				if dialect == "postgres" {
					return storetest.PostgresURL(b)
				}
				return ""
			}
			b.Run("none", func(b *testing.B) {
				e := openAuto(b, url(), func(string) string { return "[]" })
				parallel(b, func(i int) { e.create(b, i) })
			})
			b.Run("three", func(b *testing.B) {
				e := openAuto(b, url(), threeAutomations)
				start := time.Now()
				parallel(b, func(i int) { e.create(b, i) })
				deadline := time.Now().Add(5 * time.Minute)
				for {
					done, failed := e.ended(b)
					if done >= 3*b.N {
						b.ReportMetric(float64(failed), "failed-runs")
						if failed > 0 {
							b.Logf("%d of %d runs failed (see _forma_automation_runs.message)", failed, done)
						}
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("only %d of %d runs ended in 5 minutes", done, 3*b.N)
					}
					time.Sleep(20 * time.Millisecond)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "drained/s")
			})
		})
	}
}

// BenchmarkWebhookLatency measures the time from a create request's start
// to its webhook arriving at a local receiver (one automation, trigger
// created, one webhook action), one create at a time on an idle server:
// p50 and p99. The path is the create's transaction (run + step jobs
// inserted), a worker picking the step job, the signed POST.
//
//	go test -run '^$' -bench WebhookLatency -benchtime 200x ./bench/
func BenchmarkWebhookLatency(b *testing.B) {
	one := func(url string) string {
		return `[{"name": "notify_crm", "enabled": true, "entity": "deal", "trigger": {"type": "created"},
  "actions": [{"type": "webhook", "url": "` + url + `"}]}]`
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			dbURL := ""
			if dialect == "postgres" {
				dbURL = storetest.PostgresURL(b)
			}
			e := openAuto(b, dbURL, one)
			lat := make([]time.Duration, 0, b.N)
			var mu sync.Mutex
			var stray atomic.Int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				id := e.create(b, i)
				timeout := time.After(30 * time.Second)
			wait:
				for {
					select {
					case got := <-e.arrivals:
						if got == id {
							mu.Lock()
							lat = append(lat, time.Since(t0))
							mu.Unlock()
							break wait
						}
						stray.Add(1)
					case <-timeout:
						b.Fatalf("the webhook of %s did not arrive in 30 s (are automations on this build?)", id)
					}
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			if n := stray.Load(); n > 0 {
				b.Logf("%d duplicate or stray deliveries", n)
			}
		})
	}
}
