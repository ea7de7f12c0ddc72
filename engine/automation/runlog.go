package automation

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/store"
)

// RunView is one run as the run log shows it.
type RunView struct {
	ID         string     `json:"id"`
	At         time.Time  `json:"at"`
	FinishedAt *time.Time `json:"finishedAt"`
	RecordID   string     `json:"recordId"`
	Entity     string     `json:"entity"`
	Occurrence string     `json:"occurrence"`
	Variant    string     `json:"variant"`
	Status     string     `json:"status"`
	Message    string     `json:"message"`
	Depth      int        `json:"depth"`
	Steps      []StepView `json:"steps"`
}

// StepView is one action of a run.
type StepView struct {
	Index    int        `json:"index"`
	Type     string     `json:"type"`
	Status   string     `json:"status"`
	Detail   string     `json:"detail"`
	Attempts int        `json:"attempts"`
	At       *time.Time `json:"at"`
}

// RunQuery selects runs of one automation, newest first.
type RunQuery struct {
	Limit  int    // 1..200 (0: 50)
	Cursor string // the NextCursor of the page before
	Record string // only this record's runs
}

// RunPage is one page of the run log.
type RunPage struct {
	Items      []RunView `json:"items"`
	NextCursor *string   `json:"nextCursor"`
}

// ErrBadQuery is a run log query the caller must fix.
var ErrBadQuery = errors.New("automation: bad query")

// validRunID reports whether c is a run id (a lower-case ULID).
func validRunID(c string) bool {
	if len(c) != 26 {
		return false
	}
	for _, r := range c {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", r) {
			return false
		}
	}
	return true
}

// Runs returns a page of automation's run log in app.
func (s *Service) Runs(ctx context.Context, app, automation string, q RunQuery) (*RunPage, error) {
	switch {
	case q.Limit == 0:
		q.Limit = 50
	case q.Limit < 1 || q.Limit > 200:
		return nil, fmt.Errorf("%w: limit must be between 1 and 200", ErrBadQuery)
	}
	if q.Cursor != "" && !validRunID(q.Cursor) {
		return nil, fmt.Errorf("%w: cursor is not one this API gave out", ErrBadQuery)
	}
	if len(q.Record) > 64 {
		return nil, fmt.Errorf("%w: record is not a record id", ErrBadQuery)
	}
	query := `SELECT "id", "at", "finished_at", "record_id", "entity", "occurrence", "variant", "status", "message", "depth" FROM _forma_automation_runs WHERE "app" = ? AND "automation" = ?`
	args := []any{app, automation}
	if q.Record != "" {
		query += ` AND "record_id" = ?`
		args = append(args, q.Record)
	}
	if q.Cursor != "" {
		query += ` AND "id" < ?`
		args = append(args, q.Cursor)
	}
	query += fmt.Sprintf(` ORDER BY "id" DESC LIMIT %d`, q.Limit+1)
	rows, err := s.db.Pool().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("automation: runs: %w", err)
	}
	defer rows.Close()
	page := &RunPage{Items: []RunView{}}
	for rows.Next() {
		var r RunView
		var fin sql.NullTime
		var msg sql.NullString
		if err := rows.Scan(&r.ID, &r.At, &fin, &r.RecordID, &r.Entity, &r.Occurrence, &r.Variant, &r.Status, &msg, &r.Depth); err != nil {
			return nil, fmt.Errorf("automation: runs: %w", err)
		}
		r.At = r.At.UTC()
		if fin.Valid {
			t := fin.Time.UTC()
			r.FinishedAt = &t
		}
		r.Message = msg.String
		r.Steps = []StepView{}
		page.Items = append(page.Items, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("automation: runs: %w", err)
	}
	rows.Close()
	if len(page.Items) > q.Limit {
		page.Items = page.Items[:q.Limit]
		c := page.Items[q.Limit-1].ID
		page.NextCursor = &c
	}
	for i := range page.Items {
		if page.Items[i].Steps, err = s.steps(ctx, s.db.Pool(), page.Items[i].ID); err != nil {
			return nil, err
		}
	}
	return page, nil
}

func (s *Service) steps(ctx context.Context, q store.Conn, run string) ([]StepView, error) {
	rows, err := q.QueryContext(ctx, `SELECT "idx", "type", "status", "detail", "attempts", "at" FROM _forma_automation_steps WHERE "run_id" = ? ORDER BY "idx"`, run)
	if err != nil {
		return nil, fmt.Errorf("automation: steps: %w", err)
	}
	defer rows.Close()
	out := []StepView{}
	for rows.Next() {
		var st StepView
		var at sql.NullTime
		var detail sql.NullString
		if err := rows.Scan(&st.Index, &st.Type, &st.Status, &detail, &st.Attempts, &at); err != nil {
			return nil, fmt.Errorf("automation: steps: %w", err)
		}
		st.Detail = detail.String
		if at.Valid {
			t := at.Time.UTC()
			st.At = &t
		}
		out = append(out, st)
	}
	return out, rows.Err()
}
