package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// MaxOffset bounds a timer's offset either way (schema.MaxOffset).
const MaxOffset = schema.MaxOffset

// ParseOffset reads a timer offset (schema.ParseOffset: the app check and
// the engine read offsets alike).
func ParseOffset(s string) (time.Duration, error) { return schema.ParseOffset(s) }

// Timer states.
const (
	timerPending   = "pending"
	timerFired     = "fired"
	timerCancelled = "cancelled"
)

// TickEvery is how often the clock job runs Tick in production.
const TickEvery = 30 * time.Second

// timersDDL keeps one timer per (app, automation, record): the next firing
// of a timer automation for that record. Times are Unix microseconds (UTC):
// one integer compares the same way on both dialects.
var timersDDL = []string{
	`CREATE TABLE IF NOT EXISTS _forma_automation_timers (
		app VARCHAR(63) NOT NULL,
		automation VARCHAR(63) NOT NULL,
		record_id VARCHAR(64) NOT NULL,
		entity VARCHAR(63) NOT NULL,
		field VARCHAR(63) NOT NULL,
		base VARCHAR(64) NOT NULL,
		fire_at BIGINT NOT NULL,
		state VARCHAR(16) NOT NULL,
		reason VARCHAR(200) NOT NULL DEFAULT '',
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (app, automation, record_id))`,
	`CREATE INDEX IF NOT EXISTS idx_forma_automation_timers_due ON _forma_automation_timers (state, fire_at)`,
	`CREATE TABLE IF NOT EXISTS _forma_automation_timer_arms (
		app VARCHAR(63) NOT NULL,
		automation VARCHAR(63) NOT NULL,
		field VARCHAR(63) NOT NULL,
		offset_spec VARCHAR(40) NOT NULL,
		armed INTEGER NOT NULL,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (app, automation))`,
	`CREATE TABLE IF NOT EXISTS _forma_automation_schedules (
		app VARCHAR(63) NOT NULL,
		automation VARCHAR(63) NOT NULL,
		cron VARCHAR(200) NOT NULL,
		time_zone VARCHAR(64) NOT NULL,
		next_at BIGINT NOT NULL,
		last_slot BIGINT,
		last_records INTEGER,
		updated_at BIGINT NOT NULL,
		PRIMARY KEY (app, automation))`,
}

// tickArgs is the clock job: it runs Tick.
type tickArgs struct{}

func (tickArgs) Kind() string { return "automation_tick" }

// InsertOpts: one tick at a time (a slow tick is not piled upon) and no
// retry (the next tick comes anyway).
func (tickArgs) InsertOpts() river.InsertOpts {
	return jobs.TickOpts()
}

// registerTimers creates the timer and schedule tables, watches record
// events for timer triggers and, with a job queue, ticks every TickEvery.
func (s *Service) registerTimers(ctx context.Context) error {
	if err := s.migrateTimers(ctx); err != nil {
		return err
	}
	if s.records != nil {
		s.records.Subscribe(s.timerEvent)
	}
	if s.jobs == nil {
		return nil
	}
	if err := jobs.RegisterTick[tickArgs](s.jobs, "automation_tick", TickEvery, s.Tick); err != nil {
		return fmt.Errorf("automation: %w", err)
	}
	return nil
}

func (s *Service) migrateTimers(ctx context.Context) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("automation: create timer tables: %w", err)
	}
	defer tx.Rollback()
	if s.db.Dialect.Name() == "postgres" {
		// Servers starting together would race each other's CREATE TABLE
		// IF NOT EXISTS (a duplicate type error on PostgreSQL).
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('forma automation timers ' || current_schema()))`); err != nil {
			return fmt.Errorf("automation: create timer tables: %w", err)
		}
	}
	for _, ddl := range timersDDL {
		if _, err := tx.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("automation: create timer tables: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("automation: create timer tables: %w", err)
	}
	return nil
}

// Tick does what the clock says is due: it fires the timers whose time has
// come and starts the schedules whose slot has come. The clock job calls it
// every TickEvery; tests call it after moving the clock. Any number of
// servers may tick at once: each timer and each slot is claimed by one.
func (s *Service) Tick(ctx context.Context) error {
	return errors.Join(s.armTimers(ctx), s.tickTimers(ctx), s.tickSchedules(ctx))
}

// timerKey names one timer row.
type timerKey struct{ app, automation, recordID string }

// timerEvent keeps the timers of the event's record in step with it, inside
// the write's transaction (so a rolled-back write changes no timer): for
// each enabled timer automation of the entity, a set field schedules a
// firing at value + offset (a changed value reschedules it), a cleared
// field or a deleted record cancels it, and so does the automation's
// unless holding for the record.
func (s *Service) timerEvent(ctx context.Context, tx store.Conn, ev *records.Event) error {
	doc := ev.Document()
	if doc == nil {
		return nil
	}
	autos := automationsOf(doc)
	for i := range autos {
		a := &autos[i]
		if a.Entity != ev.Entity || a.Trigger.Type != schema.TriggerTimer || !a.IsEnabled() {
			continue
		}
		if err := s.timerFor(ctx, tx, doc, a, ev); err != nil {
			return fmt.Errorf("automation %s: timer: %w", a.Name, err)
		}
	}
	return nil
}

type timerRow struct {
	timerKey
	entity, field, base, state string
	fireAt                     int64
}

func (s *Service) timerFor(ctx context.Context, tx store.Conn, doc *schema.App, a *schema.Automation, ev *records.Event) error {
	k := timerKey{doc.Name, a.Name, ev.ID}
	now := s.db.Clock.Now()
	if ev.Kind == records.EventDeleted {
		return setTimerState(ctx, tx, k, nil, timerCancelled, "record deleted", now)
	}
	e := doc.Entity(a.Entity)
	if e == nil {
		return nil
	}
	typ, ok := timerField(e, a.Trigger.Field)
	if !ok {
		return nil // refused when the app is applied
	}
	off, err := ParseOffset(a.Trigger.Offset)
	if err != nil {
		return nil // refused when the app is applied
	}
	base, known, err := timerBase(ev, a.Trigger.Field, typ)
	if err != nil {
		return err
	}
	cur, err := readTimer(ctx, tx, k)
	if err != nil {
		return err
	}
	if !known {
		// The write left the field alone: only unless may have changed.
		if cur == nil || cur.state != timerPending || a.Trigger.Unless == "" {
			return nil
		}
		if held, err := s.unlessHolds(ctx, tx, doc, a, ev.ID); err != nil || !held {
			return err
		}
		return setTimerState(ctx, tx, k, &cur.fireAt, timerCancelled, "unless held", now)
	}
	if base == "" {
		return setTimerState(ctx, tx, k, nil, timerCancelled, "field cleared", now)
	}
	bt, err := parseBase(base)
	if err != nil {
		return err
	}
	fireAt := bt.Add(off).UnixMicro()
	if cur != nil && cur.base == base && cur.field == a.Trigger.Field && cur.fireAt == fireAt {
		// Same firing as before: a fired or cancelled timer stays so.
		if cur.state != timerPending || a.Trigger.Unless == "" {
			return nil
		}
		if held, err := s.unlessHolds(ctx, tx, doc, a, ev.ID); err != nil || !held {
			return err
		}
		return setTimerState(ctx, tx, k, &cur.fireAt, timerCancelled, "unless held", now)
	}
	// A new firing (the first, or the field moved): the old one never
	// happens.
	state, reason := timerPending, ""
	if a.Trigger.Unless != "" {
		held, err := s.unlessHolds(ctx, tx, doc, a, ev.ID)
		if err != nil {
			return err
		}
		if held {
			state, reason = timerCancelled, "unless held"
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO _forma_automation_timers
		(app, automation, record_id, entity, field, base, fire_at, state, reason, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (app, automation, record_id) DO UPDATE SET entity = excluded.entity, field = excluded.field,
		base = excluded.base, fire_at = excluded.fire_at, state = excluded.state, reason = excluded.reason,
		updated_at = excluded.updated_at`,
		k.app, k.automation, k.recordID, a.Entity, a.Trigger.Field, base, fireAt, state, reason, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("schedule timer: %w", err)
	}
	return nil
}

// timerBase is the value of field after the event's write, as the timer
// stores it (datetime: RFC 3339 in UTC; date: YYYY-MM-DD; "" when empty);
// known is false when the event does not say (an update that left it
// alone).
func timerBase(ev *records.Event, field string, typ schema.FieldType) (base string, known bool, err error) {
	var v any
	switch {
	case ev.Record != nil:
		v = ev.Record.Get(field)
	default:
		m, err := ev.ChangeMap()
		if err != nil {
			return "", false, err
		}
		c, ok := m[field]
		if !ok {
			return "", false, nil
		}
		if len(c.New) > 0 && string(c.New) != "null" {
			var s string
			if err := json.Unmarshal(c.New, &s); err != nil {
				return "", false, fmt.Errorf("value of %s: %w", field, err)
			}
			v = s
		}
	}
	switch x := v.(type) {
	case nil:
		return "", true, nil
	case time.Time:
		if typ == schema.Date {
			return x.Format(time.DateOnly), true, nil
		}
		return x.UTC().Format(time.RFC3339Nano), true, nil
	case string:
		if x == "" {
			return "", true, nil
		}
		if typ == schema.Date {
			if len(x) > 10 {
				x = x[:10]
			}
			if _, err := time.Parse(time.DateOnly, x); err != nil {
				return "", false, fmt.Errorf("value of %s: %w", field, err)
			}
			return x, true, nil
		}
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return "", false, fmt.Errorf("value of %s: %w", field, err)
		}
		return t.UTC().Format(time.RFC3339Nano), true, nil
	}
	return "", false, fmt.Errorf("value of %s: unexpected %T", field, v)
}

// parseBase reads a stored base: a date counts from its midnight UTC.
func parseBase(base string) (time.Time, error) {
	if len(base) == len(time.DateOnly) {
		return time.Parse(time.DateOnly, base)
	}
	return time.Parse(time.RFC3339Nano, base)
}

func readTimer(ctx context.Context, q store.Conn, k timerKey) (*timerRow, error) {
	r := timerRow{timerKey: k}
	err := q.QueryRowContext(ctx, `SELECT entity, field, base, state, fire_at FROM _forma_automation_timers
		WHERE app = ? AND automation = ? AND record_id = ?`, k.app, k.automation, k.recordID).
		Scan(&r.entity, &r.field, &r.base, &r.state, &r.fireAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read timer: %w", err)
	}
	return &r, nil
}

// setTimerState moves a pending timer (firing at fireAt, when given) to
// state; it reports whether it did (false: no such pending timer — another
// server took it, or it was rescheduled).
func setTimerState(ctx context.Context, q store.Conn, k timerKey, fireAt *int64, state, reason string, now time.Time) error {
	_, err := claimTimer(ctx, q, k, fireAt, state, reason, now)
	return err
}

func claimTimer(ctx context.Context, q store.Conn, k timerKey, fireAt *int64, state, reason string, now time.Time) (bool, error) {
	query := `UPDATE _forma_automation_timers SET state = ?, reason = ?, updated_at = ?
		WHERE app = ? AND automation = ? AND record_id = ? AND state = 'pending'`
	args := []any{state, reason, now.UnixMicro(), k.app, k.automation, k.recordID}
	if fireAt != nil {
		query += ` AND fire_at = ?`
		args = append(args, *fireAt)
	}
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("timer to %s: %w", state, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("timer to %s: %w", state, err)
	}
	return n == 1, nil
}

// unlessHolds says whether a's unless filter holds for record id as q
// sees it now. It compiles the filter from the document in hand (no query
// but q's), as the whole record's reader: unless is the automation's own
// rule, not a reader's view. A filter that does not compile (refused when
// the app is applied) is logged and counts as not holding, so a bad rule
// cannot block the entity's writes.
func (s *Service) unlessHolds(ctx context.Context, q store.Conn, doc *schema.App, a *schema.Automation, id string) (bool, error) {
	where, args, err := s.compileRecordFilter(doc, a.Entity, a.Trigger.Unless)
	if err != nil {
		s.log.Warn("automation: timer's unless does not compile", "app", doc.Name, "automation", a.Name, "error", err)
		return false, nil
	}
	var one int
	err = q.QueryRowContext(ctx, `SELECT 1 FROM `+store.Quote(schema.TableName(doc.Name, a.Entity))+
		` WHERE "id" = ? AND (`+where+`)`, append([]any{id}, args...)...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check unless: %w", err)
	}
	return true, nil
}

// compileRecordFilter compiles src over entity of doc as the platform
// admin would read it (every field): an automation's own filters are its
// rules, not a person's view. It reads no database.
func (s *Service) compileRecordFilter(doc *schema.App, entity, src string) (string, []any, error) {
	n, err := filter.Parse(src)
	if err != nil {
		return "", nil, err
	}
	return s.records.CompileFilter(records.Caller{Admin: true}, doc, entity, n)
}

// maxArm bounds the records one arming reads for one automation.
const maxArm = 200000

// armTimers gives the records that already exist their timer when a timer
// automation appears (a new rule, or one enabled again) or its field or
// offset changes: the record events only arm the records written since.
// Only firings still ahead are armed — a rule added today does not fire
// at once for every quote opened last month (no backfill) — and a record
// whose own timer is newer (its write was seen) keeps it.
func (s *Service) armTimers(ctx context.Context) error {
	apps, err := s.db.Apps(ctx)
	if err != nil {
		return fmt.Errorf("automation: arm timers: %w", err)
	}
	var errs []error
	for _, info := range apps {
		doc, err := s.catalog.App(ctx, info.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.armAppTimers(ctx, doc); err != nil {
			s.log.Error("automation: arming timers failed", "app", doc.Name, "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) armAppTimers(ctx context.Context, doc *schema.App) error {
	rows, err := s.db.Pool().QueryContext(ctx, `SELECT automation, field, offset_spec FROM _forma_automation_timer_arms WHERE app = ?`, doc.Name)
	if err != nil {
		return fmt.Errorf("read armed timers: %w", err)
	}
	have := map[string][2]string{}
	for rows.Next() {
		var name, field, offset string
		if err := rows.Scan(&name, &field, &offset); err != nil {
			rows.Close()
			return fmt.Errorf("read armed timers: %w", err)
		}
		have[name] = [2]string{field, offset}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read armed timers: %w", err)
	}
	var errs []error
	autos := automationsOf(doc)
	for i := range autos {
		a := &autos[i]
		if a.Trigger.Type != schema.TriggerTimer || !a.IsEnabled() {
			continue
		}
		armed, ok := have[a.Name]
		delete(have, a.Name)
		if ok && armed == [2]string{a.Trigger.Field, a.Trigger.Offset} {
			continue
		}
		if err := s.armTimer(ctx, doc, a); err != nil {
			errs = append(errs, fmt.Errorf("automation %s: %w", a.Name, err))
		}
	}
	// Forgotten when disabled or removed: enabled again, it is armed again.
	for name := range have {
		if _, err := s.db.Pool().ExecContext(ctx, `DELETE FROM _forma_automation_timer_arms WHERE app = ? AND automation = ?`, doc.Name, name); err != nil {
			errs = append(errs, fmt.Errorf("forget armed timer %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// armTimer arms automation a for every record of its entity whose field
// is set, reading them through the records service as the platform admin
// (values decoded as everywhere else), a page at a time.
func (s *Service) armTimer(ctx context.Context, doc *schema.App, a *schema.Automation) error {
	e := doc.Entity(a.Entity)
	if e == nil {
		return nil
	}
	typ, ok := timerField(e, a.Trigger.Field)
	off, err := ParseOffset(a.Trigger.Offset)
	if !ok || err != nil {
		return nil // refused when the app is applied
	}
	q := records.Query{Filter: a.Trigger.Field + " != null", Sort: "id", Limit: records.MaxLimit, Fields: "id," + a.Trigger.Field}
	n := 0
	for n < maxArm {
		page, err := s.records.List(ctx, records.Caller{Admin: true, Path: records.PathSystem}, doc.Name, a.Entity, q)
		if err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		now := s.db.Clock.Now()
		tx, err := s.db.Begin(ctx)
		if err != nil {
			return err
		}
		for _, r := range page.Items {
			n++
			base, _, err := timerBase(&records.Event{Record: r}, a.Trigger.Field, typ)
			if err != nil || base == "" {
				continue
			}
			bt, err := parseBase(base)
			if err != nil {
				continue
			}
			fireAt := bt.Add(off)
			if !fireAt.After(now) {
				continue
			}
			// Replaces only a timer of another field, or one the
			// automation's own change cancelled (disabled, removed);
			// a pending one of the same base moves to the new offset.
			_, err = tx.ExecContext(ctx, `INSERT INTO _forma_automation_timers
				(app, automation, record_id, entity, field, base, fire_at, state, reason, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', '', ?)
				ON CONFLICT (app, automation, record_id) DO UPDATE SET entity = excluded.entity, field = excluded.field,
				base = excluded.base, fire_at = excluded.fire_at, state = excluded.state, reason = excluded.reason,
				updated_at = excluded.updated_at
				WHERE _forma_automation_timers.field <> excluded.field
				OR (_forma_automation_timers.state = 'cancelled' AND _forma_automation_timers.reason LIKE 'automation%')
				OR (_forma_automation_timers.state = 'pending' AND _forma_automation_timers.base = excluded.base)`,
				doc.Name, a.Name, r.ID(), a.Entity, a.Trigger.Field, base, fireAt.UnixMicro(), now.UnixMicro())
			if err != nil {
				tx.Rollback()
				return fmt.Errorf("arm timer: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("arm timers: %w", err)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	if n >= maxArm {
		s.log.Warn("automation: timer armed for the first records only", "app", doc.Name, "automation", a.Name, "limit", maxArm)
	}
	_, err = s.db.Pool().ExecContext(ctx, `INSERT INTO _forma_automation_timer_arms (app, automation, field, offset_spec, armed, updated_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (app, automation) DO UPDATE SET field = excluded.field,
		offset_spec = excluded.offset_spec, armed = excluded.armed, updated_at = excluded.updated_at`,
		doc.Name, a.Name, a.Trigger.Field, a.Trigger.Offset, n, s.db.Clock.Now().UnixMicro())
	if err != nil {
		return fmt.Errorf("mark armed: %w", err)
	}
	return nil
}

// keepDeadTimers is how long the timer of a deleted record is kept after
// it would have fired.
const keepDeadTimers = 30 * 24 * time.Hour

// maxTimersPerTick bounds one tick's work; the rest are due at the next.
const maxTimersPerTick = 5000

// tickTimers fires the pending timers that are due.
func (s *Service) tickTimers(ctx context.Context) error {
	now := s.db.Clock.Now()
	rows, err := s.db.Pool().QueryContext(ctx, `SELECT app, automation, record_id, entity, field, base, state, fire_at
		FROM _forma_automation_timers WHERE state = 'pending' AND fire_at <= ? ORDER BY fire_at, app, automation, record_id LIMIT ?`,
		now.UnixMicro(), maxTimersPerTick)
	if err != nil {
		return fmt.Errorf("automation: due timers: %w", err)
	}
	var due []timerRow
	for rows.Next() {
		var r timerRow
		if err := rows.Scan(&r.app, &r.automation, &r.recordID, &r.entity, &r.field, &r.base, &r.state, &r.fireAt); err != nil {
			rows.Close()
			return fmt.Errorf("automation: due timers: %w", err)
		}
		due = append(due, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("automation: due timers: %w", err)
	}
	tt := &timerTick{docs: map[string]*schema.App{}, probes: map[timerKey]timerProbe{}}
	var errs []error
	for i := range due {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.fireTimer(ctx, tt, &due[i], now); err != nil {
			// One failing timer stays pending for the next tick; the
			// others still fire.
			s.log.Error("automation: timer failed", "app", due[i].app, "automation", due[i].automation,
				"record", due[i].recordID, "error", err)
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.fireReady(ctx, tt, now)...)
	// A deleted record's (or app's) timer is kept a while, to say why it
	// never fired, then dropped; the (state, fire_at) index finds them.
	if _, err := s.db.Pool().ExecContext(ctx, `DELETE FROM _forma_automation_timers WHERE state = 'cancelled' AND fire_at < ?
		AND reason IN ('record deleted', 'app removed')`, now.Add(-keepDeadTimers).UnixMicro()); err != nil {
		errs = append(errs, fmt.Errorf("automation: drop old timers: %w", err))
	}
	return errors.Join(errs...)
}

// fireTimer readies one due timer for firing (fireReady): it re-checks the
// automation (still there, enabled, the same timer, the same offset) and
// cancels or moves a timer that no longer holds.
func (s *Service) fireTimer(ctx context.Context, tt *timerTick, t *timerRow, now time.Time) error {
	cancel := func(reason string) error {
		return setTimerState(ctx, s.db.Pool(), t.timerKey, &t.fireAt, timerCancelled, reason, now)
	}
	doc := tt.docs[t.app]
	if doc == nil {
		var err error
		doc, err = s.catalog.App(ctx, t.app)
		if errors.Is(err, store.ErrNotFound) {
			return cancel("app removed")
		}
		if err != nil {
			return err
		}
		tt.docs[t.app] = doc
	}
	a := automationNamed(doc, t.automation)
	switch {
	case a == nil:
		return cancel("automation removed")
	case !a.IsEnabled():
		return cancel("automation disabled")
	case a.Trigger.Type != schema.TriggerTimer || a.Entity != t.entity:
		return cancel("automation is no longer a timer on " + t.entity)
	case a.Trigger.Field != t.field:
		// The stored value is another field's; the record's next write
		// schedules the timer on the new field.
		return cancel("automation's field changed")
	}
	off, err := ParseOffset(a.Trigger.Offset)
	if err != nil {
		return cancel("offset does not parse")
	}
	bt, err := parseBase(t.base)
	if err != nil {
		return cancel("stored value does not parse")
	}
	if want := bt.Add(off).UnixMicro(); want != t.fireAt {
		// The offset changed since the timer was set: it fires at the
		// new time.
		if _, err := s.db.Pool().ExecContext(ctx, `UPDATE _forma_automation_timers SET fire_at = ?, updated_at = ?
			WHERE app = ? AND automation = ? AND record_id = ? AND state = 'pending' AND fire_at = ?`,
			want, now.UnixMicro(), t.app, t.automation, t.recordID, t.fireAt); err != nil {
			return fmt.Errorf("reschedule timer: %w", err)
		}
		if want > now.UnixMicro() {
			return nil
		}
		t.fireAt = want
	}
	tt.ready = append(tt.ready, readyTimer{timerRow: *t, doc: doc, a: a})
	return nil
}

// fireReady fires the timers fireTimer made ready, up to timerBatch in one
// transaction (one commit for many firings); a batch that fails is rolled
// back and its timers fired one at a time, so one bad timer does not hold
// back the others.
func (s *Service) fireReady(ctx context.Context, tt *timerTick, now time.Time) []error {
	var errs []error
	for len(tt.ready) > 0 {
		batch := tt.ready[:min(timerBatch, len(tt.ready))]
		tt.ready = tt.ready[len(batch):]
		if err := s.fireBatch(ctx, tt, batch, now); err == nil || len(batch) == 1 {
			if err != nil {
				s.log.Error("automation: timer failed", "app", batch[0].app, "automation", batch[0].automation,
					"record", batch[0].recordID, "error", err)
				errs = append(errs, err)
			}
			continue
		}
		for i := range batch {
			if err := s.fireBatch(ctx, tt, batch[i:i+1], now); err != nil {
				s.log.Error("automation: timer failed", "app", batch[i].app, "automation", batch[i].automation,
					"record", batch[i].recordID, "error", err)
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// timerBatch is how many timers fire in one transaction.
const timerBatch = 50

// readyTimer is a due timer whose automation still holds it.
type readyTimer struct {
	timerRow
	doc *schema.App
	a   *schema.Automation
}

// fireBatch fires timers in one transaction: for each, one read says
// whether the record is still there and whether unless holds for it now;
// then the timer is claimed (fired, or cancelled) and, fired, its run
// started — so a run starts exactly when its timer is marked fired.
func (s *Service) fireBatch(ctx context.Context, tt *timerTick, batch []readyTimer, now time.Time) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := range batch {
		t := &batch[i]
		p := s.timerProbe(tt, t.doc, t.a)
		var held int
		err = tx.QueryRowContext(ctx, p.query, append(slices.Clip(p.args), t.recordID)...).Scan(&held)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := claimTimer(ctx, tx, t.timerKey, &t.fireAt, timerCancelled, "record deleted", now); err != nil {
				return err
			}
			continue
		case err != nil:
			return fmt.Errorf("read record: %w", err)
		case held == 1:
			if _, err := claimTimer(ctx, tx, t.timerKey, &t.fireAt, timerCancelled, "unless held", now); err != nil {
				return err
			}
			continue
		}
		claimed, err := claimTimer(ctx, tx, t.timerKey, &t.fireAt, timerFired, "", now)
		if err != nil {
			return err
		}
		if !claimed {
			continue // another server fired it, or it moved
		}
		st := Start{App: t.doc.Name, Version: t.doc.Version, Automation: t.a.Name, Entity: t.a.Entity, RecordID: t.recordID,
			Occurrence: "timer@" + time.UnixMicro(t.fireAt).UTC().Format(time.RFC3339), CheckCondition: true}
		if err := s.start(withDocument(ctx, t.doc), tx, st); err != nil {
			return fmt.Errorf("start %s for %s: %w", t.a.Name, t.recordID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("fire timers: %w", err)
	}
	return nil
}

// timerTick is what one tick reuses across the timers it fires: each app's
// document (read once) and each automation's record probe (compiled once).
type timerTick struct {
	docs   map[string]*schema.App
	probes map[timerKey]timerProbe // by app and automation
	ready  []readyTimer
}

// timerProbe selects, for a record id (the last argument), 1 when the
// automation's unless holds for it and 0 when not; no row when the record
// is gone.
type timerProbe struct {
	query string
	args  []any
}

func (s *Service) timerProbe(tt *timerTick, doc *schema.App, a *schema.Automation) timerProbe {
	k := timerKey{app: doc.Name, automation: a.Name}
	if p, ok := tt.probes[k]; ok {
		return p
	}
	table := store.Quote(schema.TableName(doc.Name, a.Entity))
	p := timerProbe{query: `SELECT 0 FROM ` + table + ` WHERE "id" = ?`}
	if a.Trigger.Unless != "" {
		where, args, err := s.compileRecordFilter(doc, a.Entity, a.Trigger.Unless)
		if err != nil {
			// As in unlessHolds: a bad rule is logged, not obeyed.
			s.log.Warn("automation: timer's unless does not compile", "app", doc.Name, "automation", a.Name, "error", err)
		} else {
			p = timerProbe{query: `SELECT CASE WHEN (` + where + `) THEN 1 ELSE 0 END FROM ` + table + ` WHERE "id" = ?`, args: args}
		}
	}
	tt.probes[k] = p
	return p
}

// timerField returns the type of the field a timer may count from: a date
// or datetime field (a formula or rollup returning one counts), or the
// record's created_at or updated_at; ok is false for any other name.
func timerField(e *schema.Entity, name string) (schema.FieldType, bool) {
	if t, sys := schema.SystemColumnType(name); sys {
		return t, t == schema.DateTime
	}
	f := e.Field(name)
	if f == nil {
		return "", false
	}
	t := f.Type
	if f.Returns != "" {
		t = f.Returns
	}
	return t, t == schema.Date || t == schema.DateTime
}

// checkTimer adds the problems of timer automation i (offset, field,
// unless) to p; CheckApp calls it for every timer trigger.
//
// The unless filter is only parsed here: compiling it against the entity
// (unknown fields, wrong types) needs the records service, which
// checkTriggerFilter has.
// TODO(core): CheckApp calls s.checkTriggerFilter(app, i, a, &p) for
// timer and schedule triggers (after checkTimer/checkSchedule).
func checkTimer(app *schema.App, i int, a *schema.Automation, p *schema.Problems) {
	tp := fmt.Sprintf("/automations/%d/trigger", i)
	t := &a.Trigger
	if t.Field == "" {
		p.Add(tp+"/field", "a timer trigger needs the date or datetime field it counts from")
	} else if e := app.Entity(a.Entity); e != nil {
		// An unknown entity is reported at /automations/i/entity by the
		// schema's checks.
		if typ, ok := timerField(e, t.Field); !ok {
			if typ == "" {
				names := []string{"created_at", "updated_at"}
				for _, f := range e.Fields {
					if _, ok := timerField(e, f.Name); ok {
						names = append(names, f.Name)
					}
				}
				p.Add(tp+"/field", "unknown field %q: entity %q has no such date or datetime field%s", t.Field, e.Name, schema.DidYouMean(t.Field, names))
			} else {
				p.Add(tp+"/field", "field %q is a %s field; a timer counts from a date or datetime field", t.Field, typ)
			}
		}
	}
	if _, err := ParseOffset(t.Offset); err != nil {
		p.AddCode(tp+"/offset", "format", nil, "%v", err)
	}
	if t.Unless != "" {
		if _, err := filter.Parse(t.Unless); err != nil {
			p.AddCode(tp+"/unless", "expression", nil, "%v", err)
		}
	}
	for _, x := range []struct {
		name string
		set  bool
	}{{"cron", t.Cron != ""}, {"timeZone", t.TimeZone != ""}, {"filter", t.Filter != ""},
		{"from", len(t.From) > 0}, {"to", len(t.To) > 0}, {"flow", t.Flow != ""}, {"transition", t.Transition != ""}} {
		if x.set {
			p.Add(tp+"/"+x.name, "a timer trigger takes no %s", x.name)
		}
	}
}

// checkTriggerFilter compiles a timer's unless or a schedule's filter
// against the automation's entity (unknown fields, values of the wrong
// type), adding a problem at /automations/i/trigger/unless (or /filter).
// A syntax error is checkTimer's or checkSchedule's to report. Variables
// are refused: a trigger's filter is read for no one (there is no @me).
func (s *Service) checkTriggerFilter(app *schema.App, i int, a *schema.Automation, p *schema.Problems) {
	name, src := "unless", a.Trigger.Unless
	switch a.Trigger.Type {
	case schema.TriggerTimer:
	case schema.TriggerSchedule:
		name, src = "filter", a.Trigger.Filter
	default:
		return
	}
	if src == "" || app.Entity(a.Entity) == nil {
		return
	}
	n, err := filter.Parse(src)
	if err != nil {
		return
	}
	var variable *filter.Compare
	filter.Fields(n, func(c *filter.Compare) {
		if variable == nil && c.Value.Kind == filter.Variable {
			variable = c
		}
	})
	path := fmt.Sprintf("/automations/%d/trigger/%s", i, name)
	if variable != nil {
		p.Add(path, "%s: a %s trigger's %s cannot use @%s: it runs on the clock, for no one in particular", variable.Field, a.Trigger.Type, name, variable.Value.Str)
		return
	}
	if err := s.records.CheckFilter(app, a.Entity, n); err != nil {
		p.AddCode(path, "expression", nil, "%v", err)
	}
}
