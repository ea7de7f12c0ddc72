// Package plugins holds Forma's built-in connectors, each a plugin folder
// (plugin.json, index.js, test/) written against the same SDK as any
// third-party plugin: see README.md. The binary embeds them; the engine
// installs them at start (engine/plugin, Options.Builtins).
package plugins

import (
	"embed"
	"io/fs"
)

// TODO(plugin-builtins): embed every connector folder.
//
//go:embed README.md
var files embed.FS

// FS returns the built-in plugin folders (one per top-level directory).
func FS() fs.FS { return files }
