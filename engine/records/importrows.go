package records

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// An import's batch write path (engine/bulk runs imports as jobs): rows
// written inside ONE transaction the caller began (store.DB.BeginConn) and
// commits or rolls back itself, each through the same steps as an API
// write on path PathImport — the caller's create (and, for upserts,
// update) grants and field rules, validation, hooks, formulas, rollups,
// history and events. A row that fails is rolled back to a savepoint taken
// before it (a failed statement would otherwise abort the whole
// transaction on PostgreSQL, and a row refused after its insert, by the
// create scope, would stay on SQLite) and reported; the rows after it are
// still tried, so one run reports every bad row.

// ImportOptions are what the batch path needs of an import's choices.
type ImportOptions struct {
	// UpsertBy is a unique field: a row whose value of it exists updates
	// that record (under the caller's update rules); others create one.
	UpsertBy string
}

// ImportRow is one row to write: its number in the file and its values
// in the API's JSON form (what Create takes).
type ImportRow struct {
	Row    int
	Values map[string]any
}

// RowOutcome is what became of one row: created or updated (ID set), or
// refused (Err, with the problems at /<field>).
type RowOutcome struct {
	Row     int
	ID      string
	Created bool
	Updated bool
	Err     *Error
}

// Importer writes an import's rows in its caller's transaction. Make one
// per transaction with NewImporter.
type Importer struct {
	s      *Service
	tx     store.Conn
	info   *entityInfo
	c      Caller
	cg     *grant // create
	rg, ug *grant // read and update (upserts; ug nil: the caller may not update)
	run    *logicRun
	upsert *schema.Field
	now    time.Time
	after  []func() // after-save hooks without a job queue, once committed

	batch, broken bool // Write's first try of a batch, and whether a row broke it
	afterMark     int  // len(after) before the batch
	changes       *changeBatch
	refs          *refsSeen
}

// changeBatch counts an import's changes in memory, for one upsert of
// each change counter at its end (Finish): counting them row by row would update
// the same 16 counter rows hundreds of thousands of times in one
// transaction, each update a new row version the transaction cannot
// prune (PostgreSQL), the later ones ever slower.
type changeBatch struct {
	n map[changeSlot]int64
}

type changeSlot struct {
	app, entity string
	slot        int
}

type changeBatchKey struct{}

// refsSeen are the ref and user ids an import's transaction has found to
// exist (checkRefs), table by table, so each is checked once. Nothing an
// import runs deletes a record, so an id found stays found until a
// savepoint is rolled back — which may take back the very record found
// (one the import made) — and then all are forgotten. The foreign keys
// stay the database's own check behind it.
type refsSeen struct {
	m map[string]struct{}
}

type refsSeenKey struct{}

func (r *refsSeen) has(table, id string) bool {
	_, ok := r.m[table+"\x00"+id]
	return ok
}

func (r *refsSeen) add(table, id string) {
	if len(r.m) >= maxRefsSeen {
		clear(r.m)
	}
	r.m[table+"\x00"+id] = struct{}{}
}

// maxRefsSeen bounds the memory an import's checks keep.
const maxRefsSeen = 100_000

// refCheckHook, when set (by tests), sees each existence check of a ref
// or user id that runs a statement.
var refCheckHook func(table, id string)

func (b *changeBatch) note(app, entity, id string) {
	b.n[changeSlot{app, entity, store.ChangeSlot(id)}]++
}

// flush writes the counted changes in tx.
func (b *changeBatch) flush(ctx context.Context, tx store.Conn) error {
	for k, n := range b.n {
		if err := store.BumpChangesBy(ctx, tx, k.app, k.entity, k.slot, n); err != nil {
			return err
		}
		delete(b.n, k)
	}
	return nil
}

// CheckImport says, before an import starts, whether caller c may import
// into app's entity with o: the same refusals NewImporter makes (404 for
// an entity they cannot see, 403 without a create grant, 422 for an
// upsert field that is not a unique field they see).
func (s *Service) CheckImport(ctx context.Context, c Caller, app, entity string, o ImportOptions) error {
	_, err := s.importer(ctx, c, app, entity, o)
	return err
}

func (s *Service) importer(ctx context.Context, c Caller, app, entity string, o ImportOptions) (*Importer, error) {
	info, err := s.entityFor(ctx, c, app, entity)
	if err != nil {
		return nil, err
	}
	im := &Importer{s: s, info: info, c: c, now: s.db.Now()}
	if im.cg, err = s.grant(info, c, schema.OpCreate); err != nil {
		return nil, err
	}
	if im.cg.none {
		return nil, forbidden("you may not create %s records", info.entity.Name)
	}
	if o.UpsertBy != "" {
		hidden, _ := s.fieldRules(info, c)
		f := info.byName[o.UpsertBy]
		if f == nil || hidden[o.UpsertBy] || !f.Unique {
			var ps schema.Problems
			addProblem(&ps, "/upsertBy", o.UpsertBy, ProblemUnknownField, nil, "%q is not a unique field of %s: upsert by a field marked unique", o.UpsertBy, info.entity.Name)
			return nil, &Error{Status: 422, Code: CodeInvalid, Message: "the upsert field is not valid", Details: ps}
		}
		im.upsert = f
		if im.rg, err = s.grant(info, c, schema.OpRead); err != nil {
			return nil, err
		}
		if g, err := s.grant(info, c, schema.OpUpdate); err != nil {
			return nil, err
		} else if !g.none {
			im.ug = g
		}
	}
	return im, nil
}

// NewImporter checks that caller c may create app's entity records (and
// that UpsertBy is a unique field) and prepares writing them in tx, which
// the caller commits or rolls back. c.Path is set to PathImport.
func (s *Service) NewImporter(ctx context.Context, tx store.Conn, c Caller, app, entity string, o ImportOptions) (*Importer, error) {
	c.Path = PathImport
	im, err := s.importer(ctx, c, app, entity, o)
	if err != nil {
		return nil, err
	}
	im.tx, im.changes, im.refs = tx, &changeBatch{n: map[changeSlot]int64{}}, &refsSeen{m: map[string]struct{}{}}
	info := im.info
	if info.logic {
		if im.run, err = s.newRun(info, c); err != nil {
			return nil, err
		}
		if err := s.lockForRecompute(ctx, tx, info, false); err != nil {
			return nil, err
		}
	}
	tx.OnEnd(func(committed bool) {
		if committed {
			for _, fn := range im.after {
				fn()
			}
		}
		im.after = nil
		if im.run != nil {
			im.run.flush(ctx)
		}
	})
	return im, nil
}

// Write writes rows. They are first written under one savepoint for the
// batch; when a row fails past its checks (a statement refused, the
// create scope), the batch is rolled back to it and written again row by
// row, each under a savepoint of its own, so the good rows stand and the
// bad ones are named. A refused row is an outcome with Err; an error
// returned is the database's (the transaction is then lost).
func (im *Importer) Write(ctx context.Context, rows []ImportRow) ([]RowOutcome, error) {
	ctx = context.WithValue(ctx, refsSeenKey{}, im.refs)
	return im.writeAll(context.WithValue(ctx, changeBatchKey{}, im.changes), rows)
}

func (im *Importer) writeAll(ctx context.Context, rows []ImportRow) ([]RowOutcome, error) {
	if len(rows) > 1 {
		if _, err := im.tx.ExecContext(ctx, "SAVEPOINT forma_import_batch"); err != nil {
			return nil, fmt.Errorf("records: import: savepoint: %w", err)
		}
		im.batch, im.broken = true, false
		counted := maps.Clone(im.changes.n)
		out, err := im.write(ctx, rows)
		im.batch = false
		if err != nil {
			return nil, err
		}
		if !im.broken {
			if _, err := im.tx.ExecContext(ctx, "RELEASE SAVEPOINT forma_import_batch"); err != nil {
				return nil, fmt.Errorf("records: import: release: %w", err)
			}
			return out, nil
		}
		im.changes.n = counted // rolled back with the batch
		clear(im.refs.m)
		if _, err := im.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT forma_import_batch"); err != nil {
			return nil, fmt.Errorf("records: import: roll back a batch: %w", err)
		}
		if _, err := im.tx.ExecContext(ctx, "RELEASE SAVEPOINT forma_import_batch"); err != nil {
			return nil, fmt.Errorf("records: import: release: %w", err)
		}
		im.after, im.broken = im.after[:im.afterMark], false
	}
	return im.write(ctx, rows)
}

func (im *Importer) write(ctx context.Context, rows []ImportRow) ([]RowOutcome, error) {
	im.afterMark = len(im.after)
	out := make([]RowOutcome, len(rows))
	for i, r := range rows {
		out[i].Row = r.Row
		id, created, err := im.writeRow(ctx, r.Values)
		var re *Error
		switch {
		case im.broken:
			return out, nil // the batch is written again row by row
		case err == nil:
			out[i].ID, out[i].Created, out[i].Updated = id, created, !created
		case errors.As(err, &re) && re.Status < 500:
			out[i].Err = re
		default:
			return out, err
		}
	}
	return out, nil
}

// savepoint runs fn, the writing part of a row, under a savepoint rolled
// back to when fn fails; in a batch's first try, under the batch's (which
// a failure breaks).
func (im *Importer) savepoint(ctx context.Context, fn func() error) error {
	if im.batch {
		err := fn()
		if err != nil {
			im.broken = true
		}
		return err
	}
	if _, err := im.tx.ExecContext(ctx, "SAVEPOINT forma_import_row"); err != nil {
		return fmt.Errorf("records: import: savepoint: %w", err)
	}
	before := maps.Clone(im.changes.n)
	if err := fn(); err != nil {
		im.changes.n = before // rolled back with the row
		clear(im.refs.m)
		if _, rerr := im.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT forma_import_row"); rerr != nil {
			return fmt.Errorf("records: import: roll back a row: %w (after %w)", rerr, err)
		}
		if _, rerr := im.tx.ExecContext(ctx, "RELEASE SAVEPOINT forma_import_row"); rerr != nil {
			return fmt.Errorf("records: import: release: %w", rerr)
		}
		return err
	}
	if _, err := im.tx.ExecContext(ctx, "RELEASE SAVEPOINT forma_import_row"); err != nil {
		return fmt.Errorf("records: import: release: %w", err)
	}
	return nil
}

// body turns a row's values into a body as the API decodes it.
func (im *Importer) body(values map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(values)
	if err != nil {
		return nil, errorf(422, CodeInvalid, "the row's values cannot be written as JSON: %v", err)
	}
	return decodeBody(raw)
}

// writeRow writes one row: an update of the record whose upsert field
// holds the row's value, or a create.
func (im *Importer) writeRow(ctx context.Context, values map[string]any) (id string, created bool, err error) {
	s, info, c := im.s, im.info, im.c
	obj, err := im.body(values)
	if err != nil {
		return "", false, err
	}
	if im.upsert != nil {
		existing, err := im.existing(ctx, obj)
		if err != nil {
			return "", false, err
		}
		if existing != "" {
			return existing, false, im.update(ctx, existing, obj)
		}
	}
	ruleProblems, err := s.checkFieldRules(info, c, obj)
	if err != nil {
		return "", false, err
	}
	if err := initialState(info, obj); err != nil {
		return "", false, err
	}
	fields, values2, problems := s.validate(info, obj, true)
	if problems = append(ruleProblems, problems...); len(problems) > 0 {
		return "", false, s.invalidIn(ctx, im.tx, info, c, fields, values2, nil, problems)
	}
	var rec *Record
	err = im.savepoint(ctx, func() error {
		var err error
		rec, err = s.createTx(ctx, im.tx, info, c, im.run, im.cg, fields, values2, im.now)
		return err
	})
	if err != nil {
		return "", false, err
	}
	im.afterSave(rec, nil)
	return recordID(rec), true, nil
}

// update writes a row onto the record id under the caller's update rules.
func (im *Importer) update(ctx context.Context, id string, obj map[string]any) error {
	s, info, c := im.s, im.info, im.c
	if im.ug == nil {
		return forbidden("you may not update %s records: the row's %s matches an existing record", info.entity.Name, im.upsert.Name)
	}
	fields, values, problems, err := s.validateFor(info, c, obj, false)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return s.invalidIn(ctx, im.tx, info, c, fields, values, nil, problems)
	}
	var old, rec *Record
	err = im.savepoint(ctx, func() error {
		var err error
		old, rec, err = s.patchTx(ctx, im.tx, info, c, im.run, im.rg, im.ug, id, fields, values, nil, im.now, nil)
		return err
	})
	var re *Error
	if errors.As(err, &re) && re.Status == 404 {
		// A record the caller may not read holds the value: what a
		// create would have met, a unique value already taken.
		return im.taken()
	}
	if err != nil {
		return err
	}
	im.afterSave(rec, old)
	return nil
}

func (im *Importer) taken() *Error {
	f := im.upsert.Name
	e := errorf(409, CodeDuplicate, "another record already has this value in a unique field")
	var ps schema.Problems
	addProblem(&ps, "/"+f, f, ProblemDuplicate, map[string]any{"fields": []string{f}}, "another record already has this %s", f)
	e.Details = ps
	return e
}

// Existing is the id of the record a row of values would update by the
// upsert field ("" without an upsert field or when none holds its value):
// a probable duplicate that is the very record being updated is not one.
func (im *Importer) Existing(ctx context.Context, values map[string]any) (string, error) {
	if im.upsert == nil {
		return "", nil
	}
	return im.existing(ctx, values)
}

// existing is the id of the record whose upsert field holds the row's
// value ("" for none, or a row without a valid one: it is created, and
// validation says what is wrong).
func (im *Importer) existing(ctx context.Context, obj map[string]any) (string, error) {
	raw, ok := obj[im.upsert.Name]
	if !ok {
		return "", nil
	}
	v, err := coerce(im.upsert, raw)
	if err != nil || v == nil {
		return "", nil
	}
	var id string
	err = im.tx.QueryRowContext(ctx, `SELECT "id" FROM `+store.Quote(im.info.table)+` WHERE `+store.Quote(im.upsert.Name)+` = ?`,
		encode(im.s.dialect, im.upsert, v)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("records: import: find by %s: %w", im.upsert.Name, err)
	}
	return id, nil
}

func (im *Importer) afterSave(rec, old *Record) {
	// Without a job queue an after-save hook runs once committed (as a
	// single write's does); kept only when the entity has one.
	if im.run != nil && im.s.jobs == nil && im.info.entity.Hooks[logic.AfterSave] != "" {
		run, info := im.run, im.info
		im.after = append(im.after, func() { _ = run.afterHook(context.Background(), info, logic.AfterSave, rec, old) })
	}
}

// invalidIn is invalid, with the refs checked inside tx.
func (s *Service) invalidIn(ctx context.Context, tx store.Conn, info *entityInfo, c Caller, fields []*schema.Field, values []any, old *Record, problems schema.Problems) error {
	if rerr := s.checkRefs(ctx, tx, info, c, fields, values, old); rerr != nil {
		if rerr.Status != 422 {
			return rerr
		}
		problems = append(problems, rerr.Details...)
	}
	sortProblems(problems)
	return &Error{Status: 422, Code: CodeInvalid, Message: "the record is not valid", Details: problems}
}

func recordID(rec *Record) string {
	id, _ := rec.Get("id").(string)
	return id
}

// Finish counts the rows' changes (the change counters, once per import)
// and checks, as the last statement before the caller commits, that
// the app is still at the version the rows were written by (a migration
// committed meanwhile: store.ErrAppMoved, roll back and run again).
func (im *Importer) Finish(ctx context.Context) error {
	if err := im.changes.flush(ctx, im.tx); err != nil {
		return err
	}
	return im.s.stillCurrent(ctx, im.tx, im.info)
}

// CopyOK says whether rows filling fields may be written by Copy, and if
// not, why. The COPY path writes what a create writes (the record, its
// history entry, the change counters, the event) without per-row work, so
// it is taken only when no per-row work is due: PostgreSQL in a BeginConn
// transaction; no upsert; the entity runs no hook, formula, validation
// rule or rollup of its own (info.logic) and no formula or rollup
// elsewhere reads it (info.feeds); the caller's create grant has no row
// condition (own, team or a condition would need the scope checked per
// record); no auto-number field (a sequence per row); and no column fills
// a ref, user or file field (each value is checked against a record the
// caller may read). Rows that fail a unique index make the COPY fail:
// their batch is then written row by row (Copy does it).
func (im *Importer) CopyOK(fields []string) (bool, string) {
	info := im.info
	switch {
	case im.s.dialect != "postgres" || !im.tx.CanCopy():
		return false, "not PostgreSQL"
	case im.upsert != nil:
		return false, "upsert"
	case info.logic:
		return false, "the entity has hooks, formulas, validations or rollups"
	case info.feeds:
		return false, "a formula or rollup reads the entity"
	case !im.cg.all:
		return false, "the caller's create rule limits the records they may create"
	}
	for _, f := range info.entity.Fields {
		if f.Type == schema.AutoNumber {
			return false, "an auto-number field"
		}
	}
	for _, name := range fields {
		if f := info.byName[name]; f != nil && (f.Type == schema.Ref || f.Type == schema.User || f.Type == schema.File) {
			return false, "a column fills the ref, user or file field " + name
		}
	}
	return true, ""
}

// Copy writes rows (creates) with COPY when CopyOK allowed it: each row is
// checked as a create checks it (field rules, validation) in memory, the
// good ones copied, with their history entries, in one COPY each under a
// savepoint; when the COPY fails (a unique value taken), the batch is
// written row by row to name the rows at fault. It is WriteCopy of
// PrepareCopy.
func (im *Importer) Copy(ctx context.Context, rows []ImportRow) ([]RowOutcome, error) {
	b, err := im.PrepareCopy(rows)
	if err != nil {
		return nil, err
	}
	return im.WriteCopy(ctx, b)
}

// CopyBatch is a batch of rows checked and encoded for COPY, not yet
// written.
type CopyBatch struct {
	rows  []ImportRow
	out   []RowOutcome
	goods []copyGood
	recs  [][]any // the entity's rows, in COPY's binary form
	hist  [][]any // their history entries
}

type copyGood struct {
	i   int
	rec *Record
}

// PrepareCopy checks and encodes rows for WriteCopy. It works in memory
// only, so an import prepares the next batch while the database copies
// the one before (it may run beside WriteCopy on the same Importer).
func (im *Importer) PrepareCopy(rows []ImportRow) (*CopyBatch, error) {
	s, info, c := im.s, im.info, im.c
	b := &CopyBatch{rows: rows, out: make([]RowOutcome, len(rows))}
	createdBy := any(c.UserID)
	if c.UserID == "" {
		createdBy = nil
	}
	for i, r := range rows {
		b.out[i].Row = r.Row
		obj, err := im.body(r.Values)
		if err == nil {
			var problems schema.Problems
			if problems, err = s.checkFieldRules(info, c, obj); err == nil {
				if err = initialState(info, obj); err == nil {
					fields, values, more := s.validate(info, obj, true)
					if problems = append(problems, more...); len(problems) > 0 {
						sortProblems(problems)
						err = &Error{Status: 422, Code: CodeInvalid, Message: "the record is not valid", Details: problems}
					} else {
						rec := &Record{fields: info.fields, values: make([]any, len(info.fields))}
						rec.values[0], rec.values[1], rec.values[2], rec.values[3], rec.values[4], rec.values[5] = s.newID(), im.now, im.now, createdBy, createdBy, int64(1)
						for j, f := range fields {
							rec.values[slices.Index(info.fields, f)] = values[j]
						}
						b.goods = append(b.goods, copyGood{i, rec})
						continue
					}
				}
			}
		}
		var re *Error
		if !errors.As(err, &re) {
			return nil, err
		}
		b.out[i].Err = re
	}
	b.recs = make([][]any, len(b.goods))
	b.hist = make([][]any, len(b.goods))
	at := encode(s.dialect, historyAt, im.now)
	for k, g := range b.goods {
		row := make([]any, len(info.fields))
		for j, f := range info.fields {
			row[j] = copyValue(f, encode(s.dialect, f, g.rec.values[j]))
		}
		b.recs[k] = row
		b.hist[k] = []any{s.newID(), info.app.Name, info.entity.Name, recordID(g.rec), int64(1), OpCreate, c.path(), nullable(c.UserID), at,
			string(changesJSON(info.fields, nil, g.rec)), nil, nullable(c.Automation), nil, nil}
	}
	return b, nil
}

// historyColumns are the history table's columns as PrepareCopy fills them.
var historyColumns = []string{"id", "app", "entity", "record_id", "record_version", "op", "path", "actor", "at", "changes", "cause", "automation", "transition", "comment"}

// WriteCopy copies a prepared batch in the import's transaction and
// returns each row's outcome.
func (im *Importer) WriteCopy(ctx context.Context, b *CopyBatch) ([]RowOutcome, error) {
	s, info, c := im.s, im.info, im.c
	out := b.out
	if len(b.goods) == 0 {
		return out, nil
	}
	cols := make([]string, len(info.fields))
	for j, f := range info.fields {
		cols[j] = f.Name
	}
	err := im.savepoint(ctx, func() error {
		if _, err := im.tx.CopyFrom(ctx, info.table, cols, b.recs); err != nil {
			return s.writeError(err)
		}
		if _, err := im.tx.CopyFrom(ctx, historyTable, historyColumns, b.hist); err != nil {
			return fmt.Errorf("records: import: copy history: %w", err)
		}
		return nil
	})
	var re *Error
	if errors.As(err, &re) && re.Status == 409 {
		// A unique value taken (by a record or another row): row by row,
		// to say which.
		for _, g := range b.goods {
			o, err := im.Write(ctx, []ImportRow{b.rows[g.i]})
			if err != nil {
				return nil, err
			}
			out[g.i] = o[0]
		}
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, g := range b.goods {
		im.changes.note(info.app.Name, info.entity.Name, recordID(g.rec))
	}
	subscribed := len(s.subscribers()) > 0
	for _, g := range b.goods {
		id := recordID(g.rec)
		out[g.i].ID, out[g.i].Created = id, true
		if subscribed {
			ev := &Event{App: info.app.Name, Entity: info.entity.Name, ID: id, Kind: EventCreated, Version: 1,
				Changes: changesJSON(info.fields, nil, g.rec), Actor: c.UserID, Path: c.path(), At: im.now, Caller: c, Record: g.rec, info: info}
			if err := s.emit(ctx, im.tx, ev); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// copyValue is an encoded value as COPY's binary format takes it: a
// decimal and a date are text that the database would cast, which COPY
// does not do.
func copyValue(f *schema.Field, v any) any {
	str, ok := v.(string)
	if !ok {
		return v
	}
	switch f.StorageType() {
	case schema.Decimal:
		var n pgtype.Numeric
		if err := n.Scan(str); err == nil {
			return n
		}
	case schema.Date:
		if t, err := time.Parse(time.DateOnly, str); err == nil {
			return t
		}
	case schema.MultiSelect, schema.JSON:
		return []byte(str)
	}
	return v
}
