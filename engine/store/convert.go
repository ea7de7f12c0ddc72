package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/formaapp/forma/schema"
)

// convKind says how a field's stored values survive a change of definition.
type convKind int

const (
	convSame      convKind = iota // column and values stay as they are
	convCast                      // values convert exactly
	convLossy                     // values convert but lose detail: destructive
	convRecompute                 // computed field: column replaced, values recomputed
	convRefused                   // no safe conversion
)

// conversion is how one field's column turns from its old definition into the
// new one. Expressions and checks take the column they read as an argument:
// checks run while planning, against the table as it is (old table and column
// names), while expressions run in the migration, after renames on
// PostgreSQL and under the old name in a SQLite table rebuild.
type conversion struct {
	kind      convKind
	expr      func(column string) string // SQL giving the new value from the old column (SQLite copy, PostgreSQL USING)
	retype    bool                       // PostgreSQL needs ALTER COLUMN … TYPE
	refChange bool                       // the foreign key changes (onDelete or ref dropped)
	reason    string                     // for refused or lossy
	key       string                     // for refused: the field's key the refusal is about ("type", "entity")
	// check verifies that the existing values of table.column fit the new definition.
	check func(ctx context.Context, q querier, table, column string) error
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

var textual = map[schema.FieldType]bool{
	schema.Text: true, schema.LongText: true, schema.Select: true, schema.Email: true,
	schema.Phone: true, schema.URL: true, schema.File: true, schema.User: true, schema.Ref: true,
}

func pow10(n int) int64 {
	v := int64(1)
	for range n {
		v *= 10
	}
	return v
}

// sameExpr keeps a column's values as they are.
func sameExpr(column string) string { return Quote(column) }

// refTarget says which entity of the new document an old ref target is now
// called (entities keep their identity through a rename).
type refTarget func(oldEntity string) string

// colMark stands for the column in conversion templates.
const colMark = "{c}"

// template makes an expression over a column from a template holding colMark.
func template(t string) func(column string) string {
	return func(column string) string { return strings.ReplaceAll(t, colMark, Quote(column)) }
}

// convertField plans the conversion of one field. target maps the old ref
// target to its name in the new document, so that a ref to a renamed entity
// is not taken for a ref to another entity.
func convertField(d Dialect, of, nf *schema.Field, target refTarget) conversion {
	c := colMark
	s1, s2 := of.StorageType(), nf.StorageType()
	pg := d.Name() == "postgres"
	sameCol := func() conversion { return conversion{kind: convSame, expr: sameExpr} }
	cast := func(pgExpr, sqliteExpr string) conversion {
		if pg {
			return conversion{kind: convCast, expr: template(pgExpr), retype: true}
		}
		return conversion{kind: convCast, expr: template(sqliteExpr)}
	}
	refuse := func(format string, args ...any) conversion {
		return conversion{kind: convRefused, key: "type", reason: fmt.Sprintf(format, args...)}
	}

	if nf.Type == schema.Formula || nf.Type == schema.Rollup {
		if s1 == s2 && (s1 != schema.Decimal || (of.DecimalPrecision() == nf.DecimalPrecision() && of.DecimalScale() == nf.DecimalScale())) {
			return sameCol()
		}
		return conversion{kind: convRecompute, expr: template("NULL"), retype: true}
	}

	switch {
	case s1 == s2:
		switch s1 {
		case schema.Decimal:
			return convertDecimal(d, of, nf)
		case schema.Select:
			return withOptionsCheck(sameCol(), nf)
		case schema.MultiSelect:
			return withMultiOptionsCheck(sameCol(), nf)
		case schema.Ref:
			if target(of.Entity) != nf.Entity {
				conv := refuse("a ref field cannot change its target entity (%s → %s); add a new field instead", of.Entity, nf.Entity)
				if of.Type == nf.Type {
					conv.key = "entity"
				}
				return conv
			}
			if of.OnDelete != nf.OnDelete && !(of.OnDelete == "" && nf.OnDelete == "restrict" || of.OnDelete == "restrict" && nf.OnDelete == "") {
				conv := sameCol()
				conv.refChange = true
				return conv
			}
		case schema.Integer:
			if of.Type == schema.Integer && nf.Type == schema.AutoNumber {
				return refuse("an integer field cannot become an autonumber; add a new autonumber field")
			}
		}
		return sameCol()
	case textual[s1] && textual[s2]:
		if s2 == schema.Ref {
			return refuse("a %s field cannot become a ref: its values are not record ids", s1)
		}
		if s2 == schema.User {
			return refuse("a %s field cannot become a user field: its values are not user ids", s1)
		}
		conv := sameCol()
		conv.refChange = s1 == schema.Ref
		switch s2 {
		case schema.Select:
			return withOptionsCheck(conv, nf)
		case schema.Email, schema.Phone, schema.URL:
			return withFormatCheck(conv, s2)
		}
		return conv
	case s1 == schema.Integer && s2 == schema.Decimal:
		conv := cast(fmt.Sprintf("%s::numeric(%d,%d)", c, nf.DecimalPrecision(), nf.DecimalScale()),
			fmt.Sprintf("%s * %d", c, pow10(nf.DecimalScale())))
		return withRangeCheck(conv, nf.DecimalPrecision()-nf.DecimalScale(), sameExpr, 0, "")
	case s1 == schema.Integer && (s2 == schema.Text || s2 == schema.LongText):
		return cast(c+"::text", "CAST("+c+" AS TEXT)")
	case s1 == schema.Decimal && (s2 == schema.Text || s2 == schema.LongText):
		return cast(c+"::text", sqliteDecimalText(c, of.DecimalScale()))
	case s1 == schema.Decimal && s2 == schema.Integer:
		conv := cast("round("+c+")::bigint", sqliteRescale(c, of.DecimalScale(), 0))
		conv.kind, conv.reason = convLossy, "decimals are rounded to whole numbers"
		return conv
	case s1 == schema.Boolean && s2 == schema.Integer:
		return cast(c+"::int::bigint", c)
	case s1 == schema.Boolean && (s2 == schema.Text || s2 == schema.LongText):
		return cast("CASE WHEN "+c+" THEN 'true' WHEN NOT "+c+" THEN 'false' END",
			"CASE "+c+" WHEN 1 THEN 'true' WHEN 0 THEN 'false' END")
	case s1 == schema.Date && s2 == schema.DateTime:
		return cast("("+c+"::timestamp AT TIME ZONE 'UTC')", c+" || 'T00:00:00.000000Z'")
	case s1 == schema.DateTime && s2 == schema.Date:
		conv := cast("("+c+" AT TIME ZONE 'UTC')::date", "substr("+c+", 1, 10)")
		conv.kind, conv.reason = convLossy, "the time of day is dropped"
		return conv
	case s1 == schema.Date && (s2 == schema.Text || s2 == schema.LongText):
		return cast("to_char("+c+", 'YYYY-MM-DD')", c)
	case s1 == schema.DateTime && (s2 == schema.Text || s2 == schema.LongText):
		return cast("to_char("+c+" AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", c)
	case s1 == schema.Select && s2 == schema.MultiSelect:
		conv := cast("CASE WHEN "+c+" IS NULL THEN NULL ELSE jsonb_build_array("+c+") END",
			"CASE WHEN "+c+" IS NULL THEN NULL ELSE json_array("+c+") END")
		return withMultiOptionsCheck(conv, nf)
	case s1 == schema.MultiSelect && s2 == schema.JSON:
		return sameCol()
	}
	return refuse("cannot convert a %s field to %s without losing or inventing data; add a new field and copy the values", s1, s2)
}

func convertDecimal(d Dialect, of, nf *schema.Field) conversion {
	p1, s1, p2, s2 := of.DecimalPrecision(), of.DecimalScale(), nf.DecimalPrecision(), nf.DecimalScale()
	if p1 == p2 && s1 == s2 {
		return conversion{kind: convSame, expr: sameExpr}
	}
	pg := d.Name() == "postgres"
	conv := conversion{kind: convCast, retype: pg}
	if pg {
		conv.expr = template(fmt.Sprintf("round(%s, %d)::numeric(%d,%d)", colMark, s2, p2, s2))
	} else {
		conv.expr = template(sqliteRescale(colMark, s1, s2))
	}
	switch {
	case s2 < s1:
		conv.kind, conv.reason = convLossy, fmt.Sprintf("values are rounded from %d to %d decimal places", s1, s2)
		// Rounding can carry into a new digit (999.99 → 1000.0): check the
		// rounded values, not the stored ones.
		note := fmt.Sprintf(" once rounded to %d decimal places", s2)
		if pg {
			return withRangeCheck(conv, p2-s2, template(fmt.Sprintf("round(%s, %d)", colMark, s2)), 0, note)
		}
		return withRangeCheck(conv, p2-s2, conv.expr, s2, note)
	case p2-s2 < p1-s1:
		storedScale := 0
		if !pg {
			storedScale = s1
		}
		return withRangeCheck(conv, p2-s2, sameExpr, storedScale, "")
	}
	return conv
}

// sqliteRescale converts a decimal stored scaled by 10^from to 10^to,
// rounding half away from zero in integer arithmetic (never through REAL).
func sqliteRescale(c string, from, to int) string {
	switch {
	case to == from:
		return c
	case to > from:
		return fmt.Sprintf("%s * %d", c, pow10(to-from))
	}
	m := pow10(from - to)
	return fmt.Sprintf("((%s + CASE WHEN %s < 0 THEN -%d ELSE %d END) / %d)", c, c, m/2, m/2, m)
}

func sqliteDecimalText(c string, scale int) string {
	if scale == 0 {
		return "CAST(" + c + " AS TEXT)"
	}
	m := pow10(scale)
	return fmt.Sprintf("CASE WHEN %[1]s IS NULL THEN NULL ELSE printf('%%s%%d.%%0%[2]dd', CASE WHEN %[1]s < 0 THEN '-' ELSE '' END, abs(%[1]s) / %[3]d, abs(%[1]s) %% %[3]d) END", c, scale, m)
}

// archiveExpr is how a field's values are kept in an archive: as stored,
// except SQLite decimals, which are scaled integers there and are archived as
// their exact text ("12.50") so that the archive reads the same on both
// dialects and outlives the field's scale.
func archiveExpr(d Dialect, f *schema.Field, col string) string {
	if d.Name() == "sqlite" && f.StorageType() == schema.Decimal {
		return sqliteDecimalText(Quote(col), f.DecimalScale())
	}
	return Quote(col)
}

// withRangeCheck refuses the change when a value, as value(col) computes it,
// has more integer digits than the new definition allows. storedScale is the
// scaling of the integers value gives (SQLite decimals).
func withRangeCheck(conv conversion, intDigits int, value func(col string) string, storedScale int, note string) conversion {
	if intDigits+storedScale > 18 {
		return conv // every int64 fits
	}
	limit := pow10(intDigits + storedScale)
	conv.check = func(ctx context.Context, q querier, table, col string) error {
		var n int64
		err := q.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE abs(%s) >= %d", Quote(table), value(col), limit)).Scan(&n)
		if err != nil {
			return fmt.Errorf("check value range: %w", err)
		}
		switch {
		case n == 1:
			return fmt.Errorf("1 record holds a value with more than %d digits before the point%s", intDigits, note)
		case n > 1:
			return fmt.Errorf("%d records hold values with more than %d digits before the point%s", n, intDigits, note)
		}
		return nil
	}
	return conv
}

func withOptionsCheck(conv conversion, nf *schema.Field) conversion {
	conv.check = func(ctx context.Context, q querier, table, col string) error {
		c := Quote(col)
		args := make([]any, len(nf.Options))
		marks := make([]string, len(nf.Options))
		for i, o := range nf.Options {
			args[i], marks[i] = o, "?"
		}
		query := fmt.Sprintf("SELECT %s FROM %s WHERE %s IS NOT NULL AND %s NOT IN (%s) LIMIT 1", c, Quote(table), c, c, strings.Join(marks, ", "))
		var bad string
		err := q.QueryRowContext(ctx, query, args...).Scan(&bad)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return fmt.Errorf("check options: %w", err)
		}
		return fmt.Errorf("existing records hold %q, which is not one of the options", bad)
	}
	return conv
}

func withMultiOptionsCheck(conv conversion, nf *schema.Field) conversion {
	prev := conv.check
	conv.check = func(ctx context.Context, q querier, table, col string) error {
		if prev != nil {
			if err := prev(ctx, q, table, col); err != nil {
				return err
			}
		}
		return scanValues(ctx, q, table, col, func(v string) error {
			var opts []string
			if json.Unmarshal([]byte(v), &opts) != nil {
				opts = []string{v} // a select value about to be wrapped in an array
			}
			for _, o := range opts {
				if !slices.Contains(nf.Options, o) {
					return fmt.Errorf("existing records hold %q, which is not one of the options", o)
				}
			}
			return nil
		})
	}
	return conv
}

func withFormatCheck(conv conversion, t schema.FieldType) conversion {
	conv.check = func(ctx context.Context, q querier, table, col string) error {
		return scanValues(ctx, q, table, col, func(v string) error {
			if err := schema.CheckFormat(t, v); err != nil {
				return fmt.Errorf("existing value %q %s", v, err)
			}
			return nil
		})
	}
	return conv
}

// scanValues streams the distinct non-null values of a column through fn.
func scanValues(ctx context.Context, q querier, table, col string, fn func(string) error) error {
	c := Quote(col)
	rows, err := q.QueryContext(ctx, fmt.Sprintf("SELECT DISTINCT CAST(%s AS TEXT) FROM %s WHERE %s IS NOT NULL", c, Quote(table), c))
	if err != nil {
		return fmt.Errorf("scan values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return fmt.Errorf("scan values: %w", err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

// dconn runs SQL written with "?" placeholders on either dialect, so that
// planning and migration code is written once.
type dconn struct {
	q querier
	d Dialect
}

func (c dconn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.q.QueryContext(ctx, c.d.Rebind(query), args...)
}

func (c dconn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, c.d.Rebind(query), args...)
}

func (c dconn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.q.ExecContext(ctx, c.d.Rebind(query), args...)
}
