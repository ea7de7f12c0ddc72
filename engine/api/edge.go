package api

import (
	"bytes"
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Timeouts of the HTTP server. fasthttp sets none by default, so a client
// that sent half a request held its connection (and a goroutine) until it
// gave up. A request's line and headers must arrive within ReadTimeout of
// its first byte; its body then gets ReadTimeout again plus the time to
// send it at MinUploadRate, so a large app document on a slow link still
// arrives while a stalled small body is cut off within seconds. Behind a
// reverse proxy that buffers request bodies (nginx and Caddy do), only the
// proxy's own fast sends reach Forma.
const (
	DefaultReadTimeout  = 10 * time.Second
	DefaultWriteTimeout = 30 * time.Second
	DefaultIdleTimeout  = 30 * time.Second
	MinUploadRate       = 64 << 10 // bytes per second
)

// bodyReadTimeout is the time a body of length n gets once the headers are
// in. A chunked body (n < 0) does not say its length: it gets the time of
// a record-sized one (MaxRecordBytes), so that a stalled chunked upload is
// not held for the time of the largest app document.
func bodyReadTimeout(read time.Duration, n int) time.Duration {
	return bodyReadTimeoutUpTo(read, n, MaxRecordBytes, MaxBodyBytes)
}

// bodyReadTimeoutUpTo is bodyReadTimeout for a route that reads bodies up
// to max bytes, a chunked one getting the time of chunked bytes.
func bodyReadTimeoutUpTo(read time.Duration, n, chunked, max int) time.Duration {
	switch {
	case n == 0:
		return 0 // nothing to read: the headers' deadline stands
	case n < 0:
		n = chunked
	case n > max:
		n = max // refused from its length anyway
	}
	return read + time.Duration(n)*time.Second/MinUploadRate
}

// isUpload reports whether the request is an upload (POST UploadPath),
// the one route whose bodies may be up to MaxUploadBytes — for requests
// that carry a token at all (checked once the body is in): a client
// without one gets the usual limit.
func isUpload(h *fasthttp.RequestHeader) bool {
	if !h.IsPost() {
		return false
	}
	path, _, _ := bytes.Cut(h.RequestURI(), []byte("?"))
	return string(bytes.TrimSuffix(path, []byte("/"))) == UploadPath
}

// harden sets what fiber's Config cannot express on the fasthttp server:
// the body read deadline and a JSON answer to unknown methods, which fiber
// answers with a plain-text 400 before any middleware runs.
func (s *Server) harden(app *fiber.App) {
	read := s.ReadTimeout
	if read <= 0 {
		read = DefaultReadTimeout
	}
	srv := app.Server()
	srv.HeaderReceived = func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		if s.Files != nil && isUpload(h) && len(h.Peek(fiber.HeaderAuthorization)) > 0 {
			// Files are larger than app documents (files.go); this route
			// alone reads such bodies, and gives them their time.
			return fasthttp.RequestConfig{MaxRequestBodySize: MaxUploadBytes,
				ReadTimeout: bodyReadTimeoutUpTo(read, h.ContentLength(), MaxUploadBytes, MaxUploadBytes)}
		}
		if s.Plugins != nil && isPluginInstall(h) && len(h.Peek(fiber.HeaderAuthorization)) > 0 {
			// A plugin package (plugins.go): its own limit, refused from
			// its Content-Length when over it.
			return fasthttp.RequestConfig{MaxRequestBodySize: MaxPluginBytes,
				ReadTimeout: bodyReadTimeoutUpTo(read, h.ContentLength(), MaxPluginBytes, MaxPluginBytes)}
		}
		if s.Plugins != nil && isInbound(h) {
			// A connector's submission (inbound.go): public, so small.
			return fasthttp.RequestConfig{MaxRequestBodySize: MaxInboundBytes,
				ReadTimeout: bodyReadTimeoutUpTo(read, h.ContentLength(), MaxInboundBytes, MaxInboundBytes)}
		}
		if limit := s.importLimit(h); limit > 0 && len(h.Peek(fiber.HeaderAuthorization)) > 0 {
			// An import's spreadsheet (imports.go): refused from its
			// Content-Length when over the app's import limit.
			return fasthttp.RequestConfig{MaxRequestBodySize: limit,
				ReadTimeout: bodyReadTimeoutUpTo(read, h.ContentLength(), limit, limit)}
		}
		return fasthttp.RequestConfig{ReadTimeout: bodyReadTimeout(read, h.ContentLength())}
	}
	next := srv.Handler
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		if !slices.Contains(fiber.DefaultMethods, string(ctx.Method())) {
			// RFC 9110 §15.6.2: 501 for a method the server does not know.
			body, _ := json.Marshal(map[string]any{"error": apiError(501, "not_implemented",
				"this server does not implement that method; use GET, POST, PATCH or DELETE")})
			ctx.Response.Reset()
			ctx.SetStatusCode(501)
			ctx.SetContentType(fiber.MIMEApplicationJSONCharsetUTF8)
			ctx.SetBody(body)
			return
		}
		next(ctx)
	}
}

// guardEdge runs before routing on every request. It refuses, with a 400
// in the error shape:
//   - framing that request smuggling relies on: Content-Length given
//     twice with different values, or with Transfer-Encoding (RFC 9112
//     §6.3); the connection is closed after the answer, since what
//     follows the body on it cannot be trusted;
//   - a NUL character or invalid UTF-8 in the path (as sent or
//     percent-decoded), in a query parameter's name or value, or in the
//     Authorization header: PostgreSQL cannot store or compare such text,
//     and no name, id, filter or token holds it.
//
// Bodies are checked where they are read (decodeStrict, records'
// decodeBody, schema.Parse), with a JSON pointer.
func guardEdge(c *fiber.Ctx) error {
	req := c.Request()
	if status, msg := framingProblem(req.Header.RawHeaders()); msg != "" {
		c.Context().SetConnectionClose()
		return apiError(status, map[int]string{400: "bad_request", 501: "not_implemented"}[status], "%s", msg)
	}
	if !storable(req.Header.RequestURI()) || !storable(req.URI().Path()) {
		return apiError(400, "bad_request", "the request path holds a NUL character or bytes that are not UTF-8")
	}
	var bad []byte
	req.URI().QueryArgs().VisitAll(func(k, v []byte) {
		if bad == nil && (!storable(k) || !storable(v)) {
			bad = k
		}
	})
	if bad != nil {
		return apiError(400, "bad_request", "the query parameter %q holds a NUL character or bytes that are not UTF-8", bytes.ToValidUTF8(bad, []byte("?")))
	}
	if !storable(req.Header.Peek(fiber.HeaderAuthorization)) {
		return apiError(400, "bad_request", "the Authorization header holds a NUL character or bytes that are not UTF-8")
	}
	return c.Next()
}

// storable reports whether b is text PostgreSQL can store: valid UTF-8
// without NUL.
func storable(b []byte) bool {
	return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b)
}

// framingProblem reads the raw header lines, since fasthttp keeps only the
// last Content-Length, lets Transfer-Encoding override it silently, and
// reads any transfer coding as chunked. It returns the status and message
// of the refusal, or "".
func framingProblem(raw []byte) (int, string) {
	var (
		length []byte
		te     bool
	)
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			continue
		}
		name, value := bytes.TrimSpace(line[:colon]), bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte(fiber.HeaderContentLength)):
			if length != nil && !bytes.Equal(length, value) {
				return 400, "the request has conflicting Content-Length headers"
			}
			length = value
		case bytes.EqualFold(name, []byte(fiber.HeaderTransferEncoding)):
			// Only chunked is understood (RFC 9112 §6.1: 501 for others).
			if te || !bytes.EqualFold(value, []byte("chunked")) {
				return 501, "the only Transfer-Encoding this server reads is a single chunked"
			}
			te = true
		}
	}
	if te && length != nil {
		return 400, "the request has both Content-Length and Transfer-Encoding; send one"
	}
	return 0, ""
}
