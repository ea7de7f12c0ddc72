package store

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/formaapp/forma/schema"
)

// Dialect is what differs between SQLite and PostgreSQL: column types, how a
// value is stored, and the DDL each can run in place.
type Dialect interface {
	Name() string // "sqlite" or "postgres"
	// ColumnType is the SQL type of a field's column.
	ColumnType(f *schema.Field) string
	// Rebind rewrites "?" placeholders into the dialect's form.
	Rebind(q string) string
	// systemColumns is the DDL of the system columns every entity table has.
	systemColumns() []string
}

// Quote quotes an identifier. Forma only ever quotes names that passed the
// name pattern, so the quoting is belt and braces, not the only defence.
func Quote(ident string) string {
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

// SQLite is the embedded default. Its tables are STRICT, so a column holds
// only its declared type. Decimals are stored as integers scaled by
// 10^scale: exact, orderable and summable, which REAL would not be.
type SQLite struct{}

// Name implements Dialect.
func (SQLite) Name() string { return "sqlite" }

// Rebind implements Dialect; SQLite takes "?" as is.
func (SQLite) Rebind(q string) string { return q }

// ColumnType implements Dialect.
func (SQLite) ColumnType(f *schema.Field) string {
	switch f.StorageType() {
	case schema.Integer, schema.Decimal, schema.Boolean:
		return "INTEGER"
	default:
		return "TEXT"
	}
}

func (SQLite) systemColumns() []string {
	return []string{
		`"id" TEXT PRIMARY KEY NOT NULL`,
		`"created_at" TEXT NOT NULL`,
		`"updated_at" TEXT NOT NULL`,
		`"created_by" TEXT`,
		`"owner" TEXT`,
		`"version" INTEGER NOT NULL DEFAULT 1`,
	}
}

// Postgres is the production dialect.
type Postgres struct{}

// Name implements Dialect.
func (Postgres) Name() string { return "postgres" }

// Rebind implements Dialect: "?" becomes $1, $2, ….
func (Postgres) Rebind(q string) string {
	n := strings.Count(q, "?")
	if n == 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + n*3)
	i := 0
	for _, r := range q {
		if r == '?' {
			i++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(i))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ColumnType implements Dialect.
func (Postgres) ColumnType(f *schema.Field) string {
	switch f.StorageType() {
	case schema.Integer, schema.AutoNumber:
		return "bigint"
	case schema.Decimal:
		return fmt.Sprintf("numeric(%d,%d)", f.DecimalPrecision(), f.DecimalScale())
	case schema.Boolean:
		return "boolean"
	case schema.Date:
		return "date"
	case schema.DateTime:
		return "timestamptz"
	case schema.MultiSelect, schema.JSON:
		return "jsonb"
	default:
		return "text"
	}
}

func (Postgres) systemColumns() []string {
	return []string{
		`"id" text PRIMARY KEY`,
		`"created_at" timestamptz NOT NULL`,
		`"updated_at" timestamptz NOT NULL`,
		`"created_by" text`,
		`"owner" text`,
		`"version" bigint NOT NULL DEFAULT 1`,
	}
}
