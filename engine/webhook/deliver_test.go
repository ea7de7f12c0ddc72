package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// receiver is an httptest server that records what it got.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []*http.Request
	body  [][]byte
	count atomic.Int32
}

func newReceiver(t *testing.T, h http.HandlerFunc) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, req)
		r.body = append(r.body, b)
		r.mu.Unlock()
		r.count.Add(1)
		if h != nil {
			h(w, req)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) port() string { return r.URL[strings.LastIndex(r.URL, ":")+1:] }

func allow(t *testing.T, s *Service, app string) {
	t.Helper()
	if err := s.SetAllowPrivate(context.Background(), app, true, "admin1"); err != nil {
		t.Fatal(err)
	}
}

func TestDeliverSigned(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db)
		var secret []byte
		var verr error
		rcv := newReceiver(t, func(w http.ResponseWriter, req *http.Request) {
			w.WriteHeader(202)
			io.WriteString(w, `{"ok":true}`)
		})
		allow(t, s, "sales")
		secret, err := s.Secret(ctx, "sales")
		if err != nil {
			t.Fatal(err)
		}
		body := []byte(`{"event":"created","app":"sales","entity":"lead","id":"01j"}`)
		res, err := s.Deliver(ctx, Delivery{App: "sales", URL: rcv.URL + "/hook?token=abc", Event: "created", IdempotencyKey: "sales/grade/01j/created/2", Body: body})
		if err != nil {
			t.Fatalf("Deliver: %v", err)
		}
		if res.Status != 202 || res.Permanent || res.Snippet != `{"ok":true}` || res.Duration <= 0 {
			t.Fatalf("Result %+v", res)
		}
		if rcv.count.Load() != 1 {
			t.Fatalf("receiver got %d requests", rcv.count.Load())
		}
		req, got := rcv.reqs[0], rcv.body[0]
		if req.Method != "POST" || req.URL.Path != "/hook" || req.URL.Query().Get("token") != "abc" {
			t.Errorf("request %s %s", req.Method, req.URL)
		}
		for h, want := range map[string]string{
			"Content-Type": "application/json", "User-Agent": "Forma-Webhook/1", "X-Forma-Event": "created",
			"Idempotency-Key": "sales/grade/01j/created/2",
		} {
			if v := req.Header.Get(h); v != want {
				t.Errorf("%s = %q, want %q", h, v, want)
			}
		}
		if !bytes.Equal(got, body) {
			t.Errorf("body %s", got)
		}
		// The receiver's check, as the README shows it.
		verr = Verify(secret, req.Header.Get("X-Forma-Signature"), got, time.Now(), 5*time.Minute)
		if verr != nil {
			t.Errorf("the signature does not verify at the receiver: %v", verr)
		}
		if Verify(secret, req.Header.Get("X-Forma-Signature"), append(got, ' '), time.Now(), 5*time.Minute) == nil {
			t.Error("a changed body verifies")
		}
	})
}

func TestDeliverPrivateRefused(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db)
		rcv := newReceiver(t, nil)
		// A literal loopback URL: refused before any connection.
		res, err := s.Deliver(ctx, Delivery{App: "sales", URL: rcv.URL + "/x", Body: []byte(`{}`)})
		if !errors.Is(err, ErrPrivate) || !res.Permanent {
			t.Fatalf("loopback without the allowance: %+v, %v", res, err)
		}
		// A public-looking name that resolves to loopback: refused when
		// the dialer sees the address.
		s.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			if host == "hooks.example.com" {
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
			}
			return nil, fmt.Errorf("no such host %s", host)
		}
		u := "http://hooks.example.com:" + rcv.port() + "/secret-path?token=s3cr3t"
		res, err = s.Deliver(ctx, Delivery{App: "sales", URL: u, Body: []byte(`{}`)})
		if !errors.Is(err, ErrPrivate) || !res.Permanent || res.Status != 0 {
			t.Fatalf("name resolving to loopback: %+v, %v", res, err)
		}
		if msg := err.Error(); strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "secret-path") {
			t.Errorf("the error repeats the URL's path or query: %s", msg)
		}
		// The same through IPv4-mapped IPv6 and a mix where one address is public.
		s.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("::ffff:127.0.0.1")}, nil
		}
		if _, err = s.Deliver(ctx, Delivery{App: "sales", URL: u, Body: []byte(`{}`)}); !errors.Is(err, ErrPrivate) {
			t.Fatalf("mapped loopback: %v", err)
		}
		if n := rcv.count.Load(); n != 0 {
			t.Fatalf("the receiver was reached %d times", n)
		}
		// With the allowance the same name is delivered.
		s.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		allow(t, s, "sales")
		if _, err := s.Deliver(ctx, Delivery{App: "sales", URL: u, Body: []byte(`{}`)}); err != nil {
			t.Fatalf("allowed: %v", err)
		}
		if rcv.count.Load() != 1 || rcv.reqs[0].Host != "hooks.example.com:"+rcv.port() {
			t.Fatalf("allowed: %d requests", rcv.count.Load())
		}
		// The allowance is per app.
		if _, err := s.Deliver(ctx, Delivery{App: "other", URL: u, Body: []byte(`{}`)}); !errors.Is(err, ErrPrivate) {
			t.Fatalf("another app: %v", err)
		}
	})
}

func TestDeliverAnswers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db)
		allow(t, s, "sales")
		secret, _ := s.Secret(ctx, "sales")
		big := strings.Repeat("é", 400_000) // 800 KB, more than MaxResponseRead
		rcv := newReceiver(t, func(w http.ResponseWriter, req *http.Request) {
			switch req.URL.Path {
			case "/moved":
				http.Redirect(w, req, "/target", http.StatusFound)
			case "/big":
				io.WriteString(w, big)
			case "/echo":
				w.WriteHeader(400)
				fmt.Fprintf(w, "bad: %x %s", secret, req.Header.Get(SignatureHeader))
			default:
				var st int
				fmt.Sscanf(req.URL.Path, "/status/%d", &st)
				w.WriteHeader(st)
			}
		})
		send := func(path string) (Result, error) {
			return s.Deliver(ctx, Delivery{App: "sales", URL: rcv.URL + path, Body: []byte(`{}`)})
		}
		for _, c := range []struct {
			path      string
			status    int
			ok, perma bool
		}{
			{"/status/200", 200, true, false},
			{"/status/204", 204, true, false},
			{"/status/500", 500, false, false},
			{"/status/503", 503, false, false},
			{"/status/408", 408, false, false},
			{"/status/429", 429, false, false},
			{"/status/400", 400, false, true},
			{"/status/404", 404, false, true},
			{"/status/410", 410, false, true},
			{"/moved", 302, false, true},
		} {
			res, err := send(c.path)
			if (err == nil) != c.ok || res.Status != c.status || res.Permanent != c.perma {
				t.Errorf("%s: %+v, %v; want status %d ok %v permanent %v", c.path, res, err, c.status, c.ok, c.perma)
			}
			var we *Error
			if err != nil && (!errors.As(err, &we) || we.Result.Status != c.status) {
				t.Errorf("%s: error %T %v does not carry the result", c.path, err, err)
			}
		}
		// The redirect was not followed.
		for _, r := range rcv.reqs {
			if r.URL.Path == "/target" {
				t.Error("a redirect was followed")
			}
		}
		res, err := send("/big")
		if err != nil || len(res.Snippet) > MaxSnippet || !strings.HasPrefix(big, res.Snippet) || len(res.Snippet) < MaxSnippet-1 {
			t.Errorf("big answer: %d bytes snippet, %v", len(res.Snippet), err)
		}
		res, _ = send("/echo")
		if strings.Contains(res.Snippet, fmt.Sprintf("%x", secret)) || strings.Contains(res.Snippet, "v1=") || !strings.Contains(res.Snippet, "[redacted]") {
			t.Errorf("the snippet holds the secret or signature: %q", res.Snippet)
		}
		// Too large a payload is not sent.
		if res, err := s.Deliver(ctx, Delivery{App: "sales", URL: rcv.URL, Body: make([]byte, MaxBody+1)}); err == nil || !res.Permanent {
			t.Errorf("oversized payload: %+v %v", res, err)
		}
		// Header values stay printable ASCII.
		n := rcv.count.Load()
		if _, err := s.Deliver(ctx, Delivery{App: "sales", URL: rcv.URL + "/status/200", Event: "x\r\nX-Evil: 1", IdempotencyKey: "键", Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		r := rcv.reqs[n]
		if r.Header.Get("X-Evil") != "" || strings.ContainsAny(r.Header.Get("X-Forma-Event"), "\r\n") || r.Header.Get("Idempotency-Key") != `\u952e` {
			t.Errorf("headers: %v", r.Header)
		}
	})
}

func TestDeliverTimeout(t *testing.T) {
	db := storetest.SQLite(t)
	s := New(db)
	allow(t, s, "sales")
	release := make(chan struct{})
	rcv := newReceiver(t, func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
	})
	defer close(release)
	s.private = s.client(true, time.Second, 300*time.Millisecond)
	res, err := s.Deliver(context.Background(), Delivery{App: "sales", URL: rcv.URL, Body: []byte(`{}`)})
	if err == nil || res.Permanent || res.Status != 0 || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("slow receiver: %+v, %v", res, err)
	}
	if res.Duration > 2*time.Second {
		t.Fatalf("the timeout took %v", res.Duration)
	}
	// The real client's timeouts are the documented ones.
	if New(db).public.Timeout != RequestTimeout {
		t.Fatal("request timeout")
	}
	// A connect to an unroutable address gives up at the connect timeout.
	s.private = s.client(true, 200*time.Millisecond, time.Second)
	start := time.Now()
	_, err = s.Deliver(context.Background(), Delivery{App: "sales", URL: "http://10.255.255.1:81/", Body: []byte(`{}`)})
	if err == nil || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("connect timeout: %v after %v", err, time.Since(start))
	}
}

func TestSecret(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db)
		// Many first uses at once agree on one secret.
		var wg sync.WaitGroup
		got := make([][]byte, 8)
		errs := make([]error, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = New(db).Secret(ctx, "sales")
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("Secret: %v", errs[i])
			}
			if len(got[i]) != SecretBytes || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("secrets differ: %x vs %x", got[i], got[0])
			}
		}
		again, _ := s.Secret(ctx, "sales")
		other, _ := s.Secret(ctx, "crm")
		if !bytes.Equal(again, got[0]) || bytes.Equal(other, got[0]) {
			t.Fatal("a secret is not stable, or two apps share one")
		}
		rot, err := s.Rotate(ctx, "sales")
		if err != nil || len(rot) != SecretBytes || bytes.Equal(rot, got[0]) {
			t.Fatalf("Rotate: %x %v", rot, err)
		}
		if now, _ := s.Secret(ctx, "sales"); !bytes.Equal(now, rot) {
			t.Fatal("Secret after Rotate is not the new one")
		}
		// Rotating an app with no secret yet creates one.
		if fresh, err := s.Rotate(ctx, "new"); err != nil || len(fresh) != SecretBytes {
			t.Fatalf("Rotate new: %v", err)
		}
	})
}

func TestAllowsPrivate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s := New(db)
		if a, err := s.AllowsPrivate(ctx, "sales"); err != nil || a {
			t.Fatalf("default: %v %v", a, err)
		}
		allow(t, s, "sales")
		if a, _ := s.AllowsPrivate(ctx, "sales"); !a {
			t.Fatal("not allowed after SetAllowPrivate(true)")
		}
		if a, _ := s.AllowsPrivate(ctx, "crm"); a {
			t.Fatal("another app allowed")
		}
		if err := s.SetAllowPrivate(ctx, "sales", false, "admin1"); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.AllowsPrivate(ctx, "sales"); a {
			t.Fatal("still allowed after SetAllowPrivate(false)")
		}
	})
}

// BenchmarkDeliver is one signed delivery to a loopback receiver that
// answers 204 at once: the per-webhook cost besides the job queue (two
// small reads — allowance and secret —, HMAC, the POST on a kept-alive
// connection). It reports p50 and p99 of an attempt.
func BenchmarkDeliver(b *testing.B) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			var db *store.DB
			if dialect == "sqlite" {
				db = storetest.SQLite(b)
			} else {
				db = storetest.Postgres(b)
			}
			s := New(db)
			ctx := context.Background()
			if err := s.SetAllowPrivate(ctx, "bench", true, ""); err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(204)
			}))
			defer srv.Close()
			body := []byte(`{"event":"created","app":"bench","entity":"deal","id":"01j","record":{"title":"Acme","amount":"1200.00"}}`)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := s.Deliver(ctx, Delivery{App: "bench", URL: srv.URL + "/hook", Event: "created", IdempotencyKey: fmt.Sprint(i), Body: body}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// TestDeliverTLS: certificates are verified (a self-signed receiver is a
// failure), and an https receiver the client trusts is delivered to.
func TestDeliverTLS(t *testing.T) {
	db := storetest.SQLite(t)
	s := New(db)
	allow(t, s, "sales")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }))
	defer srv.Close()
	res, err := s.Deliver(context.Background(), Delivery{App: "sales", URL: srv.URL, Body: []byte(`{}`)})
	if err == nil || res.Status != 0 || res.Permanent {
		t.Fatalf("self-signed receiver: %+v, %v", res, err)
	}
	// Trusting the test CA (as a system pool would a real one) delivers.
	s.private.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	if res, err := s.Deliver(context.Background(), Delivery{App: "sales", URL: srv.URL, Body: []byte(`{}`)}); err != nil || res.Status != 200 {
		t.Fatalf("trusted receiver: %+v, %v", res, err)
	}
}
