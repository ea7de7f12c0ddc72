// Package filter implements Forma's record filter language, e.g.
//
//	amount >= 1000 && (stage = "won" || stage = "lost") && title ~ "acme" && closed_at != null
//
// Parse turns the source into an AST; Compile checks it against the fields a
// caller may see and turns it into a parameterized SQL boolean expression.
// No user text ever reaches the SQL: literals become arguments, and field
// names are replaced by the column expressions the caller's Resolver returns.
package filter

import "fmt"

// Limits on the source. They keep parsing linear and bounded, so a hostile
// filter costs no more than a long benign one.
const (
	MaxLength  = 4096 // bytes of source
	MaxDepth   = 32   // nesting of parentheses and !
	MaxListLen = 500  // items of an in list
)

// Node is a node of the filter AST: *And, *Or, *Not or *Compare.
type Node interface{ node() }

// And matches when both sides match.
type And struct{ Left, Right Node }

// Or matches when either side matches.
type Or struct{ Left, Right Node }

// Not matches when X does not match.
type Not struct{ X Node }

// Compare is one comparison of a field with a literal: Field Op Value.
type Compare struct {
	Field string
	Op    string // = != > >= < <= ~ !~ in
	Value Value
	Pos   int // byte offset of Field in the source, for error messages
}

func (*And) node()     {}
func (*Or) node()      {}
func (*Not) node()     {}
func (*Compare) node() {}

// Kind is the kind of a literal.
type Kind int

// The kinds of literal. They start at 1 so that a zero Value is invalid
// rather than silently an empty string.
const (
	String Kind = iota + 1
	Number
	Bool
	Null
	List
	Variable // @name, resolved by the Encoder; Str holds the name
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case Number:
		return "number"
	case Bool:
		return "boolean"
	case Null:
		return "null"
	case List:
		return "list"
	case Variable:
		return "variable"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Value is a literal. Only the field matching Kind is set. Numbers keep the
// exact text of the source so decimals never pass through a float.
type Value struct {
	Kind Kind
	Str  string
	Num  string
	Bool bool
	List []Value
}

// Var is how a variable (@me) reaches the Encoder, which replaces it with
// the caller's value; an Encoder that knows no such variable returns an error.
type Var string

// Error is a parse or compile error at a byte offset of the source.
type Error struct {
	Pos     int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("filter: %s at position %d", e.Message, e.Pos)
}

func errorf(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Message: fmt.Sprintf(format, args...)}
}

// Fields calls fn with every comparison of n, in source order, so a caller
// can see which fields a filter reads (and where) before compiling it.
func Fields(n Node, fn func(c *Compare)) {
	switch n := n.(type) {
	case *And:
		Fields(n.Left, fn)
		Fields(n.Right, fn)
	case *Or:
		Fields(n.Left, fn)
		Fields(n.Right, fn)
	case *Not:
		Fields(n.X, fn)
	case *Compare:
		fn(n)
	}
}
