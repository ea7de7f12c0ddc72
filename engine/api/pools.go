package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
)

// poolRoutes serves claims (POST …/{id}/claim); a pool's records are the
// list route with ?pool=NAME (data.go).
func (s *Server) poolRoutes(data fiber.Router) {
	if s.Assign == nil {
		return
	}
	data.Post("/:app/:entity/:id/claim", s.claimRecord)
}

// claimRecord answers POST …/{id}/claim: {"record": …}. The body, if any,
// must be an empty JSON object.
func (s *Server) claimRecord(c *fiber.Ctx) error {
	if len(c.Body()) > 0 {
		var in struct{}
		if err := decodeStrict(c.Body(), &in); err != nil {
			return err
		}
	}
	rec, err := s.Assign.Claim(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"))
	if err != nil {
		return err
	}
	b, _ := rec.MarshalJSON()
	return sendJSON(c, 200, append(append([]byte(`{"record":`), b...), '}'))
}

// poolScope is the list scope of ?pool=NAME, or nil without one.
func (s *Server) poolScope(c *fiber.Ctx) (*records.Scope, error) {
	name := c.Query("pool")
	if name == "" && !c.Context().QueryArgs().Has("pool") {
		return nil, nil
	}
	if s.Assign == nil || name == "" {
		return nil, apiError(404, "pool_not_found", "no pool %q that you may claim from", clipText(name, 80))
	}
	sc, err := s.Assign.PoolScope(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), name)
	if err != nil {
		return nil, err
	}
	return &sc, nil
}

// meRoutes serves what a user sees of lead distribution: the pools they
// may claim from (GET /api/me/pools) and their own absence
// (PUT /api/me/availability).
func (s *Server) meRoutes(app *fiber.App) {
	me := app.Group("/api/me", s.requireUser)
	me.Put("/availability", s.putAvailability)
	if s.Assign != nil {
		me.Get("/pools", s.myPools)
	}
}

func (s *Server) myPools(c *fiber.Ctx) error {
	items, err := s.Assign.Pools(c.UserContext(), caller(c))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": items})
}

// putAvailability answers PUT /api/me/availability {"away": bool,
// "awayUntil"?: RFC 3339 | null}: the caller marks themselves away (until
// a time ahead, or until they come back) or back. Skills and region stay.
func (s *Server) putAvailability(c *fiber.Ctx) error {
	var in struct {
		Away      *bool   `json:"away"`
		AwayUntil *string `json:"awayUntil"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	if in.Away == nil {
		return &access.InputError{Field: "away", Message: "away is required: true or false"}
	}
	var until *time.Time
	if in.AwayUntil != nil {
		t, err := time.Parse(time.RFC3339, *in.AwayUntil)
		switch {
		case err != nil:
			return &access.InputError{Field: "awayUntil", Message: "awayUntil must be a date and time in RFC 3339 (2026-05-01T09:00:00Z) or null"}
		case !*in.Away:
			return &access.InputError{Field: "awayUntil", Message: "awayUntil goes with away: true"}
		case !t.After(s.DB.Now()):
			return &access.InputError{Field: "awayUntil", Message: "awayUntil must be in the future"}
		}
		until = &t
	}
	me := user(c)
	cur, err := s.Access.UserByID(c.UserContext(), me.ID)
	if err != nil {
		return err
	}
	p := cur.Profile
	p.Away, p.AwayUntil = *in.Away, until
	u, err := s.Access.UpdateUser(c.UserContext(), me.ID, access.UserUpdate{Profile: &p})
	if err != nil {
		return err
	}
	s.audit(c, access.Entry{Actor: me.ID, Action: access.AuditUserUpdate, Target: u.Email,
		Detail: map[string]any{"away": p.Away, "awayUntil": p.AwayUntil}})
	return c.JSON(u)
}
