package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/schema"
)

// Saved views (_forma_views) name fields and entities in their filter, sort,
// columns and options.by. A migration that renames an entity or a field
// carries the new names into every view of the app, in the migration's own
// transaction, so a view keeps working after a rename (issue 21). A view
// that names a removed field is left as it is: the views API flags it
// (records.CheckView) and the UI opens it without the part that no longer
// applies, rather than failing.

// viewRenames is what a migration renames: entities by old name, and the
// fields of each entity by the entity's old name and the field's old name.
type viewRenames struct {
	entities map[string]string            // old entity name → new
	fields   map[string]map[string]string // old entity name → old field → new
	refs     map[string]map[string]string // old entity name → ref field's old name → target's old entity name
}

func renamesOf(prev, next *schema.App) *viewRenames {
	r := &viewRenames{entities: map[string]string{}, fields: map[string]map[string]string{}, refs: map[string]map[string]string{}}
	if prev == nil {
		return r
	}
	for _, c := range schema.Diff(prev, next) {
		switch c.Kind {
		case schema.RenameEntity:
			r.entities[c.OldEntity.Name] = c.Entity.Name
		case schema.RenameField:
			m := r.fields[c.OldEntity.Name]
			if m == nil {
				m = map[string]string{}
				r.fields[c.OldEntity.Name] = m
			}
			m[c.OldField.Name] = c.Field.Name
		}
	}
	for i := range prev.Entities {
		e := &prev.Entities[i]
		for j := range e.Fields {
			if f := &e.Fields[j]; f.Type == schema.Ref {
				if r.refs[e.Name] == nil {
					r.refs[e.Name] = map[string]string{}
				}
				r.refs[e.Name][f.Name] = f.Entity
			}
		}
	}
	return r
}

func (r *viewRenames) empty() bool { return len(r.entities) == 0 && len(r.fields) == 0 }

// field is the new name of field name of entity (old names), dotted names
// (ref.field) renamed on both sides.
func (r *viewRenames) field(entity, name string) string {
	head, tail, dotted := strings.Cut(name, ".")
	newHead := head
	if n, ok := r.fields[entity][head]; ok {
		newHead = n
	}
	if !dotted {
		return newHead
	}
	if target, ok := r.refs[entity][head]; ok {
		if n, ok := r.fields[target][tail]; ok {
			tail = n
		}
	}
	return newHead + "." + tail
}

// filterText renames the fields of a filter of entity. The comparisons
// are rewritten in place (by their byte offsets), so the rest of the text
// (spacing, literals) stays as the user wrote it. A filter that does not
// parse is left as it is.
func (r *viewRenames) filterText(entity, src string) string {
	if strings.TrimSpace(src) == "" {
		return src
	}
	node, err := filter.Parse(src)
	if err != nil {
		return src
	}
	type edit struct {
		pos     int
		old, to string
	}
	var edits []edit
	filter.Fields(node, func(c *filter.Compare) {
		if to := r.field(entity, c.Field); to != c.Field && strings.HasPrefix(src[c.Pos:], c.Field) {
			edits = append(edits, edit{c.Pos, c.Field, to})
		}
	})
	sort.Slice(edits, func(i, j int) bool { return edits[i].pos > edits[j].pos })
	for _, e := range edits {
		src = src[:e.pos] + e.to + src[e.pos+len(e.old):]
	}
	return src
}

// sortText renames the fields of a sort ("-amount,title").
func (r *viewRenames) sortText(entity, s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		t := strings.TrimSpace(p)
		sign := ""
		if t != "" && (t[0] == '-' || t[0] == '+') {
			sign, t = t[:1], t[1:]
		}
		if t != "" {
			parts[i] = sign + r.field(entity, t)
		}
	}
	return strings.Join(parts, ",")
}

// carryViews renames in the saved views of app what the migration from
// prev to next renames. q is the migration's transaction.
func carryViews(ctx context.Context, q dconn, prev, next *schema.App) error {
	r := renamesOf(prev, next)
	if r.empty() {
		return nil
	}
	rows, err := q.QueryContext(ctx, "SELECT id, entity, filter, sort, columns, options FROM _forma_views WHERE app = ?", next.Name)
	if err != nil {
		return fmt.Errorf("store: read views: %w", err)
	}
	type view struct{ id, entity, filter, sort, columns, options string }
	var vs []view
	for rows.Next() {
		var v view
		if err := rows.Scan(&v.id, &v.entity, &v.filter, &v.sort, &v.columns, &v.options); err != nil {
			rows.Close()
			return fmt.Errorf("store: read views: %w", err)
		}
		vs = append(vs, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read views: %w", err)
	}
	for _, v := range vs {
		w := v
		if n, ok := r.entities[v.entity]; ok {
			w.entity = n
		}
		w.filter = r.filterText(v.entity, v.filter)
		w.sort = r.sortText(v.entity, v.sort)
		var cols []string
		if json.Unmarshal([]byte(v.columns), &cols) == nil && len(cols) > 0 {
			for i := range cols {
				cols[i] = r.field(v.entity, cols[i])
			}
			b, _ := json.Marshal(cols)
			w.columns = string(b)
		}
		var opts map[string]any
		if json.Unmarshal([]byte(v.options), &opts) == nil {
			if by, ok := opts["by"].(string); ok {
				opts["by"] = r.field(v.entity, by)
				b, _ := json.Marshal(opts)
				w.options = string(b)
			}
		}
		if w == v {
			continue
		}
		if _, err := q.ExecContext(ctx, "UPDATE _forma_views SET entity = ?, filter = ?, sort = ?, columns = ?, options = ?, version = version + 1 WHERE id = ?",
			w.entity, w.filter, w.sort, w.columns, w.options, v.id); err != nil {
			return fmt.Errorf("store: carry view %s: %w", v.id, err)
		}
	}
	return nil
}
