package api

import (
	"context"
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/schema"
)

// jobRoutes are the admin's view of the durable jobs.
func (s *Server) jobRoutes(app *fiber.App) {
	g := app.Group("/api/admin/jobs", s.requireUser, s.requireAdmin)
	g.Get("", s.listJobs)
	g.Get("/:id", s.getJob)
	g.Post("/:id/retry", s.retryJob)
	g.Post("/:id/cancel", s.cancelJob)
}

func (s *Server) jobQueue() (*jobs.Queue, error) {
	if s.Jobs == nil {
		return nil, apiError(500, "internal", "the job queue is not configured on this server")
	}
	return s.Jobs, nil
}

// listJobs answers GET /api/admin/jobs?state=&kind=&limit=&cursor= →
// {"items": [...], "nextCursor": "…", "counts": {"queued": n, …}}, newest
// first.
func (s *Server) listJobs(c *fiber.Ctx) error {
	q, err := s.jobQueue()
	if err != nil {
		return err
	}
	lq := jobs.ListQuery{State: c.Query("state"), Kind: c.Query("kind"), Cursor: c.Query("cursor")}
	if lq.Limit, err = limitParam(c, jobs.MaxListLimit); err != nil {
		return err
	}
	page, err := q.List(c.UserContext(), lq)
	if err != nil {
		return jobError(err)
	}
	return c.JSON(page)
}

func jobID(c *fiber.Ctx) (int64, error) {
	v := c.Params("id")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, apiError(400, "invalid_id", "a job id is a positive whole number, not %q", v)
	}
	return id, nil
}

func (s *Server) getJob(c *fiber.Ctx) error {
	return s.jobAction(c, (*jobs.Queue).Get)
}

// retryJob answers POST /api/admin/jobs/{id}/retry: the job runs again as
// soon as possible (a discarded or cancelled one gets one more attempt).
func (s *Server) retryJob(c *fiber.Ctx) error {
	return s.jobAction(c, (*jobs.Queue).Retry)
}

// cancelJob answers POST /api/admin/jobs/{id}/cancel.
func (s *Server) cancelJob(c *fiber.Ctx) error {
	return s.jobAction(c, (*jobs.Queue).Cancel)
}

func (s *Server) jobAction(c *fiber.Ctx, do func(*jobs.Queue, context.Context, int64) (*jobs.Info, error)) error {
	q, err := s.jobQueue()
	if err != nil {
		return err
	}
	id, err := jobID(c)
	if err != nil {
		return err
	}
	in, err := do(q, c.UserContext(), id)
	if err != nil {
		return jobError(err)
	}
	return c.JSON(in)
}

func jobError(err error) error {
	var ie *jobs.InputError
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		return apiError(404, "not_found", "no such job")
	case errors.As(err, &ie):
		return &Error{Status: 400, Code: "invalid_query", Message: ie.Message, Details: []schema.Problem{{Path: "/" + ie.Field, Code: "invalid", Params: map[string]any{"field": ie.Field}, Message: ie.Message}}}
	}
	return err
}
