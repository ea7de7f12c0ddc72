package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// A token is a readable prefix naming its kind, then 32 bytes from
// crypto/rand in unpadded base64url: "fa_" + 43 characters for an API token.
const (
	tokenBytes     = 32
	maxTokenName   = 100
	lastUsedPeriod = time.Minute // last_used_at is written at most this often
)

var (
	tokenPrefix = map[string]string{KindSession: "fs_", KindAPI: "fa_", KindSetup: "fx_", KindReset: "fr_"}
	prefixKind  = map[string]string{"fs_": KindSession, "fa_": KindAPI, "fx_": KindSetup, "fr_": KindReset}
	tokenLen    = 3 + base64.RawURLEncoding.EncodedLen(tokenBytes)
)

// newToken returns a fresh token of kind and the hash stored for it.
func newToken(kind string) (plain, hash string) {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand panics rather than return short)
	plain = tokenPrefix[kind] + base64.RawURLEncoding.EncodeToString(b)
	return plain, hashToken(plain)
}

// hashToken is the stored form of a token: hex SHA-256 of the whole token.
// A fast, unsalted hash is right here, unlike for passwords: the token
// carries 256 random bits, so its hash cannot be reversed by guessing, and
// being deterministic it can be looked up through a unique index.
func hashToken(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// parseToken checks a token's shape and returns its kind and hash. A
// malformed token is refused before any query.
func parseToken(plain string) (kind, hash string, ok bool) {
	if len(plain) != tokenLen {
		return "", "", false
	}
	kind, ok = prefixKind[plain[:3]]
	if !ok {
		return "", "", false
	}
	if b, err := base64.RawURLEncoding.DecodeString(plain[3:]); err != nil || len(b) != tokenBytes {
		return "", "", false
	}
	return kind, hashToken(plain), true
}

// insertToken stores a new token and returns it with its row.
func insertToken(g *gorm.DB, userID *string, kind, name string, created time.Time, expires *time.Time) (string, *tokenRow, error) {
	plain, hash := newToken(kind)
	row := &tokenRow{ID: newID(), UserID: userID, Kind: kind, Name: name, Hash: hash, ExpiresAt: expires, CreatedAt: created}
	if err := g.Create(row).Error; err != nil {
		return "", nil, fmt.Errorf("access: store %s token: %w", kind, err)
	}
	return plain, row, nil
}

// authRow is a token joined with its user.
type authRow struct {
	TokenID    string     `gorm:"column:token_id"`
	TokenKind  string     `gorm:"column:token_kind"`
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
	LastUsedAt *time.Time `gorm:"column:last_used_at"`
	ID         string     `gorm:"column:id"`
	Email      string     `gorm:"column:email"`
	Name       string     `gorm:"column:name"`
	Admin      bool       `gorm:"column:admin"`
	Active     bool       `gorm:"column:active"`
	Roles      string     `gorm:"column:roles"`
	TeamID     *string    `gorm:"column:team_id"`
	Profile    string     `gorm:"column:profile"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
}

const authQuery = `SELECT t.id AS token_id, t.kind AS token_kind, t.expires_at, t.revoked_at, t.last_used_at,
 u.id, u.email, u.name, u.admin, u.active, u.roles, u.team_id, u.profile, u.created_at
FROM _forma_tokens t JOIN _forma_users u ON u.id = t.user_id
WHERE t.hash = ?`

// Authenticate returns the user a session or API token belongs to. A
// malformed, unknown, expired or revoked token, a setup or reset token, or one whose
// user is inactive gives ErrUnauthorized. It costs one read of the auth
// epoch and, when this server has no answer cached at that epoch, one
// indexed query, plus an update of the token's last use at most once a
// minute.
func (s *Service) Authenticate(ctx context.Context, token string) (*User, error) {
	kind, hash, ok := parseToken(token)
	if !ok || (kind != KindSession && kind != KindAPI) {
		return nil, ErrUnauthorized
	}
	epoch, err := s.epoch(ctx)
	if err != nil {
		return nil, err
	}
	e := s.cache.get(hash, epoch)
	if e == nil {
		if e, err = s.lookup(ctx, hash, epoch); err != nil {
			return nil, err
		}
	}
	return s.admit(ctx, hash, kind, e)
}

// AuthenticateCached is Authenticate without its own read of the auth
// epoch when this server has the token's answer cached: it returns the
// user with the epoch the answer was cached at, and the caller must read
// EpochProbe in the statement that serves the request and trust the answer
// only if it reads that epoch (otherwise call Authenticate, which reads it
// anew). A request that does so sees every revocation, logout, deactivation
// and role change committed before its statement, on any server, as
// Authenticate would: the epoch is read after the request arrived, in the
// same snapshot as the data it answers with. Without a cached answer it is
// Authenticate, and the epoch returned is 0: nothing is left to confirm.
func (s *Service) AuthenticateCached(ctx context.Context, token string) (*User, int64, error) {
	kind, hash, ok := parseToken(token)
	if !ok || (kind != KindSession && kind != KindAPI) {
		return nil, 0, ErrUnauthorized
	}
	e := s.cache.peek(hash)
	if e == nil {
		u, err := s.Authenticate(ctx, token)
		return u, 0, err
	}
	u, err := s.admit(ctx, hash, kind, e)
	if err != nil {
		// Refusals are rare: give them only as Authenticate would.
		u, err = s.Authenticate(ctx, token)
		return u, 0, err
	}
	return u, e.epoch, nil
}

// admit checks an answer's kind and expiry, notes the token's use, and
// returns a copy of its user.
func (s *Service) admit(ctx context.Context, hash, kind string, e *cachedAuth) (*User, error) {
	t := s.db.Now()
	if e.kind != kind || (e.expires != nil && !t.Before(*e.expires)) {
		return nil, ErrUnauthorized
	}
	if e.lastUsed == nil || t.Sub(*e.lastUsed) >= lastUsedPeriod {
		// The condition repeated in SQL keeps concurrent requests from
		// writing twice. A failed write only loses a usage timestamp, so it
		// does not fail the request.
		s.db.Gorm.WithContext(ctx).Model(&tokenRow{}).
			Where("id = ? AND (last_used_at IS NULL OR last_used_at <= ?)", e.tokenID, t.Add(-lastUsedPeriod)).
			Update("last_used_at", t)
		s.cache.touched(hash, t)
	}
	u := e.user
	u.Roles = append([]string{}, u.Roles...) // the cached slice stays the cache's
	return &u, nil
}

// lookup reads a token and its user, and caches the answer if the token is
// usable. Unusable tokens are not cached: they are refused anyway.
func (s *Service) lookup(ctx context.Context, hash string, epoch int64) (*cachedAuth, error) {
	var (
		r                          authRow
		expires, revoked, lastUsed sql.NullTime
	)
	err := s.db.Pool().QueryRowContext(ctx, authQuery, hash).Scan(&r.TokenID, &r.TokenKind, &expires, &revoked, &lastUsed,
		&r.ID, &r.Email, &r.Name, &r.Admin, &r.Active, &r.Roles, &r.TeamID, &r.Profile, &r.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("access: look up token: %w", err)
	}
	if revoked.Valid || !r.Active {
		return nil, ErrUnauthorized
	}
	ur := userRow{ID: r.ID, Email: r.Email, Name: r.Name, Admin: r.Admin, Active: r.Active, Roles: r.Roles, TeamID: r.TeamID, Profile: r.Profile, CreatedAt: r.CreatedAt}
	e := &cachedAuth{epoch: epoch, kind: r.TokenKind, tokenID: r.TokenID, user: *ur.user()}
	if expires.Valid {
		t := expires.Time.UTC()
		e.expires = &t
	}
	if lastUsed.Valid {
		t := lastUsed.Time.UTC()
		e.lastUsed = &t
	}
	s.cache.put(hash, e)
	cp := *e
	return &cp, nil
}

// Logout revokes a session or API token. A malformed, unknown or already
// revoked token gives ErrUnauthorized.
func (s *Service) Logout(ctx context.Context, token string) error {
	kind, hash, ok := parseToken(token)
	if !ok || (kind != KindSession && kind != KindAPI) {
		return ErrUnauthorized
	}
	res := s.db.Gorm.WithContext(ctx).Model(&tokenRow{}).
		Where("hash = ? AND kind = ? AND revoked_at IS NULL", hash, kind).
		Update("revoked_at", s.db.Now())
	if res.Error != nil {
		return fmt.Errorf("access: revoke token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrUnauthorized
	}
	return s.bumpEpoch(ctx)
}

// CreateAPIToken issues a named API token for a user, valid for ttl (0 =
// until revoked). The token is returned once and cannot be shown again. A
// name outside 1..100 characters or a negative ttl is an *InputError; an
// unknown user is ErrNotFound.
func (s *Service) CreateAPIToken(ctx context.Context, userID, name string, ttl time.Duration) (string, TokenInfo, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > maxTokenName {
		return "", TokenInfo{}, &InputError{Field: "name", Message: fmt.Sprintf("must be 1 to %d characters", maxTokenName)}
	}
	if ttl < 0 {
		return "", TokenInfo{}, &InputError{Field: "ttl", Message: "must not be negative"}
	}
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return "", TokenInfo{}, err
	}
	t := s.db.Now()
	var expires *time.Time
	if ttl > 0 {
		e := t.Add(ttl)
		expires = &e
	}
	var (
		plain string
		row   *tokenRow
	)
	err = s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// A token issued to a deactivated user would come back to life
		// on reactivation: refuse it, under the same lock a deactivation
		// takes (deactivate.go).
		if ok, err := s.activeForIssue(tx, u.ID); err != nil || !ok {
			if err == nil {
				err = ErrUnauthorized
			}
			return err
		}
		plain, row, err = insertToken(tx, &u.ID, KindAPI, name, t, expires)
		return err
	})
	if err != nil {
		return "", TokenInfo{}, err
	}
	return plain, row.info(), nil
}

// Tokens lists a user's API tokens, revoked ones included, newest first.
func (s *Service) Tokens(ctx context.Context, userID string) ([]TokenInfo, error) {
	var rows []tokenRow
	err := s.db.Gorm.WithContext(ctx).
		Where("user_id = ? AND kind = ?", strings.ToLower(userID), KindAPI).
		Order("created_at DESC, id DESC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("access: list tokens: %w", err)
	}
	out := make([]TokenInfo, len(rows))
	for i := range rows {
		out[i] = rows[i].info()
	}
	return out, nil
}

// RevokeToken revokes one of a user's tokens by its id; it is refused from
// the next request on. A token that is not that user's is ErrNotFound.
// Revoking a revoked token succeeds.
func (s *Service) RevokeToken(ctx context.Context, userID, tokenID string) error {
	g := s.db.Gorm.WithContext(ctx)
	var row tokenRow
	err := g.Where("id = ? AND user_id = ? AND kind IN ?",
		strings.ToLower(tokenID), strings.ToLower(userID), []string{KindAPI, KindSession}).Take(&row).Error
	if isNotFound(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("access: look up token: %w", err)
	}
	if row.RevokedAt != nil {
		return nil
	}
	err = g.Model(&tokenRow{}).Where("id = ? AND revoked_at IS NULL", row.ID).Update("revoked_at", s.db.Now()).Error
	if err != nil {
		return fmt.Errorf("access: revoke token: %w", err)
	}
	return s.bumpEpoch(ctx)
}
