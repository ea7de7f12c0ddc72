package access

import (
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Deactivation ends a user's access for good: besides the active flag
// (which every token lookup checks), it revokes every session, API token
// and pending reset or invitation token they hold, in the same transaction.
// So reactivating the account later brings none of them back: the user
// logs in afresh and makes new API tokens.
//
// Issuing a token (login, a new API token) reads the user's active flag in
// the transaction that inserts the token, holding a share lock on the user
// row on PostgreSQL: a deactivation running at the same moment either waits
// for that insert and then revokes the new token too, or commits first and
// the issue is refused. SQLite runs write transactions one at a time (they
// begin IMMEDIATE), which gives the same order.

// revokeAll revokes every live token of the user inside tx.
func revokeAll(tx *gorm.DB, userID string) error {
	err := tx.Model(&tokenRow{}).
		Where("user_id = ? AND kind IN ? AND revoked_at IS NULL", userID, []string{KindSession, KindAPI, KindReset}).
		Update("revoked_at", gormNow(tx)).Error
	if err != nil {
		return fmt.Errorf("access: revoke tokens: %w", err)
	}
	return nil
}

// bumpEpochTx is bumpEpoch inside tx, so the revocation and the signal
// that cached answers are stale commit together.
func bumpEpochTx(tx *gorm.DB) error {
	if err := tx.Exec("UPDATE _forma_auth_epoch SET value = value + 1 WHERE id = 1").Error; err != nil {
		return fmt.Errorf("access: bump auth epoch: %w", err)
	}
	return nil
}

// activeForIssue reports whether the user exists and is active, read in tx
// under a share lock on PostgreSQL (see above).
func (s *Service) activeForIssue(tx *gorm.DB, userID string) (bool, error) {
	q := tx.Model(&userRow{}).Select("active").Where("id = ?", userID)
	if s.db.Dialect.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "SHARE"})
	}
	var rows []userRow
	if err := q.Find(&rows).Error; err != nil {
		return false, fmt.Errorf("access: look up user: %w", err)
	}
	return len(rows) == 1 && rows[0].Active, nil
}
