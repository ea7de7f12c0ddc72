package api

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/flow"
)

// maxDecisionBytes bounds a decision's body (a comment of flow.MaxComment
// bytes, escaped, and the rest).
const maxDecisionBytes = 6 * flow.MaxComment

// approvalRoutes serves the approvals inbox and decisions:
//
//	GET  /api/me/approvals?status=pending|decided|mine&limit=&cursor=
//	GET  /api/approvals/{id}
//	POST /api/approvals/{id}/approve|reject|delegate|withdraw  {"comment", "to", "version"}
func (s *Server) approvalRoutes(app *fiber.App) {
	app.Get("/api/me/approvals", s.requireUser, s.listApprovals)
	app.All("/api/me/approvals", notAllowed("GET"))
	app.Get("/api/approvals/:id", s.requireUser, s.getApproval)
	app.Post("/api/approvals/:id/:decision", s.requireUser, s.decideApproval)
	app.All("/api/approvals/:id/:decision", notAllowed("POST"))
}

func (s *Server) listApprovals(c *fiber.Ctx) error {
	if s.Flows == nil {
		return sendJSONValue(c, 200, &flow.InboxPage{Items: []*flow.ApprovalView{}})
	}
	limit, err := intParam(c, "limit")
	if err != nil {
		return err
	}
	if c.Query("limit") != "" && limit == 0 {
		return apiError(400, "invalid_query", "limit must be between 1 and %d", flow.InboxMaxLimit)
	}
	page, err := s.Flows.Inbox(c.UserContext(), caller(c), c.Query("status", flow.InboxPending), limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	return sendJSONValue(c, 200, page)
}

func (s *Server) getApproval(c *fiber.Ctx) error {
	if s.Flows == nil {
		return apiError(404, "not_found", "no approval with id %q", c.Params("id"))
	}
	v, err := s.Flows.Approval(c.UserContext(), caller(c), strings.ToLower(c.Params("id")))
	if err != nil {
		return err
	}
	return sendJSONValue(c, 200, v)
}

func (s *Server) decideApproval(c *fiber.Ctx) error {
	if s.Flows == nil {
		return apiError(404, "not_found", "no approval with id %q", c.Params("id"))
	}
	if len(c.Body()) > maxDecisionBytes {
		return apiError(413, "payload_too_large", "a decision's body may be at most %d bytes", maxDecisionBytes)
	}
	in, err := decodeDecision(c.Body())
	if err != nil {
		return err
	}
	v, err := s.Flows.Decide(c.UserContext(), caller(c), c.Params("id"), c.Params("decision"), in)
	if err != nil {
		return err
	}
	return sendJSONValue(c, 200, v)
}

// decodeDecision reads a decision body strictly: an object of comment,
// to and version only; an unknown key or malformed JSON is a 400, a value
// of the wrong type a 422 at its path.
func decodeDecision(body []byte) (flow.DecisionInput, error) {
	var in flow.DecisionInput
	if len(bytes.TrimSpace(body)) == 0 {
		return in, apiError(400, "invalid_json", "the body must be a JSON object: {\"version\": n, \"comment\": \"…\"}")
	}
	return in, decodeObject(body, &in, "comment, to and version")
}

func sendJSONValue(c *fiber.Ctx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sendJSON(c, status, b)
}
