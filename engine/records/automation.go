package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// What the automation engine needs of records beyond the CRUD calls: a
// condition checked on the written record inside the write's transaction,
// and a script function run with a record.

// MatchTx reports whether the record id of entity meets node, read inside
// tx (a subscriber's transaction: it sees the write). The filter is
// compiled with full access, as the rules an automation's designer wrote
// see the whole record; a record that does not exist matches nothing.
func (s *Service) MatchTx(ctx context.Context, tx store.Conn, app *schema.App, entity, id string, node filter.Node) (bool, error) {
	info := s.infoOf(app, entity)
	if info == nil {
		return false, fmt.Errorf("records: no entity %q in app %s", entity, app.Name)
	}
	where, args, err := filter.Compile(node, info, s.encodeLiteral(info, nil), s.dialect)
	if err != nil {
		return false, err
	}
	var one int
	err = tx.QueryRowContext(ctx, "SELECT 1 FROM "+store.Quote(info.table)+` WHERE "id" = ? AND (`+where+")", append([]any{id}, args...)...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("records: match %s.%s %s: %w", app.Name, entity, id, err)
	}
	return true, nil
}

// Plain returns the record as scripts and expressions see it: every
// field by name, decimals as numbers, datetimes as RFC 3339 text.
func (r *Record) Plain() map[string]any { return plainRecord(r.fields, r.values) }

// RunFunction calls the script function fn ("script#function", as hooks
// name it) of app with the record id of entity, read as c reads it, as its
// first argument (a plain object) and a hook-like ctx as its second; the
// function runs with db.find and db.get under c's permissions. It returns
// the object the function returned (nil for anything else).
func (s *Service) RunFunction(ctx context.Context, c Caller, app *schema.App, entity, id, fn string) (map[string]any, error) {
	return s.runFunction(ctx, c, app, entity, id, fn, true)
}

// PreviewFunction is RunFunction for a dry run: the function's console
// lines and failure are not written to the app's script log.
func (s *Service) PreviewFunction(ctx context.Context, c Caller, app *schema.App, entity, id, fn string) (map[string]any, error) {
	return s.runFunction(ctx, c, app, entity, id, fn, false)
}

func (s *Service) runFunction(ctx context.Context, c Caller, app *schema.App, entity, id, fn string, log bool) (map[string]any, error) {
	info := s.infoOf(app, entity)
	if info == nil {
		return nil, errorf(404, CodeNotFound, "no entity %q in app %q", entity, app.Name)
	}
	scr, function, ok := schema.ParseHook(fn)
	if !ok {
		return nil, fmt.Errorf("records: %q is not script#function", fn)
	}
	rec, err := s.Get(ctx, c, app.Name, entity, id, "", "")
	if err != nil {
		return nil, err
	}
	run, err := s.newRun(info, c)
	if err != nil {
		return nil, err
	}
	if log {
		defer run.flush(ctx)
	}
	eng := run.prog.Scripts()
	if eng == nil || !eng.Has(scr, function) {
		return nil, fmt.Errorf("records: script %q has no top-level function %q", scr, function)
	}
	h := logic.Hook{Script: scr, Function: function}
	out, err := eng.Invoke(run.clocked(ctx), scr, function, []any{rec.Plain(), run.hookContext(info, "automation", false, nil, nil)},
		script.Env{Natives: run.natives(ctx, app.Name)})
	if rerr := run.report("automation", entity, id, h, out.Logs, err); rerr != nil {
		return nil, rerr
	}
	m, _ := out.Result.(map[string]any)
	return m, nil
}

// Readable returns the fields of entity that c may read (none when c may
// read no record of it), for what an automation shows of a record it can
// no longer read (a deleted one) as its role.
func (s *Service) Readable(app *schema.App, entity string, c Caller) (map[string]bool, error) {
	info := s.infoOf(app, entity)
	if info == nil {
		return nil, errorf(404, CodeNotFound, "no entity %q in app %q", entity, app.Name)
	}
	g, err := s.grant(info, c, schema.OpRead)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	if g.none {
		return out, nil
	}
	for _, f := range s.visible(info, c).fields {
		out[f.Name] = true
	}
	return out, nil
}
