package access

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm/clause"
)

// Every API call authenticates, and a token lookup joins two tables: on
// SQLite that query costs more than a small record read. So each server
// keeps the answers it looked up, stamped with the auth epoch: a counter in
// the database that every change able to end a token's validity (logout,
// revocation, deactivation) increments in the same write. A request reads
// the counter — a one-row primary-key read — and trusts its cached answer
// only while the counter is unchanged, so a revocation made on any server
// takes effect on every server at its very next request.

// epochRow is the single-row auth epoch table.
type epochRow struct {
	ID    int   `gorm:"primaryKey;autoIncrement:false"`
	Value int64 `gorm:"not null"`
}

func (epochRow) TableName() string { return "_forma_auth_epoch" }

const maxCachedTokens = 10000

type cachedAuth struct {
	epoch    int64
	kind     string
	tokenID  string
	expires  *time.Time
	lastUsed *time.Time
	user     User
}

type authCache struct {
	mu sync.Mutex
	m  map[string]*cachedAuth // by token hash
}

func (c *authCache) get(hash string, epoch int64) *cachedAuth {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[hash]
	if e == nil || e.epoch != epoch {
		return nil
	}
	cp := *e
	return &cp
}

// peek is the answer cached for hash whatever its epoch (nil: none); the
// caller confirms the epoch (AuthenticateCached).
func (c *authCache) peek(hash string) *cachedAuth {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[hash]
	if e == nil {
		return nil
	}
	cp := *e
	return &cp
}

func (c *authCache) put(hash string, e *cachedAuth) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedTokens {
		c.m = map[string]*cachedAuth{} // crude, but bounded and rare
	}
	c.m[hash] = e
}

func (c *authCache) touched(hash string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[hash]; e != nil {
		e.lastUsed = &t
	}
}

func (s *Service) createEpoch(ctx context.Context) error {
	g := s.db.Gorm.WithContext(ctx)
	if err := g.AutoMigrate(&epochRow{}); err != nil {
		return err
	}
	return g.Clauses(clause.OnConflict{DoNothing: true}).Create(&epochRow{ID: 1, Value: 1}).Error
}

// EpochProbe reads the auth epoch as a scalar subquery, so that a
// statement can carry it beside its own columns and confirm a cached
// authentication (AuthenticateCached) in the request's one round trip.
const EpochProbe = `(SELECT "value" FROM "_forma_auth_epoch" WHERE "id" = 1)`

func (s *Service) epoch(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.Pool().QueryRowContext(ctx, "SELECT value FROM _forma_auth_epoch WHERE id = 1").Scan(&v); err != nil {
		return 0, fmt.Errorf("access: read auth epoch: %w", err)
	}
	return v, nil
}

// bumpEpoch invalidates every server's cached token answers.
func (s *Service) bumpEpoch(ctx context.Context) error {
	_, err := s.db.Pool().ExecContext(ctx, "UPDATE _forma_auth_epoch SET value = value + 1 WHERE id = 1")
	if err != nil {
		return fmt.Errorf("access: bump auth epoch: %w", err)
	}
	return nil
}
