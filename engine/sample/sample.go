// Package sample writes a template's sample data: generic Go reading the
// template's recipe (sample.json in its folder), so what a template's data
// looks like is data, not code. See CONTRACT-18.md, part B, and Recipe for
// the recipe's format.
//
// Rows go through the import path (records.NewImporter, path "import"):
// validation, hooks, formulas, rollups, history and events as any
// import, so every sample row is one the app accepts, and automations
// react to it as to an imported row. A flow's state field cannot be set
// by a create (a record starts in its flow's initial state), so a row
// that the recipe puts in a later state is moved there, in the same
// transaction, by records.MoveTx as a trusted move naming the flow's
// transition into that state: its history says which. The move does not
// run the transition's guard, evidence, approval or actions (the sample's
// evidence is its fields, filled by the recipe; a converted lead's
// customer is an account row of the recipe). created_at, which an import
// stamps with the engine clock, is set to the row's sample date in the
// same transaction, so per-week and per-month charts have a year of
// history; the history entries keep the real time of the import.
//
// Sample users get a random password that is never stored or shown:
// they cannot log in until an admin resets their password (login
// disabled), and nothing secret reaches the repository or the logs.
package sample

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"maps"
	"math"
	mrand "math/rand/v2"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/script"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/schema"
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

// Limits of Options.Rows, and of a recipe's size.
const (
	MinRows        = 100
	MaxRows        = 1_000_000
	MaxRecipeBytes = 1 << 20
)

// batchParents is how many rows of a top-level spec one transaction
// writes, with the rows made per them: a few thousand rows per
// transaction, so a million rows never sit in one.
const batchParents = 1000

// maxCross bounds the rows of a cross (a recipe crossing two big entities
// would otherwise hold their product in memory).
const maxCross = 2 * MaxRows

// ErrNoRecipe is returned for a template folder without sample.json.
var ErrNoRecipe = errors.New("sample: the template has no sample.json")

// Generate reads fsys/dir/sample.json and writes the rows into app through
// the bulk path (records.NewImporter in transactions of a few thousand
// rows; path "import"), creating users and teams through Access first.
//
// Everything that can be checked before writing is (the recipe, its
// entities, fields, generators against the field types, flows, Rows):
// a bad recipe or option writes nothing. A row the app refuses later (a
// hook's rule) stops the run with the row named, leaving the batches
// committed before it, unless the recipe's spec says skipRefused.
func Generate(ctx context.Context, t Target, fsys fs.FS, dir, app string, o Options) (*Result, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, "sample.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoRecipe
	}
	if err != nil {
		return nil, fmt.Errorf("sample: %w", err)
	}
	if len(b) > MaxRecipeBytes {
		// A template folder may come from an upload (an exported app).
		return nil, fmt.Errorf("sample: sample.json is %d bytes, more than %d", len(b), MaxRecipeBytes)
	}
	if o.Rows < MinRows || o.Rows > MaxRows {
		return nil, fmt.Errorf("sample: rows must be %d..%d, not %d", MinRows, MaxRows, o.Rows)
	}
	r, err := ParseRecipe(b)
	if err != nil {
		return nil, err
	}
	if o.Now.IsZero() {
		o.Now = t.DB.Now()
	}
	g := &gen{t: t, r: r, app: app, o: o, caller: records.Caller{Admin: true},
		kept: map[string][]*kept{}, users: map[string][]string{}, whereCache: map[string][]*kept{},
		res: &Result{Rows: map[string]int{}}}
	if err := g.prepare(ctx); err != nil {
		return nil, err
	}
	if err := g.makeUsers(ctx); err != nil {
		return nil, err
	}
	for i := range g.specs {
		sp := g.specs[i]
		if sp.owner != nil {
			continue // written with its parent's batches
		}
		if err := g.run(ctx, sp); err != nil {
			return nil, err
		}
	}
	if o.Progress != nil {
		// The total was planned with the mean count of rows made per
		// another; the last call says what it came to.
		o.Progress(g.done, g.done)
	}
	return g.res, nil
}

// spec is an entity spec prepared against the app.
type spec struct {
	*EntitySpec
	idx      int
	entity   *schema.Entity
	flow     *schema.Flow
	trans    map[string]string // state → "flow/transition"
	owner    *spec             // the spec this one is made per (nil: top level)
	children []*spec
	rng      *mrand.Rand
	n        int // rows made so far (the {#} of templates)
	fields   map[string]*schema.Field
}

// kept is a written row later rows may point at: its id and the values
// the recipe reads of it (copy, where, key).
type kept struct {
	id   string
	vals map[string]any
}

// row is a row being made.
type row struct {
	n      int
	date   time.Time
	vals   map[string]any
	state  string         // the flow state it ends in ("" or the initial: none)
	set    map[string]any // what the move into state fills
	parent *row
	cross  []any
	refs   map[string]*kept
	id     string
}

type gen struct {
	t          Target
	r          *Recipe
	app        string
	o          Options
	doc        *schema.App
	caller     records.Caller
	specs      []*spec
	keep       map[string]map[string]bool // entity → values kept (presence: rows kept)
	kept       map[string][]*kept
	whereCache map[string][]*kept
	users      map[string][]string // role → user ids, in recipe order
	months     []string            // the 12 months before Now, first days, oldest first
	loc        *time.Location
	res        *Result
	done       int
	total      int
}

// prepare checks the recipe against the app document and plans counts.
func (g *gen) prepare(ctx context.Context) error {
	r := g.r
	doc, _, err := g.t.Records.ReadableFields(ctx, g.caller, g.app, r.Main)
	if err != nil {
		return fmt.Errorf("sample: app %s, main entity %s: %w", g.app, r.Main, err)
	}
	g.doc = doc
	g.loc = time.UTC
	if tz := r.Calendar.TimeZone; tz != "" {
		if g.loc, err = time.LoadLocation(tz); err != nil {
			return fmt.Errorf("sample: calendar: time zone %q: %w", tz, err)
		}
	}
	now := g.o.Now.In(g.loc)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, g.loc)
	for i := 11; i >= 0; i-- {
		g.months = append(g.months, first.AddDate(0, -i, 0).Format(time.DateOnly))
	}
	g.keep = map[string]map[string]bool{}
	need := func(entity, field string) {
		if g.keep[entity] == nil {
			g.keep[entity] = map[string]bool{}
		}
		if field != "" {
			g.keep[entity][field] = true
		}
	}
	last := map[string]*spec{}
	for i := range r.Entities {
		es := &r.Entities[i]
		e := doc.Entity(es.Entity)
		where := fmt.Sprintf("sample: sample.json: entities[%d]", i)
		if e == nil {
			return fmt.Errorf("%s: app %s has no entity %q", where, g.app, es.Entity)
		}
		sp := &spec{EntitySpec: es, idx: i, entity: e, fields: map[string]*schema.Field{}, rng: rngFor(g.o.Seed, fmt.Sprintf("%d/%s", i, es.Entity))}
		for j := range e.Fields {
			sp.fields[e.Fields[j].Name] = &e.Fields[j]
		}
		sp.fields["owner"] = &schema.Field{Name: "owner", Type: schema.User}
		if es.Per != "" {
			sp.owner = last[es.Per]
			sp.owner.children = append(sp.owner.children, sp)
		}
		for _, c := range es.Cross {
			if c.Entity != "" {
				need(c.Entity, "")
				for _, k := range slices.Sorted(maps.Keys(c.Where)) {
					need(c.Entity, k)
				}
			}
		}
		if err := g.checkFields(where, sp, es.Fields, need); err != nil {
			return err
		}
		if fl := es.Flow; fl != nil {
			f := doc.FlowOf(es.Entity)
			if f == nil {
				return fmt.Errorf("%s: flow: no flow governs %s", where, es.Entity)
			}
			sp.flow, sp.trans = f, map[string]string{}
			for _, st := range fl.States {
				if !slices.ContainsFunc(f.States, func(s schema.State) bool { return s.Name == st }) {
					return fmt.Errorf("%s: flow: %q is not a state of flow %s", where, st, f.Name)
				}
				if st == f.InitialState() {
					continue
				}
				for _, tr := range f.Transitions {
					if tr.To == st {
						sp.trans[st] = f.Name + "/" + tr.Name
						break
					}
				}
				if sp.trans[st] == "" {
					return fmt.Errorf("%s: flow: no transition of flow %s leads to %q", where, f.Name, st)
				}
			}
			for _, st := range slices.Sorted(maps.Keys(fl.Set)) {
				if err := g.checkFields(where+": flow set "+st, sp, fl.Set[st], need); err != nil {
					return err
				}
			}
			for _, fs := range es.Fields {
				if fs.Field == f.Field {
					return fmt.Errorf("%s: %s is flow %s's state field: give it under flow, not fields", where, f.Field, f.Name)
				}
			}
		}
		last[es.Entity] = sp
		g.specs = append(g.specs, sp)
	}
	// Planned rows, for Progress (children by their mean).
	count := map[*spec]float64{}
	for _, sp := range g.specs {
		var n float64
		switch {
		case sp.owner != nil:
			n = count[sp.owner] * float64(sp.Each[0]+sp.Each[1]) / 2
		default:
			n = float64(g.topCount(sp))
		}
		if sp.Cross != nil && n > maxCross {
			return fmt.Errorf("sample: sample.json: entities[%d] (%s): the cross makes up to %.0f rows, more than %d", sp.idx, sp.Entity, n, maxCross)
		}
		count[sp] = n
		g.total += int(n)
	}
	return nil
}

// topCount is how many rows a top-level, non-cross spec makes.
func (g *gen) topCount(sp *spec) int {
	switch {
	case sp.Count > 0:
		return sp.Count
	case sp.Ratio > 0:
		return max(1, int(math.Round(float64(g.o.Rows)*sp.Ratio)))
	case sp.Cross != nil:
		n := 1
		for _, c := range sp.Cross {
			switch {
			case c.Months:
				n *= 12
			case c.Role != "":
				n *= g.roleCount(c.Role)
			default:
				n *= max(1, g.estimate(c.Entity))
			}
		}
		return n
	}
	return g.o.Rows
}

func (g *gen) roleCount(role string) int {
	n := 0
	for _, u := range g.r.Users {
		if u.Role == role {
			n += u.Count
		}
	}
	return n
}

// estimate is the planned rows of entity (for a cross's progress total).
func (g *gen) estimate(entity string) int {
	n := 0
	for _, sp := range g.specs {
		if sp.Entity == entity && sp.owner == nil && sp.Cross == nil {
			n += g.topCount(sp)
		}
	}
	return n
}

// checkFields checks field specs against the entity's fields: the field
// exists and may be written, and the generator fits its type.
func (g *gen) checkFields(where string, sp *spec, fs []FieldSpec, need func(entity, field string)) error {
	refOf := map[string]string{"parent": sp.Per}
	for j := range fs {
		f := &fs[j]
		at := fmt.Sprintf("%s: fields[%d]", where, j)
		fd := sp.fields[f.Field]
		if fd == nil {
			return fmt.Errorf("%s: %s has no field %q", at, sp.Entity, f.Field)
		}
		switch fd.Type {
		case schema.Formula, schema.Rollup, schema.AutoNumber:
			return fmt.Errorf("%s: %s.%s is a %s field: the app computes it", at, sp.Entity, f.Field, fd.Type)
		}
		bad := func() error {
			return fmt.Errorf("%s: %s cannot fill %s.%s, a %s field", at, f.kind(), sp.Entity, f.Field, fd.Type)
		}
		switch f.kind() {
		case "ref":
			if fd.Type != schema.Ref || fd.Entity != f.Ref {
				return bad()
			}
			need(f.Ref, "")
			for _, k := range slices.Sorted(maps.Keys(f.Where)) {
				need(f.Ref, k)
			}
			refOf[f.Field] = f.Ref
		case "parent":
			if fd.Type != schema.Ref || fd.Entity != sp.Per {
				return bad()
			}
		case "user":
			if fd.Type != schema.User {
				return bad()
			}
		case "int", "age":
			if fd.Type != schema.Integer && fd.Type != schema.Decimal {
				return bad()
			}
		case "decimal", "near":
			if fd.Type != schema.Decimal && fd.Type != schema.Integer {
				return bad()
			}
		case "date":
			if fd.Type != schema.Date && fd.Type != schema.DateTime {
				return bad()
			}
		case "ageOver":
			if fd.Type != schema.Boolean {
				return bad()
			}
		}
		for _, p := range []string{f.Copy, f.Key} {
			if p == "" {
				continue
			}
			ref, field, ok := strings.Cut(p, ".")
			if !ok {
				continue // a value of this row
			}
			ent, isRef := refOf[ref]
			if !isRef || ent == "" {
				return fmt.Errorf("%s: %q: %q is not parent or an earlier ref field of this spec", at, p, ref)
			}
			if ref != "parent" {
				need(ent, field)
			}
		}
	}
	return nil
}

func rngFor(seed int64, name string) *mrand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return mrand.New(mrand.NewPCG(uint64(seed), h.Sum64()))
}

// makeUsers creates the recipe's teams and users (or finds them from an
// earlier run: their names and emails are the same).
func (g *gen) makeUsers(ctx context.Context) error {
	acc := g.t.Access
	teams := map[string]string{}
	for _, ts := range g.r.Teams {
		name := g.app + " · " + ts.Name
		t, err := acc.TeamByName(ctx, name)
		if errors.Is(err, access.ErrNotFound) {
			t, err = acc.CreateTeam(ctx, name, teams[ts.Parent])
		}
		if err != nil {
			return fmt.Errorf("sample: team %s: %w", name, err)
		}
		teams[ts.Name] = t.ID
	}
	rng := rngFor(g.o.Seed, "users")
	k := map[string]int{}
	for _, us := range g.r.Users {
		for i := 0; i < us.Count; i++ {
			k[us.Role]++
			email := fmt.Sprintf("%s.%s%02d@example.com", g.app, us.Role, k[us.Role])
			name := fmt.Sprintf("%s %d", us.Role, k[us.Role])
			if us.Name != "" {
				name = g.render(rng, us.Name, k[us.Role], nil)
			}
			u, err := acc.CreateUserWith(ctx, access.NewUser{Email: email, Password: secret(), Name: name, Roles: []string{us.Role}, TeamID: teams[us.Team]})
			switch {
			case errors.Is(err, access.ErrExists):
				if u, err = acc.UserByEmail(ctx, email); err != nil {
					return fmt.Errorf("sample: user %s: %w", email, err)
				}
			case err != nil:
				return fmt.Errorf("sample: user %s: %w", email, err)
			default:
				g.res.Users++
			}
			g.users[us.Role] = append(g.users[us.Role], u.ID)
			if i == 0 && us.Manages && us.Team != "" {
				id := u.ID
				if _, err := acc.UpdateTeam(ctx, teams[us.Team], access.TeamUpdate{ManagerID: &id}); err != nil {
					return fmt.Errorf("sample: team %s's manager: %w", us.Team, err)
				}
			}
		}
	}
	return nil
}

// secret is a password nobody is told: sample users log in only after an
// admin resets theirs.
func secret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// run writes a top-level spec's rows in batches, each batch with the rows
// made per them, one transaction a batch.
func (g *gen) run(ctx context.Context, sp *spec) error {
	var dates []time.Time
	var crosses [][]any
	n := g.topCount(sp)
	if sp.Cross != nil {
		var err error
		if crosses, err = g.crossRows(sp); err != nil {
			return err
		}
		n = len(crosses)
	}
	if sp.Dated {
		dates = g.dates(sp.rng, n)
	}
	for start := 0; start < n; start += batchParents {
		end := min(n, start+batchParents)
		rows := make([]*row, 0, end-start)
		for i := start; i < end; i++ {
			r := &row{date: g.o.Now}
			switch {
			case dates != nil:
				r.date = dates[i]
			case crosses != nil:
				r.cross = crosses[i]
			}
			if err := g.make(sp, r); err != nil {
				return err
			}
			rows = append(rows, r)
		}
		if err := g.batch(ctx, sp, rows); err != nil {
			return err
		}
	}
	return nil
}

// crossRows lists the combinations of a cross's dimensions.
func (g *gen) crossRows(sp *spec) ([][]any, error) {
	out := [][]any{{}}
	for j, c := range sp.Cross {
		var vals []any
		switch {
		case c.Months:
			for _, m := range g.months {
				vals = append(vals, m)
			}
		case c.Role != "":
			for _, id := range g.users[c.Role] {
				vals = append(vals, id)
			}
		default:
			for _, k := range g.candidates(c.Entity, c.Where) {
				vals = append(vals, k.id)
			}
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("sample: %s: cross[%d] has no values", sp.Entity, j)
		}
		if len(out)*len(vals) > maxCross {
			return nil, fmt.Errorf("sample: %s: the cross makes more than %d rows", sp.Entity, maxCross)
		}
		var next [][]any
		for _, o := range out {
			for _, v := range vals {
				next = append(next, append(slices.Clone(o), v))
			}
		}
		out = next
	}
	return out, nil
}

// dates draws n datetimes over the 365 days up to Now, weighted by the
// calendar (weekday × month × growth), at local hours, ascending.
func (g *gen) dates(rng *mrand.Rand, n int) []time.Time {
	c := g.r.Calendar
	now := g.o.Now.In(g.loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, g.loc)
	const days = 365
	cum := make([]float64, days)
	sum := 0.0
	for i := 0; i < days; i++ {
		d := today.AddDate(0, 0, i-days+1)
		wd := (int(d.Weekday()) + 6) % 7 // Monday first
		w := c.Weekdays[wd] * c.Months[int(d.Month())-1] * (1 + c.Growth*float64(i)/float64(days-1))
		sum += w
		cum[i] = sum
	}
	span := time.Duration(c.Hours[1]-c.Hours[0]) * time.Hour
	out := make([]time.Time, n)
	for i := range out {
		u := rng.Float64() * sum
		day := min(sort.SearchFloat64s(cum, u), days-1)
		d := today.AddDate(0, 0, day-days+1)
		t := d.Add(time.Duration(c.Hours[0])*time.Hour + time.Duration(rng.Int64N(int64(span/time.Second)))*time.Second)
		if t.After(g.o.Now) {
			t = g.o.Now.Add(-time.Duration(rng.IntN(3600)+1) * time.Second)
		}
		out[i] = t.UTC()
	}
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// make fills r's values (and its flow state) by sp's field specs.
func (g *gen) make(sp *spec, r *row) error {
	sp.n++
	r.n = sp.n
	r.vals = map[string]any{}
	r.refs = map[string]*kept{}
	for i := range sp.Fields {
		v, err := g.value(sp, &sp.Fields[i], r)
		if err != nil {
			return err
		}
		if v != nil {
			r.vals[sp.Fields[i].Field] = v
		}
	}
	if fl := sp.Flow; fl != nil {
		states, weights := fl.States, fl.Weights
		if fl.YoungDays > 0 && g.o.Now.Sub(r.date) < time.Duration(fl.YoungDays)*24*time.Hour {
			states, weights = nil, nil
			for i, st := range fl.States {
				if slices.Contains(fl.Young, st) {
					states, weights = append(states, st), append(weights, fl.Weights[i])
				}
			}
		}
		r.state = states[weighted(sp.rng, weights)]
		if r.state != sp.flow.InitialState() {
			r.set = map[string]any{sp.flow.Field: r.state}
			for i, fs := range fl.Set[r.state] {
				v, err := g.value(sp, &fl.Set[r.state][i], r)
				if err != nil {
					return err
				}
				if v != nil {
					r.set[fs.Field] = v
				}
			}
		}
	}
	return nil
}

// weighted picks an index of ws with chances in proportion to the weights.
func weighted(rng *mrand.Rand, ws []float64) int {
	sum := 0.0
	for _, w := range ws {
		sum += w
	}
	u := rng.Float64() * sum
	for i, w := range ws {
		if u < w {
			return i
		}
		u -= w
	}
	return len(ws) - 1
}

// skewed is a number in [0, 1) that favours low values for skew > 1.
func skewed(rng *mrand.Rand, skew float64) float64 {
	u := rng.Float64()
	if skew > 0 && skew != 1 {
		u = math.Pow(u, skew)
	}
	return u
}

// value makes one field's value (nil: left empty).
func (g *gen) value(sp *spec, f *FieldSpec, r *row) (any, error) {
	rng := sp.rng
	fd := sp.fields[f.Field]
	if f.Null > 0 && rng.Float64() < f.Null {
		return nil, nil
	}
	switch f.kind() {
	case "value":
		return f.Value, nil
	case "list":
		l := g.r.Lists[f.List]
		if f.Seq {
			return l[(r.n-1)%len(l)], nil
		}
		return l[rng.IntN(len(l))], nil
	case "pick":
		if f.Seq {
			return f.Pick[(r.n-1)%len(f.Pick)], nil
		}
		if f.Weights == nil {
			return f.Pick[rng.IntN(len(f.Pick))], nil
		}
		return f.Pick[weighted(rng, f.Weights)], nil
	case "template":
		t := f.Template
		if t == "" {
			if f.Weights == nil {
				t = f.Templates[rng.IntN(len(f.Templates))]
			} else {
				t = f.Templates[weighted(rng, f.Weights)]
			}
		}
		return g.render(rng, t, r.n, r.vals), nil
	case "int":
		lo, hi := float64(f.Int[0]), float64(f.Int[1])
		if f.Scale > 0 {
			k := max(1, float64(g.o.Rows)*f.Scale)
			lo, hi = lo*k, hi*k
		}
		v := int64(lo) + int64(skewed(rng, f.Skew)*(math.Floor(hi)-math.Floor(lo)+1))
		return number(fd, float64(min(v, int64(hi)))), nil
	case "decimal":
		lo, hi := f.Decimal[0], f.Decimal[1]
		return number(fd, lo+skewed(rng, f.Skew)*(hi-lo)), nil
	case "near":
		base, ok := toFloat(r.vals[f.Near])
		if !ok {
			return nil, nil
		}
		return number(fd, base*f.Factor*(1+f.Spread*(2*rng.Float64()-1))), nil
	case "date":
		var d time.Time
		switch f.Date {
		case "row":
			d = r.date
		case "month":
			l := r.date.In(g.loc)
			d = time.Date(l.Year(), l.Month(), 1, 12, 0, 0, 0, g.loc)
		case "now":
			d = g.o.Now
		}
		if f.Days != nil {
			d = d.Add(time.Duration(f.Days[0]+rng.IntN(f.Days[1]-f.Days[0]+1)) * 24 * time.Hour)
			if f.Date != "month" {
				d = d.Add(time.Duration(rng.IntN(8*3600)) * time.Second) // hours later the same day or the next
			}
		}
		if f.Past && d.After(g.o.Now) {
			// Somewhere between the row's date and Now, not all on Now:
			// a pile on today would be a spike in every chart.
			d = r.date.Add(time.Duration(rng.Float64() * float64(g.o.Now.Sub(r.date))))
		}
		if fd.Type == schema.Date {
			return d.In(g.loc).Format(time.DateOnly), nil
		}
		return d.UTC().Format(time.RFC3339), nil
	case "age":
		return number(fd, math.Floor(g.o.Now.Sub(r.date).Hours()/24)), nil
	case "ageOver":
		key := fmt.Sprint(g.lookup(f.Key, r))
		limit, ok := f.AgeOver[key]
		if !ok {
			limit, ok = f.AgeOver["*"]
		}
		if !ok {
			return false, nil
		}
		return g.o.Now.Sub(r.date).Hours()/24 > limit, nil
	case "ref":
		cs := g.candidates(f.Ref, f.Where)
		if len(cs) == 0 {
			return nil, fmt.Errorf("sample: %s.%s: no %s rows to point at", sp.Entity, f.Field, f.Ref)
		}
		var k *kept
		if f.Seq {
			k = cs[(r.n-1)%len(cs)]
		} else {
			k = cs[min(len(cs)-1, int(skewed(rng, f.Skew)*float64(len(cs))))]
		}
		r.refs[f.Field] = k
		return k.id, nil
	case "parent":
		return r.parent.id, nil
	case "cross":
		return r.cross[*f.Cross], nil
	case "user":
		us := g.users[f.User]
		return us[rng.IntN(len(us))], nil
	case "copy":
		return g.lookup(f.Copy, r), nil
	}
	return nil, fmt.Errorf("sample: %s.%s: no generator", sp.Entity, f.Field)
}

// lookup reads "ref.field" (a row a ref field points at, or the parent)
// or "field" (this row).
func (g *gen) lookup(p string, r *row) any {
	ref, field, ok := strings.Cut(p, ".")
	if !ok {
		return r.vals[p]
	}
	if ref == "parent" {
		if field == "id" {
			return r.parent.id
		}
		return r.parent.vals[field]
	}
	if k := r.refs[ref]; k != nil {
		return k.vals[field]
	}
	return nil
}

// candidates are the kept rows of entity whose values equal where's.
func (g *gen) candidates(entity string, where map[string]any) []*kept {
	all := g.kept[entity]
	if len(where) == 0 {
		return all
	}
	b, _ := json.Marshal(where) // sorted keys: a stable cache key
	key := entity + string(b) + strconv.Itoa(len(all))
	if cs, ok := g.whereCache[key]; ok {
		return cs
	}
	var cs []*kept
	for _, k := range all {
		ok := true
		for f, v := range where {
			if fmt.Sprint(k.vals[f]) != fmt.Sprint(v) {
				ok = false
			}
		}
		if ok {
			cs = append(cs, k)
		}
	}
	g.whereCache[key] = cs
	return cs
}

// render fills a template: {list} a random item, {#} the row number,
// {#N} zero-padded to N digits, {=field} a value of the row.
func (g *gen) render(rng *mrand.Rand, t string, n int, vals map[string]any) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(t, '{')
		if i < 0 {
			b.WriteString(t)
			return b.String()
		}
		j := strings.IndexByte(t[i:], '}')
		b.WriteString(t[:i])
		tok := t[i+1 : i+j]
		switch {
		case strings.HasPrefix(tok, "#"):
			w, _ := strconv.Atoi(tok[1:])
			fmt.Fprintf(&b, "%0*d", w, n)
		case strings.HasPrefix(tok, "="):
			if v, ok := vals[tok[1:]]; ok {
				fmt.Fprint(&b, v)
			}
		default:
			l := g.r.Lists[tok]
			b.WriteString(l[rng.IntN(len(l))])
		}
		t = t[i+j+1:]
	}
}

// number is v as the field takes it: an integer, or a decimal rounded to
// the field's scale (as JSON the import reads exactly).
func number(fd *schema.Field, v float64) any {
	if fd.Type == schema.Integer {
		return int64(math.Round(v))
	}
	return json.Number(strconv.FormatFloat(v, 'f', fd.DecimalScale(), 64))
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case float64:
		return x, true
	}
	return 0, false
}

// attempts is how many times a batch is tried. A batch's rows are made
// before its transaction, so trying it again writes the same rows; what
// fails once and not twice is the machine's (a hook stopped at its time
// limit on a starved CPU, a migration or a deadlock overtaking the
// transaction). A row the app refuses is refused each time: not tried again.
const attempts = 3

// rowAttempts is how many times a row a hook's time limit stopped is
// written inside its batch before the batch is tried again.
const rowAttempts = 5

// refused is a row the app refused: the recipe's fault, final.
type refused struct{ error }

// batch writes rows of sp in one transaction, then the rows made per
// them.
func (g *gen) batch(ctx context.Context, sp *spec, rows []*row) error {
	var written []*row
	var err error
	for try := 1; try <= attempts; try++ {
		if written, err = g.tx(ctx, sp, rows); err == nil || ctx.Err() != nil || errors.As(err, new(refused)) {
			break
		}
	}
	if err != nil {
		return err
	}
	g.res.Rows[sp.Entity] += len(written)
	if g.keep[sp.Entity] != nil {
		for _, r := range written {
			k := &kept{id: r.id, vals: map[string]any{}}
			for f := range g.keep[sp.Entity] {
				if v, ok := r.vals[f]; ok {
					k.vals[f] = v
				} else if v, ok := r.set[f]; ok {
					k.vals[f] = v
				}
			}
			g.kept[sp.Entity] = append(g.kept[sp.Entity], k)
		}
	}
	g.done += len(rows)
	if g.o.Progress != nil {
		g.o.Progress(g.done, max(g.total, g.done))
	}
	// The rows made per these are written once these are committed: a
	// hook reading its parent (db.get) reads committed rows.
	for _, ch := range sp.children {
		var kids []*row
		for _, p := range written {
			n := ch.Each[0] + ch.rng.IntN(ch.Each[1]-ch.Each[0]+1)
			for range n {
				r := &row{date: p.date, parent: p}
				if err := g.make(ch, r); err != nil {
					return err
				}
				kids = append(kids, r)
			}
		}
		for start := 0; start < len(kids); start += batchParents {
			if err := g.batch(ctx, ch, kids[start:min(len(kids), start+batchParents)]); err != nil {
				return err
			}
		}
	}
	return nil
}

// tx writes rows of sp in one transaction and returns those written.
func (g *gen) tx(ctx context.Context, sp *spec, rows []*row) ([]*row, error) {
	tx, err := g.t.DB.BeginConn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sample: begin: %w", err)
	}
	defer tx.Rollback()
	im, err := g.t.Records.NewImporter(ctx, tx, g.caller, g.app, sp.Entity, records.ImportOptions{})
	if err != nil {
		return nil, fmt.Errorf("sample: %s: %w", sp.Entity, err)
	}
	written, err := g.write(ctx, tx, im, sp, rows)
	if err != nil {
		return nil, err
	}
	if err := im.Finish(ctx); err != nil {
		return nil, fmt.Errorf("sample: %s: %w", sp.Entity, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sample: %s: commit: %w", sp.Entity, err)
	}
	return written, nil
}

// write writes rows through im in tx: the import, the sample dates, the
// moves into flow states; it returns the rows written.
func (g *gen) write(ctx context.Context, tx store.Conn, im *records.Importer, sp *spec, rows []*row) ([]*row, error) {
	in := make([]records.ImportRow, len(rows))
	for i, r := range rows {
		in[i] = records.ImportRow{Row: r.n, Values: r.vals}
	}
	outs, err := im.Write(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("sample: %s: %w", sp.Entity, err)
	}
	// A row whose hook the time limit stopped is written again on its own
	// (the importer rolled it back to its savepoint), after a pause: on a
	// starved CPU one row in a thousand-row batch is stopped now and then,
	// and trying the whole batch again meets the same odds.
	for try := 1; try < rowAttempts; try++ {
		var again []int
		for i, o := range outs {
			if o.Err != nil && stopped(o.Err) {
				again = append(again, i)
			}
		}
		if len(again) == 0 {
			break
		}
		select {
		case <-time.After(time.Duration(try) * 100 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		retry := make([]records.ImportRow, len(again))
		for j, i := range again {
			retry[j] = in[i]
		}
		routs, err := im.Write(ctx, retry)
		if err != nil {
			return nil, fmt.Errorf("sample: %s: %w", sp.Entity, err)
		}
		for j, i := range again {
			outs[i] = routs[j]
		}
	}
	written := rows[:0:0]
	for i, o := range outs {
		if o.Err != nil && stopped(o.Err) {
			// Not the row's fault: the batch is tried again (see attempts).
			return nil, fmt.Errorf("sample: %s row %d: %s", sp.Entity, rows[i].n, describe(o.Err))
		}
		if o.Err != nil {
			if sp.SkipRefused {
				continue
			}
			return nil, refused{fmt.Errorf("sample: %s row %d refused: %s", sp.Entity, rows[i].n, describe(o.Err))}
		}
		rows[i].id = o.ID
		written = append(written, rows[i])
	}
	table := store.Quote(schema.TableName(g.app, sp.Entity))
	for _, r := range written {
		if sp.Dated || r.parent != nil && !r.parent.date.Equal(g.o.Now) {
			var at any = r.date.UTC()
			if g.t.DB.Dialect.Name() == "sqlite" {
				at = r.date.UTC().Format("2006-01-02T15:04:05.000000Z") // how records writes datetimes there
			}
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET "created_at" = ?, "updated_at" = ? WHERE "id" = ?`, at, at, r.id); err != nil {
				return nil, fmt.Errorf("sample: %s: date a row: %w", sp.Entity, err)
			}
		}
		if r.set != nil {
			_, err := g.t.Records.MoveTx(ctx, tx, g.caller, g.app, sp.Entity, r.id, records.Move{
				Transition: sp.trans[r.state], Comment: "sample data", Values: r.set, Trusted: true, Path: records.PathImport})
			if err != nil {
				return nil, fmt.Errorf("sample: %s row %d: move to %s: %w", sp.Entity, r.n, r.state, err)
			}
		}
	}
	return written, nil
}

// stopped says whether a row failed because its hook was stopped at a
// time or memory limit: on a starved machine, not the row's fault.
func stopped(e *records.Error) bool {
	return e.Script != nil && (e.Script.Kind == script.KindTimeout || e.Script.Kind == script.KindMemory)
}

// describe is a refused row's reason with its problems.
func describe(e *records.Error) string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, p := range e.Details {
		fmt.Fprintf(&b, "; %s: %s", p.Path, p.Message)
	}
	return b.String()
}
