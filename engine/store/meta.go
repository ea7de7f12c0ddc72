package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/formaapp/forma/schema"
)

// appRow is one installed app; Version points at its current document.
type appRow struct {
	Name      string `gorm:"primaryKey;size:63"`
	Label     string
	Version   int `gorm:"not null"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (appRow) TableName() string { return "_forma_apps" }

// versionRow is one applied app document. Rows are only ever inserted: a
// version, once applied, never changes.
type versionRow struct {
	App       string    `gorm:"primaryKey;size:63"`
	Version   int       `gorm:"primaryKey;autoIncrement:false"`
	Document  string    `gorm:"not null"`
	Plan      string    `gorm:"not null"`
	AppliedBy string    `gorm:"size:64"`
	AppliedAt time.Time `gorm:"not null"`
}

func (versionRow) TableName() string { return "_forma_app_versions" }

// archiveRow records data kept aside by a destructive migration: a dropped
// field's values or a dropped entity's rows, in its own table until purged.
type archiveRow struct {
	ID        string `gorm:"primaryKey;size:32"`
	App       string `gorm:"index;size:63;not null"`
	Version   int    `gorm:"not null"`
	Entity    string `gorm:"size:63;not null"`
	Field     string `gorm:"size:63"`
	Table     string `gorm:"column:archive_table;size:63;not null"`
	Rows      int64
	CreatedAt time.Time
}

func (archiveRow) TableName() string { return "_forma_archives" }

// sequenceRow backs autonumber fields: one counter per entity field.
type sequenceRow struct {
	Name  string `gorm:"primaryKey;size:140"`
	Value int64  `gorm:"not null"`
}

func (sequenceRow) TableName() string { return "_forma_sequences" }

// historyRow is one change of one record, written by engine/records in the
// transaction of the change. Rows are only ever inserted; a deleted record's
// history stays. Changes is JSON: {"field": {"old": v, "new": v}}.
type historyRow struct {
	ID            string    `gorm:"primaryKey;size:26;index:idx_forma_history_record,priority:4"`
	App           string    `gorm:"size:63;not null;index:idx_forma_history_record,priority:1"`
	Entity        string    `gorm:"size:63;not null;index:idx_forma_history_record,priority:2"`
	RecordID      string    `gorm:"column:record_id;size:64;not null;index:idx_forma_history_record,priority:3"`
	RecordVersion int64     `gorm:"column:record_version;not null"`
	Op            string    `gorm:"size:8;not null"`
	Path          string    `gorm:"size:16;not null"`
	Actor         string    `gorm:"size:26"`
	At            time.Time `gorm:"not null"`
	Changes       string    `gorm:"not null"`
	// Cause says why a change the user did not make directly happened:
	// "cascade from account 01h…" for a record an onDelete cascade removed.
	// Empty for direct changes.
	Cause string `gorm:"size:300"`
	// Automation names the automation whose action made the change (path
	// "automation"); empty otherwise.
	Automation string `gorm:"size:63"`
	// Transition names the flow transition ("flow/transition") a change
	// took, or an approval decision concerns; empty otherwise.
	Transition string `gorm:"size:127"`
	// Comment is what the user wrote with a transition or a decision.
	Comment string
	// Plugin names the plugin whose trigger made the change through a
	// connector (path "plugin"); empty otherwise.
	Plugin string `gorm:"size:63"`
}

func (historyRow) TableName() string { return "_forma_history" }

// auditRow is the admins' audit log, written and read by engine/access
// (which owns what goes in it); store only creates the table.
type auditRow struct {
	ID     string    `gorm:"primaryKey;size:26;index:idx_forma_audit_action,priority:2"`
	At     time.Time `gorm:"not null"`
	Actor  string    `gorm:"size:26"`
	Action string    `gorm:"size:32;not null;index:idx_forma_audit_action,priority:1"`
	Target string    `gorm:"size:320"`
	Detail string    `gorm:"not null"`
	IP     string    `gorm:"column:ip;size:64"`
}

func (auditRow) TableName() string { return "_forma_audit" }

// scriptLogRow is one console line or failure of an app script, written and
// read by engine/scriptlog; store only creates the table. ID grows with every
// insert (never reused), so it orders the log and pages it.
type scriptLogRow struct {
	ID       int64     `gorm:"primaryKey;autoIncrement;index:idx_forma_script_log_app,priority:2"`
	App      string    `gorm:"size:63;not null;index:idx_forma_script_log_app,priority:1"`
	At       time.Time `gorm:"not null"`
	Level    string    `gorm:"size:8;not null"`
	Script   string    `gorm:"size:128"`
	Function string    `gorm:"size:128"`
	Event    string    `gorm:"size:32"`
	Entity   string    `gorm:"size:63"`
	RecordID string    `gorm:"column:record_id;size:64"`
	UserID   string    `gorm:"column:user_id;size:64"`
	Line     int
	Message  string `gorm:"not null"`
}

func (scriptLogRow) TableName() string { return "_forma_script_log" }

// notificationRow is one in-app notification of one user, written and read
// by engine/notify; store only creates the table. ID is a ULID made from
// the engine clock, so it orders a user's notifications by time and pages
// them. (dedupe_key, user_id) is unique: a retried action notifies once.
// Messages holds the message in other languages as a JSON object
// (language → text), ” when it has none; added after the table was
// first made, so it has a default for the rows already there.
type notificationRow struct {
	ID         string     `gorm:"primaryKey;size:26;index:idx_forma_notifications_user,priority:2"`
	UserID     string     `gorm:"column:user_id;size:26;not null;index:idx_forma_notifications_user,priority:1;index:idx_forma_notifications_unread,priority:1;uniqueIndex:idx_forma_notifications_key,priority:2"`
	App        string     `gorm:"size:63;not null"`
	Entity     string     `gorm:"size:63;not null"`
	RecordID   string     `gorm:"column:record_id;size:64;not null"`
	Automation string     `gorm:"size:63;not null"`
	Message    string     `gorm:"not null"`
	Messages   string     `gorm:"not null;default:''"`
	DedupeKey  string     `gorm:"column:dedupe_key;size:300;not null;uniqueIndex:idx_forma_notifications_key,priority:1"`
	CreatedAt  time.Time  `gorm:"not null"`
	ReadAt     *time.Time `gorm:"index:idx_forma_notifications_unread,priority:2"`
}

func (notificationRow) TableName() string { return "_forma_notifications" }

// fileRow is one uploaded file, written and read by engine/files; store
// creates the table (records checks a file field's value against it: the
// file must exist and belong to the record's app). The bytes live in the
// blob bucket under Key; Thumb is the key of an image's thumbnail ("" for
// none). A file no record references is removed after a grace period.
type fileRow struct {
	ID          string    `gorm:"primaryKey;size:26"`
	App         string    `gorm:"size:63;not null;index:idx_forma_files_app"`
	Name        string    `gorm:"size:255;not null"`
	Size        int64     `gorm:"not null"`
	ContentType string    `gorm:"column:content_type;size:127;not null"`
	SHA256      string    `gorm:"column:sha256;size:64;not null"`
	Key         string    `gorm:"size:255;not null"`
	Thumb       string    `gorm:"size:255"`
	Uploader    string    `gorm:"size:26"`
	CreatedAt   time.Time `gorm:"not null;index:idx_forma_files_created"`
}

func (fileRow) TableName() string { return "_forma_files" }

func (db *DB) migrateSystem(ctx context.Context) error {
	if err := db.Gorm.WithContext(ctx).AutoMigrate(&appRow{}, &versionRow{}, &archiveRow{}, &sequenceRow{}, &historyRow{}, &auditRow{}, &scriptLogRow{}, &draftRow{}, &viewRow{}, &changeCounterRow{}, &indexBuildRow{}, &notificationRow{}, &fileRow{}, &listShapeRow{}); err != nil {
		return fmt.Errorf("store: create system tables: %w", err)
	}
	return nil
}

// ErrNotFound is returned when an app or version does not exist.
var ErrNotFound = errors.New("not found")

// AppInfo summarises an installed app.
type AppInfo struct {
	Name      string    `json:"name"`
	Label     string    `json:"label,omitempty"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// VersionInfo describes one applied version of an app.
type VersionInfo struct {
	Version   int             `json:"version"`
	AppliedBy string          `json:"appliedBy,omitempty"`
	AppliedAt time.Time       `json:"appliedAt"`
	Plan      json.RawMessage `json:"plan"`
}

// Apps lists installed apps by name.
func (db *DB) Apps(ctx context.Context) ([]AppInfo, error) {
	var rows []appRow
	if err := db.Gorm.WithContext(ctx).Order("name").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list apps: %w", err)
	}
	out := make([]AppInfo, len(rows))
	for i, r := range rows {
		out[i] = AppInfo{Name: r.Name, Label: r.Label, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	}
	return out, nil
}

// Versions lists an app's applied versions, newest first.
func (db *DB) Versions(ctx context.Context, app string) ([]VersionInfo, error) {
	var rows []versionRow
	if err := db.Gorm.WithContext(ctx).Where("app = ?", app).Order("version desc").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list versions: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	out := make([]VersionInfo, len(rows))
	for i, r := range rows {
		out[i] = VersionInfo{Version: r.Version, AppliedBy: r.AppliedBy, AppliedAt: r.AppliedAt.UTC(), Plan: json.RawMessage(r.Plan)}
	}
	return out, nil
}

// Document returns the stored document of an app at version (0 = current).
func (db *DB) Document(ctx context.Context, app string, version int) (*schema.App, error) {
	if version == 0 {
		var a appRow
		err := db.Gorm.WithContext(ctx).Where("name = ?", app).Take(&a).Error
		if err != nil {
			return nil, notFound(err)
		}
		version = a.Version
	}
	var v versionRow
	err := db.Gorm.WithContext(ctx).Where("app = ? AND version = ?", app, version).Take(&v).Error
	if err != nil {
		return nil, notFound(err)
	}
	var doc schema.App
	if err := json.Unmarshal([]byte(v.Document), &doc); err != nil {
		return nil, fmt.Errorf("store: decode %s v%d: %w", app, version, err)
	}
	doc.Version = v.Version
	return &doc, nil
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) || err.Error() == "record not found" {
		return ErrNotFound
	}
	return fmt.Errorf("store: %w", err)
}

// AppVersion reads the current version of app on q — the pool, or a
// transaction that must see the version its own statements ran against. It
// is a one-row primary-key read; ErrNotFound when no such app is installed.
func (db *DB) AppVersion(ctx context.Context, q Conn, app string) (int, error) {
	var v int
	err := q.QueryRowContext(ctx, "SELECT version FROM _forma_apps WHERE name = ?", app).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("store: read version of %s: %w", app, err)
	}
	return v, nil
}

// Catalog caches the current document of each app for the request path.
// Every server checks what it caches against the app's version in
// _forma_apps, which a migration updates in its own transaction, so a
// migration applied by any server holds on every server from its next
// request. Two ways to look up:
//
//   - App reads the version first (a one-row primary-key read) and serves
//     the cached document only while it is that version.
//   - Cached reads nothing while it holds a document: a caller using it
//     confirms the version after its own statements (records does, inside
//     a write's transaction or after a read; see records' settled) and
//     calls Outdated when the app has moved on, then runs again. That
//     costs one version read per request, after the fact, and also covers
//     a migration that lands while the request runs.
type Catalog struct {
	db *DB

	mu   sync.RWMutex
	apps map[string]catalogEntry
}

type catalogEntry struct {
	app      *schema.App // the newest version this process has seen
	outdated bool        // a request found the app moved past app.Version
}

// NewCatalog returns a catalog over db.
func NewCatalog(db *DB) *Catalog {
	return &Catalog{db: db, apps: map[string]catalogEntry{}}
}

// App returns the current document of app, or ErrNotFound.
func (c *Catalog) App(ctx context.Context, name string) (*schema.App, error) {
	version, err := c.db.AppVersion(ctx, c.db.Pool(), name)
	if errors.Is(err, ErrNotFound) {
		c.Forget(name)
		return nil, err
	} else if err != nil {
		return nil, err
	}
	c.mu.RLock()
	e := c.apps[name]
	c.mu.RUnlock()
	app := e.app
	if app == nil || app.Version != version {
		// Versions are immutable rows: the document of this version is
		// the same whenever it is read.
		if app, err = c.db.Document(ctx, name, version); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	// A slower request may have read an older version than one stored
	// meanwhile; it must not replace it.
	if have := c.apps[name].app; have == nil || have.Version <= app.Version {
		c.apps[name] = catalogEntry{app: app}
	}
	c.mu.Unlock()
	return app, nil
}

// Cached returns the document of app this process last saw as current,
// without reading the database; when it holds none, or a request found it
// outdated, it returns what App returns, and fresh is true. The caller must
// confirm the version after its statements (see Catalog).
func (c *Catalog) Cached(ctx context.Context, name string) (app *schema.App, fresh bool, err error) {
	c.mu.RLock()
	e := c.apps[name]
	c.mu.RUnlock()
	if e.app != nil && !e.outdated {
		return e.app, false, nil
	}
	app, err = c.App(ctx, name)
	return app, true, err
}

// Outdated records that app is no longer at version: the next look-up
// reads the database.
func (c *Catalog) Outdated(name string, version int) {
	c.mu.Lock()
	if e := c.apps[name]; e.app != nil && e.app.Version <= version {
		c.apps[name] = catalogEntry{app: e.app, outdated: true}
	}
	c.mu.Unlock()
}

// Forget drops the cached document of app (after this process migrates it).
func (c *Catalog) Forget(name string) {
	c.mu.Lock()
	delete(c.apps, name)
	c.mu.Unlock()
}
