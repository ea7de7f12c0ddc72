package flow

import (
	"context"
	"fmt"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
)

// The inbox: a user's approvals, newest first, paged by id.
//   - pending: waiting on them (an open task in the current step);
//   - decided: a step they decided (approved, rejected, delegated);
//   - mine: those they requested.
// Only requests on records the user may read now are listed (the page may
// then hold fewer than limit items; the cursor still continues it).

// Inbox statuses.
const (
	InboxPending = "pending"
	InboxDecided = "decided"
	InboxMine    = "mine"
)

// Inbox page sizes.
const (
	InboxDefaultLimit = 20
	InboxMaxLimit     = 100
)

// InboxPage is one page of the inbox.
type InboxPage struct {
	Items      []*ApprovalView `json:"items"`
	NextCursor string          `json:"nextCursor"`
}

func badQuery(format string, args ...any) error {
	return &records.Error{Status: 400, Code: records.CodeBadQuery, Message: fmt.Sprintf(format, args...)}
}

// Inbox lists c's approvals of one status.
func (s *Service) Inbox(ctx context.Context, c records.Caller, status string, limit int, cursor string) (*InboxPage, error) {
	var where string
	args := []any{}
	switch status {
	case InboxPending, "":
		where = `a."status" = ? AND EXISTS (SELECT 1 FROM ` + tasksTable + ` t WHERE t."approval_id" = a."id" AND t."step" = a."step" AND t."user_id" = ? AND t."decision" = '')`
		args = append(args, StatusPending, c.UserID)
	case InboxDecided:
		where = `EXISTS (SELECT 1 FROM ` + tasksTable + ` t WHERE t."approval_id" = a."id" AND t."user_id" = ? AND t."decision" <> '')`
		args = append(args, c.UserID)
	case InboxMine:
		where = `a."requester" = ?`
		args = append(args, c.UserID)
	default:
		return nil, badQuery("status must be pending, decided or mine, not %q", status)
	}
	switch {
	case limit == 0:
		limit = InboxDefaultLimit
	case limit < 1 || limit > InboxMaxLimit:
		return nil, badQuery("limit must be between 1 and %d", InboxMaxLimit)
	}
	if cursor != "" {
		if !validID(cursor) {
			return nil, badQuery("cursor is not one this API gave out")
		}
		where += ` AND a."id" < ?`
		args = append(args, cursor)
	}
	args = append(args, limit+1)
	rows, err := s.db.Pool().QueryContext(ctx, `SELECT a."id" FROM `+approvalsTable+` a WHERE `+where+` ORDER BY a."id" DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("flow: inbox: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("flow: inbox: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	page := &InboxPage{Items: []*ApprovalView{}}
	if len(ids) > limit {
		ids = ids[:limit]
		page.NextCursor = ids[limit-1]
	}
	if len(ids) == 0 {
		return page, nil
	}
	dir, err := s.directory(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		v, err := s.viewFor(ctx, s.db.Pool(), c, dir, id)
		if err != nil {
			return nil, err
		}
		if v != nil {
			page.Items = append(page.Items, v)
		}
	}
	return page, nil
}

// viewFor is request id as c sees it; nil when c may not read its record.
func (s *Service) viewFor(ctx context.Context, q store.Conn, c records.Caller, dir *directory, id string) (*ApprovalView, error) {
	r, err := s.load(ctx, q, id)
	if err != nil || r == nil {
		return nil, err
	}
	if ok, err := s.callerMayRead(ctx, c, r.App, r.Entity, r.RecordID); err != nil || !ok {
		return nil, err
	}
	app, err := s.catalog.App(ctx, r.App)
	if err != nil {
		return nil, err
	}
	return s.viewOf(ctx, app, r, c, nil, dir)
}

// Approval returns request id as c sees it: the same 404 for one that
// does not exist and one on a record c may not read.
func (s *Service) Approval(ctx context.Context, c records.Caller, id string) (*ApprovalView, error) {
	if !validID(id) {
		return nil, errNoRequest(id)
	}
	dir, err := s.directory(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.viewFor(ctx, s.db.Pool(), c, dir, id)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, errNoRequest(id)
	}
	return v, nil
}
