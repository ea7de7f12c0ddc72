package api

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
)

// userRoutes registers user and team administration (admin only) and the
// password reset that a reset token authorises. It must run before the
// /api/auth group installs its requireUser middleware.
func (s *Server) userRoutes(app *fiber.App) {
	app.Post("/api/auth/reset-password", s.completeReset)

	adm := app.Group("/api/admin", s.requireUser, s.requireAdmin)
	adm.Get("/users", s.listUsers)
	adm.Post("/users", s.createUser)
	adm.Get("/users/:id", s.getUser)
	adm.Patch("/users/:id", s.patchUser)
	adm.Post("/users/:id/reset-password", s.resetPassword)
	adm.Post("/users/:id/transfer", s.transferUser) // transfer.go
	adm.Get("/teams", s.listTeams)
	adm.Post("/teams", s.createTeam)
	adm.Patch("/teams/:id", s.patchTeam)
	adm.Delete("/teams/:id", s.deleteTeam)
}

func (s *Server) listUsers(c *fiber.Ctx) error {
	us, err := s.Access.Users(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": us})
}

// createUser creates a user with a password, or, when the body has no
// password, invites them: the answer then carries the reset token with
// which they choose one, shown this once.
func (s *Server) createUser(c *fiber.Ctx) error {
	var in struct {
		Email    string   `json:"email"`
		Password *string  `json:"password"`
		Name     string   `json:"name"`
		Roles    []string `json:"roles"`
		TeamID   string   `json:"teamId"`
		Admin    bool     `json:"admin"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	nu := access.NewUser{Email: in.Email, Name: in.Name, Roles: in.Roles, TeamID: in.TeamID, Admin: in.Admin}
	if in.Password == nil {
		u, tok, err := s.Access.InviteWith(c.UserContext(), nu)
		if err != nil {
			return err
		}
		s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditUserCreate, Target: u.Email,
			Detail: map[string]any{"id": u.ID, "roles": u.Roles, "teamId": u.TeamID, "admin": u.Admin, "invited": true}})
		return c.Status(201).JSON(fiber.Map{"user": u, "resetToken": tok})
	}
	nu.Password = *in.Password
	u, err := s.Access.CreateUserWith(c.UserContext(), nu)
	if err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditUserCreate, Target: u.Email,
		Detail: map[string]any{"id": u.ID, "roles": u.Roles, "teamId": u.TeamID, "admin": u.Admin}})
	return c.Status(201).JSON(fiber.Map{"user": u})
}

func (s *Server) getUser(c *fiber.Ctx) error {
	u, err := s.Access.UserByID(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	return c.JSON(u)
}

func (s *Server) patchUser(c *fiber.Ctx) error {
	var in struct {
		Name   *string   `json:"name"`
		Roles  *[]string `json:"roles"`
		TeamID *string   `json:"teamId"`
		Active *bool     `json:"active"`
		// Profile replaces the whole profile (skills, region, away,
		// awayUntil).
		Profile *access.Profile `json:"profile"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	// An admin cannot lock themselves out.
	if in.Active != nil && !*in.Active && strings.EqualFold(c.Params("id"), user(c).ID) {
		return apiError(422, "validation_failed", "you cannot deactivate your own account")
	}
	u, err := s.Access.UpdateUser(c.UserContext(), c.Params("id"),
		access.UserUpdate{Name: in.Name, Roles: in.Roles, TeamID: in.TeamID, Active: in.Active, Profile: in.Profile})
	if err != nil {
		return err
	}
	changed := map[string]any{}
	if in.Name != nil {
		changed["name"] = *in.Name
	}
	if in.Roles != nil {
		changed["roles"] = *in.Roles
	}
	if in.TeamID != nil {
		changed["teamId"] = *in.TeamID
	}
	if in.Active != nil {
		changed["active"] = *in.Active
	}
	if in.Profile != nil {
		changed["profile"] = u.Profile
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditUserUpdate, Target: u.Email, Detail: changed})
	return c.JSON(u)
}

func (s *Server) resetPassword(c *fiber.Ctx) error {
	tok, err := s.Access.ResetPassword(c.UserContext(), c.Params("id"))
	if err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditPasswordReset, Target: c.Params("id")})
	return c.JSON(fiber.Map{"resetToken": tok})
}

// completeReset sets a password with a reset token; no login needed.
func (s *Server) completeReset(c *fiber.Ctx) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	u, err := s.Access.CompletePasswordReset(c.UserContext(), in.Token, in.Password)
	if errors.Is(err, access.ErrUnauthorized) {
		return apiError(401, "unauthorized", "the reset token is invalid, expired or already used")
	}
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"user": u})
}

func (s *Server) listTeams(c *fiber.Ctx) error {
	ts, err := s.Access.Teams(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": ts})
}

func (s *Server) createTeam(c *fiber.Ctx) error {
	var in struct {
		Name      string  `json:"name"`
		ParentID  string  `json:"parentId"`
		ManagerID *string `json:"managerId"` // null or absent: none
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	t, err := s.Access.CreateTeamWith(c.UserContext(), access.NewTeam{Name: in.Name, ParentID: in.ParentID, ManagerID: deref(in.ManagerID)})
	if err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditTeamChange, Target: t.ID, Detail: map[string]any{"op": "create", "name": in.Name, "parentId": in.ParentID, "managerId": t.ManagerID}})
	return c.Status(201).JSON(t)
}

func (s *Server) patchTeam(c *fiber.Ctx) error {
	var in struct {
		Name     *string `json:"name"`
		ParentID *string `json:"parentId"`
		// ManagerID: absent keeps the manager, null (or "") clears it, an id
		// sets it.
		ManagerID optionalString `json:"managerId"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	up := access.TeamUpdate{Name: in.Name, ParentID: in.ParentID}
	if in.ManagerID.Set {
		up.ManagerID = &in.ManagerID.Value
	}
	t, err := s.Access.UpdateTeam(c.UserContext(), c.Params("id"), up)
	if err != nil {
		return err
	}
	detail := map[string]any{"op": "update", "name": in.Name, "parentId": in.ParentID}
	if in.ManagerID.Set {
		detail["managerId"] = t.ManagerID
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditTeamChange, Target: t.ID, Detail: detail})
	return c.JSON(t)
}

func (s *Server) deleteTeam(c *fiber.Ctx) error {
	err := s.Access.DeleteTeam(c.UserContext(), c.Params("id"))
	if errors.Is(err, access.ErrInUse) {
		return apiError(409, "in_use", "%s", err.Error())
	}
	if err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditTeamChange, Target: c.Params("id"), Detail: map[string]any{"op": "delete"}})
	return c.SendStatus(204)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// optionalString is a JSON field that may be absent (Set false), null
// (Set, Value "") or a string.
type optionalString struct {
	Set   bool
	Value string
}

func (o *optionalString) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Value = ""
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}
