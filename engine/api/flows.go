package api

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/flow"
	"github.com/formaapp/forma/schema"
)

// flowRoutes serves a record's transitions: what the caller may take now
// (GET …/{id}/transitions) and taking one (POST …/{id}/transitions/{name}).
// A record the caller may not read, an entity no flow governs and an
// unknown transition answer 404 alike.
func (s *Server) flowRoutes(data fiber.Router) {
	if s.Flows == nil {
		return
	}
	data.Get("/:app/:entity/:id/transitions", s.listTransitions)
	data.Post("/:app/:entity/:id/transitions/:name", s.takeTransition)
}

func (s *Server) listTransitions(c *fiber.Ctx) error {
	av, err := s.Flows.Transitions(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"))
	if err != nil {
		return err
	}
	localizeLacks(av, readerLanguage(c))
	return c.JSON(av)
}

func (s *Server) takeTransition(c *fiber.Ctx) error {
	var req flow.TakeRequest
	if err := decodeStrict(c.Body(), &req); err != nil {
		var ae *Error
		if errors.As(err, &ae) && strings.HasPrefix(ae.Message, "unknown field ") {
			// A key the body does not have is the client's mistake in
			// the request's shape: 400, at its path.
			key := strings.Trim(strings.TrimPrefix(ae.Message, "unknown field "), `"`)
			return &Error{Status: 400, Code: "bad_request", Message: ae.Message + ": a transition takes version, fields and comment",
				Details: []schema.Problem{{Path: "/" + key, Code: "unknown_field", Params: map[string]any{"field": key}, Message: "unknown key"}}}
		}
		return err
	}
	if req.Version < 1 {
		return &Error{Status: 422, Code: "validation_failed", Message: "version is required: send the version you read, so a concurrent change is not overwritten",
			Details: []schema.Problem{{Path: "/version", Code: "type", Params: map[string]any{"field": "version", "expected": "integer"}, Message: "version must be the record's version you read, a whole number from 1"}}}
	}
	taken, err := s.Flows.Take(c.UserContext(), caller(c), c.Params("app"), c.Params("entity"), c.Params("id"), c.Params("name"), req)
	if err != nil {
		return err
	}
	if taken.Approval != nil {
		return c.Status(202).JSON(fiber.Map{"approval": taken.Approval})
	}
	rec, _ := taken.Record.MarshalJSON()
	return sendJSON(c, 200, append(append([]byte(`{"record":`), rec...), '}'))
}
