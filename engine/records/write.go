package records

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/schema/strictjson"
)

// decodeBody parses a request body into a JSON object, keeping numbers exact.
func decodeBody(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errorf(400, CodeBadJSON, "the body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(400, CodeBadJSON, "the body holds more than one JSON value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(400, CodeBadJSON, "the body must be a JSON object, not %s", jsonKind(v))
	}
	// encoding/json has replaced invalid UTF-8 and lone surrogates with
	// U+FFFD and kept the last of two equal keys: refuse such a body rather
	// than store what the client did not send.
	if err := strictjson.Check(body); err != nil {
		var se *strictjson.Error
		errors.As(err, &se)
		return nil, &Error{Status: 422, Code: CodeInvalid, Message: "the body cannot be read as sent: " + se.Error(),
			Details: schema.Problems{{Path: se.Pointer, Code: ProblemInvalidText, Params: pointerField(se.Pointer), Message: se.Message}}}
	}
	return obj, nil
}

// readOnly are the system columns no writer sets.
var readOnly = map[string]bool{"id": true, "created_at": true, "updated_at": true, "created_by": true, "version": true}

// pointerEscaper escapes a key for a JSON pointer (RFC 6901): the unknown
// key "a/b" is at "/a~1b".
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// validate checks a body against the entity and returns the engine values of
// the fields it sets, in field order, and every problem found, not just the
// first (the values are then those of the fields without problems). On
// create, absent fields take their defaults and required fields must end up
// set.
func (s *Service) validate(info *entityInfo, body map[string]any, create bool) ([]*schema.Field, []any, schema.Problems) {
	var problems schema.Problems
	for k := range body {
		f := info.byName[k]
		switch {
		case k == "version" && !create:
		case f == nil:
			addProblem(&problems, "/"+pointerEscaper.Replace(k), k, ProblemUnknownField, nil, "unknown field %q", k)
		case readOnly[k]:
			addProblem(&problems, "/"+k, k, ProblemReadOnly, map[string]any{"reason": "system"}, "%s is set by the server and cannot be written", k)
		case f.Type.Computed():
			addProblem(&problems, "/"+k, k, ProblemReadOnly, map[string]any{"reason": "computed"}, "%s is a computed %s field and cannot be written", k, f.Type)
		}
	}
	var (
		fields []*schema.Field
		values []any
	)
	for _, f := range info.fields {
		if readOnly[f.Name] || f.Type.Computed() {
			continue
		}
		raw, present := body[f.Name]
		if !present && create && len(f.Default) > 0 {
			dec := json.NewDecoder(bytes.NewReader(f.Default))
			dec.UseNumber()
			if err := dec.Decode(&raw); err == nil {
				present = true
			}
		}
		if !present {
			if create && f.Required {
				addProblem(&problems, "/"+f.Name, f.Name, ProblemRequired, nil, "%s is required", f.Name)
			}
			continue
		}
		v, err := coerce(f, raw)
		if err != nil {
			addValueProblem(&problems, "/"+f.Name, f.Name, err)
			continue
		}
		if f.Required && blank(v) {
			addProblem(&problems, "/"+f.Name, f.Name, ProblemRequired, nil, "%s is required", f.Name)
			continue
		}
		fields = append(fields, f)
		values = append(values, v)
	}
	return fields, values, problems
}

// blank reports whether a value leaves a required field empty: null, a
// text of only white space, or a multiselect without any option.
func blank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case json.RawMessage:
		return string(x) == "[]"
	}
	return false
}

// invalid is the 422 answer for a record with problems. The refs among the
// values that passed are checked too, so that one answer reports every
// problem. old is the stored record on a patch (nil on create, or when the
// caller may not read it).
func (s *Service) invalid(ctx context.Context, info *entityInfo, c Caller, fields []*schema.Field, values []any, old *Record, problems schema.Problems) error {
	if rerr := s.checkRefs(ctx, s.db.Pool(), info, c, fields, values, old); rerr != nil {
		if rerr.Status != 422 {
			return rerr
		}
		problems = append(problems, rerr.Details...)
	}
	sortProblems(problems)
	return &Error{Status: 422, Code: CodeInvalid, Message: "the record is not valid", Details: problems}
}

func sortProblems(p schema.Problems) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].Path < p[j-1].Path; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

// checkRefs verifies, inside the write's transaction, that every ref and user
// value names a record that exists, and every file value an upload of the
// record's app (fileQuery), so the caller gets a clear 422 rather than a
// foreign key error or a dangling id.
//
// A ref must also name a record the writer may read: otherwise a writer
// could point at any record by id, learn whether it exists and change the
// rollups of records they cannot see. A record they may not read gets the
// very answer a missing one gets, and the check is the same single indexed
// query, with the caller's row condition on the target added. A ref that
// keeps its stored value (old, on a patch) is only checked for existence:
// re-sending what the record already holds reveals nothing.
func (s *Service) checkRefs(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, fields []*schema.Field, values []any, old *Record) *Error {
	var problems schema.Problems
	seen, _ := ctx.Value(refsSeenKey{}).(*refsSeen)
	for i, f := range fields {
		id, ok := values[i].(string)
		if !ok {
			continue
		}
		var table, what string
		var g *grant
		switch {
		case f.Type == schema.Ref:
			table, what = schema.TableName(info.app.Name, f.Entity), f.Entity+" record"
			if old == nil || !sameValue(old.Get(f.Name), id) {
				if t := s.infoOf(info.app, f.Entity); t != nil {
					var err error
					if g, err = s.grant(t, c, schema.OpRead); err != nil {
						return errorf(500, "internal", "check %s: %v", f.Name, err)
					}
				}
			}
		case f.Type == schema.User:
			table, what = "_forma_users", "user"
		case f.Type == schema.File:
			table, what = "_forma_files", "file"
		default:
			continue
		}
		missing := func() {
			target := f.Entity
			if f.Type != schema.Ref {
				target = what
			}
			addProblem(&problems, "/"+f.Name, f.Name, ProblemRefMissing, map[string]any{"target": target, "value": id},
				"%s: no %s with id %q", f.Name, what, id)
		}
		// An import's transaction checks a ref or user id once (known):
		// its rows name the same stores, SKUs and owners again and again.
		known := seen != nil && f.Type != schema.File && (g == nil || g.all)
		if known && seen.has(table, id) {
			continue
		}
		q, args := "SELECT 1 FROM "+store.Quote(table)+` WHERE "id" = ?`, []any{id}
		if f.Type == schema.File {
			uploader := ""
			if attachesFile(c, f, id, old) {
				// A person attaching a file attaches their own upload:
				// holding an id (seen in a record they could once read)
				// is not a way to get at the file through a record of
				// their own.
				uploader = c.UserID
			}
			q, args = fileQuery(s.dialect, info.app.Name, id, uploader)
		}
		switch {
		case g == nil || g.all:
		case g.none:
			missing() // they may read no such record at all
			continue
		default:
			q += " AND " + g.where
			args = append(args, g.args...)
		}
		if refCheckHook != nil {
			refCheckHook(table, id)
		}
		var one int
		err := tx.QueryRowContext(ctx, q, args...).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			missing()
		case err != nil:
			return &Error{Status: 500, Code: "internal", Message: fmt.Sprintf("check %s: %v", f.Name, err), cause: err}
		case known:
			seen.add(table, id)
		}
	}
	if len(problems) > 0 {
		return &Error{Status: 422, Code: CodeInvalid, Message: "the record is not valid", Details: problems}
	}
	return nil
}

// attachesFile says whether a write puts a new file value on a record for
// a person writing through the API or the web UI (not an admin, not an
// automation, flow, import or script, which carry values they were given).
func attachesFile(c Caller, f *schema.Field, id string, old *Record) bool {
	if c.Admin || c.UserID == "" || (c.path() != PathAPI && c.path() != PathWeb) {
		return false
	}
	return old == nil || !sameValue(old.Get(f.Name), id)
}

// fileQuery checks a file field's value: an upload of the record's own app
// (engine/files; a file of another app is as missing as an unknown id). On
// PostgreSQL it share-locks the file's row, so the files' collector, which
// locks a row before checking that nothing references it, cannot remove the
// file while this write, not yet committed, takes it.
// With uploader set, the file must also be theirs.
func fileQuery(dialect, app, id, uploader string) (string, []any) {
	q, args := `SELECT 1 FROM "_forma_files" WHERE "id" = ? AND "app" = ?`, []any{id, app}
	if uploader != "" {
		q += ` AND "uploader" = ?`
		args = append(args, uploader)
	}
	if dialect == "postgres" {
		q += " FOR SHARE"
	}
	return q, args
}

// fieldRules refuses the body keys the caller may not write: a hidden field
// is reported exactly like a field that does not exist (and dropped from the
// body), a read-only one answers 403. The problems join validation's.
func (s *Service) checkFieldRules(info *entityInfo, c Caller, body map[string]any) (schema.Problems, error) {
	hidden, readonly := s.fieldRules(info, c)
	var problems schema.Problems
	var ro schema.Problems
	for k := range body {
		switch {
		case hidden[k]:
			delete(body, k)
			addProblem(&problems, "/"+pointerEscaper.Replace(k), k, ProblemUnknownField, nil, "unknown field %q", k)
		case readonly[k]:
			addProblem(&ro, "/"+k, k, ProblemReadOnly, map[string]any{"reason": "role"}, "%s is read-only for your role", k)
		}
	}
	if len(ro) > 0 {
		sortProblems(ro)
		return nil, &Error{Status: 403, Code: CodeForbidden, Message: "you may not write these fields", Details: ro}
	}
	return problems, nil
}

// validateFor checks a body as validate does, for caller c: fields their
// roles hide are unknown to them, and writing a read-only one is a 403.
func (s *Service) validateFor(info *entityInfo, c Caller, body map[string]any, create bool) ([]*schema.Field, []any, schema.Problems, error) {
	ruleProblems, err := s.checkFieldRules(info, c, body)
	if err != nil {
		return nil, nil, nil, err
	}
	fields, values, problems := s.validate(info, body, create)
	return fields, values, append(ruleProblems, problems...), nil
}

// project returns rec without the fields the caller may not see.
func project(rec *Record, view *entityInfo) *Record {
	if len(view.fields) == len(rec.fields) {
		return rec
	}
	out := &Record{fields: view.fields, values: make([]any, len(view.fields)), expand: rec.expand, notes: rec.notes}
	for i, f := range view.fields {
		out.values[i] = rec.Get(f.Name)
	}
	return out
}

// answer is a written record as its writer sees it: without their hidden
// fields, and with their values of per-reader rollups.
func (s *Service) answer(ctx context.Context, c Caller, info *entityInfo, rec *Record) (*Record, error) {
	view := s.visible(info, c)
	out := project(rec, view)
	if out == rec {
		out = &Record{fields: rec.fields, values: append([]any(nil), rec.values...), expand: rec.expand, notes: rec.notes}
	}
	if err := s.perReader(ctx, c, view, []*Record{out}); err != nil {
		return nil, err
	}
	return out, nil
}

// Create validates body and inserts a new record owned by the caller (or by
// the body's owner). It returns the stored record.
func (s *Service) Create(ctx context.Context, c Caller, app, entity string, body []byte) (*Record, error) {
	return retry(func() (*Record, error) { return s.create(ctx, c, app, entity, body) })
}

func (s *Service) create(ctx context.Context, c Caller, app, entity string, body []byte) (_ *Record, err error) {
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	defer func() { err = s.settled(ctx, info, false, err) }()
	g, err := s.grant(info, c, schema.OpCreate)
	if err != nil {
		return nil, err
	}
	if g.none {
		return nil, forbidden("you may not create %s records", info.entity.Name)
	}
	obj, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	ruleProblems, err := s.checkFieldRules(info, c, obj)
	if err != nil {
		return nil, err
	}
	if err := initialState(info, obj); err != nil {
		return nil, err
	}
	fields, values, problems := s.validate(info, obj, true)
	problems = append(ruleProblems, problems...)
	if len(problems) > 0 {
		return nil, s.invalid(ctx, info, c, fields, values, nil, problems)
	}
	var run *logicRun
	if info.logic {
		if run, err = s.newRun(info, c); err != nil {
			return nil, err
		}
		defer run.flush(ctx) // after the transaction ends (deferred calls run last-in first-out)
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("records: begin: %w", err)
	}
	defer tx.Rollback()
	if run != nil {
		if err := s.lockForRecompute(ctx, tx, info, false); err != nil {
			return nil, err
		}
	}
	rec, err := s.createTx(ctx, tx, info, c, run, g, fields, values, s.db.Now())
	if err != nil {
		return nil, err
	}
	if err := s.stillCurrent(ctx, tx, info); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, s.writeError(err)
	}
	if run != nil && s.jobs == nil {
		_ = run.afterHook(ctx, info, logic.AfterSave, rec, nil) // logged; the write stands
	}
	return s.answer(ctx, c, info, rec)
}

// createTx is a create inside its transaction, once the body is checked
// (and, with run, the recompute lock taken): beforeSave, refs, auto
// numbers, the insert, the create scope, history (and with it the event)
// and propagation to computed fields.
func (s *Service) createTx(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, run *logicRun, g *grant,
	fields []*schema.Field, values []any, now time.Time) (*Record, error) {
	id := s.newID()
	ownerSet := false
	for _, f := range fields {
		ownerSet = ownerSet || f.Name == "owner"
	}
	if !ownerSet && c.UserID != "" {
		fields = append(fields, info.byName["owner"])
		values = append(values, c.UserID)
	}
	createdBy := any(c.UserID)
	if c.UserID == "" {
		createdBy = nil
	}
	if run != nil {
		w := newWorking(info, nil)
		w.values["id"], w.values["created_at"], w.values["updated_at"], w.values["created_by"], w.values["version"] = id, now, now, createdBy, int64(1)
		for i, f := range fields {
			w.put(f, values[i])
		}
		for _, f := range info.entity.Fields {
			if f.Type == schema.Rollup && f.Rollup != nil && (f.Rollup.Op == "count" || f.Rollup.Op == "sum") {
				v, _ := fromScript(storedAs(&f), int64(0), true)
				w.put(info.byName[f.Name], v)
			}
		}
		if err := run.beforeSave(ctx, tx, w, nil); err != nil {
			return nil, err
		}
		fields, values = w.list()
	}
	if rerr := s.checkRefs(ctx, tx, info, c, fields, values, nil); rerr != nil {
		return nil, rerr
	}
	for _, f := range info.entity.Fields {
		if f.Type == schema.AutoNumber {
			var n int64
			err := tx.QueryRowContext(ctx, "INSERT INTO _forma_sequences (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = _forma_sequences.value + 1 RETURNING value",
				store.SequenceName(info.table, &f)).Scan(&n)
			if err != nil {
				return nil, fmt.Errorf("records: next %s: %w", f.Name, err)
			}
			fields = append(fields, info.byName[f.Name])
			values = append(values, n)
		}
	}
	cols := []string{`"id"`, `"created_at"`, `"updated_at"`, `"created_by"`, `"version"`}
	args := []any{id, encode(s.dialect, systemFields[1], now), encode(s.dialect, systemFields[2], now), createdBy, int64(1)}
	for i, f := range fields {
		cols = append(cols, store.Quote(f.Name))
		args = append(args, encode(s.dialect, f, values[i]))
	}
	q := "INSERT INTO " + store.Quote(info.table) + " (" + strings.Join(cols, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(cols)-1) + ")"
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return nil, s.writeError(err)
	}
	rec := &Record{fields: info.fields, values: make([]any, len(info.fields))}
	rec.values[0], rec.values[1], rec.values[2], rec.values[3], rec.values[5] = id, now, now, createdBy, int64(1)
	for i, f := range info.fields {
		for j, g := range fields {
			if g == f {
				rec.values[i] = values[j]
			}
		}
	}
	// The new record must fall inside the caller's create scope: owned by
	// them (own), by their team (team), and meet the role's condition.
	if ok, err := s.rowVisible(ctx, tx, info, id, g); err != nil {
		return nil, fmt.Errorf("records: check create scope: %w", err)
	} else if !ok {
		return nil, forbidden("this %s record would be outside what your role may create (owner or condition)", info.entity.Name)
	}
	if err := s.writeHistory(ctx, tx, info, c, id, 1, OpCreate, now, changesJSON(info.fields, nil, rec), nil, rec); err != nil {
		return nil, err
	}
	if run != nil {
		if err := run.propagate(ctx, tx, change{info: info, new: rec}); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// Patch changes the fields in body of the record id. The body must carry the
// record's current version; a stale one answers 409 and changes nothing.
func (s *Service) Patch(ctx context.Context, c Caller, app, entity, id string, body []byte) (*Record, error) {
	return retry(func() (*Record, error) { return s.patch(ctx, c, app, entity, id, body) })
}

func (s *Service) patch(ctx context.Context, c Caller, app, entity, id string, body []byte) (_ *Record, err error) {
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	defer func() { err = s.settled(ctx, info, false, err) }()
	rg, ug, err := s.grants(info, c, schema.OpUpdate)
	if err != nil {
		return nil, err
	}
	obj, err := decodeBody(body)
	if err != nil {
		return nil, err
	}
	fields, values, problems, err := s.validateFor(info, c, obj, false)
	if err != nil {
		return nil, err
	}
	var version any
	if rawVersion, ok := obj["version"]; !ok {
		addProblem(&problems, "/version", "version", ProblemRequired, nil, "version is required: send the version you read, so a concurrent change is not overwritten")
	} else if v, err := coerce(&schema.Field{Name: "version", Type: schema.Integer}, rawVersion); err != nil {
		addValueProblem(&problems, "/version", "version", err)
	} else if v == nil {
		addProblem(&problems, "/version", "version", ProblemRequired, nil, "version must be the version you read, not null")
	} else {
		version = v
	}
	if len(problems) > 0 {
		// The stored refs, so that re-sending one is not refused; a record
		// the caller may not read is nil here (and 404 once problems are gone).
		var old *Record
		if !rg.none {
			old, _ = s.get(ctx, s.db.Pool(), info, id, nil, rg)
		}
		return nil, s.invalid(ctx, info, c, fields, values, old, problems)
	}
	want := version.(int64)
	return s.patchOne(ctx, info, c, rg, ug, id, fields, values, &want, nil, nil)
}

// patchOne writes checked fields to the record id in a transaction of its
// own: a patch, or a flow's move (mv, with after run once the record is
// written, before the commit).
func (s *Service) patchOne(ctx context.Context, info *entityInfo, c Caller, rg, ug *grant, id string, fields []*schema.Field, values []any,
	want *int64, mv *moving, after func(ctx context.Context, tx store.Conn, rec *Record) error) (*Record, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("records: begin: %w", err)
	}
	defer tx.Rollback()
	rec, err := s.patchIn(ctx, tx, info, c, rg, ug, id, fields, values, want, mv, after)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, s.writeError(err)
	}
	return s.answer(ctx, c, info, rec)
}

// patchIn is patchOne inside tx, a transaction its caller commits: what
// must wait for the transaction's end (the script log, an after-hook run
// without a job queue) is queued on it.
func (s *Service) patchIn(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, rg, ug *grant, id string, fields []*schema.Field, values []any,
	want *int64, mv *moving, after func(ctx context.Context, tx store.Conn, rec *Record) error) (*Record, error) {
	var run *logicRun
	var afterSave func() // the after-hook without a job queue, once committed
	if info.logic {
		var err error
		if run, err = s.newRun(info, c); err != nil {
			return nil, err
		}
		tx.OnEnd(func(committed bool) {
			if committed && afterSave != nil {
				afterSave()
			}
			run.flush(ctx)
		})
		if err := s.lockForRecompute(ctx, tx, info, false); err != nil {
			return nil, err
		}
	}
	old, rec, err := s.patchTx(ctx, tx, info, c, run, rg, ug, id, fields, values, want, s.db.Now(), mv)
	if err != nil {
		return nil, err
	}
	if after != nil {
		if err := after(ctx, tx, rec); err != nil {
			return nil, err
		}
	}
	if err := s.stillCurrent(ctx, tx, info); err != nil {
		return nil, err
	}
	if run != nil && s.jobs == nil {
		afterSave = func() { _ = run.afterHook(ctx, info, logic.AfterSave, rec, old) } // logged; the write stands
	}
	return rec, nil
}

// patchTx is a patch inside its transaction, once the body is checked:
// lock the row, check the caller may change it (and version, unless it is
// nil: a bulk change takes the locked row as it is), run beforeSave,
// write, check the update scope still holds, write history (and with it
// the event) and propagate to computed fields.
//
// mv is a flow's move (move.go), nil for any other write: only a move may
// change the state field of a flow's entity.
func (s *Service) patchTx(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, run *logicRun, rg, ug *grant, id string,
	fields []*schema.Field, values []any, want *int64, now time.Time, mv *moving) (old, rec *Record, err error) {
	old, err = s.lockRow(ctx, tx, info, id)
	if err != nil {
		return nil, nil, err
	}
	if err := s.mayWrite(ctx, tx, info, id, old, rg, ug, "update"); err != nil {
		return nil, nil, err
	}
	version := recordVersion(old) // locked: a bulk change writes this one
	if want != nil && *want != version {
		return nil, nil, staleError(version)
	}
	if mv != nil && mv.check != nil {
		if err := mv.check(ctx, tx, old); err != nil {
			return nil, nil, err
		}
	}
	if run != nil {
		w := newWorking(info, old)
		for i, f := range fields {
			w.put(f, values[i])
		}
		if err := run.beforeSave(ctx, tx, w, old); err != nil {
			return nil, nil, err
		}
		fields, values = w.list()
	}
	if mv == nil {
		if err := governedField(info, fields, values, old); err != nil {
			return nil, nil, err
		}
	}
	if rerr := s.checkRefs(ctx, tx, info, c, fields, values, old); rerr != nil {
		return nil, nil, rerr
	}
	sets := []string{`"version" = "version" + 1`, `"updated_at" = ?`}
	args := []any{encode(s.dialect, systemFields[2], now)}
	for i, f := range fields {
		sets = append(sets, store.Quote(f.Name)+" = ?")
		args = append(args, encode(s.dialect, f, values[i]))
	}
	args = append(args, id, version)
	q := "UPDATE " + store.Quote(info.table) + " SET " + strings.Join(sets, ", ") + ` WHERE "id" = ? AND "version" = ?`
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, nil, s.writeError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, nil, s.missingOrStale(ctx, tx, info, id)
	}
	rec, err = s.get(ctx, tx, info, id, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	// A change may not carry a record out of the caller's update scope
	// (giving it to someone outside the team, breaking the condition).
	if ok, err := s.rowVisible(ctx, tx, info, id, ug); err != nil {
		return nil, nil, fmt.Errorf("records: check update scope: %w", err)
	} else if !ok {
		return nil, nil, forbidden("after this change the %s record would be outside what your role may update", info.entity.Name)
	}
	var note *historyNote
	if mv != nil {
		note = &mv.note
	}
	if err := s.writeHistoryNote(ctx, tx, info, c, id, recordVersion(rec), OpUpdate, now, changesJSON(info.fields, old, rec), "", note, old, rec); err != nil {
		return nil, nil, err
	}
	if run != nil {
		if err := run.propagate(ctx, tx, change{info: info, old: old, new: rec}); err != nil {
			return nil, nil, err
		}
	}
	return old, rec, nil
}

// grants returns the caller's read grant and their grant for op; having
// neither for op is a 403.
func (s *Service) grants(info *entityInfo, c Caller, op string) (read, write *grant, err error) {
	if read, err = s.grant(info, c, schema.OpRead); err != nil {
		return nil, nil, err
	}
	if write, err = s.grant(info, c, op); err != nil {
		return nil, nil, err
	}
	if write.none {
		return nil, nil, forbidden("you may not %s %s records", op, info.entity.Name)
	}
	return read, write, nil
}

// mayWrite answers 404 for a record that does not exist or that the caller
// may not read (so its existence is not revealed), and 403 for one they may
// read but not change.
func (s *Service) mayWrite(ctx context.Context, tx store.Conn, info *entityInfo, id string, old *Record, rg, wg *grant, what string) error {
	notFound := errorf(404, CodeNotFound, "no %s record with id %q", info.entity.Name, id)
	if old == nil {
		return notFound
	}
	if ok, err := s.rowVisible(ctx, tx, info, id, rg); err != nil {
		return fmt.Errorf("records: check read scope: %w", err)
	} else if !ok {
		return notFound
	}
	if ok, err := s.rowVisible(ctx, tx, info, id, wg); err != nil {
		return fmt.Errorf("records: check %s scope: %w", what, err)
	} else if !ok {
		return forbidden("your role may not %s this %s record", what, info.entity.Name)
	}
	return nil
}

// Delete removes the record id. When version is non-zero it must match.
func (s *Service) Delete(ctx context.Context, c Caller, app, entity, id string, version int64) error {
	_, err := retry(func() (struct{}, error) { return struct{}{}, s.delete(ctx, c, app, entity, id, version) })
	return err
}

func (s *Service) delete(ctx context.Context, c Caller, app, entity, id string, version int64) (err error) {
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return err
	}
	defer func() { err = s.settled(ctx, info, false, err) }()
	rg, dg, err := s.grants(info, c, schema.OpDelete)
	if err != nil {
		return err
	}
	var run *logicRun
	if info.logic {
		if run, err = s.newRun(info, c); err != nil {
			return err
		}
		defer run.flush(ctx) // after the transaction ends
	}
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("records: begin: %w", err)
	}
	defer tx.Rollback()
	if run != nil {
		if err := s.lockForRecompute(ctx, tx, info, true); err != nil {
			return err
		}
	}
	old, err := s.deleteTx(ctx, tx, info, c, run, rg, dg, id, version, s.db.Now())
	if err != nil {
		return err
	}
	if err := s.stillCurrent(ctx, tx, info); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.writeError(err)
	}
	if run != nil && s.jobs == nil {
		_ = run.afterHook(ctx, info, logic.AfterDelete, old, old) // logged; the delete stands
	}
	return nil
}

// deleteTx is a delete inside its transaction: lock the row, check the
// caller may delete it (and version, when non-zero), run beforeDelete,
// apply cascades and set-null, delete, write history (and the events) and
// propagate to computed fields.
func (s *Service) deleteTx(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, run *logicRun, rg, dg *grant, id string,
	version int64, now time.Time) (old *Record, err error) {
	old, err = s.lockRow(ctx, tx, info, id)
	if err != nil {
		return nil, err
	}
	if err := s.mayWrite(ctx, tx, info, id, old, rg, dg, "delete"); err != nil {
		return nil, err
	}
	if v := recordVersion(old); version != 0 && v != version {
		return nil, staleError(v)
	}
	if run != nil {
		if err := run.beforeDelete(ctx, info, old); err != nil {
			return nil, err
		}
	}
	// What the delete does to other records (cascade, setNull) is read
	// first: each such record gets its own history entry.
	fall := &fallout{}
	if info.cascades {
		if fall, err = s.deleteFallout(ctx, tx, info, id); err != nil {
			return nil, err
		}
		if err := s.clearRefs(ctx, tx, fall, now); err != nil {
			return nil, err
		}
	}
	q := "DELETE FROM " + store.Quote(info.table) + ` WHERE "id" = ?`
	args := []any{id}
	if version != 0 {
		q += ` AND "version" = ?`
		args = append(args, version)
	}
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return nil, s.writeError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, s.missingOrStale(ctx, tx, info, id)
	}
	if err := s.writeHistory(ctx, tx, info, c, id, recordVersion(old), OpDelete, now, changesJSON(info.fields, old, nil), old, nil); err != nil {
		return nil, err
	}
	if err := fall.writeHistory(ctx, tx, s, c, now); err != nil {
		return nil, err
	}
	if run != nil {
		if err := run.propagate(ctx, tx, change{info: info, old: old}); err != nil {
			return nil, err
		}
		if err := fall.apply(ctx, tx, run); err != nil {
			return nil, err
		}
	}
	return old, nil
}

func (s *Service) missingOrStale(ctx context.Context, tx store.Conn, info *entityInfo, id string) error {
	var v int64
	err := tx.QueryRowContext(ctx, `SELECT "version" FROM `+store.Quote(info.table)+` WHERE "id" = ?`, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return errorf(404, CodeNotFound, "no %s record with id %q", info.entity.Name, id)
	}
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	return &Error{Status: 409, Code: CodeConflict, Message: fmt.Sprintf("the record was changed since you read it (it is now at version %d); reload and try again", v)}
}

// writeError turns constraint failures into errors the caller can act on.
func (s *Service) writeError(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "FOREIGN KEY constraint failed"), strings.Contains(msg, "SQLSTATE 23503"):
		return errorf(409, CodeReferenced, "other records refer to this record (or a referenced record is missing)")
	case strings.Contains(msg, "UNIQUE constraint failed"), strings.Contains(msg, "SQLSTATE 23505"):
		e := errorf(409, CodeDuplicate, "another record already has this value in a unique field")
		cols := uniqueColumns(err)
		var ps schema.Problems
		for _, c := range cols {
			addProblem(&ps, "/"+c, c, ProblemDuplicate, map[string]any{"fields": cols},
				"another record already has this %s", c)
		}
		e.Details = ps
		return e
	}
	return fmt.Errorf("records: %w", err)
}

// retry runs fn again when PostgreSQL answers that a cached statement's
// plan went stale because a migration changed the table under it. A
// migration applied by this process resets the pool's caches itself; one
// applied by another server is noticed this way, one pooled connection at a
// time (pgx drops the failed statement from that connection's cache). A
// failed run changed nothing: its statement failed and its transaction was
// rolled back.
//
// It runs fn again when a migration committed while fn worked from the
// document before it (store.IsSchemaMoved): the next run reads the current
// document, so its answer is what that document says (a field renamed away
// is then unknown: a 4xx, not a failed statement). As often as the other
// runs allow, not once: a write queued behind locks (a migration's, or the
// logic lock of writes that recompute) can be overtaken by several
// migrations applied back to back, and each run again is owed to one that
// committed.
//
// It also runs fn again, after a short random pause, when PostgreSQL aborted
// it as a deadlock or serialization failure with a concurrent write.
func retry[T any](fn func() (T, error)) (T, error) {
	v, err := fn()
	for i := 0; i < 8; i++ {
		switch {
		case store.IsStalePlan(err) && i < 4:
		case store.IsSchemaMoved(err):
		case store.IsConflict(err):
			time.Sleep(time.Duration(1+mrand.IntN(5<<i)) * time.Millisecond)
		default:
			return v, err
		}
		v, err = fn()
	}
	return v, err
}

// settled decides, when a request built from info's document ends, whether
// its answer stands or a migration of the app overtook it: then it answers
// store.ErrAppMoved, which retry meets by running the request again on the
// new document, and marks the cached document outdated.
//
// A read is confirmed whatever it answered (read is true unless the read
// confirmed itself: get and list read the version in their own statement,
// versionProbe, when it returns rows and no other statement follows). The
// confirmation is one primary-key read of the version: the read ran after
// the document was current (cached documents are only replaced by newer
// ones) and before this check; if the check sees the same version, no
// migration committed in between, and the answer is that version's. That
// covers what fails no statement: a field added since the document was
// cached, and SQLite, where a quoted name that is no column reads as a
// string literal (a stale SELECT "memo" answers 'memo').
//
// A write that committed was confirmed inside its transaction
// (stillCurrent); a failed one is confirmed here, so that a refusal made
// by an outdated document (an unknown field that was just added) or a
// statement that met the new tables does not stand.
func (s *Service) settled(ctx context.Context, info *entityInfo, read bool, err error) error {
	switch {
	case err == nil && !read:
		return nil
	case err != nil && store.IsSchemaMoved(err):
		s.catalog.Outdated(info.app.Name, info.app.Version)
		return err
	case err != nil && ctx.Err() != nil:
		return err
	}
	v, verr := s.db.AppVersion(ctx, s.db.Pool(), info.app.Name)
	switch {
	case errors.Is(verr, store.ErrNotFound) || (verr == nil && v != info.app.Version):
		s.catalog.Outdated(info.app.Name, info.app.Version)
		if err == nil {
			return store.ErrAppMoved
		}
		return fmt.Errorf("%w: %w", store.ErrAppMoved, err)
	case err == nil && verr != nil:
		return fmt.Errorf("records: %w", verr)
	}
	return err
}

// stillCurrent checks, as the last statement of a write's transaction, that
// the app is still at the version the write was built from; if a migration
// committed since, the write is rolled back with store.ErrAppMoved and runs
// again on the new document. Last, because only then does the transaction
// hold locks on every table it wrote or read (PostgreSQL): a migration
// changing one of them waits for this transaction, and one that committed
// before is seen by this read. On SQLite the transaction holds the database's
// write lock from BEGIN, which a migration needs too.
func (s *Service) stillCurrent(ctx context.Context, tx store.Conn, info *entityInfo) error {
	v, err := s.db.AppVersion(ctx, tx, info.app.Name)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v != info.app.Version) {
		s.catalog.Outdated(info.app.Name, info.app.Version)
		return store.ErrAppMoved
	}
	return err
}
