package access

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
)

const (
	minPasswordChars = 8
	maxPasswordBytes = 72 // bcrypt ignores anything longer
	maxEmailBytes    = 254
	maxNameChars     = 200
)

// normalizeEmail trims and lower-cases an email: addresses are compared
// case-insensitively.
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// checkEmail validates an already normalized email: a bare address, no
// display name, no angle brackets.
func checkEmail(email string) error {
	if email == "" {
		return &InputError{Field: "email", Message: "is required"}
	}
	if len(email) > maxEmailBytes {
		return &InputError{Field: "email", Message: fmt.Sprintf("must be at most %d characters", maxEmailBytes)}
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return &InputError{Field: "email", Message: "is not a valid email address"}
	}
	return nil
}

func checkPassword(password string) error {
	if utf8.RuneCountInString(password) < minPasswordChars {
		return &InputError{Field: "password", Message: fmt.Sprintf("must be at least %d characters", minPasswordChars)}
	}
	if len(password) > maxPasswordBytes {
		return &InputError{Field: "password", Message: fmt.Sprintf("must be at most %d bytes", maxPasswordBytes)}
	}
	return nil
}

func checkName(name string) error {
	if utf8.RuneCountInString(name) > maxNameChars {
		return &InputError{Field: "name", Message: fmt.Sprintf("must be at most %d characters", maxNameChars)}
	}
	return nil
}

// newUserRow validates the input and hashes the password, giving a row
// ready to insert. It touches no database, so callers run it before opening
// a transaction.
func (s *Service) newUserRow(email, password, name string, admin bool) (*userRow, error) {
	email = normalizeEmail(email)
	name = strings.TrimSpace(name)
	if err := checkEmail(email); err != nil {
		return nil, err
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return nil, fmt.Errorf("access: hash password: %w", err)
	}
	t := now()
	return &userRow{
		ID: newID(), Email: email, Name: name, PasswordHash: string(h),
		Admin: admin, Active: true, CreatedAt: t, UpdatedAt: t,
	}, nil
}

// CreateUser adds an active account. A bad email, password or name is an
// *InputError; an email already taken (in any letter case) is ErrExists.
func (s *Service) CreateUser(ctx context.Context, email, password, name string, admin bool) (*User, error) {
	row, err := s.newUserRow(email, password, name, admin)
	if err != nil {
		return nil, err
	}
	g := s.db.Gorm.WithContext(ctx)
	taken, err := emailTaken(g, row.Email)
	if err != nil {
		return nil, err
	}
	if taken {
		return nil, ErrExists
	}
	if err := g.Create(row).Error; err != nil {
		// Lost a race with another insert of the same email: the unique
		// index refused it. Errors differ by driver, so look again.
		if taken, _ := emailTaken(g, row.Email); taken {
			return nil, ErrExists
		}
		return nil, fmt.Errorf("access: create user: %w", err)
	}
	return row.user(), nil
}

func emailTaken(g *gorm.DB, email string) (bool, error) {
	var n int64
	if err := g.Model(&userRow{}).Where("email = ?", email).Count(&n).Error; err != nil {
		return false, fmt.Errorf("access: look up email: %w", err)
	}
	return n > 0, nil
}

// Login checks an email and password and opens a session. An unknown
// email, a wrong password and an inactive account all give
// ErrBadCredentials after the same bcrypt work, so neither the answer nor
// its timing tells which accounts exist.
func (s *Service) Login(ctx context.Context, email, password string) (string, time.Time, *User, error) {
	g := s.db.Gorm.WithContext(ctx)
	var row userRow
	err := g.Where("email = ?", normalizeEmail(email)).Take(&row).Error
	switch {
	case isNotFound(err):
		bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return "", time.Time{}, nil, ErrBadCredentials
	case err != nil:
		return "", time.Time{}, nil, fmt.Errorf("access: look up user: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(row.PasswordHash), []byte(password)) != nil || !row.Active {
		return "", time.Time{}, nil, ErrBadCredentials
	}
	t := now()
	expires := t.Add(s.sessionTTL)
	token, tok, err := insertToken(g, &row.ID, KindSession, "", t, &expires)
	if err != nil {
		return "", time.Time{}, nil, err
	}
	// Housekeeping: this user's ended sessions are of no further use.
	// Failing to delete them costs nothing but space, so the login stands.
	g.Where("user_id = ? AND kind = ? AND id <> ? AND (revoked_at IS NOT NULL OR expires_at < ?)",
		row.ID, KindSession, tok.ID, t).Delete(&tokenRow{})
	return token, expires, row.user(), nil
}

// UserCount returns the number of accounts, active or not.
func (s *Service) UserCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.Gorm.WithContext(ctx).Model(&userRow{}).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("access: count users: %w", err)
	}
	return n, nil
}

// UserByID returns one account, or ErrNotFound.
func (s *Service) UserByID(ctx context.Context, id string) (*User, error) {
	var row userRow
	err := s.db.Gorm.WithContext(ctx).Where("id = ?", strings.ToLower(id)).Take(&row).Error
	if isNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("access: look up user: %w", err)
	}
	return row.user(), nil
}

// SetActive activates or deactivates a user. A deactivated user cannot log
// in, and every token they hold stops working at once, on every server.
func (s *Service) SetActive(ctx context.Context, userID string, active bool) error {
	res := s.db.Gorm.WithContext(ctx).Model(&userRow{}).Where("id = ?", strings.ToLower(userID)).
		Updates(map[string]any{"active": active, "updated_at": now()})
	if res.Error != nil {
		return fmt.Errorf("access: set active: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return s.bumpEpoch(ctx)
}
