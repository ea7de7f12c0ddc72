package api

import "github.com/gofiber/fiber/v2"

// STUB (flow-core helper): GET/POST /api/data/{app}/{entity}/{id}/transitions[/{name}].
func (s *Server) flowRoutes(data fiber.Router) {}
