package api

import (
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// directoryEntry is what every signed-in user may know of a colleague: enough
// to pick them for a user field (an assignee) and to show who they are.
type directoryEntry struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Email  string `json:"email"`
	TeamID string `json:"teamId,omitempty"`
}

// listDirectory answers GET /api/directory/users?q=&limit=: the active
// users whose name or email contains q (any letter case), by email, at most
// limit (default 20, at most 100); with ?id=, that one user (a form showing
// a user field's current value). Roles and the admin flag are not shown.
func (s *Server) listDirectory(c *fiber.Ctx) error {
	q := strings.ToLower(strings.TrimSpace(c.Query("q")))
	if utf8.RuneCountInString(q) > 200 {
		return apiError(400, "invalid_query", "q must be at most 200 characters")
	}
	limit, err := limitParam(c, 100)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 20
	}
	id := c.Query("id")
	if len(id) > 64 {
		return apiError(400, "invalid_query", "id is not a user id")
	}
	users, err := s.Access.Users(c.UserContext())
	if err != nil {
		return err
	}
	out := []directoryEntry{}
	for _, u := range users {
		if !u.Active || (id != "" && u.ID != id) {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(u.Name), q) && !strings.Contains(strings.ToLower(u.Email), q) {
			continue
		}
		out = append(out, directoryEntry{ID: u.ID, Name: u.Name, Email: u.Email, TeamID: u.TeamID})
		if len(out) == limit {
			break
		}
	}
	return c.JSON(fiber.Map{"items": out})
}
