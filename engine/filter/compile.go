package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/formaapp/forma/schema"
)

// Column is what a filter may refer to; the caller resolves names.
type Column struct {
	SQL  string           // already-quoted column expression, e.g. `"stage"`; copied into the SQL as is, so it must not contain ?
	Type schema.FieldType // storage type: formula and rollup already resolved to what they return
}

// Resolver maps a field name to its column. It reports false both for
// unknown names and for fields the caller may not see; Compile answers
// `unknown field "x"` in both cases so a filter cannot probe for hidden fields.
type Resolver interface {
	Column(name string) (Column, bool)
}

// RefResolver is a Resolver that also follows a ref field one hop, for
// comparisons such as store.name ~ "静安". A Resolver without it knows no
// dotted names.
type RefResolver interface {
	Resolver
	// Ref resolves the ref field name; false for an unknown or hidden one.
	Ref(name string) (Ref, bool)
}

// Ref is a ref field as a filter follows it: the comparison on the
// target's field becomes
//
//	<SQL> IN (SELECT "id" FROM <Table> WHERE <Where> AND <comparison>)
//
// so only target records the caller may read (Where, with Args) count,
// and Target resolves the target's fields as the caller sees them.
type Ref struct {
	SQL    string // the ref column, quoted
	Table  string // the target table, quoted
	Where  string // the caller's row condition on the target; "" for every row
	Args   []any
	None   bool // the caller may read no target record at all
	Target Resolver
	Enc    Encoder
}

// Encoder converts a literal to the driver value stored in column c. v is a
// string, a json.Number (numbers) or a bool; for ~ on a multiselect it is the
// option name (a string). An error becomes an *Error at the comparison's
// position carrying the error's message. A nil Encoder passes v through.
type Encoder func(c Column, v any) (any, error)

// Compile checks n against the resolver and returns an SQL boolean expression
// with ? placeholders and its args, in order. dialect is "sqlite" or
// "postgres". Problems with the filter are *Error; a bad dialect or resolver
// is a plain error.
//
// Semantics worth knowing:
//   - != and !~ also match rows where the field is empty (NULL): a user asking
//     for stage != "won" expects the records without a stage too.
//   - !x matches exactly the rows x does not match, NULLs included: NOT
//     alone would drop rows where x is NULL (e.g. !(amount > 10) would skip
//     records without an amount), so its operand is COALESCEd to FALSE.
//   - ~ is a case-insensitive "contains" on text-like fields and "has this
//     option" on multiselect fields.
func Compile(n Node, r Resolver, enc Encoder, dialect string) (where string, args []any, err error) {
	if dialect != "sqlite" && dialect != "postgres" {
		return "", nil, fmt.Errorf("filter: unknown dialect %q", dialect)
	}
	if r == nil {
		return "", nil, errors.New("filter: nil Resolver")
	}
	if enc == nil {
		enc = func(_ Column, v any) (any, error) { return v, nil }
	}
	c := &compiler{r: r, enc: enc, pg: dialect == "postgres"}
	if err := c.node(n); err != nil {
		return "", nil, err
	}
	return c.b.String(), c.args, nil
}

type compiler struct {
	r    Resolver
	enc  Encoder
	pg   bool
	b    strings.Builder
	args []any
}

func (c *compiler) node(n Node) error {
	switch n := n.(type) {
	case *And:
		if n != nil {
			return c.binary(n.Left, " AND ", n.Right)
		}
	case *Or:
		if n != nil {
			return c.binary(n.Left, " OR ", n.Right)
		}
	case *Not:
		if n != nil {
			c.b.WriteString("NOT COALESCE(")
			if err := c.node(n.X); err != nil {
				return err
			}
			c.b.WriteString(", FALSE)")
			return nil
		}
	case *Compare:
		if n != nil {
			return c.compare(n)
		}
	}
	// Only a hand-built AST gets here; Parse never produces nil nodes.
	return errorf(0, "empty filter expression")
}

func (c *compiler) binary(l Node, op string, r Node) error {
	c.b.WriteByte('(')
	if err := c.node(l); err != nil {
		return err
	}
	c.b.WriteString(op)
	if err := c.node(r); err != nil {
		return err
	}
	c.b.WriteByte(')')
	return nil
}

// Which types each operator applies to. Types outside every set (json, and
// formula/rollup if a caller forgot to resolve them) still support = null and
// != null, nothing else.
var (
	equalTypes = typeSet(schema.Text, schema.LongText, schema.Integer, schema.Decimal, schema.Boolean,
		schema.Date, schema.DateTime, schema.Select, schema.Email, schema.Phone, schema.URL,
		schema.Ref, schema.User, schema.File, schema.AutoNumber)
	orderTypes = typeSet(schema.Text, schema.LongText, schema.Integer, schema.Decimal,
		schema.Date, schema.DateTime, schema.Select, schema.Email, schema.Phone, schema.URL,
		schema.Ref, schema.User, schema.AutoNumber)
	likeTypes = typeSet(schema.Text, schema.LongText, schema.Email, schema.Phone, schema.URL,
		schema.Select, schema.Ref, schema.User, schema.File)
)

func typeSet(ts ...schema.FieldType) map[schema.FieldType]bool {
	m := make(map[schema.FieldType]bool, len(ts))
	for _, t := range ts {
		m[t] = true
	}
	return m
}

func (c *compiler) compare(n *Compare) error {
	if name, field, dotted := strings.Cut(n.Field, "."); dotted {
		return c.viaRef(n, name, field)
	}
	col, ok := c.r.Column(n.Field)
	if !ok {
		return errorf(n.Pos, "unknown field %q", n.Field)
	}
	notApply := func() error {
		msg := fmt.Sprintf("operator %s does not apply to %s field %q", n.Op, col.Type, n.Field)
		if col.Type == schema.MultiSelect {
			msg += `; use ~ to test for an option, e.g. ` + n.Field + ` ~ "a"`
		}
		return errorf(n.Pos, "%s", msg)
	}
	v := n.Value
	switch {
	case n.Op == "in":
		return c.in(n, col, notApply)
	case v.Kind == List:
		return errorf(n.Pos, "a list needs the in operator, e.g. %s in [\"a\", \"b\"]", n.Field)
	case v.Kind == Null:
		switch n.Op {
		case "=":
			c.b.WriteString(col.SQL + " IS NULL")
		case "!=":
			c.b.WriteString(col.SQL + " IS NOT NULL")
		default:
			return errorf(n.Pos, "null only works with = and !=, e.g. %s = null", n.Field)
		}
		return nil
	}
	switch n.Op {
	case "=", "!=":
		if !equalTypes[col.Type] {
			return notApply()
		}
		if err := c.arg(n, col, v); err != nil {
			return err
		}
		if n.Op == "=" {
			c.b.WriteString(col.SQL + " = ?")
		} else {
			c.b.WriteString("(" + col.SQL + " IS NULL OR " + col.SQL + " <> ?)")
		}
	case "<", "<=", ">", ">=":
		if !orderTypes[col.Type] {
			return notApply()
		}
		if err := c.arg(n, col, v); err != nil {
			return err
		}
		c.b.WriteString(col.SQL + " " + n.Op + " ?")
	case "~", "!~":
		if v.Kind != String {
			return errorf(n.Pos, "operator %s needs a string, e.g. %s %s \"abc\"", n.Op, n.Field, n.Op)
		}
		switch {
		case col.Type == schema.MultiSelect:
			return c.hasOption(n, col, v)
		case likeTypes[col.Type]:
			return c.like(n, col, v)
		}
		return notApply()
	default:
		return errorf(n.Pos, "unknown operator %q", n.Op)
	}
	return nil
}

func (c *compiler) in(n *Compare, col Column, notApply func() error) error {
	if n.Value.Kind != List {
		return errorf(n.Pos, "in needs a list, e.g. %s in [\"a\", \"b\"]", n.Field)
	}
	if !equalTypes[col.Type] {
		return notApply()
	}
	items := n.Value.List
	if len(items) > MaxListLen {
		return errorf(n.Pos, "list has more than %d items", MaxListLen)
	}
	if len(items) == 0 {
		c.b.WriteString("1=0") // x in [] matches nothing; IN () is not valid SQL
		return nil
	}
	for _, it := range items {
		switch it.Kind {
		case Null:
			// x IN (…, NULL) never matches the NULL; make the user say what they mean.
			return errorf(n.Pos, "an in list cannot contain null; use %s = null || %s in [...]", n.Field, n.Field)
		case List:
			return errorf(n.Pos, "lists cannot be nested")
		}
		if err := c.arg(n, col, it); err != nil {
			return err
		}
	}
	c.b.WriteString(col.SQL + " IN (?")
	c.b.WriteString(strings.Repeat(", ?", len(items)-1))
	c.b.WriteString(")")
	return nil
}

// FoldFunc is the SQLite function that lower-cases all of Unicode. SQLite's
// own LIKE and LOWER fold ASCII only; the store registers this one on every
// SQLite connection.
const FoldFunc = "forma_fold"

// like compiles a case-insensitive "contains". PostgreSQL has ILIKE, which
// folds all of Unicode. SQLite's LIKE folds ASCII only: when the value holds
// other letters ("Émile", "Straße"), both sides go through FoldFunc; an
// ASCII value keeps the plain LIKE, which costs no call per row.
func (c *compiler) like(n *Compare, col Column, v Value) error {
	x, err := c.encode(n, col, v)
	if err != nil {
		return err
	}
	s, ok := x.(string)
	if !ok {
		return errorf(n.Pos, "operator %s needs a text value", n.Op)
	}
	c.args = append(c.args, "%"+escapeLike(s)+"%")
	op, lhs, rhs := "LIKE", col.SQL, "?"
	switch {
	case c.pg:
		op = "ILIKE"
	case !isASCII(s):
		lhs, rhs = FoldFunc+"("+col.SQL+")", FoldFunc+"(?)"
	}
	if n.Op == "~" {
		c.b.WriteString(lhs + " " + op + " " + rhs + ` ESCAPE '\'`)
	} else {
		c.b.WriteString("(" + col.SQL + " IS NULL OR " + lhs + " NOT " + op + " " + rhs + ` ESCAPE '\')`)
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// escapeLike makes every character of s match itself in a LIKE pattern.
func escapeLike(s string) string { return likeEscaper.Replace(s) }

// hasOption compiles "the multiselect set contains option v". The column
// holds a JSON array of option names.
func (c *compiler) hasOption(n *Compare, col Column, v Value) error {
	x, err := c.encode(n, col, v)
	if err != nil {
		return err
	}
	var cond string
	if c.pg {
		// jsonb containment, not the jsonb ? operator: ? is our placeholder.
		js, err := json.Marshal([]any{x})
		if err != nil {
			return errorf(n.Pos, "cannot encode option: %v", err)
		}
		c.args = append(c.args, string(js))
		cond = col.SQL + " @> CAST(? AS jsonb)"
	} else {
		c.args = append(c.args, x)
		cond = "EXISTS (SELECT 1 FROM json_each(" + col.SQL + ") WHERE json_each.value = ?)"
	}
	if n.Op == "~" {
		c.b.WriteString(cond)
	} else {
		c.b.WriteString("(" + col.SQL + " IS NULL OR NOT (" + cond + "))")
	}
	return nil
}

// arg encodes v and appends it to the args.
func (c *compiler) arg(n *Compare, col Column, v Value) error {
	x, err := c.encode(n, col, v)
	if err != nil {
		return err
	}
	c.args = append(c.args, x)
	return nil
}

func (c *compiler) encode(n *Compare, col Column, v Value) (any, error) {
	var lit any
	switch v.Kind {
	case String:
		lit = v.Str
	case Number:
		lit = json.Number(v.Num)
	case Bool:
		lit = v.Bool
	case Variable:
		lit = Var(v.Str)
	default:
		return nil, errorf(n.Pos, "invalid value of kind %v", v.Kind)
	}
	x, err := c.enc(col, lit)
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			return nil, errorf(n.Pos, "%s", fe.Message)
		}
		return nil, errorf(n.Pos, "%s", err.Error())
	}
	return x, nil
}

// viaRef compiles a comparison on a field of the record a ref points at.
func (c *compiler) viaRef(n *Compare, name, field string) error {
	rr, ok := c.r.(RefResolver)
	if !ok {
		return errorf(n.Pos, "unknown field %q", n.Field)
	}
	ref, ok := rr.Ref(name)
	if !ok || ref.Target == nil {
		return errorf(n.Pos, "unknown field %q", n.Field)
	}
	if _, ok := ref.Target.Column(field); !ok {
		return errorf(n.Pos, "unknown field %q", n.Field)
	}
	if ref.None {
		// The caller reads no target record: none matches. The comparison
		// is still checked, so a wrong one is reported all the same.
		probe := &compiler{r: ref.Target, enc: ref.Enc, pg: c.pg}
		m := *n
		m.Field = field
		if err := probe.compare(&m); err != nil {
			return err
		}
		c.b.WriteString("1=0")
		return nil
	}
	c.b.WriteString(ref.SQL + ` IN (SELECT "id" FROM ` + ref.Table + " WHERE ")
	if ref.Where != "" {
		c.b.WriteString(ref.Where + " AND ")
		c.args = append(c.args, ref.Args...)
	}
	r, enc := c.r, c.enc
	c.r, c.enc = ref.Target, ref.Enc
	if c.enc == nil {
		c.enc = func(_ Column, v any) (any, error) { return v, nil }
	}
	m := *n
	m.Field = field
	err := c.compare(&m)
	c.r, c.enc = r, enc
	if err != nil {
		return err
	}
	c.b.WriteString(")")
	return nil
}
