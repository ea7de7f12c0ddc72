// Package records reads and writes the records of app entities: validation
// on write, the filter language, sorting, cursor pagination, field selection
// and expansion of refs. It works on the tables that engine/store migrates.
package records

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/scriptlog"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Caller is who is asking. Access rules (roles, teams, row rules) build on it.
type Caller struct {
	UserID string
	Admin  bool     // the platform admin: every rule passes
	Roles  []string // role names; the app document says what each grants
	TeamID string   // the caller's team ("" for none); team scope covers the teams below it too
	// Path is how the change came in, for the record history: PathAPI
	// (the default when empty), PathWeb, PathScript, PathFlow, PathImport
	// or PathSystem.
	Path string
	// Automation names the automation whose action makes the write (with
	// Path PathAutomation): the history shows it.
	Automation string `json:"automation,omitempty"`
	// Plugin names the plugin whose trigger makes the write (with Path
	// PathPlugin): the history shows it (the "plugin" column, shown by
	// GET …/history).
	Plugin string `json:"plugin,omitempty"`
	// Depth counts the automation writes that led to this one: 0 for a
	// person's write, 1 for an automation's reaction to it, and so on.
	// Automations stop a chain at automation.MaxDepth.
	Depth int `json:"depth,omitempty"`
	// Step, set by the automation engine on an action's write, names the
	// run step the write performs ("<run id>/<index>"): its event
	// subscriber marks the step done inside the write's transaction, so the
	// effect and its record commit together.
	Step string `json:"step,omitempty"`
	// Confirm, when set, is what the caller's identity still rests on: a
	// counter this server's cached authentication was taken at (the API's
	// auth epoch). A list reads Probe in its own statement and answers
	// ErrUnconfirmed unless it reads Want, so that a cached answer costs no
	// round trip of its own and still ends at the next request once
	// another server changed it. Other operations ignore it: only a caller
	// that handles ErrUnconfirmed sets it.
	Confirm *Confirm `json:"-"`
}

// Confirm is a scalar subquery (SQL from a trusted constant, no
// arguments) and the value it must read; see Caller.Confirm.
type Confirm struct {
	Probe string
	Want  int64
}

// ErrUnconfirmed answers a list whose Caller.Confirm read another value:
// the caller's authentication changed since it was cached, and the caller
// must authenticate anew before asking again. Nothing was answered.
var ErrUnconfirmed = errors.New("records: the caller's authentication changed")

// Error is a failure the caller can act on: it carries the HTTP status, a
// stable machine-readable code and, for validation, every problem found.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []schema.Problem
	// Script is set when a script refused the write or failed.
	Script *ScriptFault
	// cause is the database error behind a 500, for errors.As and
	// store.IsSchemaMoved (retry).
	cause error
}

// Unwrap returns the error behind a failure, if any.
func (e *Error) Unwrap() error { return e.cause }

func forbidden(format string, args ...any) *Error {
	return errorf(403, CodeForbidden, format, args...)
}

func (e *Error) Error() string {
	if len(e.Details) > 0 {
		return e.Message + ": " + schema.Problems(e.Details).Error()
	}
	return e.Message
}

func errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// The error codes records answers with.
const (
	CodeNotFound   = "not_found"
	CodeForbidden  = "forbidden"
	CodeInvalid    = "validation_failed"
	CodeBadQuery   = "invalid_query"
	CodeBadFilter  = "invalid_filter"
	CodeBadJSON    = "invalid_json"
	CodeConflict   = "version_conflict"
	CodeReferenced = "referenced"
	CodeDuplicate  = "duplicate_value"
)

// Service serves record operations for every installed app.
type Service struct {
	db      *store.DB
	catalog *store.Catalog
	dialect string

	mu       sync.Mutex
	entropy  *ulid.MonotonicEntropy
	entities sync.Map // entityKey → *entityInfo
	// applying holds the documents of migrations in progress (*schema.App →
	// struct{}): their version is not committed and may never be, so what
	// is derived from them is cached under the document's address rather
	// than its version (see docKey), and dropped when the migration ends.
	applying sync.Map

	scriptLog *scriptlog.Log

	jobs *jobs.Queue // after-hooks run as its jobs (afterhooks.go); nil: inline after commit

	subsMu sync.Mutex
	subs   []Subscriber // record events' subscribers (events.go)

	// clock, when set, times list queries for the index advisor instead
	// of the store's clock (tests set it).
	clock   func() time.Time
	advisor *advisor

	plans planCache // list plans (plancache.go)
}

// SetScriptLog makes the service write script console lines and failures
// to log (nil: they are dropped).
func (s *Service) SetScriptLog(log *scriptlog.Log) { s.scriptLog = log }

// New returns a records service over db, reading app documents from catalog.
func New(db *store.DB, catalog *store.Catalog) *Service {
	return &Service{db: db, catalog: catalog, dialect: db.Dialect.Name(), entropy: ulid.Monotonic(rand.Reader, 0),
		advisor: newAdvisor()}
}

// newID returns a new record id: a ULID in lower case, so ids sort by
// creation time and the primary key index doubles as the default order.
func (s *Service) newID() string {
	s.mu.Lock()
	id := ulid.MustNew(ulid.Timestamp(s.db.Clock.Now()), s.entropy)
	s.mu.Unlock()
	return strings.ToLower(id.String())
}

// entityInfo is what a request needs to know about one entity at one app
// version, computed once and shared.
type entityInfo struct {
	app     *schema.App
	entity  *schema.Entity
	table   string
	fields  []*schema.Field          // system fields first, then the entity's, in document order
	byName  map[string]*schema.Field // every readable column
	selects string                   // the full column list, quoted
	key     string                   // cache key: app, version, entity (and hidden fields for a caller's view)
	logic   bool                     // writes run hooks, formulas, rules or rollups (logic.go)
	// computedReads maps each formula and rollup to what it reads: "field"
	// of the same record, or "entity.field" of a ref's target or of the
	// children a rollup aggregates.
	computedReads map[string][]string
	shapes        recordShapes // what hooks may change (logic.go), when info.logic
	feeds         bool         // a rollup or a formula elsewhere reads this entity's records
	flowsDown     bool         // a formula of a referencing record reads this entity's fields
	cascades      bool         // deleting a record deletes or clears referencing records (onDelete cascade, setNull)
}

// systemFields describes the system columns as fields, so that filters,
// sorts and output treat them like any other.
var systemFields = []*schema.Field{
	{Name: "id", Type: schema.Text},
	{Name: "created_at", Type: schema.DateTime},
	{Name: "updated_at", Type: schema.DateTime},
	{Name: "created_by", Type: schema.User},
	{Name: "owner", Type: schema.User},
	{Name: "version", Type: schema.Integer},
}

// entity describes an entity of the app's current document, read from the
// database's version (store.Catalog.App).
func (s *Service) entity(ctx context.Context, appName, entityName string) (*entityInfo, error) {
	app, err := s.catalog.App(ctx, appName)
	return s.entityOf(app, err, appName, entityName)
}

// requestEntity describes an entity for a records request, from the
// document this process last saw as current, without a metadata read: the
// request confirms the version when it ends (settled, and stillCurrent in a
// write's transaction), and runs again on the new document if a migration
// overtook it. Only a 404 is confirmed at once, since a cached document may
// predate the entity.
func (s *Service) requestEntity(ctx context.Context, appName, entityName string) (*entityInfo, error) {
	app, fresh, err := s.catalog.Cached(ctx, appName)
	if err == nil && !fresh && app.Entity(entityName) == nil {
		return s.entity(ctx, appName, entityName)
	}
	return s.entityOf(app, err, appName, entityName)
}

func (s *Service) entityOf(app *schema.App, err error, appName, entityName string) (*entityInfo, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(404, CodeNotFound, "no app %q", appName)
	} else if err != nil {
		return nil, err
	}
	if documentHook != nil {
		documentHook(appName)
	}
	info := s.infoOf(app, entityName)
	if info == nil {
		return nil, errorf(404, CodeNotFound, "no entity %q in app %q", entityName, appName)
	}
	return info, nil
}

// documentHook, when set (by tests), runs after a request has read its app
// document, where a migration landing would overtake the request.
var documentHook func(app string)

// infoOf describes entity name of an installed app version, computed once
// per version; nil when there is no such entity.
func (s *Service) infoOf(app *schema.App, name string) *entityInfo {
	key := s.docKey(app) + "\x00" + name
	if v, ok := s.entities.Load(key); ok {
		return v.(*entityInfo)
	}
	e := app.Entity(name)
	if e == nil {
		return nil
	}
	info := newEntityInfo(app, e, key)
	s.entities.Store(key, info)
	return info
}

// docKey names app's version in cache keys: its name and version, or,
// for a document being applied, its address (see Service.applying).
func (s *Service) docKey(app *schema.App) string {
	if _, ok := s.applying.Load(app); ok {
		return fmt.Sprintf("%s\x00applying %p", app.Name, app)
	}
	return fmt.Sprintf("%s\x00%d", app.Name, app.Version)
}

// newEntityInfo describes entity e of app: its table, its fields (system
// fields first) and their column list.
func newEntityInfo(app *schema.App, e *schema.Entity, key string) *entityInfo {
	info := &entityInfo{app: app, entity: e, table: schema.TableName(app.Name, e.Name), byName: map[string]*schema.Field{}, key: key}
	info.fields = append(info.fields, systemFields...)
	for i := range e.Fields {
		info.fields = append(info.fields, &e.Fields[i])
	}
	cols := make([]string, len(info.fields))
	for i, f := range info.fields {
		info.byName[f.Name] = f
		cols[i] = store.Quote(f.Name)
	}
	info.selects = strings.Join(cols, ", ")
	info.computedReads = computedReads(app, e)
	info.flowsDown = flowsDown(info)
	info.feeds = info.flowsDown || rolledUp(info)
	info.cascades = hasCascades(info)
	info.logic = hasLogic(info)
	if info.logic {
		info.shapes = newRecordShapes(info)
	}
	return info
}

// Record is one record: its values by field name, in field order.
type Record struct {
	fields []*schema.Field
	values []any
	expand []expanded
	notes  []recordNote // what a create check adds to the answer (createcheck.go)
}

type expanded struct {
	name   string
	record *Record
}

// Get returns the value of a field (nil if absent or not loaded).
func (r *Record) Get(name string) any {
	for i, f := range r.fields {
		if f.Name == name {
			return r.values[i]
		}
	}
	return nil
}

// ID returns the record id.
func (r *Record) ID() string {
	id, _ := r.Get("id").(string)
	return id
}

// MarshalJSON writes the record as the API shows it.
func (r *Record) MarshalJSON() ([]byte, error) { return r.appendJSON(nil), nil }

func (r *Record) appendJSON(b []byte) []byte { return r.appendJSONKeys(b, nil) }

// appendJSONKeys is appendJSON with the fields' keys written beforehand
// (nil: written here): a page's records share one field list.
func (r *Record) appendJSONKeys(b []byte, keys *fieldKeys) []byte {
	b = append(b, '{')
	if keys != nil && keys.of(r.fields) {
		for i := range r.fields {
			b = append(b, keys.key(i)...)
			b = appendValue(b, r.values[i])
		}
	} else {
		for i, f := range r.fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Name)
			b = append(b, ':')
			b = appendValue(b, r.values[i])
		}
	}
	if len(r.expand) > 0 {
		b = append(b, `,"expand":{`...)
		for i, e := range r.expand {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e.name)
			b = append(b, ':')
			if e.record == nil {
				b = append(b, "null"...)
			} else {
				b = e.record.appendJSON(b)
			}
		}
		b = append(b, '}')
	}
	b = appendNotes(b, r.notes)
	return append(b, '}')
}

// fieldKeys holds the JSON keys of one field list, each with its
// separator (`"name":`, then `,"name":`), so that a page writes each key
// once rather than escaping every field's name on every record.
type fieldKeys struct {
	fields []*schema.Field
	text   []byte
	ends   []int
}

// of reports whether the keys are those of fields, writing them when the
// list is another (or the first): false for an empty list.
func (k *fieldKeys) of(fields []*schema.Field) bool {
	if len(fields) == 0 {
		return false
	}
	if len(k.fields) == len(fields) && &k.fields[0] == &fields[0] {
		return true
	}
	k.fields, k.text, k.ends = fields, k.text[:0], k.ends[:0]
	for i, f := range fields {
		if i > 0 {
			k.text = append(k.text, ',')
		}
		k.text = appendString(k.text, f.Name)
		k.text = append(k.text, ':')
		k.ends = append(k.ends, len(k.text))
	}
	return true
}

// key is field i's key with its separator.
func (k *fieldKeys) key(i int) []byte {
	start := 0
	if i > 0 {
		start = k.ends[i-1]
	}
	return k.text[start:k.ends[i]]
}
