package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/flow"
	"github.com/formaapp/forma/schema"
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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return in, &Error{Status: 422, Code: "validation_failed", Message: te.Field + " must be " + te.Type.String(),
				Details: []schema.Problem{{Path: "/" + te.Field, Code: "type", Params: map[string]any{"field": te.Field, "expected": te.Type.String()}, Message: "must be " + te.Type.String()}}}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			key := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return in, &Error{Status: 400, Code: "invalid_json", Message: "unknown field " + key + ": a decision takes comment, to and version",
				Details: []schema.Problem{{Path: "/" + key, Code: "unknown_field", Params: map[string]any{"field": key}, Message: "unknown field"}}}
		}
		return in, apiError(400, "invalid_json", "the body is not a JSON object of comment, to and version: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return in, apiError(400, "invalid_json", "the body holds more than one JSON value")
	}
	return in, strictBody(body)
}

func sendJSONValue(c *fiber.Ctx, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sendJSON(c, status, b)
}
