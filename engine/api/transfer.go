package api

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/schema"
)

// transferUser hands every record a departing user owns, in every app and
// entity, over to a successor: POST /api/admin/users/{id}/transfer with
// {"to": "<user id>"}. All records move in one transaction or none does.
// The answer counts them: {"moved": N, "byEntity": {"app.entity": n}}.
func (s *Server) transferUser(c *fiber.Ctx) error {
	var in struct {
		To *string `json:"to"`
	}
	if err := decodeStrict(c.Body(), &in); err != nil {
		return err
	}
	if in.To == nil || strings.TrimSpace(*in.To) == "" {
		return &Error{Status: 422, Code: "validation_failed", Message: "to is required: the id of the user who takes over the records",
			Details: []schema.Problem{{Path: "/to", Code: "required", Params: map[string]any{"field": "to"}, Message: "is required"}}}
	}
	ctx := c.UserContext()
	from, err := s.Access.UserByID(ctx, c.Params("id"))
	if err != nil {
		return err
	}
	to, err := s.Access.UserByID(ctx, strings.TrimSpace(*in.To))
	if errors.Is(err, access.ErrNotFound) {
		return apiError(404, "not_found", "no user with id %q to take over the records", *in.To)
	} else if err != nil {
		return err
	}
	switch {
	case to.ID == from.ID:
		return &Error{Status: 422, Code: "validation_failed", Message: "a user's records cannot be transferred to that same user",
			Details: []schema.Problem{{Path: "/to", Code: "same_user", Params: map[string]any{"field": "to"}, Message: "must be another user"}}}
	case !to.Active:
		return &Error{Status: 422, Code: "validation_failed", Message: "the successor's account is deactivated; activate it or choose another user",
			Details: []schema.Problem{{Path: "/to", Code: "inactive_user", Params: map[string]any{"field": "to"}, Message: "must be an active user"}}}
	}
	byEntity, err := s.Records.TransferOwner(ctx, user(c).ID, from.ID, to.ID)
	if err != nil {
		return err
	}
	var moved int64
	for _, n := range byEntity {
		moved += n
	}
	s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditUserTransfer, Target: from.Email,
		Detail: map[string]any{"from": from.ID, "to": to.ID, "toEmail": to.Email, "moved": moved, "byEntity": byEntity}})
	return c.JSON(fiber.Map{"moved": moved, "byEntity": byEntity})
}
