package assign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// The claim pool. A rule with a Pool puts the records it would assign
// into the pool instead (poolEnter, inside the assignment's transaction):
// one row per record in _forma_assign_pool, open until one eligible user
// claims it (claim.go) or its deadline passes (Tick: the record goes to
// the rule's strategy). The record's owner is left as it is while it
// waits: the pool's eligible users see it through the pool listing (a
// scope that replaces their row rules for the pooled records only), and
// whoever owned it before (its creator, an import's user) keeps it until
// a claim or the deadline gives it to someone.

const (
	poolTable   = "_forma_assign_pool"
	claimsTable = "_forma_assign_claims"
)

// Pool row states.
const (
	poolOpen    = "open"    // waiting for a claim
	poolClaimed = "claimed" // claimed_by took it
	poolExpired = "expired" // its deadline passed: the rule's strategy decided
)

// poolRow is one record in a pool (GORM model: only for EnsureTables; rows
// are read and written with SQL in the callers' transactions). Times are
// Unix microseconds (UTC): one integer compares the same way on both
// dialects.
type poolRow struct {
	App        string  `gorm:"primaryKey;size:63;index:idx_forma_assign_pool_list,priority:1"`
	Entity     string  `gorm:"primaryKey;size:63;index:idx_forma_assign_pool_list,priority:2"`
	RecordID   string  `gorm:"primaryKey;size:64"`
	Rule       string  `gorm:"size:63;not null"`
	Pool       string  `gorm:"size:63;not null;index:idx_forma_assign_pool_list,priority:3"`
	State      string  `gorm:"size:16;not null;index:idx_forma_assign_pool_list,priority:4;index:idx_forma_assign_pool_due,priority:1"`
	EnteredAt  int64   `gorm:"not null"`
	DeadlineAt *int64  `gorm:"index:idx_forma_assign_pool_due,priority:2"`
	ClaimedBy  *string `gorm:"size:26"`
	ClaimedAt  *int64
}

func (poolRow) TableName() string { return poolTable }

// claimCountRow counts a user's claims from one rule's pool on one day
// (in the pool's time zone): the daily limit's counter, bumped by a
// conditional UPDATE so that simultaneous claims of one user cannot pass
// the limit together.
type claimCountRow struct {
	App    string `gorm:"primaryKey;size:63"`
	Rule   string `gorm:"primaryKey;size:63"`
	UserID string `gorm:"primaryKey;size:26"`
	Day    string `gorm:"primaryKey;size:10"` // YYYY-MM-DD
	N      int    `gorm:"not null"`
}

func (claimCountRow) TableName() string { return claimsTable }

// registerPool creates the pool tables and the pool-deadline clock job.
func (s *Service) registerPool(ctx context.Context) error {
	if err := s.db.EnsureTables(ctx, &poolRow{}, &claimCountRow{}); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	if s.jobs == nil {
		return nil
	}
	if err := jobs.RegisterTick[tickArgs](s.jobs, "assign_tick", TickEvery, s.Tick); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	return nil
}

// TickEvery is how often the clock job runs Tick in production.
const TickEvery = 30 * time.Second

// tickArgs is the clock job: it runs Tick.
type tickArgs struct{}

func (tickArgs) Kind() string { return "assign_tick" }

// InsertOpts: one tick at a time, no retry (the next tick comes anyway).
func (tickArgs) InsertOpts() river.InsertOpts { return jobs.TickOpts() }

// poolEnter puts the record id in rule's pool, inside tx (the
// assignment's transaction): open, with its deadline from now. A record
// already in a pool enters afresh (a claimed or expired row is reused).
// The record itself is not written: its owner stays.
func (s *Service) poolEnter(ctx context.Context, tx store.Conn, app *schema.App, rule *schema.Assignment, id string) error {
	if rule == nil || rule.Pool == nil {
		return fmt.Errorf("assign: rule has no pool")
	}
	now := s.db.Now()
	var deadline *int64
	if rule.Pool.Deadline != "" {
		d, err := schema.ParseOffset(rule.Pool.Deadline)
		if err != nil {
			return fmt.Errorf("assign: rule %s: pool deadline: %w", rule.Name, err)
		}
		at := now.Add(d).UnixMicro()
		deadline = &at
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+poolTable+` (app, entity, record_id, rule, pool, state, entered_at, deadline_at, claimed_by, claimed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)
		ON CONFLICT (app, entity, record_id) DO UPDATE SET rule = excluded.rule, pool = excluded.pool, state = excluded.state,
		entered_at = excluded.entered_at, deadline_at = excluded.deadline_at, claimed_by = NULL, claimed_at = NULL`,
		app.Name, rule.Entity, id, rule.Name, rule.Pool.Name, poolOpen, now.UnixMicro(), deadline)
	if err != nil {
		return fmt.Errorf("assign: enter pool: %w", err)
	}
	return nil
}

// EnterPool puts the record id of app in the pool of the rule named
// rule, in a transaction of its own (what an assignment by a pooled rule
// does inside its own; for tools and tests).
func (s *Service) EnterPool(ctx context.Context, app *schema.App, rule, id string) error {
	r := app.Assignment(rule)
	if r == nil || r.Pool == nil {
		return fmt.Errorf("assign: app %s has no rule %q with a pool", app.Name, rule)
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := s.poolEnter(ctx, tx, app, r, id); err != nil {
		return err
	}
	return tx.Commit()
}

// poolNotFound is the answer for an unknown pool and for a caller who may
// not see it alike: need to know.
func poolNotFound(pool string) error {
	return &records.Error{Status: 404, Code: "pool_not_found", Message: fmt.Sprintf("no pool %q that you may claim from", clip(pool, 80))}
}

// poolRules returns app's rules on entity whose pool is named pool.
func poolRules(app *schema.App, entity, pool string) []*schema.Assignment {
	var out []*schema.Assignment
	for i := range app.Assignments {
		r := &app.Assignments[i]
		if r.Entity == entity && r.Pool != nil && r.Pool.Name == pool {
			out = append(out, r)
		}
	}
	return out
}

// PoolScope is the list scope of GET /api/data/{app}/{entity}?pool=NAME:
// the unclaimed records of the pool, for a caller eligible for it (one of
// the rules putting records in it); 404 pool_not_found for an unknown
// pool and an ineligible caller alike.
func (s *Service) PoolScope(ctx context.Context, c records.Caller, app, entity, pool string) (records.Scope, error) {
	doc, err := s.catalog.App(ctx, app)
	if errors.Is(err, store.ErrNotFound) {
		return records.Scope{}, poolNotFound(pool)
	}
	if err != nil {
		return records.Scope{}, err
	}
	if !s.records.Member(doc, c) {
		return records.Scope{}, poolNotFound(pool)
	}
	ok := false
	for _, r := range poolRules(doc, entity, pool) {
		if ok, err = s.eligible(ctx, c, doc, r); err != nil {
			return records.Scope{}, err
		}
		if ok {
			break
		}
	}
	if !ok {
		return records.Scope{}, poolNotFound(pool)
	}
	return records.Scope{
		Where: `"id" IN (SELECT record_id FROM ` + poolTable + ` WHERE app = ? AND entity = ? AND pool = ? AND state = ?)`,
		Args:  []any{doc.Name, entity, pool, poolOpen},
	}, nil
}

// eligible says whether c may see and claim from rule's pool: one of
// the pool's Eligible candidates, or of the rule's own when nil, resolved
// as a decision resolves them (roles, teams with the teams under them,
// users by id or email, the condition on the user; active members of the
// app only). The platform admin always may.
func (s *Service) eligible(ctx context.Context, c records.Caller, app *schema.App, rule *schema.Assignment) (bool, error) {
	if c.Admin {
		return true, nil
	}
	if c.UserID == "" || rule.Pool == nil {
		return false, nil
	}
	cands := &rule.Candidates
	if rule.Pool.Eligible != nil {
		cands = rule.Pool.Eligible
	}
	dir, err := s.directory(ctx, strings.Contains(cands.Condition, "team"))
	if err != nil {
		return false, err
	}
	ps, err := s.candidates(ctx, app, dir, cands)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ps, func(p *person) bool { return p.ID == c.UserID }), nil
}

// poolDay is the day (YYYY-MM-DD) at now in the pool's time zone (UTC
// when empty or unknown).
func poolDay(p *schema.Pool, now time.Time) string {
	loc := time.UTC
	if p != nil && p.TimeZone != "" {
		if l, err := time.LoadLocation(p.TimeZone); err == nil {
			loc = l
		}
	}
	return now.In(loc).Format(time.DateOnly)
}

// PoolSummary is one pool as GET /api/me/pools lists it.
type PoolSummary struct {
	App          string        `json:"app"`
	Entity       string        `json:"entity"`
	Rule         string        `json:"rule"`
	Pool         string        `json:"pool"`
	Label        string        `json:"label"`
	Labels       schema.Labels `json:"labels,omitempty"` // the rule's label per language; Label is the fallback
	Count        int64         `json:"count"`            // unclaimed records
	ClaimedToday int           `json:"claimedToday"`     // the caller's claims today
	DailyLimit   int           `json:"dailyLimit"`       // 0: no limit
}

// Pools lists the pools c may claim from, in every app c is a member of,
// with their unclaimed records and c's claims today.
func (s *Service) Pools(ctx context.Context, c records.Caller) ([]PoolSummary, error) {
	apps, err := s.db.Apps(ctx)
	if err != nil {
		return nil, fmt.Errorf("assign: pools: %w", err)
	}
	out := []PoolSummary{}
	now := s.db.Now()
	for _, info := range apps {
		doc, err := s.catalog.App(ctx, info.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !s.records.Member(doc, c) {
			continue
		}
		for i := range doc.Assignments {
			r := &doc.Assignments[i]
			if r.Pool == nil {
				continue
			}
			if ok, err := s.eligible(ctx, c, doc, r); err != nil {
				return nil, err
			} else if !ok {
				continue
			}
			if perm := s.records.Permissions(doc, c); !perm.Entity(r.Entity) {
				continue
			}
			ps := PoolSummary{App: doc.Name, Entity: r.Entity, Rule: r.Name, Pool: r.Pool.Name, Label: r.Label, Labels: r.Labels, DailyLimit: r.Pool.DailyLimit}
			if ps.Label == "" {
				ps.Label = r.Pool.Name
			}
			// Count what the listing shows: open rows of records that exist.
			err := s.db.Pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+poolTable+` p JOIN `+store.Quote(schema.TableName(doc.Name, r.Entity))+
				` t ON t."id" = p.record_id WHERE p.app = ? AND p.entity = ? AND p.rule = ? AND p.state = ?`,
				doc.Name, r.Entity, r.Name, poolOpen).Scan(&ps.Count)
			if err != nil {
				return nil, fmt.Errorf("assign: count pool: %w", err)
			}
			if c.UserID != "" {
				err = s.db.Pool().QueryRowContext(ctx, `SELECT n FROM `+claimsTable+` WHERE app = ? AND rule = ? AND user_id = ? AND day = ?`,
					doc.Name, r.Name, c.UserID, poolDay(r.Pool, now)).Scan(&ps.ClaimedToday)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return nil, fmt.Errorf("assign: count claims: %w", err)
				}
			}
			out = append(out, ps)
		}
	}
	return out, nil
}

// maxExpiries bounds the records one tick sends back to the strategy (the
// next tick takes the rest).
const maxExpiries = 500

// assignTx is the decision a pool's deadline hands a record to (a
// variable so that this package's tests can stand in for the core).
var assignTx = (*Service).AssignTx

// poolTick sends every record left unclaimed past its pool's deadline to
// the rule's strategy (the pool bypassed), one transaction each: the
// conditional move of its row to expired makes one server of several do
// it. A record whose assignment fails stays in the pool for the next tick,
// unless the record or the rule is gone.
func (s *Service) poolTick(ctx context.Context) error {
	now := s.db.Now().UnixMicro()
	rows, err := s.db.Pool().QueryContext(ctx, `SELECT app, entity, record_id, rule, pool, deadline_at FROM `+poolTable+`
		WHERE state = ? AND deadline_at IS NOT NULL AND deadline_at <= ? ORDER BY deadline_at LIMIT ?`, poolOpen, now, maxExpiries)
	if err != nil {
		return fmt.Errorf("assign: pool tick: %w", err)
	}
	type due struct {
		app, entity, id, rule, pool string
		deadline                    int64
	}
	var all []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.app, &d.entity, &d.id, &d.rule, &d.pool, &d.deadline); err != nil {
			rows.Close()
			return fmt.Errorf("assign: pool tick: %w", err)
		}
		all = append(all, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("assign: pool tick: %w", err)
	}
	var errs []error
	for _, d := range all {
		if err := s.expire(ctx, d.app, d.entity, d.id, d.rule, d.pool, d.deadline); err != nil {
			s.log.Error("assign: pool deadline failed", "app", d.app, "entity", d.entity, "record", d.id, "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// expireRow moves the pool row of a record still open with that deadline
// to expired; ok is false when it is not so any more.
func expireRow(ctx context.Context, q store.Conn, app, entity, id string, deadline int64) (ok bool, err error) {
	res, err := q.ExecContext(ctx, `UPDATE `+poolTable+` SET state = ? WHERE app = ? AND entity = ? AND record_id = ? AND state = ? AND deadline_at = ?`,
		poolExpired, app, entity, id, poolOpen, deadline)
	if err != nil {
		return false, fmt.Errorf("assign: expire: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// expire hands one record left in a pool past its deadline to the rule's
// strategy.
func (s *Service) expire(ctx context.Context, app, entity, id, rule, pool string, deadline int64) error {
	markGone := func(why string) error {
		s.log.Info("assign: pooled record leaves its pool", "app", app, "record", id, "why", why)
		_, err := expireRow(ctx, s.db.Pool(), app, entity, id, deadline)
		return err
	}
	doc, err := s.catalog.App(ctx, app)
	if errors.Is(err, store.ErrNotFound) {
		return markGone("app removed")
	}
	if err != nil {
		return err
	}
	r := doc.Assignment(rule)
	if r == nil || r.Entity != entity {
		return markGone("rule removed")
	}
	_, err = records.Retry(func() (struct{}, error) {
		tx, err := s.db.Begin(ctx)
		if err != nil {
			return struct{}{}, err
		}
		defer tx.Rollback()
		if ok, err := expireRow(ctx, tx, app, entity, id, deadline); err != nil || !ok {
			return struct{}{}, err // !ok: claimed, re-entered or expired by another server meanwhile
		}
		_, err = assignTx(s, ctx, tx, doc, rule, id, Options{
			Caller:   records.Caller{Admin: true, Path: records.PathSystem}, // the pool decided: the system writes
			Reason:   fmt.Sprintf("nobody claimed it from pool %s within %s", pool, r.Pool.Deadline),
			SkipPool: true,
		})
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, tx.Commit()
	})
	var re *records.Error
	if errors.As(err, &re) && re.Status == 404 {
		return markGone("record deleted")
	}
	return err
}
