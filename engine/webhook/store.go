package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// SecretBytes is the length of an app's signing secret.
const SecretBytes = 32

// secretRow is an app's webhook signing secret, hex-encoded. It is read by
// the deliverer and shown to the app's admins (they configure receivers
// with it); it never goes in a log line or an error.
type secretRow struct {
	App       string    `gorm:"primaryKey;size:63"`
	Secret    string    `gorm:"size:128;not null"`
	CreatedAt time.Time `gorm:"not null"`
	RotatedAt *time.Time
}

func (secretRow) TableName() string { return "_forma_webhook_secrets" }

// settingsRow is a platform admin's decision for one app's webhooks.
type settingsRow struct {
	App          string    `gorm:"primaryKey;size:63"`
	AllowPrivate bool      `gorm:"not null"`
	UpdatedAt    time.Time `gorm:"not null"`
	UpdatedBy    string    `gorm:"size:26"`
}

func (settingsRow) TableName() string { return "_forma_webhook_settings" }

// Migrate creates the webhook tables if they do not exist. Every use calls
// it (New has no error to return); after the first success it costs a
// flag read.
func (s *Service) Migrate(ctx context.Context) error {
	if s.migrated.Load() {
		return nil
	}
	if err := s.db.EnsureTables(ctx, &secretRow{}, &settingsRow{}); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	s.migrated.Store(true)
	return nil
}

// Secret returns the app's signing secret, creating it on first use. Two
// first uses at once agree: both insert-if-absent, then both read the one
// row that won.
func (s *Service) Secret(ctx context.Context, app string) ([]byte, error) {
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	g := s.db.Gorm.WithContext(ctx)
	var row secretRow
	err := g.Where("app = ?", app).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		fresh, ferr := newSecret()
		if ferr != nil {
			return nil, ferr
		}
		ins := secretRow{App: app, Secret: fresh, CreatedAt: s.db.Now()}
		if err := g.Clauses(clause.OnConflict{DoNothing: true}).Create(&ins).Error; err != nil {
			return nil, fmt.Errorf("webhook: create the secret of %q: %w", app, err)
		}
		err = g.Where("app = ?", app).Take(&row).Error
	}
	if err != nil {
		return nil, fmt.Errorf("webhook: read the secret of %q: %w", app, err)
	}
	b, err := hex.DecodeString(row.Secret)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("webhook: the stored secret of %q is not hex", app)
	}
	return b, nil
}

// Rotate replaces the app's secret with a new random one and returns it.
// Deliveries signed from then on use it; receivers must be given it.
func (s *Service) Rotate(ctx context.Context, app string) ([]byte, error) {
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	fresh, err := newSecret()
	if err != nil {
		return nil, err
	}
	now := s.db.Now()
	row := secretRow{App: app, Secret: fresh, CreatedAt: now, RotatedAt: &now}
	err = s.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "app"}},
		DoUpdates: clause.AssignmentColumns([]string{"secret", "rotated_at"}),
	}).Create(&row).Error
	if err != nil {
		return nil, fmt.Errorf("webhook: rotate the secret of %q: %w", app, err)
	}
	b, _ := hex.DecodeString(fresh)
	return b, nil
}

func newSecret() (string, error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhook: random secret: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// AllowsPrivate says whether a platform admin allowed the app's webhooks
// to reach private and loopback addresses (false until one does).
func (s *Service) AllowsPrivate(ctx context.Context, app string) (bool, error) {
	if err := s.Migrate(ctx); err != nil {
		return false, err
	}
	var row settingsRow
	err := s.db.Gorm.WithContext(ctx).Where("app = ?", app).Take(&row).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("webhook: read the settings of %q: %w", app, err)
	}
	return row.AllowPrivate, nil
}

// SetAllowPrivate records a platform admin's decision (by is the admin's
// user id).
func (s *Service) SetAllowPrivate(ctx context.Context, app string, allow bool, by string) error {
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	row := settingsRow{App: app, AllowPrivate: allow, UpdatedAt: s.db.Now(), UpdatedBy: by}
	err := s.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "app"}},
		DoUpdates: clause.AssignmentColumns([]string{"allow_private", "updated_at", "updated_by"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("webhook: save the settings of %q: %w", app, err)
	}
	return nil
}
