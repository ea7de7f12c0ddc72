package flow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/automation"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

// Escalation: a step still pending at its deadline escalates as its
// Escalate says — notify (Notify's recipients, by default the managers
// of the approvers still to decide) and keep waiting; next (the managers
// above those approvers join the step with a fresh deadline; with nobody
// above, the step passes to the next step that applies, and with none,
// the step keeps waiting as with notify); or reject (automatically, in
// the history with the reason). A periodic durable job (River) runs Tick
// every TickEvery on the engine clock; tests move the clock and call
// Tick. Each escalation bumps the request's version like a decision, so
// several servers ticking at once escalate a step once.

// TickEvery is how often the escalation job runs Tick in production.
const TickEvery = time.Minute

type escalationTick struct{}

func (escalationTick) Kind() string { return "flow_approval_tick" }

// InsertOpts: one tick at a time, no retry (the next tick comes anyway).
func (escalationTick) InsertOpts() river.InsertOpts {
	return jobs.TickOpts()
}

func (s *Service) registerEscalation() error {
	if s.jobs == nil {
		return nil
	}
	if err := jobs.RegisterTick[escalationTick](s.jobs, "flow_approval_tick", TickEvery, s.Tick); err != nil {
		return fmt.Errorf("flow: %w", err)
	}
	return nil
}

// maxEscalations bounds the steps one tick escalates (the next tick
// takes the rest).
const maxEscalations = 500

// Tick escalates every pending step whose deadline has passed.
func (s *Service) Tick(ctx context.Context) error {
	rows, err := s.db.Pool().QueryContext(ctx, `SELECT s."approval_id", s."idx" FROM `+stepsTable+` s JOIN `+approvalsTable+` a ON a."id" = s."approval_id"
		WHERE a."status" = ? AND a."step" = s."idx" AND s."status" = ? AND s."deadline" IS NOT NULL AND s."deadline" <= ?
		ORDER BY s."deadline" LIMIT ?`, StatusPending, StatusPending, s.nowMs(), maxEscalations)
	if err != nil {
		return fmt.Errorf("flow: escalation tick: %w", err)
	}
	type due struct {
		id  string
		idx int
	}
	var all []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.idx); err != nil {
			rows.Close()
			return fmt.Errorf("flow: escalation tick: %w", err)
		}
		all = append(all, d)
	}
	rows.Close()
	var errs []error
	for _, d := range all {
		if err := s.escalate(ctx, d.id, d.idx); err != nil {
			s.log.Error("flow: escalation failed", "approval", d.id, "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// escalate escalates step idx of request id, if another server has not.
func (s *Service) escalate(ctx context.Context, id string, idx int) error {
	r, err := s.load(ctx, s.db.Pool(), id)
	if err != nil || r == nil {
		return err
	}
	app, err := s.catalog.App(ctx, r.App)
	if err != nil {
		return err
	}
	f, t := s.transitionOf(app, r)
	if f == nil || t == nil || t.Approval == nil || idx >= len(t.Approval.Steps) {
		return nil // the app changed under the request: nothing declared to do
	}
	def := &t.Approval.Steps[idx]
	then := schema.EscalateNotify
	if def.Escalate != nil && def.Escalate.Then != "" {
		then = def.Escalate.Then
	}
	dir, err := s.directory(ctx)
	if err != nil {
		return err
	}
	rec, err := s.records.Get(ctx, records.Caller{Admin: true}, r.App, r.Entity, r.RecordID, "", "")
	if err != nil {
		return err
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("flow: begin: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE `+approvalsTable+` SET "version" = "version" + 1 WHERE "id" = ? AND "version" = ? AND "status" = ? AND "step" = ?`, id, r.Version, StatusPending, idx)
	if err != nil {
		return fmt.Errorf("flow: escalate: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // decided or escalated meanwhile
	}
	r.Version++
	st := r.step(idx)
	st.Escalations++
	system := records.Caller{Path: records.PathSystem}
	waiting := r.openApprovers()
	now := s.nowMs()
	restart := func() {
		st.Deadline = nil
		if d, err := automation.ParseOffset(def.Deadline); err == nil && d > 0 {
			at := now + d.Milliseconds()
			st.Deadline = &at
		}
	}
	what := then
	switch then {
	case schema.EscalateReject:
		r.Status, r.DecidedAt = StatusRejected, &now
		st.Status, st.Deadline = StatusRejected, nil
		msg := fmt.Sprintf("no decision within %s: rejected automatically", def.Deadline)
		if err := s.records.NoteTx(ctx, tx, system, r.App, r.Entity, r.RecordID, "reject", r.Flow+"/"+r.Transition, msg); err != nil {
			return err
		}
		if err := s.notifyTx(ctx, tx, r, []string{r.Requester}, "approval:"+r.ID+":expired", fmt.Sprintf("Your request (%s of a %s record) was rejected: %s.", r.Transition, r.Entity, msg)); err != nil {
			return err
		}
	case schema.EscalateNext:
		above, err := s.managersOf(ctx, waiting)
		if err != nil {
			return err
		}
		var fresh []string
		if above, err = s.readers(ctx, dir, r.App, r.Entity, r.RecordID, above, r.Requester); err != nil {
			return err
		}
		for _, u := range above {
			if r.openTask(u) == nil {
				fresh = append(fresh, u)
			}
		}
		if len(fresh) > 0 {
			for _, u := range fresh {
				tk := taskRow{ID: s.newID(), ApprovalID: r.ID, Step: idx, UserID: u, Origin: "escalation"}
				r.tasks, r.fresh = append(r.tasks, tk), append(r.fresh, tk)
			}
			restart()
			if err := s.notifyTx(ctx, tx, r, fresh, "approval:"+r.ID+":escalated", s.askMessage(dir, app, f, t, r)); err != nil {
				return err
			}
			break
		}
		// Nobody above: the next step that applies takes over.
		st.Status = stepEscalated
		done, lack, err := s.advance(ctx, tx, dir, app, f, t, r, rec)
		if err != nil {
			return err
		}
		if done || lack != nil {
			// No next step to pass to: keep waiting.
			r.Step, st.Status, st.Deadline, what = idx, StatusPending, nil, schema.EscalateNotify
			for i := range r.steps {
				if r.steps[i].Idx > idx && r.steps[i].Status == StatusPending {
					r.steps[i].Status = stepWaiting
				}
			}
			r.fresh = nil
			break
		}
		if err := s.notifyTx(ctx, tx, r, r.openApprovers(), "approval:"+r.ID+":step", s.askMessage(dir, app, f, t, r)); err != nil {
			return err
		}
	default:
		st.Deadline = nil
		var to []string
		if def.Escalate != nil && def.Escalate.Notify != nil {
			owner, _ := rec.Get("owner").(string)
			if to, err = s.notifier().Resolve(ctx, r.App, *def.Escalate.Notify, owner, userFields(app, r.Entity, rec)); err != nil {
				return err
			}
		} else if to, err = s.managersOf(ctx, waiting); err != nil {
			return err
		}
		msg := fmt.Sprintf("An approval waits past its deadline (%s): %s of a %s record, requested by %s.", def.Deadline, r.Transition, r.Entity, dir.name(r.Requester))
		if err := s.notifyTx(ctx, tx, r, to, "approval:"+r.ID+":overdue", msg); err != nil {
			return err
		}
	}
	if err := s.save(ctx, tx, r, nil); err != nil {
		return err
	}
	if err := s.auditTx(ctx, tx, "", "approval_escalate", r, map[string]any{"step": idx, "then": what}); err != nil {
		return err
	}
	return tx.Commit()
}

// checkApprovals: the schema checks approval steps (approvers, mode,
// quorum, escalation) and check.go compiles their conditions and parses
// their deadlines; approvals add nothing of their own yet.
func (s *Service) checkApprovals(ctx context.Context, app *schema.App) schema.Problems { return nil }
