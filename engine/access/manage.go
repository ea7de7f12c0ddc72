package access

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"github.com/formaapp/forma/schema"
)

// ResetTTL is how long a password reset (or invitation) token stays valid.
const ResetTTL = 24 * time.Hour

const maxRoles = 50

// NewUser is an account to create. Password is required by CreateUserWith
// and ignored by InviteWith. TeamID "" means no team.
type NewUser struct {
	Email    string
	Password string
	Name     string
	Admin    bool
	Roles    []string
	TeamID   string
}

// UserUpdate changes an account; nil fields stay. TeamID "" removes the
// user from their team.
type UserUpdate struct {
	Name    *string
	Roles   *[]string
	TeamID  *string
	Active  *bool
	Profile *Profile
}

// checkRoles validates role names (the schema name pattern) and returns
// them deduplicated, in the order given, joined for storage.
func checkRoles(roles []string) (string, error) {
	if len(roles) > maxRoles {
		return "", &InputError{Field: "roles", Message: fmt.Sprintf("must hold at most %d roles", maxRoles)}
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range roles {
		if !schema.ValidName(r) {
			return "", &InputError{Field: "roles", Message: fmt.Sprintf("%q is not a valid role name (%s)", r, schema.NamePattern)}
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return strings.Join(out, ","), nil
}

// userRowFor validates in and builds its row (hashing the password).
func (s *Service) userRowFor(in NewUser) (*userRow, error) {
	roles, err := checkRoles(in.Roles)
	if err != nil {
		return nil, err
	}
	row, err := s.newUserRow(in.Email, in.Password, in.Name, in.Admin)
	if err != nil {
		return nil, err
	}
	row.Roles = roles
	if in.TeamID != "" {
		t := strings.ToLower(in.TeamID)
		row.TeamID = &t
	}
	return row, nil
}

// CreateUserWith adds an active account with roles and a team. Bad input
// (email, password, name, a role name, an unknown team) is an *InputError;
// a taken email ErrExists.
func (s *Service) CreateUserWith(ctx context.Context, in NewUser) (*User, error) {
	row, err := s.userRowFor(in)
	if err != nil {
		return nil, err
	}
	if err := s.insertUser(ctx, row, nil); err != nil {
		return nil, err
	}
	return row.user(), nil
}

// Invite creates an active user whose password nobody knows, and returns a
// reset token (valid ResetTTL) with which they set it through
// CompletePasswordReset.
func (s *Service) Invite(ctx context.Context, email, name string, roles []string, teamID string) (*User, string, error) {
	return s.InviteWith(ctx, NewUser{Email: email, Name: name, Roles: roles, TeamID: teamID})
}

// InviteWith is Invite with every NewUser field (in.Password is ignored).
func (s *Service) InviteWith(ctx context.Context, in NewUser) (*User, string, error) {
	// A random password that is never shown: the account has a real bcrypt
	// hash, so a login attempt on it costs the same as on any other.
	b := make([]byte, 24)
	rand.Read(b)
	in.Password = base64.RawURLEncoding.EncodeToString(b)
	row, err := s.userRowFor(in)
	if err != nil {
		return nil, "", err
	}
	var token string
	err = s.insertUser(ctx, row, func(tx *gorm.DB) error {
		token, err = issueReset(tx, row.ID)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return row.user(), token, nil
}

// issueReset replaces the user's reset tokens with a new one.
func issueReset(tx *gorm.DB, userID string) (string, error) {
	if err := tx.Where("user_id = ? AND kind = ?", userID, KindReset).Delete(&tokenRow{}).Error; err != nil {
		return "", fmt.Errorf("access: drop old reset tokens: %w", err)
	}
	t := gormNow(tx)
	expires := t.Add(ResetTTL)
	plain, _, err := insertToken(tx, &userID, KindReset, "reset", t, &expires)
	return plain, err
}

// Users lists every account by email.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	var rows []userRow
	if err := s.db.Gorm.WithContext(ctx).Order("email").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("access: list users: %w", err)
	}
	out := make([]User, len(rows))
	for i := range rows {
		out[i] = *rows[i].user()
	}
	return out, nil
}

// UserByEmail returns the account with that email (any letter case), or
// ErrNotFound.
func (s *Service) UserByEmail(ctx context.Context, email string) (*User, error) {
	var row userRow
	err := s.db.Gorm.WithContext(ctx).Where("email = ?", normalizeEmail(email)).Take(&row).Error
	if isNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("access: look up user: %w", err)
	}
	return row.user(), nil
}

// UpdateUser changes an account's name, roles, team or active flag in one
// write. Bad input is an *InputError and changes nothing; an unknown user
// is ErrNotFound. Every cached token answer is dropped (the auth epoch is
// bumped in the same transaction), so new roles or a new team apply from the
// next request; a deactivation revokes every token the user holds, for good,
// as SetActive does.
func (s *Service) UpdateUser(ctx context.Context, id string, up UserUpdate) (*User, error) {
	id = strings.ToLower(id)
	set := map[string]any{}
	if up.Name != nil {
		name := strings.TrimSpace(*up.Name)
		if err := checkName(name); err != nil {
			return nil, err
		}
		set["name"] = name
	}
	if up.Roles != nil {
		roles, err := checkRoles(*up.Roles)
		if err != nil {
			return nil, err
		}
		set["roles"] = roles
	}
	if up.Active != nil {
		set["active"] = *up.Active
	}
	if up.Profile != nil {
		p, err := up.Profile.clean()
		if err != nil {
			return nil, err
		}
		if enc := p.encode(); len(enc) > maxProfileLen {
			return nil, &InputError{Field: "profile", Message: "the profile is too large"}
		} else {
			set["profile"] = enc
		}
	}
	var row userRow
	err := s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if up.TeamID != nil {
			if *up.TeamID == "" {
				set["team_id"] = nil
			} else {
				t := strings.ToLower(*up.TeamID)
				if ok, err := teamExists(tx, t); err != nil {
					return err
				} else if !ok {
					return &InputError{Field: "teamId", Message: "no such team"}
				}
				set["team_id"] = t
			}
		}
		if len(set) > 0 {
			set["updated_at"] = s.db.Now()
			res := tx.Model(&userRow{}).Where("id = ?", id).Updates(set)
			if res.Error != nil {
				return fmt.Errorf("access: update user: %w", res.Error)
			}
			if up.Active != nil && !*up.Active {
				// Deactivation revokes every token for good (deactivate.go).
				if err := revokeAll(tx, id); err != nil {
					return err
				}
			}
			if err := bumpEpochTx(tx); err != nil {
				return err
			}
		}
		err := tx.Where("id = ?", id).Take(&row).Error
		if isNotFound(err) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("access: look up user: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return row.user(), nil
}

// ResetPassword issues a one-time reset token for a user, valid ResetTTL,
// replacing any earlier one. The current password keeps working until the
// token is used. An unknown user is ErrNotFound.
func (s *Service) ResetPassword(ctx context.Context, id string) (string, error) {
	u, err := s.UserByID(ctx, id)
	if err != nil {
		return "", err
	}
	var token string
	err = s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		token, err = issueReset(tx, u.ID)
		return err
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// CompletePasswordReset uses a reset token to set a new password. It ends
// every login session of the user (API tokens, made on purpose, stay) and
// clears the failed-login count of their email. A malformed, unknown,
// expired or used token is ErrUnauthorized; a bad password is an
// *InputError and leaves the token usable.
func (s *Service) CompletePasswordReset(ctx context.Context, token, newPassword string) (*User, error) {
	kind, hash, ok := parseToken(token)
	if !ok || kind != KindReset {
		return nil, ErrUnauthorized
	}
	g := s.db.Gorm.WithContext(ctx)
	// The token first: a caller without one learns nothing and costs no
	// bcrypt work.
	if _, err := resetToken(g, hash); err != nil {
		return nil, err
	}
	if err := checkPassword(newPassword); err != nil {
		return nil, err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(newPassword), s.cost)
	if err != nil {
		return nil, fmt.Errorf("access: hash password: %w", err)
	}
	var row userRow
	err = g.Transaction(func(tx *gorm.DB) error {
		tok, err := resetToken(tx, hash)
		if err != nil {
			return err
		}
		t := s.db.Now()
		// The revoked_at condition makes the token single-use even when two
		// calls race.
		res := tx.Model(&tokenRow{}).Where("id = ? AND revoked_at IS NULL", tok.ID).Update("revoked_at", t)
		if res.Error != nil {
			return fmt.Errorf("access: use reset token: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrUnauthorized
		}
		if err := tx.Model(&userRow{}).Where("id = ?", *tok.UserID).
			Updates(map[string]any{"password_hash": string(h), "updated_at": t}).Error; err != nil {
			return fmt.Errorf("access: set password: %w", err)
		}
		if err := tx.Model(&tokenRow{}).Where("user_id = ? AND kind = ? AND revoked_at IS NULL", *tok.UserID, KindSession).
			Update("revoked_at", t).Error; err != nil {
			return fmt.Errorf("access: end sessions: %w", err)
		}
		if err := tx.Where("id = ?", *tok.UserID).Take(&row).Error; err != nil {
			return fmt.Errorf("access: look up user: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.clearFailures(ctx, attemptKeys(row.Email, "")[0])
	if err := s.bumpEpoch(ctx); err != nil {
		return nil, err
	}
	return row.user(), nil
}

// resetToken returns the live reset token with that hash, or
// ErrUnauthorized.
func resetToken(g *gorm.DB, hash string) (*tokenRow, error) {
	var tok tokenRow
	err := g.Where("hash = ? AND kind = ?", hash, KindReset).Take(&tok).Error
	if isNotFound(err) {
		return nil, ErrUnauthorized
	}
	if err != nil {
		return nil, fmt.Errorf("access: look up reset token: %w", err)
	}
	if tok.RevokedAt != nil || tok.UserID == nil || tok.ExpiresAt == nil || !gormNow(g).Before(*tok.ExpiresAt) {
		return nil, ErrUnauthorized
	}
	return &tok, nil
}
