package records

import (
	"context"
	"sort"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// This file is what packages that aggregate records (engine/query) use of
// the policy: the rows and fields a caller may read of an entity, as SQL to
// put in their own statements, so that a dashboard counts exactly what the
// records API would list. They never re-implement the rules.

// ReadScope is what a caller may read of one entity.
type ReadScope struct {
	Table string // the entity's table, unquoted
	// None: the caller may read no record of the entity.
	None bool
	// Where is an SQL condition over the table's unqualified columns with
	// ? placeholders for Args; "" when every record is readable.
	Where string
	Args  []any
	// Hidden are the fields the caller cannot see (also computed fields
	// that read one); they cannot be measured, grouped or filtered on.
	Hidden map[string]bool
}

// ReadScope returns what c may read of entity in app (the app's current
// document). A caller who is not in the app, or has no role that lets them
// read or create the entity, gets the same not-found error as from List.
func (s *Service) ReadScope(ctx context.Context, c Caller, app *schema.App, entity string) (*ReadScope, error) {
	info := s.infoOf(app, entity)
	if info == nil {
		return nil, errorf(404, CodeNotFound, "no entity %q in app %q", entity, app.Name)
	}
	if !c.Admin {
		if _, err := s.entityFor(ctx, c, app.Name, entity); err != nil {
			return nil, err
		}
	}
	g, err := s.grant(info, c, schema.OpRead)
	if err != nil {
		return nil, err
	}
	hidden, _ := s.fieldRules(info, c)
	return &ReadScope{Table: info.table, None: g.none, Where: g.where, Args: g.args, Hidden: hidden}, nil
}

// Key identifies the scope: two callers with equal keys read the same rows
// and fields, so an aggregate computed for one holds for the other.
func (r *ReadScope) Key() string {
	var b strings.Builder
	if r.None {
		return "none"
	}
	b.WriteString(r.Where)
	for _, a := range r.Args {
		b.WriteString("\x00")
		b.WriteString(strings.ReplaceAll(stringify(a), "\x00", ""))
	}
	names := make([]string, 0, len(r.Hidden))
	for n := range r.Hidden {
		names = append(names, n)
	}
	sort.Strings(names)
	b.WriteString("\x01" + strings.Join(names, ","))
	return b.String()
}

func stringify(a any) string {
	switch x := a.(type) {
	case string:
		return x
	case nil:
		return "<nil>"
	}
	return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(string(appendValue(nil, a)), "\n", ""), "\x00", ""))
}

// CompileFilter compiles a filter over entity as c sees it: a hidden field
// is an unknown field, @me is c. Variables other than @me must have been
// replaced by the caller. The SQL names the table's columns unqualified.
func (s *Service) CompileFilter(c Caller, app *schema.App, entity string, n filter.Node) (string, []any, error) {
	info := s.infoOf(app, entity)
	if info == nil {
		return "", nil, errorf(404, CodeNotFound, "no entity %q in app %q", entity, app.Name)
	}
	view := s.visible(info, c)
	return filter.Compile(n, view, s.encodeLiteral(view, &c), s.dialect)
}

// EncodeValue converts v (a JSON-decoded value: string, json.Number, bool)
// to what the column of field (of entity) stores on this dialect, checking
// it like a write would.
func (s *Service) EncodeValue(app *schema.App, entity, field string, v any) (any, error) {
	info := s.infoOf(app, entity)
	if info == nil || info.byName[field] == nil {
		return nil, errorf(400, CodeBadQuery, "no field %q in entity %q", field, entity)
	}
	f := info.byName[field]
	val, err := coerce(f, v)
	if err != nil {
		return nil, errorf(400, CodeBadQuery, "%s: %v", field, err)
	}
	return encode(s.dialect, f, val), nil
}

// noteChange counts a write to info's entity in its transaction, for the
// caches that must notice it (engine/query's dashboard results). It is
// called once per record change from writeHistory, which every write path
// goes through; it can move onto the record events once they exist.
func noteChange(ctx context.Context, tx store.Conn, info *entityInfo, id string) error {
	if b, ok := ctx.Value(changeBatchKey{}).(*changeBatch); ok {
		b.note(info.app.Name, info.entity.Name, id) // an import's: counted once per batch (importrows.go)
		return nil
	}
	return store.BumpChanges(ctx, tx, info.app.Name, info.entity.Name, id)
}

// CheckFilter compiles a filter over entity of a document being applied
// (not cached: the document is not installed yet), for apply-time checks
// of the sections that hold filters (dashboards).
func (s *Service) CheckFilter(app *schema.App, entity string, n filter.Node) error {
	e := app.Entity(entity)
	if e == nil {
		return errorf(400, CodeBadQuery, "no entity %q", entity)
	}
	info := newEntityInfo(app, e, "")
	_, _, err := filter.Compile(n, info, s.encodeLiteral(info, nil), s.dialect)
	return err
}
