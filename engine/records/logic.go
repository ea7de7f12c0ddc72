package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/engine/scriptlog"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// This file runs an app's logic on writes: the beforeSave/beforeDelete
// hooks and the formulas and validation rules inside the write's
// transaction, the after-hooks once it committed, and the recomputation of
// the formulas and rollups that a write makes stale elsewhere (a parent's
// rollup, a child's formula that reads this record through its ref).

// CodeScript is the error code of a write that a script refused or that
// failed in a script.
const CodeScript = "script_failed"

// ScriptFault says which script refused or failed, and where.
type ScriptFault struct {
	Script   string `json:"script"`
	Function string `json:"function,omitempty"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Kind     string `json:"kind"` // runtime, timeout, memory, stack, …
}

// program returns the compiled logic of app's version, built once.
func (s *Service) program(app *schema.App) (*logic.Program, error) {
	key := "logic\x00" + s.docKey(app)
	if v, ok := s.entities.Load(key); ok {
		return v.(*logic.Program), nil
	}
	p, problems := logic.Compile(app)
	if len(problems) > 0 {
		return nil, fmt.Errorf("records: the logic of app %s version %d does not compile: %w", app.Name, app.Version, problems)
	}
	v, _ := s.entities.LoadOrStore(key, p)
	return v.(*logic.Program), nil
}

// hasLogic reports whether writes to info's entity need the logic layer:
// hooks, formulas, validations or rollups on it, computed values elsewhere
// that read it (info.feeds), or deletes that cascade into an app that
// computes. It needs info's other flags set.
func hasLogic(info *entityInfo) bool {
	e := info.entity
	if len(e.Hooks) > 0 || len(e.Validations) > 0 || info.feeds {
		return true
	}
	for _, f := range e.Fields {
		if f.Type == schema.Formula || f.Type == schema.Rollup {
			return true
		}
	}
	// A delete that cascades or clears refs changes other records, which
	// computed fields may depend on.
	return info.cascades && appComputes(info.app)
}

// recordShapes are the shapes of the record a hook sees: before a save
// (its fields writable but the system and computed ones), after it, and
// before a delete (read-only).
type recordShapes struct{ save, saved, deleting *script.Shape }

func newRecordShapes(info *entityInfo) recordShapes {
	name := info.entity.Name
	names := make([]string, len(info.fields))
	for i, f := range info.fields {
		names[i] = f.Name
	}
	sh := recordShapes{
		save:     &script.Shape{Name: name, Fields: names, Writable: map[string]bool{}, ReadOnly: map[string]string{}},
		saved:    &script.Shape{Name: name, Fields: names, ReadOnly: map[string]string{}},
		deleting: &script.Shape{Name: name, Fields: names, ReadOnly: map[string]string{}},
	}
	for _, f := range info.fields {
		switch {
		case f.Name == "owner":
			sh.save.Writable[f.Name] = true
		case readOnly[f.Name]:
			sh.save.ReadOnly[f.Name] = "it is set by the server"
		case f.Type.Computed():
			sh.save.ReadOnly[f.Name] = fmt.Sprintf("it is a %s field, computed by Forma", f.Type)
		default:
			sh.save.Writable[f.Name] = true
		}
		sh.saved.ReadOnly[f.Name] = "the record is already saved; change it in beforeSave"
		sh.deleting.ReadOnly[f.Name] = "the record is being deleted"
	}
	return sh
}

// computedReads lists what each formula and rollup of e reads (see
// entityInfo.computedReads).
func computedReads(app *schema.App, e *schema.Entity) map[string][]string {
	var out map[string][]string
	for _, f := range e.Fields {
		var reads []string
		switch {
		case f.Type == schema.Formula:
			refs, _ := schema.FormulaRefs(f.Expr)
			for _, r := range refs {
				ref, field, ok := strings.Cut(r, ".")
				if !ok {
					reads = append(reads, r)
					continue
				}
				if rf := e.Field(ref); rf != nil && rf.Type == schema.Ref {
					reads = append(reads, ref, rf.Entity+"."+field)
				}
			}
		case f.Type == schema.Rollup && f.Rollup != nil:
			// A rollup reads the field it aggregates, the ref that groups
			// the children and every field its filter compares: a count of
			// deals "where cost > 1000" tells about cost as much as a sum of
			// cost does.
			ru := f.Rollup
			if ru.Field != "" {
				reads = append(reads, ru.Entity+"."+ru.Field)
			}
			if ru.Via != "" {
				reads = append(reads, ru.Entity+"."+ru.Via)
			}
			if ru.Filter != "" {
				if node, err := filter.Parse(ru.Filter); err == nil {
					filter.Fields(node, func(c *filter.Compare) { reads = append(reads, ru.Entity+"."+c.Field) })
				}
			}
		}
		if len(reads) > 0 {
			if out == nil {
				out = map[string][]string{}
			}
			out[f.Name] = reads
		}
	}
	return out
}

// appComputes reports whether any entity of app has formulas or rollups.
func appComputes(app *schema.App) bool {
	for i := range app.Entities {
		for _, f := range app.Entities[i].Fields {
			if f.Type == schema.Formula || f.Type == schema.Rollup {
				return true
			}
		}
	}
	return false
}

// formulaReadsRef reports whether a formula or rule of e reads ref.<field>.
func formulaReadsRef(e *schema.Entity, ref string) bool {
	reads := func(expr string) bool {
		refs, _ := schema.FormulaRefs(expr)
		for _, r := range refs {
			if strings.HasPrefix(r, ref+".") {
				return true
			}
		}
		return false
	}
	for _, f := range e.Fields {
		if f.Type == schema.Formula && reads(f.Expr) {
			return true
		}
	}
	for _, v := range e.Validations {
		if reads(v.Expr) {
			return true
		}
	}
	return false
}

// logicRun collects what one write's logic produced: console lines and
// after-hook failures go to the app's script log once the write is over.
type logicRun struct {
	s       *Service
	prog    *logic.Program
	c       Caller
	app     string
	entries []scriptlog.Entry
	// afresh makes propagate aggregate rollups again rather than adjust
	// them by each change (see adjusted): a migration stores a batch of
	// recomputed records before propagating them one by one, and a rollup
	// it adds has no stored value to adjust yet.
	afresh bool
}

// clocked gives a script call the engine's clock (store.DB.Clock): a hook
// stamping now() or a formula over today() follows it, not the wall clock.
func (r *logicRun) clocked(ctx context.Context) context.Context {
	return script.WithNow(ctx, r.s.db.Clock.Now)
}

func (s *Service) newRun(info *entityInfo, c Caller) (*logicRun, error) {
	p, err := s.program(info.app)
	if err != nil {
		return nil, err
	}
	return &logicRun{s: s, prog: p, c: c, app: info.app.Name}, nil
}

func (r *logicRun) log(event, entity, id string, h logic.Hook, lines []script.LogLine) {
	for _, l := range lines {
		r.entries = append(r.entries, scriptlog.Entry{App: r.app, At: l.At, Level: l.Level, Script: h.Script, Function: h.Function,
			Event: event, Entity: entity, RecordID: id, UserID: r.c.UserID, Message: l.Message})
	}
}

func (r *logicRun) logError(event, entity, id string, h logic.Hook, se *script.Error) {
	r.entries = append(r.entries, scriptlog.Entry{App: r.app, At: r.s.db.Now(), Level: "error", Script: h.Script, Function: h.Function,
		Event: event, Entity: entity, RecordID: id, UserID: r.c.UserID, Line: se.Line, Message: se.Kind + ": " + se.Message})
}

// report records what a script call wrote and, when it failed, the failure,
// and returns the 422 for the write (nil when the call succeeded).
func (r *logicRun) report(event, entity, id string, h logic.Hook, lines []script.LogLine, err error) error {
	r.log(event, entity, id, h, lines)
	if err == nil {
		return nil
	}
	var se *script.Error
	if errors.As(err, &se) {
		r.logError(event, entity, id, h, se)
	}
	return scriptError(h, err)
}

// flush writes the collected log lines; a failure to log never fails the
// write that produced them.
func (r *logicRun) flush(ctx context.Context) {
	if r == nil || len(r.entries) == 0 || r.s.scriptLog == nil {
		return
	}
	_ = r.s.scriptLog.Write(context.WithoutCancel(ctx), r.entries)
	r.entries = nil
}

// scriptError is the answer to a write a hook refused or broke: 422 with
// the script's name and line. A thrown Error's "Error: " prefix is dropped,
// so `throw new Error("Discounts over 20% need approval")` reads as written.
func scriptError(h logic.Hook, err error) error {
	var se *script.Error
	if !errors.As(err, &se) {
		return err
	}
	msg := strings.TrimPrefix(se.Message, "Error: ")
	if rest, ok := strings.CutPrefix(msg, "uncaught "); ok {
		msg = rest
		var text string
		if strings.HasPrefix(rest, `"`) && json.Unmarshal([]byte(rest), &text) == nil {
			msg = text // throw "Orders need a customer" reads as written
		}
	}
	where := h.String()
	if se.Line > 0 {
		where = fmt.Sprintf("%s (%s line %d)", h, se.Script, se.Line)
	}
	e := &Error{Status: 422, Code: CodeScript, Message: msg,
		Details: []schema.Problem{{Path: "", Code: "script", Params: map[string]any{"script": se.Script, "line": se.Line}, Message: fmt.Sprintf("%s: %s", where, msg)}},
		Script:  &ScriptFault{Script: se.Script, Function: h.Function, Line: se.Line, Column: se.Column, Kind: se.Kind}}
	return e
}

// plainValue is an engine value as scripts see it: decimals as numbers,
// datetimes as RFC 3339 text, multiselect and json as their JSON.
func plainValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return string(appendDatetimeText(make([]byte, 0, len(datetimeText)), x))
	}
	return v
}

// plainRecord is every field of rec as scripts see it.
func plainRecord(fields []*schema.Field, values []any) map[string]any {
	m := make(map[string]any, len(fields))
	for i, f := range fields {
		m[f.Name] = plainValue(values[i])
	}
	return m
}

// fromScript turns a value a script produced into f's engine value: numbers
// become decimal text rounded half away from zero to the field's scale
// (whole numbers for integer fields when round is set), then coerce checks
// it like any written value.
func fromScript(f *schema.Field, v any, round bool) (any, error) {
	st := f.StorageType()
	switch x := v.(type) {
	case int64:
		if st == schema.Text || st == schema.LongText {
			v = strconv.FormatInt(x, 10)
		} else {
			v = json.Number(strconv.FormatInt(x, 10))
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, nil
		}
		switch st {
		case schema.Decimal:
			v = json.Number(decimal.NewFromFloat(x).Round(int32(f.DecimalScale())).String())
		case schema.Integer:
			if round || x == math.Trunc(x) {
				v = json.Number(strconv.FormatFloat(math.Round(x), 'f', -1, 64))
			} else {
				v = json.Number(strconv.FormatFloat(x, 'f', -1, 64))
			}
		case schema.Text, schema.LongText:
			v = strconv.FormatFloat(x, 'f', -1, 64)
		default:
			v = json.Number(strconv.FormatFloat(x, 'f', -1, 64))
		}
	case string:
		switch st {
		case schema.Date:
			if len(x) > 10 && x[10] == 'T' {
				v = x[:10] // a datetime's date
			}
		case schema.Decimal:
			if d, err := decimal.NewFromString(strings.TrimSpace(x)); err == nil {
				v = json.Number(d.Round(int32(f.DecimalScale())).String())
			}
		case schema.Integer:
			if d, err := decimal.NewFromString(strings.TrimSpace(x)); err == nil && (round || d.IsInteger()) {
				v = json.Number(d.Round(0).String())
			}
		}
	case bool:
		if st == schema.Text || st == schema.LongText {
			v = strconv.FormatBool(x)
		}
	}
	return coerce(f, v)
}

// storedAs is f with its storage type, so coerce checks a computed value
// like a written one (formula and rollup fields are not writable as such).
func storedAs(f *schema.Field) *schema.Field {
	c := *f
	c.Type = f.StorageType()
	c.Required = false
	return &c
}

// working is a record being saved: engine values by field name.
type working struct {
	info   *entityInfo
	values map[string]any
	set    map[string]bool // fields the write stores
}

func newWorking(info *entityInfo, old *Record) *working {
	w := &working{info: info, values: make(map[string]any, len(info.fields)), set: map[string]bool{}}
	if old != nil {
		for i, f := range old.fields {
			w.values[f.Name] = old.values[i]
		}
	}
	return w
}

func (w *working) put(f *schema.Field, v any) {
	w.values[f.Name] = v
	w.set[f.Name] = true
}

// list returns the fields to store and their values, in field order.
func (w *working) list() ([]*schema.Field, []any) {
	var fields []*schema.Field
	var values []any
	for _, f := range w.info.fields {
		if w.set[f.Name] {
			fields = append(fields, f)
			values = append(values, w.values[f.Name])
		}
	}
	return fields, values
}

func (w *working) plain() map[string]any {
	m := make(map[string]any, len(w.info.fields))
	for _, f := range w.info.fields {
		m[f.Name] = plainValue(w.values[f.Name])
	}
	return m
}

func sameValue(a, b any) bool {
	return string(appendValue(nil, a)) == string(appendValue(nil, b))
}

// ctxShape is the ctx argument of a hook: read-only, each part converted
// for the script only when it reads it.
var ctxShape = func() *script.Shape {
	sh := &script.Shape{Name: "ctx", Fields: []string{"app", "changed", "entity", "event", "isNew", "previous", "user"}, ReadOnly: map[string]string{}}
	for _, k := range sh.Fields {
		sh.ReadOnly[k] = "ctx is read-only"
	}
	return sh
}()

// hookContext is the ctx argument of a hook.
func (r *logicRun) hookContext(info *entityInfo, event string, isNew bool, previous map[string]any, changed []string) *script.Record {
	roles := r.c.Roles
	if roles == nil {
		roles = []string{}
	}
	if changed == nil {
		changed = []string{}
	}
	var user any
	if r.c.UserID != "" || r.c.Admin {
		user = map[string]any{"id": r.c.UserID, "roles": roles, "team": r.c.TeamID, "admin": r.c.Admin}
	}
	return &script.Record{Shape: ctxShape, Values: map[string]any{"user": user, "app": info.app.Name, "entity": info.entity.Name, "event": event,
		"isNew": isNew, "previous": previous, "changed": changed}}
}

// natives are the host functions a hook may call: db.find and db.get, read
// only and under the caller's own permissions (the records service is the
// one place rules are enforced, so a script sees what its caller may see).
func (r *logicRun) natives(ctx context.Context, app string) map[string]map[string]script.Native {
	c := r.c
	return map[string]map[string]script.Native{"db": {
		"find": func(ctx context.Context, args []any) (any, error) {
			if len(args) < 1 {
				return nil, errors.New("db.find(entity, filter, {limit, sort, fields}) needs an entity name")
			}
			entity, ok := args[0].(string)
			if !ok {
				return nil, errors.New("db.find: the entity name must be a string")
			}
			q := Query{}
			if len(args) > 1 && args[1] != nil {
				if q.Filter, ok = args[1].(string); !ok {
					return nil, errors.New("db.find: the filter must be a string such as 'stage = \"won\"'")
				}
			}
			if len(args) > 2 && args[2] != nil {
				opts, ok := args[2].(map[string]any)
				if !ok {
					return nil, errors.New("db.find: options must be an object {limit, sort, fields}")
				}
				for k, v := range opts {
					switch k {
					case "limit":
						n, ok := v.(int64)
						if !ok || n < 1 || n > MaxLimit {
							return nil, fmt.Errorf("db.find: limit must be a whole number from 1 to %d", MaxLimit)
						}
						q.Limit = int(n)
					case "sort":
						if q.Sort, ok = v.(string); !ok {
							return nil, errors.New("db.find: sort must be a string such as '-amount,title'")
						}
					case "fields":
						if q.Fields, ok = v.(string); !ok {
							return nil, errors.New("db.find: fields must be a string such as 'title,amount'")
						}
					default:
						return nil, fmt.Errorf("db.find: unknown option %q (limit, sort, fields)", k)
					}
				}
			}
			page, err := r.s.List(ctx, c, app, entity, q)
			if err != nil {
				return nil, findError(err)
			}
			out := make([]map[string]any, len(page.Items))
			for i, rec := range page.Items {
				out[i] = plainRecord(rec.fields, rec.values)
			}
			return out, nil
		},
		"get": func(ctx context.Context, args []any) (any, error) {
			if len(args) != 2 {
				return nil, errors.New("db.get(entity, id) needs an entity name and an id")
			}
			entity, ok1 := args[0].(string)
			id, ok2 := args[1].(string)
			if !ok1 || !ok2 {
				return nil, errors.New("db.get: the entity name and the id must be strings")
			}
			// An unknown app or entity is an error; with those known, a 404
			// means no such record (or none the caller may see): null.
			// The document this process holds answers that (a miss is
			// confirmed against the database), not a version read per
			// call: Get reads the version with the record, and the write
			// the hook runs in confirms it before it commits.
			if _, err := r.s.requestEntity(ctx, app, entity); err != nil {
				return nil, findError(err)
			}
			rec, err := r.s.Get(ctx, c, app, entity, id, "", "")
			var re *Error
			if errors.As(err, &re) && re.Status == 404 {
				return nil, nil
			}
			if err != nil {
				return nil, findError(err)
			}
			return plainRecord(rec.fields, rec.values), nil
		},
	}}
}

// findError is what a script sees of a failed read: the message a user of
// the API would get, never SQL.
func findError(err error) error {
	var re *Error
	if errors.As(err, &re) && re.Status < 500 {
		return errors.New(re.Error())
	}
	return errors.New("db: the read failed")
}

// beforeSave runs the beforeSave hook and then the formulas and rules of w.
// old is the stored record (nil on create). It returns the 422 for a
// refusal, or nil with w updated.
func (r *logicRun) beforeSave(ctx context.Context, tx store.Conn, w *working, old *Record) error {
	info := w.info
	le := r.prog.Entity(info.entity.Name)
	if _, ok := le.Hooks[logic.BeforeSave]; ok {
		if err := r.runBeforeSave(ctx, w, old); err != nil {
			return err
		}
	}
	return r.compute(ctx, tx, w, true)
}

func (r *logicRun) runBeforeSave(ctx context.Context, w *working, old *Record) error {
	info := w.info
	var previous map[string]any
	var changed []string
	if old != nil {
		previous = plainRecord(old.fields, old.values)
		for _, f := range info.fields {
			if w.set[f.Name] && !sameValue(w.values[f.Name], old.Get(f.Name)) {
				changed = append(changed, f.Name)
			}
		}
	} else {
		for _, f := range info.fields {
			if w.set[f.Name] && w.values[f.Name] != nil {
				changed = append(changed, f.Name)
			}
		}
	}
	// The script reads the working values directly (engine values convert
	// to script values as they are read).
	rec := &script.Record{Values: w.values, Shape: info.shapes.save}
	id, _ := w.values["id"].(string)
	res, _, err := r.prog.RunHook(r.clocked(ctx), info.entity.Name, logic.HookCall{Event: logic.BeforeSave, Record: rec,
		Ctx: r.hookContext(info, logic.BeforeSave, old == nil, previous, changed), Natives: r.natives(ctx, info.app.Name)})
	if err := r.report(logic.BeforeSave, info.entity.Name, id, res.Hook, res.Logs, err); err != nil {
		return err
	}
	var problems schema.Problems
	for _, f := range info.fields {
		nv, ok := res.Changes[f.Name]
		if !ok {
			continue
		}
		v, err := fromScript(f, nv, false)
		if err != nil {
			code, params := ProblemType, map[string]any{"hook": res.Hook.String()}
			var ve *valueError
			if errors.As(err, &ve) {
				code = ve.code
				for k, v := range ve.params {
					params[k] = v
				}
			}
			addProblem(&problems, "/"+f.Name, f.Name, code, params, "%s (set by %s) %v", f.Name, res.Hook, err)
			continue
		}
		if sameValue(v, w.values[f.Name]) {
			continue
		}
		if f.Required && blank(v) {
			addProblem(&problems, "/"+f.Name, f.Name, ProblemRequired, map[string]any{"hook": res.Hook.String()}, "%s is required (cleared by %s)", f.Name, res.Hook)
			continue
		}
		w.put(f, v)
	}
	if len(problems) > 0 {
		return &Error{Status: 422, Code: CodeInvalid, Message: "the record is not valid", Details: problems}
	}
	return nil
}

// sameScriptValue compares a value handed to a script with what came back.
func sameScriptValue(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) == string(jb) {
		return true
	}
	// 1500.00 goes in as a number and comes back as 1500.
	if na, ok := a.(json.Number); ok {
		da, err1 := decimal.NewFromString(string(na))
		db, err2 := decimal.NewFromString(string(jb))
		return err1 == nil && err2 == nil && da.Equal(db)
	}
	return false
}

// compute evaluates the formulas (and, when rules is set, the validation
// rules) of w's entity and stores changed formula values in w.
func (r *logicRun) compute(ctx context.Context, tx store.Conn, w *working, rules bool) error {
	info := w.info
	le := r.prog.Entity(info.entity.Name)
	if !le.Computes() {
		return nil
	}
	in := w.plain()
	for ref, targets := range le.RefReads {
		obj, err := r.s.refValues(ctx, tx, info, ref, targets, w.values[ref])
		if err != nil {
			return err
		}
		in[ref] = obj
	}
	out, err := r.prog.Compute(r.clocked(ctx), info.entity.Name, in)
	id, _ := w.values["id"].(string)
	h := logic.Hook{Script: "logic/" + info.entity.Name, Function: "compute"}
	if err := r.report("formula", info.entity.Name, id, h, out.Logs, err); err != nil {
		return err
	}
	var problems schema.Problems
	for _, p := range out.Problems {
		if !rules && !strings.HasPrefix(p.Message, "formula ") {
			continue
		}
		problems = append(problems, p)
	}
	for _, f := range le.Formulas {
		v, err := fromScript(storedAs(f), out.Values[f.Name], true)
		if err != nil {
			addProblem(&problems, "/"+f.Name, f.Name, ProblemFormula, nil, "formula %s gave %v which %v", f.Name, out.Values[f.Name], err)
			continue
		}
		if !sameValue(v, w.values[f.Name]) {
			w.put(f, v)
		}
	}
	if len(problems) > 0 {
		sortProblems(problems)
		return &Error{Status: 422, Code: CodeInvalid, Message: "the record is not valid", Details: problems}
	}
	return nil
}

// refValues loads the fields of the record a ref points at, for formulas
// that read ref.field. A null ref (or one pointing nowhere) gives an object
// whose fields are all null, so "account.industry" is null, not an error.
func (s *Service) refValues(ctx context.Context, tx store.Conn, info *entityInfo, ref string, targets []string, id any) (map[string]any, error) {
	obj := make(map[string]any, len(targets)+1)
	for _, t := range targets {
		obj[t] = nil
	}
	sid, _ := id.(string)
	obj["id"] = nil
	if sid == "" {
		return obj, nil
	}
	tinfo := s.infoOf(info.app, info.byName[ref].Entity)
	if tinfo == nil {
		return obj, nil
	}
	var sel []*schema.Field
	for _, t := range targets {
		if f := tinfo.byName[t]; f != nil {
			sel = append(sel, f)
		}
	}
	if len(sel) == 0 {
		obj["id"] = sid
		return obj, nil
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+columnList(sel)+" FROM "+store.Quote(tinfo.table)+` WHERE "id" = ?`, sid)
	if err != nil {
		return nil, fmt.Errorf("records: read %s for formulas: %w", ref, err)
	}
	recs, err := s.scan(rows, sel)
	if err != nil {
		return nil, err
	}
	if len(recs) == 1 {
		obj["id"] = sid
		for i, f := range sel {
			obj[f.Name] = plainValue(recs[0].values[i])
		}
	}
	return obj, nil
}

// afterHook runs an after-hook on a committed record. Its failure cannot
// undo the write: it is recorded in the app's script log (the automation
// capability will turn after-hooks into durable jobs with retries); the
// returned error is for the script test endpoint, which reports it.
//
// rec is the stored record (the deleted one for afterDelete); previous is
// the record before the write (nil on create).
func (r *logicRun) afterHook(ctx context.Context, info *entityInfo, event string, rec, previous *Record) error {
	le := r.prog.Entity(info.entity.Name)
	if _, ok := le.Hooks[event]; !ok {
		return nil
	}
	var prev map[string]any
	var changed []string
	if previous != nil {
		prev = plainRecord(previous.fields, previous.values)
	}
	if event == logic.AfterSave {
		changed = changedNames(info.fields, previous, rec)
	}
	view := &script.Record{Values: plainRecord(rec.fields, rec.values), Shape: info.shapes.saved}
	id := rec.ID()
	res, _, err := r.prog.RunHook(r.clocked(context.WithoutCancel(ctx)), info.entity.Name, logic.HookCall{Event: event, Record: view,
		Ctx: r.hookContext(info, event, event == logic.AfterSave && previous == nil, prev, changed), Natives: r.natives(ctx, info.app.Name)})
	return r.report(event, info.entity.Name, id, res.Hook, res.Logs, err)
}

// changedNames lists the tracked fields that differ between two records.
func changedNames(fields []*schema.Field, old, new *Record) []string {
	var out []string
	for _, f := range fields {
		if !tracked(f) {
			continue
		}
		var ov, nv any
		if old != nil {
			ov = old.Get(f.Name)
		}
		if new != nil {
			nv = new.Get(f.Name)
		}
		if !sameValue(ov, nv) {
			out = append(out, f.Name)
		}
	}
	return out
}

// beforeDelete runs the beforeDelete hook on the stored record; a throw
// refuses the delete.
func (r *logicRun) beforeDelete(ctx context.Context, info *entityInfo, old *Record) error {
	if _, ok := r.prog.Entity(info.entity.Name).Hooks[logic.BeforeDelete]; !ok {
		return nil
	}
	view := &script.Record{Values: plainRecord(old.fields, old.values), Shape: info.shapes.deleting}
	res, _, err := r.prog.RunHook(r.clocked(ctx), info.entity.Name, logic.HookCall{Event: logic.BeforeDelete, Record: view,
		Ctx: r.hookContext(info, logic.BeforeDelete, false, view.Values, nil), Natives: r.natives(ctx, info.app.Name)})
	return r.report(logic.BeforeDelete, info.entity.Name, old.ID(), res.Hook, res.Logs, err)
}
