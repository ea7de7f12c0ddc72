package automation

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/formaapp/forma/engine/automation/ab"
	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// TestResult is what a dry run of an automation on one record found.
type TestResult struct {
	Matched bool           `json:"matched"`
	Reason  string         `json:"reason"`
	Variant string         `json:"variant"`
	Actions []ActionResult `json:"actions"`
}

// ActionResult is what one action would do.
type ActionResult struct {
	Index  int            `json:"index"`
	Type   string         `json:"type"`
	OK     bool           `json:"ok"`
	Error  string         `json:"error,omitempty"`
	Effect map[string]any `json:"effect,omitempty"`
}

// Test is the dry run: whether a's condition holds for the record id as
// it is now (previous.FIELD reads the record's current values, as for an
// update that changed nothing), which variant it has or would get, and
// what each action would do over the record as it is. It changes nothing:
// the condition is read in a transaction that is rolled back, nothing is
// written, no notification stored and no webhook sent. A script action's
// function runs (it can read but not write; its log lines are dropped) to
// show what it would set.
func (s *Service) Test(ctx context.Context, app *schema.App, a *schema.Automation, id string) (*TestResult, error) {
	e := app.Entity(a.Entity)
	if e == nil {
		return nil, fmt.Errorf("automation: no entity %q", a.Entity)
	}
	rec, err := s.records.Get(ctx, records.Caller{Admin: true}, app.Name, a.Entity, id, "", "")
	if err != nil {
		return nil, err
	}
	raw, _ := rec.MarshalJSON()
	out := &TestResult{Matched: true, Actions: []ActionResult{}}
	if a.Condition != "" {
		ok, err := s.testCondition(ctx, app, a, id, raw)
		if err != nil {
			return nil, err
		}
		if !ok {
			out.Matched, out.Reason = false, "the condition is false for this record: "+a.Condition
		}
	}
	if !a.IsEnabled() && out.Reason == "" {
		out.Reason = "the automation is disabled: it would not run"
	}
	run := &runInfo{ID: "dry-run", App: app.Name, Automation: a.Name, RecordID: id, Entity: a.Entity, Occurrence: a.Trigger.Type,
		Version: app.Version, At: s.db.Now()}
	if a.Trigger.Type == schema.TriggerUpdated || a.Trigger.Type == schema.TriggerFieldChanged || a.Trigger.Type == schema.TriggerDeleted {
		run.Previous = string(raw)
	}
	actions := a.Actions
	if len(a.Variants) > 0 {
		v, err := s.storedVariant(ctx, app.Name, a, id)
		if err != nil {
			return nil, err
		}
		out.Variant, actions = a.Variants[v].Name, a.Variants[v].Actions
	}
	for i := range actions {
		out.Actions = append(out.Actions, s.preview(ctx, app, a, run, i, &actions[i]))
	}
	return out, nil
}

// testCondition decides a's condition in a transaction it rolls back.
func (s *Service) testCondition(ctx context.Context, app *schema.App, a *schema.Automation, id string, raw []byte) (bool, error) {
	n, err := filter.Parse(a.Condition)
	if err != nil {
		return false, err
	}
	cur, err := apiValues(raw)
	if err != nil {
		return false, err
	}
	e := app.Entity(a.Entity)
	if a.Trigger.Type == schema.TriggerDeleted {
		return evalAll(n, e, cur)
	}
	if n, err = withPrevious(n, e, cur); err != nil {
		return false, err
	}
	var tx store.Conn
	if tx, err = s.db.Begin(ctx); err != nil {
		return false, err
	}
	defer tx.Rollback()
	return s.records.MatchTx(ctx, tx, app, a.Entity, id, n)
}

// storedVariant is the variant the record has, or would get (not stored).
func (s *Service) storedVariant(ctx context.Context, app string, a *schema.Automation, id string) (int, error) {
	var name string
	err := s.db.Pool().QueryRowContext(ctx, `SELECT "variant" FROM _forma_automation_variants WHERE "app" = ? AND "automation" = ? AND "record_id" = ?`, app, a.Name, id).Scan(&name)
	if err == nil {
		for i, v := range a.Variants {
			if v.Name == name {
				return i, nil
			}
		}
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("automation: read variant: %w", err)
	}
	return pickVariant(a, id), nil
}

// preview is what action idx would do, without doing it.
func (s *Service) preview(ctx context.Context, app *schema.App, a *schema.Automation, run *runInfo, idx int, x *schema.Action) ActionResult {
	res := ActionResult{Index: idx, Type: x.Type}
	effect, err := s.effect(ctx, app, a, run, idx, x)
	if err != nil {
		var p permanent
		if errors.As(err, &p) {
			err = p.error
		}
		res.Error = err.Error()
		return res
	}
	res.OK, res.Effect = true, effect
	return res
}

func (s *Service) effect(ctx context.Context, app *schema.App, a *schema.Automation, run *runInfo, idx int, x *schema.Action) (map[string]any, error) {
	c := caller(a, run, idx)
	v, err := s.readView(ctx, app, run, c)
	if err != nil {
		return nil, err
	}
	switch x.Type {
	case schema.ActionSet:
		values, err := s.fieldValues(ctx, x.Fields, v)
		if err != nil {
			return nil, err
		}
		return map[string]any{"changes": values}, nil
	case schema.ActionCreate:
		values, err := s.fieldValues(ctx, x.Fields, v)
		if err != nil {
			return nil, err
		}
		if _, set := values["owner"]; !set && v.full["owner"] != nil {
			values["owner"] = v.full["owner"]
		}
		return map[string]any{"entity": x.Entity, "record": values}, nil
	case schema.ActionScript:
		read := c
		read.Step = ""
		obj, err := s.records.PreviewFunction(ctx, read, app, run.Entity, run.RecordID, x.Function)
		if err != nil {
			return nil, err
		}
		if obj == nil {
			obj = map[string]any{}
		}
		return map[string]any{"changes": obj}, nil
	case schema.ActionNotify:
		if s.notify == nil {
			return nil, errors.New("notifications are not available on this server")
		}
		owner, _ := v.full["owner"].(string)
		ids, err := s.notify.Resolve(ctx, app.Name, *x.To, owner, userFields(x.To, v.full))
		if err != nil {
			return nil, err
		}
		users := []User{}
		for _, id := range ids {
			u, err := s.access.UserByID(ctx, id)
			if err != nil {
				return nil, err
			}
			users = append(users, User{ID: u.ID, Name: u.Name, Email: u.Email})
		}
		out := map[string]any{"users": users, "message": render(x.Message, v.api)}
		if ms := renderEach(x.Messages, v.api); ms != nil {
			out["messages"] = ms
		}
		return out, nil
	case schema.ActionWebhook:
		return map[string]any{"url": x.URL, "body": json.RawMessage(s.webhookBody(app, run, v))}, nil
	case schema.ActionPlugin:
		// The input the plugin would get; a dry run sends nothing.
		computed, err := s.fieldValues(ctx, x.Input, v)
		if err != nil {
			return nil, err
		}
		input, err := plainInput(computed)
		if err != nil {
			return nil, err
		}
		return map[string]any{"plugin": x.Plugin, "action": x.PluginAction, "input": input}, nil
	case schema.ActionAssign:
		if s.assigner == nil {
			return nil, errors.New("assignment is not available on this server")
		}
		return s.assigner.PreviewAction(ctx, app, x.Rule, run.RecordID, x.Reassign)
	}
	return nil, fmt.Errorf("unknown action type %q", x.Type)
}

// VariantReport is the A/B report of an automation.
type VariantReport struct {
	Goal     string          `json:"goal"`
	Test     string          `json:"test"`
	Alpha    float64         `json:"alpha"`
	Variants []VariantResult `json:"variants"`
}

// VariantResult is one variant's figures; Z, P and Significant compare it
// with the first variant (nil for the first).
type VariantResult struct {
	Name        string   `json:"name"`
	Weight      int      `json:"weight"`
	Records     int64    `json:"records"`
	Reached     int64    `json:"reached"`
	Rate        float64  `json:"rate"`
	Z           *float64 `json:"z,omitempty"`
	P           *float64 `json:"p,omitempty"`
	Significant *bool    `json:"significant,omitempty"`
}

// TestName says which test the report runs.
const TestName = "two-proportion z-test (pooled, two-sided), each variant against the first"

// Variants reports, per variant of a, the records that got it and those
// of them that meet goal (a filter compiled as c reads the entity: a
// hidden field is unknown, and only records c may read count), with a
// two-proportion z-test of each variant against the first.
func (s *Service) Variants(ctx context.Context, c records.Caller, app *schema.App, a *schema.Automation, goal string) (*VariantReport, error) {
	arms := make([]Arm, len(a.Variants))
	for i, v := range a.Variants {
		arms[i] = Arm{Name: v.Name, Weight: v.Weight}
	}
	return ReportVariants(ctx, s.db, s.records, c, app, a.Entity, arms, goal,
		`SELECT "record_id" FROM _forma_automation_variants WHERE "app" = ? AND "automation" = ? AND "variant" = ?`, app.Name, a.Name)
}

// Arm is one variant of an A/B test as a report counts it.
type Arm struct {
	Name   string
	Weight int
}

// ReportVariants is the A/B report of any test whose variants are stored
// per record (automations, assignment rules): per arm, the records of
// entity c may read that got it — the ids the subquery assigned selects,
// given args and then the arm's name — and those of them that meet goal,
// with a two-proportion z-test of each arm against the first.
func ReportVariants(ctx context.Context, db *store.DB, recs *records.Service, c records.Caller, app *schema.App, entity string, arms []Arm, goal, assigned string, args ...any) (*VariantReport, error) {
	scope, err := recs.ReadScope(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	var goalSQL string
	var goalArgs []any
	if goal != "" {
		n, err := filter.Parse(goal)
		if err != nil {
			return nil, err
		}
		if goalSQL, goalArgs, err = recs.CompileFilter(c, app, entity, n); err != nil {
			return nil, err
		}
	}
	rep := &VariantReport{Goal: goal, Test: TestName, Alpha: ab.Alpha, Variants: []VariantResult{}}
	var control ab.Arm
	for i, v := range arms {
		r := VariantResult{Name: v.Name, Weight: v.Weight}
		if !scope.None {
			base := `SELECT COUNT(*) FROM ` + store.Quote(scope.Table) + ` WHERE "id" IN (` + assigned + `)`
			qargs := append(append([]any{}, args...), v.Name)
			if scope.Where != "" {
				base += " AND (" + scope.Where + ")"
				qargs = append(qargs, scope.Args...)
			}
			if err := db.Pool().QueryRowContext(ctx, base, qargs...).Scan(&r.Records); err != nil {
				return nil, fmt.Errorf("variant records: %w", err)
			}
			if goalSQL != "" {
				if err := db.Pool().QueryRowContext(ctx, base+" AND ("+goalSQL+")", append(qargs, goalArgs...)...).Scan(&r.Reached); err != nil {
					return nil, fmt.Errorf("variant goal: %w", err)
				}
			}
		}
		if r.Records > 0 {
			r.Rate = float64(r.Reached) / float64(r.Records)
		}
		arm := ab.Arm{Records: r.Records, Reached: r.Reached}
		if i == 0 {
			control = arm
		} else {
			cmp := ab.Compare(control, arm)
			r.Z, r.P, r.Significant = &cmp.Z, &cmp.P, &cmp.Significant
		}
		rep.Variants = append(rep.Variants, r)
	}
	return rep, nil
}
