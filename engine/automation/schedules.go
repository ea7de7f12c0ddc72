package automation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// parseSchedule reads a schedule trigger's cron (five fields: minute hour
// day-of-month month day-of-week) in its time zone (default UTC).
// Descriptors (@daily, @every 10s) and a TZ= prefix are refused: the
// document says the time zone in timeZone, and a schedule fires on the
// minute at most.
func parseSchedule(t *schema.Trigger) (*jobs.Schedule, error) {
	loc, err := scheduleZone(t.TimeZone)
	if err != nil {
		return nil, err
	}
	return parseCron(t.Cron, loc)
}

func parseCron(spec string, loc *time.Location) (*jobs.Schedule, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("a schedule trigger needs a cron such as \"0 9 * * 1\" (minute hour day month weekday)")
	}
	if len(spec) > 200 {
		return nil, fmt.Errorf("cron is longer than 200 bytes")
	}
	if f := strings.Fields(spec); len(f) != 5 || strings.ContainsAny(spec, "@=") {
		return nil, fmt.Errorf("cron %q must have five fields: minute hour day-of-month month day-of-week (\"0 9 * * 1\" is Mondays at 09:00)", spec)
	}
	s, err := jobs.ParseCron(spec, loc)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func scheduleZone(name string) (*time.Location, error) {
	if name == "Local" {
		// The server's own zone would make the rule mean different times
		// on different servers.
		return nil, fmt.Errorf("time zone %q depends on the server; name a zone such as Asia/Shanghai", name)
	}
	return schema.LoadTimeZone(name)
}

// checkSchedule adds the problems of schedule automation i (cron, time
// zone, filter) to p; CheckApp calls it for every schedule trigger. The
// filter is only parsed here; checkTriggerFilter compiles it.
func checkSchedule(app *schema.App, i int, a *schema.Automation, p *schema.Problems) {
	tp := fmt.Sprintf("/automations/%d/trigger", i)
	t := &a.Trigger
	loc, err := scheduleZone(t.TimeZone)
	if err != nil {
		p.AddCode(tp+"/timeZone", "format", nil, "%v", err)
		loc = time.UTC
	}
	if _, err := parseCron(t.Cron, loc); err != nil {
		p.AddCode(tp+"/cron", "format", nil, "%v", err)
	}
	if t.Filter != "" {
		if _, err := filter.Parse(t.Filter); err != nil {
			p.AddCode(tp+"/filter", "expression", nil, "%v", err)
		}
	}
	for _, x := range []struct {
		name string
		set  bool
	}{{"field", t.Field != ""}, {"offset", t.Offset != ""}, {"unless", t.Unless != ""},
		{"from", len(t.From) > 0}, {"to", len(t.To) > 0}, {"flow", t.Flow != ""}, {"transition", t.Transition != ""}} {
		if x.set {
			p.Add(tp+"/"+x.name, "a schedule trigger takes no %s", x.name)
		}
	}
}

// MaxScheduleRecords bounds the records one schedule slot starts runs for;
// a filter selecting more is cut (and logged): a schedule is for the
// records that need attention, not for the whole table.
const MaxScheduleRecords = 10000

// tickSchedules starts the schedules whose slot has come, in every app.
func (s *Service) tickSchedules(ctx context.Context) error {
	apps, err := s.db.Apps(ctx)
	if err != nil {
		return fmt.Errorf("automation: schedules: %w", err)
	}
	now := s.db.Clock.Now()
	var errs []error
	for _, info := range apps {
		if err := ctx.Err(); err != nil {
			return err
		}
		doc, err := s.catalog.App(ctx, info.Name)
		if errors.Is(err, store.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.tickAppSchedules(ctx, doc, now); err != nil {
			s.log.Error("automation: schedules failed", "app", doc.Name, "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

type scheduleRow struct {
	cron, zone string
	nextAt     int64
}

func (s *Service) tickAppSchedules(ctx context.Context, doc *schema.App, now time.Time) error {
	rows, err := s.db.Pool().QueryContext(ctx, `SELECT automation, cron, time_zone, next_at FROM _forma_automation_schedules WHERE app = ?`, doc.Name)
	if err != nil {
		return fmt.Errorf("read schedules: %w", err)
	}
	have := map[string]scheduleRow{}
	for rows.Next() {
		var name string
		var r scheduleRow
		if err := rows.Scan(&name, &r.cron, &r.zone, &r.nextAt); err != nil {
			rows.Close()
			return fmt.Errorf("read schedules: %w", err)
		}
		have[name] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schedules: %w", err)
	}
	var errs []error
	autos := automationsOf(doc)
	for i := range autos {
		a := &autos[i]
		if a.Trigger.Type != schema.TriggerSchedule || !a.IsEnabled() {
			continue
		}
		r, ok := have[a.Name]
		delete(have, a.Name)
		if err := s.tickSchedule(ctx, doc, a, r, ok, now); err != nil {
			errs = append(errs, fmt.Errorf("automation %s: %w", a.Name, err))
		}
	}
	// A schedule disabled or removed forgets its slot: enabled again, it
	// starts from its next slot then, with no backfill.
	for name := range have {
		if _, err := s.db.Pool().ExecContext(ctx, `DELETE FROM _forma_automation_schedules WHERE app = ? AND automation = ?`, doc.Name, name); err != nil {
			errs = append(errs, fmt.Errorf("forget schedule %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// tickSchedule handles one enabled schedule automation: the first time it
// is seen its next slot is the cron's next time after now (no backfill); a
// changed cron or zone recomputes it; a slot that has come is claimed (one
// server wins the conditional update) and a run started, in the same
// transaction, for each record the filter selects.
func (s *Service) tickSchedule(ctx context.Context, doc *schema.App, a *schema.Automation, r scheduleRow, exists bool, now time.Time) error {
	sched, err := parseSchedule(&a.Trigger)
	if err != nil {
		return err // refused when the app is applied
	}
	zone := a.Trigger.TimeZone
	next := sched.Next(now).UnixMicro()
	switch {
	case !exists:
		_, err := s.db.Pool().ExecContext(ctx, `INSERT INTO _forma_automation_schedules (app, automation, cron, time_zone, next_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (app, automation) DO NOTHING`, doc.Name, a.Name, a.Trigger.Cron, zone, next, now.UnixMicro())
		if err != nil {
			return fmt.Errorf("first slot: %w", err)
		}
		return nil
	case r.cron != a.Trigger.Cron || r.zone != zone:
		_, err := s.db.Pool().ExecContext(ctx, `UPDATE _forma_automation_schedules SET cron = ?, time_zone = ?, next_at = ?, updated_at = ?
			WHERE app = ? AND automation = ? AND cron = ? AND time_zone = ?`,
			a.Trigger.Cron, zone, next, now.UnixMicro(), doc.Name, a.Name, r.cron, r.zone)
		if err != nil {
			return fmt.Errorf("new cron: %w", err)
		}
		return nil
	case r.nextAt > now.UnixMicro():
		return nil
	}
	var (
		where string
		args  []any
	)
	if a.Trigger.Filter != "" {
		if where, args, err = s.compileRecordFilter(doc, a.Entity, a.Trigger.Filter); err != nil {
			return fmt.Errorf("filter: %w", err)
		}
	}
	slot := time.UnixMicro(r.nextAt).UTC()
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE _forma_automation_schedules SET next_at = ?, last_slot = ?, updated_at = ?
		WHERE app = ? AND automation = ? AND next_at = ? AND cron = ? AND time_zone = ?`,
		next, r.nextAt, now.UnixMicro(), doc.Name, a.Name, r.nextAt, r.cron, r.zone)
	if err != nil {
		return fmt.Errorf("claim slot: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return err // another server has the slot
	}
	q := `SELECT "id" FROM ` + store.Quote(schema.TableName(doc.Name, a.Entity))
	if where != "" {
		q += ` WHERE ` + where
	}
	q += fmt.Sprintf(` ORDER BY "id" LIMIT %d`, MaxScheduleRecords+1)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("select records: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("select records: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("select records: %w", err)
	}
	if len(ids) > MaxScheduleRecords {
		s.log.Warn("automation: schedule selects too many records; the first ones by id run", "app", doc.Name,
			"automation", a.Name, "slot", slot, "limit", MaxScheduleRecords)
		ids = ids[:MaxScheduleRecords]
	}
	occ := "schedule@" + slot.Format(time.RFC3339)
	ctx = withDocument(ctx, doc) // the starts need not read it again
	for _, id := range ids {
		st := Start{App: doc.Name, Version: doc.Version, Automation: a.Name, Entity: a.Entity, RecordID: id, Occurrence: occ, CheckCondition: true}
		if err := s.start(ctx, tx, st); err != nil {
			return fmt.Errorf("start for %s: %w", id, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE _forma_automation_schedules SET last_records = ? WHERE app = ? AND automation = ?`,
		len(ids), doc.Name, a.Name); err != nil {
		return fmt.Errorf("claim slot: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("start slot: %w", err)
	}
	return nil
}
