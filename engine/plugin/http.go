package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/webhook"
)

// MaxRequestBodyBytes bounds what a script may send in one request.
const MaxRequestBodyBytes = 1 << 20

// userAgent is sent unless the script sets its own.
const userAgent = "Forma-Plugin/1"

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// httpClient is the client of a call's requests: the test transport when
// Options.Transport is set, else the guarded transport that refuses
// private and loopback addresses at connect time unless the app allows
// them. No redirect is followed (its target was never checked against the
// declared hosts); the script sees the 3xx.
func (s *Service) httpClient(allowPrivate bool) *http.Client {
	if s.opts.Transport != nil {
		return newClient(s.opts.Transport)
	}
	r := s.run
	r.clientsOnce.Do(func() {
		lookup := s.lookup()
		r.clients[0] = newClient(webhook.GuardedTransport(false, lookup))
		r.clients[1] = newClient(webhook.GuardedTransport(true, lookup))
	})
	if allowPrivate {
		return r.clients[1]
	}
	return r.clients[0]
}

func newClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// lookup is the guard's resolver: Options.Resolve (tests) or the system's.
func (s *Service) lookup() webhook.Lookup {
	if s.opts.Resolve == nil {
		return nil
	}
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		names, err := s.opts.Resolve(ctx, host)
		if err != nil {
			return nil, err
		}
		out := make([]netip.Addr, 0, len(names))
		for _, n := range names {
			a, err := netip.ParseAddr(n)
			if err != nil {
				return nil, fmt.Errorf("resolve %s: %q is not an address", host, n)
			}
			out = append(out, a)
		}
		return out, nil
	}
}

// httpArgs is http.request's argument.
type httpArgs struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      *string           `json:"body"`
	JSON      any               `json:"json"`
	TimeoutMs int64             `json:"timeoutMs"`
}

// decodeArg decodes a native's single object argument strictly into out
// (an unknown property is a mistake worth a clear message).
func decodeArg(fn string, args []any, out any) error {
	if len(args) != 1 {
		return fmt.Errorf("%s takes one object", fn)
	}
	if _, ok := args[0].(map[string]any); !ok {
		return fmt.Errorf("%s takes one object", fn)
	}
	b, err := json.Marshal(args[0])
	if err != nil {
		return fmt.Errorf("%s: %v", fn, err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(out); err != nil {
		return fmt.Errorf("%s: %s", fn, strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// httpRequest is http.request({method, url, headers, body, json,
// timeoutMs}) → {status, headers, body, json}.
func (c *call) httpRequest(ctx context.Context, args []any) (any, error) {
	var a httpArgs
	if err := decodeArg("http.request", args, &a); err != nil {
		return nil, err
	}
	c.reqs++
	lim := c.c.limits
	if c.reqs > lim.requests {
		return nil, c.refuse("", "plugin %s may make at most %d requests per call", c.name(), lim.requests)
	}
	method := strings.ToUpper(cmpOr(a.Method, "GET"))
	if !slices.Contains(httpMethods, method) {
		return nil, fmt.Errorf("http.request: method %q is not one of %s", a.Method, strings.Join(httpMethods, ", "))
	}
	// webhook.CheckURL refuses what cannot be a URL to a remote server:
	// no user info, no control characters, no literal private address or
	// localhost unless the app allows private addresses.
	allowPrivate := c.env.allowPrivate
	if err := webhook.CheckURL(a.URL, allowPrivate || !c.env.strictHTTPS); err != nil {
		return nil, c.refuse("", "http.request: %v", err)
	}
	u, _ := url.Parse(a.URL) // CheckURL parsed it
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if u.Scheme != "https" && c.env.strictHTTPS && !allowPrivate {
		return nil, c.refuse(host, "http.request: only https URLs may be called (host %s)", host)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if !c.declared(host, port, []string{map[string]string{"http": "80", "https": "443"}[u.Scheme]}) {
		return nil, c.refuse(host, "host %s is not declared by plugin %s", host, c.name())
	}
	var body io.Reader
	ctype := ""
	switch {
	case a.Body != nil && a.JSON != nil:
		return nil, errors.New("http.request: give body or json, not both")
	case a.Body != nil:
		if len(*a.Body) > MaxRequestBodyBytes {
			return nil, c.refuse(host, "http.request: the body is larger than %d KB", MaxRequestBodyBytes>>10)
		}
		body = strings.NewReader(*a.Body)
	case a.JSON != nil:
		b, err := json.Marshal(a.JSON)
		if err != nil {
			return nil, fmt.Errorf("http.request: json: %v", err)
		}
		if len(b) > MaxRequestBodyBytes {
			return nil, c.refuse(host, "http.request: the body is larger than %d KB", MaxRequestBodyBytes>>10)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	// The call's deadline bounds every wait; timeoutMs may only shorten it.
	if a.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(a.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL, body)
	if err != nil {
		return nil, fmt.Errorf("http.request: cannot make a request to %s", host)
	}
	for k, v := range a.Headers {
		if !validHeader(k, v) {
			return nil, fmt.Errorf("http.request: header %q is not a valid header", k)
		}
		req.Header.Set(k, v)
	}
	if ctype != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", ctype)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", userAgent)
	}
	resp, err := c.env.client.Do(req)
	if err != nil {
		return nil, c.netError(ctx, method, host, err)
	}
	defer resp.Body.Close()
	c.status = resp.StatusCode
	if resp.ContentLength > lim.responseBytes {
		return nil, c.refuse(host, "the answer of %s is larger than %d KB", host, lim.responseBytes>>10)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, lim.responseBytes+1))
	if err != nil {
		return nil, c.netError(ctx, method, host, err)
	}
	if int64(len(data)) > lim.responseBytes {
		return nil, c.refuse(host, "the answer of %s is larger than %d KB", host, lim.responseBytes>>10)
	}
	headers := make(map[string]any, len(resp.Header))
	for k, vs := range resp.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	out := map[string]any{"status": int64(resp.StatusCode), "headers": headers, "body": strings.ToValidUTF8(string(data), "\uFFFD"), "json": nil}
	if len(data) > 0 && strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "json") {
		if v, err := decodePlain(data); err == nil {
			out["json"] = v
		}
	}
	return out, nil
}

// netError words a failed exchange with the host only (a URL often holds a
// key in its query) and records its kind: a private address is refused,
// a timeout and a network failure may be retried.
func (c *call) netError(ctx context.Context, method, host string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text repeats the whole URL
	}
	switch {
	case errors.Is(err, webhook.ErrPrivate):
		return c.refuse(host, "%s %s refused: %v", method, host, err)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || isTimeout(err):
		return c.fail(KindTimeout, true, "%s %s timed out", method, host)
	default:
		return c.fail(KindRemote, true, "%s %s failed: %v", method, host, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func validHeader(k, v string) bool {
	if k == "" || strings.ContainsAny(k, " :\r\n\t") || strings.ContainsAny(v, "\r\n") {
		return false
	}
	for _, r := range k {
		if r < '!' || r > '~' {
			return false
		}
	}
	return true
}

// declared says whether host:port is one of the plugin's declared hosts.
// A pattern without a port allows the usual ports only (defaultPorts: the
// URL scheme's, or SMTP's); "*.example.com" matches any name below
// example.com, not example.com itself; {"setting": "baseUrl"} is the host
// (and port, when it names one) of that setting's value in this app.
func (c *call) declared(host, port string, defaultPorts []string) bool {
	for _, h := range c.c.inst.Manifest.Hosts {
		pattern := h.Pattern
		if h.Setting != "" {
			v, _ := c.env.settings[h.Setting].(string)
			pattern = settingHost(v)
		}
		if pattern != "" && hostMatches(pattern, host, port, defaultPorts) {
			return true
		}
	}
	return false
}

// settingHost is the host[:port] of a setting's value: a URL or a bare
// host[:port] ("" when it is neither).
func settingHost(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || u.User != nil {
			return ""
		}
		return u.Host
	}
	if strings.ContainsAny(v, "/?#@ ") || strings.HasPrefix(v, "*") {
		return "" // a setting names one host, never a pattern
	}
	return v
}

func hostMatches(pattern, host, port string, defaultPorts []string) bool {
	p, pport := pattern, ""
	if h, pt, err := net.SplitHostPort(pattern); err == nil {
		p, pport = h, pt
	}
	p = strings.ToLower(strings.TrimSuffix(p, "."))
	if pport != "" {
		if pport != port {
			return false
		}
	} else if !slices.Contains(defaultPorts, port) {
		return false
	}
	if rest, ok := strings.CutPrefix(p, "*."); ok {
		return strings.HasSuffix(host, "."+rest) && len(host) > len(rest)+1
	}
	return host == p
}
