package template

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/formaapp/forma/schema"
)

// Listed is a template as the gallery shows it: its template.json, its
// folder in the FS, and its picture (nil when it has none).
type Listed struct {
	Info
	Dir         string
	Picture     []byte
	PictureType string // image/svg+xml or image/png
}

// pictureTypes are the picture formats a template may carry, by extension.
var pictureTypes = map[string]string{".svg": "image/svg+xml", ".png": "image/png"}

// List reads every template of fsys, in folder-name order. A folder whose
// template.json is missing or broken fails the whole list: a half-listed
// gallery would hide the mistake from whoever added the folder.
func List(fsys fs.FS) ([]Listed, error) {
	names, err := Names(fsys)
	if err != nil {
		return nil, fmt.Errorf("templates: list: %w", err)
	}
	sort.Strings(names)
	out := make([]Listed, 0, len(names))
	for _, n := range names {
		in, err := Read(fsys, n)
		if err != nil {
			return nil, err
		}
		l := Listed{Info: *in, Dir: n}
		if in.Picture != "" {
			typ := pictureTypes[strings.ToLower(path.Ext(in.Picture))]
			// The picture is a file of the folder itself: a path would let
			// one template's metadata read another folder's files.
			if typ == "" || strings.ContainsAny(in.Picture, `/\`) || strings.HasPrefix(in.Picture, ".") {
				return nil, fmt.Errorf("templates: %s/template.json: picture %q must be an .svg or .png file in the folder", n, in.Picture)
			}
			if l.Picture, err = fs.ReadFile(fsys, path.Join(n, in.Picture)); err != nil {
				return nil, fmt.Errorf("templates: %s: picture: %w", n, err)
			}
			l.PictureType = typ
		}
		out = append(out, l)
	}
	return out, nil
}

// Find returns the folder of the template called name in fsys. It matches
// the folder names List and Names give, never a path built from name, so a
// name like "../x" finds nothing.
func Find(fsys fs.FS, name string) (string, error) {
	names, err := Names(fsys)
	if err != nil {
		return "", fmt.Errorf("templates: %w", err)
	}
	for _, n := range names {
		if n == name {
			return n, nil
		}
	}
	return "", fmt.Errorf("%w: %q", ErrNotFound, name)
}

// ErrNotFound is returned for a template name that is not in the FS.
var ErrNotFound = errors.New("no such template")

// partFiles names the file of the app document's list-valued keys, in the
// order a reader meets them (and the built-in templates use); other lists
// go to 90-<key>.json.
var partFiles = map[string]string{
	"entities":    "10-entities.json",
	"roles":       "20-roles.json",
	"flows":       "30-flows.json",
	"assignments": "40-assignments.json",
	"automations": "50-automations.json",
	"connectors":  "60-connectors.json",
	"forms":       "70-forms.json",
	"dashboards":  "80-dashboards.json",
}

// fileKey is a top-level key that may name a file (90-<key>.json).
var fileKey = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,63}$`)

// scriptFile is a script name that may name a file (<name>.js); the schema
// asks the same of script names, so only a document that would not apply
// keeps a script inline.
var scriptFile = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]{0,63}$`)

// Write splits the app document doc into a template folder in dir (the
// files of Files). Document of the folder gives back an equal document.
//
// dir may be an existing template folder: its app/*.json and scripts/*.js
// are replaced (a part left over from an older export would be merged into
// the document), anything else in it (README.md, sample.json, the picture)
// is kept.
func Write(dir string, info Info, doc []byte) error {
	files, err := Files(info, doc)
	if err != nil {
		return fmt.Errorf("templates: write %s: %w", dir, err)
	}
	for _, sub := range []string{"app", "scripts"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("templates: write %s: %w", dir, err)
		}
	}
	// Old parts go first: Document would join them with the new ones.
	for _, pat := range []string{"app/*.json", "scripts/*.js"} {
		old, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pat)))
		if err != nil {
			return fmt.Errorf("templates: write %s: %w", dir, err)
		}
		for _, p := range old {
			if err := os.Remove(p); err != nil {
				return fmt.Errorf("templates: write %s: %w", dir, err)
			}
		}
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f.Path)), f.Data, 0o644); err != nil {
			return fmt.Errorf("templates: write %s: %w", dir, err)
		}
	}
	return nil
}

// File is one file of a template folder: its slash-separated path in the
// folder and its content.
type File struct {
	Path string
	Data []byte
}

// Files splits the app document doc into the files of a template folder,
// in path order: template.json from info, app/00-app.json with the
// document's single values (name, label, settings…), one app/NN-<key>.json
// per list (entities, roles, flows…), and scripts/<name>.js per script.
func Files(info Info, doc []byte) ([]File, error) {
	if info.Name == "" || info.App == "" {
		return nil, errors.New("the template's name and app are required")
	}
	keys, vals, err := topLevel(doc)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{} // path → content
	var single []string          // keys of 00-app.json, in the document's order
	scripts := map[string]string{}
	for _, k := range keys {
		v := bytes.TrimSpace(vals[k])
		switch {
		case k == "scripts" && len(v) > 0 && v[0] == '{':
			var m map[string]string
			if err := json.Unmarshal(v, &m); err != nil {
				return nil, fmt.Errorf("scripts: %w", err)
			}
			for name, src := range m {
				if scriptFile.MatchString(name) {
					files[path.Join("scripts", name+".js")] = []byte(src)
				} else {
					scripts[name] = src // a name no file may carry stays inline
				}
			}
			if len(scripts) > 0 {
				single = append(single, k)
			}
		case len(v) > 0 && v[0] == '[' && (partFiles[k] != "" || fileKey.MatchString(k)):
			name := partFiles[k]
			if name == "" {
				name = "90-" + k + ".json"
			}
			b, err := object([]string{k}, map[string]json.RawMessage{k: v})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			files[path.Join("app", name)] = b
		default:
			single = append(single, k)
		}
	}
	if len(single) > 0 {
		if len(scripts) > 0 {
			vals["scripts"], _ = json.Marshal(scripts)
		}
		b, err := object(single, vals)
		if err != nil {
			return nil, err
		}
		files["app/00-app.json"] = b
	}
	var ti bytes.Buffer
	enc := json.NewEncoder(&ti)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(info); err != nil {
		return nil, fmt.Errorf("template.json: %w", err)
	}
	files["template.json"] = ti.Bytes()
	out := make([]File, 0, len(files))
	for p, b := range files {
		out = append(out, File{Path: p, Data: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Export is the template of an installed app: its document as the server
// keeps it, less the version (an install elsewhere starts at 1), and a
// template.json naming it with the app's labels.
func Export(app *schema.App) (Info, []byte, error) {
	cp := *app
	cp.Version = 0
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Filters and formulas keep their <, > and & readable in the files.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&cp); err != nil {
		return Info{}, nil, fmt.Errorf("templates: export %s: %w", app.Name, err)
	}
	info := Info{Name: app.Name, App: app.Name, Labels: map[string]string{}}
	for k, v := range app.Labels {
		info.Labels[k] = v
	}
	if len(info.Labels) == 0 {
		info.Labels["en"] = cmp.Or(app.Label, app.Name)
	}
	if app.Description != "" {
		info.Descriptions = map[string]string{"en": app.Description}
	}
	return info, b.Bytes(), nil
}

// Zip writes the template folder of Files as a zip archive, its files
// under a folder named after the template (unzipped, it is a folder of
// templates holding this one).
func Zip(w io.Writer, info Info, doc []byte) error {
	files, err := Files(info, doc)
	if err != nil {
		return fmt.Errorf("templates: zip: %w", err)
	}
	if !fileKey.MatchString(strings.ReplaceAll(info.Name, "-", "_")) {
		return fmt.Errorf("templates: zip: %q cannot name a folder", info.Name)
	}
	zw := zip.NewWriter(w)
	for _, f := range files {
		fw, err := zw.Create(info.Name + "/" + f.Path)
		if err != nil {
			return fmt.Errorf("templates: zip: %w", err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			return fmt.Errorf("templates: zip: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("templates: zip: %w", err)
	}
	return nil
}

// topLevel returns an object's keys in the order they come, and their
// values.
func topLevel(doc []byte) ([]string, map[string]json.RawMessage, error) {
	vals := map[string]json.RawMessage{}
	if err := json.Unmarshal(doc, &vals); err != nil {
		return nil, nil, fmt.Errorf("the app document: %w", err)
	}
	if vals == nil {
		return nil, nil, errors.New("the app document is not an object")
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if _, err := dec.Token(); err != nil { // {
		return nil, nil, err
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := t.(string)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, nil, err
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys, vals, nil
}

// object writes an indented JSON object of keys, in that order, with
// non-ASCII text and <, >, & as they are (the labels stay readable).
func object(keys []string, vals map[string]json.RawMessage) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		kb, _ := json.Marshal(k)
		var v bytes.Buffer
		if err := json.Indent(&v, vals[k], "  ", "  "); err != nil {
			return nil, err
		}
		b.WriteString("  ")
		b.Write(kb)
		b.WriteString(": ")
		b.Write(v.Bytes())
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}
