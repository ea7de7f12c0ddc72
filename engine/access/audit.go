package access

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// storable returns s, or when s holds invalid UTF-8 or a NUL character
// (which PostgreSQL cannot store) its Go-escaped form ("a\x00b"): the
// audit log keeps what was sent, visibly escaped, never altered silently.
func storable(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// Audit actions.
const (
	AuditLogin       = "login"
	AuditLoginFailed = "login_failed"
	AuditLogout      = "logout"
	AuditTokenCreate = "token_create"
	AuditTokenRevoke = "token_revoke"
	AuditAppApply    = "app_apply"
	// Administration of accounts and teams.
	AuditUserCreate    = "user_create"
	AuditUserUpdate    = "user_update"
	AuditPasswordReset = "password_reset"
	AuditTeamChange    = "team_change"
	// AuditUserTransfer is an admin handing a user's records to another.
	AuditUserTransfer = "user_transfer"
)

// Audit log limits.
const (
	AuditDefaultLimit = 50
	AuditMaxLimit     = 500
	maxAuditTarget    = 320
)

// auditRow is one entry of the admins' audit log (the table is created by
// engine/store with the other system tables). Rows are only ever inserted.
// Detail is a JSON object; secrets never go in any column.
type auditRow struct {
	ID     string `gorm:"primaryKey"`
	At     time.Time
	Actor  string
	Action string
	Target string
	Detail string
	IP     string `gorm:"column:ip"`
}

func (auditRow) TableName() string { return "_forma_audit" }

// Entry is what happened, for Audit. Detail is marshalled to a JSON object
// (nil gives {}); it must never hold a password or a token.
type Entry struct {
	Actor  string // user id; empty when nobody is authenticated (a failed login)
	Action string // one of the Audit* actions
	Target string // what was acted on: an email, a token id, an app name
	Detail any
	IP     string
}

// AuditRecord is one audit log entry as the API shows it.
type AuditRecord struct {
	ID     string          `json:"id"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor,omitempty"`
	Action string          `json:"action"`
	Target string          `json:"target,omitempty"`
	Detail json.RawMessage `json:"detail"`
	IP     string          `json:"ip,omitempty"`
}

// AuditQuery selects audit entries: one action or all, newest first, Limit
// (1..AuditMaxLimit, 0 = AuditDefaultLimit) at a time after Cursor (the
// NextCursor of the page before).
type AuditQuery struct {
	Action string
	Limit  int
	Cursor string
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Items      []AuditRecord `json:"items"`
	NextCursor *string       `json:"nextCursor"`
}

func clipRunes(s string, n int) string {
	s = storable(s)
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	for len(string(r)) > n {
		r = r[:len(r)-1]
	}
	return string(r)
}

// Audit appends an entry to the audit log.
func (s *Service) Audit(ctx context.Context, e Entry) error {
	detail := []byte("{}")
	if e.Detail != nil {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return fmt.Errorf("access: audit detail: %w", err)
		}
		detail = b
	}
	row := &auditRow{ID: newID(), At: s.db.Now(), Actor: e.Actor, Action: e.Action,
		Target: clipRunes(e.Target, maxAuditTarget), Detail: string(detail), IP: clipRunes(e.IP, 64)}
	if err := s.db.Gorm.WithContext(ctx).Create(row).Error; err != nil {
		return fmt.Errorf("access: write audit log: %w", err)
	}
	return nil
}

// AuditLog returns audit entries, newest first. A bad limit or cursor is an
// *InputError.
func (s *Service) AuditLog(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	switch {
	case q.Limit == 0:
		q.Limit = AuditDefaultLimit
	case q.Limit < 1 || q.Limit > AuditMaxLimit:
		return nil, &InputError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", AuditMaxLimit)}
	}
	g := s.db.Gorm.WithContext(ctx).Model(&auditRow{})
	if q.Action != "" {
		g = g.Where("action = ?", q.Action)
	}
	if q.Cursor != "" {
		if len(q.Cursor) != 26 || strings.Trim(strings.ToLower(q.Cursor), "0123456789abcdefghjkmnpqrstvwxyz") != "" {
			return nil, &InputError{Field: "cursor", Message: "is not one this API gave out"}
		}
		g = g.Where("id < ?", strings.ToLower(q.Cursor))
	}
	var rows []auditRow
	if err := g.Order("id DESC").Limit(q.Limit + 1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("access: read audit log: %w", err)
	}
	page := &AuditPage{Items: make([]AuditRecord, 0, len(rows))}
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		next := rows[q.Limit-1].ID
		page.NextCursor = &next
	}
	for _, r := range rows {
		page.Items = append(page.Items, AuditRecord{ID: r.ID, At: r.At.UTC(), Actor: r.Actor, Action: r.Action,
			Target: r.Target, Detail: json.RawMessage(r.Detail), IP: r.IP})
	}
	return page, nil
}
