package api

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
)

// img-src allows blob: for file fields' thumbnails, which the UI fetches
// with the user's token and shows through object URLs (FileField.tsx).
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// serveUI serves the web UI from ui at every path outside /api: files as
// they are, and index.html for anything else, so the UI's own routes load
// the app. Hashed assets (assets/…) may be cached for good; index.html is
// revalidated on every load, so a new binary's UI is picked up at once.
func serveUI(app *fiber.App, ui fs.FS) {
	app.Use("/", func(c *fiber.Ctx) error {
		if strings.HasPrefix(c.Path(), "/api/") || c.Path() == "/api" {
			return c.Next()
		}
		if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
			return c.Next()
		}
		c.Set("X-Content-Type-Options", "nosniff")
		c.Set("X-Frame-Options", "DENY")
		c.Set("Referrer-Policy", "same-origin")
		// The UI loads only its own files and talks only to this server:
		// injected markup could neither run inline script nor send data away.
		c.Set("Content-Security-Policy", uiCSP)
		_, err := fs.Stat(ui, strings.TrimPrefix(path.Clean(c.Path()), "/"))
		switch {
		case err == nil && strings.HasPrefix(c.Path(), "/assets/"):
			c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
		case strings.HasPrefix(c.Path(), "/assets/"):
			// A missing asset (an old page asking after an upgrade) is a
			// 404, never index.html under an asset's name.
			return c.Status(404).SendString("not found")
		default:
			c.Set(fiber.HeaderCacheControl, "no-cache")
			if err != nil {
				c.Path("/") // the UI routes itself: hand it index.html
			}
		}
		return c.Next()
	}, filesystem.New(filesystem.Config{Root: http.FS(ui), Index: "index.html", NotFoundFile: "index.html"}))
}
