// Package scriptlog is the per-app script log: where the console.log lines
// and the failures of an app's scripts (hooks, formulas, validations) go, so
// that the app's admins can read what their scripts did without access to the
// server's own log. It is an append-only table, _forma_script_log (created by
// engine/store with the other system tables), kept to a bounded number of
// rows per app: the oldest rows beyond that are pruned now and then.
package scriptlog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/formaapp/forma/engine/store"
)

// Levels of an entry.
const (
	LevelLog   = "log"
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
	LevelDebug = "debug"
)

// Events an entry can come from.
const (
	EventBeforeSave   = "beforeSave"
	EventAfterSave    = "afterSave"
	EventBeforeDelete = "beforeDelete"
	EventAfterDelete  = "afterDelete"
	EventFormula      = "formula"
	EventValidation   = "validation"
	EventTest         = "test"
)

// Limits.
const (
	DefaultKeep  = 10000 // rows kept per app when New is given 0
	DefaultLimit = 100   // entries per List page when Query.Limit is 0
	MaxLimit     = 500   // most entries per List page
	MaxMessage   = 4096  // bytes of a message; longer ones are cut, ending in "…"

	table    = "_forma_script_log"
	maxBatch = 64 // rows per INSERT statement
)

// Column sizes of the table (see engine/store's scriptLogRow); longer values
// are cut to fit.
const (
	sizeApp      = 63
	sizeName     = 128 // script, function
	sizeEvent    = 32
	sizeEntity   = 63
	sizeRecordID = 64
	sizeUserID   = 64
)

// Entry is one line of the log.
type Entry struct {
	ID       int64     `json:"id"`
	App      string    `json:"app"`
	At       time.Time `json:"at"`
	Level    string    `json:"level"` // log, info, warn, error, debug
	Script   string    `json:"script,omitempty"`
	Function string    `json:"function,omitempty"`
	Event    string    `json:"event,omitempty"` // beforeSave, afterSave, beforeDelete, afterDelete, formula, validation, test
	Entity   string    `json:"entity,omitempty"`
	RecordID string    `json:"recordId,omitempty"`
	UserID   string    `json:"userId,omitempty"`
	Line     int       `json:"line,omitempty"`
	Message  string    `json:"message"`
}

// ValidLevel reports whether level is one of the entry levels.
func ValidLevel(level string) bool {
	switch level {
	case LevelLog, LevelInfo, LevelWarn, LevelError, LevelDebug:
		return true
	}
	return false
}

// Log writes and reads the script log of every app.
type Log struct {
	db         *store.DB
	keep       int
	pruneEvery int // rows written to an app between two prunes

	mu      sync.Mutex
	pending map[string]int // app → rows written by this process since its last prune
}

// New returns the script log on db, keeping at most about keep rows per app
// (0 means DefaultKeep).
func New(db *store.DB, keep int) *Log {
	if keep <= 0 {
		keep = DefaultKeep
	}
	// Pruning runs once per tenth of keep rows written to an app (at least
	// every row, at most every 1000): an app's log then holds at most
	// keep+pruneEvery rows per process writing it, and a write rarely pays
	// for a DELETE.
	every := min(max(keep/10, 1), 1000)
	return &Log{db: db, keep: keep, pruneEvery: every, pending: map[string]int{}}
}

// Keep returns the number of rows kept per app.
func (l *Log) Keep() int { return l.keep }

// Write appends entries, in one transaction. Each entry names its app; At
// defaults to now; an unknown level becomes "log"; a message is cut to
// MaxMessage bytes and other fields to their column's size. Entries' IDs are
// ignored (the table numbers them). Now and then a write also deletes the
// oldest rows of its apps beyond keep.
func (l *Log) Write(ctx context.Context, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	now := l.db.Now()
	rows := make([]Entry, len(entries))
	counts := map[string]int{}
	for i, e := range entries {
		if strings.TrimSpace(e.App) == "" {
			return errors.New("scriptlog: an entry has no app")
		}
		rows[i] = clean(e, now)
		counts[rows[i].App]++
	}
	// A write that brings an app to pruneEvery claims the prune at once
	// (its count starts again from zero), so concurrent writers neither
	// prune twice for the same rows nor lose the rows written meanwhile.
	var due []string
	l.mu.Lock()
	for app, n := range counts {
		l.pending[app] += n
		if l.pending[app] >= l.pruneEvery {
			due = append(due, app)
			l.pending[app] = 0
		}
	}
	l.mu.Unlock()
	committed := false
	defer func() {
		if !committed && len(due) > 0 { // the prune did not happen: owe it
			l.mu.Lock()
			for _, app := range due {
				l.pending[app] += l.pruneEvery
			}
			l.mu.Unlock()
		}
	}()

	tx, err := l.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("scriptlog: write: %w", err)
	}
	defer tx.Rollback()
	for start := 0; start < len(rows); start += maxBatch {
		batch := rows[start:min(start+maxBatch, len(rows))]
		if _, err := tx.ExecContext(ctx, insertSQL(len(batch)), insertArgs(batch)...); err != nil {
			return fmt.Errorf("scriptlog: write: %w", err)
		}
	}
	for _, app := range due {
		if _, err := prune(ctx, tx, app, l.keep); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("scriptlog: write: %w", err)
	}
	committed = true
	return nil
}

// Prune deletes the oldest rows of app beyond keep now, and returns how many
// it deleted. Write calls it on its own every so often.
func (l *Log) Prune(ctx context.Context, app string) (int64, error) {
	tx, err := l.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("scriptlog: prune %s: %w", app, err)
	}
	defer tx.Rollback()
	n, err := prune(ctx, tx, app, l.keep)
	if err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("scriptlog: prune %s: %w", app, err)
	}
	l.mu.Lock()
	delete(l.pending, app)
	l.mu.Unlock()
	return n, nil
}

// prune keeps the keep newest rows of app: it deletes every row whose id is
// at most that of the (keep+1)th newest (none when there are fewer rows).
// Both lookups walk the (app, id) index.
func prune(ctx context.Context, c store.Conn, app string, keep int) (int64, error) {
	res, err := c.ExecContext(ctx, `DELETE FROM `+table+` WHERE "app" = ? AND "id" <= (SELECT "id" FROM `+table+
		` WHERE "app" = ? ORDER BY "id" DESC LIMIT 1 OFFSET ?)`, app, app, keep)
	if err != nil {
		return 0, fmt.Errorf("scriptlog: prune %s: %w", app, err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

const columns = `"app", "at", "level", "script", "function", "event", "entity", "record_id", "user_id", "line", "message"`

func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + table + ` (` + columns + `) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

func insertArgs(rows []Entry) []any {
	args := make([]any, 0, len(rows)*11)
	for _, e := range rows {
		args = append(args, e.App, e.At, e.Level, e.Script, e.Function, e.Event, e.Entity, e.RecordID, e.UserID, e.Line, e.Message)
	}
	return args
}

// clean makes an entry fit its row: valid UTF-8 without NUL (PostgreSQL's
// text refuses both), within the column sizes, a known level, a time.
func clean(e Entry, now time.Time) Entry {
	e.App = fit(e.App, sizeApp)
	e.Level = strings.ToLower(strings.TrimSpace(e.Level))
	if !ValidLevel(e.Level) {
		e.Level = LevelLog
	}
	e.Script = fit(e.Script, sizeName)
	e.Function = fit(e.Function, sizeName)
	e.Event = fit(e.Event, sizeEvent)
	e.Entity = fit(e.Entity, sizeEntity)
	e.RecordID = fit(e.RecordID, sizeRecordID)
	e.UserID = fit(e.UserID, sizeUserID)
	if e.Line < 0 {
		e.Line = 0
	}
	e.Message = sane(e.Message)
	if len(e.Message) > MaxMessage {
		e.Message = clip(e.Message, MaxMessage-len("…")) + "…"
	}
	if e.At.IsZero() {
		e.At = now
	} else {
		e.At = e.At.UTC().Truncate(time.Microsecond)
	}
	return e
}

func sane(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

func fit(s string, n int) string { return clip(sane(s), n) }

// clip cuts valid UTF-8 s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Query selects entries of one app: newest first, Limit at a time (0 means
// DefaultLimit, at most MaxLimit), with ids below Before (0: from the
// newest). The other fields, when set, must match exactly.
type Query struct {
	Limit    int
	Before   int64
	Level    string
	Script   string
	Entity   string
	RecordID string
}

// List returns entries of app, newest first, and next, the Before of the
// following page (0 when there is none).
func (l *Log) List(ctx context.Context, app string, q Query) (entries []Entry, next int64, err error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	sql := `SELECT "id", "app", "at", "level", "script", "function", "event", "entity", "record_id", "user_id", "line", "message" FROM ` +
		table + ` WHERE "app" = ?`
	args := []any{app}
	if q.Before > 0 {
		sql += ` AND "id" < ?`
		args = append(args, q.Before)
	}
	for _, f := range []struct{ col, v string }{{"level", q.Level}, {"script", q.Script}, {"entity", q.Entity}, {"record_id", q.RecordID}} {
		if f.v != "" {
			sql += ` AND "` + f.col + `" = ?`
			args = append(args, f.v)
		}
	}
	sql += fmt.Sprintf(` ORDER BY "id" DESC LIMIT %d`, limit+1)
	rows, err := l.db.Pool().QueryContext(ctx, sql, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("scriptlog: list: %w", err)
	}
	defer rows.Close()
	entries = []Entry{}
	for rows.Next() {
		var (
			e                                                      Entry
			script, function, event, entity, recordID, userID, msg nullString
			line                                                   nullInt
		)
		if err := rows.Scan(&e.ID, &e.App, &e.At, &e.Level, &script, &function, &event, &entity, &recordID, &userID, &line, &msg); err != nil {
			return nil, 0, fmt.Errorf("scriptlog: list: %w", err)
		}
		e.At = e.At.UTC()
		e.Script, e.Function, e.Event, e.Entity = string(script), string(function), string(event), string(entity)
		e.RecordID, e.UserID, e.Line, e.Message = string(recordID), string(userID), int(line), string(msg)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("scriptlog: list: %w", err)
	}
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[limit-1].ID
	}
	return entries, next, nil
}

// Clear deletes every entry of app and returns how many there were.
func (l *Log) Clear(ctx context.Context, app string) (int64, error) {
	tx, err := l.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("scriptlog: clear %s: %w", app, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE "app" = ?`, app)
	if err != nil {
		return 0, fmt.Errorf("scriptlog: clear %s: %w", app, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("scriptlog: clear %s: %w", app, err)
	}
	l.mu.Lock()
	delete(l.pending, app)
	l.mu.Unlock()
	n, _ := res.RowsAffected()
	return n, nil
}

// nullString scans a text column that may be NULL (rows written by other
// means) as "".
type nullString string

func (s *nullString) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*s = ""
	case string:
		*s = nullString(x)
	case []byte:
		*s = nullString(x)
	default:
		return fmt.Errorf("scriptlog: text column holds %T", v)
	}
	return nil
}

// nullInt scans an integer column that may be NULL as 0.
type nullInt int64

func (n *nullInt) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*n = 0
	case int64:
		*n = nullInt(x)
	case int32:
		*n = nullInt(x)
	default:
		return fmt.Errorf("scriptlog: integer column holds %T", v)
	}
	return nil
}
