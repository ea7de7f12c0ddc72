package plugin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// tokenRow is a connector's endpoint token, sealed with the service's
// secrets key (bound to the app and connector): a copy of the database
// does not give away who may post to an endpoint.
type tokenRow struct {
	App       string    `gorm:"primaryKey;size:63"`
	Connector string    `gorm:"primaryKey;size:63"`
	Token     string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
}

func (tokenRow) TableName() string { return "_forma_connector_tokens" }

// rateRow counts one client address's submissions to one connector in
// one minute (fixed windows) on PostgreSQL. The count lives in the
// database, not in memory, so the limit holds across several servers on
// one PostgreSQL: each submission is one atomic upsert of its row, and
// the rows of past minutes are pruned as new minutes begin. On SQLite
// the count is kept in memory instead (memoryRates): one process owns a
// SQLite file, and another write transaction per submission there would
// queue behind every other writer (measured: it cut accepted leads per
// second several times over while automations ran).
type rateRow struct {
	App       string `gorm:"primaryKey;size:63"`
	Connector string `gorm:"primaryKey;size:63"`
	IP        string `gorm:"column:ip;primaryKey;size:64"`
	Minute    int64  `gorm:"primaryKey;autoIncrement:false"` // Unix minutes of the engine clock
	Count     int    `gorm:"not null"`
}

func (rateRow) TableName() string { return "_forma_connector_rates" }

// TokenBytes is the length of a connector's token (URL-safe base64).
const TokenBytes = 32

// MaxItems is how many records one submission may make (a trigger may
// turn one request into several items).
const MaxItems = 100

// ErrRateLimited is Accept's error with a 429: Wait says when the client
// may post again (the API reads it through RetryAfter).
type ErrRateLimited struct{ Wait time.Duration }

func (e *ErrRateLimited) Error() string {
	return fmt.Sprintf("too many submissions from this address: try again in %s", e.Wait.Round(time.Second))
}

// RetryAfter is the Retry-After the API answers with.
func (e *ErrRateLimited) RetryAfter() time.Duration { return e.Wait }

// errUnauthorized is every refused token, unknown endpoint or unknown
// app: one answer, so a caller learns nothing of which it was.
var errUnauthorized = errors.New("plugin: no endpoint with this token")

func (s *Service) migrateInbound(ctx context.Context) error {
	if s.inboundReady.Load() {
		return nil
	}
	if err := s.db.EnsureTables(ctx, &tokenRow{}, &rateRow{}); err != nil {
		return fmt.Errorf("plugin: connector tables: %w", err)
	}
	s.inboundReady.Store(true)
	return nil
}

// Accept handles one submission to app's connector: token, rate limit,
// honeypot, the trigger, the mapping, the write (path "plugin"). It
// returns the ids written and the HTTP status to answer: 202 (also for a
// honeypot hit, which writes nothing), 401 for a wrong or missing token
// and for an unknown app or endpoint alike, 429 (*ErrRateLimited), 409
// for a disabled connector or plugin, 422 for an item the entity refuses
// (a *records.Error with details by field). Items are written one by
// one, each in its own transaction: when one is refused, those before it
// stay written and their ids come back with the refusal.
func (s *Service) Accept(ctx context.Context, app, connector, token string, req Inbound) (ids []string, status int, err error) {
	if err := s.migrateInbound(ctx); err != nil {
		return nil, 500, err
	}
	doc, err := s.cat.App(ctx, app)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 401, errUnauthorized
	} else if err != nil {
		return nil, 500, fmt.Errorf("plugin: accept: %w", err)
	}
	cn := doc.Connector(connector)
	if cn == nil || token == "" {
		return nil, 401, errUnauthorized
	}
	want, err := s.token(ctx, app, connector, false)
	if err != nil {
		return nil, 500, err
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(token)) != 1 {
		return nil, 401, errUnauthorized
	}
	if !cn.IsEnabled() {
		return nil, 409, &Error{Kind: KindDisabled, Message: fmt.Sprintf("connector %s is disabled", connector)}
	}
	if err := s.limit(ctx, app, cn, req.IP); err != nil {
		var rl *ErrRateLimited
		if errors.As(err, &rl) {
			return nil, 429, err
		}
		return nil, 500, err
	}
	req = withoutToken(req)
	if honeypotHit(cn, req) {
		// Answered like a success so a bot learns nothing; nothing runs.
		return nil, 202, nil
	}
	items, err := s.Receive(ctx, app, cn.Plugin, cn.Trigger, cn.Name, req)
	if err != nil {
		return nil, callStatus(err), err
	}
	if len(items) > MaxItems {
		return nil, 422, &Error{Kind: KindOutput, Message: fmt.Sprintf("the submission makes %d records; a connector takes at most %d at once", len(items), MaxItems)}
	}
	e := doc.Entity(cn.Entity)
	if e == nil {
		return nil, 500, fmt.Errorf("plugin: connector %s: no entity %s", cn.Name, cn.Entity)
	}
	c := records.Caller{Path: records.PathPlugin, Plugin: cn.Plugin}
	if cn.Role == "" {
		c.Admin = true // like an automation without a role: the app's own write
	} else {
		c.Roles = []string{cn.Role}
	}
	for _, item := range items {
		values := mapItem(e, cn, item)
		id, err := s.write(ctx, c, app, e, cn, values)
		if err != nil {
			var re *records.Error
			if errors.As(err, &re) {
				return ids, re.Status, err
			}
			return ids, 500, err
		}
		ids = append(ids, id)
	}
	return ids, 202, nil
}

// callStatus is the HTTP status of a failed trigger run. A trigger's job
// is to read the request, so when its script throws (not a timeout or the
// memory guard: those are KindTimeout and retried), it is refusing what
// was sent — a 422 with its message (redacted like every plugin error),
// not a 502 that tells a website to try the same body again.
func callStatus(err error) int {
	var pe *Error
	if !errors.As(err, &pe) {
		return 500
	}
	switch {
	case pe.Kind == KindDisabled, pe.Kind == KindNotFound:
		return 409
	case pe.Kind == KindInput, pe.Kind == KindOutput, pe.Kind == KindScript && !pe.Retry:
		return 422
	case pe.Retry:
		return 503
	}
	return 502
}

// withoutToken drops the token from what the trigger sees: its form field
// and its header (the API leaves cookies out already).
func withoutToken(req Inbound) Inbound {
	req.Form = without(req.Form, "_token")
	req.Headers = without(req.Headers, "x-forma-token")
	req.Query = without(req.Query, "token")
	return req
}

// without is m without key: a copy when m has it (the caller's map is
// left as it was), m itself otherwise.
func without(m map[string]string, key string) map[string]string {
	if _, ok := m[key]; !ok {
		return m
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

// honeypotHit says whether the submission filled the connector's
// honeypot field (as a form field or a top-level JSON property).
func honeypotHit(cn *schema.Connector, req Inbound) bool {
	if cn.Honeypot == "" {
		return false
	}
	if strings.TrimSpace(req.Form[cn.Honeypot]) != "" {
		return true
	}
	if obj, ok := req.JSON.(map[string]any); ok {
		switch v := obj[cn.Honeypot].(type) {
		case nil:
		case string:
			return strings.TrimSpace(v) != ""
		default:
			return true
		}
	}
	return false
}

// writable reports whether a connector may fill field name of e: one of
// the entity's own stored fields, never a system column (owner, id,
// created_by, version …) nor a computed one. schema.Check refuses such
// targets at publish; this holds the line again at run time.
func writable(e *schema.Entity, name string) bool {
	if _, sys := schema.SystemColumnType(name); sys {
		return false
	}
	f := e.Field(name)
	return f != nil && !f.Type.Computed()
}

// mapItem makes the values of a write from one item of the trigger: each
// mapped field its property's value (an empty one left out), then the
// defaults for fields still unset. Nothing else of the item passes: a
// submission carrying owner, id or version sets none of them.
func mapItem(e *schema.Entity, cn *schema.Connector, item map[string]any) map[string]any {
	values := map[string]any{}
	for field, prop := range cn.Mapping {
		if !writable(e, field) {
			continue
		}
		v, ok := item[prop]
		if !ok || v == nil {
			continue
		}
		if str, isStr := v.(string); isStr {
			if str = strings.TrimSpace(str); str == "" {
				continue
			}
			v = str
		}
		values[field] = v
	}
	for field, raw := range cn.Defaults {
		if _, set := values[field]; set || !writable(e, field) {
			continue
		}
		values[field] = raw
	}
	return values
}

// write creates a record from values, or updates the one whose match
// field holds the same value. Two first submissions of one value at once
// both try to create; the loser's unique conflict turns into an update.
func (s *Service) write(ctx context.Context, c records.Caller, app string, e *schema.Entity, cn *schema.Connector, values map[string]any) (string, error) {
	body, err := json.Marshal(values)
	if err != nil {
		return "", fmt.Errorf("plugin: connector %s: %w", cn.Name, err)
	}
	for try := 0; ; try++ {
		id, version, err := s.matching(ctx, app, e, cn, values)
		if err != nil {
			return "", err
		}
		if id == "" {
			rec, err := s.recs.Create(ctx, c, app, e.Name, body)
			var re *records.Error
			if err != nil && try == 0 && cn.Match != "" && errors.As(err, &re) && re.Status == 409 {
				continue // created meanwhile by another submission: update it
			}
			if err != nil {
				return "", err
			}
			return rec.ID(), nil
		}
		patch := make(map[string]any, len(values)+1)
		for k, v := range values {
			patch[k] = v
		}
		patch["version"] = version
		pb, err := json.Marshal(patch)
		if err != nil {
			return "", fmt.Errorf("plugin: connector %s: %w", cn.Name, err)
		}
		rec, err := s.recs.Patch(ctx, c, app, e.Name, id, pb)
		var re *records.Error
		if err != nil && try < 3 && errors.As(err, &re) && re.Code == records.CodeConflict {
			continue // changed meanwhile: read its version again
		}
		if err != nil {
			return "", err
		}
		return rec.ID(), nil
	}
}

// matching finds the record whose match field equals the item's value
// ("" when none, or when the connector has no match). The lookup is the
// server's (every record): the write itself then obeys the connector's
// role.
func (s *Service) matching(ctx context.Context, app string, e *schema.Entity, cn *schema.Connector, values map[string]any) (string, any, error) {
	if cn.Match == "" {
		return "", nil, nil
	}
	v, ok := values[cn.Match]
	if !ok {
		return "", nil, nil
	}
	lit, ok := filterLiteral(v)
	if !ok {
		return "", nil, nil // a value no record holds as a match (the write refuses it)
	}
	page, err := s.recs.List(ctx, records.Caller{Admin: true}, app, e.Name,
		records.Query{Filter: cn.Match + " = " + lit, Limit: 1, Fields: "id,version"})
	if err != nil {
		return "", nil, fmt.Errorf("plugin: connector %s: find by %s: %w", cn.Name, cn.Match, err)
	}
	if len(page.Items) == 0 {
		return "", nil, nil
	}
	return page.Items[0].ID(), page.Items[0].Get("version"), nil
}

// filterLiteral writes v as a filter-language literal: a string or a
// number (JSON's escapes, those the filter language reads).
func filterLiteral(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		for _, r := range x {
			if r < 0x20 && r != '\n' && r != '\t' && r != '\r' {
				return "", false // JSON would write \b or \f, which filters do not read
			}
		}
		b, err := json.Marshal(x)
		return string(b), err == nil
	case float64, int, int64, json.Number:
		return fmt.Sprint(x), true
	case json.RawMessage:
		var y any
		if json.Unmarshal(x, &y) != nil {
			return "", false
		}
		return filterLiteral(y)
	}
	return "", false
}

// limit counts one submission of ip to cn in the current minute of the
// engine clock and refuses it beyond the connector's rate limit. Only a
// submission with the right token gets here, so strangers cannot fill
// the table.
func (s *Service) limit(ctx context.Context, app string, cn *schema.Connector, ip string) error {
	now := s.db.Now()
	minute := now.Unix() / 60
	if len(ip) > 64 {
		ip = ip[:64]
	}
	var n int
	if s.db.Dialect.Name() == "sqlite" {
		n = memoryRatesOf(s.db).add(app+"\x00"+cn.Name+"\x00"+ip, minute)
	} else {
		var err error
		if n, err = s.countRate(ctx, app, cn, ip, minute); err != nil {
			return err
		}
	}
	if n > cn.EffectiveRateLimit() {
		wait := time.Unix((minute+1)*60, 0).Sub(now)
		if wait < time.Second {
			wait = time.Second
		}
		return &ErrRateLimited{Wait: wait}
	}
	return nil
}

// countRate counts one submission in the database and returns the
// window's count so far.
func (s *Service) countRate(ctx context.Context, app string, cn *schema.Connector, ip string, minute int64) (int, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("plugin: rate limit: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `INSERT INTO _forma_connector_rates (app, connector, ip, minute, count) VALUES (?, ?, ?, ?, 1)
		ON CONFLICT (app, connector, ip, minute) DO UPDATE SET count = _forma_connector_rates.count + 1 RETURNING count`,
		app, cn.Name, ip, minute).Scan(&n); err != nil {
		return 0, fmt.Errorf("plugin: rate limit: %w", err)
	}
	if n == 1 {
		// A new window: the connector's finished ones go.
		if _, err := tx.ExecContext(ctx, `DELETE FROM _forma_connector_rates WHERE app = ? AND connector = ? AND minute < ?`, app, cn.Name, minute-1); err != nil {
			return 0, fmt.Errorf("plugin: rate limit: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("plugin: rate limit: %w", err)
	}
	return n, nil
}

// memoryRates counts submissions per connector and address in the
// current minute, for one SQLite database (every Service on it shares
// the count). Only the current minute is kept.
type memoryRates struct {
	mu     sync.Mutex
	minute int64
	counts map[string]int
}

var sqliteRates sync.Map // *store.DB → *memoryRates

func memoryRatesOf(db *store.DB) *memoryRates {
	r, _ := sqliteRates.LoadOrStore(db, &memoryRates{})
	return r.(*memoryRates)
}

// add counts one submission of key in minute and returns the count.
func (r *memoryRates) add(key string, minute int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if minute != r.minute || r.counts == nil {
		r.minute, r.counts = minute, map[string]int{}
	}
	r.counts[key]++
	return r.counts[key]
}

// tokenAAD binds a sealed token to its app and connector.
func tokenAAD(app, connector string) string { return "connector-token\x00" + app + "\x00" + connector }

// token returns connector's token ("" when it has none yet); create makes
// one when absent (two first uses at once agree on the row that won);
// rotate replaces it.
func (s *Service) token(ctx context.Context, app, connector string, create bool) (string, error) {
	g := s.db.Gorm.WithContext(ctx)
	var row tokenRow
	err := g.Where("app = ? AND connector = ?", app, connector).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		if !create {
			return "", nil
		}
		ins, nerr := s.newTokenRow(app, connector)
		if nerr != nil {
			return "", nerr
		}
		if err := g.Clauses(clause.OnConflict{DoNothing: true}).Create(ins).Error; err != nil {
			return "", fmt.Errorf("plugin: create the token of %s/%s: %w", app, connector, err)
		}
		err = g.Where("app = ? AND connector = ?", app, connector).Take(&row).Error
	}
	if err != nil {
		return "", fmt.Errorf("plugin: read the token of %s/%s: %w", app, connector, err)
	}
	plain, err := s.unseal(row.Token, tokenAAD(app, connector))
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

func (s *Service) newTokenRow(app, connector string) (*tokenRow, error) {
	b := make([]byte, TokenBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("plugin: new token: %w", err)
	}
	sealed, err := s.seal([]byte(base64.RawURLEncoding.EncodeToString(b)), tokenAAD(app, connector))
	if err != nil {
		return nil, err
	}
	return &tokenRow{App: app, Connector: connector, Token: sealed, CreatedAt: s.db.Now()}, nil
}

// Endpoint is what an app admin sees of a connector: its URL path, its
// token and a ready HTML form to paste into a website.
type Endpoint struct {
	App     string `json:"app"`
	Name    string `json:"name"`
	Path    string `json:"path"` // /api/in/{app}/{name}
	Token   string `json:"token"`
	Snippet string `json:"snippet"`
}

// Endpoint returns connector's endpoint (creating its token on first use).
func (s *Service) Endpoint(ctx context.Context, app, connector, baseURL string) (*Endpoint, error) {
	doc, cn, err := s.connector(ctx, app, connector)
	if err != nil {
		return nil, err
	}
	tok, err := s.token(ctx, app, connector, true)
	if err != nil {
		return nil, err
	}
	return endpoint(doc, cn, tok, baseURL)
}

// RotateToken replaces connector's token; the old one stops working.
func (s *Service) RotateToken(ctx context.Context, app, connector, baseURL string) (*Endpoint, error) {
	doc, cn, err := s.connector(ctx, app, connector)
	if err != nil {
		return nil, err
	}
	row, err := s.newTokenRow(app, connector)
	if err != nil {
		return nil, err
	}
	if err := s.db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{UpdateAll: true}).Create(row).Error; err != nil {
		return nil, fmt.Errorf("plugin: rotate the token of %s/%s: %w", app, connector, err)
	}
	tok, err := s.token(ctx, app, connector, false)
	if err != nil {
		return nil, err
	}
	return endpoint(doc, cn, tok, baseURL)
}

// connector returns app's published document and its connector, or a
// not_found *Error.
func (s *Service) connector(ctx context.Context, app, connector string) (*schema.App, *schema.Connector, error) {
	if err := s.migrateInbound(ctx); err != nil {
		return nil, nil, err
	}
	doc, err := s.cat.App(ctx, app)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("no app %s", app)}
	} else if err != nil {
		return nil, nil, fmt.Errorf("plugin: %w", err)
	}
	cn := doc.Connector(connector)
	if cn == nil {
		return nil, nil, &Error{Kind: KindNotFound, Message: fmt.Sprintf("app %s has no connector %s", app, connector)}
	}
	return doc, cn, nil
}

func endpoint(doc *schema.App, cn *schema.Connector, token, baseURL string) (*Endpoint, error) {
	path := "/api/in/" + doc.Name + "/" + cn.Name
	snippet, err := Snippet(doc, cn, strings.TrimRight(baseURL, "/")+path, token)
	if err != nil {
		return nil, err
	}
	return &Endpoint{App: doc.Name, Name: cn.Name, Path: path, Token: token, Snippet: snippet}, nil
}

// snippetTemplate is the HTML form an admin pastes into a website: the
// mapped properties as inputs, the honeypot hidden from people (not with
// type=hidden, which bots skip), the token as _token. html/template
// escapes every name, label and the token for its context.
var snippetTemplate = template.Must(template.New("form").Parse(`<form method="post" action="{{.Action}}" accept-charset="utf-8">
  <input type="hidden" name="_token" value="{{.Token}}">
{{- range .Inputs}}
  <p><label>{{.Label}}<br><input type="{{.Type}}" name="{{.Name}}"{{if .Required}} required{{end}}></label></p>
{{- end}}
{{- if .Honeypot}}
  <div style="position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden" aria-hidden="true">
    <input type="text" name="{{.Honeypot}}" tabindex="-1" autocomplete="off" value="">
  </div>
{{- end}}
  <p><button type="submit">Send</button></p>
</form>
`))

type snippetInput struct {
	Name, Label, Type string
	Required          bool
}

// Snippet renders connector cn's HTML form posting to action.
func Snippet(doc *schema.App, cn *schema.Connector, action, token string) (string, error) {
	e := doc.Entity(cn.Entity)
	fields := make([]string, 0, len(cn.Mapping))
	for f := range cn.Mapping {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	var inputs []snippetInput
	for _, name := range fields {
		in := snippetInput{Name: cn.Mapping[name], Label: name, Type: "text"}
		if e != nil {
			if f := e.Field(name); f != nil {
				if f.Label != "" {
					in.Label = f.Label
				}
				in.Required = f.Required
				switch f.Type {
				case schema.Email:
					in.Type = "email"
				case schema.Phone:
					in.Type = "tel"
				case schema.URL:
					in.Type = "url"
				case schema.Integer, schema.Decimal:
					in.Type = "number"
				case schema.Date:
					in.Type = "date"
				}
			}
		}
		inputs = append(inputs, in)
	}
	var b bytes.Buffer
	err := snippetTemplate.Execute(&b, map[string]any{"Action": action, "Token": token, "Inputs": inputs, "Honeypot": cn.Honeypot})
	if err != nil {
		return "", fmt.Errorf("plugin: the snippet of %s: %w", cn.Name, err)
	}
	return b.String(), nil
}
