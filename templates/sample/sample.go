// Package sample writes a template's sample data: generic Go reading the
// template's recipe (sample.json in its folder), so what a template's data
// looks like is data, not code. See CONTRACT-18.md, part B.
package sample

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
)

// Target is where sample rows go: the records service's import path, the
// database its transactions run on, and the users service for the sample
// users and teams.
type Target struct {
	Records *records.Service
	DB      *store.DB
	Access  *access.Service
}

// Options choose how much data, which data, and around when.
type Options struct {
	Rows     int       // the recipe's main entity count (100..1,000,000); others scale by the recipe's ratios
	Seed     int64     // same seed, same data
	Now      time.Time // dates run over the 12 months before it (from the engine clock)
	Progress func(done, total int)
}

// Result counts what Generate wrote.
type Result struct {
	Rows  map[string]int // entity → rows written
	Users int            // users created (three roles, nested teams)
}

// ErrNoRecipe is returned for a template folder without sample.json.
var ErrNoRecipe = errors.New("sample: the template has no sample.json")

// Generate reads fsys/dir/sample.json and writes the rows into app through
// the bulk path (records.NewImporter in transactions of a few thousand
// rows; path "import"), creating users and teams through Access first.
func Generate(ctx context.Context, t Target, fsys fs.FS, dir, app string, o Options) (*Result, error) {
	if _, err := fs.Stat(fsys, dir+"/sample.json"); err != nil {
		return nil, ErrNoRecipe
	}
	return nil, errors.New("sample: generator not built yet (part B of issue 18)")
}
