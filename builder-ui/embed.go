// Package builderui holds the production build of Forma's web UI
// (builder-ui/dist, made by `npm ci && npm run build` in this folder and
// committed), so that the forma binary serves it without Node.
package builderui

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// FS is the built UI: index.html and its hashed assets.
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder
	}
	return sub
}
