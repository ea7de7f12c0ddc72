package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ChangeKind names one kind of difference between two versions of an app.
type ChangeKind string

// The kinds of change Diff reports.
const (
	AddEntity    ChangeKind = "add_entity"
	DropEntity   ChangeKind = "drop_entity"
	RenameEntity ChangeKind = "rename_entity"
	AddField     ChangeKind = "add_field"
	DropField    ChangeKind = "drop_field"
	RenameField  ChangeKind = "rename_field"
	AlterField   ChangeKind = "alter_field"
)

// Change is one difference between two app versions. Old* point into the old
// document, the others into the new one; Path is a JSON pointer into the new
// document (into the old one for drops).
type Change struct {
	Kind      ChangeKind
	Entity    *Entity
	OldEntity *Entity
	Field     *Field
	OldField  *Field
	Path      string
}

// EntityKey is what identifies an entity across versions: its id when it has
// one, otherwise its name (so without an id a new name is a new entity).
func EntityKey(e *Entity) string {
	if e.ID != "" {
		return "id:" + e.ID
	}
	return "name:" + e.Name
}

// Diff lists the changes that turn old into new. Entities match by id (or
// name when either side has no id) and fields by id, so a rename is reported
// as a rename, never as a drop and an add. old may be nil for a new app.
// Changes come in a stable order: per entity of new, in document order, then
// the drops of old.
func Diff(old, new *App) []Change {
	var out []Change
	oldByKey := map[string]*Entity{}
	oldByName := map[string]*Entity{}
	if old != nil {
		for i := range old.Entities {
			e := &old.Entities[i]
			oldByKey[EntityKey(e)] = e
			oldByName[e.Name] = e
		}
	}
	matched := map[*Entity]bool{}
	for i := range new.Entities {
		ne := &new.Entities[i]
		path := fmt.Sprintf("/entities/%d", i)
		oe := oldByKey[EntityKey(ne)]
		if oe == nil && ne.ID != "" {
			// An id added to an existing entity: match it by name once.
			if cand := oldByName[ne.Name]; cand != nil && cand.ID == "" {
				oe = cand
			}
		}
		if oe == nil || matched[oe] {
			out = append(out, Change{Kind: AddEntity, Entity: ne, Path: path})
			continue
		}
		matched[oe] = true
		if oe.Name != ne.Name {
			out = append(out, Change{Kind: RenameEntity, Entity: ne, OldEntity: oe, Path: path + "/name"})
		}
		out = append(out, diffFields(oe, ne, path)...)
	}
	if old != nil {
		for i := range old.Entities {
			oe := &old.Entities[i]
			if !matched[oe] {
				out = append(out, Change{Kind: DropEntity, OldEntity: oe, Path: fmt.Sprintf("/entities/%d", i)})
			}
		}
	}
	return out
}

func diffFields(oe, ne *Entity, path string) []Change {
	var out []Change
	oldByID := map[string]*Field{}
	for i := range oe.Fields {
		oldByID[oe.Fields[i].ID] = &oe.Fields[i]
	}
	seen := map[string]bool{}
	for i := range ne.Fields {
		nf := &ne.Fields[i]
		fpath := fmt.Sprintf("%s/fields/%d", path, i)
		of := oldByID[nf.ID]
		if of == nil {
			out = append(out, Change{Kind: AddField, Entity: ne, OldEntity: oe, Field: nf, Path: fpath})
			continue
		}
		seen[nf.ID] = true
		if of.Name != nf.Name {
			out = append(out, Change{Kind: RenameField, Entity: ne, OldEntity: oe, Field: nf, OldField: of, Path: fpath + "/name"})
		}
		if !sameDefinition(of, nf) {
			out = append(out, Change{Kind: AlterField, Entity: ne, OldEntity: oe, Field: nf, OldField: of, Path: fpath})
		}
	}
	for i := range oe.Fields {
		of := &oe.Fields[i]
		if !seen[of.ID] {
			out = append(out, Change{Kind: DropField, Entity: ne, OldEntity: oe, OldField: of, Path: fmt.Sprintf("%s/fields/%d", path, i)})
		}
	}
	return out
}

// sameDefinition compares two versions of a field, ignoring its name and label.
func sameDefinition(a, b *Field) bool {
	ac, bc := *a, *b
	ac.Name, bc.Name = "", ""
	ac.Label, bc.Label = "", ""
	aj, _ := json.Marshal(ac)
	bj, _ := json.Marshal(bc)
	return bytes.Equal(aj, bj)
}
