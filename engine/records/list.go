package records

import (
	"bytes"
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// Query is a list request, as the API receives it.
type Query struct {
	Filter string
	Sort   string // "-amount,title"
	Limit  int    // 0 = DefaultLimit
	Cursor string
	Fields string // "title,amount"
	Expand string // "account"
	Count  string // "", CountExact or CountEstimate
	Totals string // "count,sum:amount,avg:amount"
}

// Limits of a list request.
const (
	DefaultLimit = 50
	MaxLimit     = 500
	maxSortKeys  = 5
)

// Page is one page of a list.
type Page struct {
	Items      []*Record
	NextCursor string // "" on the last page

	// Count, when the query asked for one, is how many records the list
	// has (all pages); CountExact says whether it was counted or estimated.
	Count      *int64
	CountExact bool
	// Totals, when asked for, aggregate every record of the list.
	Totals []TotalValue
}

// MarshalJSON writes {"items": [...], "nextCursor": "…" | null}.
func (p *Page) MarshalJSON() ([]byte, error) { return p.AppendJSON(nil), nil }

// AppendJSON appends the page as JSON to b.
func (p *Page) AppendJSON(b []byte) []byte {
	b = append(b, `{"items":[`...)
	var keys fieldKeys
	for i, r := range p.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.appendJSONKeys(b, &keys)
	}
	b = endPage(b, p.NextCursor)
	if p.Count == nil && p.Totals == nil {
		return b
	}
	b = b[:len(b)-1] // reopen the object
	if p.Count != nil {
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, *p.Count, 10)
		b = append(b, `,"countExact":`...)
		b = strconv.AppendBool(b, p.CountExact)
	}
	if p.Totals != nil {
		b = appendTotals(b, p.Totals)
	}
	return append(b, '}')
}

// endPage closes a page's items array and appends its nextCursor (null on
// the last page) and the closing brace.
func endPage(b []byte, next string) []byte {
	b = append(b, `],"nextCursor":`...)
	if next == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, next)
	}
	return append(b, '}')
}

// readable resolves an entity and the caller's read grant; a caller who may
// read none of its records gets a 403.
//
// It uses the document this process has cached (requestEntity): the caller
// must end with settled, which readable does itself for its own refusals.
func (s *Service) readable(ctx context.Context, c Caller, app, entity string) (*entityInfo, *grant, error) {
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return nil, nil, err
	}
	g, err := s.grant(info, c, schema.OpRead)
	if err == nil && g.none {
		err = forbidden("you may not read %s records", info.entity.Name)
	}
	if err != nil {
		return nil, nil, s.settled(ctx, info, true, err)
	}
	return info, g, nil
}

// listHook, when set (by tests), sees each list page's SQL and arguments.
var listHook func(query string, args []any)

// Get returns one record.
func (s *Service) Get(ctx context.Context, c Caller, app, entity, id string, fields, expand string) (*Record, error) {
	return retry(func() (*Record, error) { return s.getOne(ctx, c, app, entity, id, fields, expand) })
}

func (s *Service) getOne(ctx context.Context, c Caller, app, entity, id string, fields, expand string) (rec *Record, err error) {
	info, g, err := s.readable(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	probed := false // the record was read together with the app's version
	defer func() { err = s.settled(ctx, info, !probed, err) }()
	info = s.visible(info, c)
	sel, err := info.selection(fields)
	if err != nil {
		return nil, err
	}
	exp, err := info.expansions(expand)
	if err != nil {
		return nil, err
	}
	// The refs to expand are read even when fields leaves them out.
	read := sel
	if sel != nil {
		read = append([]*schema.Field{}, sel...)
		for _, f := range exp {
			read = appendMissing(read, f)
		}
	}
	if read == nil {
		read = info.fields
	}
	query := "SELECT " + columnList(read) + versionProbe + " FROM " + store.Quote(info.table) + ` WHERE "id" = ?`
	args := []any{info.app.Name, id}
	if !g.all {
		query += " AND " + g.where
		args = append(args, g.args...)
	}
	rows, err := s.db.Pool().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("records: get: %w", err)
	}
	var seen versionSeen
	recs, err := s.scan(rows, read, &seen)
	switch {
	case err != nil:
		return nil, err
	case len(recs) == 0:
		return nil, errorf(404, CodeNotFound, "no %s record with id %q", info.entity.Name, id)
	case seen.Int64 != int64(info.app.Version):
		return nil, store.ErrAppMoved
	}
	rec = recs[0]
	rr, err := s.readerRollups(info, c)
	if err != nil {
		return nil, err
	}
	if err := s.fillPerReader(ctx, s.db.Pool(), info, rr, []*Record{rec}); err != nil {
		return nil, err
	}
	if err := s.expand(ctx, c, info, []*Record{rec}, exp); err != nil {
		return nil, err
	}
	probed = len(exp) == 0 && len(rr) == 0 // these ran statements of their own
	if sel != nil && len(read) != len(sel) {
		rec.fields, rec.values = sel, rec.values[:len(sel)]
	}
	return rec, nil
}

// versionProbe ends the column list of a read: the app's version, read in
// the same statement as the records, so that the read learns which version
// of the tables it saw without a query of its own (see settled). Its
// argument, the app's name, comes before the WHERE clause's.
const versionProbe = `, (SELECT "version" FROM "_forma_apps" WHERE "name" = ?)`

// get reads record id; g (nil = no restriction) limits it to the rows the
// caller may read, so a record they may not see is simply not found.
func (s *Service) get(ctx context.Context, q store.Conn, info *entityInfo, id string, sel []*schema.Field, g *grant) (*Record, error) {
	if sel == nil {
		sel = info.fields
	}
	query := "SELECT " + columnList(sel) + " FROM " + store.Quote(info.table) + ` WHERE "id" = ?`
	args := []any{id}
	if g != nil && !g.all {
		query += " AND " + g.where
		args = append(args, g.args...)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("records: get: %w", err)
	}
	recs, err := s.scan(rows, sel)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errorf(404, CodeNotFound, "no %s record with id %q", info.entity.Name, id)
	}
	return recs[0], nil
}

func columnList(fields []*schema.Field) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(store.Quote(f.Name))
	}
	return b.String()
}

// scan reads rows of the columns of sel, and of as many more columns into
// extra (the same in every row, such as versionProbe's).
// versionSeen scans the app version a page's statement read with its rows.
// It converts the driver's integer itself: sql.NullInt64 goes through
// database/sql's reflection for every row.
type versionSeen struct{ Int64 int64 }

func (v *versionSeen) Scan(src any) error {
	switch x := src.(type) {
	case int64:
		v.Int64 = x
	case int32:
		v.Int64 = int64(x)
	case nil:
		v.Int64 = 0
	default:
		return fmt.Errorf("records: app version read as %T", src)
	}
	return nil
}

// scanSlab is how many records scan allocates at once.
const scanSlab = 32

func (s *Service) scan(rows *sql.Rows, sel []*schema.Field, extra ...any) ([]*Record, error) {
	defer rows.Close()
	var out []*Record
	raw := make([]any, len(sel))
	ptrs := make([]any, len(sel), len(sel)+len(extra))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	ptrs = append(ptrs, extra...)
	// Records and their values are carved from slabs of scanSlab records,
	// one allocation each instead of two per row.
	var recs []Record
	var vals []any
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("records: scan: %w", err)
		}
		if len(recs) == cap(recs) {
			recs = make([]Record, 0, scanSlab)
			vals = make([]any, scanSlab*len(sel))
		}
		recs = append(recs, Record{fields: sel, values: vals[:len(sel):len(sel)]})
		vals = vals[len(sel):]
		rec := &recs[len(recs)-1]
		for i, f := range sel {
			v, err := decode(s.dialect, f, raw[i])
			if err != nil {
				return nil, fmt.Errorf("records: read %s: %w", f.Name, err)
			}
			rec.values[i] = v
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("records: scan: %w", err)
	}
	return out, nil
}

// selection resolves the fields parameter; nil means every field.
func (info *entityInfo) selection(fields string) ([]*schema.Field, error) {
	if strings.TrimSpace(fields) == "" {
		return nil, nil
	}
	want := map[string]bool{"id": true}
	for _, n := range strings.Split(fields, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if info.byName[n] == nil {
			return nil, errorf(400, CodeBadQuery, "fields: unknown field %q", n)
		}
		want[n] = true
	}
	var sel []*schema.Field
	for _, f := range info.fields {
		if want[f.Name] {
			sel = append(sel, f)
		}
	}
	return sel, nil
}

func (info *entityInfo) expansions(expand string) ([]*schema.Field, error) {
	if strings.TrimSpace(expand) == "" {
		return nil, nil
	}
	var out []*schema.Field
	seen := map[string]bool{}
	for _, n := range strings.Split(expand, ",") {
		n = strings.TrimSpace(n)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		f := info.byName[n]
		if f == nil || f.Type != schema.Ref {
			return nil, errorf(400, CodeBadQuery, "expand: %q is not a ref field of %s", n, info.entity.Name)
		}
		out = append(out, f)
	}
	return out, nil
}

// expand loads, with one query per ref field, the records the page points
// at and attaches them under "expand". An expanded record obeys its own
// entity's rules: one the caller may not read expands to null, and its
// hidden fields are left out.
func (s *Service) expand(ctx context.Context, c Caller, info *entityInfo, recs []*Record, refs []*schema.Field) error {
	for _, f := range refs {
		// The same app version as the page: no second catalog look-up.
		target := s.infoOf(info.app, f.Entity)
		if target == nil {
			return errorf(404, CodeNotFound, "no entity %q in app %q", f.Entity, info.app.Name)
		}
		tg, err := s.grant(target, c, schema.OpRead)
		if err != nil {
			return err
		}
		target = s.visible(target, c)
		ids := map[string]bool{}
		var args []any
		for _, r := range recs {
			if id, ok := r.Get(f.Name).(string); ok && !ids[id] {
				ids[id] = true
				args = append(args, id)
			}
		}
		byID := map[string]*Record{}
		if len(args) > 0 && !tg.none {
			q := "SELECT " + target.selects + " FROM " + store.Quote(target.table) + ` WHERE "id" IN (?` + strings.Repeat(", ?", len(args)-1) + ")"
			if !tg.all {
				q += " AND " + tg.where
				args = append(args, tg.args...)
			}
			rows, err := s.db.Pool().QueryContext(ctx, q, args...)
			if err != nil {
				return fmt.Errorf("records: expand %s: %w", f.Name, err)
			}
			found, err := s.scan(rows, target.fields)
			if err != nil {
				return err
			}
			if err := s.perReader(ctx, c, target, found); err != nil {
				return err
			}
			for _, r := range found {
				byID[r.ID()] = r
			}
		}
		for _, r := range recs {
			id, _ := r.Get(f.Name).(string)
			r.expand = append(r.expand, expanded{name: f.Name, record: byID[id]})
		}
	}
	return nil
}

type sortKey struct {
	field *schema.Field
	desc  bool
}

func (info *entityInfo) sortKeys(sort string) ([]sortKey, error) {
	var keys []sortKey
	seen := map[string]bool{}
	for _, part := range strings.Split(sort, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k := sortKey{}
		switch part[0] {
		case '-':
			k.desc, part = true, part[1:]
		case '+':
			part = part[1:]
		}
		f := info.byName[part]
		if f == nil {
			return nil, errorf(400, CodeBadQuery, "sort: unknown field %q", part)
		}
		switch f.StorageType() {
		case schema.MultiSelect, schema.JSON:
			return nil, errorf(400, CodeBadQuery, "sort: cannot sort by %s field %q", f.StorageType(), part)
		}
		if seen[part] {
			return nil, errorf(400, CodeBadQuery, "sort: %q appears twice", part)
		}
		seen[part] = true
		k.field = f
		keys = append(keys, k)
		if f.Name == "id" {
			break // id is unique: later keys could never matter
		}
	}
	if len(keys) > maxSortKeys {
		return nil, errorf(400, CodeBadQuery, "sort: at most %d keys", maxSortKeys)
	}
	if len(keys) == 0 {
		keys = []sortKey{{field: info.byName["id"], desc: true}} // newest first
	}
	// id breaks ties, so the order is total and a cursor names one place.
	if last := keys[len(keys)-1]; last.field.Name != "id" {
		keys = append(keys, sortKey{field: info.byName["id"], desc: keys[0].desc})
	}
	return keys, nil
}

// List returns one page of records matching q.
func (s *Service) List(ctx context.Context, c Caller, app, entity string, q Query) (*Page, error) {
	return retry(func() (*Page, error) { return s.list(ctx, c, app, entity, q, nil) })
}

// Scope is a set of rows that replaces the caller's row rules in a list:
// an SQL condition over the entity's table (its "id" column, for one),
// built by a trusted caller (engine/assign's claim pool: a rep sees the
// pooled leads they do not own). Nothing else widens: the caller must
// still be allowed to read the entity at all (403 otherwise), field rules
// hide what they hide, and expansions, filters and sorting follow the
// caller's rules as in List.
type Scope struct {
	Where string
	Args  []any
}

// ListScoped is List over the rows of scope instead of the rows the
// caller's row rules give.
func (s *Service) ListScoped(ctx context.Context, c Caller, app, entity string, q Query, scope Scope) (*Page, error) {
	if strings.TrimSpace(scope.Where) == "" {
		return nil, errorf(500, "internal", "records: an empty list scope")
	}
	return retry(func() (*Page, error) { return s.list(ctx, c, app, entity, q, &scope) })
}

func (s *Service) list(ctx context.Context, c Caller, app, entity string, q Query, scope *Scope) (_ *Page, err error) {
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	probed := false // the page was read together with the app's version
	defer func() { err = s.settled(ctx, info, !probed, err) }()
	lp, err := s.pagePlan(info, c, q, scope)
	if err != nil {
		return nil, err
	}
	probe := ""
	if c.Confirm != nil {
		probe = c.Confirm.Probe
	}
	query, args := lp.statement(probe)
	if listHook != nil {
		listHook(query, args)
	}
	start := s.now()
	rows, err := s.db.Pool().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("records: list: %w", err)
	}
	var seen, confirmed versionSeen
	extra := []any{&seen, &confirmed}
	if probe == "" {
		extra = extra[:1]
	}
	recs, err := s.scan(rows, lp.read, extra...)
	if err != nil {
		return nil, err
	}
	s.observe(lp, s.now().Sub(start), start)
	if probe != "" {
		// An empty page read no probe: it is read alone then, as the
		// caller would have without the cache.
		if len(recs) == 0 {
			if err := s.db.Pool().QueryRowContext(ctx, "SELECT "+probe).Scan(&confirmed); err != nil {
				return nil, fmt.Errorf("records: list: confirm the caller: %w", err)
			}
		}
		if confirmed.Int64 != c.Confirm.Want {
			return nil, ErrUnconfirmed
		}
	}
	info = lp.info
	if len(recs) > 0 && seen.Int64 != int64(info.app.Version) {
		return nil, store.ErrAppMoved
	}
	// An empty page saw no version: settled reads it.
	// Expansions, per-reader rollups, counts and totals run statements of
	// their own.
	probed = len(recs) > 0 && len(lp.exp) == 0 && len(lp.rr) == 0 && q.Count == "" && q.Totals == ""
	page := &Page{Items: recs}
	if len(recs) > lp.limit {
		page.Items = recs[:lp.limit]
		page.NextCursor = makeCursor(lp.keys, lp.check, page.Items[lp.limit-1])
	}
	if err := s.fillPerReader(ctx, s.db.Pool(), info, lp.rr, page.Items); err != nil {
		return nil, err
	}
	if err := s.expand(ctx, c, info, page.Items, lp.exp); err != nil {
		return nil, err
	}
	if lp.sel != nil && len(lp.read) != len(lp.sel) {
		for _, r := range page.Items {
			r.fields, r.values = lp.sel, r.values[:len(lp.sel)]
		}
	}
	if page.Items == nil {
		page.Items = []*Record{}
	}
	if err := s.countAndTotals(ctx, lp, q, page); err != nil {
		return nil, err
	}
	return page, nil
}

// listPlan is a list request resolved against the entity and the caller:
// what to read, in which order, under which conditions.
type listPlan struct {
	info   *entityInfo // as the caller sees it
	sel    []*schema.Field
	read   []*schema.Field // sel plus the sort keys and refs the page needs
	exp    []*schema.Field
	keys   []sortKey
	rr     []readerRollup
	limit  int
	node   filter.Node // the filter, nil for none
	where  []string    // row rule and filter: every row of the list
	args   []any
	cursor string // the rows after the cursor, "" on the first page
	cargs  []any
	totals []total

	// Precomputed by planList, so that a cached plan (plancache.go)
	// writes its statement with one concatenation: the cursor's checksum
	// (cursorCheck), "SELECT columns, version probe", " FROM table",
	// the row rule and filter joined with AND ("" for none), and
	// " ORDER BY … LIMIT n".
	check  string
	head   string
	from   string
	conds  string
	ending string
}

func (s *Service) planList(info *entityInfo, g *grant, c Caller, q Query) (*listPlan, error) {
	info = s.visible(info, c)
	lp := &listPlan{info: info, limit: q.Limit}
	switch {
	case lp.limit == 0:
		lp.limit = DefaultLimit
	case lp.limit < 1 || lp.limit > MaxLimit:
		return nil, errorf(400, CodeBadQuery, "limit must be between 1 and %d", MaxLimit)
	}
	var err error
	if lp.sel, err = info.selection(q.Fields); err != nil {
		return nil, err
	}
	if lp.exp, err = info.expansions(q.Expand); err != nil {
		return nil, err
	}
	if lp.keys, err = info.sortKeys(q.Sort); err != nil {
		return nil, err
	}
	if lp.rr, err = s.readerRollups(info, c); err != nil {
		return nil, err
	}
	switch q.Count {
	case "", CountExact, CountEstimate:
	default:
		return nil, &Error{Status: 400, Code: CodeBadQuery, Message: fmt.Sprintf("count must be %q or %q", CountExact, CountEstimate),
			Details: []schema.Problem{{Path: "/count", Code: "option", Params: map[string]any{"value": q.Count, "options": []string{CountExact, CountEstimate}},
				Message: fmt.Sprintf("unknown count %q", q.Count)}}}
	}
	if lp.totals, err = info.parseTotals(q.Totals, lp.rr); err != nil {
		return nil, err
	}
	// The page must read its sort keys (for the cursor) and refs (to expand)
	// even when fields leaves them out; they are dropped from the output.
	lp.read = lp.sel
	if lp.read != nil {
		lp.read = append([]*schema.Field{}, lp.sel...)
		for _, k := range lp.keys {
			lp.read = appendMissing(lp.read, k.field)
		}
		for _, f := range lp.exp {
			lp.read = appendMissing(lp.read, f)
		}
	} else {
		lp.read = info.fields
	}
	if !g.all {
		lp.where, lp.args = append(lp.where, g.where), append(lp.args, g.args...)
	}
	if strings.TrimSpace(q.Filter) != "" {
		node, err := filter.Parse(q.Filter)
		if err != nil {
			return nil, filterError(err)
		}
		w, a, err := filter.Compile(node, callerFilter{s, info, c}, s.encodeLiteral(info, &c), s.dialect)
		if err != nil {
			return nil, filterError(err)
		}
		if err := refusePerReader(lp.rr, node, nil); err != nil {
			return nil, err
		}
		lp.node = node
		lp.where, lp.args = append(lp.where, w), append(lp.args, a...)
	}
	if err := refusePerReader(lp.rr, nil, lp.keys); err != nil {
		return nil, err
	}
	// A cached plan is shared by concurrent requests: its slices are
	// clipped so that no append by a reader can write into them.
	lp.sel, lp.read, lp.where, lp.args = slices.Clip(lp.sel), slices.Clip(lp.read), slices.Clip(lp.where), slices.Clip(lp.args)
	lp.check = cursorCheck(lp.keys, q)
	lp.head = "SELECT " + columnList(lp.read) + versionProbe
	lp.from = " FROM " + store.Quote(info.table)
	lp.conds = strings.Join(lp.where, " AND ")
	lp.ending = orderBy(lp.keys, s.dialect) + " LIMIT " + strconv.Itoa(lp.limit+1)
	if q.Cursor != "" {
		if lp.cursor, lp.cargs, err = s.cursorWhere(info, lp.keys, lp.check, q); err != nil {
			return nil, err
		}
	}
	return lp, nil
}

// whereClause is " WHERE …" over the row rule and filter, and the cursor
// when withCursor is set ("" when there is no condition).
func (lp *listPlan) whereClause(withCursor bool) (string, []any) {
	where, args := lp.where, lp.args
	if withCursor && lp.cursor != "" {
		where = append(append([]string{}, where...), lp.cursor)
		args = append(append([]any{}, args...), lp.cargs...)
	}
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// statement is the page's SELECT: the columns, the app's version (probe)
// and, unless "", the caller's probe (Caller.Confirm), the conditions, the
// order and one row more than the page to know whether another follows.
// Everything but the probe and the cursor was written by planList.
func (lp *listPlan) statement(probe string) (string, []any) {
	sep := ""
	if probe != "" {
		sep = ", "
	}
	where, and := "", ""
	if lp.conds != "" || lp.cursor != "" {
		where = " WHERE "
	}
	if lp.conds != "" && lp.cursor != "" {
		and = " AND "
	}
	query := lp.head + sep + probe + lp.from + where + lp.conds + and + lp.cursor + lp.ending
	args := make([]any, 0, 1+len(lp.args)+len(lp.cargs))
	args = append(append(append(args, lp.info.app.Name), lp.args...), lp.cargs...)
	return query, args
}

// orderBy is " ORDER BY …" for keys.
func orderBy(keys []sortKey, dialect string) string {
	var b strings.Builder
	b.WriteString(" ORDER BY ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(store.Quote(k.field.Name))
		// Nulls sort as the smallest value on both dialects (SQLite's own
		// rule); PostgreSQL indexes are built NULLS FIRST to match. id is
		// never null and its index columns carry no NULLS clause: the
		// ORDER BY must not either, or PostgreSQL sorts again what an index
		// walked backwards gives in order (DESC NULLS FIRST ≠ NULLS LAST).
		switch {
		case k.field.Name == "id" && k.desc:
			b.WriteString(" DESC")
		case k.field.Name == "id":
		case k.desc && dialect == "postgres":
			b.WriteString(" DESC NULLS LAST")
		case k.desc:
			b.WriteString(" DESC")
		case dialect == "postgres":
			b.WriteString(" NULLS FIRST")
		}
	}
	return b.String()
}

// ListStatement answers the SQL (with "?" placeholders) and arguments of
// the page q asks for, as List would run it: for benchmarks that compare a
// list's cost with its query's, and for EXPLAIN.
func (s *Service) ListStatement(ctx context.Context, c Caller, app, entity string, q Query) (_ string, _ []any, err error) {
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return "", nil, err
	}
	defer func() { err = s.settled(ctx, info, true, err) }()
	lp, err := s.pagePlan(info, c, q, nil)
	if err != nil {
		return "", nil, err
	}
	query, args := lp.statement("")
	return query, args, nil
}

func appendMissing(list []*schema.Field, f *schema.Field) []*schema.Field {
	for _, g := range list {
		if g == f {
			return list
		}
	}
	return append(list, f)
}

func filterError(err error) error {
	var fe *filter.Error
	if errors.As(err, &fe) {
		return &Error{Status: 400, Code: CodeBadFilter, Message: fe.Error(),
			Details: []schema.Problem{{Path: fmt.Sprintf("/filter/%d", fe.Pos), Code: ProblemFilter,
				Params: map[string]any{"position": fe.Pos}, Message: fe.Message}}}
	}
	return errorf(400, CodeBadFilter, "%v", err)
}

// Column resolves a filter's field names (filter.Resolver).
func (info *entityInfo) Column(name string) (filter.Column, bool) {
	f := info.byName[name]
	if f == nil {
		return filter.Column{}, false
	}
	return filter.Column{SQL: store.Quote(f.Name), Type: f.StorageType()}, true
}

// encodeLiteral turns a filter literal into the stored form of its column,
// through the same checks as a write, so "amount > 10.5" compares exactly.
//
// Variables stand for the caller: @me is their user id (owner = @me,
// assignee = @me). caller may be nil when only checking a condition.
func (s *Service) encodeLiteral(info *entityInfo, caller *Caller) filter.Encoder {
	return func(c filter.Column, v any) (any, error) {
		f := info.byName[strings.Trim(c.SQL, `"`)]
		if f == nil {
			return nil, fmt.Errorf("unknown field")
		}
		if name, ok := v.(filter.Var); ok {
			switch {
			case name != "me":
				return nil, fmt.Errorf("unknown variable @%s (there is @me)", name)
			case caller == nil:
				v = "me"
			default:
				v = caller.UserID
			}
		}
		switch f.StorageType() {
		case schema.Select, schema.MultiSelect, schema.Email, schema.Phone, schema.URL:
			// A filter may name an option no record has, or part of an address.
			f = &schema.Field{Name: f.Name, Type: schema.Text}
		}
		val, err := coerce(f, v)
		if err != nil {
			return nil, err
		}
		return encode(s.dialect, f, val), nil
	}
}

// The cursor is the sort keys' values of the last row of a page, plus a
// checksum of the query it belongs to, so it cannot be replayed against
// another sort or filter.
type cursor struct {
	Q string            `json:"q"`
	V []json.RawMessage `json:"v"`
}

func cursorCheck(keys []sortKey, q Query) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k.field.Name)
		if k.desc {
			b.WriteByte('-')
		}
		b.WriteByte(',')
	}
	b.WriteString(q.Filter)
	h := sha1.Sum([]byte(b.String()))
	return base64.RawURLEncoding.EncodeToString(h[:6])
}

// makeCursor writes the cursor's JSON ({"q":…,"v":[…]}, as type cursor
// reads it) by hand: q is base64url and appendValue writes compact JSON, so
// nothing needs escaping or checking, and every page with a next one pays
// for none of encoding/json's reflection.
func makeCursor(keys []sortKey, check string, last *Record) string {
	var buf [256]byte
	j := append(buf[:0], `{"q":"`...)
	j = append(j, check...)
	j = append(j, `","v":[`...)
	for i, k := range keys {
		if i > 0 {
			j = append(j, ',')
		}
		j = appendValue(j, last.Get(k.field.Name))
	}
	j = append(j, "]}"...)
	return base64.RawURLEncoding.EncodeToString(j)
}

func (s *Service) cursorWhere(info *entityInfo, keys []sortKey, check string, q Query) (string, []any, error) {
	bad := errorf(400, CodeBadQuery, "cursor is not valid for this list (was the sort or filter changed?)")
	raw, err := base64.RawURLEncoding.DecodeString(q.Cursor)
	if err != nil || len(raw) > 8192 {
		return "", nil, bad
	}
	var c cursor
	if json.Unmarshal(raw, &c) != nil || c.Q != check || len(c.V) != len(keys) {
		return "", nil, bad
	}
	vals := make([]any, len(keys))
	for i, k := range keys {
		dec := json.NewDecoder(bytes.NewReader(c.V[i]))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return "", nil, bad
		}
		f := k.field
		val, err := coerce(f, v)
		if err != nil && f.Type == schema.Select {
			val, err = v, nil // an option removed since the page was read
		}
		if err != nil {
			return "", nil, bad
		}
		vals[i] = encode(s.dialect, f, val)
	}
	return afterCursor(keys, vals)
}

// notNull reports whether a column never holds null (system columns the
// store declares NOT NULL).
func notNull(f *schema.Field) bool {
	switch f.Name {
	case "id", "created_at", "updated_at", "version":
		return true
	}
	return false
}

// afterCursor is the condition "the row comes after vals in the order of
// keys", written so that an index in the order of the sort can seek to the
// cursor instead of reading every row before it:
//
//   - where every key has the same direction and every value is set, one
//     row-value comparison, (a, b, id) > (?, ?, ?), which both SQLite and
//     PostgreSQL turn into an index range. Nulls sort as the smallest value:
//     ascending, a row with a null key before the deciding one compares as
//     null and is left out, rightly (it comes before the cursor);
//     descending, such rows come after the cursor, so this form is used
//     only when no key can be null.
//   - otherwise the expanded form (a > ?) OR (a = ? AND b < ?) OR …, with
//     in front a row-value bound over the leading keys that share the
//     first key's direction, (a, b) >= (?, ?), which is implied by the rest
//     but, unlike an OR, gives the planner a range to start the index walk
//     at. The bound is left out where nulls would fall outside it.
func afterCursor(keys []sortKey, vals []any) (string, []any, error) {
	uniform, set := true, true
	nullable := false
	for i, k := range keys {
		uniform = uniform && k.desc == keys[0].desc
		set = set && vals[i] != nil
		nullable = nullable || !notNull(k.field)
	}
	if uniform && set && (!keys[0].desc || !nullable) {
		op := " > "
		if keys[0].desc {
			op = " < "
		}
		return rowValue(keys) + op + placeholders(len(keys)), vals, nil
	}

	var args []any
	// The leading bound: keys with the first key's direction and a set
	// value; descending only over columns that cannot be null.
	n := 0
	for n < len(keys) && keys[n].desc == keys[0].desc && vals[n] != nil && (!keys[0].desc || notNull(keys[n].field)) {
		n++
	}
	var bound string
	if n > 0 {
		op := " >= "
		if keys[0].desc {
			op = " <= "
		}
		bound = rowValue(keys[:n]) + op + placeholders(n) + " AND "
		args = append(args, vals[:n]...)
	}
	// Rows after the cursor: for some i, keys before i equal the cursor's
	// and key i is strictly after it. Nulls are the smallest value.
	var ors []string
	for i, k := range keys {
		var ands []string
		for j := 0; j < i; j++ {
			col := store.Quote(keys[j].field.Name)
			if vals[j] == nil {
				ands = append(ands, col+" IS NULL")
			} else {
				ands = append(ands, col+" = ?")
				args = append(args, vals[j])
			}
		}
		col := store.Quote(k.field.Name)
		switch {
		case !k.desc && vals[i] == nil:
			ands = append(ands, col+" IS NOT NULL")
		case !k.desc:
			ands = append(ands, col+" > ?")
			args = append(args, vals[i])
		case vals[i] == nil:
			continue // nothing comes after null in descending order
		case notNull(k.field):
			ands = append(ands, col+" < ?")
			args = append(args, vals[i])
		default:
			ands = append(ands, "("+col+" < ? OR "+col+" IS NULL)")
			args = append(args, vals[i])
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	if len(ors) == 0 {
		return "1 = 0", nil, nil
	}
	return "(" + bound + "(" + strings.Join(ors, " OR ") + "))", args, nil
}

// rowValue is the keys' columns as a row value, "(a, b)"; one key is
// written bare.
func rowValue(keys []sortKey) string {
	if len(keys) == 1 {
		return store.Quote(keys[0].field.Name)
	}
	cols := make([]string, len(keys))
	for i, k := range keys {
		cols[i] = store.Quote(k.field.Name)
	}
	return "(" + strings.Join(cols, ", ") + ")"
}

func placeholders(n int) string {
	if n == 1 {
		return "?"
	}
	return "(?" + strings.Repeat(", ?", n-1) + ")"
}
