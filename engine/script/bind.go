package script

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dop251/goja/parser"

	"github.com/formaapp/forma/schema"
)

// Bind returns the source of a JavaScript expression that evaluates expr
// (a formula-language expression) with each of refs, the names it reads
// (schema.FormulaRefs), bound to the property of that name of the object
// obj names: "(function(a, b) { return (expr); })(r["a"], r["b"])". The
// expression stands on lines of its own, so its line numbers are the
// source's plus one.
func Bind(expr string, refs []string, obj string) string {
	args := make([]string, len(refs))
	for i, r := range refs {
		args[i] = obj + "[" + strconv.Quote(r) + "]"
	}
	return "(function(" + strings.Join(refs, ", ") + ") { return (\n" + expr + "\n); })(" + strings.Join(args, ", ") + ")"
}

// ParseExpr returns the names a formula-language expression reads
// (schema.FormulaRefs) once it parses as a JavaScript expression the
// sandbox allows; the error says what does not parse ("not a valid
// expression: …") or what is forbidden.
func ParseExpr(name, expr string) ([]string, error) {
	refs, err := schema.FormulaRefs(expr)
	if err != nil {
		return nil, err
	}
	if _, err := parser.ParseFile(nil, name, "(\n"+expr+"\n)", 0); err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		return nil, fmt.Errorf("not a valid expression: %s", msg)
	}
	if _, _, msg := CheckSource(name, "(\n"+expr+"\n)"); msg != "" {
		return nil, errors.New(msg)
	}
	return refs, nil
}
