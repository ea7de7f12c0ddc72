package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/formaapp/forma/schema/strictjson"
)

//go:embed app.schema.json
var schemaJSON []byte

// SchemaURL is the $id of the app document's JSON Schema.
const SchemaURL = "https://formaapp.dev/schema/app.schema.json"

// SchemaJSON returns the JSON Schema (draft 2020-12) that every app document
// must satisfy, e.g. to serve it to editors.
func SchemaJSON() []byte { return bytes.Clone(schemaJSON) }

var (
	// appSchema is the compiled schema; rawSchema the same document decoded,
	// to word messages from its keywords (enum values, bounds, properties).
	appSchema = compileSchema(SchemaURL, schemaJSON)
	rawSchema = decodeJSON(schemaJSON)
)

// compileSchema compiles one of the package's embedded schemas (the app
// document's, a plugin manifest's).
func compileSchema(url string, doc []byte) *jsonschema.Schema {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource(url, bytes.NewReader(doc)); err != nil {
		panic("schema: " + url + ": " + err.Error())
	}
	return c.MustCompile(url)
}

func decodeJSON(b []byte) any {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		panic("schema: app.schema.json: " + err.Error())
	}
	return v
}

// Parse reads an app document: it checks the JSON syntax, validates the
// document against the JSON Schema (SchemaJSON), decodes it strictly into an
// App and runs the semantic checks (Check). Every problem found is returned
// at once, ordered by path; the App is returned only when there are none.
//
// Paths are JSON pointers into the document. A missing key is reported at the
// object that lacks it ("missing required field \"id\"" at
// /entities/0/fields/2); an unknown key at the key itself
// (/entities/0/fields/2/requird). Malformed JSON gives a single problem at
// path "" with the line and column.
func Parse(doc []byte) (*App, Problems) { return ParseWith(doc, DeriveOptions{}) }

// ParseWith is Parse, deriving the names a document leaves out from their
// labels (deriveNames) as opts says: an app, entity, field or role may
// give "label" (or "labels") and no "name".
func ParseWith(doc []byte, opts DeriveOptions) (*App, Problems) {
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, Problems{{Path: "", Code: "required", Message: "the document is empty; expected a JSON object describing an app"}}
	}
	if err := json.Unmarshal(doc, new(json.RawMessage)); err != nil {
		return nil, Problems{syntaxProblem(doc, err)}
	}
	// What encoding/json would silently alter (invalid UTF-8, NUL, lone
	// surrogates, a key given twice) is refused where it is, before any
	// label or name could be stored otherwise than it was sent.
	var se *strictjson.Error
	if errors.As(strictjson.Check(doc), &se) {
		return nil, Problems{{Path: se.Pointer, Code: "invalid_json", Message: se.Message}}
	}
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var inst any
	if err := d.Decode(&inst); err != nil {
		return nil, Problems{syntaxProblem(doc, err)}
	}

	// Numbers like 1e1000000000 would make the validator's exact arithmetic
	// blow up (or panic); no document needs them.
	if probs := hugeNumbers(inst, ""); len(probs) > 0 {
		sortProblems(probs)
		return nil, probs
	}

	// "systemFields" is what GET /api/meta/apps/{app} answers beside the
	// document (the system columns' labels); a document read and sent back
	// may carry it, and it is dropped.
	dropped := false
	if m, ok := inst.(map[string]any); ok {
		if _, has := m["systemFields"]; has {
			delete(m, "systemFields")
			dropped = true
		}
	}
	if deriveNames(inst, opts) || dropped {
		b, err := json.Marshal(inst)
		if err != nil {
			return nil, Problems{{Path: "", Code: "invalid", Message: "cannot read the document: " + err.Error()}}
		}
		doc = b
	}

	var probs Problems
	if err := appSchema.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			probs = schemaProblems(ve, inst, rawSchema)
		} else {
			probs.AddCode("", "invalid", nil, "%s", err.Error())
		}
	}
	probs = append(probs, integerLiteralProblems(inst, pathSet(probs))...)

	var app App
	if len(probs) == 0 {
		sd := json.NewDecoder(bytes.NewReader(doc))
		sd.DisallowUnknownFields()
		if err := sd.Decode(&app); err != nil {
			return nil, Problems{{Path: "", Code: "invalid", Message: "cannot read the document: " + strings.TrimPrefix(err.Error(), "json: ")}}
		}
	} else if err := json.Unmarshal(doc, &app); err != nil {
		// The shape is too far off for the semantic checks to say anything useful.
		sortProblems(probs)
		return nil, probs
	}

	// Semantic problems at a path the schema already explained add nothing.
	// A missing key covers the key's path, not the object's: the object may
	// have other problems.
	covered := map[string]bool{}
	for _, p := range probs {
		if key, ok := missingKey(p); ok {
			covered[p.Path+"/"+escapePtr(key)] = true
		} else {
			covered[p.Path] = true
		}
	}
	for _, p := range app.Check() {
		if covered[p.Path] {
			continue
		}
		// Go cannot tell a missing key from an empty one ("id": "").
		if key, ok := missingKey(p); ok && covered[p.Path+"/"+escapePtr(key)] {
			continue
		}
		probs = append(probs, p)
	}
	if len(probs) > 0 {
		sortProblems(probs)
		return nil, probs
	}
	return &app, nil
}

// missingKey returns the key a "missing required field" problem is about.
func missingKey(p Problem) (string, bool) {
	q, ok := strings.CutPrefix(p.Message, missingPrefix)
	if !ok {
		return "", false
	}
	key, err := strconv.Unquote(q)
	return key, err == nil
}

// missingPrefix starts the message of a missing required key.
const missingPrefix = "missing required field "

func pathSet(p Problems) map[string]bool {
	m := make(map[string]bool, len(p))
	for _, x := range p {
		m[x.Path] = true
	}
	return m
}

// syntaxProblem turns a JSON decoding error into a problem with line and column.
func syntaxProblem(doc []byte, err error) Problem {
	off := int64(len(doc))
	msg := err.Error()
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		msg = "unexpected end of the document"
	}
	if off > int64(len(doc)) {
		off = int64(len(doc))
	}
	if off > 0 && se != nil {
		off-- // Offset is just past the offending byte
	}
	line := 1 + bytes.Count(doc[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(doc[:off], '\n')
	return Problem{Path: "", Code: "invalid_json", Params: map[string]any{"line": line, "column": col},
		Message: fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, msg)}
}

// schemaProblems flattens a validation error to its leaves (the causes that
// say what is wrong, not the "doesn't validate with" wrappers) and words each
// for a person. raw is the schema that failed, decoded (the app document's,
// a plugin manifest's, or a plugin's own settings or input schema), to word
// messages from its keywords.
func schemaProblems(ve *jsonschema.ValidationError, inst, raw any) Problems {
	var leaves []*jsonschema.ValidationError
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, e)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	var out Problems
	for _, l := range leaves {
		out = append(out, wordLeaf(l, inst, raw)...)
	}
	return out
}

// wordLeaf words one leaf error from the schema keyword that failed and the
// value it failed on.
func wordLeaf(l *jsonschema.ValidationError, inst, raw any) Problems {
	loc := l.InstanceLocation
	// The validator percent-encodes the pointer (a key 赢单 comes as
	// %E8%B5%A2%E5%8D%95, and % itself as %25): report the key as written.
	if strings.Contains(loc, "%") {
		if u, err := url.PathUnescape(loc); err == nil {
			loc = u
		}
	}
	kwPtr := l.AbsoluteKeywordLocation
	if i := strings.IndexByte(kwPtr, '#'); i >= 0 {
		kwPtr = kwPtr[i+1:]
	}
	segs := splitPtr(kwPtr)
	if len(segs) == 0 {
		return Problems{{Path: loc, Code: "invalid", Message: l.Message}}
	}
	kw := segs[len(segs)-1]
	parent := "/" + strings.Join(escapeAll(segs[:len(segs)-1]), "/")
	if len(segs) == 1 {
		parent = ""
	}
	node, _ := lookupPtr(raw, parent)
	sch, _ := node.(map[string]any)
	val, _ := lookupPtr(inst, loc)
	propName := strings.Contains(l.KeywordLocation, "/propertyNames")
	var out Problems
	add := func(path, format string, args ...any) { out.Add(path, format, args...) }

	switch kw {
	case "additionalProperties":
		obj, _ := val.(map[string]any)
		props, _ := sch["properties"].(map[string]any)
		known := sortedKeys(props)
		for _, k := range sortedKeys(obj) {
			if _, ok := props[k]; !ok {
				add(loc+"/"+escapePtr(k), "unknown field %q%s", k, didYouMean(k, known))
			}
		}
	case "required":
		obj, _ := val.(map[string]any)
		req, _ := sch["required"].([]any)
		for _, r := range req {
			if k, _ := r.(string); k != "" {
				if _, ok := obj[k]; !ok {
					add(loc, missingPrefix+"%q", k)
				}
			}
		}
	case "type":
		add(loc, "must be %s, not %s", typePhrase(sch["type"]), describe(val))
	case "enum":
		values := enumStrings(sch["enum"])
		if propName {
			key := lastSeg(loc)
			add(loc, "unknown hook %q: hooks are %s%s", key, strings.Join(values, ", "), didYouMean(key, values))
			break
		}
		s, _ := val.(string)
		add(loc, "must be one of %s, not %s%s", strings.Join(values, ", "), describe(val), didYouMean(s, values))
	case "pattern":
		rule := fmt.Sprintf("must match the pattern %s", sch["pattern"])
		switch sch["pattern"] {
		case NamePattern:
			rule = nameRule
		case IDPattern:
			rule = idRule
		case IndexFieldPattern:
			rule = nameRule + `, after an optional "-" (descending)`
		}
		if propName {
			add(loc, "%s name %q %s", singular(parentSeg(loc)), lastSeg(loc), rule)
		} else if s, ok := val.(string); ok {
			add(loc, "%s %s", quote(truncate(s, 80)), rule)
		} else {
			add(loc, "%s", rule)
		}
	case "minLength":
		if n := intOf(sch["minLength"]); n == 1 {
			add(loc, "must not be empty")
		} else {
			add(loc, "must be at least %d characters long", n)
		}
	case "maxLength":
		add(loc, "must be at most %d characters long", intOf(sch["maxLength"]))
	case "minItems":
		add(loc, "must have at least %d %s", intOf(sch["minItems"]), plural(intOf(sch["minItems"]), "item"))
	case "maxItems":
		add(loc, "must have at most %d items", intOf(sch["maxItems"]))
	case "uniqueItems":
		arr, _ := val.([]any)
		seen := map[string]int{}
		for i, item := range arr {
			b, _ := json.Marshal(item)
			if j, dup := seen[string(b)]; dup {
				add(loc+ptr(i), "duplicate value %s (same as item %d)", b, j)
			} else {
				seen[string(b)] = i
			}
		}
	case "minimum":
		add(loc, "must be at least %v", sch["minimum"])
	case "maximum":
		add(loc, "must be at most %v", sch["maximum"])
	default:
		add(loc, "%s", l.Message)
	}
	code, params := leafCode(kw, sch)
	for i := range out {
		out[i].Code, out[i].Params = code, params
		if k, err := strconv.Unquote(strings.TrimPrefix(out[i].Message, missingPrefix)); kw == "required" && err == nil {
			out[i].Params = map[string]any{"key": k}
		}
	}
	return out
}

// leafCode is the stable code (and params) of a problem with a schema
// keyword, as records' problems have them.
func leafCode(kw string, sch map[string]any) (string, map[string]any) {
	switch kw {
	case "additionalProperties":
		return "unknown_field", nil
	case "required":
		return "required", nil
	case "type":
		return "type", map[string]any{"expected": sch["type"]}
	case "enum":
		return "option", map[string]any{"options": sch["enum"]}
	case "pattern":
		if sch["pattern"] == NamePattern {
			return "invalid_name", nil
		}
		return "pattern", map[string]any{"pattern": sch["pattern"]}
	case "minLength":
		return "min_length", map[string]any{"limit": sch["minLength"]}
	case "maxLength":
		return "max_length", map[string]any{"limit": sch["maxLength"]}
	case "minItems":
		return "min_items", map[string]any{"limit": sch["minItems"]}
	case "maxItems":
		return "max_items", map[string]any{"limit": sch["maxItems"]}
	case "uniqueItems":
		return "duplicate_item", nil
	case "minimum":
		return "min", map[string]any{"limit": sch["minimum"]}
	case "maximum":
		return "max", map[string]any{"limit": sch["maximum"]}
	}
	return "invalid", nil
}

// maxNumberLength and maxExponent bound the number literals of a document;
// float64 itself stops at 1e308.
const (
	maxNumberLength = 400
	maxExponent     = 400
)

// hugeNumbers reports every number literal in v too long or with too large
// an exponent to be handled exactly.
func hugeNumbers(v any, path string) Problems {
	var out Problems
	switch x := v.(type) {
	case json.Number:
		if !saneNumber(string(x)) {
			out.Add(path, "number %s is out of range", truncate(string(x), 40))
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			out = append(out, hugeNumbers(x[k], path+"/"+escapePtr(k))...)
		}
	case []any:
		for i, item := range x {
			out = append(out, hugeNumbers(item, path+ptr(i))...)
		}
	}
	return out
}

// saneNumber reports whether a number literal is short and its exponent small.
func saneNumber(s string) bool {
	if len(s) > maxNumberLength {
		return false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || exp > maxExponent || exp < -maxExponent {
			return false
		}
	}
	return true
}

// integerLiteralProblems reports integers written as 10.0 or 1e2: JSON Schema
// counts them as integers but they do not decode into a Go int.
func integerLiteralProblems(inst any, skip map[string]bool) Problems {
	var out Problems
	check := func(path string, v any) {
		if n, ok := v.(json.Number); ok && !skip[path] && !plainInt(string(n)) {
			out.Add(path, "must be a whole number written without a decimal point or exponent, not %s", n)
		}
	}
	root, _ := inst.(map[string]any)
	if v, ok := root["version"]; ok {
		check("/version", v)
	}
	ents, _ := root["entities"].([]any)
	for i, e := range ents {
		em, _ := e.(map[string]any)
		fields, _ := em["fields"].([]any)
		for j, f := range fields {
			fm, _ := f.(map[string]any)
			for _, k := range []string{"maxLength", "precision", "scale"} {
				if v, ok := fm[k]; ok {
					check(ptr("entities", i, "fields", j, k), v)
				}
			}
		}
	}
	return out
}

// plainInt reports whether a number literal is a plain integer that fits an int.
func plainInt(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || len(s) > 18 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func typePhrase(t any) string {
	names := map[string]string{
		"string": "a string", "integer": "a whole number", "number": "a number",
		"boolean": "a boolean (true or false)", "object": "an object", "array": "an array", "null": "null",
	}
	var ts []string
	switch t := t.(type) {
	case string:
		ts = []string{t}
	case []any:
		for _, x := range t {
			if s, _ := x.(string); s != "" && s != "null" {
				ts = append(ts, s)
			}
		}
	}
	var words []string
	for _, x := range ts {
		words = append(words, names[x])
	}
	return strings.Join(words, " or ")
}

func enumStrings(v any) []string {
	arr, _ := v.([]any)
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func intOf(v any) int {
	if n, ok := v.(json.Number); ok {
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func singular(s string) string {
	switch s {
	case "scripts":
		return "script"
	case "hooks":
		return "hook"
	}
	return strings.TrimSuffix(s, "s")
}

func lastSeg(p string) string {
	segs := splitPtr(p)
	if len(segs) == 0 {
		return ""
	}
	return segs[len(segs)-1]
}

func parentSeg(p string) string {
	segs := splitPtr(p)
	if len(segs) < 2 {
		return ""
	}
	return segs[len(segs)-2]
}

func escapeAll(segs []string) []string {
	out := make([]string, len(segs))
	for i, s := range segs {
		out[i] = escapePtr(s)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
