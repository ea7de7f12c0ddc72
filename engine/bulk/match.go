package bulk

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Duplicate detection. Every matching rule's keys of every record are kept
// in _forma_match_keys, one row per (rule, key, value, record), maintained
// in each write's transaction by a record-event subscriber (create, update,
// delete), so finding the records a new one matches is an indexed lookup:
//
//   - an exact key (no similarity) stores the normalised values of its
//     fields joined by U+001F (hashed when long); a record with a blank key
//     field has no row for that key: blank matches nothing.
//   - a similarity key stores "v:" + the normalised value (its first 200
//     bytes) and one "b:" row per blocking token (normalize.go: blocks).
//     Candidates are the records sharing a token, ranked by how many; the
//     best 200 are scored with Similarity and kept at or above the key's
//     threshold.
//
// Backfill: a rule's keys are built the first time a write or a lookup of
// its entity runs under a document that has it (_forma_match_rules keeps
// each rule's signature; a changed key list rebuilds it, a removed rule's
// rows are dropped), inside that transaction. On a big table that first
// write pays for the scan once.
//
// Refuse rules: a create takes a transaction-scoped advisory lock per
// exact key value (per rule for a similarity key) before it looks, so of
// two concurrent creates of the same customer on PostgreSQL the second
// waits for the first to commit and then finds it. SQLite runs one write
// at a time.

const (
	matchKeysTable  = "_forma_match_keys"
	matchRulesTable = "_forma_match_rules"
	// matchLockClass is the advisory lock class of refuse rules' keys.
	matchLockClass = 0x46726d64 // "Frmd"
	// CodeDuplicate is the error code of a create a refuse rule refused.
	CodeDuplicate = "duplicate"
	// maxCandidates bounds the records a similarity key scores.
	maxCandidates = 200
	// maxMatches bounds the matches of one key.
	maxMatches = 50
)

// matchKeyRow is one key value of one record (GORM model: only for
// EnsureTables). Its primary key starts with (app, entity, rule, key,
// value): the lookup's index.
type matchKeyRow struct {
	App      string `gorm:"primaryKey;size:63;index:idx_forma_match_keys_record,priority:1"`
	Entity   string `gorm:"primaryKey;size:63;index:idx_forma_match_keys_record,priority:2"`
	Rule     string `gorm:"primaryKey;size:63"`
	Kidx     int    `gorm:"primaryKey;column:kidx"`
	Value    string `gorm:"primaryKey;size:255"`
	RecordID string `gorm:"primaryKey;size:64;index:idx_forma_match_keys_record,priority:3"`
}

func (matchKeyRow) TableName() string { return matchKeysTable }

// matchRuleRow is a rule whose keys are built, by its signature.
type matchRuleRow struct {
	App    string `gorm:"primaryKey;size:63"`
	Entity string `gorm:"primaryKey;size:63"`
	Rule   string `gorm:"primaryKey;size:63"`
	Sig    string `gorm:"size:64;not null"`
}

func (matchRuleRow) TableName() string { return matchRulesTable }

// Match is one probable duplicate: the rule that found it, the record's
// id and how alike (1 for an exact key, the similarity otherwise).
type Match struct {
	Rule  string  `json:"rule"`
	ID    string  `json:"id"`
	Score float64 `json:"score,omitempty"`
	// field is the first field of the key that matched (the refusal's
	// pointer).
	field string
}

// matcher is the state of duplicate detection.
type matcher struct {
	built sync.Map // "app\x00entity\x00version" → struct{}: rules built and pruned under that document
}

// registerMatching creates the match tables and subscribes to record
// events.
func (s *Service) registerMatching(ctx context.Context) error {
	if err := s.db.EnsureTables(ctx, &matchKeyRow{}, &matchRuleRow{}); err != nil {
		return err
	}
	if s.records != nil {
		s.records.Subscribe(s.onRecordEvent)
	}
	return nil
}

// keyVal is one row of a record's keys.
type keyVal struct {
	kidx  int
	value string
}

// stringOf is a field value as a key compares it: text as it is, numbers
// in decimal, dates as YYYY-MM-DD, nothing for null.
func stringOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case time.Time:
		return x.UTC().Format("2006-01-02")
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// exactValue is key k's value of a record (get reads a field), "" when a
// field is blank.
func exactValue(k *schema.MatchKey, get func(string) any) string {
	parts := make([]string, len(k.Fields))
	for i, f := range k.Fields {
		parts[i] = Normalize(k.Normalize, stringOf(get(f)))
		if parts[i] == "" {
			return ""
		}
	}
	v := strings.Join(parts, "\x1f")
	if len(v) > 200 {
		sum := sha256.Sum256([]byte(v))
		v = "#" + hex.EncodeToString(sum[:])
	}
	return v
}

// simValue is a similarity key's normalised value, clipped to 200 bytes
// on a rune boundary.
func simValue(k *schema.MatchKey, get func(string) any) string {
	v := Normalize(k.Normalize, stringOf(get(k.Fields[0])))
	if len(v) > 200 {
		cut := 200
		for cut > 0 && !utf8Start(v[cut]) {
			cut--
		}
		v = v[:cut]
	}
	return v
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// keyRows are the rows of rule m for a record.
func keyRows(m *schema.Matching, get func(string) any) []keyVal {
	var out []keyVal
	for i := range m.Keys {
		k := &m.Keys[i]
		if k.Similarity > 0 {
			v := simValue(k, get)
			if v == "" {
				continue
			}
			out = append(out, keyVal{i, "v:" + v})
			for _, b := range blocks(v) {
				out = append(out, keyVal{i, "b:" + b})
			}
			continue
		}
		if v := exactValue(k, get); v != "" {
			out = append(out, keyVal{i, v})
		}
	}
	return out
}

// ensureRules builds (backfills) the keys of entity's rules in doc that
// are not built yet, and drops the rows of rules doc no longer has, once
// per document version (inside tx).
func (s *Service) ensureRules(ctx context.Context, tx store.Conn, doc *schema.App, entity string) error {
	ck := fmt.Sprintf("%s\x00%s\x00%d", doc.Name, entity, doc.Version)
	if _, ok := s.match.built.Load(ck); ok && doc.Version > 0 {
		return nil
	}
	rules := doc.MatchingOf(entity)
	want := map[string]string{}
	for _, m := range rules {
		b, _ := json.Marshal(m.Keys)
		sum := sha256.Sum256(b)
		want[m.Name] = hex.EncodeToString(sum[:16])
	}
	rows, err := tx.QueryContext(ctx, `SELECT "rule", "sig" FROM `+matchRulesTable+` WHERE "app" = ? AND "entity" = ?`, doc.Name, entity)
	if err != nil {
		return fmt.Errorf("bulk: match rules: %w", err)
	}
	have := map[string]string{}
	for rows.Next() {
		var r, sig string
		if err := rows.Scan(&r, &sig); err != nil {
			rows.Close()
			return fmt.Errorf("bulk: match rules: %w", err)
		}
		have[r] = sig
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bulk: match rules: %w", err)
	}
	for r := range have {
		if _, ok := want[r]; !ok {
			if err := dropRule(ctx, tx, doc.Name, entity, r); err != nil {
				return err
			}
		}
	}
	for _, m := range rules {
		if have[m.Name] == want[m.Name] {
			continue
		}
		// Claim the rebuild: of two transactions the second waits for
		// the first's row and then finds the signature current.
		var got string
		err := tx.QueryRowContext(ctx, `INSERT INTO `+matchRulesTable+` ("app", "entity", "rule", "sig") VALUES (?, ?, ?, ?)
			ON CONFLICT ("app", "entity", "rule") DO UPDATE SET "sig" = excluded."sig" WHERE `+matchRulesTable+`."sig" <> excluded."sig" RETURNING "rule"`,
			doc.Name, entity, m.Name, want[m.Name]).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("bulk: claim match rule %s: %w", m.Name, err)
		}
		if err := s.backfill(ctx, tx, doc, entity, m); err != nil {
			return err
		}
	}
	tx.OnEnd(func(committed bool) {
		if committed {
			s.match.built.Store(ck, struct{}{})
		}
	})
	return nil
}

func dropRule(ctx context.Context, tx store.Conn, app, entity, rule string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "rule" = ?`, app, entity, rule); err != nil {
		return fmt.Errorf("bulk: drop match rule %s: %w", rule, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+matchRulesTable+` WHERE "app" = ? AND "entity" = ? AND "rule" = ?`, app, entity, rule); err != nil {
		return fmt.Errorf("bulk: drop match rule %s: %w", rule, err)
	}
	return nil
}

// backfill rebuilds rule m's keys from every record of entity.
func (s *Service) backfill(ctx context.Context, tx store.Conn, doc *schema.App, entity string, m *schema.Matching) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "rule" = ?`, doc.Name, entity, m.Name); err != nil {
		return fmt.Errorf("bulk: backfill %s: %w", m.Name, err)
	}
	return s.records.ScanTx(ctx, tx, doc, entity, ruleFields(m), func(rec *records.Record) error {
		return insertKeys(ctx, tx, doc.Name, entity, m.Name, rec.ID(), keyRows(m, rec.Get))
	})
}

// ruleFields are the fields of m's keys, each once.
func ruleFields(m *schema.Matching) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range m.Keys {
		for _, f := range k.Fields {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out
}

func insertKeys(ctx context.Context, tx store.Conn, app, entity, rule, id string, rows []keyVal) error {
	for _, r := range rows {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+matchKeysTable+` ("app", "entity", "rule", "kidx", "value", "record_id") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			app, entity, rule, r.kidx, r.value, id); err != nil {
			return fmt.Errorf("bulk: write match key: %w", err)
		}
	}
	return nil
}

// onRecordEvent keeps the match keys of a written record and, on create,
// finds its probable duplicates: a refuse rule's refuses the write, a warn
// rule's are added to the answer ("_duplicates"), naming only records the
// writer may read.
func (s *Service) onRecordEvent(ctx context.Context, tx store.Conn, ev *records.Event) error {
	doc := ev.Document()
	if doc == nil || len(doc.Matching) == 0 {
		return nil
	}
	rules := doc.MatchingOf(ev.Entity)
	if len(rules) == 0 {
		return nil
	}
	if err := s.ensureRules(ctx, tx, doc, ev.Entity); err != nil {
		return err
	}
	switch ev.Kind {
	case records.EventDeleted:
		_, err := tx.ExecContext(ctx, `DELETE FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "record_id" = ?`, ev.App, ev.Entity, ev.ID)
		if err != nil {
			return fmt.Errorf("bulk: drop match keys: %w", err)
		}
		return nil
	case records.EventUpdated:
		if ev.Record == nil {
			return nil
		}
		changes, _ := ev.ChangeMap()
		for _, m := range rules {
			touched := changes == nil
			for _, f := range ruleFields(m) {
				_, ok := changes[f]
				touched = touched || ok
			}
			if !touched {
				continue
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "record_id" = ? AND "rule" = ?`, ev.App, ev.Entity, ev.ID, m.Name); err != nil {
				return fmt.Errorf("bulk: drop match keys: %w", err)
			}
			if err := insertKeys(ctx, tx, ev.App, ev.Entity, m.Name, ev.ID, keyRows(m, ev.Record.Get)); err != nil {
				return err
			}
		}
		return nil
	case records.EventCreated:
	default:
		return nil
	}
	if ev.Record == nil {
		return nil
	}
	var refused, warned []Match
	for _, m := range rules {
		if m.OnCreate == schema.MatchRefuse {
			if err := s.lockKeys(ctx, tx, ev.App, ev.Entity, m, ev.Record.Get); err != nil {
				return err
			}
		}
		found, err := s.lookup(ctx, tx, ev.App, ev.Entity, m, ev.Record.Get, ev.ID, "")
		if err != nil {
			return err
		}
		if err := insertKeys(ctx, tx, ev.App, ev.Entity, m.Name, ev.ID, keyRows(m, ev.Record.Get)); err != nil {
			return err
		}
		if m.OnCreate == schema.MatchRefuse {
			refused = append(refused, found...)
		} else {
			warned = append(warned, found...)
		}
	}
	if len(refused) > 0 {
		return s.refusal(ctx, tx, doc, ev, refused)
	}
	if len(warned) == 0 {
		return nil
	}
	shown, err := s.readable(ctx, tx, ev.Caller, doc, ev.Entity, warned)
	if err != nil {
		return err
	}
	if len(shown) == 0 {
		return nil
	}
	type dup struct {
		Rule string `json:"rule"`
		ID   string `json:"id"`
	}
	out := make([]dup, len(shown))
	for i, m := range shown {
		out[i] = dup{m.Rule, m.ID}
	}
	b, _ := json.Marshal(out)
	ev.Annotate("_duplicates", b)
	return nil
}

// refusal is the 409 of a create a refuse rule found duplicates of: each
// at the pointer of its key's first field, naming the record only when the
// writer may read it (and its rule's fields).
func (s *Service) refusal(ctx context.Context, tx store.Conn, doc *schema.App, ev *records.Event, found []Match) error {
	shown, err := s.readable(ctx, tx, ev.Caller, doc, ev.Entity, found)
	if err != nil {
		return err
	}
	named := map[string]bool{}
	for _, m := range shown {
		named[m.Rule+"\x00"+m.ID] = true
	}
	var details []schema.Problem
	seen := map[string]bool{}
	for _, m := range found {
		params := map[string]any{"rule": m.Rule}
		msg := fmt.Sprintf("a record like this one already exists (duplicate rule %s)", m.Rule)
		key := m.Rule + "\x00"
		if named[m.Rule+"\x00"+m.ID] {
			params["id"] = m.ID
			msg = fmt.Sprintf("record %s already has this value (duplicate rule %s)", m.ID, m.Rule)
			key += m.ID
		}
		if seen[key] {
			continue // one unnamed duplicate per rule: how many there are is not told either
		}
		seen[key] = true
		details = append(details, schema.Problem{Path: "/" + m.field, Code: CodeDuplicate, Params: params, Message: msg})
	}
	return records.Refusal(CodeDuplicate, "a probable duplicate of this record already exists; nothing was written", details)
}

// readable is found without the matches whose record c may not read (or
// whose rule reads a field hidden from c).
func (s *Service) readable(ctx context.Context, tx store.Conn, c records.Caller, doc *schema.App, entity string, found []Match) ([]Match, error) {
	byRule := map[string][]string{}
	var order []string
	for _, m := range found {
		if _, ok := byRule[m.Rule]; !ok {
			order = append(order, m.Rule)
		}
		byRule[m.Rule] = append(byRule[m.Rule], m.ID)
	}
	ok := map[string]bool{}
	for _, r := range order {
		var fields []string
		for _, m := range doc.MatchingOf(entity) {
			if m.Name == r {
				fields = ruleFields(m)
			}
		}
		ids, err := s.records.ReadableTx(ctx, tx, c, doc, entity, fields, byRule[r])
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			ok[r+"\x00"+id] = true
		}
	}
	var out []Match
	for _, m := range found {
		if ok[m.Rule+"\x00"+m.ID] {
			out = append(out, m)
		}
	}
	return out, nil
}

// lockKeys takes refuse rule m's advisory locks for a record's keys on
// PostgreSQL, in one order (no deadlock between two creates).
func (s *Service) lockKeys(ctx context.Context, tx store.Conn, app, entity string, m *schema.Matching, get func(string) any) error {
	if s.db.Dialect.Name() == "sqlite" {
		return nil // one write at a time
	}
	var names []string
	for i := range m.Keys {
		k := &m.Keys[i]
		if k.Similarity > 0 {
			names = append(names, fmt.Sprintf("%s\x00%s\x00%s\x00%d", app, entity, m.Name, i))
		} else if v := exactValue(k, get); v != "" {
			names = append(names, fmt.Sprintf("%s\x00%s\x00%s\x00%d\x00%s", app, entity, m.Name, i, v))
		}
	}
	for i, n := range names {
		sum := sha256.Sum256([]byte(n)) // text without NULs for hashtext
		names[i] = hex.EncodeToString(sum[:])
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, hashtext(?))", matchLockClass, n); err != nil {
			return fmt.Errorf("bulk: lock duplicate key: %w", err)
		}
	}
	return nil
}

// lookup returns the records rule m finds for a record (get reads its
// fields), but not the record except, nor (after) ids at or below after
// ("" for none), best first.
func (s *Service) lookup(ctx context.Context, tx store.Conn, app, entity string, m *schema.Matching, get func(string) any, except, after string) ([]Match, error) {
	best := map[string]Match{}
	for i := range m.Keys {
		k := &m.Keys[i]
		if k.Similarity > 0 {
			if err := s.lookupSimilar(ctx, tx, app, entity, m, i, simValue(k, get), except, after, best); err != nil {
				return nil, err
			}
			continue
		}
		v := exactValue(k, get)
		if v == "" {
			continue
		}
		ids, err := column(ctx, tx, `SELECT "record_id" FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "rule" = ? AND "kidx" = ? AND "value" = ? AND "record_id" <> ? AND "record_id" > ? ORDER BY "record_id" LIMIT `+strconv.Itoa(maxMatches),
			app, entity, m.Name, i, v, except, after)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			best[id] = Match{Rule: m.Name, ID: id, Score: 1, field: k.Fields[0]}
		}
	}
	out := make([]Match, 0, len(best))
	for _, mt := range best {
		out = append(out, mt)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// lookupSimilar adds to best the records whose key i value is at least the
// key's similarity to v.
func (s *Service) lookupSimilar(ctx context.Context, tx store.Conn, app, entity string, m *schema.Matching, i int, v, except, after string, best map[string]Match) error {
	k := &m.Keys[i]
	if v == "" {
		return nil
	}
	toks := blocks(v)
	args := []any{app, entity, m.Name, i, except, after}
	for _, t := range toks {
		args = append(args, "b:"+t)
	}
	rows, err := tx.QueryContext(ctx, `SELECT "record_id", COUNT(*) FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "rule" = ? AND "kidx" = ? AND "record_id" <> ? AND "record_id" > ? AND "value" IN (?`+strings.Repeat(", ?", len(toks)-1)+`) GROUP BY "record_id" ORDER BY COUNT(*) DESC, "record_id" LIMIT `+strconv.Itoa(maxCandidates), args...)
	if err != nil {
		return fmt.Errorf("bulk: find similar: %w", err)
	}
	var cands []string
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return fmt.Errorf("bulk: find similar: %w", err)
		}
		cands = append(cands, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bulk: find similar: %w", err)
	}
	if len(cands) == 0 {
		return nil
	}
	args = []any{app, entity, m.Name, i}
	for _, id := range cands {
		args = append(args, id)
	}
	rows, err = tx.QueryContext(ctx, `SELECT "record_id", "value" FROM `+matchKeysTable+` WHERE "app" = ? AND "entity" = ? AND "rule" = ? AND "kidx" = ? AND "value" LIKE 'v:%' AND "record_id" IN (?`+strings.Repeat(", ?", len(cands)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("bulk: find similar: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, val string
		if err := rows.Scan(&id, &val); err != nil {
			return fmt.Errorf("bulk: find similar: %w", err)
		}
		score := Similarity(v, strings.TrimPrefix(val, "v:"))
		if score+1e-9 >= k.Similarity && score > best[id].Score {
			best[id] = Match{Rule: m.Name, ID: id, Score: score, field: k.Fields[0]}
		}
	}
	return rows.Err()
}

// FindDuplicates returns, for each of values (records not written yet, in
// the API's JSON form, as records.Create takes them), the records of
// entity that app's matching rules find, best first — inside tx, the
// import's transaction. It names every match, whoever may read it: an
// import that reports them to a person filters them with
// FindDuplicatesFor instead.
func (s *Service) FindDuplicates(ctx context.Context, tx store.Conn, app *schema.App, entity string, values []map[string]any) ([][]Match, error) {
	out := make([][]Match, len(values))
	rules := app.MatchingOf(entity)
	if len(rules) == 0 {
		return out, nil
	}
	if err := s.ensureRules(ctx, tx, app, entity); err != nil {
		return nil, err
	}
	for i, v := range values {
		if v == nil {
			continue
		}
		get := func(f string) any { return v[f] }
		for _, m := range rules {
			found, err := s.lookup(ctx, tx, app.Name, entity, m, get, "", "")
			if err != nil {
				return nil, err
			}
			out[i] = append(out[i], found...)
		}
	}
	return out, nil
}

// FindDuplicatesFor is FindDuplicates naming only the records c may read.
func (s *Service) FindDuplicatesFor(ctx context.Context, tx store.Conn, c records.Caller, app *schema.App, entity string, values []map[string]any) ([][]Match, error) {
	out, err := s.FindDuplicates(ctx, tx, app, entity, values)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if len(out[i]) > 0 {
			if out[i], err = s.readable(ctx, tx, c, app, entity, out[i]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}
