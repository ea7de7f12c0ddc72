// Package engine wires Forma's runtime together: storage, the metadata
// catalog, authentication, records and the HTTP API. The CLI and tests open
// an Engine and serve its Handler.
package engine

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	builderui "github.com/formaapp/forma/builder-ui"
	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/scriptlog"
	"github.com/formaapp/forma/engine/store"
)

// Config says where the data lives and how the engine behaves.
type Config struct {
	DataDir string // SQLite folder when DBURL is empty (default ./forma_data)
	DBURL   string // postgres://… for PostgreSQL
	Access  access.Options
	Log     *slog.Logger
}

// Engine is an open Forma runtime.
type Engine struct {
	DB      *store.DB
	Catalog *store.Catalog
	Access  *access.Service
	Records *records.Service
	// ScriptLog is where app scripts' console lines and failures go.
	ScriptLog *scriptlog.Log
	log       *slog.Logger
}

// Open opens (and if needed creates) the database and the services on it.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	db, err := store.Open(ctx, cfg.DBURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	acc, err := access.New(ctx, db, cfg.Access)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	cat := store.NewCatalog(db)
	scripts := scriptlog.New(db, 0)
	recs := records.New(db, cat)
	recs.SetScriptLog(scripts)
	return &Engine{DB: db, Catalog: cat, Access: acc, Records: recs, ScriptLog: scripts, log: cfg.Log}, nil
}

// Handler returns the HTTP application serving the REST API.
func (e *Engine) Handler() *fiber.App {
	s := &api.Server{DB: e.DB, Catalog: e.Catalog, Access: e.Access, Records: e.Records, Log: e.log, ScriptLog: e.ScriptLog, UI: builderui.FS()}
	return s.New()
}

// Close releases the database.
func (e *Engine) Close() error { return e.DB.Close() }
