package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Write paths a change can come through (Caller.Path). Empty means PathAPI.
const (
	PathAPI    = "api"
	PathWeb    = "web" // the API called by Forma's own web UI (it says so in X-Forma-Client)
	PathScript = "script"
	PathFlow   = "flow"
	PathImport = "import"
	PathSystem = "system"
	// PathAutomation is an automation's action (Caller.Automation names it).
	PathAutomation = "automation"
	// PathPlugin is a plugin trigger's write through a connector
	// (Caller.Plugin names the plugin).
	PathPlugin = "plugin"
)

// History operations.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"
)

const historyTable = "_forma_history"

// historyAt is how the at column is read and written: a datetime.
var historyAt = &schema.Field{Name: "at", Type: schema.DateTime}

func (c Caller) path() string {
	if c.Path == "" {
		return PathAPI
	}
	return c.Path
}

// tracked reports whether a field's changes are recorded in the history:
// every field but the columns the server keeps for itself on each write.
func tracked(f *schema.Field) bool {
	switch f.Name {
	case "id", "created_at", "updated_at", "created_by", "version":
		return false
	}
	return true
}

// lockRow reads the full current row of id inside the write transaction tx,
// so that what the history calls old is exact: SQLite transactions already
// hold the write lock; on PostgreSQL the row is locked FOR UPDATE, so
// concurrent writers of the same record queue behind this one. It returns
// nil when there is no such record.
func (s *Service) lockRow(ctx context.Context, tx store.Conn, info *entityInfo, id string) (*Record, error) {
	q := "SELECT " + info.selects + " FROM " + store.Quote(info.table) + ` WHERE "id" = ?`
	if s.dialect != "sqlite" {
		q += " FOR UPDATE"
	}
	rows, err := tx.QueryContext(ctx, q, id)
	if err != nil {
		return nil, s.writeError(err)
	}
	recs, err := s.scan(rows, info.fields)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return recs[0], nil
}

func recordVersion(r *Record) int64 {
	v, _ := r.Get("version").(int64)
	return v
}

// staleError is the 409 of a write that names a version other than the
// record's current one.
func staleError(current int64) error {
	return &Error{Status: 409, Code: CodeConflict, Message: fmt.Sprintf("the record was changed since you read it (it is now at version %d); reload and try again", current)}
}

// changesJSON writes the changes of a write as {"field": {"old": v, "new": v}}
// in field order, with values in the form the API shows them. On create
// (old == nil) it lists every field set; on delete (new == nil) every field
// that was not null; on update the fields whose value really changed.
func changesJSON(fields []*schema.Field, old, new *Record) []byte {
	b := []byte{'{'}
	n := 0
	for i, f := range fields {
		if !tracked(f) {
			continue
		}
		var ov, nv any
		if old != nil {
			ov = old.values[i]
		}
		if new != nil {
			nv = new.values[i]
		}
		var oj, nj []byte
		if old != nil {
			oj = appendValue(nil, ov)
		}
		if new != nil {
			nj = appendValue(nil, nv)
		}
		switch {
		case old == nil && nv == nil, new == nil && ov == nil:
			continue
		case old != nil && new != nil && string(oj) == string(nj):
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendString(b, f.Name)
		b = append(b, ':', '{')
		if old != nil {
			b = append(b, `"old":`...)
			b = append(b, oj...)
		}
		if new != nil {
			if old != nil {
				b = append(b, ',')
			}
			b = append(b, `"new":`...)
			b = append(b, nj...)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// writeHistory records one change of the record id in the transaction tx
// and emits its event (events.go). old and new are the record before and
// after, where the writer has them.
func (s *Service) writeHistory(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, id string, version int64, op string, at time.Time, changes []byte, old, new *Record) error {
	return s.writeHistoryCause(ctx, tx, info, c, id, version, op, at, changes, "", old, new)
}

// writeHistoryCause is writeHistory for a change that another one caused
// (a cascade of a delete): cause says which.
//
// It is the one place every record change passes through, so it is where
// the change's event is emitted: in the same transaction, after the
// history entry.
func (s *Service) writeHistoryCause(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, id string, version int64, op string, at time.Time, changes []byte, cause string, old, new *Record) error {
	return s.writeHistoryNote(ctx, tx, info, c, id, version, op, at, changes, cause, nil, old, new)
}

// historyNote is what a flow's move adds to its history entry and event:
// the transition taken ("flow/transition") and the user's comment.
type historyNote struct{ transition, comment string }

// writeHistoryNote is writeHistoryCause with a move's note (nil for none).
func (s *Service) writeHistoryNote(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, id string, version int64, op string, at time.Time, changes []byte, cause string, note *historyNote, old, new *Record) error {
	if err := s.insertHistory(ctx, tx, info.app.Name, info.entity.Name, c, id, version, op, at, changes, cause, note); err != nil {
		return err
	}
	if err := noteChange(ctx, tx, info, id); err != nil { // scope.go
		return err
	}
	if len(s.subscribers()) == 0 {
		return nil
	}
	ev := &Event{App: info.app.Name, Entity: info.entity.Name, ID: id, Kind: eventKind(op), Version: version,
		Changes: changes, Actor: c.UserID, Path: c.path(), At: at, Cause: cause, Caller: c, Record: new, Previous: old, info: info}
	if note != nil {
		ev.Transition = note.transition
	}
	return s.emit(ctx, tx, ev)
}

// nullable is s, or NULL for "".
// insertHistory writes one history row: the one statement behind every
// entry, a change's (writeHistoryNote) and a note's (NoteTx).
func (s *Service) insertHistory(ctx context.Context, tx store.Conn, app, entity string, c Caller, id string, version int64, op string, at time.Time, changes []byte, cause string, note *historyNote) error {
	var transition, comment any
	if note != nil {
		transition, comment = nullable(note.transition), nullable(note.comment)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+historyTable+` ("id", "app", "entity", "record_id", "record_version", "op", "path", "actor", "at", "changes", "cause", "automation", "transition", "comment", "plugin") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.newID(), app, entity, id, version, op, c.path(), nullable(c.UserID), encode(s.dialect, historyAt, at), string(changes), nullable(cause), nullable(c.Automation), transition, comment, nullable(c.Plugin))
	if err != nil {
		return fmt.Errorf("records: write history: %w", err)
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// HistoryEntry is one change of a record.
type HistoryEntry struct {
	ID      string
	Op      string
	Path    string
	Actor   string
	At      time.Time
	Version int64
	Changes string // JSON object
	// Cause is why the change happened when the user did not make it
	// directly: "cascade from account 01h…" (onDelete cascade), "setNull
	// from account 01h…" (onDelete setNull). Empty for direct changes.
	Cause string
	// Automation names the automation whose action made the change (Path
	// "automation"); empty otherwise.
	Automation string
	// Transition names the flow transition ("flow/transition") the change
	// took, or an approval note concerns; Comment is what the user wrote
	// with it. Empty otherwise.
	Transition, Comment string
	// Plugin names the plugin whose trigger made the change through a
	// connector (Path "plugin"); empty otherwise.
	Plugin string
}

// HistoryPage is one page of a record's history, newest first.
type HistoryPage struct {
	Items      []HistoryEntry
	NextCursor string // "" on the last page
}

// AppendJSON appends the page as {"items": [...], "nextCursor": "…" | null}.
func (p *HistoryPage) AppendJSON(b []byte) []byte {
	b = append(b, `{"items":[`...)
	for i, h := range p.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, h.ID)
		b = append(b, `,"op":`...)
		b = appendString(b, h.Op)
		b = append(b, `,"path":`...)
		b = appendString(b, h.Path)
		b = append(b, `,"actor":`...)
		if h.Actor == "" {
			b = append(b, "null"...)
		} else {
			b = appendString(b, h.Actor)
		}
		b = append(b, `,"at":`...)
		b = appendValue(b, h.At)
		b = append(b, `,"version":`...)
		b = appendValue(b, h.Version)
		b = append(b, `,"changes":`...)
		b = append(b, h.Changes...)
		b = append(b, `,"cause":`...)
		if h.Cause == "" {
			b = append(b, "null"...)
		} else {
			b = appendString(b, h.Cause)
		}
		if h.Automation != "" {
			b = append(b, `,"automation":`...)
			b = appendString(b, h.Automation)
		}
		if h.Transition != "" {
			b = append(b, `,"transition":`...)
			b = appendString(b, h.Transition)
		}
		if h.Comment != "" {
			b = append(b, `,"comment":`...)
			b = appendString(b, h.Comment)
		}
		if h.Plugin != "" {
			b = append(b, `,"plugin":`...)
			b = appendString(b, h.Plugin)
		}
		b = append(b, '}')
	}
	return endPage(b, p.NextCursor)
}

// MarshalJSON writes the page as AppendJSON does.
func (p *HistoryPage) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

// validHistoryCursor reports whether a cursor is a history entry id: a
// lower-case ULID.
func validHistoryCursor(c string) bool {
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

// History returns the changes of the record id, newest first, limit
// (1..MaxLimit, 0 = DefaultLimit) at a time; cursor is the NextCursor of
// the page before. The history of a deleted record stays readable. A record
// that neither exists nor has any history is a 404.
func (s *Service) History(ctx context.Context, c Caller, app, entity, id string, limit int, cursor string) (*HistoryPage, error) {
	return retry(func() (*HistoryPage, error) { return s.history(ctx, c, app, entity, id, limit, cursor) })
}

func (s *Service) history(ctx context.Context, c Caller, app, entity, id string, limit int, cursor string) (_ *HistoryPage, err error) {
	// A record's history is as visible as the record: a record the caller
	// may not read is not found, a deleted one's history is for admins, and
	// hidden fields are left out of every entry.
	info, rg, err := s.readable(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	defer func() { err = s.settled(ctx, info, true, err) }()
	if !c.Admin {
		if ok, err := s.rowVisible(ctx, s.db.Pool(), info, id, rg); err != nil {
			return nil, fmt.Errorf("records: history: %w", err)
		} else if !ok {
			return nil, errorf(404, CodeNotFound, "no %s record with id %q", info.entity.Name, id)
		}
	}
	hidden, _ := s.fieldRules(info, c)
	// A per-reader rollup's stored value is not the caller's (reader.go).
	rr, err := s.readerRollups(s.visible(info, c), c)
	if err != nil {
		return nil, err
	}
	for name := range perReaderNames(rr) {
		if hidden == nil {
			hidden = map[string]bool{}
		}
		hidden[name] = true
	}
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 1 || limit > MaxLimit:
		return nil, errorf(400, CodeBadQuery, "limit must be between 1 and %d", MaxLimit)
	}
	if cursor != "" && !validHistoryCursor(cursor) {
		return nil, errorf(400, CodeBadQuery, "cursor is not one this API gave out")
	}
	q := `SELECT "id", "record_version", "op", "path", "actor", "at", "changes", "cause", "automation", "transition", "comment", "plugin" FROM ` + historyTable +
		` WHERE "app" = ? AND "entity" = ? AND "record_id" = ?`
	args := []any{info.app.Name, info.entity.Name, id}
	if cursor != "" {
		q += ` AND "id" < ?`
		args = append(args, cursor)
	}
	q += fmt.Sprintf(` ORDER BY "id" DESC LIMIT %d`, limit+1)
	rows, err := s.db.Pool().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("records: history: %w", err)
	}
	defer rows.Close()
	page := &HistoryPage{Items: []HistoryEntry{}}
	for rows.Next() {
		var (
			h     HistoryEntry
			actor sql.NullString
			cause sql.NullString
			auto  sql.NullString
			trans sql.NullString
			note  sql.NullString
			plug  sql.NullString
			at    any
		)
		if err := rows.Scan(&h.ID, &h.Version, &h.Op, &h.Path, &actor, &at, &h.Changes, &cause, &auto, &trans, &note, &plug); err != nil {
			return nil, fmt.Errorf("records: history: %w", err)
		}
		t, err := decode(s.dialect, historyAt, at)
		if err != nil {
			return nil, fmt.Errorf("records: history: %w", err)
		}
		h.At, _ = t.(time.Time)
		h.Actor, h.Cause, h.Automation, h.Transition, h.Comment, h.Plugin = actor.String, cause.String, auto.String, trans.String, note.String, plug.String
		if len(hidden) > 0 {
			h.Changes = withoutFields(h.Changes, hidden)
		}
		page.Items = append(page.Items, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("records: history: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = page.Items[limit-1].ID
	}
	if len(page.Items) == 0 && cursor == "" {
		var one int
		err := s.db.Pool().QueryRowContext(ctx, "SELECT 1 FROM "+store.Quote(info.table)+` WHERE "id" = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errorf(404, CodeNotFound, "no %s record with id %q", info.entity.Name, id)
		} else if err != nil {
			return nil, fmt.Errorf("records: history: %w", err)
		}
	}
	return page, nil
}

// withoutFields removes hidden fields from a history entry's changes.
func withoutFields(changes string, hidden map[string]bool) string {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(changes), &m) != nil {
		return "{}"
	}
	for f := range hidden {
		delete(m, f)
	}
	out, _ := json.Marshal(m)
	return string(out)
}
