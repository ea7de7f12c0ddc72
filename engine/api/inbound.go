package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/formaapp/forma/engine/plugin"
)

// InboundPrefix is the public route of the apps' connectors:
// POST /api/in/{app}/{endpoint}, called by websites and other services
// with the endpoint's token instead of a session.
const InboundPrefix = "/api/in/"

// MaxInboundBytes bounds a submission's body (edge.go gives the route
// this limit from its headers).
const MaxInboundBytes = 256 << 10

// maxInboundFields bounds the fields of a form body (and, with
// MaxInboundBytes, the memory a multipart parse takes).
const maxInboundFields = 500

// defaultRetryAfter is the wait a throttled caller is told when the
// service does not say: the rate limit is per minute.
const defaultRetryAfter = time.Minute

// dropHeaders never reach a trigger: a session's cookie or bearer token,
// the endpoint's own token.
var dropHeaders = map[string]bool{"cookie": true, "authorization": true, "proxy-authorization": true, "x-forma-token": true}

// inboundRoutes serves the connectors' endpoints, with CORS for them
// alone: any website may post a form to its app's endpoint, never with
// the caller's cookies (nothing here reads a session).
func (s *Server) inboundRoutes(app *fiber.App) {
	if s.Plugins == nil {
		return
	}
	app.Options("/api/in/:app/:endpoint", s.inboundPreflight)
	app.Post("/api/in/:app/:endpoint", s.inbound)
	app.All("/api/in/:app/:endpoint", func(c *fiber.Ctx) error {
		inboundCORS(c)
		return notAllowed("POST, OPTIONS")(c)
	})
}

// isInbound reports whether the request is a submission (POST under
// InboundPrefix), whose body limit is MaxInboundBytes.
func isInbound(h *fasthttp.RequestHeader) bool {
	return h.IsPost() && bytes.HasPrefix(h.RequestURI(), []byte(InboundPrefix))
}

func inboundCORS(c *fiber.Ctx) {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set(fiber.HeaderAccessControlAllowMethods, "POST, OPTIONS")
	c.Set(fiber.HeaderAccessControlAllowHeaders, "Content-Type, X-Forma-Token")
	c.Set(fiber.HeaderAccessControlMaxAge, "600")
	c.Set(fiber.HeaderAccessControlExposeHeaders, "Retry-After")
}

func (s *Server) inboundPreflight(c *fiber.Ctx) error {
	inboundCORS(c)
	return c.SendStatus(204)
}

// inbound handles one submission: the token, the body read strictly, the
// request handed to the connector (plugin.Service.Accept) and its answer:
// 202 {"ok": true} (also for a dropped honeypot hit), or 303 to the form's
// _redirect for a browser's form post; 401 for a wrong token or an unknown
// endpoint alike, 429 with Retry-After, 409 disabled, 422 with details.
func (s *Server) inbound(c *fiber.Ctx) error {
	inboundCORS(c)
	c.Set(fiber.HeaderCacheControl, "no-store")
	in, err := readInbound(c)
	if err != nil {
		return err
	}
	_, status, err := s.Plugins.Accept(c.UserContext(), c.Params("app"), c.Params("endpoint"), in.token, in.req)
	if err != nil || status >= 300 {
		return s.inboundError(c, status, err)
	}
	if in.redirect != "" && acceptsHTML(c) {
		return c.Redirect(in.redirect, 303)
	}
	return sendJSONValue(c, 202, fiber.Map{"ok": true})
}

// inboundError answers a refused submission. The status is Accept's; the
// code and message are fixed per status so a caller learns nothing of
// which check failed where that would help guess (token, endpoint), and
// nothing of the plugin's internals.
func (s *Server) inboundError(c *fiber.Ctx, status int, err error) error {
	switch status {
	case 401, 404:
		return apiError(401, "invalid_token", "wrong or missing token for this endpoint; send it as X-Forma-Token, ?token= or the form field _token")
	case 429:
		wait := defaultRetryAfter
		secs := int(math.Ceil(wait.Seconds()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(secs))
		return apiError(429, "too_many_requests", "too many submissions from this address; retry after %d seconds", secs)
	case 409:
		return apiError(409, CodePluginDisabled, "this endpoint does not accept submissions now")
	case 413:
		return apiError(413, "payload_too_large", "a submission may be at most %d KiB", MaxInboundBytes>>10)
	case 422:
		// The entity's refusal, by field (records.Error), or the trigger's
		// items not matching its output schema.
		var pe *plugin.Error
		if errors.As(err, &pe) {
			return &Error{Status: 422, Code: "validation_failed", Message: pe.Message, Details: pe.Details}
		}
		if e := toAPIError(err); e.Status == 422 {
			return e
		}
		return apiError(422, "validation_failed", "the submission does not fit the endpoint's entity")
	case 502, 503:
		// The plugin failed (its script, its remote): logged (the
		// service's messages are redacted), answered without detail.
		s.Log.Warn("inbound submission failed", "app", c.Params("app"), "endpoint", c.Params("endpoint"), "status", status, "err", err)
		if status == 503 {
			c.Set(fiber.HeaderRetryAfter, "60")
		}
		return apiError(status, CodePluginFailed, "the endpoint could not handle the submission; try again later")
	}
	if err == nil || status < 500 {
		code := fiberCodes[status]
		if code == "" {
			code = "error"
		}
		return apiError(status, code, "the submission was refused")
	}
	return err // a 500: logged by the error handler, answered without detail
}

// inboundRequest is a submission as read: what the trigger sees, the
// token and the form's _redirect.
type inboundRequest struct {
	req      plugin.Inbound
	token    string
	redirect string
}

// readInbound reads a submission strictly: a body of at most
// MaxInboundBytes, as text (valid UTF-8, no NUL: a trigger's values end
// up in records), parsed as JSON, a urlencoded or a multipart form
// (fields only: no files). The token comes from X-Forma-Token, ?token= or
// the form field _token, and is removed from what the trigger sees.
func readInbound(c *fiber.Ctx) (*inboundRequest, error) {
	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, apiError(415, "unsupported_media_type", "send the submission without a Content-Encoding")
	}
	body := c.Request().Body()
	if len(body) > MaxInboundBytes {
		return nil, apiError(413, "payload_too_large", "a submission may be at most %d KiB", MaxInboundBytes>>10)
	}
	if !storable(body) {
		return nil, apiError(400, "bad_request", "the body holds a NUL character or bytes that are not UTF-8")
	}
	out := &inboundRequest{req: plugin.Inbound{
		Method:      c.Method(),
		Headers:     map[string]string{},
		Query:       map[string]string{},
		ContentType: c.Get(fiber.HeaderContentType),
		Body:        string(body),
		IP:          c.IP(),
	}}
	var bad string
	c.Request().Header.VisitAll(func(k, v []byte) {
		name := strings.ToLower(string(k))
		if dropHeaders[name] {
			return
		}
		if !storable(v) && bad == "" {
			bad = name
		}
		if prev, ok := out.req.Headers[name]; ok {
			out.req.Headers[name] = prev + ", " + string(v)
		} else {
			out.req.Headers[name] = string(v)
		}
	})
	if bad != "" {
		return nil, apiError(400, "bad_request", "the header %q holds a NUL character or bytes that are not UTF-8", bad)
	}
	query := url.Values{}
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) { query.Add(string(k), string(v)) })
	out.token = c.Get("X-Forma-Token")
	if out.token == "" {
		out.token = query.Get("token")
	}
	query.Del("token")
	out.req.Query = flatten(query)

	mt, params, err := mime.ParseMediaType(out.req.ContentType)
	if err != nil {
		mt = ""
	}
	var form url.Values
	switch {
	case len(body) == 0:
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if err := strictBody(body); err != nil {
			return nil, err
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&v); err != nil {
			return nil, apiError(400, "invalid_json", "the body is not valid JSON: %v", err)
		}
		if dec.More() {
			return nil, apiError(400, "invalid_json", "the body holds more than one JSON value")
		}
		out.req.JSON = v
	case mt == fiber.MIMEApplicationForm:
		if form, err = url.ParseQuery(string(body)); err != nil {
			return nil, apiError(400, "bad_request", "the form body cannot be read: %v", err)
		}
		out.req.Body = dropFormField(out.req.Body, "_token")
	case mt == fiber.MIMEMultipartForm:
		if form, err = readMultipartFields(body, params["boundary"]); err != nil {
			return nil, err
		}
		// The fields are in Form; the raw multipart text would carry the token.
		out.req.Body = ""
	}
	if form != nil {
		if len(form) > maxInboundFields {
			return nil, apiError(413, "payload_too_large", "a form may have at most %d fields", maxInboundFields)
		}
		for k, vs := range form {
			if !storable([]byte(k)) {
				return nil, apiError(400, "bad_request", "a form field's name holds a NUL character or bytes that are not UTF-8")
			}
			for _, v := range vs {
				if !storable([]byte(v)) {
					return nil, apiError(400, "bad_request", "the form field %q holds a NUL character or bytes that are not UTF-8", k)
				}
			}
		}
		if out.token == "" {
			out.token = form.Get("_token")
		}
		form.Del("_token")
		out.redirect = redirectTarget(form.Get("_redirect"))
		out.req.Form = flatten(form)
	}
	return out, nil
}

// readMultipartFields reads a multipart body's fields; a file part is
// refused (connectors take fields, not uploads).
func readMultipartFields(body []byte, boundary string) (url.Values, error) {
	if boundary == "" {
		return nil, apiError(400, "bad_request", "the multipart body has no boundary")
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	form := url.Values{}
	for n := 0; ; n++ {
		p, err := r.NextPart()
		if err == io.EOF {
			return form, nil
		}
		if err != nil {
			return nil, apiError(400, "bad_request", "the multipart body cannot be read: %s", strings.ToValidUTF8(err.Error(), "?"))
		}
		if n >= maxInboundFields {
			return nil, apiError(413, "payload_too_large", "a form may have at most %d fields", maxInboundFields)
		}
		if p.FileName() != "" {
			return nil, apiError(415, "unsupported_media_type", "this endpoint takes form fields, not files (part %q)", strings.ToValidUTF8(p.FormName(), "?"))
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return nil, apiError(400, "bad_request", "the multipart body cannot be read: %s", strings.ToValidUTF8(err.Error(), "?"))
		}
		form.Add(p.FormName(), string(v))
	}
}

// flatten makes a form or query a map of strings: a name given more than
// once (a group of checkboxes) has its values joined by commas, in order.
func flatten(v url.Values) map[string]string {
	out := make(map[string]string, len(v))
	for k, vs := range v {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// dropFormField removes every name=value pair of field from a urlencoded
// body, keeping the rest as sent (a trigger may check a signature over it).
func dropFormField(body, field string) string {
	pairs := strings.Split(body, "&")
	kept := pairs[:0]
	for _, p := range pairs {
		name, _, _ := strings.Cut(p, "=")
		if n, err := url.QueryUnescape(name); err == nil && n == field {
			continue
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, "&")
}

// redirectTarget is the form's _redirect when it is an absolute http(s)
// URL, else "" (no open redirect to javascript: or relative paths).
func redirectTarget(raw string) string {
	if raw == "" || len(raw) > 2048 {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.String()
}

// acceptsHTML reports whether the caller is a browser posting a form (it
// asks for HTML first): it is sent on to the form's _redirect.
func acceptsHTML(c *fiber.Ctx) bool {
	for _, part := range strings.Split(c.Get(fiber.HeaderAccept), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/html") {
			return true
		}
	}
	return false
}
