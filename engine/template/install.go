package template

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/sample"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
)

// The sample rows one install writes (the recipe's main entity; the others
// scale by its ratios): 0 for none, else MinSample to MaxSample — the
// generator's range (sample.MinRows, sample.MaxRows), checked here so a
// count it would refuse is refused before the app is applied.
const (
	MinSample = sample.MinRows
	MaxSample = sample.MaxRows
)

// Target is the engine a template is installed into. The CLI and the API
// fill it from their services; engine.Engine.Check is the check.
type Target struct {
	DB      *store.DB
	Records *records.Service
	Access  *access.Service
	// Catalog, when set, forgets its copy of the app once it changed.
	Catalog *store.Catalog
	// Check runs every check apply runs (engine.Engine.Check).
	Check func(context.Context, *schema.App) schema.Problems
	// AppliedBy is stored with the version: a user id, or "cli".
	AppliedBy string
}

// InstallOptions say how to install a template.
type InstallOptions struct {
	App     string // the app's name; "" is the template's
	Upgrade bool   // go over an installed app (through the migration plan, keeping its data)
	Sample  int    // sample rows to write (0: none; else MinSample..MaxSample)
	Seed    int64  // the sample data's seed: the same seed writes the same data
	// Progress, when set, hears how many sample rows are written.
	Progress func(done, total int)
}

// Installed is what an install did.
type Installed struct {
	App     string         `json:"app"`
	Version int            `json:"version"`
	Plan    *store.Plan    `json:"plan"`
	Sample  map[string]int `json:"sample"` // entity → sample rows written
	Users   int            `json:"users"`  // sample users created
}

// ErrAppExists refuses an install over an app of the same name when no
// upgrade was asked for.
var ErrAppExists = errors.New("an app of this name is installed already")

// ErrRecipe is a template's sample recipe that does not read (too large,
// malformed, unknown keys), found before anything was installed.
var ErrRecipe = errors.New("the template's sample recipe cannot be read")

// ErrOption is an install option out of its range.
var ErrOption = errors.New("invalid install option")

// SampleError is the failure of the sample data of an install whose app
// was applied: the app is there (its version is Version), the rows that
// were written are kept.
type SampleError struct {
	App     string
	Version int
	Err     error
}

func (e *SampleError) Error() string {
	return fmt.Sprintf("app %s version %d is installed, but its sample data failed: %v", e.App, e.Version, e.Err)
}

func (e *SampleError) Unwrap() error { return e.Err }

// Install installs the template called name of fsys into t: it assembles
// the template's document, renames the app when o.App is set, refuses an
// installed app of that name unless o.Upgrade (then the document is
// applied over the current version through the migration plan, keeping the
// data, and destructive steps are refused as apply refuses them), runs
// t.Check, applies, and then writes o.Sample sample rows. Every refusal
// comes before anything changed.
//
// Errors: ErrNotFound (no such template), ErrOption (o out of range),
// sample.ErrNoRecipe (sample rows asked of a template without a recipe),
// ErrRecipe (a recipe that does not read),
// schema.Problems (the document, the app name or a check), ErrAppExists,
// *store.RefusedError (an upgrade that would lose data), store.ErrStale
// (the app changed during an upgrade), *records.Error (a migration that
// failed), *SampleError (the app is installed, its sample data failed).
func Install(ctx context.Context, t Target, fsys fs.FS, name string, o InstallOptions) (*Installed, error) {
	if t.Check == nil {
		// Installing unchecked would let a template the engine refuses at
		// run time in.
		return nil, errors.New("templates: install: Target.Check is required")
	}
	if o.Sample != 0 && (o.Sample < MinSample || o.Sample > MaxSample) {
		return nil, fmt.Errorf("%w: sample must be 0 (none) or between %d and %d, not %d", ErrOption, MinSample, MaxSample, o.Sample)
	}
	dir, err := Find(fsys, name)
	if err != nil {
		return nil, err
	}
	if o.Sample > 0 {
		// Asked first: a template that cannot give the rows (no recipe,
		// or one that does not read) is not installed without them. What
		// the recipe names in the app is checked by the generator.
		b, err := fs.ReadFile(fsys, path.Join(dir, "sample.json"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("templates: %s: %w", name, sample.ErrNoRecipe)
		}
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", name, err)
		}
		if len(b) > sample.MaxRecipeBytes {
			return nil, fmt.Errorf("%w: templates: %s: sample.json is %d bytes, more than %d", ErrRecipe, name, len(b), sample.MaxRecipeBytes)
		}
		if _, err := sample.ParseRecipe(b); err != nil {
			return nil, fmt.Errorf("%w: templates: %s: %v", ErrRecipe, name, err)
		}
	}
	doc, err := Document(fsys, dir)
	if err != nil {
		return nil, err
	}
	if o.App != "" {
		if doc, err = rename(doc, o.App); err != nil {
			return nil, err
		}
	}
	app, problems := schema.Parse(doc)
	if len(problems) > 0 {
		return nil, appProblems(problems, o.App)
	}
	prev, err := t.DB.Document(ctx, app.Name, 0)
	switch {
	case errors.Is(err, store.ErrNotFound):
		prev = nil
	case err != nil:
		return nil, fmt.Errorf("templates: read the installed app %s: %w", app.Name, err)
	case !o.Upgrade:
		return nil, fmt.Errorf("%w: %s (version %d)", ErrAppExists, app.Name, prev.Version)
	default:
		// Names the template leaves out keep what the installed app
		// published them as, as apply derives them.
		if app, problems = schema.ParseWith(doc, schema.DeriveOptions{Previous: prev}); len(problems) > 0 {
			return nil, appProblems(problems, o.App)
		}
	}
	if problems := t.Check(ctx, app); len(problems) > 0 {
		return nil, problems
	}
	// An upgrade goes over the version it was checked against, an install
	// onto no app, or not at all.
	opts := store.ApplyOptions{AppliedBy: t.AppliedBy, New: prev == nil}
	if prev != nil {
		opts.BaseVersion = prev.Version
	}
	plan, _, err := t.Records.Apply(ctx, app, opts)
	if errors.Is(err, store.ErrStale) && prev == nil {
		// Someone installed an app of this name meanwhile: an upgrade
		// too goes over no app it has not checked.
		return nil, fmt.Errorf("%w: %s", ErrAppExists, app.Name)
	}
	if err != nil {
		return nil, err
	}
	if t.Catalog != nil {
		t.Catalog.Forget(app.Name)
	}
	out := &Installed{App: app.Name, Version: plan.ToVersion, Plan: plan, Sample: map[string]int{}}
	if o.Sample == 0 {
		return out, nil
	}
	now := clock.Clock(clock.Real{})
	if t.DB.Clock != nil {
		now = t.DB.Clock
	}
	res, err := sample.Generate(ctx, sample.Target{Records: t.Records, DB: t.DB, Access: t.Access}, fsys, dir, app.Name,
		sample.Options{Rows: o.Sample, Seed: o.Seed, Now: now.Now(), Progress: o.Progress})
	if res != nil {
		for k, v := range res.Rows {
			out.Sample[k] = v
		}
		out.Users = res.Users
	}
	if err != nil {
		return out, &SampleError{App: app.Name, Version: plan.ToVersion, Err: err}
	}
	return out, nil
}

// rename sets the name of the app document doc.
func rename(doc []byte, name string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, fmt.Errorf("templates: the document: %w", err)
	}
	b, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	m["name"] = b
	return json.Marshal(m)
}

// appProblems are a template document's problems; those of the name the
// caller chose are theirs, at /app.
func appProblems(p schema.Problems, renamed string) schema.Problems {
	if renamed == "" {
		return p
	}
	for i := range p {
		if p[i].Path == "/name" {
			p[i].Path = "/app"
		}
	}
	return p
}
