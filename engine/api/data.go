package api

import (
	"sync"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/records"
)

func checkRecordBody(c *fiber.Ctx) error {
	if len(c.Body()) > MaxRecordBytes {
		return apiError(413, "payload_too_large", "a record body may be at most %d bytes", MaxRecordBytes)
	}
	return nil
}

// listRecords answers GET /api/data/{app}/{entity}. Its caller may come
// from this server's cache unconfirmed (requireCachedUser): the page's
// statement reads the auth epoch, and any answer but a confirmed page — an
// epoch that moved, a refusal that stale roles could explain, bad input —
// is given only after authenticating anew and listing again.
func (s *Server) listRecords(c *fiber.Ctx) error {
	cf := unconfirmed(c)
	err := s.listPage(c, cf)
	if err == nil || cf == nil {
		return err
	}
	if err := s.confirmUser(c); err != nil {
		return err
	}
	return s.listPage(c, nil)
}

// listPage writes the page the request asks for; cf (nil: none) is the
// authentication its statement confirms.
func (s *Server) listPage(c *fiber.Ctx, cf *records.Confirm) error {
	limit, err := intParam(c, "limit")
	if err != nil {
		return err
	}
	if c.Query("limit") != "" && limit == 0 {
		return apiError(400, "invalid_query", "limit must be between 1 and %d", records.MaxLimit)
	}
	scope, err := s.poolScope(c) // pools.go: ?pool=NAME
	if err != nil {
		return err
	}
	q := records.Query{
		Filter: c.Query("filter"),
		Sort:   c.Query("sort"),
		Limit:  limit,
		Cursor: c.Query("cursor"),
		Fields: c.Query("fields"),
		Expand: c.Query("expand"),
		Count:  c.Query("count"),
		Totals: c.Query("totals"),
	}
	var page *records.Page
	cl := caller(c)
	cl.Confirm = cf
	if scope != nil {
		page, err = s.Records.ListScoped(c.UserContext(), cl, c.Params("app"), c.Params("entity"), q, *scope)
	} else {
		page, err = s.Records.List(c.UserContext(), cl, c.Params("app"), c.Params("entity"), q)
	}
	if err != nil {
		return err
	}
	// The page is written into a pooled buffer and copied into fasthttp's
	// own pooled response body: no allocation grows with the page.
	bp := pageBufs.Get().(*[]byte)
	b := page.AppendJSON((*bp)[:0])
	c.Status(200)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Response().SetBody(b)
	if cap(b) <= maxPooledPage {
		*bp = b[:0]
		pageBufs.Put(bp)
	}
	return nil
}

// pageBufs holds buffers list pages are written into; a page larger than
// maxPooledPage (a limit of hundreds of wide records) is left to the GC.
var pageBufs = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

const maxPooledPage = 1 << 20

func (s *Server) createRecord(c *fiber.Ctx) error {
	if err := checkRecordBody(c); err != nil {
		return err
	}
	rec, err := s.Records.Create(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Body())
	if err != nil {
		return err
	}
	b, _ := rec.MarshalJSON()
	return sendJSON(c, 201, b)
}

func (s *Server) getRecord(c *fiber.Ctx) error {
	rec, err := s.Records.Get(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"), c.Query("fields"), c.Query("expand"))
	if err != nil {
		return err
	}
	b, _ := rec.MarshalJSON()
	return sendJSON(c, 200, b)
}

func (s *Server) patchRecord(c *fiber.Ctx) error {
	if err := checkRecordBody(c); err != nil {
		return err
	}
	rec, err := s.Records.Patch(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"), c.Body())
	if err != nil {
		return err
	}
	b, _ := rec.MarshalJSON()
	return sendJSON(c, 200, b)
}

func (s *Server) deleteRecord(c *fiber.Ctx) error {
	version, err := intParam(c, "version")
	if err != nil {
		return err
	}
	if c.Query("version") != "" && version < 1 {
		return apiError(400, "invalid_query", "version must be the version you read, a whole number from 1")
	}
	if err := s.Records.Delete(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"), int64(version)); err != nil {
		return err
	}
	return c.SendStatus(204)
}
