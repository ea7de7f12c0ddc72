package schema

import (
	"regexp"
	"sort"
	"strings"
)

// NamePattern is the pattern every app, entity, field, index and script name
// matches: a lowercase letter, then up to 62 lowercase letters, digits or
// underscores. Such a name is a safe SQL identifier and a safe URL segment.
const NamePattern = `^[a-z][a-z0-9_]{0,62}$`

// IDPattern is the pattern of the optional, stable field and entity ids.
const IDPattern = `^[A-Za-z0-9_-]{1,64}$`

// MaxIdentifierBytes is the longest identifier PostgreSQL keeps (NAMEDATALEN-1);
// a longer table name would be silently truncated, so it is refused instead.
const MaxIdentifierBytes = 63

// ReservedPrefix starts names kept for Forma's own tables and columns.
const ReservedPrefix = "forma_"

var (
	nameRE = regexp.MustCompile(NamePattern)
	idRE   = regexp.MustCompile(IDPattern)
)

// ValidName reports whether s matches NamePattern. It does not look at
// reserved words; see ReservedWord.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// ValidID reports whether s matches IDPattern.
func ValidID(s string) bool { return idRE.MatchString(s) }

// reservedWords holds every word refused as an app, entity or field name.
// sqlWords are the keywords PostgreSQL reserves (and the ones SQLite cannot
// take unquoted in common positions), the system column names of both
// databases, and apiWords the words the data API gives a meaning.
var (
	sqlWords = []string{
		"abort", "add", "all", "alter", "analyse", "analyze", "and", "any", "array", "as",
		"asc", "asymmetric", "authorization", "autoincrement", "begin", "between", "binary",
		"both", "by", "case", "cast", "check", "collate", "collation", "column", "commit",
		"concurrently", "constraint", "create", "cross", "current_catalog", "current_date",
		"current_role", "current_schema", "current_time", "current_timestamp",
		"current_user", "default", "deferrable", "delete", "desc", "distinct",
		"do", "drop", "else", "end", "escape", "except", "exists", "explain", "false",
		"fetch", "for", "foreign", "freeze", "from", "full", "glob", "grant", "group",
		"having", "if", "ilike", "in", "index", "indexed", "initially", "inner", "insert",
		"intersect", "into", "is", "isnull", "join", "key", "lateral", "leading", "left",
		"like", "limit", "localtime", "localtimestamp", "match", "natural", "not",
		"nothing", "notnull", "null", "offset", "on", "only", "or", "order", "outer",
		"overlaps", "placing", "pragma", "primary", "raise", "references", "regexp",
		"returning", "right", "rollback", "select", "session_user", "set",
		"similar", "some", "symmetric", "system_user", "table", "tablesample", "then",
		"to", "trailing", "transaction", "trigger", "true", "union", "unique", "update",
		"user", "using", "vacuum", "values", "variadic", "verbose", "view", "virtual",
		"when", "where", "window", "with",
		// hidden system columns: SQLite's rowid, PostgreSQL's per-row columns.
		"rowid", "oid", "tableoid", "xmin", "xmax", "cmin", "cmax", "ctid",
	}
	apiWords = []string{"expand", "items", "filter", "sort", "cursor", "fields", "history"}

	reserved = func() map[string]bool {
		m := make(map[string]bool, len(sqlWords)+len(apiWords))
		for _, w := range sqlWords {
			m[w] = true
		}
		for _, w := range apiWords {
			m[w] = true
		}
		return m
	}()
)

// ReservedWords returns, sorted, every word refused as an app, entity or
// field name: SQL keywords reserved by PostgreSQL or SQLite, the hidden system
// columns of both, and words of the data API (expand, items, filter, sort,
// cursor, fields, history). Field names are also refused when they are one of
// SystemColumns, and every name starting with ReservedPrefix is refused.
func ReservedWords() []string {
	out := make([]string, 0, len(reserved))
	for w := range reserved {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// ReservedWord reports whether s is one of ReservedWords (case-insensitive).
func ReservedWord(s string) bool { return reserved[strings.ToLower(s)] }

// IsSystemColumn reports whether name is one of SystemColumns.
func IsSystemColumn(name string) bool {
	for _, c := range SystemColumns {
		if c == name {
			return true
		}
	}
	return false
}

// SystemColumnType is the type a system column holds, for formulas, rollups
// and indexes that use it: id is text, created_at and updated_at datetime,
// created_by and owner user, version integer. The second result is false
// when name is not a system column.
func SystemColumnType(name string) (FieldType, bool) {
	switch name {
	case "id":
		return Text, true
	case "created_at", "updated_at":
		return DateTime, true
	case "created_by", "owner":
		return User, true
	case "version":
		return Integer, true
	}
	return "", false
}

// nameProblem explains why name cannot be used as the name of a kind ("app",
// "entity", "field"), or returns "" when it can.
func nameProblem(kind, name string) string {
	switch {
	case name == "":
		return "must not be empty"
	case !ValidName(name):
		return nameRule
	case strings.HasPrefix(name, ReservedPrefix):
		return "names starting with \"" + ReservedPrefix + "\" are reserved for Forma itself"
	case reserved[name]:
		return quote(name) + " is a reserved word; choose another " + kind + " name"
	case kind == "field" && IsSystemColumn(name):
		return quote(name) + " is a system column every entity already has (" +
			strings.Join(SystemColumns, ", ") + "); choose another field name"
	}
	return ""
}

// nameRule is the human wording of NamePattern.
const nameRule = "must start with a lowercase letter and contain only lowercase letters, digits and underscores (at most 63 characters)"

// idRule is the human wording of IDPattern.
const idRule = "must be 1 to 64 letters, digits, underscores or hyphens"

// SystemField describes a system column for people: its label in the UI's
// languages, so lists and filters show "Created" or "创建时间", not created_at.
type SystemField struct {
	Name   string    `json:"name"`
	Type   FieldType `json:"type"`
	Label  string    `json:"label"`
	Labels Labels    `json:"labels"`
}

// SystemFields lists the system columns every entity has, with labels.
func SystemFields() []SystemField {
	labels := map[string][2]string{
		"id":         {"ID", "编号"},
		"created_at": {"Created", "创建时间"},
		"updated_at": {"Updated", "更新时间"},
		"created_by": {"Created by", "创建人"},
		"owner":      {"Owner", "负责人"},
		"version":    {"Version", "版本"},
	}
	out := make([]SystemField, 0, len(SystemColumns))
	for _, c := range SystemColumns {
		t, _ := SystemColumnType(c)
		l := labels[c]
		out = append(out, SystemField{Name: c, Type: t, Label: l[0], Labels: Labels{"en": l[0], "zh-CN": l[1]}})
	}
	return out
}
