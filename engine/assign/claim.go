package assign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
)

// notPooled is the answer for a record that is in no pool the caller may
// claim from: the record does not exist for them as a pooled one.
func notPooled() error {
	return &records.Error{Status: 404, Code: "not_found", Message: "no such record in a pool you may claim from"}
}

// claim is Claim. Who wins among simultaneous claimants is decided by the
// conditional UPDATE of the pool row (state still open): the first to
// commit takes it, the others find it claimed (PostgreSQL re-reads the
// row once the winner commits; SQLite serialises the writers). In the same
// transaction the caller's claim count of the day is bumped under its
// limit and the record's user field written through the records service
// (a trusted move: the pool decided), so a refused limit or a failed
// write leaves the record in the pool.
func (s *Service) claim(ctx context.Context, c records.Caller, app, entity, id string) (*records.Record, error) {
	if c.UserID == "" {
		return nil, notPooled()
	}
	doc, err := s.catalog.App(ctx, app)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notPooled()
	}
	if err != nil {
		return nil, err
	}
	var ruleName, pool, state string
	err = s.db.Pool().QueryRowContext(ctx, `SELECT rule, pool, state FROM `+poolTable+` WHERE app = ? AND entity = ? AND record_id = ?`,
		doc.Name, entity, id).Scan(&ruleName, &pool, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notPooled()
	}
	if err != nil {
		return nil, fmt.Errorf("assign: claim: %w", err)
	}
	rule := doc.Assignment(ruleName)
	if rule == nil || rule.Pool == nil || rule.Entity != entity || !s.records.Member(doc, c) {
		return nil, notPooled()
	}
	if ok, err := s.eligible(ctx, c, doc, rule); err != nil {
		return nil, err
	} else if !ok {
		return nil, notPooled()
	}
	if state == poolExpired {
		return nil, notPooled() // it left the pool
	}
	name := c.UserID // the claimant's name for the decision log, read before the write begins
	if u, err := s.access.UserByID(ctx, c.UserID); err == nil && u.Name != "" {
		name = u.Name
	}
	return records.Retry(func() (*records.Record, error) {
		tx, err := s.db.Begin(ctx)
		if err != nil {
			return nil, fmt.Errorf("assign: begin: %w", err)
		}
		defer tx.Rollback()
		now := s.db.Now()
		res, err := tx.ExecContext(ctx, `UPDATE `+poolTable+` SET state = ?, claimed_by = ?, claimed_at = ?
			WHERE app = ? AND entity = ? AND record_id = ? AND state = ? AND rule = ?`,
			poolClaimed, c.UserID, now.UnixMicro(), doc.Name, entity, id, poolOpen, rule.Name)
		if err != nil {
			return nil, fmt.Errorf("assign: claim: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, &records.Error{Status: 409, Code: "already_claimed", Message: "someone claimed this record first"}
		}
		// The day's count, bumped under the limit (0: none; counted all
		// the same for GET /api/me/pools).
		limit, day := rule.Pool.DailyLimit, poolDay(rule.Pool, now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+claimsTable+` (app, rule, user_id, day, n) VALUES (?, ?, ?, ?, 0)
			ON CONFLICT (app, rule, user_id, day) DO NOTHING`, doc.Name, rule.Name, c.UserID, day); err != nil {
			return nil, fmt.Errorf("assign: claim count: %w", err)
		}
		res, err = tx.ExecContext(ctx, `UPDATE `+claimsTable+` SET n = n + 1 WHERE app = ? AND rule = ? AND user_id = ? AND day = ? AND (? = 0 OR n < ?)`,
			doc.Name, rule.Name, c.UserID, day, limit, limit)
		if err != nil {
			return nil, fmt.Errorf("assign: claim count: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, &records.Error{Status: 429, Code: "claim_limit", Message: fmt.Sprintf("you have claimed %d records from pool %s today, the most a day allows", limit, rule.Pool.Name)}
		}
		rec, err := s.records.MoveTx(ctx, tx, c, doc.Name, entity, id, records.Move{
			Values:  map[string]any{rule.UserField(): c.UserID},
			Comment: "claimed from pool " + rule.Pool.Name,
			Trusted: true,
			Path:    records.PathAPI,
		})
		if err != nil {
			return nil, err
		}
		d := &Decision{ID: newDecisionID(), App: doc.Name, Entity: entity, RecordID: id, Rule: rule.Name, Strategy: "claim",
			Winner: c.UserID, WinnerName: name, Pool: rule.Pool.Name, Path: records.PathAPI, Actor: c.UserID, At: now,
			Reason: fmt.Sprintf("claimed from pool %s", rule.Pool.Name)}
		if err := s.logDecision(ctx, tx, d); err != nil {
			return nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, fmt.Errorf("assign: claim: %w", err)
		}
		return rec, nil
	})
}
