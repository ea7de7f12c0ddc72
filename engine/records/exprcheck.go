package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja/parser"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/logic"
	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/schema"
)

// Expression modes and filter scopes of an ExprCheck.
const (
	ExprFormula = "formula"
	ExprFilter  = "filter"
	// ScopeList is a filter as lists, saved views and db.find take it:
	// ref.field allowed, compiled under the caller's rules.
	ScopeList = "list"
	// ScopeDocument is a filter written into the app document (rollup
	// filters, list views' default filters): the entity's own fields only.
	ScopeDocument = "document"
	// ScopeRole is a role's condition: the entity's fields, hidden ones
	// too, and a ref's fields one hop (store.region = "east"), compiled as
	// the grant compiles it (ruleFilter).
	ScopeRole = "role"
)

// MaxExprBytes bounds an expression sent to be checked.
const MaxExprBytes = 8 << 10

// ExprCheck asks whether an expression of the formula or the filter
// language is valid for an entity, and what it gives on a sample record.
type ExprCheck struct {
	Entity string `json:"entity"`
	Mode   string `json:"mode"` // ExprFormula or ExprFilter
	Expr   string `json:"expr"`
	// Scope of a filter: ScopeList (default) or ScopeDocument.
	Scope string `json:"scope,omitempty"`
	// Field is the formula field being edited, so reading itself is caught.
	Field string `json:"field,omitempty"`
	// Draft checks against the caller's saved draft (admins; the API
	// resolves it), so fields added since the last publish are known.
	Draft bool `json:"draft,omitempty"`
	// RecordID is the sample record of the preview: the formula's value on
	// it, or whether the filter matches it.
	RecordID string `json:"recordId,omitempty"`
	// Count asks how many records the filter matches (for the caller).
	Count bool `json:"count,omitempty"`
}

// ExprProblem is one thing wrong with an expression, where it is.
type ExprProblem struct {
	// Code: syntax, unknown_field, unknown_function, ref_depth, not_ref,
	// self_reference, dotted_name, forbidden, empty, filter.
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Params  map[string]any `json:"params,omitempty"`
	// Offset is where the problem starts, in characters (Unicode code
	// points) from the start of the expression; Length how many characters
	// it covers (0 at the end of the text).
	Offset int `json:"offset"`
	Length int `json:"length"`
}

// ExprResult is the answer of CheckExpression.
type ExprResult struct {
	OK       bool          `json:"ok"`
	Problems []ExprProblem `json:"problems"`
	// Fields are the fields the expression reads ("amount", "account.tier").
	Fields  []string     `json:"fields"`
	Preview *ExprPreview `json:"preview,omitempty"`
}

// ExprPreview is what a valid expression gives on the published app's data.
type ExprPreview struct {
	// Value is the formula's value on the sample record (JSON; absent for
	// filters, null for a formula whose value is null).
	Value json.RawMessage `json:"value,omitempty"`
	// Matches says whether the filter matches the sample record.
	Matches *bool `json:"matches,omitempty"`
	// Count is how many records the filter matches for the caller.
	Count *int64 `json:"count,omitempty"`
	// Error is why the preview could not be made (a formula that throws on
	// the record, a field not published yet); the expression may still be
	// valid.
	Error string `json:"error,omitempty"`
}

var recordIDRe = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// ValidRecordID reports whether id can be a record id (checked before it
// reaches a filter).
func ValidRecordID(id string) bool { return recordIDRe.MatchString(id) }

// CheckExpression checks q.Expr against the entity of doc (the published
// document or the caller's draft) and, when it is valid, previews it on the
// published app appName as caller c sees it. Problems with the expression
// are answered in the result; an error is a request that cannot be checked
// (unknown entity, bad record id).
func (s *Service) CheckExpression(ctx context.Context, c Caller, doc *schema.App, q ExprCheck) (*ExprResult, error) {
	e := doc.Entity(q.Entity)
	if e == nil {
		return nil, &Error{Status: 422, Code: CodeInvalid, Message: fmt.Sprintf("no entity %q in app %q", q.Entity, doc.Name),
			Details: []schema.Problem{{Path: "/entity", Code: "unknown_entity", Params: map[string]any{"entity": q.Entity}, Message: "no such entity"}}}
	}
	res := &ExprResult{Problems: []ExprProblem{}, Fields: []string{}}
	if strings.TrimSpace(q.Expr) == "" {
		res.Problems = append(res.Problems, ExprProblem{Code: "empty", Message: "the expression is empty"})
		return res, nil
	}
	if q.Mode == ExprFormula {
		s.checkFormula(doc, e, q, res)
	} else {
		s.checkFilter(ctx, c, doc, e, q, res)
	}
	res.OK = len(res.Problems) == 0
	if !res.OK {
		return res, nil
	}
	if q.Mode == ExprFormula {
		if q.RecordID != "" {
			res.Preview = s.previewFormula(ctx, c, doc, e, q)
		}
		return res, nil
	}
	res.Preview = s.previewFilter(ctx, c, doc.Name, q)
	return res, nil
}

// problemAt converts a byte range of src to a problem in characters.
func problemAt(src string, pos, length int, code, format string, args ...any) ExprProblem {
	pos = min(max(pos, 0), len(src))
	end := min(pos+max(length, 0), len(src))
	return ExprProblem{Code: code, Message: fmt.Sprintf(format, args...),
		Offset: utf8.RuneCountInString(src[:pos]), Length: utf8.RuneCountInString(src[pos:end])}
}

// jsGlobalFuncs are the JavaScript globals a formula may call directly.
var jsGlobalFuncs = []string{"parseInt", "parseFloat", "isNaN", "isFinite", "Number", "String", "Boolean", "Date"}

func (s *Service) checkFormula(doc *schema.App, e *schema.Entity, q ExprCheck, res *ExprResult) {
	src := q.Expr
	refs, err := schema.FormulaRefs(src)
	var fe *schema.FormulaError
	if errors.As(err, &fe) {
		res.Problems = append(res.Problems, problemAt(src, fe.Pos, 1, "syntax", "%s", fe.Message))
		return
	}
	wrapped := "(\n" + src + "\n)"
	if _, err := parser.ParseFile(nil, "", wrapped, 0); err != nil {
		var list parser.ErrorList
		pos := 0
		msg := firstLine(err.Error())
		if errors.As(err, &list) && len(list) > 0 {
			pos = offsetOfLine(src, list[0].Position.Line-1, list[0].Position.Column-1)
			msg = list[0].Message
		}
		res.Problems = append(res.Problems, problemAt(src, pos, 1, "syntax", "not a valid expression: %s", msg))
		return
	}
	if _, _, msg := script.CheckSource("formula", wrapped); msg != "" {
		res.Problems = append(res.Problems, problemAt(src, 0, len(src), "forbidden", "%s", msg))
		return
	}
	masked := maskStrings(src)
	fields := entityFields(e)
	for _, ref := range refs {
		res.Fields = append(res.Fields, ref)
		chain := strings.Split(ref, ".")
		pos := locate(masked, chain[0])
		f := fields[chain[0]]
		switch {
		case f == nil:
			p := problemAt(src, pos, len(chain[0]), "unknown_field", "unknown field %q", chain[0])
			p.Params = map[string]any{"field": chain[0]}
			res.Problems = append(res.Problems, p)
		case q.Field != "" && chain[0] == q.Field:
			res.Problems = append(res.Problems, problemAt(src, pos, len(chain[0]), "self_reference", "a formula cannot read its own field %q", chain[0]))
		case len(chain) > 2:
			res.Problems = append(res.Problems, problemAt(src, pos, len(ref), "ref_depth", "%s reads more than one reference deep; read %s.%s", ref, chain[0], chain[1]))
		case len(chain) == 2 && f.Type != schema.Ref:
			res.Problems = append(res.Problems, problemAt(src, pos, len(chain[0]), "not_ref", "%s is not a reference, so %s cannot be read", chain[0], ref))
		case len(chain) == 2:
			target := doc.Entity(f.Entity)
			if target == nil || entityFields(target)[chain[1]] == nil {
				p := problemAt(src, pos, len(ref), "unknown_field", "unknown field %q of %s", chain[1], f.Entity)
				p.Params = map[string]any{"field": ref}
				res.Problems = append(res.Problems, p)
			}
		}
	}
	calls, _ := schema.FormulaCalls(src)
	for _, name := range calls {
		if slices.Contains(script.LibraryGlobals, name) || slices.Contains(jsGlobalFuncs, name) || scriptDefines(doc, name) {
			continue
		}
		p := problemAt(src, locate(masked, name), len(name), "unknown_function", "unknown function %q", name)
		p.Params = map[string]any{"function": name}
		if near := logic.Closest(name, script.LibraryGlobals); near != "" {
			p.Message += fmt.Sprintf(" (did you mean %q?)", near)
			p.Params["suggestion"] = near
		}
		res.Problems = append(res.Problems, p)
	}
}

// entityFields are e's fields and the system columns, by name.
func entityFields(e *schema.Entity) map[string]*schema.Field {
	m := make(map[string]*schema.Field, len(e.Fields)+len(systemFields))
	for _, f := range systemFields {
		m[f.Name] = f
	}
	for i := range e.Fields {
		m[e.Fields[i].Name] = &e.Fields[i]
	}
	return m
}

// scriptDefines reports whether a script of doc declares a top-level
// function name (formulas may call them like helpers).
func scriptDefines(doc *schema.App, name string) bool {
	re := regexp.MustCompile(`(?m)^\s*function\s+` + regexp.QuoteMeta(name) + `\s*\(`)
	for _, src := range doc.Scripts {
		if re.MatchString(src) {
			return true
		}
	}
	return false
}

// offsetOfLine is the byte offset of (line, col), both 0-based, in src;
// lines past the end (the wrapper's closing parenthesis) are its end.
func offsetOfLine(src string, line, col int) int {
	if line < 1 {
		return 0
	}
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(src[off:], '\n')
		if i < 0 {
			return len(src)
		}
		off += i + 1
	}
	return min(off+max(col, 0), len(src))
}

// maskStrings blanks the contents of string literals, keeping every byte
// offset, so a name is not found inside a string.
func maskStrings(src string) string {
	b := []byte(src)
	var quote byte
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote != 0 && c == '\\':
			b[i] = ' '
			if i+1 < len(b) {
				i++
				b[i] = ' '
			}
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			b[i] = ' '
		}
	}
	return string(b)
}

// locate is the byte offset of the first whole-word name in masked that is
// not a member (after "."), or 0.
func locate(masked, name string) int {
	for from := 0; from < len(masked); {
		i := strings.Index(masked[from:], name)
		if i < 0 {
			return 0
		}
		i += from
		before := i == 0 || !(isIdent(masked[i-1]) || masked[i-1] == '.')
		end := i + len(name)
		after := end >= len(masked) || !isIdent(masked[end])
		if before && after {
			return i
		}
		from = i + 1
	}
	return 0
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func (s *Service) checkFilter(ctx context.Context, c Caller, doc *schema.App, e *schema.Entity, q ExprCheck, res *ExprResult) {
	src := q.Expr
	add := func(err error) {
		var fe *filter.Error
		if errors.As(err, &fe) {
			res.Problems = append(res.Problems, problemAt(src, fe.Pos, wordAt(src, fe.Pos), "filter", "%s", fe.Message))
			return
		}
		res.Problems = append(res.Problems, problemAt(src, 0, len(src), "filter", "%v", err))
	}
	n, err := filter.Parse(src)
	if err != nil {
		add(err)
		return
	}
	filter.Fields(n, func(cmp *filter.Compare) {
		if !slices.Contains(res.Fields, cmp.Field) {
			res.Fields = append(res.Fields, cmp.Field)
		}
		if q.Scope == ScopeDocument && strings.Contains(cmp.Field, ".") {
			res.Problems = append(res.Problems, problemAt(src, cmp.Pos, len(cmp.Field), "dotted_name",
				"%s: conditions written into the app take the entity's own fields only", cmp.Field))
		}
	})
	if len(res.Problems) > 0 {
		return
	}
	if q.Scope == ScopeDocument || q.Scope == ScopeRole {
		info := newEntityInfo(doc, e, "")
		var r filter.Resolver = info
		if q.Scope == ScopeRole {
			r = ruleFilter{s, info, nil}
		}
		if _, _, err := filter.Compile(n, r, s.encodeLiteral(info, nil), s.dialect); err != nil {
			add(err)
		}
		return
	}
	// A list filter is compiled as the caller's lists compile it: their
	// hidden fields are unknown, references follow their row rules.
	if _, err := s.List(ctx, c, doc.Name, e.Name, Query{Filter: src, Limit: 1, Fields: "id"}); err != nil {
		var re *Error
		if errors.As(err, &re) && re.Code == CodeBadFilter {
			for _, d := range re.Details {
				pos, _ := d.Params["position"].(int)
				res.Problems = append(res.Problems, problemAt(src, pos, wordAt(src, pos), "filter", "%s", d.Message))
			}
			if len(re.Details) == 0 {
				res.Problems = append(res.Problems, problemAt(src, 0, len(src), "filter", "%s", re.Message))
			}
			return
		}
		add(err)
	}
}

// wordAt is the length in bytes of the name, number or operator at pos.
func wordAt(src string, pos int) int {
	if pos >= len(src) {
		return 0
	}
	end := pos
	for end < len(src) && (isIdent(src[end]) || src[end] == '.' || src[end] >= utf8.RuneSelf) {
		end++
	}
	if end == pos {
		return 1
	}
	return end - pos
}

// previewFilter counts what the filter matches for the caller and whether
// it matches the sample record, on the published app's records.
func (s *Service) previewFilter(ctx context.Context, c Caller, app string, q ExprCheck) *ExprPreview {
	p := &ExprPreview{}
	if q.Count {
		page, err := s.List(ctx, c, app, q.Entity, Query{Filter: q.Expr, Limit: 1, Fields: "id", Count: CountExact})
		if err != nil {
			p.Error = previewError(err)
			return p
		}
		p.Count = page.Count
	}
	if q.RecordID != "" {
		// The id was checked to be a plain token, so quoting it is safe.
		f := "(" + q.Expr + ") && id = " + strconv.Quote(q.RecordID)
		page, err := s.List(ctx, c, app, q.Entity, Query{Filter: f, Limit: 1, Fields: "id"})
		if err != nil {
			p.Error = previewError(err)
			return p
		}
		m := len(page.Items) > 0
		p.Matches = &m
	}
	return p
}

func previewError(err error) string {
	var re *Error
	if errors.As(err, &re) {
		if len(re.Details) > 0 {
			return re.Details[0].Message
		}
		return re.Message
	}
	return "the preview failed"
}

// previewName is the formula field the preview adds; "__" cannot start a
// field name, so it never meets one.
const previewName = "__preview"

// previewFormula computes the formula on the sample record as the caller
// reads it (the records of its references too), writing nothing.
func (s *Service) previewFormula(ctx context.Context, c Caller, doc *schema.App, e *schema.Entity, q ExprCheck) *ExprPreview {
	p := &ExprPreview{}
	rec, err := s.Get(ctx, c, doc.Name, q.Entity, q.RecordID, "", "")
	if err != nil {
		p.Error = previewError(err)
		return p
	}
	// A one-entity app: the other formulas become the values they stored,
	// the expression the only formula; no hooks, no rules.
	ent := schema.Entity{Name: e.Name}
	for _, f := range e.Fields {
		if f.Type == schema.Formula || f.Type == schema.Rollup {
			f.Type, f.Expr, f.Rollup = f.StorageType(), "", nil
		}
		ent.Fields = append(ent.Fields, f)
	}
	ent.Fields = append(ent.Fields, schema.Field{Name: previewName, Type: schema.Formula, Expr: q.Expr, Returns: schema.Text})
	// The app's scripts only when the formula calls one of their functions:
	// compiling them is most of a preview's cost.
	var scripts map[string]string
	calls, _ := schema.FormulaCalls(q.Expr)
	for _, name := range calls {
		if scriptDefines(doc, name) {
			scripts = doc.Scripts
		}
	}
	tmp := &schema.App{Name: doc.Name, Settings: doc.Settings, Scripts: scripts, Entities: []schema.Entity{ent}}
	prog, problems := logic.Compile(tmp)
	if len(problems) > 0 {
		p.Error = problems[0].Message
		return p
	}
	values := plainRecord(rec.fields, rec.values)
	le := prog.Entity(e.Name)
	for ref := range le.RefReads {
		target := map[string]any{}
		if id, _ := values[ref].(string); id != "" {
			f := entityFields(e)[ref]
			if t, err := s.Get(ctx, c, doc.Name, f.Entity, id, "", ""); err == nil {
				target = plainRecord(t.fields, t.values)
			}
		}
		values[ref] = target
	}
	out, err := prog.Compute(ctx, e.Name, values)
	if err != nil {
		p.Error = previewError(err)
		if se := (*script.Error)(nil); errors.As(err, &se) {
			p.Error = se.Message
		}
		return p
	}
	for _, pr := range out.Problems {
		if pr.Path == "/"+previewName {
			p.Error = strings.TrimPrefix(pr.Message, "formula "+previewName+" failed: ")
			return p
		}
	}
	v, err := json.Marshal(out.Values[previewName])
	if err != nil {
		p.Error = "the value cannot be shown"
		return p
	}
	p.Value = v
	return p
}
