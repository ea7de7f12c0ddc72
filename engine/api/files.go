package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/files"
	"github.com/formaapp/forma/schema"
)

// UploadPath is the upload route: the only one whose bodies may be larger
// than MaxBodyBytes (MaxUploadBytes; edge.go).
const UploadPath = "/api/files"

// MaxUploadBytes is the largest body the upload route reads: the largest
// file any app allows and room for the multipart framing and the app name.
// A body within it is parsed by fasthttp before the handler runs, with
// file parts over 16 MiB spooled to temporary files, so memory stays
// bounded; each app's own (smaller) limit is checked on the part's size.
const MaxUploadBytes = files.MaxBytes + 1<<20

// memoryPerUpload is how much of a chunked upload's file part is kept in
// memory by our own parse (larger parts go to a temporary file).
const memoryPerUpload = 16 << 20

// fileRoutes: POST /api/files (multipart: part "file", value "app") →
// 201 {id, name, size, contentType, thumbnail}; GET /api/files/{id}
// (?thumb=1) → the bytes; GET /api/files/{id}/meta → the metadata. A file
// is served only to those who may read a record referencing it (or to its
// uploader while none does): anyone else gets 404 (engine/files).
func (s *Server) fileRoutes(app *fiber.App) {
	if s.Files == nil {
		return
	}
	g := app.Group(UploadPath, s.requireUser)
	g.Post("", s.uploadFile)
	g.Get("/:id/meta", s.fileMeta)
	g.Get("/:id", s.getFile)
}

func badUpload(path, format string, args ...any) *Error {
	e := apiError(400, "bad_request", format, args...)
	e.Details = []schema.Problem{{Path: path, Message: e.Message}}
	return e
}

func (s *Server) uploadFile(c *fiber.Ctx) error {
	mt, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEMultipartForm || params["boundary"] == "" {
		return apiError(415, "unsupported_media_type", "send the file as multipart/form-data, with the part \"file\" and the value \"app\"")
	}
	if c.Get(fiber.HeaderContentEncoding) != "" {
		// fasthttp would gunzip the whole body in memory to parse it.
		return apiError(415, "unsupported_media_type", "send the upload without a Content-Encoding")
	}
	form, done, err := uploadForm(c, params["boundary"])
	if err != nil {
		return err
	}
	defer done()
	apps := form.Value["app"]
	if len(apps) != 1 {
		return badUpload("/app", "send the app's name once, as the form value \"app\"")
	}
	parts := form.File["file"]
	if len(parts) != 1 {
		return badUpload("/file", "send exactly one file, as the part \"file\"")
	}
	fh := parts[0]
	f, err := s.Files.Put(c.UserContext(), caller(c), files.Upload{
		App: apps[0], Name: rawFileName(fh), Size: fh.Size,
		Open: func() (io.ReadCloser, error) { return fh.Open() },
	})
	if err != nil {
		return err
	}
	return c.Status(201).JSON(f)
}

// uploadForm is the request's multipart form and what removes it. A body
// of known length was parsed by fasthttp as it arrived (fasthttp removes
// its temporary files); a chunked one was read into memory (bounded by
// MaxUploadBytes) and is parsed here, since fasthttp's own parse of it
// would copy every file part into memory again.
func uploadForm(c *fiber.Ctx, boundary string) (*multipart.Form, func(), error) {
	var (
		form *multipart.Form
		err  error
	)
	done := func() {}
	if c.Request().Header.ContentLength() >= 0 {
		form, err = c.MultipartForm()
	} else if form, err = multipart.NewReader(bytes.NewReader(c.Request().Body()), boundary).ReadForm(memoryPerUpload); err == nil {
		done = func() { form.RemoveAll() }
	}
	switch {
	case errors.Is(err, multipart.ErrMessageTooLarge):
		return nil, nil, apiError(413, files.CodeTooLarge, "the upload has too many or too large parts")
	case err != nil:
		return nil, nil, apiError(400, "bad_request", "the multipart body cannot be read: %s", strings.ToValidUTF8(err.Error(), "?"))
	}
	return form, done, nil
}

// rawFileName is the file name the client sent, as sent: mime/multipart's
// FileHeader.Filename has gone through filepath.Base, which keeps a
// Windows path whole and drops nothing else; files.CleanName cleans it.
func rawFileName(fh *multipart.FileHeader) string {
	_, params, err := mime.ParseMediaType(fh.Header.Get("Content-Disposition"))
	if err == nil && params["filename"] != "" {
		return params["filename"]
	}
	return fh.Filename
}

// fileMeta answers GET /api/files/{id}/meta.
func (s *Server) fileMeta(c *fiber.Ctx) error {
	f, err := s.Files.Meta(c.UserContext(), caller(c), c.Params("id"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	return c.JSON(f)
}

// getFile answers GET /api/files/{id}[?thumb=1] with the bytes, under the
// headers that keep a browser from running them: the sniffed type and
// nosniff, and as an attachment unless it is a raster image or a PDF.
func (s *Server) getFile(c *fiber.Ctx) error {
	thumb, err := boolParam(c, "thumb")
	if err != nil {
		return err
	}
	f, content, err := s.Files.Open(c.UserContext(), caller(c), c.Params("id"), thumb)
	if err != nil {
		return err
	}
	name := f.Name
	if thumb {
		name = "thumbnail-" + name
	}
	disposition := "attachment"
	if files.Inline(content.ContentType) {
		disposition = "inline"
	}
	c.Set(fiber.HeaderContentType, content.ContentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentDisposition, contentDisposition(disposition, name))
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	// Nothing served here may run as a page of this origin, even if a
	// browser ignored the headers above; a PDF viewer refuses to work in
	// a sandbox, so PDFs keep only the rest.
	if !strings.HasPrefix(content.ContentType, "application/pdf") {
		c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	}
	etag := f.SHA256
	if thumb {
		etag += "-thumb"
	}
	c.Set(fiber.HeaderETag, strconv.Quote(etag))
	return c.SendStream(content, int(content.Size))
}

// contentDisposition builds the header with an ASCII filename for old
// clients and the exact one in RFC 5987's filename* form.
func contentDisposition(kind, name string) string {
	var ascii, exact strings.Builder
	for _, r := range name {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '%' {
			ascii.WriteByte('_')
		} else {
			ascii.WriteRune(r)
		}
	}
	for _, b := range []byte(name) {
		// RFC 5987 attr-char; everything else percent-encoded.
		if 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0 {
			exact.WriteByte(b)
		} else {
			fmt.Fprintf(&exact, "%%%02X", b)
		}
	}
	return kind + `; filename="` + ascii.String() + `"; filename*=UTF-8''` + exact.String()
}
