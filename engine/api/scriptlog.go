package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/scriptlog"
	"github.com/formaapp/forma/schema"
)

// scriptLogApp checks that the script log is wired and that the app exists
// (404 otherwise), and returns the app's name.
func (s *Server) scriptLogApp(c *fiber.Ctx) (string, error) {
	if s.ScriptLog == nil {
		return "", apiError(500, "internal", "the script log is not configured on this server")
	}
	app := c.Params("app")
	if _, err := s.Catalog.App(c.UserContext(), app); err != nil {
		return "", err
	}
	return app, nil
}

// listScriptLog answers an app's script log to an admin, newest first:
// ?limit=100&before=<id>&level=error&script=…&entity=…&record=… →
// {"items": [...], "next": "<id>"} (next omitted on the last page).
func (s *Server) listScriptLog(c *fiber.Ctx) error {
	q := scriptlog.Query{Level: strings.ToLower(c.Query("level")), Script: c.Query("script"), Entity: c.Query("entity"), RecordID: c.Query("record")}
	var err error
	if q.Limit, err = limitParam(c, scriptlog.MaxLimit); err != nil {
		return err
	}
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return apiError(400, "invalid_query", "before must be the next of an earlier page (a positive whole number), not %q", v)
		}
		q.Before = n
	}
	if q.Level != "" && !scriptlog.ValidLevel(q.Level) {
		return apiError(400, "invalid_query", "level must be one of log, info, warn, error, debug, not %q", q.Level)
	}
	app, err := s.scriptLogApp(c)
	if err != nil {
		return err
	}
	items, next, err := s.ScriptLog.List(c.UserContext(), app, q)
	if err != nil {
		return err
	}
	out := struct {
		Items []scriptlog.Entry `json:"items"`
		Next  string            `json:"next,omitempty"`
	}{Items: items}
	if next > 0 {
		out.Next = strconv.FormatInt(next, 10)
	}
	return c.JSON(out)
}

// clearScriptLog deletes an app's script log: {"deleted": n}.
func (s *Server) clearScriptLog(c *fiber.Ctx) error {
	app, err := s.scriptLogApp(c)
	if err != nil {
		return err
	}
	n, err := s.ScriptLog.Clear(c.UserContext(), app)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"deleted": n})
}

// testScript runs a hook, a formula, or an entity's formulas and rules on
// a sample record without writing anything (POST …/scripts/test with
// {"entity", "hook"|"formula", "record", "previous"}), answering
// {"ok", "result", "record", "changes", "logs", "error"}.
func (s *Server) testScript(c *fiber.Ctx) error {
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	var t records.ScriptTest
	if err := dec.Decode(&t); err != nil {
		return apiError(400, "invalid_json", "the test request must be a JSON object {entity, hook or formula, record, previous}: %v", err)
	}
	if dec.More() {
		return apiError(400, "invalid_json", "the body holds more than one JSON value")
	}
	if err := strictBody(c.Body()); err != nil {
		return err
	}
	if t.Entity == "" {
		return &Error{Status: 422, Code: "validation_failed", Message: "entity is required", Details: []schema.Problem{{Path: "/entity", Code: "required", Params: map[string]any{"field": "entity"}, Message: "entity is required"}}}
	}
	res, err := s.Records.TestScript(c.UserContext(), caller(c), c.Params("app"), t)
	if err != nil {
		return err
	}
	return c.JSON(res)
}
