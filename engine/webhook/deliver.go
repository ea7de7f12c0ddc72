package webhook

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/formaapp/forma/engine/store"
)

// Delivery limits.
const (
	ConnectTimeout  = 5 * time.Second
	RequestTimeout  = 10 * time.Second
	MaxResponseRead = 64 << 10 // bytes of the answer read (the rest is dropped)
	MaxSnippet      = 512      // bytes of the answer kept in Result.Snippet
	MaxBody         = 4 << 20  // a payload larger than this is not sent
	UserAgent       = "Forma-Webhook/1"
)

// Payload is the JSON body of a delivery. Record holds only the fields the
// automation's owner role may read; Previous is the record before an
// update (absent otherwise).
type Payload struct {
	Event      string          `json:"event"`
	App        string          `json:"app"`
	Entity     string          `json:"entity"`
	ID         string          `json:"id"`
	Automation string          `json:"automation"`
	OccurredAt time.Time       `json:"occurredAt"`
	Record     json.RawMessage `json:"record,omitempty"`
	Previous   json.RawMessage `json:"previous,omitempty"`
}

// Delivery is one webhook to send. IdempotencyKey is the same on every
// attempt of one delivery, so a receiver can drop a retried duplicate.
type Delivery struct {
	App, URL, Event, IdempotencyKey string
	Body                            []byte
}

// Result is what one attempt got. Status is 0 when no answer came.
// Permanent says a retry cannot help (the URL is refused, a 3xx, or a 4xx
// other than 408 and 429). Snippet is the start of the answer's body (at
// most MaxSnippet bytes, valid UTF-8), kept for the run log.
type Result struct {
	Status    int           `json:"status"`
	Permanent bool          `json:"permanent,omitempty"`
	Snippet   string        `json:"snippet,omitempty"`
	Duration  time.Duration `json:"duration"`
}

// Service delivers webhooks and keeps the per-app secrets and allowances.
type Service struct {
	db       *store.DB
	migrated atomic.Bool
	// public and private are the HTTP clients without and with the
	// allowance: they differ in what their dialer lets through.
	public, private *http.Client
	// lookup resolves a host name (net.DefaultResolver; tests replace it
	// to make a public-looking name resolve to loopback).
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// New returns the webhook service. Its tables are created on first use
// (or by Migrate).
func New(db *store.DB) *Service {
	s := &Service{db: db}
	s.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	s.public = s.client(false, ConnectTimeout, RequestTimeout)
	s.private = s.client(true, ConnectTimeout, RequestTimeout)
	return s
}

// client builds the HTTP client of deliveries: GuardedTransport with the
// delivery's timeouts, and no redirect followed.
func (s *Service) client(allowPrivate bool, connect, request time.Duration) *http.Client {
	// Through s.lookup at each dial: tests replace it after New.
	lookup := func(ctx context.Context, host string) ([]netip.Addr, error) { return s.lookup(ctx, host) }
	tr := GuardedTransport(allowPrivate, lookup)
	tr.DialContext = GuardedDialer(allowPrivate, connect, lookup)
	tr.TLSHandshakeTimeout = connect
	tr.ResponseHeaderTimeout = request
	return &http.Client{
		Transport: tr,
		Timeout:   request,
		// A redirect is not followed: its target was never checked, and a
		// receiver that moved must be given its new URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Lookup resolves a host name to its addresses (net.DefaultResolver's
// LookupNetIP when nil is given to the guarded constructors).
type Lookup func(ctx context.Context, host string) ([]netip.Addr, error)

// GuardedDialer returns a dial function that resolves the name itself
// (through lookup; nil means the system resolver) and refuses, at connect
// time, an address Blocked refuses (unless allowPrivate), wrapping
// ErrPrivate. Checking the address actually dialled, not the URL's text, is
// what defeats a name that resolves to 127.0.0.1 or changes its answer
// between check and use (DNS rebinding). Other senders of outbound traffic
// to addresses users chose (engine/plugin's http.request and mail.send)
// dial through it too.
func GuardedDialer(allowPrivate bool, connect time.Duration, lookup Lookup) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if connect <= 0 {
		connect = ConnectTimeout
	}
	d := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook: dial %s: %w", network, ErrPrivate)
			}
			if Blocked(ap.Addr().Unmap()) {
				return fmt.Errorf("webhook: the host resolved to %s: %w", ap.Addr(), ErrPrivate)
			}
			return nil
		}
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := resolve(ctx, lookup, host)
		if err != nil {
			return nil, err
		}
		var first error
		for _, ip := range ips {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			if first == nil {
				first = err
			}
		}
		return nil, first
	}
}

// GuardedTransport returns an HTTP transport that dials through
// GuardedDialer (ConnectTimeout) and uses no proxy (a proxy would do the
// dialling, past the check). Callers set their own response timeouts and
// refuse redirects in their client.
func GuardedTransport(allowPrivate bool, lookup Lookup) *http.Transport {
	return &http.Transport{
		Proxy:                  nil,
		DialContext:            GuardedDialer(allowPrivate, ConnectTimeout, lookup),
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    ConnectTimeout,
		MaxResponseHeaderBytes: 64 << 10,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
	}
}

func resolve(ctx context.Context, lookup Lookup, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	ips, err := lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("webhook: resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("webhook: %s has no address", host)
	}
	return ips, nil
}

// Error is Deliver's error: what went wrong, with the attempt's Result.
type Error struct {
	Result Result
	msg    string
	err    error
}

func (e *Error) Error() string { return e.msg }
func (e *Error) Unwrap() error { return e.err }

// Deliver makes one attempt to POST d.Body to d.URL, signed with the app's
// secret. It returns an error for a refused URL, a network failure, a
// timeout or an answer other than 2xx; the Result says whether a retry
// can help. Retrying is the caller's (the job queue's) business.
//
// No error text holds the URL's path or query (receivers often put a token
// there) or the secret: only the host.
func (s *Service) Deliver(ctx context.Context, d Delivery) (Result, error) {
	var res Result
	fail := func(permanent bool, err error, format string, args ...any) (Result, error) {
		res.Permanent = permanent
		return res, &Error{Result: res, msg: "webhook: " + fmt.Sprintf(format, args...), err: err}
	}
	allow, err := s.AllowsPrivate(ctx, d.App)
	if err != nil {
		return res, err
	}
	if err := CheckURL(d.URL, allow); err != nil {
		return fail(true, err, "%v", err)
	}
	if len(d.Body) > MaxBody {
		return fail(true, nil, "the payload is %d bytes, more than %d", len(d.Body), MaxBody)
	}
	secret, err := s.Secret(ctx, d.App)
	if err != nil {
		return res, err
	}
	u, _ := url.Parse(d.URL) // CheckURL parsed it
	host := u.Host
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		return fail(true, nil, "cannot make a request to %s", host)
	}
	sig := Sign(secret, s.db.Clock.Now(), d.Body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(SignatureHeader, sig)
	if d.Event != "" {
		req.Header.Set("X-Forma-Event", headerSafe(d.Event))
	}
	if d.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", headerSafe(d.IdempotencyKey))
	}
	c := s.public
	if allow {
		c = s.private
	}
	// Duration measures the attempt on the monotonic clock: it is a
	// figure for the log, not a decision, so the injectable clock (fixed
	// in tests) is not the one to use.
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		res.Duration = time.Since(start)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the whole URL
		}
		if errors.Is(err, ErrPrivate) {
			return fail(true, err, "POST %s refused: %v", host, err)
		}
		if ue != nil && ue.Timeout() {
			return fail(false, err, "POST %s timed out", host)
		}
		return fail(false, err, "POST %s failed: %v", host, err)
	}
	// An error reading the answer's body leaves what was read: the status
	// decides the outcome. Whatever is left unread is dropped with the
	// connection.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxResponseRead))
	resp.Body.Close()
	res.Duration = time.Since(start)
	res.Status = resp.StatusCode
	res.Snippet = snippet(body, secret, sig)
	switch st := resp.StatusCode; {
	case st >= 200 && st < 300:
		return res, nil
	case st >= 300 && st < 400:
		return fail(true, nil, "POST %s answered %d (a redirect, not followed: give the automation the new URL)", host, st)
	case st == http.StatusRequestTimeout || st == http.StatusTooManyRequests:
		return fail(false, nil, "POST %s answered %d", host, st)
	case st >= 400 && st < 500:
		return fail(true, nil, "POST %s answered %d", host, st)
	default:
		return fail(false, nil, "POST %s answered %d", host, st)
	}
}

// snippet keeps the start of an answer for the run log: valid UTF-8, at
// most MaxSnippet bytes, and never the secret or the signature even when
// a receiver echoes them back.
func snippet(body, secret []byte, sig string) string {
	s := string(body)
	for _, x := range []string{hex.EncodeToString(secret), string(secret), sig} {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	if len(s) > MaxSnippet {
		s = s[:MaxSnippet]
	}
	// A cut through a character, or invalid bytes sent, are dropped.
	return strings.ToValidUTF8(s, "")
}

// headerSafe keeps a header value to printable ASCII (Go refuses CR/LF in
// header values anyway; this also keeps non-ASCII out), quoting anything
// else.
func headerSafe(v string) string {
	for i := 0; i < len(v); i++ {
		if v[i] < ' ' || v[i] > '~' {
			q := strconv.QuoteToASCII(v)
			return q[1 : len(q)-1]
		}
	}
	return v
}
