package schema

import (
	_ "embed"
	"strconv"
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"
	"golang.org/x/text/unicode/norm"
)

// The kinds of things a name is derived for; the kind is also the fallback
// name when a label yields no letters at all (only emoji, say).
const (
	KindApp    = "app"
	KindEntity = "entity"
	KindField  = "field"
	KindRole   = "role"
)

// NameKinds are the kinds DeriveName accepts.
var NameKinds = []string{KindApp, KindEntity, KindField, KindRole}

//go:embed pinyin_browser.txt
var browserPinyinText string

// browserPinyin holds the characters whose reading the browser's preview
// spells otherwise than go-pinyin (pinyin_browser.txt): the browser's
// reading wins, so the server derives the name the designer showed.
var browserPinyin = func() map[rune]string {
	m := map[rune]string{}
	for _, line := range strings.Split(browserPinyinText, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		hex, py, _ := strings.Cut(line, " ")
		r, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			panic("schema: pinyin_browser.txt: " + line)
		}
		m[rune(r)] = py
	}
	return m
}()

// hanLetters spells one Han character as the browser does.
func hanLetters(r rune) string {
	if py, ok := browserPinyin[r]; ok {
		return py
	}
	py := ""
	if ps := pinyin.SinglePinyin(r, pinyinArgs); len(ps) > 0 {
		py = ps[0]
	}
	return asciiLetters(strings.ReplaceAll(py, "ü", "v"))
}

var pinyinArgs = func() pinyin.Args {
	a := pinyin.NewArgs()
	a.Style = pinyin.Normal
	return a
}()

// NameFromLabel is the API name a label spells, before collisions and
// reserved words are considered; it may be "" (a label of emoji only).
//
// The rule is the browser's (builder-ui/src/designer/naming.ts, shared test
// vectors in schema/testdata/names.json): Chinese characters by pinyin
// without tones (ü as v), two characters to a word, since most Chinese
// words have two (门店销售 → mendian_xiaoshou); Latin letters lower-cased
// after their accents are dropped (Café → cafe); digits kept; anything else
// breaks words; words joined by "_"; a name that would start with a digit
// gets "n_" in front; at most 63 bytes, no trailing "_".
func NameFromLabel(label string) string {
	var words []string
	var latin strings.Builder
	var han []string
	flushLatin := func() {
		if latin.Len() > 0 {
			words = append(words, latin.String())
			latin.Reset()
		}
	}
	flushHan := func() {
		for i := 0; i < len(han); i += 2 {
			words = append(words, strings.Join(han[i:min(i+2, len(han))], ""))
		}
		han = han[:0]
	}
	for _, r := range norm.NFKD.String(label) {
		switch {
		case unicode.Is(unicode.Han, r):
			flushLatin()
			han = append(han, hanLetters(r))
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			flushHan()
			latin.WriteRune(unicode.ToLower(r))
		case unicode.Is(unicode.M, r):
			// a combining accent of a decomposed letter (é → e + ´): dropped
		default:
			flushLatin()
			flushHan()
		}
	}
	flushLatin()
	flushHan()
	kept := words[:0]
	for _, w := range words {
		if w != "" {
			kept = append(kept, w)
		}
	}
	name := strings.Join(kept, "_")
	if name != "" && (name[0] < 'a' || name[0] > 'z') {
		name = "n_" + name
	}
	if len(name) > MaxIdentifierBytes {
		name = name[:MaxIdentifierBytes]
	}
	return strings.TrimRight(name, "_")
}

func asciiLetters(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// DeriveName is the name a thing of kind (KindApp, KindEntity, KindField,
// KindRole) labelled label gets: NameFromLabel, or the kind itself when the
// label spells nothing; then numbered (name_2, name_3, …) while it is taken,
// a reserved word, starts with "forma_" or, for a field, is a system column.
// The result always passes the checks Parse makes on names.
func DeriveName(kind, label string, taken func(string) bool) string {
	base := NameFromLabel(label)
	if base == "" {
		base = kind
	}
	free := func(n string) bool {
		return nameProblem(kind, n) == "" && (taken == nil || !taken(n))
	}
	if free(base) {
		return base
	}
	if strings.HasPrefix(base, ReservedPrefix) {
		// numbering never frees a forma_ name
		base = "n_" + base
		if len(base) > MaxIdentifierBytes {
			base = strings.TrimRight(base[:MaxIdentifierBytes], "_")
		}
		if free(base) {
			return base
		}
	}
	for i := 2; ; i++ {
		suffix := "_" + strconv.Itoa(i)
		n := base
		if len(n)+len(suffix) > MaxIdentifierBytes {
			n = n[:MaxIdentifierBytes-len(suffix)]
		}
		n += suffix
		if free(n) {
			return n
		}
	}
}

// DeriveOptions steer the names Parse derives from labels.
type DeriveOptions struct {
	// Previous is the app's published document, if any: an entity or field
	// without a name that matches one of it by id keeps that name, so a
	// name stays what it was first published as when the label changes.
	Previous *App
	// AppTaken reports whether an app name is in use; a derived app name
	// is numbered past it (a document without a name is a new app).
	AppTaken func(string) bool
}

// labelOf is the label a name is derived from: "label", else the zh-CN,
// then the en variant of "labels".
func labelOf(m map[string]any) string {
	if s, ok := m["label"].(string); ok && strings.TrimSpace(s) != "" {
		return s
	}
	if ls, ok := m["labels"].(map[string]any); ok {
		for _, k := range []string{"zh-CN", "en"} {
			if s, ok := ls[k].(string); ok && strings.TrimSpace(s) != "" {
				return s
			}
		}
	}
	return ""
}

// needsName reports whether m lacks "name" but has a label to derive it from.
func needsName(m map[string]any) bool {
	_, has := m["name"]
	return !has && labelOf(m) != ""
}

// deriveNames fills in, in the decoded document inst, every name that is
// missing where a label is given: the app's, the entities', their fields'
// and the roles'. It reports whether it changed anything. Names already
// given are never changed; derived ones avoid them.
func deriveNames(inst any, opts DeriveOptions) bool {
	doc, ok := inst.(map[string]any)
	if !ok {
		return false
	}
	changed := false
	if needsName(doc) {
		doc["name"] = DeriveName(KindApp, labelOf(doc), opts.AppTaken)
		changed = true
	}
	var prevEntities map[string]*Entity
	if opts.Previous != nil {
		prevEntities = map[string]*Entity{}
		for i := range opts.Previous.Entities {
			if e := &opts.Previous.Entities[i]; e.ID != "" {
				prevEntities[e.ID] = e
			}
		}
	}
	entities := objects(doc["entities"])
	entityNames := givenNames(entities)
	for _, e := range entities {
		id, _ := e["id"].(string)
		prev := prevEntities[id]
		if needsName(e) {
			if prev != nil && !entityNames[prev.Name] {
				e["name"] = prev.Name
			} else {
				e["name"] = DeriveName(KindEntity, labelOf(e), func(n string) bool { return entityNames[n] })
			}
			entityNames[e["name"].(string)] = true
			changed = true
		}
		fields := objects(e["fields"])
		fieldNames := givenNames(fields)
		for _, f := range fields {
			if !needsName(f) {
				continue
			}
			var prevField *Field
			if fid, _ := f["id"].(string); prev != nil && fid != "" {
				for i := range prev.Fields {
					if prev.Fields[i].ID == fid {
						prevField = &prev.Fields[i]
					}
				}
			}
			if prevField != nil && !fieldNames[prevField.Name] {
				f["name"] = prevField.Name
			} else {
				f["name"] = DeriveName(KindField, labelOf(f), func(n string) bool { return fieldNames[n] })
			}
			fieldNames[f["name"].(string)] = true
			changed = true
		}
	}
	roles := objects(doc["roles"])
	roleNames := givenNames(roles)
	for _, r := range roles {
		if needsName(r) {
			r["name"] = DeriveName(KindRole, labelOf(r), func(n string) bool { return roleNames[n] })
			roleNames[r["name"].(string)] = true
			changed = true
		}
	}
	return changed
}

func objects(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, x := range arr {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func givenNames(objs []map[string]any) map[string]bool {
	m := map[string]bool{}
	for _, o := range objs {
		if s, ok := o["name"].(string); ok {
			m[s] = true
		}
	}
	return m
}
