// Package access owns who may use Forma: users (their roles and teams) and
// their passwords, login sessions and throttling, API tokens, password
// resets and invitations, and the bootstrap of the first administrator.
//
// Secrets are never stored. Passwords are kept as bcrypt hashes; tokens as
// the SHA-256 of the token. A token is 32 random bytes, so unlike a password
// it cannot be guessed or brute-forced from its hash, and a fast hash is the
// right tool: it lets every request find its token with one indexed lookup.
package access

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/formaapp/forma/engine/store"
)

// Options tunes the service. Zero values take the defaults.
type Options struct {
	// SessionTTL is how long a login session lasts (default 24h).
	SessionTTL time.Duration
	// BcryptCost is the password hashing cost (default bcrypt.DefaultCost).
	// Tests use bcrypt.MinCost.
	BcryptCost int
}

// Service authenticates users. It holds no state besides its settings, so
// any number of servers may run one over the same database.
type Service struct {
	db         *store.DB
	sessionTTL time.Duration
	cost       int
	cache      authCache
	// dummyHash is compared against when a login names an unknown email, so
	// that answer takes as long as a wrong password does.
	dummyHash []byte
}

// Errors. The API layer maps them to statuses: ErrBadCredentials and
// ErrUnauthorized to 401, ErrExists and ErrInUse to 409, ErrNotFound to
// 404, ErrThrottled (a *ThrottledError) to 429 with Retry-After, and
// *InputError to 422.
var (
	ErrBadCredentials = errors.New("invalid email or password")
	ErrUnauthorized   = errors.New("unauthorized")
	ErrExists         = errors.New("already exists")
	ErrNotFound       = errors.New("not found")
)

// InputError reports a bad value in one input field.
type InputError struct{ Field, Message string }

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// User is an account as the API shows it. The password hash never leaves
// the package.
//
// The access model: Admin is the platform administrator flag (applies apps,
// manages users); it is not a role. Roles lists role names that apps write
// rules for — every app gets the default roles rep, manager and executive
// (PRODUCT.md: a rep sees own records, a manager the team's, an executive
// all); the rules themselves come later. A role name follows the schema name
// pattern. A user belongs to at most one team (TeamID, "" for none); teams
// nest (see Team), so a manager's reach is their team and every team below
// it (TeamsUnder).
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name,omitempty"`
	Admin     bool      `json:"admin"`
	Active    bool      `json:"active"`
	Roles     []string  `json:"roles"`
	TeamID    string    `json:"teamId,omitempty"`
	Profile   Profile   `json:"profile"`
	CreatedAt time.Time `json:"createdAt"`
}

// TokenInfo describes a token without revealing it.
type TokenInfo struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	Revoked    bool       `json:"revoked"`
}

// Token kinds.
const (
	KindSession = "session"
	KindAPI     = "api"
	KindSetup   = "setup"
	KindReset   = "reset" // one-time password reset (and invitation) token
)

// userRow is one account in _forma_users.
type userRow struct {
	ID           string `gorm:"primaryKey;size:26"`
	Email        string `gorm:"size:254;not null;uniqueIndex:idx_forma_users_email"`
	Name         string `gorm:"size:200;not null"`
	PasswordHash string `gorm:"size:100;not null"`
	// No GORM defaults on the booleans: GORM would skip a false value on
	// insert and let the default win.
	Admin  bool `gorm:"not null"`
	Active bool `gorm:"not null"`
	// Roles holds the role names joined by commas: a role name cannot
	// contain one. The default lets the column be added to a table that
	// already has rows.
	Roles string `gorm:"size:2000;not null;default:''"`
	// TeamID is the user's team, NULL for none. Teams are checked in code
	// (a team with users cannot be deleted) rather than by a foreign key,
	// which SQLite cannot add to an existing table.
	TeamID *string `gorm:"size:26;index:idx_forma_users_team"`
	// Profile is the user's Profile as JSON (profile.go).
	Profile   string `gorm:"size:8000;not null;default:'{}'"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (userRow) TableName() string { return "_forma_users" }

func (r *userRow) user() *User {
	u := &User{ID: r.ID, Email: r.Email, Name: r.Name, Admin: r.Admin, Active: r.Active,
		Roles: splitRoles(r.Roles), Profile: decodeProfile(r.Profile), CreatedAt: r.CreatedAt.UTC()}
	if r.TeamID != nil {
		u.TeamID = *r.TeamID
	}
	return u
}

// splitRoles reads the stored form of a role list; never nil, so the JSON
// shows [] rather than null.
func splitRoles(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// tokenRow is one session, API or setup token in _forma_tokens. Hash is the
// hex SHA-256 of the whole token (prefix included); the token itself is
// never stored. UserID is empty (NULL) for a setup token until it is used;
// deleting a user deletes their tokens.
type tokenRow struct {
	ID         string   `gorm:"primaryKey;size:26"`
	UserID     *string  `gorm:"size:26;index:idx_forma_tokens_user"`
	User       *userRow `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE"`
	Kind       string   `gorm:"size:16;not null"`
	Name       string   `gorm:"size:100;not null"`
	Hash       string   `gorm:"size:64;not null;uniqueIndex:idx_forma_tokens_hash"`
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

func (tokenRow) TableName() string { return "_forma_tokens" }

func (r *tokenRow) info() TokenInfo {
	return TokenInfo{
		ID:         r.ID,
		Name:       r.Name,
		Kind:       r.Kind,
		CreatedAt:  r.CreatedAt.UTC(),
		ExpiresAt:  utcPtr(r.ExpiresAt),
		LastUsedAt: utcPtr(r.LastUsedAt),
		Revoked:    r.RevokedAt != nil,
	}
}

// New creates the access tables if missing and returns the service.
func New(ctx context.Context, db *store.DB, opts Options) (*Service, error) {
	if db == nil || db.Gorm == nil {
		return nil, errors.New("access: no database")
	}
	s := &Service{db: db, sessionTTL: opts.SessionTTL, cost: opts.BcryptCost}
	if s.sessionTTL <= 0 {
		s.sessionTTL = 24 * time.Hour
	}
	if s.cost == 0 {
		s.cost = bcrypt.DefaultCost
	}
	if s.cost < bcrypt.MinCost || s.cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("access: bcrypt cost %d out of range %d..%d", s.cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	dummy := make([]byte, 16)
	rand.Read(dummy)
	h, err := bcrypt.GenerateFromPassword(dummy, s.cost)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	s.dummyHash = h
	if err := db.Gorm.WithContext(ctx).AutoMigrate(&userRow{}, &tokenRow{}, &teamRow{}, &attemptRow{}); err != nil {
		return nil, fmt.Errorf("access: create tables: %w", err)
	}
	if err := s.createEpoch(ctx); err != nil {
		return nil, fmt.Errorf("access: create tables: %w", err)
	}
	return s, nil
}

// newID returns a new lower-case ULID: sortable by creation time.
func newID() string { return strings.ToLower(ulid.Make().String()) }

// now is the current time in UTC at the microsecond precision PostgreSQL
// keeps, so a value reads back exactly as written on both dialects.

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }

// firstAdminLock serialises the transactions that may create the first
// administrator (Bootstrap, Setup), across every server sharing the
// database. SQLite needs nothing more: its write transactions begin
// IMMEDIATE (see store.Open) and so already run one at a time. PostgreSQL
// takes a transaction-scoped advisory lock.
func (s *Service) firstAdminLock(tx *gorm.DB) error {
	if s.db.Dialect.Name() != "postgres" {
		return nil
	}
	// The key is "forma" in ASCII; any constant would do.
	if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(0x666f726d61)).Error; err != nil {
		return fmt.Errorf("access: lock: %w", err)
	}
	return nil
}

// gormNow is the engine clock's time (store.DB.Now) for code that has only
// a GORM handle: store.Open makes GORM's NowFunc read the engine clock.
func gormNow(g *gorm.DB) time.Time { return g.NowFunc().UTC().Truncate(time.Microsecond) }
