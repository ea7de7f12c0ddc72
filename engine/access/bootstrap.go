package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// SetupTTL is how long a setup token printed at first start stays valid.
const SetupTTL = 24 * time.Hour

// errAlreadySetUp ends a first-admin transaction that found users present.
var errAlreadySetUp = errors.New("users exist")

// Bootstrap runs at server start. When the database has no users yet and
// email and password are both given (from flags or the environment), it
// creates that administrator and returns "". Otherwise it creates a one-time
// setup token, valid for SetupTTL and replacing any earlier one, and returns
// it for the server to print; Setup exchanges it for the first
// administrator. When users exist it does nothing and returns "".
//
// Several servers may start at once: at most one administrator is created,
// and a server that finds one already created does nothing.
func (s *Service) Bootstrap(ctx context.Context, email, password string) (string, error) {
	n, err := s.UserCount(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	if email != "" && password != "" {
		row, err := s.newUserRow(email, password, "", true)
		if err != nil {
			return "", fmt.Errorf("access: bootstrap admin: %w", err)
		}
		err = s.firstAdmin(ctx, func(tx *gorm.DB) error {
			return tx.Create(row).Error
		})
		if err != nil && !errors.Is(err, errAlreadySetUp) {
			return "", fmt.Errorf("access: bootstrap admin: %w", err)
		}
		return "", nil
	}
	var token string
	err = s.firstAdmin(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("kind = ?", KindSetup).Delete(&tokenRow{}).Error; err != nil {
			return err
		}
		t := s.db.Now()
		expires := t.Add(SetupTTL)
		plain, _, err := insertToken(tx, nil, KindSetup, "setup", t, &expires)
		token = plain
		return err
	})
	if errors.Is(err, errAlreadySetUp) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("access: bootstrap setup token: %w", err)
	}
	return token, nil
}

// Setup consumes a setup token and creates the first administrator. A
// wrong, expired or used token, or a database that already has users, is
// ErrUnauthorized; bad input is an *InputError and leaves the token usable.
// Concurrent calls create at most one administrator.
func (s *Service) Setup(ctx context.Context, setupToken, email, password, name string) (*User, error) {
	kind, hash, ok := parseToken(setupToken)
	if !ok || kind != KindSetup {
		return nil, ErrUnauthorized
	}
	// Check the token before the input, so a caller without the token
	// learns nothing, and before hashing, so it costs no bcrypt work.
	if _, err := s.setupToken(s.db.Gorm.WithContext(ctx), hash); err != nil {
		return nil, err
	}
	row, err := s.newUserRow(email, password, name, true)
	if err != nil {
		return nil, err
	}
	err = s.firstAdmin(ctx, func(tx *gorm.DB) error {
		tok, err := s.setupToken(tx, hash)
		if err != nil {
			return err
		}
		if err := tx.Create(row).Error; err != nil {
			return fmt.Errorf("access: create admin: %w", err)
		}
		// Mark the token used, and by whom. The revoked_at condition makes
		// the claim hold even without the lock.
		res := tx.Model(&tokenRow{}).Where("id = ? AND revoked_at IS NULL", tok.ID).
			Updates(map[string]any{"revoked_at": s.db.Now(), "user_id": row.ID})
		if res.Error != nil {
			return fmt.Errorf("access: use setup token: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrUnauthorized
		}
		return nil
	})
	if errors.Is(err, errAlreadySetUp) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, err
	}
	return row.user(), nil
}

// setupToken returns the live setup token with that hash, or
// ErrUnauthorized.
func (s *Service) setupToken(g *gorm.DB, hash string) (*tokenRow, error) {
	var tok tokenRow
	err := g.Where("hash = ? AND kind = ?", hash, KindSetup).Take(&tok).Error
	if isNotFound(err) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("access: look up setup token: %w", err)
	}
	if tok.RevokedAt != nil || tok.ExpiresAt == nil || !s.db.Now().Before(*tok.ExpiresAt) {
		return nil, ErrUnauthorized
	}
	return &tok, nil
}

// firstAdmin runs fn in a transaction that holds the first-admin lock and
// has checked that there are still no users; otherwise it returns
// errAlreadySetUp.
func (s *Service) firstAdmin(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.firstAdminLock(tx); err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&userRow{}).Count(&n).Error; err != nil {
			return fmt.Errorf("access: count users: %w", err)
		}
		if n > 0 {
			return errAlreadySetUp
		}
		return fn(tx)
	})
}
