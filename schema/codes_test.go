package schema

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// problemSources are the packages whose checks add schema.Problems: the
// schema's own and the engine's (publish checks of roles, filters,
// automations; request checks of the API).
var problemSources = []string{".", "../engine/records", "../engine/automation", "../engine/api",
	"../engine/query", "../engine/logic", "../engine/store", "../engine/flow", "../engine/files"}

// problemReceivers are the names a Problems list goes by where it is added
// to (p.Add, c.p.Add, problems.Add …), told apart from time.Add and the like.
var problemReceivers = map[string]bool{"p": true, "problems": true, "probs": true, "out": true, "ps": true}

// TestEveryAddHasACode reads the source of problemSources: every
// Problems.Add must word its problem with a format listed in problemFormats
// (so it gets a stable code), and every AddCode must name a code listed in
// Codes. The local add in schemaProblems is exempt: leafCode codes those.
func TestEveryAddHasACode(t *testing.T) {
	var files []string
	for _, dir := range problemSources {
		m, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	fs := token.NewFileSet()
	used := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fs, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := c.Fun.(*ast.SelectorExpr)
			if !ok || !problemReceivers[receiverName(sel.X)] {
				return true
			}
			at := fs.Position(c.Pos())
			switch sel.Sel.Name {
			case "Add":
				if len(c.Args) < 2 {
					return true
				}
				if id, ok := c.Args[1].(*ast.Ident); ok && id.Name == "format" {
					return true // the forwarding closure in schemaProblems
				}
				lit, ok := c.Args[1].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: Add with a format that is not a literal: use AddCode", at)
					return true
				}
				s, _ := strconv.Unquote(lit.Value)
				used[s] = true
				if _, ok := problemFormats[s]; !ok {
					t.Errorf("%s: format %q has no code: add it to problemFormats (or use AddCode)", at, s)
				}
			case "AddCode":
				if len(c.Args) < 2 {
					return true
				}
				lit, ok := c.Args[1].(*ast.BasicLit)
				if !ok {
					return true
				}
				s, _ := strconv.Unquote(lit.Value)
				if _, ok := Codes[s]; !ok {
					t.Errorf("%s: code %q is not in Codes", at, s)
				}
			}
			return true
		})
	}
	for f, c := range problemFormats {
		if _, ok := Codes[c.code]; !ok {
			t.Errorf("format %q: code %q is not in Codes", f, c.code)
		}
		if !used[f] {
			t.Errorf("format %q is in problemFormats but no check words a problem with it: remove it", f)
		}
	}
}

// receiverName is the last name of x (p of c.p).
func receiverName(x ast.Expr) string {
	switch r := x.(type) {
	case *ast.Ident:
		return r.Name
	case *ast.SelectorExpr:
		return r.Sel.Name
	}
	return ""
}

// expectCodes fails on a problem without a stable code from Codes. Every
// bad document the check tests feed through expectProblems (the corpus:
// names, numbers, defaults, refs, formulas, rollups, indexes, hooks, forms,
// roles, validations …) passes through it.
func expectCodes(t *testing.T, probs Problems) {
	t.Helper()
	for _, p := range probs {
		if _, ok := Codes[p.Code]; !ok {
			t.Errorf("%s: %s: code %q is not a documented code", p.Path, p.Message, p.Code)
		}
	}
}
