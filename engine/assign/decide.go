package assign

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// decisionRow is one logged decision: the Decision as JSON, found by its
// record, newest first.
type decisionRow struct {
	ID       string `gorm:"primaryKey;size:26"`
	App      string `gorm:"size:63;not null;index:idx_forma_assignments_record,priority:1"`
	Entity   string `gorm:"size:63;not null;index:idx_forma_assignments_record,priority:2"`
	RecordID string `gorm:"column:record_id;size:64;not null;index:idx_forma_assignments_record,priority:3"`
	At       int64  `gorm:"not null;index:idx_forma_assignments_record,priority:4"` // Unix microseconds
	Body     string `gorm:"type:text;not null"`
}

func (decisionRow) TableName() string { return "_forma_assignments" }

// how is what a decision does beyond Options (manual reassignment and the
// assign action's reassign flag).
type how struct {
	to            string // manual: the user id who gets the record
	version       int64  // the version the caller read (0: as it is)
	trusted       bool   // the caller's right to write was decided here (reassign)
	excludeOwner  bool   // someone other than the current owner
	requireWinner bool   // nobody eligible is an error (422), nothing logged
}

// assign runs rule on the record in a transaction of its own.
func (s *Service) assign(ctx context.Context, app *schema.App, rule, id string, o Options) (*Decision, error) {
	d, _, err := s.run(ctx, app, app.Assignment(rule), rule, id, o, how{})
	return d, err
}

// assignTx runs rule on the record inside the caller's transaction.
func (s *Service) assignTx(ctx context.Context, tx store.Conn, app *schema.App, rule, id string, o Options) (*Decision, error) {
	d, _, err := s.decide(ctx, tx, app, app.Assignment(rule), rule, id, o, how{})
	return d, err
}

// preview decides by r and writes nothing.
func (s *Service) preview(ctx context.Context, app *schema.App, r *schema.Assignment, id string) (*Decision, error) {
	d, _, err := s.run(ctx, app, r, "", id, Options{DryRun: true, Caller: records.Caller{Admin: true, Path: records.PathSystem}}, how{})
	return d, err
}

// run decides (and, unless dry, writes and logs) in a transaction of its
// own, run again on a migration or a serialization failure. A dry run's
// transaction is rolled back.
func (s *Service) run(ctx context.Context, app *schema.App, r *schema.Assignment, rule, id string, o Options, h how) (*Decision, *records.Record, error) {
	type result struct {
		d   *Decision
		rec *records.Record
	}
	res, err := records.Retry(func() (result, error) {
		tx, err := s.db.Begin(ctx)
		if err != nil {
			return result{}, err
		}
		defer tx.Rollback()
		d, rec, err := s.decide(ctx, tx, app, r, rule, id, o, h)
		if err != nil || o.DryRun {
			return result{d, rec}, err
		}
		if err := tx.Commit(); err != nil {
			return result{}, err
		}
		return result{d, rec}, nil
	})
	return res.d, res.rec, err
}

// decide is one assignment: the arm (variant) the record runs by, the
// pool or the candidates tier by tier, the winner written through the
// records service (history, events, row rules) and the decision logged,
// all in tx. It returns the record as written (nil when nothing was).
func (s *Service) decide(ctx context.Context, tx store.Conn, app *schema.App, r *schema.Assignment, rule, id string, o Options, h how) (*Decision, *records.Record, error) {
	if r == nil {
		return nil, nil, &records.Error{Status: 404, Code: records.CodeNotFound, Message: fmt.Sprintf("app %s has no assignment rule %q", app.Name, clip(rule, 80))}
	}
	rec, err := s.records.Get(ctx, records.Caller{Admin: true}, app.Name, r.Entity, id, "", "")
	if err != nil {
		return nil, nil, err
	}
	vals, err := apiValues(rec)
	if err != nil {
		return nil, nil, err
	}
	field := r.UserField()
	previous, _ := vals[field].(string)
	a, err := s.armOf(ctx, tx, app.Name, r, id, o.DryRun)
	if err != nil {
		return nil, nil, err
	}
	now := s.db.Now()
	path := o.Caller.Path
	if path == "" {
		path = records.PathAPI
	}
	d := &Decision{ID: newDecisionID(), App: app.Name, Entity: r.Entity, RecordID: id, Rule: r.Name, Variant: a.variant,
		Strategy: a.strategy, Previous: previous, Note: o.Reason, Path: path, Actor: o.Caller.UserID, At: now}
	exclude := o.Exclude
	if h.excludeOwner && previous != "" {
		exclude = append(append([]string{}, exclude...), previous)
	}
	dir, err := s.directory(ctx, readsTeams(r))
	if err != nil {
		return nil, nil, err
	}
	switch {
	case h.to != "":
		p := dir.byID[h.to]
		d.Strategy, d.Variant, d.Winner, d.WinnerName = "manual", "", p.ID, p.Name
		d.Reason = fmt.Sprintf("reassigned by hand to %s", p.Name)
	case r.Pool != nil && !o.SkipPool:
		d.Strategy, d.Pool = "pool", r.Pool.Name
		d.Reason = fmt.Sprintf("the record went to pool %s for eligible users to claim", r.Pool.Name)
		if !o.DryRun {
			if err := s.enterPool(ctx, tx, app, r, id, d); err != nil {
				return nil, nil, err
			}
		}
	default:
		if err := s.choose(ctx, tx, app, r, a, vals, dir, d, exclude, now); err != nil {
			return nil, nil, err
		}
	}
	if h.requireWinner && d.Winner == "" {
		return nil, nil, &records.Error{Status: 422, Code: records.CodeInvalid, Message: d.Reason,
			Details: []schema.Problem{{Path: "/rule", Code: "assignment", Message: d.Reason}}}
	}
	if o.DryRun {
		return d, nil, nil
	}
	var out *records.Record
	if d.Winner != "" && d.Winner != previous {
		comment := d.Reason
		if o.Reason != "" {
			comment = o.Reason + " — " + d.Reason
		}
		out, err = s.records.MoveTx(ctx, tx, o.Caller, app.Name, r.Entity, id, records.Move{Values: map[string]any{field: d.Winner},
			Comment: comment, Version: h.version, Trusted: h.trusted, Path: path})
		if err != nil {
			return nil, nil, err
		}
	}
	return d, out, s.logDecision(ctx, tx, d)
}

// choose tries the rule's candidates, then each fallback in turn, and
// sets the winner of the first tier with anyone eligible (or says why
// nobody was).
func (s *Service) choose(ctx context.Context, tx store.Conn, app *schema.App, r *schema.Assignment, a arm, vals map[string]any, dir *directory, d *Decision, exclude []string, now time.Time) error {
	tiers := append([]schema.Candidates{r.Candidates}, r.Fallbacks...)
	var first []Candidate
	for i := range tiers {
		ps, err := s.candidates(ctx, app, dir, &tiers[i])
		if err != nil {
			return err
		}
		loads, err := s.loads(ctx, tx, app, r, ps)
		if err != nil {
			return err
		}
		cs := weigh(r, ps, loads, now, exclude)
		if a.strategy == schema.StrategyScore && len(cs) > 0 {
			if err := s.statistics(ctx, app, r, vals, cs, dir); err != nil {
				return err
			}
			if err := s.scores.score(ctx, a.score, cs); err != nil {
				return fmt.Errorf("assign: score of rule %s: %w", r.Name, err)
			}
		}
		if i == 0 {
			first = cs
		}
		top := best(a.strategy, cs)
		if len(top) == 0 {
			continue
		}
		last, err := s.lastUser(ctx, tx, app.Name, r.Name, a.variant)
		if err != nil {
			return err
		}
		w := nextAfter(top, last)
		if err := s.setLastUser(ctx, tx, app.Name, r.Name, a.variant, w); err != nil {
			return err
		}
		d.Candidates, d.Fallback, d.Winner, d.WinnerName = cs, i, w, dir.byID[w].Name
		d.Reason = reason(a.strategy, cs, w, len(top), i)
		return nil
	}
	d.Candidates = first
	d.Reason = nobody(first)
	return nil
}

// reason says in a sentence why w won.
func reason(strategy string, cs []Candidate, w string, tied, fallback int) string {
	var c Candidate
	eligible := 0
	for _, x := range cs {
		if x.User == w {
			c = x
		}
		if x.Eligible {
			eligible++
		}
	}
	var s string
	switch strategy {
	case schema.StrategyLeastLoad:
		s = fmt.Sprintf("least open load: %s has %d open records, the fewest of %d eligible candidates", c.Name, c.Load, eligible)
	case schema.StrategyScore:
		score := "no score"
		if c.Score != nil {
			score = strconv.FormatFloat(*c.Score, 'g', 4, 64)
		}
		s = fmt.Sprintf("highest score: %s scored %s, the best of %d eligible candidates", c.Name, score, eligible)
	default:
		s = fmt.Sprintf("round-robin: %s's turn among %d eligible candidates", c.Name, eligible)
	}
	if tied > 1 && strategy != schema.StrategyRoundRobin {
		s += fmt.Sprintf("; a tie of %d broken round-robin", tied)
	}
	if fallback > 0 {
		s = fmt.Sprintf("no candidate of the rule was eligible, so fallback %d: ", fallback) + s
	}
	return s
}

// nobody says why no candidate of the rule was eligible.
func nobody(cs []Candidate) string {
	if len(cs) == 0 {
		return "nobody was eligible: no active user matches the rule's candidates; the record stays as it is"
	}
	counts := map[string]int{}
	for _, c := range cs {
		why := c.Why
		if strings.HasPrefix(why, "at capacity") {
			why = "at capacity"
		}
		counts[why]++
	}
	var parts []string
	for why, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, why))
	}
	sort.Strings(parts)
	return "nobody was eligible (" + strings.Join(parts, ", ") + "); the record stays as it is"
}

// newDecisionID is a decision's id: a ULID, sortable by time.
func newDecisionID() string { return strings.ToLower(ulid.Make().String()) }

// logDecision keeps d in the decision log, in tx.
func (s *Service) logDecision(ctx context.Context, tx store.Conn, d *Decision) error {
	body, err := json.Marshal(d)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO _forma_assignments ("id", "app", "entity", "record_id", "at", "body") VALUES (?, ?, ?, ?, ?, ?)`,
		d.ID, d.App, d.Entity, d.RecordID, d.At.UnixMicro(), string(body))
	if err != nil {
		return fmt.Errorf("assign: log decision: %w", err)
	}
	return nil
}

// apiValues is the record's values in the API's form (numbers as
// json.Number).
func apiValues(rec *records.Record) (map[string]any, error) {
	raw, _ := rec.MarshalJSON()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("assign: read record: %w", err)
	}
	return m, nil
}

// clip shortens s to at most n bytes for a message, never inside a
// character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
