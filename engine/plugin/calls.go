package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
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

// pruneBatch bounds the calls one write prunes.
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

// record writes a call to the log and prunes the app's log of the plugin
// to its KeepCalls newest calls.
func (s *Service) record(ctx context.Context, rec callRecord) error {
	if err := s.migrateCalls(ctx); err != nil {
		return err
	}
	logs := "[]"
	if len(rec.logs) > 0 {
		b, _ := json.Marshal(rec.logs)
		logs = string(b)
	}
	row := callRow{ID: strings.ToLower(ulid.Make().String()), App: rec.app, Plugin: rec.plugin, Kind: rec.kind, Name: rec.name,
		Automation: rec.automation, Connector: rec.connector, Status: rec.status, Error: rec.err, Requests: rec.requests,
		DurationMs: rec.duration.Milliseconds(), At: s.db.Now(), Logs: logs}
	g := s.db.Gorm.WithContext(ctx)
	if err := g.Create(&row).Error; err != nil {
		return fmt.Errorf("plugin: log the call of %s in %s: %w", rec.plugin, rec.app, err)
	}
	// The oldest calls beyond KeepCalls go (normally the one this call
	// pushed out). The subquery reads the (app, plugin, at) index; SQLite
	// wants a LIMIT before OFFSET, and PostgreSQL refuses LIMIT -1, hence
	// a bound on how many go at once.
	err := g.Exec(`DELETE FROM _forma_plugin_calls WHERE app = ? AND plugin = ? AND id IN (
		SELECT id FROM _forma_plugin_calls WHERE app = ? AND plugin = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?)`,
		rec.app, rec.plugin, rec.app, rec.plugin, pruneBatch, KeepCalls).Error
	if err != nil {
		return fmt.Errorf("plugin: prune the calls of %s in %s: %w", rec.plugin, rec.app, err)
	}
	return nil
}

// Calls returns the recent calls of plugin in app, newest first.
func (s *Service) Calls(ctx context.Context, app, plugin string, limit int) ([]CallInfo, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, KeepCalls)
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
