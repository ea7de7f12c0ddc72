package store

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/formaapp/forma/schema"
)

// Step is one part of a migration, as shown on a dry run and stored with the
// version it produced.
type Step struct {
	Op          string   `json:"op"`
	Entity      string   `json:"entity"`
	Field       string   `json:"field,omitempty"`
	Description string   `json:"description"`
	Destructive bool     `json:"destructive,omitempty"`
	SQL         []string `json:"sql,omitempty"`
	Path        string   `json:"path,omitempty"`
	// Concurrently marks a step run after the migration commits (PostgreSQL
	// CREATE INDEX CONCURRENTLY, which cannot run in a transaction and does
	// not block writes); its progress is in IndexBuilds.
	Concurrently bool `json:"concurrently,omitempty"`

	// exec runs in the migration's transaction before SQL, for work that
	// needs Go: archiving with a generated name, catalog look-ups, backfills.
	exec func(ctx context.Context, tx dconn) error
}

// Plan is the migration from an app's current version to a new document.
// Refused lists what cannot be applied (with where in the document and why);
// a plan with refusals is never applied.
type Plan struct {
	App         string           `json:"app"`
	FromVersion int              `json:"fromVersion"`
	ToVersion   int              `json:"toVersion"`
	Steps       []Step           `json:"steps"`
	Refused     []schema.Problem `json:"refused,omitempty"`
	Destructive bool             `json:"destructive"`
	Warnings    []string         `json:"warnings,omitempty"`
}

type planner struct {
	db    *DB
	q     dconn
	d     Dialect
	app   string
	old   *schema.App
	new   *schema.App
	allow bool
	plan  *Plan
}

func (p *planner) step(s Step) { p.plan.Steps = append(p.plan.Steps, s) }

func (p *planner) refuse(path, code, format string, args ...any) {
	p.plan.Refused = append(p.plan.Refused, schema.Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

// destructive records a step that loses data: refused unless allowed.
func (p *planner) destructive(s Step, path string) {
	s.Destructive = true
	p.plan.Destructive = true
	if !p.allow {
		p.refuse(path, "destructive", "%s: this loses data; apply with allowDestructive to archive it and go ahead", s.Description)
	}
	p.step(s)
}

// plan computes the migration from old (nil for a new app) to new. It reads
// the database to check that tables are free and data fits; it writes nothing.
func (db *DB) plan(ctx context.Context, q querier, old, new *schema.App, allow bool) (*Plan, error) {
	from := 0
	if old != nil {
		from = old.Version
	}
	p := &planner{db: db, q: dconn{q, db.Dialect}, d: db.Dialect, app: new.Name, old: old, new: new, allow: allow,
		plan: &Plan{App: new.Name, FromVersion: from, ToVersion: from + 1, Steps: []Step{}}}
	if err := p.build(ctx); err != nil {
		return nil, err
	}
	p.metaSteps() // metaplan.go: forms, roles, labels, scripts
	return p.plan, nil
}

func (p *planner) table(e *schema.Entity) string { return schema.TableName(p.app, e.Name) }

// matchedEntity is an entity present in both versions.
type matchedEntity struct {
	old, new *schema.Entity
	changes  []schema.Change
}

// Plan-time reads (counts, checks) see the tables as they are, under their
// old names; steps run in this order, each seeing the names the steps before
// it left:
//
//  1. dropped entities (archived, then dropped: their names become free)
//  2. indexes of kept entities that go away or change name
//  3. renamed entities (through temporary names when names are swapped)
//  4. new entities
//  5. changes inside kept entities (drops, renames, conversions, adds)
//  6. indexes of kept entities that are new
func (p *planner) build(ctx context.Context) error {
	changes := schema.Diff(p.old, p.new)
	var (
		added   []schema.Change
		dropped []schema.Change
		renamed []schema.Change
		matched []*matchedEntity
		byNew   = map[*schema.Entity]*matchedEntity{}
	)
	for _, c := range changes {
		switch c.Kind {
		case schema.AddEntity:
			added = append(added, c)
		case schema.DropEntity:
			dropped = append(dropped, c)
		case schema.RenameEntity:
			renamed = append(renamed, c)
		}
		if c.OldEntity != nil && c.Entity != nil {
			m := byNew[c.Entity]
			if m == nil {
				m = &matchedEntity{old: c.OldEntity, new: c.Entity}
				byNew[c.Entity] = m
				matched = append(matched, m)
			}
			if c.Kind != schema.RenameEntity {
				m.changes = append(m.changes, c)
			}
		}
	}
	// Matched entities with no change at all still need their indexes compared.
	if p.old != nil {
		for i := range p.new.Entities {
			ne := &p.new.Entities[i]
			if byNew[ne] != nil {
				continue
			}
			for j := range p.old.Entities {
				oe := &p.old.Entities[j]
				if schema.EntityKey(oe) == schema.EntityKey(ne) || (oe.Name == ne.Name && oe.ID == "") {
					m := &matchedEntity{old: oe, new: ne}
					byNew[ne] = m
					matched = append(matched, m)
					break
				}
			}
		}
	}

	// A ref keeps its target when the target entity is only renamed.
	newName := map[string]string{}
	for _, m := range matched {
		newName[m.old.Name] = m.new.Name
	}
	target := func(old string) string {
		if n, ok := newName[old]; ok {
			return n
		}
		return "" // the old target is gone: any target is a change
	}

	rebuild := map[*schema.Entity]bool{}
	convs := map[*schema.Field]conversion{}
	for _, m := range matched {
		for _, c := range m.changes {
			switch c.Kind {
			case schema.AlterField:
				conv := convertField(p.d, c.OldField, c.Field, target)
				convs[c.Field] = conv
				if p.d.Name() == "sqlite" && conv.kind != convRefused && (conv.kind != convSame || conv.refChange) {
					rebuild[m.new] = true
				}
			case schema.DropField:
				if p.d.Name() == "sqlite" && c.OldField.Type == schema.Ref {
					rebuild[m.new] = true
				}
			}
		}
	}

	// Tables this migration frees before it creates or renames anything.
	freed := map[string]bool{}
	for _, c := range dropped {
		freed[p.table(c.OldEntity)] = true
	}
	for _, c := range renamed {
		freed[p.table(c.OldEntity)] = true
	}

	// 1. Dropped entities: archive the rows, then drop the table and its
	// autonumber counters (a new entity of that name starts again at 1).
	for _, c := range dropped {
		oe := c.OldEntity
		table := p.table(oe)
		n, err := p.count(ctx, table, "")
		if err != nil {
			return err
		}
		cascade := ""
		if p.d.Name() == "postgres" {
			cascade = " CASCADE" // only drops other tables' foreign keys to it, never their rows
		}
		version := p.plan.ToVersion
		cols := []string{}
		for _, sc := range schema.SystemColumns {
			cols = append(cols, Quote(sc))
		}
		for i := range oe.Fields {
			cols = append(cols, archiveExpr(p.d, &oe.Fields[i], oe.Fields[i].Name)+" AS "+Quote(oe.Fields[i].Name))
		}
		p.destructive(Step{Op: "drop_entity", Entity: oe.Name, Path: c.Path,
			Description: fmt.Sprintf("drop entity %s (%d records, archived)", oe.Name, n),
			exec: func(ctx context.Context, tx dconn) error {
				if err := archive(ctx, tx, p.app, version, oe.Name, "", "SELECT "+strings.Join(cols, ", ")+" FROM "+Quote(table)); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, "DELETE FROM _forma_sequences WHERE substr(name, 1, ?) = ?", len(table)+1, table+".")
				return err
			},
			SQL: []string{"DROP TABLE " + Quote(table) + cascade}}, c.Path)
	}

	// 2. Indexes that go away or change name.
	newIdx := map[*schema.Entity]map[string]physIndex{}
	type indexRename struct{ entity, from, to string }
	var (
		ixRenames []indexRename
		oldNames  = map[string]bool{}
	)
	for _, m := range matched {
		want := map[string]physIndex{}
		for _, ix := range appIndexes(p.new, m.new) {
			want[ix.Key] = ix
		}
		newIdx[m.new] = want
		if rebuild[m.new] {
			continue // the rebuilt table gets every index afresh
		}
		for _, ix := range appIndexes(p.old, m.old) {
			oldNames[ix.Name] = true
			w, keep := want[ix.Key]
			switch {
			case keep && w.Name == ix.Name:
				delete(want, ix.Key) // nothing to do
			case keep && p.d.Name() == "postgres":
				ixRenames = append(ixRenames, indexRename{m.new.Name, ix.Name, w.Name})
				delete(want, ix.Key)
			default:
				p.step(p.dropIndexStep(m.new.Name, ix))
			}
		}
	}
	// Index names derive from table names, so entities swapping names swap
	// index names too: go through temporary names when a name is taken.
	twoPhase := false
	for _, r := range ixRenames {
		twoPhase = twoPhase || oldNames[r.to]
	}
	for _, r := range ixRenames {
		if twoPhase {
			p.step(Step{Op: "rename_index", Entity: r.entity, Description: fmt.Sprintf("rename index %s to %s (via a temporary name)", r.from, r.to),
				SQL: []string{"ALTER INDEX IF EXISTS " + Quote(r.from) + " RENAME TO " + Quote(tempName("ix", r.from))}})
		} else {
			p.step(Step{Op: "rename_index", Entity: r.entity, Description: fmt.Sprintf("rename index %s to %s", r.from, r.to),
				SQL: []string{"ALTER INDEX IF EXISTS " + Quote(r.from) + " RENAME TO " + Quote(r.to)}})
		}
	}
	if twoPhase {
		for _, r := range ixRenames {
			p.step(Step{Op: "rename_index", Entity: r.entity, Description: fmt.Sprintf("rename index %s to %s", r.from, r.to),
				SQL: []string{"ALTER INDEX IF EXISTS " + Quote(tempName("ix", r.from)) + " RENAME TO " + Quote(r.to)}})
		}
	}

	// 3. Renamed entities. When one takes a name another gives up in the
	// same migration (a swap), every renamed table goes through a temporary
	// name first.
	twoPhase = false
	renamedFrom := map[string]bool{}
	for _, c := range renamed {
		renamedFrom[p.table(c.OldEntity)] = true
	}
	for _, c := range renamed {
		to := p.table(c.Entity)
		twoPhase = twoPhase || renamedFrom[to]
		if !freed[to] {
			if err := p.tableFree(ctx, to, c.Path); err != nil {
				return err
			}
		}
	}
	for _, c := range renamed {
		from, to := p.table(c.OldEntity), p.table(c.Entity)
		desc := fmt.Sprintf("rename entity %s to %s (data kept)", c.OldEntity.Name, c.Entity.Name)
		if twoPhase {
			p.step(renameTableStep(c.Entity.Name, c.Path, desc+" via a temporary name", from, tempName("t", from)))
		} else {
			p.step(renameTableStep(c.Entity.Name, c.Path, desc, from, to))
		}
	}
	if twoPhase {
		for _, c := range renamed {
			from, to := p.table(c.OldEntity), p.table(c.Entity)
			p.step(renameTableStep(c.Entity.Name, c.Path, fmt.Sprintf("rename entity %s to %s", c.OldEntity.Name, c.Entity.Name), tempName("t", from), to))
		}
	}

	// 4. New entities, in an order that lets each ref point at a table that
	// exists; refs caught in a cycle are added once every table is there,
	// and so are the indexes on them.
	exists := map[string]bool{}
	for _, m := range matched {
		exists[m.new.Name] = true
	}
	pending := make([]schema.Change, len(added))
	copy(pending, added)
	var deferred []Step
	for len(pending) > 0 {
		pick := -1
		for i, c := range pending {
			ready := true
			for _, f := range c.Entity.Fields {
				if f.Type == schema.Ref && f.Entity != c.Entity.Name && !exists[f.Entity] {
					ready = false
				}
			}
			if ready {
				pick = i
				break
			}
		}
		if pick < 0 {
			pick = 0
		}
		c := pending[pick]
		pending = append(pending[:pick], pending[pick+1:]...)
		e := c.Entity
		table := p.table(e)
		if !freed[table] {
			if err := p.tableFree(ctx, table, c.Path+"/name"); err != nil {
				return err
			}
		}
		later := map[string]bool{}
		var laterFields []*schema.Field
		sqlCreate := createTableSQL(p.d, p.app, table, e, func(f *schema.Field) bool {
			if f.Type == schema.Ref && f.Entity != e.Name && !exists[f.Entity] {
				later[f.Name] = true
				laterFields = append(laterFields, f)
				return false
			}
			return true
		})
		exists[e.Name] = true
		stmts := []string{sqlCreate}
		var laterIdx []physIndex
		desc := fmt.Sprintf("create entity %s with %d fields", e.Name, len(e.Fields))
		for _, ix := range appIndexes(p.new, e) {
			if slices.ContainsFunc(ix.Columns, func(c string) bool { return later[c] }) {
				laterIdx = append(laterIdx, ix)
				continue
			}
			stmts = append(stmts, createIndexSQL(p.d, ix))
			if ix.View {
				desc += "; index " + describeIndex(ix)
			}
		}
		p.step(Step{Op: "create_entity", Entity: e.Name, Path: c.Path, Description: desc, SQL: stmts})
		for _, f := range laterFields {
			deferred = append(deferred, Step{Op: "add_field", Entity: e.Name, Field: f.Name,
				Description: fmt.Sprintf("add ref %s.%s → %s", e.Name, f.Name, f.Entity),
				SQL:         []string{"ALTER TABLE " + Quote(table) + " ADD COLUMN " + columnDef(p.d, p.app, f)}})
		}
		for _, ix := range laterIdx {
			deferred = append(deferred, Step{Op: "add_index", Entity: e.Name, Description: fmt.Sprintf("index %s", describeIndex(ix)),
				SQL: []string{createIndexSQL(p.d, ix)}})
		}
	}
	for _, s := range deferred {
		p.step(s)
	}

	// 5. Changes inside entities that stay.
	for _, m := range matched {
		if err := p.alterEntity(ctx, m, convs, rebuild[m.new]); err != nil {
			return err
		}
	}

	// 6. Indexes of matched entities that are new or renamed.
	for _, m := range matched {
		want := newIdx[m.new]
		for _, ix := range appIndexes(p.new, m.new) {
			_, create := want[ix.Key]
			create = create || rebuild[m.new]
			if !create && ix.View {
				// Apps applied before list views indexed themselves have
				// views whose index was never built: build it now.
				known, err := p.indexKnown(ctx, ix)
				if err != nil {
					return err
				}
				create = !known
			}
			// A unique index that stays is checked too: a conversion of its
			// columns (rounding) can make two values one.
			if !create && !ix.Unique {
				continue
			}
			if ix.Unique {
				n, err := p.checkUnique(ctx, m, ix, convs)
				if err != nil {
					return err
				}
				if n > 0 {
					what := fmt.Sprintf("%d values occur", n)
					if n == 1 {
						what = "1 value occurs"
					}
					p.refuse(p.uniquePath(m.new, ix), "unique_conflict", "cannot make %s unique: %s more than once", strings.Join(ix.Columns, ", "), what)
					continue
				}
			}
			if !create {
				continue
			}
			p.step(p.addIndexStep(m.new.Name, ix, rebuild[m.new]))
		}
	}
	return nil
}

// tempName is a short temporary name for a table or index being renamed.
func tempName(kind, name string) string {
	h := sha1.Sum([]byte(name))
	return "_forma_ren_" + kind + "_" + hex.EncodeToString(h[:8])
}

// renameTableStep renames a table, and its autonumber counters with it.
func renameTableStep(entity, path, desc, from, to string) Step {
	return Step{Op: "rename_entity", Entity: entity, Path: path, Description: desc,
		SQL: []string{"ALTER TABLE " + Quote(from) + " RENAME TO " + Quote(to)},
		exec: func(ctx context.Context, tx dconn) error {
			// Autonumber counters are keyed by table; they follow the rename.
			_, err := tx.ExecContext(ctx, "UPDATE _forma_sequences SET name = ? || substr(name, ?) WHERE substr(name, 1, ?) = ?",
				to+".", len(from)+2, len(from)+1, from+".")
			return err
		}}
}

func (p *planner) alterEntity(ctx context.Context, m *matchedEntity, convs map[*schema.Field]conversion, rebuild bool) error {
	oe, ne, changes := m.old, m.new, m.changes
	table := p.table(ne)    // the table's name when steps run (entity renames run first)
	oldTable := p.table(oe) // its name now, for the checks made while planning
	version := p.plan.ToVersion

	// Drops first: they free names that renamed or added fields may take.
	for _, c := range changes {
		if c.Kind != schema.DropField {
			continue
		}
		f := c.OldField
		n, err := p.count(ctx, oldTable, f.Name)
		if err != nil {
			return err
		}
		s := Step{Op: "drop_field", Entity: ne.Name, Field: f.Name, Path: c.Path,
			Description: fmt.Sprintf("drop field %s.%s (%d values, archived)", ne.Name, f.Name, n),
			exec: func(ctx context.Context, tx dconn) error {
				if err := archive(ctx, tx, p.app, version, ne.Name, f.Name,
					"SELECT "+Quote("id")+" AS record_id, "+archiveExpr(p.d, f, f.Name)+" AS value FROM "+Quote(table)+" WHERE "+Quote(f.Name)+" IS NOT NULL"); err != nil {
					return err
				}
				if f.Type != schema.AutoNumber {
					return nil
				}
				_, err := tx.ExecContext(ctx, "DELETE FROM _forma_sequences WHERE name = ?", SequenceName(table, f))
				return err
			}}
		if !rebuild {
			s.SQL = []string{"ALTER TABLE " + Quote(table) + " DROP COLUMN " + Quote(f.Name)}
		}
		if f.Type.Computed() && f.Type != schema.AutoNumber {
			s.Description = fmt.Sprintf("drop computed field %s.%s", ne.Name, f.Name)
			s.exec = nil
			p.step(s)
		} else {
			p.destructive(s, c.Path)
		}
	}

	// Renames next: later steps name columns by their new names. A SQLite
	// rebuild renames while it copies; otherwise, when a field takes a name
	// another renamed field gives up (a swap), every rename goes through a
	// temporary name.
	var renames []schema.Change
	taken := map[string]bool{}
	for _, c := range changes {
		if c.Kind == schema.RenameField {
			renames = append(renames, c)
			taken[c.OldField.Name] = true
		}
	}
	twoPhase := false
	for _, c := range renames {
		twoPhase = twoPhase || taken[c.Field.Name]
	}
	for i, c := range renames {
		s := Step{Op: "rename_field", Entity: ne.Name, Field: c.Field.Name, Path: c.Path,
			Description: fmt.Sprintf("rename field %s to %s (data kept)", c.OldField.Name, c.Field.Name)}
		switch {
		case rebuild:
			s.Description += " in the table rebuild"
		case twoPhase:
			s.SQL = []string{"ALTER TABLE " + Quote(table) + " RENAME COLUMN " + Quote(c.OldField.Name) + " TO " + Quote(fmt.Sprintf("_forma_ren_%d", i))}
		default:
			s.SQL = []string{"ALTER TABLE " + Quote(table) + " RENAME COLUMN " + Quote(c.OldField.Name) + " TO " + Quote(c.Field.Name)}
		}
		p.step(s)
	}
	if twoPhase && !rebuild {
		for i, c := range renames {
			p.step(Step{Op: "rename_field", Entity: ne.Name, Field: c.Field.Name,
				Description: fmt.Sprintf("rename field %s to %s (second half)", c.OldField.Name, c.Field.Name),
				SQL:         []string{"ALTER TABLE " + Quote(table) + " RENAME COLUMN " + Quote(fmt.Sprintf("_forma_ren_%d", i)) + " TO " + Quote(c.Field.Name)}})
		}
	}

	var backfills []Step
	for _, c := range changes {
		switch c.Kind {
		case schema.AddField:
			f := c.Field
			s := Step{Op: "add_field", Entity: ne.Name, Field: f.Name, Path: c.Path,
				Description: fmt.Sprintf("add field %s.%s (%s)", ne.Name, f.Name, f.Type)}
			if !rebuild {
				// A nullable column without a default: PostgreSQL records it in
				// the catalog only, so even a huge table is not rewritten.
				s.SQL = []string{"ALTER TABLE " + Quote(table) + " ADD COLUMN " + columnDef(p.d, p.app, f)}
			}
			p.step(s)
			if f.Type == schema.AutoNumber {
				// After the rebuild, if any: that is where the column appears.
				backfills = append(backfills, p.backfillAutoNumber(table, f))
			}
		case schema.AlterField:
			conv := convs[c.Field]
			of, nf := c.OldField, c.Field
			s := Step{Op: "alter_field", Entity: ne.Name, Field: nf.Name, Path: c.Path}
			switch conv.kind {
			case convRefused:
				p.refuse(c.Path+"/"+conv.key, "conversion", "%s.%s: %s", ne.Name, nf.Name, conv.reason)
				continue
			case convSame:
				s.Description = fmt.Sprintf("change field %s.%s (no data change)", ne.Name, nf.Name)
			case convCast:
				s.Description = fmt.Sprintf("convert field %s.%s from %s to %s", ne.Name, nf.Name, describeType(of), describeType(nf))
			case convLossy:
				s.Description = fmt.Sprintf("convert field %s.%s from %s to %s: %s (old values archived)", ne.Name, nf.Name, describeType(of), describeType(nf), conv.reason)
			case convRecompute:
				s.Description = fmt.Sprintf("change computed field %s.%s to %s (values recomputed)", ne.Name, nf.Name, describeType(nf))
			}
			if conv.check != nil {
				if err := conv.check(ctx, p.q, oldTable, of.Name); err != nil {
					p.refuse(c.Path, "conversion", "%s.%s: %v", ne.Name, nf.Name, err)
					continue
				}
			}
			if p.d.Name() == "postgres" {
				if conv.retype {
					using := conv.expr(nf.Name)
					if conv.kind == convRecompute {
						using = "NULL::" + p.d.ColumnType(nf)
					}
					s.SQL = append(s.SQL, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s", Quote(table), Quote(nf.Name), p.d.ColumnType(nf), using))
				}
				if conv.refChange {
					s.exec = chainExec(s.exec, p.pgReplaceForeignKey(table, nf))
				}
			}
			if conv.kind == convLossy {
				// The column still has its old name in a table about to be
				// rebuilt; otherwise renames have run.
				current := nf.Name
				if rebuild {
					current = of.Name
				}
				prev := s.exec
				s.exec = chainExec(func(ctx context.Context, tx dconn) error {
					return archive(ctx, tx, p.app, version, ne.Name, nf.Name,
						"SELECT "+Quote("id")+" AS record_id, "+archiveExpr(p.d, of, current)+" AS value FROM "+Quote(table)+" WHERE "+Quote(current)+" IS NOT NULL")
				}, prev)
				p.destructive(s, c.Path)
				continue
			}
			p.step(s)
		}
	}
	if rebuild {
		p.step(p.sqliteRebuild(table, oe, ne, changes, convs))
	}
	for _, s := range backfills {
		p.step(s)
	}
	return nil
}

func chainExec(a, b func(context.Context, dconn) error) func(context.Context, dconn) error {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	return func(ctx context.Context, tx dconn) error {
		if err := a(ctx, tx); err != nil {
			return err
		}
		return b(ctx, tx)
	}
}

// sqliteRebuild is SQLite's way to change a column's type or constraints:
// create the new table, copy every row converting (and renaming) as it goes,
// drop the old one and take its name. Foreign keys are off for the
// migration's connection (SQLite cannot switch them inside a transaction) and
// checked before commit.
func (p *planner) sqliteRebuild(table string, oe, ne *schema.Entity, changes []schema.Change, convs map[*schema.Field]conversion) Step {
	tmp := "_forma_new_" + table
	if len(tmp) > 63 {
		tmp = tmp[:63]
	}
	oldByID := map[string]*schema.Field{}
	for i := range oe.Fields {
		oldByID[oe.Fields[i].ID] = &oe.Fields[i]
	}
	added := map[*schema.Field]bool{}
	for _, c := range changes {
		if c.Kind == schema.AddField {
			added[c.Field] = true
		}
	}
	cols := append([]string{}, schema.SystemColumns...)
	exprs := make([]string, 0, len(cols)+len(ne.Fields))
	for _, c := range cols {
		exprs = append(exprs, Quote(c))
	}
	for i := range ne.Fields {
		f := &ne.Fields[i]
		of := oldByID[f.ID]
		if added[f] || of == nil {
			continue
		}
		cols = append(cols, f.Name)
		if conv, ok := convs[f]; ok && conv.expr != nil {
			exprs = append(exprs, conv.expr(of.Name))
		} else {
			exprs = append(exprs, Quote(of.Name))
		}
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = Quote(c)
	}
	stmts := []string{
		createTableSQL(p.d, p.app, tmp, ne, nil),
		fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", Quote(tmp), strings.Join(quoted, ", "), strings.Join(exprs, ", "), Quote(table)),
		"DROP TABLE " + Quote(table),
		"ALTER TABLE " + Quote(tmp) + " RENAME TO " + Quote(table),
	}
	return Step{Op: "rebuild_table", Entity: ne.Name, Description: fmt.Sprintf("rebuild table of %s with the new column types (SQLite)", ne.Name), SQL: stmts}
}

// pgReplaceForeignKey drops a ref column's foreign key (found in the catalog,
// whatever it was named) and adds the new one if the field is still a ref.
func (p *planner) pgReplaceForeignKey(table string, f *schema.Field) func(context.Context, dconn) error {
	return func(ctx context.Context, tx dconn) error {
		rows, err := tx.QueryContext(ctx, `SELECT c.conname FROM pg_constraint c
			JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
			WHERE c.contype = 'f' AND c.conrelid = to_regclass(?) AND a.attname = ?`, Quote(table), f.Name)
		if err != nil {
			return fmt.Errorf("find foreign key: %w", err)
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		rows.Close()
		for _, n := range names {
			if _, err := tx.ExecContext(ctx, "ALTER TABLE "+Quote(table)+" DROP CONSTRAINT "+Quote(n)); err != nil {
				return fmt.Errorf("drop foreign key: %w", err)
			}
		}
		if f.Type != schema.Ref {
			return nil
		}
		h := sha1.Sum([]byte(table + "|" + f.ID))
		_, err = tx.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s) ON DELETE %s",
			Quote(table), Quote("fk_"+hex.EncodeToString(h[:8])), Quote(f.Name), Quote(schema.TableName(p.app, f.Entity)), Quote("id"), onDeleteSQL(f.OnDelete)))
		if err != nil {
			return fmt.Errorf("add foreign key: %w", err)
		}
		return nil
	}
}

// backfillAutoNumber numbers existing records in creation order and sets the
// counter past them, so an autonumber added later still has no gaps.
func (p *planner) backfillAutoNumber(table string, f *schema.Field) Step {
	seq := SequenceName(table, f)
	return Step{Op: "backfill", Entity: strings.TrimPrefix(table, p.app+"_"), Field: f.Name,
		Description: fmt.Sprintf("number existing records in %s", f.Name),
		exec: func(ctx context.Context, tx dconn) error {
			q := fmt.Sprintf(`UPDATE %[1]s SET %[2]s = s.n FROM (SELECT %[3]s AS rid, row_number() OVER (ORDER BY %[3]s) AS n FROM %[1]s) AS s WHERE %[1]s.%[3]s = s.rid`,
				Quote(table), Quote(f.Name), Quote("id"))
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("number records: %w", err)
			}
			var n int64
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+Quote(table)).Scan(&n); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO _forma_sequences (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value", seq, n)
			return err
		}}
}

// SequenceName is the counter behind an autonumber field of a table.
func SequenceName(table string, f *schema.Field) string { return table + "." + f.ID }

func describeType(f *schema.Field) string {
	if f.StorageType() == schema.Decimal {
		return fmt.Sprintf("decimal(%d,%d)", f.DecimalPrecision(), f.DecimalScale())
	}
	return string(f.Type)
}

// uniquePath points at what asks for a unique index: the declared index, or
// the field's "unique", or else the entity.
func (p *planner) uniquePath(e *schema.Entity, ix physIndex) string {
	ep := entityPath(p.new, e)
	for k, d := range e.Indexes {
		if d.Unique && slices.Equal(d.Fields, ix.Columns) {
			return fmt.Sprintf("%s/indexes/%d", ep, k)
		}
	}
	for i := range e.Fields {
		if f := &e.Fields[i]; f.Unique && len(ix.Columns) == 1 && ix.Columns[0] == f.Name {
			return fmt.Sprintf("%s/fields/%d/unique", ep, i)
		}
	}
	return ep
}

func entityPath(a *schema.App, e *schema.Entity) string {
	for i := range a.Entities {
		if &a.Entities[i] == e {
			return fmt.Sprintf("/entities/%d", i)
		}
	}
	return ""
}

func (p *planner) count(ctx context.Context, table, col string) (int64, error) {
	q := "SELECT COUNT(*) FROM " + Quote(table)
	if col != "" {
		q = "SELECT COUNT(" + Quote(col) + ") FROM " + Quote(table)
	}
	var n int64
	if err := p.q.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count %s: %w", table, err)
	}
	return n, nil
}

// checkUnique counts the values that would break a unique index, reading the
// table as it is now: old table and column names, and the values as the
// migration will convert them (rounding can make two values one). It is
// skipped when the old table had the same unique index and no column of it
// changes its values, and when a column is added by this migration (it is
// empty, so it cannot hold duplicates).
func (p *planner) checkUnique(ctx context.Context, m *matchedEntity, ix physIndex, convs map[*schema.Field]conversion) (int64, error) {
	oldByID := map[string]*schema.Field{}
	for i := range m.old.Fields {
		oldByID[m.old.Fields[i].ID] = &m.old.Fields[i]
	}
	converted := false
	exprs := make([]string, len(ix.Columns))
	nn := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		expr := Quote(c) // a system column
		if nf := m.new.Field(c); nf != nil {
			of := oldByID[nf.ID]
			if of == nil {
				return 0, nil // a new, empty column
			}
			expr = Quote(of.Name)
			if conv, ok := convs[nf]; ok && conv.kind != convSame && conv.expr != nil {
				expr = conv.expr(of.Name)
				converted = true
			}
		}
		exprs[i] = expr
		nn[i] = expr + " IS NOT NULL"
	}
	if !converted && slices.ContainsFunc(entityIndexes(p.app, m.old), func(o physIndex) bool { return o.Key == ix.Key }) {
		return 0, nil
	}
	q := fmt.Sprintf("SELECT COUNT(*) FROM (SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING COUNT(*) > 1) AS d",
		Quote(p.table(m.old)), strings.Join(nn, " AND "), strings.Join(exprs, ", "))
	var n int64
	if err := p.q.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: check duplicates in %s: %w", p.table(m.old), err)
	}
	return n, nil
}

// tableFree refuses a table name that is already taken, by another app (app
// and entity names can combine to the same table name) or by an archive.
func (p *planner) tableFree(ctx context.Context, table, path string) error {
	ok, err := tableExists(ctx, p.q, table)
	if err != nil {
		return err
	}
	if ok {
		p.refuse(path, "table_exists", "table %s already exists (another app's entity?); choose another name", table)
	}
	return nil
}

func tableExists(ctx context.Context, q dconn, table string) (bool, error) {
	var query string
	if q.d.Name() == "postgres" {
		query = "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE tablename = ? AND schemaname = current_schema()"
	} else {
		query = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	}
	var n int
	if err := q.QueryRowContext(ctx, query, table).Scan(&n); err != nil {
		return false, fmt.Errorf("store: look up table %s: %w", table, err)
	}
	return n > 0, nil
}

// archive copies the rows of query into a new archive table and records it.
func archive(ctx context.Context, tx dconn, app string, version int, entity, field, query string) error {
	b := make([]byte, 6)
	rand.Read(b)
	id := hex.EncodeToString(b)
	table := "_forma_arc_" + id
	if _, err := tx.ExecContext(ctx, "CREATE TABLE "+Quote(table)+" AS "+query); err != nil {
		return fmt.Errorf("archive %s.%s: %w", entity, field, err)
	}
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+Quote(table)).Scan(&n); err != nil {
		return fmt.Errorf("archive %s.%s: %w", entity, field, err)
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO _forma_archives (id, app, version, entity, field, archive_table, rows, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		id, app, version, entity, field, table, n, time.Now().UTC())
	if err != nil {
		return fmt.Errorf("record archive: %w", err)
	}
	return nil
}
