package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// EnsureTables creates the tables of the given GORM models, and the columns
// and indexes they lack, for engine services that own tables of their own
// (webhook secrets, automation runs). Several services in one process, or
// several servers on one PostgreSQL, may call it at the same moment: GORM
// checks then creates, so unserialised callers would see each other's
// CREATE TABLE fail with "already exists". Callers here queue on the
// process's SQLite write slot, or on a PostgreSQL advisory lock held by the
// transaction the DDL runs in.
func (db *DB) EnsureTables(ctx context.Context, models ...any) error {
	if db.Dialect.Name() == "sqlite" {
		select {
		case db.writeSlot <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("store: create tables: %w", ctx.Err())
		}
		defer func() { <-db.writeSlot }()
		if err := db.Gorm.WithContext(ctx).AutoMigrate(models...); err != nil {
			return fmt.Errorf("store: create tables: %w", err)
		}
		return nil
	}
	err := db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))", migrationLock+2).Error; err != nil {
			return err
		}
		return tx.AutoMigrate(models...)
	})
	if err != nil {
		return fmt.Errorf("store: create tables: %w", err)
	}
	return nil
}
