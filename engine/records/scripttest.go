package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/schema"
)

// ScriptTest asks to run one piece of an entity's logic on a sample record
// without writing anything.
type ScriptTest struct {
	Entity string `json:"entity"`
	// Exactly one of Hook (beforeSave, afterSave, beforeDelete, afterDelete)
	// and Formula (a formula field's name); with neither, the formulas and
	// validation rules run as on a save.
	Hook    string `json:"hook,omitempty"`
	Formula string `json:"formula,omitempty"`
	// Record is the sample record; Previous, when given, is the stored
	// version the change starts from (ctx.previous, ctx.changed).
	Record   json.RawMessage `json:"record"`
	Previous json.RawMessage `json:"previous,omitempty"`
}

// ScriptTestResult is what the run did.
type ScriptTestResult struct {
	OK bool `json:"ok"`
	// Result is the formula's value (formula tests).
	Result any `json:"result,omitempty"`
	// Record is the sample after the hook and the formulas; Changes holds
	// the fields that differ from the sample.
	Record  map[string]any   `json:"record"`
	Changes map[string]any   `json:"changes"`
	Logs    []logLine        `json:"logs"`
	Error   *ScriptTestError `json:"error,omitempty"`
}

type logLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

// ScriptTestError is a refusal or failure of the run.
type ScriptTestError struct {
	Message string           `json:"message"`
	Details []schema.Problem `json:"details,omitempty"`
	Script  *ScriptFault     `json:"script,omitempty"`
}

// TestScript runs t as caller c inside a transaction that is always rolled
// back, so nothing it does (or that a db.find sees) is kept.
func (s *Service) TestScript(ctx context.Context, c Caller, appName string, t ScriptTest) (*ScriptTestResult, error) {
	info, err := s.entity(ctx, appName, t.Entity)
	if err != nil {
		return nil, err
	}
	run, err := s.newRun(info, c)
	if err != nil {
		return nil, err
	}
	var problems schema.Problems
	switch {
	case t.Hook != "" && t.Formula != "":
		problems.Add("/formula", "give either hook or formula, not both")
	case t.Hook != "":
		if _, ok := run.prog.Entity(info.entity.Name).Hooks[t.Hook]; !ok {
			problems.Add("/hook", "entity %s has no %s hook", info.entity.Name, t.Hook)
		}
	case t.Formula != "":
		if f := info.byName[t.Formula]; f == nil || f.Type != schema.Formula {
			problems.Add("/formula", "entity %s has no formula field %q", info.entity.Name, t.Formula)
		}
	}
	sample := func(path string, raw json.RawMessage) *Record {
		if len(raw) == 0 || string(raw) == "null" {
			return nil
		}
		obj, err := decodeBody(raw)
		if err != nil {
			problems.AddCode(path, "invalid_json", nil, "%v", err)
			return nil
		}
		rec := &Record{fields: info.fields, values: make([]any, len(info.fields))}
		for k := range obj {
			if info.byName[k] == nil {
				problems.Add(path+"/"+pointerEscaper.Replace(k), "unknown field %q", k)
			}
		}
		for i, f := range info.fields {
			raw, ok := obj[f.Name]
			if !ok {
				continue
			}
			v, err := coerce(storedAs(f), raw)
			if err != nil {
				problems.AddCode(path+"/"+f.Name, "type", map[string]any{"field": f.Name}, "%s %v", f.Name, err)
				continue
			}
			rec.values[i] = v
		}
		return rec
	}
	if len(t.Record) == 0 {
		problems.Add("/record", "record is required: the sample record to run on")
	}
	rec := sample("/record", t.Record)
	prev := sample("/previous", t.Previous)
	if len(problems) > 0 {
		return nil, &Error{Status: 422, Code: CodeInvalid, Message: "the test request is not valid", Details: problems}
	}

	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("records: begin: %w", err)
	}
	defer tx.Rollback()
	w := newWorking(info, prev)
	for i, f := range info.fields {
		if prev == nil || !sameValue(rec.values[i], prev.values[i]) {
			w.put(f, rec.values[i])
		}
	}
	before := w.plain()
	res := &ScriptTestResult{}
	switch t.Hook {
	case logic.BeforeSave:
		err = run.beforeSave(ctx, tx, w, prev)
	case logic.BeforeDelete:
		err = run.beforeDelete(ctx, info, rec)
	case logic.AfterSave, logic.AfterDelete:
		err = run.afterHook(ctx, info, t.Hook, rec, prev)
	default:
		err = run.compute(ctx, tx, w, t.Formula == "")
		if t.Formula != "" {
			res.Result = plainValue(w.values[t.Formula])
		}
	}
	for _, e := range run.entries {
		res.Logs = append(res.Logs, logLine{Level: e.Level, Message: e.Message})
	}
	if res.Logs == nil {
		res.Logs = []logLine{}
	}
	res.Record = w.plain()
	res.Changes = map[string]any{}
	for k, v := range res.Record {
		if !sameScriptValue(before[k], v) {
			res.Changes[k] = v
		}
	}
	var re *Error
	switch {
	case err == nil:
		res.OK = true
	case errors.As(err, &re) && re.Status == 422:
		res.Error = &ScriptTestError{Message: re.Message, Details: re.Details, Script: re.Script}
	default:
		return nil, err
	}
	return res, nil
}
