package api

import "github.com/gofiber/fiber/v2"

// STUB (approvals helper): /api/me/approvals, /api/approvals/{id}/{decision}.
func (s *Server) approvalRoutes(app *fiber.App) {}
