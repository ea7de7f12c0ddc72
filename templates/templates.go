// Package templates holds Forma's built-in installable apps: one folder
// each, pure metadata, scripts and a sample-data recipe (no Go code decides
// what a template does). engine/template reads, installs and exports them;
// engine/sample writes their sample data.
//
// A template folder:
//
//	template.json   {"name", "app", "labels", "descriptions", "picture"}
//	picture.svg     the gallery's picture of the app
//	app/*.json      the app document split into readable files: each is an
//	                object with some of the document's top-level keys
//	                (entities.json, roles.json, flows.json, dashboards.json…);
//	                read in file-name order, arrays are appended, "scripts"
//	                maps are joined, and any other key may appear once
//	scripts/*.js    the app's scripts, named by file name without .js ("grading.js"
//	                is the script "grading", called as "grading#score")
//	sample.json     the sample-data recipe (engine/sample)
//	README.md       every PRODUCT.md bullet and where in the template it lives
package templates

import (
	"embed"
	"io/fs"
)

//go:embed all:pipeline all:store-sales
var files embed.FS

// FS returns the built-in template folders.
func FS() fs.FS { return files }
