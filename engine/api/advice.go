package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
)

// indexRoutes serves the index advisor and the state of the indexes built
// after a migration (PostgreSQL builds list views' indexes concurrently).
// All are the admin's: they name fields and show query shapes.
func (s *Server) indexRoutes(meta fiber.Router) {
	meta.Get("/apps/:app/advice", s.requireAdmin, s.listAdvice)
	meta.Post("/apps/:app/advice/:id/apply", s.requireAdmin, s.applyAdvice)
	meta.Get("/apps/:app/indexes", s.requireAdmin, s.indexBuilds)
}

// listAdvice answers the advisor's proposals: the shapes of this app's slow
// list queries on every server sharing the database (never their values),
// each with the index that would serve it and what EXPLAIN says of the
// query now and with the index.
func (s *Server) listAdvice(c *fiber.Ctx) error {
	if _, err := s.DB.Document(c.UserContext(), c.Params("app"), 0); err != nil {
		return err
	}
	advice, err := s.Records.Advice(c.UserContext(), c.Params("app"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": advice})
}

// applyAdvice declares the index of one proposal on its entity and applies
// the document as the app's next version, as a POST of the document would
// (the answer is the same: plan and version).
func (s *Server) applyAdvice(c *fiber.Ctx) error {
	ctx := c.UserContext()
	doc, err := s.DB.Document(ctx, c.Params("app"), 0)
	if err != nil {
		return err
	}
	next, found, err := s.Records.WithAdvice(ctx, doc, c.Params("id"))
	if err != nil {
		return err
	}
	if !found {
		return apiError(404, "not_found", "no advice %q for app %s (list the advice again)", c.Params("id"), doc.Name)
	}
	if problems := next.Check(); len(problems) > 0 {
		return problems
	}
	if problems := s.Records.CheckApp(next); len(problems) > 0 {
		return problems
	}
	if problems := s.checkAutomations(ctx, next); len(problems) > 0 {
		return problems
	}
	plan, _, err := s.Records.Apply(ctx, next, store.ApplyOptions{AppliedBy: user(c).ID, BaseVersion: doc.Version})
	if err != nil {
		return err
	}
	s.Catalog.Forget(next.Name)
	status := 200
	if plan.ToVersion != plan.FromVersion {
		status = 201
		s.audit(c, access.Entry{Actor: user(c).ID, Action: access.AuditAppApply, Target: next.Name,
			Detail: map[string]any{"fromVersion": plan.FromVersion, "toVersion": plan.ToVersion, "advice": c.Params("id")}})
	}
	return c.Status(status).JSON(fiber.Map{
		"app": next.Name, "version": plan.ToVersion, "dryRun": false,
		"applied": plan.ToVersion != plan.FromVersion, "plan": plan,
	})
}

// indexBuilds answers the state of the indexes built after their migration
// committed: pending, building, ready or failed (with the error; the next
// migration or server start builds a failed one again). SQLite builds every
// index inside its migration, so its list is empty.
func (s *Server) indexBuilds(c *fiber.Ctx) error {
	if _, err := s.DB.Document(c.UserContext(), c.Params("app"), 0); err != nil {
		return err
	}
	builds, err := s.DB.IndexBuilds(c.UserContext(), c.Params("app"))
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": builds})
}
