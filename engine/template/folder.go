// Package template reads, writes, installs and exports template folders:
// an installable app as pure metadata, scripts and a sample-data recipe (no
// Go code decides what a template does; the built-in ones are embedded by
// the top-level package templates).
//
// A template folder:
//
//	template.json   {"name", "app", "labels", "descriptions", "picture"}
//	app/*.json      the app document split into readable files: each is an
//	                object with some of the document's top-level keys
//	                (entities.json, roles.json, flows.json, dashboards.json…);
//	                read in file-name order, arrays are appended, "scripts"
//	                maps are joined, and any other key may appear once
//	scripts/*.js    the app's scripts, named by file name without .js ("grading.js"
//	                is the script "grading", called as "grading#score")
//	README.md       every PRODUCT.md bullet and where in the template it lives
//
// Document assembles a folder into the one app document the engine
// applies, so a template is checked and installed like any app.
package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Info is a template's template.json.
type Info struct {
	Name         string            `json:"name"`
	App          string            `json:"app"` // the app's default name
	Labels       map[string]string `json:"labels"`
	Descriptions map[string]string `json:"descriptions,omitempty"`
	Picture      string            `json:"picture,omitempty"` // a file in the folder (SVG or PNG)
}

// Read reads the template.json of the template in dir of fsys.
func Read(fsys fs.FS, dir string) (*Info, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, "template.json"))
	if err != nil {
		return nil, fmt.Errorf("templates: %s: %w", dir, err)
	}
	var in Info
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("templates: %s/template.json: %w", dir, err)
	}
	if in.Name == "" || in.App == "" {
		return nil, fmt.Errorf("templates: %s/template.json: name and app are required", dir)
	}
	return &in, nil
}

// Document assembles the app document of the template in dir of fsys.
func Document(fsys fs.FS, dir string) ([]byte, error) {
	parts, err := fs.Glob(fsys, path.Join(dir, "app", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(parts)
	doc := map[string]json.RawMessage{}
	lists := map[string][]json.RawMessage{}
	scripts := map[string]string{}
	for _, p := range parts {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		var part map[string]json.RawMessage
		if err := json.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("templates: %s: %w", p, err)
		}
		for k, v := range part {
			switch t := bytes.TrimSpace(v); {
			case k == "scripts":
				var m map[string]string
				if err := json.Unmarshal(v, &m); err != nil {
					return nil, fmt.Errorf("templates: %s: scripts: %w", p, err)
				}
				for name, src := range m {
					if _, dup := scripts[name]; dup {
						return nil, fmt.Errorf("templates: %s: script %q is given twice", p, name)
					}
					scripts[name] = src
				}
			case len(t) > 0 && t[0] == '[':
				var items []json.RawMessage
				if err := json.Unmarshal(v, &items); err != nil {
					return nil, fmt.Errorf("templates: %s: %s: %w", p, k, err)
				}
				if lists[k] == nil {
					// An empty list stays a list ([]), not null.
					lists[k] = []json.RawMessage{}
				}
				lists[k] = append(lists[k], items...)
			default:
				if _, dup := doc[k]; dup {
					return nil, fmt.Errorf("templates: %s: %q is given in two files", p, k)
				}
				doc[k] = v
			}
		}
	}
	js, err := fs.Glob(fsys, path.Join(dir, "scripts", "*.js"))
	if err != nil {
		return nil, err
	}
	for _, p := range js {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		// The schema names scripts without an extension ("grading"), and
		// hooks call them so: "grading#score".
		name := strings.TrimSuffix(path.Base(p), ".js")
		if _, dup := scripts[name]; dup {
			return nil, fmt.Errorf("templates: %s: script %q is given twice", p, name)
		}
		scripts[name] = string(b)
	}
	for k, items := range lists {
		if _, dup := doc[k]; dup {
			return nil, fmt.Errorf("templates: %s: %q is both a list and a value", dir, k)
		}
		b, err := json.Marshal(items)
		if err != nil {
			return nil, err
		}
		doc[k] = b
	}
	if len(scripts) > 0 {
		b, err := json.Marshal(scripts)
		if err != nil {
			return nil, err
		}
		doc["scripts"] = b
	}
	if len(doc) == 0 {
		return nil, fmt.Errorf("templates: %s: no app/*.json", dir)
	}
	return json.MarshalIndent(doc, "", "  ")
}

// Names lists the template folders of fsys.
func Names(fsys fs.FS) ([]string, error) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
