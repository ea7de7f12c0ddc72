package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// onEvent is the records subscriber behind event triggers. Inside the
// write's transaction, with nothing but it (see records.Subscriber), it
// marks the step an automation's own write performs as done, and starts
// every enabled automation of the event's entity, in the write's document
// version, whose trigger the event matches and whose condition the
// written record meets.
func (s *Service) onEvent(ctx context.Context, tx store.Conn, ev *records.Event) error {
	ctx, batch := withBatch(ctx)
	if err := s.onEventBatched(ctx, tx, ev); err != nil {
		return err
	}
	return s.flush(ctx, tx, batch)
}

// onEventBatched is onEvent with the step jobs it enqueues gathered in
// ctx's batch.
func (s *Service) onEventBatched(ctx context.Context, tx store.Conn, ev *records.Event) error {
	if ev.Caller.Step != "" {
		if run, idx, ok := parseStepKey(ev.Caller.Step); ok {
			if _, err := s.finishStepTx(ctx, tx, run, idx, stepDetail(ev)); err != nil {
				return err
			}
		}
	}
	app := ev.Document()
	if app == nil {
		return nil
	}
	autos := automationsOf(app) // countdown.go: the document's and its rules' countdowns
	if len(autos) == 0 {
		return nil
	}
	ctx = withDocument(ctx, app)
	for i := range autos {
		a := &autos[i]
		if a.Entity != ev.Entity || !a.IsEnabled() {
			continue
		}
		occ, ok := occurrence(a, ev)
		if !ok {
			continue
		}
		if a.Condition != "" {
			ok, err := s.matchTx(ctx, tx, app, a, ev.ID, ev)
			var fe *filter.Error
			if errors.As(err, &fe) {
				// Refused when the app was applied; a document applied before
				// that check existed must not fail people's writes.
				s.log.Warn("automation condition does not compile", "app", app.Name, "automation", a.Name, "error", err)
				continue
			}
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
		}
		parent, _, _ := parseStepKey(ev.Caller.Step)
		st := Start{App: app.Name, Version: app.Version, Automation: a.Name, Entity: ev.Entity, RecordID: ev.ID,
			Occurrence: occ, Depth: ev.Caller.Depth, Parent: parent}
		if ev.Previous != nil {
			st.Previous, _ = ev.Previous.MarshalJSON()
		}
		if ev.Caller.Depth >= MaxDepth {
			if err := s.stopLoop(ctx, tx, st); err != nil {
				return err
			}
			continue
		}
		if err := s.start(ctx, tx, st); err != nil {
			return err
		}
	}
	return nil
}

// stepDetail is what a step's write did, for the run log.
func stepDetail(ev *records.Event) string {
	if ev.Kind == records.EventCreated {
		return fmt.Sprintf("created %s %s", ev.Entity, ev.ID)
	}
	m, _ := ev.ChangeMap()
	names := sortedKeys(m)
	if len(names) == 0 {
		return fmt.Sprintf("%s %s %s: nothing changed", ev.Kind, ev.Entity, ev.ID)
	}
	return fmt.Sprintf("%s %s %s: %s", ev.Kind, ev.Entity, ev.ID, strings.Join(names, ", "))
}

// stopLoop records the run the loop guard refused: status stopped, with
// the chain of automations that led to it, and warns in the server log.
func (s *Service) stopLoop(ctx context.Context, tx store.Conn, st Start) error {
	chain := []string{st.Automation}
	for id, n := st.Parent, 0; id != "" && n <= MaxDepth; n++ {
		var name, parent string
		if err := tx.QueryRowContext(ctx, `SELECT "automation", "parent" FROM _forma_automation_runs WHERE "id" = ?`, id).Scan(&name, &parent); err != nil {
			break
		}
		chain = append(chain, name)
		id = parent
	}
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	msg := fmt.Sprintf("stopped: %s would run at depth %d, the limit is %d automation writes in a row (a loop?): %s",
		st.Automation, st.Depth, MaxDepth, strings.Join(chain, " → "))
	s.log.Warn("automation loop stopped", "app", st.App, "automation", st.Automation, "record", st.RecordID, "depth", st.Depth, "chain", strings.Join(chain, " → "))
	now := s.db.Now()
	_, err := tx.ExecContext(ctx, `INSERT INTO _forma_automation_runs ("id", "app", "automation", "record_id", "occurrence", "entity", "version", "variant", "status", "message", "depth", "parent", "at", "finished_at")
VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?) ON CONFLICT ("app", "automation", "record_id", "occurrence") DO NOTHING`,
		s.newID(), st.App, st.Automation, st.RecordID, st.Occurrence, st.Entity, st.Version, StatusStopped, clip(msg, 2000), st.Depth, st.Parent, now, now)
	if err != nil {
		return fmt.Errorf("automation: record stopped loop: %w", err)
	}
	return nil
}

// occurrence says whether ev matches a's trigger, and names the
// occurrence (the run's key within automation and record).
func occurrence(a *schema.Automation, ev *records.Event) (string, bool) {
	t := &a.Trigger
	version := fmt.Sprintf("@%d", ev.Version)
	switch t.Type {
	case schema.TriggerCreated:
		return "created", ev.Kind == records.EventCreated
	case schema.TriggerUpdated:
		return "updated" + version, ev.Kind == records.EventUpdated
	case schema.TriggerDeleted:
		return "deleted", ev.Kind == records.EventDeleted
	case schema.TriggerTransition:
		if ev.Transition == "" {
			return "", false
		}
		flow, tr, _ := strings.Cut(ev.Transition, "/")
		if flow != t.Flow || (t.Transition != "" && tr != t.Transition) {
			return "", false
		}
		return "transition" + version, true
	case schema.TriggerFieldChanged:
		if ev.Kind == records.EventDeleted {
			return "", false
		}
		m, err := ev.ChangeMap()
		if err != nil {
			return "", false
		}
		ch, ok := m[t.Field]
		if !ok {
			return "", false
		}
		if len(t.From) > 0 && !sameJSON(t.From, ch.Old) {
			return "", false
		}
		if len(t.To) > 0 && !sameJSON(t.To, ch.New) {
			return "", false
		}
		if ev.Kind == records.EventCreated {
			return "created", true
		}
		return "updated" + version, true
	}
	return "", false
}

// sameJSON compares two JSON values as values: numbers by value, lists as
// sets (a multiselect's options), absent as null.
func sameJSON(a, b json.RawMessage) bool {
	va, vb := decodeAny(a), decodeAny(b)
	return sameValue(va, vb)
}

func decodeAny(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	m, err := apiValues([]byte(`{"v":` + string(raw) + `}`))
	if err != nil {
		return nil
	}
	return m["v"]
}

func sameValue(a, b any) bool {
	if isNull(a) || isNull(b) {
		return isNull(a) && isNull(b)
	}
	switch x := a.(type) {
	case json.Number:
		ra, ok1 := new(big.Rat).SetString(string(x))
		rb, ok2 := number(b)
		return ok1 && ok2 && ra.Cmp(rb) == 0
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		xs, ys := make([]string, len(x)), make([]string, len(y))
		for i := range x {
			xs[i], ys[i] = fmt.Sprint(x[i]), fmt.Sprint(y[i])
		}
		sort.Strings(xs)
		sort.Strings(ys)
		return strings.Join(xs, "\x00") == strings.Join(ys, "\x00")
	}
	return a == b
}

// matchTx checks a's condition for record id inside tx: on the record as
// the write left it, with previous.FIELD from ev's previous record; for
// a deleted record, over the values it had (it is gone). ev is nil where
// the run checks its own condition (timers, schedules, the dry run
// without an event).
func (s *Service) matchTx(ctx context.Context, tx store.Conn, app *schema.App, a *schema.Automation, id string, ev *records.Event) (bool, error) {
	n, err := filter.Parse(a.Condition)
	if err != nil {
		return false, err
	}
	e := app.Entity(a.Entity)
	if e == nil {
		return false, fmt.Errorf("automation %s: no entity %q", a.Name, a.Entity)
	}
	var prev map[string]any
	if ev != nil && ev.Previous != nil {
		raw, _ := ev.Previous.MarshalJSON()
		if prev, err = apiValues(raw); err != nil {
			return false, err
		}
	}
	if ev != nil && ev.Kind == records.EventDeleted {
		if prev == nil {
			return false, nil // a bulk change without the records: unknown, so no match
		}
		return evalAll(n, e, prev)
	}
	if usesPrevious(n) {
		if n, err = withPrevious(n, e, prev); err != nil {
			return false, err
		}
	}
	return s.records.MatchTx(ctx, tx, app, a.Entity, id, n)
}
