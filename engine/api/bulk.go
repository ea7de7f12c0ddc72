package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/records"
)

// bulkRoutes: bulk edit and delete as one job (records/bulk.go).
//
//	POST /api/data/{app}/{entity}/bulk {"ids": […] | "filter": "…", "set": {…} | "delete": true, "expected": n}
//	  → 202 {"job": id, "count": n}
//	GET  /api/data/{app}/{entity}/bulk/{job} → records.BulkStatus
func (s *Server) bulkRoutes(data fiber.Router) {
	data.Post("/:app/:entity/bulk", s.startBulk)
	data.Get("/:app/:entity/bulk/:job", s.bulkStatus)
}

func (s *Server) startBulk(c *fiber.Ctx) error {
	if err := checkRecordBody(c); err != nil {
		return err
	}
	var req records.BulkRequest
	if err := decodeStrict(c.Body(), &req); err != nil {
		return err
	}
	started, err := s.Records.StartBulk(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), req)
	if err != nil {
		return err
	}
	return c.Status(202).JSON(started)
}

func (s *Server) bulkStatus(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("job"), 10, 64)
	if err != nil || id <= 0 {
		return apiError(404, "not_found", "no bulk job %q", c.Params("job"))
	}
	st, err := s.Records.BulkStatus(c.UserContext(), caller(c), id)
	if err != nil {
		return err
	}
	if st.App != c.Params("app") || st.Entity != c.Params("entity") {
		return apiError(404, "not_found", "no bulk job %d of %s.%s", id, c.Params("app"), c.Params("entity"))
	}
	return c.JSON(st)
}
