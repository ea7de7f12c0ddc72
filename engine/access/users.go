package access

import (
	"context"
	"errors"
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
	t := s.db.Now()
	return &userRow{
		ID: newID(), Email: email, Name: name, PasswordHash: string(h),
		Admin: admin, Active: true, CreatedAt: t, UpdatedAt: t,
	}, nil
}

// CreateUser adds an active account. A bad email, password or name is an
// *InputError; an email already taken (in any letter case) is ErrExists.
// CreateUserWith also sets roles and a team.
func (s *Service) CreateUser(ctx context.Context, email, password, name string, admin bool) (*User, error) {
	return s.CreateUserWith(ctx, NewUser{Email: email, Password: password, Name: name, Admin: admin})
}

// insertUser stores a new user row, after checking its team exists, and
// then runs after (if any) in the same transaction.
func (s *Service) insertUser(ctx context.Context, row *userRow, after func(tx *gorm.DB) error) error {
	g := s.db.Gorm.WithContext(ctx)
	taken, err := emailTaken(g, row.Email)
	if err != nil {
		return err
	}
	if taken {
		return ErrExists
	}
	err = g.Transaction(func(tx *gorm.DB) error {
		if row.TeamID != nil {
			if ok, err := teamExists(tx, *row.TeamID); err != nil {
				return err
			} else if !ok {
				return &InputError{Field: "teamId", Message: "no such team"}
			}
		}
		if err := tx.Create(row).Error; err != nil {
			return err
		}
		if after != nil {
			return after(tx)
		}
		return nil
	})
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			return err
		}
		// Lost a race with another insert of the same email: the unique
		// index refused it. Errors differ by driver, so look again.
		if taken, _ := emailTaken(g, row.Email); taken {
			return ErrExists
		}
		return fmt.Errorf("access: create user: %w", err)
	}
	return nil
}

func emailTaken(g *gorm.DB, email string) (bool, error) {
	var n int64
	if err := g.Model(&userRow{}).Where("email = ?", email).Count(&n).Error; err != nil {
		return false, fmt.Errorf("access: look up email: %w", err)
	}
	return n > 0, nil
}

// Login checks an email and password and opens a session, without a client
// address (see LoginFrom).
func (s *Service) Login(ctx context.Context, email, password string) (string, time.Time, *User, error) {
	return s.LoginFrom(ctx, email, password, "")
}

// LoginFrom checks an email and password sent from client address addr
// ("" when unknown) and opens a session. An unknown email, a wrong password
// and an inactive account all give ErrBadCredentials after the same bcrypt
// work, so neither the answer nor its timing tells which accounts exist.
//
// Failed logins are counted per email and per address (see throttle.go):
// past the limit a *ThrottledError (errors.Is ErrThrottled) answers at once,
// without looking at the password, until the window has passed.
func (s *Service) LoginFrom(ctx context.Context, email, password, addr string) (string, time.Time, *User, error) {
	email = normalizeEmail(email)
	keys := attemptKeys(email, addr)
	if err := s.reserve(ctx, keys); err != nil {
		return "", time.Time{}, nil, err
	}
	tok, exp, u, err := s.login(ctx, email, password)
	if !errors.Is(err, ErrBadCredentials) {
		// A success, or a failure that was not the caller's (a database
		// error), does not count; a success also clears the account's count.
		s.release(ctx, keys, err == nil)
	}
	return tok, exp, u, err
}

func (s *Service) login(ctx context.Context, email, password string) (string, time.Time, *User, error) {
	g := s.db.Gorm.WithContext(ctx)
	var row userRow
	err := g.Where("email = ?", email).Take(&row).Error
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
	t := s.db.Now()
	expires := t.Add(s.sessionTTL)
	var (
		token string
		tok   *tokenRow
	)
	err = g.Transaction(func(tx *gorm.DB) error {
		// A deactivation may have committed since the row was read.
		if ok, err := s.activeForIssue(tx, row.ID); err != nil || !ok {
			if err == nil {
				err = ErrBadCredentials
			}
			return err
		}
		token, tok, err = insertToken(tx, &row.ID, KindSession, "", t, &expires)
		return err
	})
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
// in, and every token they hold is revoked at once, on every server, for
// good: reactivation brings none back (see deactivate.go).
func (s *Service) SetActive(ctx context.Context, userID string, active bool) error {
	id := strings.ToLower(userID)
	return s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&userRow{}).Where("id = ?", id).
			Updates(map[string]any{"active": active, "updated_at": s.db.Now()})
		if res.Error != nil {
			return fmt.Errorf("access: set active: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if !active {
			if err := revokeAll(tx, id); err != nil {
				return err
			}
		}
		return bumpEpochTx(tx)
	})
}
