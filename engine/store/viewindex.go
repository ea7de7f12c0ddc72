package store

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/schema"
)

// maxViewIndexColumns bounds a list view's index: equality fields, sort keys
// and id. Past this an index costs writes more than it helps reads.
const maxViewIndexColumns = 8

// appIndexes are the indexes an entity needs in app document doc: those of
// entityIndexes (declared, unique, refs, owner) and one per list view, in
// the view's order (see viewIndex). A view index equal to a declared one is
// that index: it keeps the declared index's identity and name.
func appIndexes(doc *schema.App, e *schema.Entity) []physIndex {
	out := entityIndexes(doc.Name, e)
	seen := map[string]bool{}
	for _, ix := range out {
		seen[ix.Key] = true
	}
	ownRule := readsOwn(doc, e.Name)
	for i := range doc.Forms {
		f := &doc.Forms[i]
		if f.Kind != schema.FormList || f.Entity != e.Name {
			continue
		}
		ix, ok := viewIndex(doc.Name, e, f, nil)
		if !ok {
			continue
		}
		cand := []physIndex{ix}
		// As for declared indexes: a rep's page (owner = me) is one index
		// range only with an owner-led twin; without it SQLite picks the
		// owner index and sorts every record the rep owns.
		if ownRule && ix.Columns[0] != "owner" {
			if twin, ok := viewIndex(doc.Name, e, f, []string{"owner"}); ok {
				cand = append(cand, twin)
			}
		}
		for _, c := range cand {
			if !seen[c.Key] {
				seen[c.Key] = true
				out = append(out, c)
			}
		}
	}
	return out
}

// readsOwn reports whether some role reads entity with scope own, so that
// its list pages carry owner = ? in front of every filter.
func readsOwn(doc *schema.App, entity string) bool {
	for _, r := range doc.EffectiveRoles() {
		if s := r.Entities[entity].Grant(schema.OpRead); s != nil && s.Scope == schema.ScopeOwn {
			return true
		}
	}
	return false
}

// viewIndex is the index that serves a list view's default page as one
// index range in order: lead (owner for a rep's twin), then the fields its
// default filter fixes by equality (in filter order), then its sort keys in
// their directions, then id in the direction the records layer gives the
// tie-breaker (the first key's). ok is false when the primary key already
// serves the view (sorted by id alone, no equality) or the sort cannot be
// indexed.
//
// Directions are stored flipped when needed so that the first sort key is
// ascending: a B-tree is walked either way, so (a, b DESC, id) serves both
// "a,-b" and "-a,b". The result is then the same index as one declared
// over those columns in those directions, and shares its key and name.
func viewIndex(app string, e *schema.Entity, f *schema.Form, lead []string) (physIndex, bool) {
	id := func(name string) (string, bool) {
		if fd := e.Field(name); fd != nil {
			switch fd.StorageType() {
			case schema.MultiSelect, schema.JSON:
				return "", false // records refuses to sort by these; not indexable as keys
			}
			return "f:" + fd.ID, true
		}
		if schema.IsSystemColumn(name) {
			return name, true
		}
		return "", false
	}
	var cols, ids []string
	var desc []bool
	has := map[string]bool{}
	add := func(name string, d bool) bool {
		if has[name] {
			return true
		}
		i, ok := id(name)
		if !ok {
			return false
		}
		has[name] = true
		cols, ids, desc = append(cols, name), append(ids, i), append(desc, d)
		return true
	}
	for _, n := range lead {
		add(n, false)
	}
	for _, n := range equalityFields(f.Filter) {
		add(n, false)
	}
	nEq := len(cols)
	sorted := false
	firstDesc := true // no sort: newest first, by id
	for _, part := range strings.Split(f.Sort, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d := strings.HasPrefix(part, "-")
		name := strings.TrimLeft(part, "+-")
		if !sorted {
			firstDesc = d
		}
		sorted = true
		if !add(name, d) {
			return physIndex{}, false
		}
		if name == "id" {
			break
		}
	}
	if !add("id", firstDesc) {
		return physIndex{}, false
	}
	if len(cols) == 1 || len(cols) > maxViewIndexColumns {
		return physIndex{}, false // id alone: the primary key
	}
	// Flip so that the first key after the fixed ones is ascending; fixed
	// (equality) columns are always ascending.
	desc = ascendingFirst(desc, nEq)
	key := indexKey(false, ids, desc)
	table := schema.TableName(app, e.Name)
	h := sha1.Sum([]byte(table + "|" + key + "|" + strings.Join(cols, ",")))
	return physIndex{Name: "ix_" + hex.EncodeToString(h[:])[:16], Table: table, Columns: cols, Desc: desc, Key: key, View: true}, true
}

// equalityFields are the fields a filter fixes to one value in every row it
// matches: "field = value" comparisons joined by && at the top level. A
// filter that does not parse fixes nothing (the records layer reports it).
func equalityFields(src string) []string {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	n, err := filter.Parse(src)
	if err != nil {
		return nil
	}
	var out []string
	var walk func(filter.Node)
	walk = func(n filter.Node) {
		switch n := n.(type) {
		case *filter.And:
			walk(n.Left)
			walk(n.Right)
		case *filter.Compare:
			switch n.Value.Kind {
			case filter.String, filter.Number, filter.Bool, filter.Variable, filter.Null:
				if n.Op == "=" {
					out = append(out, n.Field)
				}
			}
		}
	}
	walk(n)
	return out
}

// HasIndex reports whether the entity has index ix in app document doc:
// declared, or asked for by a list view (the same columns in the same
// directions, or all reversed).
func HasIndex(doc *schema.App, e *schema.Entity, ix schema.Index) bool {
	probe := *e
	probe.Indexes = []schema.Index{ix}
	want := entityIndexes(doc.Name, &probe)
	if len(want) == 0 {
		return false
	}
	for _, have := range appIndexes(doc, e) {
		if have.Key == want[0].Key {
			return true
		}
	}
	return false
}
