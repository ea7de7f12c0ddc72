package bulk

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/width"

	"github.com/formaapp/forma/schema"
)

// How a column was matched (ColumnMap.By).
const (
	ByName  = "name"
	ByLabel = "label"
	ByMap   = "map"
	// ByReadOnly: the header names a field no import writes (a formula,
	// rollup or autonumber, or a system column other than owner: what an
	// export carries); the column is read past, not reported as unknown.
	ByReadOnly = "readonly"
)

// fold is how headers and labels compare: trimmed, full-width folded to
// half-width, inner runs of spaces made one, case folded.
func fold(s string) string {
	s = foldWidth(strings.TrimSpace(s))
	if ascii(s) && !strings.Contains(s, "  ") && strings.IndexAny(s, "\t\r\n") < 0 {
		return strings.ToLower(s)
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// foldWidth turns full-width letters, digits and signs into their
// half-width forms (ASCII text is returned as is, without a copy).
func foldWidth(s string) string {
	if ascii(s) {
		return s
	}
	return width.Fold.String(s)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// importable returns the entity's fields (and owner) an import may write,
// and the names of those it reads past.
func importable(e *schema.Entity) (fields []*schema.Field, readOnly []*schema.Field) {
	for i := range e.Fields {
		f := &e.Fields[i]
		if f.Type.Computed() {
			readOnly = append(readOnly, f)
		} else {
			fields = append(fields, f)
		}
	}
	for _, sf := range schema.SystemFields() {
		f := &schema.Field{Name: sf.Name, Type: sf.Type, Label: sf.Label, Labels: sf.Labels}
		if sf.Name == "owner" {
			fields = append(fields, f)
		} else {
			readOnly = append(readOnly, f)
		}
	}
	return fields, readOnly
}

// fieldNamed returns the field of e that an import may write by that name
// (owner included), or nil.
func fieldNamed(e *schema.Entity, name string) *schema.Field {
	fields, _ := importable(e)
	for _, f := range fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// labelsOf are the ways a field is named to people: label and every
// language's variant.
func labelsOf(f *schema.Field) []string {
	out := []string{f.Label}
	keys := make([]string, 0, len(f.Labels))
	for k := range f.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, f.Labels[k])
	}
	return out
}

// MapColumns says which field of e each header fills: the explicit map
// first (header → field, "" ignores the column), then the field's name,
// then its label in any language, compared folded (case, full-width,
// spaces). A header that fills no field is in Unknown; a field already
// filled by an earlier column is not filled twice (the later column is
// Unknown); Missing lists the required fields without a default that no
// column fills. An explicit map naming a field e lacks, or filling one
// field from two columns, is a *FileError.
func MapColumns(app *schema.App, e *schema.Entity, header []string, explicit map[string]string) (*Mapping, error) {
	fields, readOnly := importable(e)
	exp := make(map[string]string, len(explicit))
	for h, f := range explicit {
		f = strings.TrimSpace(f)
		if f != "" && fieldNamed(e, f) == nil {
			reason := fmt.Sprintf("the map sends column %q to %q, which is not a field of %s an import can write", h, f, e.Name)
			return nil, &FileError{Code: CodeUnknownField, Field: f, Reason: reason}
		}
		exp[strings.TrimSpace(h)] = f
	}
	byName := map[string]*schema.Field{}
	byLabel := map[string]*schema.Field{}
	for _, f := range fields {
		byName[fold(f.Name)] = f
	}
	for _, f := range fields {
		for _, l := range labelsOf(f) {
			if k := fold(l); k != "" && byLabel[k] == nil && byName[k] == nil {
				byLabel[k] = f
			}
		}
	}
	ro := map[string]bool{}
	for _, f := range readOnly {
		ro[fold(f.Name)] = true
		for _, l := range labelsOf(f) {
			if k := fold(l); k != "" {
				ro[k] = true
			}
		}
	}
	m := &Mapping{Columns: make([]ColumnMap, len(header)), Unknown: []string{}, Missing: []string{}}
	filled := map[string]string{} // field → the header filling it
	for i, h := range header {
		cm := ColumnMap{Index: i, Header: h}
		key := strings.TrimSpace(h)
		if f, ok := exp[key]; ok {
			cm.By = ByMap
			if f != "" {
				if prev, dup := filled[f]; dup {
					return nil, &FileError{Code: CodeDuplicateField, Field: f,
						Reason: fmt.Sprintf("columns %q and %q both fill %q: map one of them to \"\" to ignore it", prev, h, f)}
				}
				cm.Field = f
			}
		} else {
			k := fold(unquoteCell(strings.TrimSpace(h)))
			switch f := byName[k]; {
			case f != nil:
				cm.Field, cm.By = f.Name, ByName
			case byLabel[k] != nil:
				cm.Field, cm.By = byLabel[k].Name, ByLabel
			case ro[k]:
				cm.By = ByReadOnly
			}
			if cm.Field != "" {
				if _, dup := filled[cm.Field]; dup {
					cm.Field, cm.By = "", ""
				}
			}
		}
		if cm.Field != "" {
			filled[cm.Field] = h
		} else if cm.By == "" {
			m.Unknown = append(m.Unknown, h)
		}
		m.Columns[i] = cm
	}
	for _, f := range fields {
		if f.Required && len(f.Default) == 0 && filled[f.Name] == "" {
			if _, ok := filled[f.Name]; !ok {
				m.Missing = append(m.Missing, f.Name)
			}
		}
	}
	return m, nil
}
