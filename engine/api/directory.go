package api

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// directoryEntry is what a signed-in user may know of a colleague: enough
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
// a user field's current value), or 404. Roles and the admin flag are not
// shown.
//
// The admin sees every active user; anyone else themselves and their
// colleagues: the users who share an app with them (see colleagues). Asked
// by id for anyone else — unknown, deactivated or not a colleague — the
// answer is the same 404.
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
	shares, err := s.colleagues(c)
	if err != nil {
		return err
	}
	out := []directoryEntry{}
	for _, u := range users {
		if !u.Active || (id != "" && !strings.EqualFold(u.ID, id)) || !shares(&u) {
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
	if id != "" && len(out) == 0 {
		return apiError(404, "not_found", "not found")
	}
	return c.JSON(fiber.Map{"items": out})
}

// colleagues returns whether the caller may see a user in the directory:
// the admin everyone; anyone else themselves and every user who is in an
// app they are in too. Being in an app is records.Member: holding a role
// the app defines or a default role it keeps, by role name alone (a user's
// admin flag is not a role, so an admin without roles is nobody's
// colleague).
func (s *Server) colleagues(c *fiber.Ctx) (func(*access.User) bool, error) {
	me := caller(c)
	if me.Admin {
		return func(*access.User) bool { return true }, nil
	}
	apps, err := s.DB.Apps(c.UserContext())
	if err != nil {
		return nil, err
	}
	var mine []*schema.App
	for _, a := range apps {
		doc, err := s.Catalog.App(c.UserContext(), a.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if s.Records.Member(doc, me) {
			mine = append(mine, doc)
		}
	}
	return func(u *access.User) bool {
		if u.ID == me.UserID {
			return true
		}
		them := records.Caller{UserID: u.ID, Roles: u.Roles}
		for _, doc := range mine {
			if s.Records.Member(doc, them) {
				return true
			}
		}
		return false
	}, nil
}
