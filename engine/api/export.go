package api

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/formaapp/forma/engine/bulk"
)

// exportRoutes serves GET …/{entity}/export?format=csv|xlsx&filter=&sort=&fields=&labels=,
// streamed under the caller's rules.
func (s *Server) exportRoutes(data fiber.Router) {
	if s.Bulk == nil {
		return
	}
	data.Get("/:app/:entity/export", s.exportRecords)
}

// exportRecords answers GET /api/data/{app}/{entity}/export: the records
// the caller's list would give (filter, sort), the columns of fields (all
// it may read when empty), as a CSV or XLSX attachment streamed page by
// page. labels=1 writes labels in the caller's language (Accept-Language),
// tz the zone datetimes are shown in (UTC by default). The request is
// checked, and its first page read, before anything is sent: a bad one is
// an ordinary JSON error.
func (s *Server) exportRecords(c *fiber.Ctx) error {
	o := bulk.ExportOptions{
		Format: c.Query("format"),
		Filter: c.Query("filter"),
		Sort:   c.Query("sort"),
		Fields: c.Query("fields"),
		Lang:   language(c.Get(fiber.HeaderAcceptLanguage)),
	}
	switch c.Query("labels") {
	case "", "0", "false":
	case "1", "true":
		o.Labels = true
	default:
		return apiError(400, "invalid_query", "labels must be 1 or 0")
	}
	if tz := c.Query("tz"); tz != "" {
		loc, err := loadZone(tz)
		if err != nil {
			return apiError(400, "invalid_query", "tz: %q is not a time zone (Asia/Shanghai, UTC, …)", clipText(tz, 64))
		}
		o.TimeZone = loc
	}
	// The export runs after this handler returns (the body streams): its
	// context outlives the request's, and ends with the stream.
	ctx, cancel := context.WithCancel(context.WithoutCancel(c.UserContext()))
	x, err := s.Bulk.Export(ctx, caller(c), c.Params("app"), c.Params("entity"), o)
	if err != nil {
		cancel()
		return err
	}
	name := x.Filename()
	c.Set(fiber.HeaderContentType, x.ContentType())
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+asciiName(name)+`"; filename*=UTF-8''`+url.PathEscape(name))
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	log, app, conn := s.Log, c.Params("app"), c.Context().Conn()
	c.Context().SetBodyStreamWriter(fasthttp.StreamWriter(func(w *bufio.Writer) {
		defer cancel()
		if _, err := x.WriteTo(deadlineWriter{w, conn}); err != nil && ctx.Err() == nil && log != nil {
			log.Warn("export stopped", "app", app, "error", err.Error())
		}
		w.Flush()
	}))
	return nil
}

// deadlineWriter moves the connection's write deadline on before each
// write: the server's write timeout bounds a stalled client, not a long
// export that keeps sending.
type deadlineWriter struct {
	w    io.Writer
	conn net.Conn
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	if d.conn != nil {
		d.conn.SetWriteDeadline(time.Now().Add(DefaultWriteTimeout))
	}
	return d.w.Write(p)
}

// loadZone loads an IANA zone name (time.LoadLocation refuses paths).
func loadZone(name string) (*time.Location, error) {
	if len(name) > 64 || name == "Local" {
		return nil, fiber.ErrBadRequest
	}
	return time.LoadLocation(name)
}

// language picks the UI language of an Accept-Language header: zh-CN for
// any Chinese first choice, else en.
func language(h string) string {
	for _, part := range strings.Split(h, ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case tag == "":
			continue
		case strings.HasPrefix(tag, "zh"):
			return "zh-CN"
		case strings.HasPrefix(tag, "en"), tag == "*":
			return "en"
		}
	}
	return "en"
}

// asciiName is a file name for the plain filename parameter.
func asciiName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, s)
}
