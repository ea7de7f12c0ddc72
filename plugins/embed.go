// Package plugins holds Forma's built-in connectors, each a plugin folder
// (plugin.json, index.js, test/) written against the same SDK as any
// third-party plugin: see README.md. The binary embeds them; the engine
// installs them at start (engine/plugin, Options.Builtins).
package plugins

import (
	"embed"
	"io/fs"
)

// Every connector folder is named here, so a new one is embedded only on
// purpose (TestEmbedsEveryFolder fails when one is forgotten).
//
//go:embed README.md webform wecom dingtalk email rest
var files embed.FS

// FS returns the built-in plugin folders (one per top-level directory).
func FS() fs.FS { return files }
