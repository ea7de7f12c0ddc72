package api

import (
	"bytes"
	"context"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/formaapp/forma/engine/bulk"
)

// importRoutes serves imports: POST …/{entity}/imports (multipart: file
// and options) starts one as a durable job, GET …/imports/{id} shows its
// progress, counts and errors, GET …/imports/{id}/errors.csv the bad rows
// with a reason column, POST …/imports/preview maps and coerces the first
// rows without writing.
//
// The two POST routes read bodies up to the app's import limit
// (settings.maxImportMB, default 200 MB), larger than any other route's:
// edge.go gives them that limit from the request's headers, so a body
// whose Content-Length is over it is refused with 413 before it is read.
func (s *Server) importRoutes(data fiber.Router) {
	if s.Bulk == nil {
		return
	}
	data.Post("/:app/:entity/imports/preview", s.previewImport)
	data.Post("/:app/:entity/imports", s.startImport)
	data.Get("/:app/:entity/imports/:id/errors.csv", s.importErrors)
	data.Get("/:app/:entity/imports/:id", s.getImport)
}

// importLimit is the body limit of an import request for the app its
// path names: its import limit and room for the multipart framing and the
// options. A path that is no import route gets 0.
func (s *Server) importLimit(h *fasthttp.RequestHeader) int {
	if !h.IsPost() || s.Bulk == nil {
		return 0
	}
	path, _, _ := bytes.Cut(h.RequestURI(), []byte("?"))
	parts := strings.Split(strings.Trim(string(path), "/"), "/")
	// api data {app} {entity} imports [preview]
	if len(parts) < 5 || len(parts) > 6 || parts[0] != "api" || parts[1] != "data" || parts[4] != "imports" || (len(parts) == 6 && parts[5] != "preview") {
		return 0
	}
	limit := int64(bulk.DefaultMaxImportMB) << 20
	if s.Catalog != nil {
		if a, err := s.Catalog.App(context.Background(), parts[2]); err == nil {
			limit = bulk.ImportLimit(a)
		}
	}
	return int(limit) + 1<<20
}

// importUpload reads an import request's multipart body: the part "file"
// and the value "options" (JSON ImportOptions; optional).
func (s *Server) importUpload(c *fiber.Ctx) (bulk.Upload, bulk.ImportOptions, func(), error) {
	var none bulk.ImportOptions
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return bulk.Upload{}, none, nil, apiError(415, "unsupported_media_type", "send the file as multipart/form-data, with the part \"file\" and the value \"options\"")
	}
	if c.Get(fiber.HeaderContentEncoding) != "" {
		return bulk.Upload{}, none, nil, apiError(415, "unsupported_media_type", "send the upload without a Content-Encoding")
	}
	form, done, err := uploadForm(c, params["boundary"])
	if err != nil {
		return bulk.Upload{}, none, nil, err
	}
	var o bulk.ImportOptions
	switch opts := form.Value["options"]; len(opts) {
	case 0:
	case 1:
		if o, err = bulk.DecodeOptions([]byte(opts[0])); err != nil {
			done()
			return bulk.Upload{}, none, nil, err
		}
	default:
		done()
		return bulk.Upload{}, none, nil, badUpload("/options", "send the options once, as the form value \"options\"")
	}
	parts := form.File["file"]
	if len(parts) != 1 {
		done()
		return bulk.Upload{}, none, nil, badUpload("/file", "send exactly one file, as the part \"file\"")
	}
	fh := parts[0]
	f, err := fh.Open()
	if err != nil {
		done()
		return bulk.Upload{}, none, nil, err
	}
	u := bulk.Upload{Name: rawFileName(fh), Size: fh.Size, File: f,
		Open: func() (io.ReadCloser, error) { return fh.Open() }}
	return u, o, func() { f.Close(); done() }, nil
}

func (s *Server) previewImport(c *fiber.Ctx) error {
	u, o, done, err := s.importUpload(c)
	if err != nil {
		return err
	}
	defer done()
	p, err := s.Bulk.Preview(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), u, o)
	if err != nil {
		return err
	}
	return c.JSON(p)
}

func (s *Server) startImport(c *fiber.Ctx) error {
	u, o, done, err := s.importUpload(c)
	if err != nil {
		return err
	}
	defer done()
	st, err := s.Bulk.StartImport(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), u, o)
	if err != nil {
		return err
	}
	return c.Status(202).JSON(st)
}

func (s *Server) getImport(c *fiber.Ctx) error {
	st, err := s.Bulk.ImportStatus(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	return c.JSON(st)
}

func (s *Server) importErrors(c *fiber.Ctx) error {
	var buf bytes.Buffer
	if err := s.Bulk.ErrorsCSV(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"), &buf); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="import-`+c.Params("id")+`-errors.csv"`)
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	return c.Send(buf.Bytes())
}

// isImportPath reports whether path is an import upload route.
func isImportPath(path string) bool {
	p := strings.TrimSuffix(path, "/")
	return strings.HasPrefix(p, "/api/data/") && (strings.HasSuffix(p, "/imports") || strings.HasSuffix(p, "/imports/preview"))
}
