package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/records"
)

// recordHistory answers the changes of one record, newest first:
// {"items": [{"id","op","path","actor","at","version","changes","cause"}], "nextCursor"}.
func (s *Server) recordHistory(c *fiber.Ctx) error {
	limit, err := intParam(c, "limit")
	if err != nil {
		return err
	}
	if c.Query("limit") != "" && (limit < 1 || limit > records.MaxLimit) {
		return apiError(400, "invalid_query", "limit must be between 1 and %d", records.MaxLimit)
	}
	page, err := s.Records.History(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	return sendJSON(c, 200, page.AppendJSON(make([]byte, 0, 4096)))
}
