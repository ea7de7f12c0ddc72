package access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Login throttling. Failed logins are counted per account (by lower-cased
// email, whether or not such an account exists, so the answer does not tell)
// and per client address, in a fixed window: the first failure opens a
// window of ThrottleWindow, and once a key has reached its limit inside the
// window every further login naming it is refused with a *ThrottledError,
// without looking at the password, until the window ends. A successful login clears
// the account's count (not the address's). The counts live in the database
// so that every server shares them.
const (
	ThrottleWindow      = 15 * time.Minute
	MaxAccountFailures  = 5
	MaxAddressFailures  = 20
	maxAttemptKeyLength = 300
)

// ErrThrottled is what a *ThrottledError matches with errors.Is.
var ErrThrottled = errors.New("too many failed logins")

// ThrottledError refuses a login after too many failures; RetryAfter says
// when the window ends.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// attemptRow counts the failed logins of one key in _forma_login_attempts.
type attemptRow struct {
	Key         string    `gorm:"column:key;primaryKey;size:300"`
	Failures    int       `gorm:"not null"`
	WindowStart time.Time `gorm:"not null"`
}

func (attemptRow) TableName() string { return "_forma_login_attempts" }

// attemptKeys returns the account key, then the address key when addr is
// known. email is already normalized.
func attemptKeys(email, addr string) []string {
	keys := []string{clipKey("email:" + email)}
	if addr != "" {
		keys = append(keys, clipKey("addr:"+addr))
	}
	return keys
}

func clipKey(k string) string {
	if len(k) > maxAttemptKeyLength {
		return k[:maxAttemptKeyLength]
	}
	return k
}

func limitFor(key string) int {
	if len(key) >= 5 && key[:5] == "addr:" {
		return MaxAddressFailures
	}
	return MaxAccountFailures
}

// reserve counts this attempt as a failure for every key before the
// password is checked, and refuses it with a *ThrottledError when any key
// is then past its limit. Counting first (one atomic upsert per key) means
// that parallel attempts cannot all slip through before the first failure
// is written. A successful login gives the reservation back (release).
func (s *Service) reserve(ctx context.Context, keys []string) error {
	t := s.db.Now()
	expired := t.Add(-ThrottleWindow)
	var wait time.Duration
	for _, k := range keys {
		var (
			failures int
			start    time.Time
		)
		err := s.db.Gorm.WithContext(ctx).Raw(`INSERT INTO _forma_login_attempts ("key", failures, window_start) VALUES (?, 1, ?)
ON CONFLICT ("key") DO UPDATE SET
 failures = CASE WHEN _forma_login_attempts.window_start <= ? THEN 1 ELSE _forma_login_attempts.failures + 1 END,
 window_start = CASE WHEN _forma_login_attempts.window_start <= ? THEN ? ELSE _forma_login_attempts.window_start END
RETURNING failures, window_start`, k, t, expired, expired, t).Row().Scan(&failures, &start)
		if err != nil {
			return fmt.Errorf("access: count login attempt: %w", err)
		}
		if failures > limitFor(k) {
			wait = max(wait, start.UTC().Add(ThrottleWindow).Sub(t))
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: max(wait, time.Second)}
	}
	return nil
}

// CountRefusedLogin counts a login that was refused for its input before
// any password was looked at (a body that is not JSON, holds bytes Forma
// does not read, or lacks the email or password) as one failure, as a
// wrong password would count: for the client's address, and for the
// account when email is not empty. Callers pass an email only when it
// could be read as sent. Without this, malformed attempts would go
// uncounted beside wrong passwords. It returns a *ThrottledError when a
// key is then past its limit.
func (s *Service) CountRefusedLogin(ctx context.Context, email, addr string) error {
	var keys []string
	if email = normalizeEmail(email); email != "" {
		keys = append(keys, clipKey("email:"+email))
	}
	if addr != "" {
		keys = append(keys, clipKey("addr:"+addr))
	}
	if len(keys) == 0 {
		return nil
	}
	return s.reserve(ctx, keys)
}

// release gives back a reservation for an attempt that did not fail on
// its credentials: every key's count goes down by one, and a successful
// login (success) clears the account's count. Failing costs at most a few
// refused logins later, so errors are dropped.
func (s *Service) release(ctx context.Context, keys []string, success bool) {
	if success {
		s.clearFailures(ctx, keys[0])
		keys = keys[1:]
	}
	for _, k := range keys {
		s.db.Gorm.WithContext(ctx).Model(&attemptRow{}).Where(`"key" = ? AND failures > 0`, k).
			Update("failures", gorm.Expr("failures - 1"))
	}
}

// clearFailures forgets a key's failures. Failing costs at most a few
// refused logins later, so the error is dropped.
func (s *Service) clearFailures(ctx context.Context, key string) {
	s.db.Gorm.WithContext(ctx).Where(`"key" = ?`, key).Delete(&attemptRow{})
}

// PurgeLoginAttempts deletes counts whose window has ended (or that are
// back to zero); any server may
// run it now and then. It returns how many it deleted.
func (s *Service) PurgeLoginAttempts(ctx context.Context) (int64, error) {
	res := s.db.Gorm.WithContext(ctx).Where("window_start <= ? OR failures <= 0", s.db.Now().Add(-ThrottleWindow)).Delete(&attemptRow{})
	if res.Error != nil {
		return 0, fmt.Errorf("access: purge login attempts: %w", res.Error)
	}
	return res.RowsAffected, nil
}
