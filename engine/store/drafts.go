package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// draftRow is one admin's unpublished work on one app: a whole app document
// (kept as sent, valid or not: work in progress may be either) and the
// version it was started from.
type draftRow struct {
	App         string    `gorm:"primaryKey;size:63"`
	UserID      string    `gorm:"column:user_id;primaryKey;size:64"`
	BaseVersion int       `gorm:"column:base_version;not null"`
	Document    string    `gorm:"not null"`
	UpdatedAt   time.Time `gorm:"column:updated_at;not null"`
}

func (draftRow) TableName() string { return "_forma_drafts" }

// Draft is an admin's draft of the next version of an app.
type Draft struct {
	App         string    `json:"app"`
	UserID      string    `json:"userId"`
	BaseVersion int       `json:"baseVersion"`
	Document    string    `json:"-"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

// Draft returns userID's draft of app, or ErrNotFound.
func (db *DB) Draft(ctx context.Context, app, userID string) (*Draft, error) {
	var r draftRow
	err := db.Gorm.WithContext(ctx).Where("app = ? AND user_id = ?", app, userID).Take(&r).Error
	if err != nil {
		return nil, notFound(err)
	}
	d := Draft(r)
	return &d, nil
}

// Drafts lists every admin's draft of app, most recently saved first.
func (db *DB) Drafts(ctx context.Context, app string) ([]Draft, error) {
	var rows []draftRow
	if err := db.Gorm.WithContext(ctx).Where("app = ?", app).Order("updated_at DESC, user_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list drafts of %s: %w", app, err)
	}
	out := make([]Draft, len(rows))
	for i, r := range rows {
		out[i] = Draft(r)
	}
	return out, nil
}

// SaveDraft stores d, replacing the draft its admin had of that app.
func (db *DB) SaveDraft(ctx context.Context, d Draft) error {
	r := draftRow(d)
	err := db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "app"}, {Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"base_version", "document", "updated_at"}),
	}).Create(&r).Error
	if err != nil {
		return fmt.Errorf("store: save draft of %s: %w", d.App, err)
	}
	return nil
}

// DeleteDraft removes userID's draft of app; ErrNotFound when there was none.
func (db *DB) DeleteDraft(ctx context.Context, app, userID string) error {
	res := db.Gorm.WithContext(ctx).Where("app = ? AND user_id = ?", app, userID).Delete(&draftRow{})
	if res.Error != nil {
		return fmt.Errorf("store: delete draft of %s: %w", app, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}
