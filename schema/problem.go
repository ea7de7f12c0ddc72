package schema

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with an app document, located by a JSON pointer
// (RFC 6901) into the document, e.g. "/entities/0/fields/2/type".
type Problem struct {
	Path string `json:"path"`
	// Code is a stable name of the kind of problem ("required",
	// "max_length", "duplicate_value" …) and Params its particulars (the
	// field, the limit, the value), so a UI can word it in the user's
	// language with the field's label. Message is the English wording.
	Code    string         `json:"code,omitempty"`
	Params  map[string]any `json:"params,omitempty"`
	Message string         `json:"message"`
	// Messages are the designer's own words in other languages (a
	// validation's "messages", a transition's "guardMessages"): the API
	// answers Messages[reader's language] as Message when it has one.
	Messages Labels `json:"-"`
}

// Problems is every problem found in a document. Checks report all of them at
// once so an ops manager can fix a document in one pass.
type Problems []Problem

// Error lists the problems, one per line.
func (p Problems) Error() string {
	var b strings.Builder
	for i, pr := range p {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s: %s", pr.Path, pr.Message)
	}
	return b.String()
}

// Add appends a problem at path with a formatted message; its code and
// params come from the format (problemFormats in codes.go).
func (p *Problems) Add(path, format string, args ...any) {
	code, params := codeOf(format, args)
	*p = append(*p, Problem{Path: path, Code: code, Params: params, Message: fmt.Sprintf(format, args...)})
}

// AddCode appends a problem whose format cannot name its kind (a message
// made elsewhere, such as a name rule or an expression's parse error).
func (p *Problems) AddCode(path, code string, params map[string]any, format string, args ...any) {
	*p = append(*p, Problem{Path: path, Code: code, Params: params, Message: fmt.Sprintf(format, args...)})
}
