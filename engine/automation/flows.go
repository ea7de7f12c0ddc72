package automation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// What engine/flow needs of automations: a transition's actions on enter
// run as a run of a pseudo-automation named after the transition, with the
// run machinery's guarantees (inserted in the move's transaction, one step
// job per action, each effect once), and a guard decided over the values a
// transition is about to write.

// flowPrefix starts the name of a transition's pseudo-automation.
const flowPrefix = "flow:"

// FlowRunName is the automation name of the runs of flow f's transition
// t's actions: "flow:<flow>/<transition>", or, when that is longer than the
// run table's column, "flow:" and a hash of it.
func FlowRunName(f *schema.Flow, t *schema.Transition) string {
	name := flowPrefix + f.Name + "/" + t.Name
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return flowPrefix + hex.EncodeToString(sum[:16])
}

// automationOf returns app's automation named name, or the pseudo-automation
// of a flow transition's actions on enter (run as the whole record, with no
// condition), or nil.
func automationOf(app *schema.App, name string) *schema.Automation {
	if !strings.HasPrefix(name, flowPrefix) {
		return automationNamed(app, name)
	}
	for i := range app.Flows {
		f := &app.Flows[i]
		for j := range f.Transitions {
			t := &f.Transitions[j]
			if FlowRunName(f, t) == name {
				return &schema.Automation{Name: name, Label: t.Label, Entity: f.Entity, Actions: t.Actions,
					Trigger: schema.Trigger{Type: schema.TriggerTransition, Flow: f.Name, Transition: t.Name}}
			}
		}
	}
	return nil
}

// StartTransitionTx starts, inside a move's transaction, the run of the
// actions on enter of the transition ev took (ev.Transition
// "flow/transition"): once per record version, so a retried move or a
// replayed event starts nothing twice. A transition without actions
// starts nothing.
func (s *Service) StartTransitionTx(ctx context.Context, tx store.Conn, ev *records.Event) error {
	app := ev.Document()
	if app == nil || ev.Transition == "" || s.jobs == nil {
		return nil // without a queue no automation runs (Register needs one)
	}
	fname, tname, _ := strings.Cut(ev.Transition, "/")
	f := app.Flow(fname)
	if f == nil || f.Transition(tname) == nil || len(f.Transition(tname).Actions) == 0 {
		return nil
	}
	st := Start{App: app.Name, Version: app.Version, Automation: FlowRunName(f, f.Transition(tname)), Entity: ev.Entity,
		RecordID: ev.ID, Occurrence: "enter@" + strconv.FormatInt(ev.Version, 10), Depth: ev.Caller.Depth}
	if ev.Previous != nil {
		st.Previous, _ = ev.Previous.MarshalJSON()
	}
	ctx, batch := withBatch(withDocument(ctx, app))
	if err := s.StartTx(ctx, tx, st); err != nil {
		return err
	}
	return s.flush(ctx, tx, batch)
}

// WithValues returns n with every comparison of one of the record's own
// fields named in values decided over that value (the API's value form,
// numbers as json.Number), the rest left for records.MatchTx: a guard over
// the record as it will be once a transition writes values.
func WithValues(n filter.Node, e *schema.Entity, values map[string]any) (filter.Node, error) {
	return substitute(n, func(c *filter.Compare) (bool, bool, error) {
		v, ok := values[c.Field]
		if !ok {
			return false, false, nil
		}
		out, err := evalCompare(fieldType(e, c.Field), v, c)
		return out, true, err
	})
}

// CheckFlowActions checks the actions on enter of app's flow transitions
// as CheckApp checks an automation's (field expressions, webhook
// addresses, script functions), each problem at its pointer.
func (s *Service) CheckFlowActions(ctx context.Context, app *schema.App) schema.Problems {
	var p schema.Problems
	var allowPrivate *bool
	for i := range app.Flows {
		f := &app.Flows[i]
		e := app.Entity(f.Entity)
		if e == nil {
			continue // schema.Check reports it
		}
		for j := range f.Transitions {
			s.checkActions(ctx, app, e, fmt.Sprintf("/flows/%d/transitions/%d/actions", i, j), f.Transitions[j].Actions, &allowPrivate, &p)
		}
	}
	return p
}
