package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"gorm.io/gorm"
)

// callRow is one recent call of a plugin in an app. Error and Logs are
// redacted before they are written: no secret of the app's configuration
// is ever stored.
type callRow struct {
	ID         string    `gorm:"primaryKey;size:26"`
	App        string    `gorm:"size:63;not null;index:idx_forma_plugin_calls_recent,priority:1"`
	Plugin     string    `gorm:"size:40;not null;index:idx_forma_plugin_calls_recent,priority:2"`
	Kind       string    `gorm:"size:16;not null"`
	Name       string    `gorm:"size:63;not null"`
	Automation string    `gorm:"size:63"`
	Connector  string    `gorm:"size:63"`
	Status     string    `gorm:"size:16;not null"`
	Error      string    `gorm:"type:text"`
	Requests   int       `gorm:"not null"`
	DurationMs int64     `gorm:"not null"`
	At         time.Time `gorm:"not null;index:idx_forma_plugin_calls_recent,priority:3"`
	Logs       string    `gorm:"type:text"` // JSON array of lines
}

func (callRow) TableName() string { return "_forma_plugin_calls" }

// pruneBatch bounds the calls one write prunes per app and plugin.
const pruneBatch = 1000

// callRecord is what finish knows of a call, already redacted.
type callRecord struct {
	app, plugin, kind, name, automation, connector string
	status, err                                    string
	requests                                       int
	duration                                       time.Duration
	logs                                           []string
}

// migrateCalls creates the call log's table on first use.
func (s *Service) migrateCalls(ctx context.Context) error {
	if s.run.callsReady.Load() {
		return nil
	}
	if err := s.db.EnsureTables(ctx, &callRow{}); err != nil {
		return err
	}
	s.run.callsReady.Store(true)
	return nil
}

// The call log is written in the background, in batches: a call does not
// wait for the log's write (on SQLite a commit is a sync to disk, several
// times the cost of a call), and calls that end together share one
// transaction. Calls (the reader) writes what is pending first, so what it
// answers includes every call that ended before it was asked.
type callLog struct {
	mu      sync.Mutex // guards pending and running
	pending []callRow
	running bool
	write   sync.Mutex // one batch written at a time, in order
}

// maxPendingCalls bounds the log's backlog while the database is away;
// beyond it new entries are dropped (the log is a diagnostic).
const maxPendingCalls = 10000

// record queues a call for the log.
func (s *Service) record(rec callRecord) {
	logs := "[]"
	if len(rec.logs) > 0 {
		b, _ := json.Marshal(rec.logs)
		logs = string(b)
	}
	row := callRow{ID: strings.ToLower(ulid.Make().String()), App: rec.app, Plugin: rec.plugin, Kind: rec.kind, Name: rec.name,
		Automation: rec.automation, Connector: rec.connector, Status: rec.status, Error: rec.err, Requests: rec.requests,
		DurationMs: rec.duration.Milliseconds(), At: s.db.Now(), Logs: logs}
	l := &s.run.calls
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) >= maxPendingCalls {
		s.log.Warn("plugin: the call log is behind; a call was not logged", "app", rec.app, "plugin", rec.plugin)
		return
	}
	l.pending = append(l.pending, row)
	if !l.running {
		l.running = true
		go s.drainCalls()
	}
}

// drainCalls writes the pending calls until there are none.
func (s *Service) drainCalls() {
	l := &s.run.calls
	for {
		n, err := s.flushCalls(context.Background())
		if err != nil {
			s.log.Error("plugin: the call log", "err", err)
		}
		l.mu.Lock()
		if n == 0 || len(l.pending) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
	}
}

// flushCalls writes what is pending in one transaction and prunes each
// app's log of each plugin in it to its KeepCalls newest calls. It
// returns how many calls it took (dropped when the write failed: they
// are redacted diagnostics, and a failing database must not grow them).
func (s *Service) flushCalls(ctx context.Context) (int, error) {
	l := &s.run.calls
	l.write.Lock()
	defer l.write.Unlock()
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	if err := s.migrateCalls(ctx); err != nil {
		return len(batch), err
	}
	type key struct{ app, plugin string }
	seen := map[key]bool{}
	err := s.db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.CreateInBatches(batch, 100).Error; err != nil {
			return err
		}
		for _, r := range batch {
			k := key{r.App, r.Plugin}
			if seen[k] {
				continue
			}
			seen[k] = true
			// The oldest calls beyond KeepCalls go. The subquery reads the
			// (app, plugin, at) index; SQLite wants a LIMIT before OFFSET
			// and PostgreSQL refuses LIMIT -1, hence a bound per write.
			err := tx.Exec(`DELETE FROM _forma_plugin_calls WHERE app = ? AND plugin = ? AND id IN (
				SELECT id FROM _forma_plugin_calls WHERE app = ? AND plugin = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?)`,
				k.app, k.plugin, k.app, k.plugin, pruneBatch, KeepCalls).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return len(batch), fmt.Errorf("plugin: write %d calls to the log: %w", len(batch), err)
	}
	return len(batch), nil
}

// Calls returns the recent calls of plugin in app, newest first.
func (s *Service) Calls(ctx context.Context, app, plugin string, limit int) ([]CallInfo, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, KeepCalls)
	if _, err := s.flushCalls(ctx); err != nil {
		return nil, err
	}
	if err := s.migrateCalls(ctx); err != nil {
		return nil, fmt.Errorf("plugin: %w", err)
	}
	var rows []callRow
	err := s.db.Gorm.WithContext(ctx).Where("app = ? AND plugin = ?", app, plugin).
		Order("at DESC, id DESC").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("plugin: the calls of %s in %s: %w", plugin, app, err)
	}
	out := make([]CallInfo, len(rows))
	for i, r := range rows {
		out[i] = CallInfo{ID: r.ID, App: r.App, Plugin: r.Plugin, Kind: r.Kind, Name: r.Name, Automation: r.Automation,
			Connector: r.Connector, Status: r.Status, Error: r.Error, Requests: r.Requests, DurationMs: r.DurationMs, At: r.At.UTC()}
		if r.Logs != "" {
			_ = json.Unmarshal([]byte(r.Logs), &out[i].Logs) // written by record
		}
	}
	return out, nil
}

// redactor replaces every secret value of an app's configuration (as
// written, and as it appears in a URL or a JSON string) by "***".
type redactor struct{ r *strings.Replacer }

func newRedactor(secrets map[string]string) *redactor {
	seen := map[string]bool{}
	var forms []string
	for _, v := range secrets {
		if v == "" {
			continue
		}
		jv, _ := json.Marshal(v)
		for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v), string(jv[1 : len(jv)-1])} {
			if !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	if len(forms) == 0 {
		return &redactor{}
	}
	// Longest first: a secret that contains another is replaced whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, "***")
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

func (r *redactor) text(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// value redacts the strings (and keys) of a plain value.
func (r *redactor) value(v any) any {
	if r == nil || r.r == nil {
		return v
	}
	switch x := v.(type) {
	case string:
		return r.text(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[r.text(k)] = r.value(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = r.value(e)
		}
		return out
	}
	return v
}

// error redacts e's message and details in place.
func (r *redactor) error(e *Error) {
	e.Message = r.text(e.Message)
	for i := range e.Details {
		e.Details[i].Path = r.text(e.Details[i].Path)
		e.Details[i].Message = r.text(e.Details[i].Message)
		for k, p := range e.Details[i].Params {
			e.Details[i].Params[k] = r.value(p)
		}
	}
}
