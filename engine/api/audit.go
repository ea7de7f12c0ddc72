package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
)

// audit appends an entry to the audit log with the request's IP. The action
// it records has already happened, so a failure to write is logged rather
// than turned into an error answer.
func (s *Server) audit(c *fiber.Ctx, e access.Entry) {
	e.IP = c.IP()
	if err := s.Access.Audit(c.UserContext(), e); err != nil {
		s.Log.Error("audit log write failed", "action", e.Action, "target", e.Target, "err", err)
	}
}

// loginAudit records a login attempt: the email as typed (lower-cased),
// never the password.
func (s *Server) loginAudit(c *fiber.Ctx, email string, u *access.User, err error) {
	e := access.Entry{Action: access.AuditLogin, Target: strings.ToLower(strings.TrimSpace(email))}
	if err != nil {
		e.Action = access.AuditLoginFailed
		e.Detail = map[string]string{"reason": toAPIError(err).Code}
	} else if u != nil {
		e.Actor = u.ID
	}
	s.audit(c, e)
}

// listAudit answers the audit log to an admin, newest first:
// ?action=login_failed&limit=50&cursor=….
func (s *Server) listAudit(c *fiber.Ctx) error {
	limit, err := intParam(c, "limit")
	if err != nil {
		return err
	}
	if c.Query("limit") != "" && (limit < 1 || limit > access.AuditMaxLimit) {
		return apiError(400, "invalid_query", "limit must be between 1 and %d", access.AuditMaxLimit)
	}
	page, err := s.Access.AuditLog(c.UserContext(), access.AuditQuery{Action: c.Query("action"), Limit: limit, Cursor: c.Query("cursor")})
	if err != nil {
		var ie *access.InputError
		if asInput(err, &ie) {
			return apiError(400, "invalid_query", "%s %s", ie.Field, ie.Message)
		}
		return err
	}
	return c.JSON(page)
}

func asInput(err error, ie **access.InputError) bool {
	e, ok := err.(*access.InputError)
	if ok {
		*ie = e
	}
	return ok
}
