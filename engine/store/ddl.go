package store

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/formaapp/forma/schema"
)

// columnDef is the DDL of one field's column, with its foreign key if any.
func columnDef(d Dialect, app string, f *schema.Field) string {
	def := Quote(f.Name) + " " + d.ColumnType(f)
	if f.Type == schema.Ref {
		def += " REFERENCES " + Quote(schema.TableName(app, f.Entity)) + " (" + Quote("id") + ") ON DELETE " + onDeleteSQL(f.OnDelete)
	}
	return def
}

func onDeleteSQL(s string) string {
	switch s {
	case "cascade":
		return "CASCADE"
	case "setNull":
		return "SET NULL"
	default:
		return "RESTRICT"
	}
}

// createTableSQL creates an entity's table with its system columns and every
// field for which include returns true (refs to tables not created yet are
// left out and added after, so that cycles of refs can be created).
func createTableSQL(d Dialect, app, table string, e *schema.Entity, include func(*schema.Field) bool) string {
	cols := append([]string{}, d.systemColumns()...)
	for i := range e.Fields {
		f := &e.Fields[i]
		if include == nil || include(f) {
			cols = append(cols, columnDef(d, app, f))
		}
	}
	sql := "CREATE TABLE " + Quote(table) + " (\n  " + strings.Join(cols, ",\n  ") + "\n)"
	if d.Name() == "sqlite" {
		sql += " STRICT"
	}
	return sql
}

// physIndex is a database index that an entity needs: declared in the
// document, or implied by a unique field or a ref (refs are indexed so that
// restrict checks, expands and rollups never scan).
type physIndex struct {
	Name    string
	Table   string
	Columns []string
	Unique  bool
	Key     string // identity across versions: by field ids, so renames keep it
	// Desc, when set, gives each column's direction (true = descending);
	// nil means all ascending.
	Desc []bool
	// View marks an index that a list view asks for (viewIndex). On
	// PostgreSQL it is built concurrently after the migration commits, so
	// it may not exist yet when a later migration drops it.
	View bool
}

func entityIndexes(app string, e *schema.Entity) []physIndex {
	table := schema.TableName(app, e.Name)
	var out []physIndex
	seen := map[string]bool{}
	add := func(cols, ids []string, desc []bool, unique bool) {
		// Non-unique indexes end with id: list pages sort by (keys…, id),
		// so the index then serves the whole ORDER BY and the cursor.
		if !unique && cols[len(cols)-1] != "id" {
			cols = append(append([]string{}, cols...), "id")
			ids = append(append([]string{}, ids...), "id")
			if desc != nil {
				desc = append(append([]bool{}, desc...), false)
			}
		}
		ix := physIndex{Table: table, Columns: cols, Unique: unique, Desc: desc}
		ix.Key = indexKey(unique, ids, desc)
		if seen[ix.Key] {
			return
		}
		seen[ix.Key] = true
		h := sha1.Sum([]byte(table + "|" + ix.Key + "|" + strings.Join(cols, ",")))
		prefix := "ix_"
		if unique {
			prefix = "ux_"
		}
		ix.Name = prefix + hex.EncodeToString(h[:])[:16]
		out = append(out, ix)
	}
	fieldID := func(name string) string {
		if f := e.Field(name); f != nil {
			return "f:" + f.ID
		}
		return name // system column
	}
	for _, ix := range e.Indexes {
		cols := make([]string, len(ix.Fields))
		ids := make([]string, len(ix.Fields))
		var desc []bool
		for i, entry := range ix.Fields {
			name, d := schema.IndexField(entry)
			cols[i], ids[i] = name, fieldID(name)
			if d && desc == nil {
				desc = make([]bool, len(ix.Fields))
			}
			if desc != nil {
				desc[i] = d
			}
		}
		desc = ascendingFirst(desc, 0)
		add(cols, ids, desc, ix.Unique)
		// Row rules start with owner ("own" scope: owner = me). An
		// owner-led twin lets a rep's filtered, sorted page be one index
		// range too; without it SQLite picks the owner index and sorts
		// every record the rep owns.
		if !ix.Unique && cols[0] != "owner" {
			var tdesc []bool
			if desc != nil {
				tdesc = append([]bool{false}, desc...)
			}
			add(append([]string{"owner"}, cols...), append([]string{"owner"}, ids...), tdesc, false)
		}
	}
	for i := range e.Fields {
		f := &e.Fields[i]
		if f.Unique {
			add([]string{f.Name}, []string{"f:" + f.ID}, nil, true)
		}
		// A file field is looked up by value too: who may fetch a file, and
		// whether any record still references it (engine/files).
		if f.Type == schema.Ref || f.Type == schema.File {
			add([]string{f.Name}, []string{"f:" + f.ID}, nil, false)
		}
	}
	// Owner is every row rule's first filter; index it for list pages.
	add([]string{"owner"}, []string{"owner"}, nil, false)
	return out
}

// indexKey is an index's identity across versions: uniqueness and its
// columns by field id, "-" after a descending one. An all-ascending index
// keeps the key it had before indexes had directions.
func indexKey(unique bool, ids []string, desc []bool) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id
		if desc != nil && desc[i] {
			parts[i] += "-"
		}
	}
	return fmt.Sprintf("%v|%s", unique, strings.Join(parts, ","))
}

// ascendingFirst flips the directions from column from on so that column
// from ascends: a B-tree is walked either way, so (a DESC, b) and (a, b
// DESC) serve the same sorts, and one form keeps them one index. nil
// stands for all ascending and is answered for it.
func ascendingFirst(desc []bool, from int) []bool {
	if desc == nil {
		return nil
	}
	if from < len(desc) && desc[from] {
		for i := from; i < len(desc); i++ {
			desc[i] = !desc[i]
		}
	}
	for _, d := range desc {
		if d {
			return desc
		}
	}
	return nil
}

// createIndexSQL builds an index. On PostgreSQL columns are NULLS FIRST:
// Forma sorts nulls as the smallest value on both dialects (SQLite's rule), and
// only an index in that order can serve a list page's ORDER BY.
func createIndexSQL(d Dialect, ix physIndex) string {
	cols := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		cols[i] = Quote(c)
		desc := ix.Desc != nil && ix.Desc[i]
		if desc {
			cols[i] += " DESC"
		}
		if d.Name() == "postgres" && c != "id" {
			if desc {
				cols[i] += " NULLS LAST" // nulls are the smallest value
			} else {
				cols[i] += " NULLS FIRST"
			}
		}
	}
	u := ""
	if ix.Unique {
		u = "UNIQUE "
	}
	return fmt.Sprintf("CREATE %sINDEX %s ON %s (%s)", u, Quote(ix.Name), Quote(ix.Table), strings.Join(cols, ", "))
}

func dropIndexSQL(ix physIndex) string {
	if ix.View {
		return "DROP INDEX IF EXISTS " + Quote(ix.Name)
	}
	return "DROP INDEX " + Quote(ix.Name)
}

// describeIndex names an index's columns with their directions for a plan.
func describeIndex(ix physIndex) string {
	parts := make([]string, len(ix.Columns))
	for i, c := range ix.Columns {
		parts[i] = c
		if ix.Desc != nil && ix.Desc[i] {
			parts[i] += " desc"
		}
	}
	s := strings.Join(parts, ", ")
	if ix.View {
		s += " (for a list view)"
	}
	return s
}
