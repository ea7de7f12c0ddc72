// Package notify keeps the in-app notifications automations send: who a
// notify action reaches (Resolve), storing its notifications inside the
// action's transaction once per (key, user) (Send), and each user's own list
// with its unread count and read marks (List, Unread, MarkRead, MarkAllRead).
//
// The table, _forma_notifications, is created by engine/store with the other
// system tables. A notification's message is rendered by the automation
// before Send (under the automation's role); this package stores the text as
// given and never renders it again, so what a user reads is what was sent.
// A message may come in several languages (Messages, each rendered the
// same way); List returns them all and the inbox API answers the reader's.
package notify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

const table = "_forma_notifications"

// Limits.
const (
	DefaultLimit = 20  // notifications per List page when Query.Limit is 0
	MaxLimit     = 100 // most notifications per List page
	// MaxMessage is the most bytes of a message kept; a longer one is cut
	// on a character boundary and ends in "…".
	MaxMessage = 4096
	// MaxKey is the most bytes of a Key stored as it is (the column's
	// size); a longer key is stored as "sha256:" and its hex digest, which
	// keeps keys apart just as well.
	MaxKey = 300
)

// Column sizes (engine/store's notificationRow).
const (
	sizeUserID = 26
	sizeName   = 63 // app, entity, automation
	sizeRecord = 64
)

// Notification is one message to one user.
type Notification struct {
	ID         string `json:"id"`
	UserID     string `json:"-"` // only ever the reader's own: not shown
	App        string `json:"app"`
	Entity     string `json:"entity"`
	RecordID   string `json:"recordId"`
	Automation string `json:"automation"`
	Message    string `json:"message"`
	// Messages is Message in other languages (language → text), each
	// rendered like Message when sent; the inbox answers the reader's.
	Messages  schema.Labels `json:"-"`
	Key       string        `json:"-"`
	CreatedAt time.Time     `json:"createdAt"`
	ReadAt    *time.Time    `json:"readAt"`
}

// ErrNotFound is a notification that does not exist or is not the
// reader's: the two look the same, so nobody learns another's ids.
var ErrNotFound = errors.New("notify: no such notification")

// ErrBadCursor is a List cursor this package did not hand out.
var ErrBadCursor = errors.New("notify: bad cursor")

// Service stores and reads notifications. It holds no state that decides
// anything besides an id generator, so any number of servers may share a
// database.
type Service struct {
	db  *store.DB
	acc *access.Service

	mu      sync.Mutex
	entropy io.Reader
}

// New returns the service over db; acc answers who users, roles and teams
// are (Resolve).
func New(db *store.DB, acc *access.Service) *Service {
	return &Service{db: db, acc: acc, entropy: ulid.Monotonic(rand.Reader, 0)}
}

// newID returns a lower-case ULID from the engine clock: ids sort by
// creation time, so they order and page a user's list.
func (s *Service) newID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.ToLower(ulid.MustNew(ulid.Timestamp(s.db.Clock.Now()), s.entropy).String())
}

// Send stores ns inside tx; a (Key, UserID) already stored is skipped (a
// retried action notifies once). Returns how many were new. ID, CreatedAt
// and ReadAt are set here (new, now, unread). A notification without a
// UserID or a Key, or with an app, entity, automation or record id longer
// than its column, is an error and stores nothing: those are the caller's
// bugs, not a user's input. A key longer than MaxKey is hashed. A message
// longer than MaxMessage is cut; invalid UTF-8 and NUL (which PostgreSQL
// cannot store) are replaced, so a message is never refused.
func (s *Service) Send(ctx context.Context, tx store.Conn, ns []Notification) (int, error) {
	for i := range ns {
		n := &ns[i]
		switch {
		case n.UserID == "" || len(n.UserID) > sizeUserID:
			return 0, fmt.Errorf("notify: send: notification %d: user id %q", i, n.UserID)
		case n.Key == "":
			return 0, fmt.Errorf("notify: send: notification %d: no key", i)
		case len(n.App) > sizeName || len(n.Entity) > sizeName || len(n.Automation) > sizeName || len(n.RecordID) > sizeRecord:
			return 0, fmt.Errorf("notify: send: notification %d: app, entity, automation or record id too long", i)
		}
	}
	now := s.db.Now()
	added := 0
	for _, n := range ns {
		// ON CONFLICT DO NOTHING: both dialects skip the duplicate without
		// failing the transaction (a failed INSERT would abort a PostgreSQL
		// transaction, and with it the action's other writes).
		res, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (id, user_id, app, entity, record_id, automation, message, messages, dedupe_key, created_at, read_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT (dedupe_key, user_id) DO NOTHING`,
			s.newID(), strings.ToLower(n.UserID), clean(n.App), clean(n.Entity), clean(n.RecordID), clean(n.Automation), message(n.Message), messages(n.Messages), storedKey(n.Key), now)
		if err != nil {
			return added, fmt.Errorf("notify: send: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return added, fmt.Errorf("notify: send: %w", err)
		}
		added += int(k)
	}
	return added, nil
}

// storedKey is the key as stored: clean, and hashed when too long.
func storedKey(k string) string {
	k = clean(k)
	if len(k) <= MaxKey {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// clean makes s storable on both dialects: valid UTF-8 without NUL.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// message is a message as stored: clean, and cut to MaxMessage bytes.
func message(m string) string {
	m = clean(m)
	if len(m) <= MaxMessage {
		return m
	}
	const ellipsis = "…"
	cut := MaxMessage - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut] + ellipsis
}

// messages is a message's variants as stored: a JSON object of each one
// as message stores it ("" for none). Language tags were checked with the
// app document; one that is not plain text is dropped all the same.
func messages(ms schema.Labels) string {
	out := make(map[string]string, len(ms))
	for lang, m := range ms {
		if lang != "" && len(lang) <= 35 && clean(lang) == lang && m != "" {
			out[lang] = message(m)
		}
	}
	if len(out) == 0 {
		return ""
	}
	b, _ := json.Marshal(out) // strings only: cannot fail
	return string(b)
}

// readMessages decodes a stored messages column; a value it cannot read
// is no variants (the message itself stays).
func readMessages(s string) schema.Labels {
	if s == "" {
		return nil
	}
	var ms schema.Labels
	if json.Unmarshal([]byte(s), &ms) != nil {
		return nil
	}
	return ms
}

// Resolve returns the ids of the active users `to` names, for a record of
// app whose owner is owner and whose user fields hold userFields (field name
// → user id). Deduplicated, sorted.
//
//   - Owner: the record's owner.
//   - Manager: access.ManagerOf(owner) — the manager of the owner's team, or
//     when the team has none (or the owner is that manager, or the manager
//     was deactivated) of the nearest team above with one. Nobody when the
//     owner has no team or no team up the tree has a manager.
//   - Roles: every user holding one of the role names. Roles are names
//     users hold across apps (access.User.Roles); an app writes rules for
//     them, so "users of the app's role manager" is every user holding
//     manager.
//   - Fields: the user ids the named fields hold (an empty field: nobody).
//   - Users: ids or emails (any letter case).
//
// Names that reach nobody — an unknown id or email, a deactivated user, an
// empty field — are left out, not errors: an automation keeps working for
// the recipients that remain when people leave, and the dry run
// (POST …/automations/{name}/test) lists whom it reaches. Only a failure
// to read the users is an error.
func (s *Service) Resolve(ctx context.Context, app string, to schema.Recipients, owner string, userFields map[string]string) ([]string, error) {
	owner = strings.ToLower(owner)
	want := map[string]bool{} // candidate ids, checked against active users below
	var emails []string
	if to.Owner && owner != "" {
		want[owner] = true
	}
	if to.Manager && owner != "" {
		m, err := s.acc.ManagerOf(ctx, owner)
		if err != nil {
			return nil, fmt.Errorf("notify: resolve %s: %w", app, err)
		}
		if m != "" {
			want[m] = true
		}
	}
	for _, f := range to.Fields {
		if id := userFields[f]; id != "" {
			want[strings.ToLower(id)] = true
		}
	}
	for _, u := range to.Users {
		u = strings.TrimSpace(u)
		if strings.Contains(u, "@") {
			emails = append(emails, strings.ToLower(u))
		} else if u != "" {
			want[strings.ToLower(u)] = true
		}
	}
	if len(want) == 0 && len(emails) == 0 && len(to.Roles) == 0 {
		return []string{}, nil
	}
	// One read of the accounts (an organisation's users) answers every
	// kind at once, and says who is active.
	users, err := s.acc.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: resolve %s: %w", app, err)
	}
	out := []string{}
	for _, u := range users {
		if !u.Active {
			continue
		}
		if want[u.ID] || slices.Contains(emails, u.Email) || holdsAny(u.Roles, to.Roles) {
			out = append(out, u.ID)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func holdsAny(have, want []string) bool {
	for _, r := range want {
		if slices.Contains(have, r) {
			return true
		}
	}
	return false
}

// Query selects a page of one user's notifications, newest first.
type Query struct {
	Unread bool   // only those not read yet
	Limit  int    // 1..MaxLimit; 0 is DefaultLimit
	Cursor string // a Page's NextCursor: the page after it
}

// Page is one page of List.
type Page struct {
	Items []Notification
	// NextCursor continues the list; "" when this page is the last.
	NextCursor string
}

// List returns userID's own notifications, newest first. Paging is by key
// (the id, which sorts by time), so notifications arriving meanwhile
// neither repeat nor skip entries. A cursor not handed out here is
// ErrBadCursor; a limit out of range is an error.
func (s *Service) List(ctx context.Context, userID string, q Query) (*Page, error) {
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return nil, fmt.Errorf("notify: limit %d out of 1..%d", q.Limit, MaxLimit)
	}
	where, args := "user_id = ?", []any{strings.ToLower(userID)}
	if q.Unread {
		where += " AND read_at IS NULL"
	}
	if q.Cursor != "" {
		if !validCursor(q.Cursor) {
			return nil, ErrBadCursor
		}
		where += " AND id < ?"
		args = append(args, q.Cursor)
	}
	args = append(args, q.Limit+1)
	rows, err := s.db.Pool().QueryContext(ctx, `SELECT id, user_id, app, entity, record_id, automation, message, messages, dedupe_key, created_at, read_at FROM `+table+` WHERE `+where+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("notify: list: %w", err)
	}
	defer rows.Close()
	p := &Page{Items: []Notification{}}
	for rows.Next() {
		var n Notification
		var read *time.Time
		var msgs string
		if err := rows.Scan(&n.ID, &n.UserID, &n.App, &n.Entity, &n.RecordID, &n.Automation, &n.Message, &msgs, &n.Key, &n.CreatedAt, &read); err != nil {
			return nil, fmt.Errorf("notify: list: %w", err)
		}
		n.Messages = readMessages(msgs)
		n.CreatedAt = n.CreatedAt.UTC()
		if read != nil {
			r := read.UTC()
			n.ReadAt = &r
		}
		p.Items = append(p.Items, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("notify: list: %w", err)
	}
	if len(p.Items) > q.Limit {
		p.Items = p.Items[:q.Limit]
		p.NextCursor = p.Items[q.Limit-1].ID
	}
	return p, nil
}

// validCursor says whether c is an id as newID makes them: a lower-case
// ULID. Anything else never came from List.
func validCursor(c string) bool {
	if len(c) != ulid.EncodedSize || strings.ToLower(c) != c {
		return false
	}
	_, err := ulid.ParseStrict(c)
	return err == nil
}

// Unread counts userID's notifications not read yet.
func (s *Service) Unread(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := s.db.Pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE user_id = ? AND read_at IS NULL`, strings.ToLower(userID)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("notify: count unread: %w", err)
	}
	return n, nil
}

// MarkRead marks one of userID's notifications read (a read one keeps the
// time it was first read). Another user's notification and an unknown id
// are the same ErrNotFound.
func (s *Service) MarkRead(ctx context.Context, userID, id string) error {
	userID, id = strings.ToLower(userID), strings.ToLower(id)
	if !validCursor(id) {
		return ErrNotFound // not an id at all: nothing to look up
	}
	res, err := s.db.Pool().ExecContext(ctx, `UPDATE `+table+` SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL`, s.db.Now(), id, userID)
	if err != nil {
		return fmt.Errorf("notify: mark read: %w", err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("notify: mark read: %w", err)
	} else if k == 1 {
		return nil
	}
	var n int64
	if err := s.db.Pool().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id = ? AND user_id = ?`, id, userID).Scan(&n); err != nil {
		return fmt.Errorf("notify: mark read: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// MarkAllRead marks every unread notification of userID read and returns
// how many it marked.
func (s *Service) MarkAllRead(ctx context.Context, userID string) (int64, error) {
	res, err := s.db.Pool().ExecContext(ctx, `UPDATE `+table+` SET read_at = ? WHERE user_id = ? AND read_at IS NULL`, s.db.Now(), strings.ToLower(userID))
	if err != nil {
		return 0, fmt.Errorf("notify: mark all read: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("notify: mark all read: %w", err)
	}
	return n, nil
}
