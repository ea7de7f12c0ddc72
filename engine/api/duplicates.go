package api

import (
	"encoding/json"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/bulk"
)

// duplicateRoutes serves probable duplicates (GET …/{entity}/duplicates,
// GET …/{id}/duplicates) and merging (POST …/{id}/merge).
func (s *Server) duplicateRoutes(data fiber.Router) {
	if s.Bulk == nil {
		return
	}
	data.Get("/:app/:entity/duplicates", s.listDuplicates)
	data.Get("/:app/:entity/:id/duplicates", s.recordDuplicates)
	data.Post("/:app/:entity/:id/merge", s.mergeRecord)
}

// listDuplicates answers GET …/{entity}/duplicates?rule=&limit=&cursor=:
// {"items":[{"rule","records":[…]}],"nextCursor"}.
func (s *Server) listDuplicates(c *fiber.Ctx) error {
	limit := 0
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return apiError(400, "invalid_query", "limit must be a whole number")
		}
		limit = n
		if n == 0 {
			limit = -1
		}
	}
	out, err := s.Bulk.Duplicates(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Query("rule"), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return sendJSON(c, 200, b)
}

// recordDuplicates answers GET …/{id}/duplicates:
// {"items":[{"rule","record","score"}]}.
func (s *Server) recordDuplicates(c *fiber.Ctx) error {
	items, err := s.Bulk.DuplicatesOf(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"))
	if err != nil {
		return err
	}
	b, err := json.Marshal(map[string]any{"items": items})
	if err != nil {
		return err
	}
	return sendJSON(c, 200, b)
}

// mergeRecord answers POST …/{id}/merge {"duplicate","fields","version"}
// with {"record": survivor}.
func (s *Server) mergeRecord(c *fiber.Ctx) error {
	var req bulk.MergeRequest
	if err := decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	rec, err := s.Bulk.Merge(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"), req)
	if err != nil {
		return err
	}
	b, _ := rec.MarshalJSON()
	return sendJSON(c, 200, append(append([]byte(`{"record":`), b...), '}'))
}
