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
// new one. Expressions read the column under its new name: renames run first.
type conversion struct {
	kind      convKind
	expr      string // SQL giving the new value from the old column (SQLite copy, PostgreSQL USING)
	retype    bool   // PostgreSQL needs ALTER COLUMN … TYPE
	refChange bool   // the foreign key changes (onDelete or ref dropped)
	reason    string // for refused or lossy
	// check verifies that existing values fit the new definition.
	check func(ctx context.Context, q querier, table string) error
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

func convertField(d Dialect, of, nf *schema.Field) conversion {
	c := Quote(nf.Name)
	s1, s2 := of.StorageType(), nf.StorageType()
	pg := d.Name() == "postgres"
	sameCol := func() conversion { return conversion{kind: convSame, expr: c} }
	cast := func(pgExpr, sqliteExpr string) conversion {
		if pg {
			return conversion{kind: convCast, expr: pgExpr, retype: true}
		}
		return conversion{kind: convCast, expr: sqliteExpr}
	}
	refuse := func(format string, args ...any) conversion {
		return conversion{kind: convRefused, reason: fmt.Sprintf(format, args...)}
	}

	if nf.Type == schema.Formula || nf.Type == schema.Rollup {
		if s1 == s2 && (s1 != schema.Decimal || (of.DecimalPrecision() == nf.DecimalPrecision() && of.DecimalScale() == nf.DecimalScale())) {
			return sameCol()
		}
		return conversion{kind: convRecompute, expr: "NULL", retype: true}
	}

	switch {
	case s1 == s2:
		switch s1 {
		case schema.Decimal:
			return convertDecimal(d, of, nf, c)
		case schema.Select:
			return withOptionsCheck(sameCol(), nf, c)
		case schema.MultiSelect:
			return withMultiOptionsCheck(sameCol(), nf, c)
		case schema.Ref:
			if of.Entity != nf.Entity {
				return refuse("a ref field cannot change its target entity (%s → %s); add a new field instead", of.Entity, nf.Entity)
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
			return withOptionsCheck(conv, nf, c)
		case schema.Email, schema.Phone, schema.URL:
			return withFormatCheck(conv, s2, c)
		}
		return conv
	case s1 == schema.Integer && s2 == schema.Decimal:
		conv := cast(fmt.Sprintf("%s::numeric(%d,%d)", c, nf.DecimalPrecision(), nf.DecimalScale()),
			fmt.Sprintf("%s * %d", c, pow10(nf.DecimalScale())))
		return withRangeCheck(conv, c, nf.DecimalPrecision()-nf.DecimalScale(), 0)
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
		return withMultiOptionsCheck(conv, nf, c)
	case s1 == schema.MultiSelect && s2 == schema.JSON:
		return sameCol()
	}
	return refuse("cannot convert a %s field to %s without losing or inventing data; add a new field and copy the values", s1, s2)
}

func convertDecimal(d Dialect, of, nf *schema.Field, c string) conversion {
	p1, s1, p2, s2 := of.DecimalPrecision(), of.DecimalScale(), nf.DecimalPrecision(), nf.DecimalScale()
	if p1 == p2 && s1 == s2 {
		return conversion{kind: convSame, expr: c}
	}
	conv := conversion{kind: convCast, retype: d.Name() == "postgres"}
	if d.Name() == "postgres" {
		conv.expr = fmt.Sprintf("round(%s, %d)::numeric(%d,%d)", c, s2, p2, s2)
	} else {
		conv.expr = sqliteRescale(c, s1, s2)
	}
	if s2 < s1 {
		conv.kind, conv.reason = convLossy, fmt.Sprintf("values are rounded from %d to %d decimal places", s1, s2)
	}
	if p2-s2 < p1-s1 {
		storedScale := 0
		if d.Name() == "sqlite" {
			storedScale = s1
		}
		conv = withRangeCheck(conv, c, p2-s2, storedScale)
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

// withRangeCheck refuses the change when a stored value has more integer
// digits than the new definition allows. storedScale is the scaling of the
// stored integers (SQLite decimals).
func withRangeCheck(conv conversion, c string, intDigits, storedScale int) conversion {
	if intDigits+storedScale > 18 {
		return conv // every int64 fits
	}
	limit := pow10(intDigits + storedScale)
	conv.check = func(ctx context.Context, q querier, table string) error {
		var n int64
		err := q.QueryRowContext(ctx, fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE abs(%s) >= %d", Quote(table), c, limit)).Scan(&n)
		if err != nil {
			return fmt.Errorf("check value range: %w", err)
		}
		if n > 0 {
			return fmt.Errorf("%d records hold values with more than %d digits before the point", n, intDigits)
		}
		return nil
	}
	return conv
}

func withOptionsCheck(conv conversion, nf *schema.Field, c string) conversion {
	conv.check = func(ctx context.Context, q querier, table string) error {
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

func withMultiOptionsCheck(conv conversion, nf *schema.Field, c string) conversion {
	prev := conv.check
	conv.check = func(ctx context.Context, q querier, table string) error {
		if prev != nil {
			if err := prev(ctx, q, table); err != nil {
				return err
			}
		}
		return scanValues(ctx, q, table, c, func(v string) error {
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

func withFormatCheck(conv conversion, t schema.FieldType, c string) conversion {
	conv.check = func(ctx context.Context, q querier, table string) error {
		return scanValues(ctx, q, table, c, func(v string) error {
			if err := schema.CheckFormat(t, v); err != nil {
				return fmt.Errorf("existing value %q %s", v, err)
			}
			return nil
		})
	}
	return conv
}

// scanValues streams the distinct non-null values of a column through fn.
func scanValues(ctx context.Context, q querier, table, c string, fn func(string) error) error {
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
