package api

import "github.com/gofiber/fiber/v2"

// duplicateRoutes serves probable duplicates (GET …/{entity}/duplicates,
// GET …/{id}/duplicates) and merging (POST …/{id}/merge).
func (s *Server) duplicateRoutes(data fiber.Router) {
	if s.Bulk == nil {
		return
	}
}
