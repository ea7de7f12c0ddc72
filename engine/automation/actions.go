package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/notify"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/engine/webhook"
	"github.com/formaapp/forma/schema"
)

// view is the triggering record as a step sees it: as the automation's
// role reads it (expressions, templates, webhook bodies), and whole for
// routing a notification (owner, user fields), which reveals nothing.
type view struct {
	plain map[string]any // values as scripts take them
	api   map[string]any // the API's value form (numbers exact)
	raw   json.RawMessage
	full  map[string]any // the whole record, API form
	prev  json.RawMessage
	gone  bool // the record was deleted
}

// readView reads run's record as c reads it. A deleted record is read
// from the values the run kept (what c may read of them).
func (s *Service) readView(ctx context.Context, app *schema.App, run *runInfo, c records.Caller) (*view, error) {
	read := c
	read.Step = ""
	v := &view{}
	readable, err := s.records.Readable(app, run.Entity, read)
	if err != nil {
		return nil, err
	}
	if run.Previous != "" {
		prev, err := apiValues([]byte(run.Previous))
		if err != nil {
			return nil, err
		}
		v.prev = encodeJSON(project(prev, readable))
		if run.event() == "deleted" {
			v.gone = true
			v.full = prev
			v.api = project(prev, readable)
			v.raw = encodeJSON(v.api)
			v.plain = plainValues(v.api)
			return v, nil
		}
	}
	rec, err := s.records.Get(ctx, read, app.Name, run.Entity, run.RecordID, "", "")
	var re *records.Error
	if errors.As(err, &re) && re.Status == 404 {
		return nil, permanent{fmt.Errorf("the %s record %s no longer exists (or the automation's role may not read it)", run.Entity, run.RecordID)}
	}
	if err != nil {
		return nil, err
	}
	v.raw, _ = rec.MarshalJSON()
	if v.api, err = apiValues(v.raw); err != nil {
		return nil, err
	}
	v.plain = rec.Plain()
	if read.Admin {
		v.full = v.api
	} else {
		all, err := s.records.Get(ctx, records.Caller{Admin: true}, app.Name, run.Entity, run.RecordID, "", "")
		if err != nil {
			return nil, err
		}
		raw, _ := all.MarshalJSON()
		if v.full, err = apiValues(raw); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// project keeps the keys of m that keep allows.
func project(m map[string]any, keep map[string]bool) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if keep[k] {
			out[k] = v
		}
	}
	return out
}

// plainValues turns API-form values into what scripts take (numbers as
// numbers).
func plainValues(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				out[k] = i
			} else if f, err := n.Float64(); err == nil {
				out[k] = f
			}
			continue
		}
		out[k] = v
	}
	return out
}

// fieldValues computes an action's field values over the record.
func (s *Service) fieldValues(ctx context.Context, fields map[string]json.RawMessage, v *view) (map[string]any, error) {
	out := make(map[string]any, len(fields))
	for _, name := range sortedKeys(fields) {
		val, err := parseValue(fields[name])
		if err != nil {
			return nil, permanent{fmt.Errorf("%s: %v", name, err)}
		}
		switch {
		case val.expr != "":
			r, err := s.exprs.eval(script.WithNow(ctx, s.db.Clock.Now), val.expr, v.plain)
			if err != nil {
				return nil, permanent{fmt.Errorf("%s: %v", name, err)}
			}
			out[name] = r
		case val.template != nil:
			out[name] = render(*val.template, v.api)
		default:
			out[name] = val.literal
		}
	}
	return out, nil
}

// classify makes a refusal of the records service (a 4xx other than a
// concurrent change) permanent: the same write would be refused again.
func classify(err error) error {
	var re *records.Error
	if errors.As(err, &re) && re.Status >= 400 && re.Status < 500 && re.Status != 409 {
		return permanent{err}
	}
	if errors.As(err, &re) && re.Status == 409 && re.Code != records.CodeConflict {
		return permanent{err} // a duplicate value or a referenced record
	}
	return err
}

func (s *Service) webhookBody(app *schema.App, run *runInfo, v *view) []byte {
	p := webhook.Payload{Event: run.event(), App: app.Name, Entity: run.Entity, ID: run.RecordID, Automation: run.Automation, OccurredAt: run.At.UTC(), Previous: v.prev}
	if v.gone {
		p.Record = json.RawMessage("null")
	} else {
		p.Record = v.raw
	}
	return encodeJSON(p)
}

// userFields are the user ids in the record's fields named by to.Fields.
func userFields(to *schema.Recipients, full map[string]any) map[string]string {
	out := map[string]string{}
	for _, f := range to.Fields {
		if id, ok := full[f].(string); ok && id != "" {
			out[f] = id
		}
	}
	return out
}

// act performs action idx of run. It returns the step's detail for the
// run log; an error marked permanent fails the run at once, another is
// retried. Where the effect is a record write, the write's event marks the
// step done in the write's transaction (events.go); a notification is
// stored in the transaction that marks it. done says the step is marked
// already (the caller need not mark it again).
func (s *Service) act(ctx context.Context, app *schema.App, a *schema.Automation, run *runInfo, idx int, x *schema.Action, detail string, attempt int) (out string, done bool, err error) {
	c := caller(a, run, idx)
	v, err := s.readView(ctx, app, run, c)
	if err != nil {
		return "", false, err
	}
	switch x.Type {
	case schema.ActionSet:
		if v.gone {
			return "", false, permanent{errors.New("the record was deleted: there is nothing to set")}
		}
		return "", true, s.patch(ctx, app, run, c, v, func(v *view) (map[string]any, error) { return s.fieldValues(ctx, x.Fields, v) })
	case schema.ActionCreate:
		values, err := s.fieldValues(ctx, x.Fields, v)
		if err != nil {
			return "", false, err
		}
		if _, set := values["owner"]; !set && v.full["owner"] != nil {
			values["owner"] = v.full["owner"] // the new record belongs to whoever owns the triggering one
		}
		if _, err := s.records.Create(ctx, c, app.Name, x.Entity, encodeJSON(values)); err != nil {
			return "", false, classify(err)
		}
		return "", true, nil
	case schema.ActionScript:
		if v.gone {
			return "", false, permanent{errors.New("the record was deleted: there is nothing to run the function with")}
		}
		read := c
		read.Step = ""
		obj, err := s.records.RunFunction(ctx, read, app, run.Entity, run.RecordID, x.Function)
		if err != nil {
			return "", false, classify(err)
		}
		if len(obj) == 0 {
			return fmt.Sprintf("%s returned no fields to set", x.Function), false, nil
		}
		return "", true, s.patch(ctx, app, run, c, nil, func(*view) (map[string]any, error) { return obj, nil })
	case schema.ActionNotify:
		if s.notify == nil {
			return "", false, permanent{errors.New("notifications are not available on this server")}
		}
		owner, _ := v.full["owner"].(string)
		ids, err := s.notify.Resolve(ctx, app.Name, *x.To, owner, userFields(x.To, v.full))
		if err != nil {
			return "", false, err
		}
		ns := make([]notify.Notification, 0, len(ids))
		for _, id := range ids {
			seen, err := s.recipientView(ctx, app, run, v, id)
			if err != nil {
				return "", false, err
			}
			if seen == nil {
				continue // may not read the record: told nothing of it
			}
			ns = append(ns, notify.Notification{UserID: id, App: app.Name, Entity: run.Entity, RecordID: run.RecordID, Automation: a.Name,
				Message: render(x.Message, seen), Messages: renderEach(x.Messages, seen), Key: stepKey(run.ID, idx)})
		}
		tx, err := s.db.Begin(ctx)
		if err != nil {
			return "", false, err
		}
		defer tx.Rollback()
		n, err := s.notify.Send(ctx, tx, ns)
		if err != nil {
			return "", false, err
		}
		detail := fmt.Sprintf("notified %d of %d users", n, len(ids))
		if left := len(ids) - len(ns); left > 0 {
			detail += fmt.Sprintf(" (%d may not read the record and were left out)", left)
		}
		if _, err := s.finishStepTx(ctx, tx, run.ID, idx, detail); err != nil {
			return "", false, err
		}
		return "", true, tx.Commit()
	case schema.ActionAssign:
		if s.assigner == nil {
			return "", false, permanent{errors.New("assignment is not available on this server")}
		}
		if v.gone {
			return "", false, permanent{errors.New("the record was deleted: there is nothing to assign")}
		}
		out, wrote, err := s.assigner.AssignAction(ctx, c, app, x.Rule, run.RecordID, x.Reassign)
		if err != nil {
			return "", false, classify(err)
		}
		return out, wrote, nil
	case schema.ActionPlugin:
		return s.callPlugin(ctx, app, a, run, idx, x, detail, attempt, v)
	case schema.ActionWebhook:
		if s.webhooks == nil {
			return "", false, permanent{errors.New("webhooks are not available on this server")}
		}
		res, err := s.webhooks.Deliver(ctx, webhook.Delivery{App: app.Name, URL: x.URL, Event: run.event(), IdempotencyKey: stepKey(run.ID, idx), Body: s.webhookBody(app, run, v)})
		_ = river.RecordOutput(ctx, map[string]any{"status": res.Status, "attempt": attempt})
		if err != nil {
			msg := fmt.Errorf("HTTP %d: %v", res.Status, err)
			if res.Status == 0 {
				msg = err
			}
			if res.Permanent {
				return "", false, permanent{fmt.Errorf("attempt %d: %w", attempt, msg)}
			}
			return "", false, msg
		}
		return appendDetail(detail, fmt.Sprintf("attempt %d: HTTP %d", attempt, res.Status)), false, nil
	}
	return "", false, permanent{fmt.Errorf("unknown action type %q", x.Type)}
}

// patch writes the values compute returns to run's record as c, with the
// version it read: a concurrent change makes it read and compute again.
// v, if not nil, is the record just read (the first try need not read it
// again).
func (s *Service) patch(ctx context.Context, app *schema.App, run *runInfo, c records.Caller, v *view, compute func(*view) (map[string]any, error)) error {
	var last error
	for try := 0; try < 5; try++ {
		if v == nil {
			var err error
			if v, err = s.readView(ctx, app, run, c); err != nil {
				return err
			}
		}
		values, err := compute(v)
		if err != nil {
			return err
		}
		if unchanged(values, v.full) {
			// Nothing to change: no write (an update event would start
			// automations again for nothing), the step is done.
			return s.finishStep(ctx, run.ID, stepIndex(c), "nothing to change")
		}
		values["version"] = v.full["version"]
		_, last = s.records.Patch(ctx, c, app.Name, run.Entity, run.RecordID, encodeJSON(values))
		var re *records.Error
		if errors.As(last, &re) && re.Code == records.CodeConflict {
			v = nil // read it again
			continue
		}
		return classify(last)
	}
	return last
}

// unchanged reports whether writing values would leave rec as it is.
func unchanged(values, rec map[string]any) bool {
	norm, err := apiValues(encodeJSON(values))
	if err != nil {
		return false
	}
	for k, v := range norm {
		if !sameValue(v, rec[k]) {
			return false
		}
	}
	return true
}

// stepIndex is the step a step's caller performs.
func stepIndex(c records.Caller) int {
	_, i, _ := parseStepKey(c.Step)
	return i
}

// recipientView is what a notification to user id may show of run's
// record: the fields both the automation's role (v) and the user may read,
// or nil when the user may not read the record at all — a rule that names
// a role or a user field must not tell anyone about a record their rules
// hide. A deleted record can no longer be read, so for it the user's field
// rules decide alone.
func (s *Service) recipientView(ctx context.Context, app *schema.App, run *runInfo, v *view, id string) (map[string]any, error) {
	u, err := s.access.UserByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("automation: recipient %s: %w", id, err)
	}
	c := records.Caller{UserID: u.ID, Admin: u.Admin, Roles: u.Roles, TeamID: u.TeamID, Path: records.PathAutomation}
	may := map[string]bool{}
	if v.gone {
		if may, err = s.records.Readable(app, run.Entity, c); err != nil {
			return nil, err
		}
		if len(may) == 0 {
			return nil, nil
		}
	} else {
		rec, err := s.records.Get(ctx, c, app.Name, run.Entity, run.RecordID, "", "")
		var re *records.Error
		if errors.As(err, &re) && re.Status < 500 {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for name := range rec.Plain() {
			may[name] = true
		}
	}
	seen := make(map[string]any, len(v.api))
	for name, val := range v.api {
		if may[name] {
			seen[name] = val
		}
	}
	return seen, nil
}

// callPlugin runs a plugin action: its input computed like a set action's
// fields, the call keyed by the step (a retry hands the plugin the same
// key). A failure the plugin says may pass (a timeout, the network, a 5xx)
// is returned as is so the job queue retries it with backoff; any other
// (bad input, a refused host, a missing secret, a disabled plugin) fails
// the step at once. The output is kept in the step's detail.
func (s *Service) callPlugin(ctx context.Context, app *schema.App, a *schema.Automation, run *runInfo, idx int, x *schema.Action, detail string, attempt int, v *view) (string, bool, error) {
	if s.plugins == nil {
		return "", false, permanent{errors.New("plugins are not available on this server")}
	}
	computed, err := s.fieldValues(ctx, x.Input, v)
	if err != nil {
		return "", false, err
	}
	input, err := plainInput(computed)
	if err != nil {
		return "", false, permanent{err}
	}
	out, err := s.plugins.Call(ctx, app.Name, x.Plugin, x.PluginAction, input, PluginCall{Automation: a.Name, Key: stepKey(run.ID, idx)})
	if err != nil {
		var r interface{ Retryable() bool }
		if errors.As(err, &r) && r.Retryable() {
			return "", false, err // workStep notes the attempt in the step's detail
		}
		return "", false, permanent{fmt.Errorf("attempt %d: %w", attempt, err)}
	}
	_ = river.RecordOutput(ctx, map[string]any{"attempt": attempt})
	b, err := json.Marshal(out)
	if err != nil {
		return "", false, permanent{fmt.Errorf("the plugin's output: %w", err)}
	}
	return appendDetail(detail, fmt.Sprintf("attempt %d: output %s", attempt, clip(string(b), 2000))), false, nil
}

// plainInput turns computed values into plain JSON values (a literal is
// kept as raw JSON by fieldValues), as the plugin's input schema and its
// script read them.
func plainInput(values map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(values))
	for k, v := range values {
		if raw, ok := v.(json.RawMessage); ok {
			var x any
			if err := json.Unmarshal(raw, &x); err != nil {
				return nil, fmt.Errorf("input %s: %w", k, err)
			}
			v = x
		}
		out[k] = v
	}
	return out, nil
}
