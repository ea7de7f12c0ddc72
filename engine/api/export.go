package api

import "github.com/gofiber/fiber/v2"

// exportRoutes serves GET …/{entity}/export?format=csv|xlsx&filter=&sort=&fields=&labels=,
// streamed under the caller's rules.
func (s *Server) exportRoutes(data fiber.Router) {
	if s.Bulk == nil {
		return
	}
}
