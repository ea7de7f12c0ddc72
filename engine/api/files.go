package api

import "github.com/gofiber/fiber/v2"

// STUB (files helper): POST /api/files, GET /api/files/{id}.
func (s *Server) fileRoutes(app *fiber.App) {}
