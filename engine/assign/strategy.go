package assign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// stateRow is a rule's round-robin position: the last user it gave a
// record to, per variant ("" without variants). It lives in the database,
// read and moved under a row lock in the assignment's transaction, so the
// turn survives restarts and is shared by every server on one database.
type stateRow struct {
	App      string `gorm:"primaryKey;size:63"`
	Rule     string `gorm:"primaryKey;size:63"`
	Variant  string `gorm:"primaryKey;size:63"`
	LastUser string `gorm:"column:last_user;size:26;not null;default:''"`
}

func (stateRow) TableName() string { return "_forma_assign_state" }

// lastUser reads the rule's round-robin position under a row lock (SELECT
// … FOR UPDATE on PostgreSQL; SQLite's write transactions run one at a
// time), creating the row on first use.
func (s *Service) lastUser(ctx context.Context, tx store.Conn, app, rule, variant string) (string, error) {
	lock := ""
	if s.db.Dialect.Name() != "sqlite" {
		lock = " FOR UPDATE"
	}
	q := `SELECT "last_user" FROM _forma_assign_state WHERE "app" = ? AND "rule" = ? AND "variant" = ?` + lock
	var last string
	err := tx.QueryRowContext(ctx, q, app, rule, variant).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO _forma_assign_state ("app", "rule", "variant", "last_user") VALUES (?, ?, ?, '') ON CONFLICT DO NOTHING`, app, rule, variant); err != nil {
			return "", fmt.Errorf("assign: round-robin state: %w", err)
		}
		err = tx.QueryRowContext(ctx, q, app, rule, variant).Scan(&last)
	}
	if err != nil {
		return "", fmt.Errorf("assign: round-robin state: %w", err)
	}
	return last, nil
}

// setLastUser moves the rule's round-robin position to user.
func (s *Service) setLastUser(ctx context.Context, tx store.Conn, app, rule, variant, user string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE _forma_assign_state SET "last_user" = ? WHERE "app" = ? AND "rule" = ? AND "variant" = ?`, user, app, rule, variant); err != nil {
		return fmt.Errorf("assign: round-robin state: %w", err)
	}
	return nil
}

// nextAfter is the first of ids (sorted) after last, wrapping round.
func nextAfter(ids []string, last string) string {
	for _, id := range ids {
		if id > last {
			return id
		}
	}
	return ids[0]
}

// best returns the eligible candidates the strategy ranks first: every
// eligible one for round-robin, those with the least load, or those with
// the highest score (a candidate without a score ranks last).
func best(strategy string, cs []Candidate) []string {
	var ids []string
	top := math.Inf(-1)
	for _, c := range cs {
		if !c.Eligible {
			continue
		}
		v := 0.0
		switch strategy {
		case schema.StrategyLeastLoad:
			v = -float64(c.Load)
		case schema.StrategyScore:
			v = math.Inf(-1)
			if c.Score != nil {
				v = *c.Score
			}
		}
		switch {
		case v > top || ids == nil:
			ids, top = []string{c.User}, v
		case v == top:
			ids = append(ids, c.User)
		}
	}
	return ids
}
