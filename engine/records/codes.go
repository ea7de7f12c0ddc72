package records

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/formaapp/forma/schema"
)

// The codes of the problems a write is refused for (schema.Problem.Code).
// They are stable: a UI words them in the user's language from Code and
// Params, with the field's label; Message stays the English wording.
const (
	ProblemRequired     = "required"        // field
	ProblemType         = "type"            // field, expected, got
	ProblemMaxLength    = "max_length"      // field, limit, length
	ProblemMin          = "min"             // field, limit
	ProblemMax          = "max"             // field, limit
	ProblemScale        = "scale"           // field, limit (decimal places)
	ProblemDigits       = "digits"          // field, limit (digits before the point)
	ProblemOutOfRange   = "out_of_range"    // field
	ProblemOption       = "option"          // field, options, value
	ProblemFormat       = "format"          // field, format (email, phone, url, date, datetime)
	ProblemInvalidText  = "invalid_text"    // field (NUL, invalid UTF-8)
	ProblemInvalidID    = "invalid_id"      // field
	ProblemRefMissing   = "ref_missing"     // field, target, value
	ProblemUnknownField = "unknown_field"   // field
	ProblemReadOnly     = "read_only"       // field, reason (system, computed, role)
	ProblemDuplicate    = "duplicate_value" // field(s)
	ProblemRule         = "rule"            // field (when the rule names one), rule
	ProblemFormula      = "formula"         // field
	ProblemFilter       = "filter"          // position
)

// valueError is why a value does not fit its field, with its code and
// parameters; the message reads after the field's name.
type valueError struct {
	code   string
	params map[string]any
	msg    string
}

func (e *valueError) Error() string { return e.msg }

func verr(code string, params map[string]any, format string, args ...any) error {
	return &valueError{code: code, params: params, msg: fmt.Sprintf(format, args...)}
}

// addProblem adds a problem with its code and params (field among them).
func addProblem(p *schema.Problems, path, field, code string, params map[string]any, format string, args ...any) {
	ps := map[string]any{"field": field}
	for k, v := range params {
		ps[k] = v
	}
	*p = append(*p, schema.Problem{Path: path, Code: code, Params: ps, Message: fmt.Sprintf(format, args...)})
}

// addValueProblem adds the problem err (from coerce) is about field f.
func addValueProblem(p *schema.Problems, path, field string, err error) {
	code, params := ProblemType, map[string]any(nil)
	var ve *valueError
	if errors.As(err, &ve) {
		code, params = ve.code, ve.params
	}
	addProblem(p, path, field, code, params, "%s %v", field, err)
}

// uniqueColumns reads the columns of the unique index a write broke from
// the database's error: SQLite names them ("UNIQUE constraint failed:
// t.a, t.b"), PostgreSQL in its detail ("Key (a, b)=(…) already exists.").
func uniqueColumns(err error) []string {
	var list string
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		d, ok := strings.CutPrefix(pe.Detail, "Key (")
		if !ok {
			return nil
		}
		i := strings.Index(d, ")=(")
		if i < 0 {
			return nil
		}
		list = d[:i]
	} else {
		_, after, ok := strings.Cut(err.Error(), "UNIQUE constraint failed: ")
		if !ok {
			return nil
		}
		if i := strings.Index(after, " ("); i >= 0 {
			after = after[:i]
		}
		list = after
	}
	var cols []string
	for _, c := range strings.Split(list, ",") {
		c = strings.TrimSpace(c)
		if i := strings.LastIndexByte(c, '.'); i >= 0 {
			c = c[i+1:]
		}
		c = strings.Trim(c, `"`)
		if c != "" {
			cols = append(cols, c)
		}
	}
	return cols
}

// pointerField names the field a JSON pointer into a record body is in
// ("/meta/k" → meta), as params; nil at the top.
func pointerField(ptr string) map[string]any {
	seg, _, _ := strings.Cut(strings.TrimPrefix(ptr, "/"), "/")
	if seg == "" {
		return nil
	}
	seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
	return map[string]any{"field": seg}
}
