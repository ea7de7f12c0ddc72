package sample

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A recipe (sample.json in a template folder) says what a template's
// sample data looks like; Generate is the same Go for every template.
// Every object is read strictly: an unknown key is an error, so a typo in
// a recipe fails loudly instead of silently making different data.
//
//	{
//	  "main": "lead",                 the entity Options.Rows counts
//	  "calendar": {                   when dated rows happen (12 months before Options.Now)
//	    "weekdays": [Mon … Sun weights], "months": [Jan … Dec weights],
//	    "growth": 0.3,                the last day's volume over the first's, minus 1
//	    "hours": [9, 21], "timeZone": "Asia/Shanghai"   local time of day
//	  },
//	  "lists": {"zh_surname": ["王", …], …},          named value lists
//	  "teams": [{"name": "华东大区", "parent": "销售中心"}, …],  parents first
//	  "users": [{"role": "rep", "team": "华东一组", "count": 3, "manages": false,
//	             "name": "{zh_surname}{zh_given}"}, …],
//	  "entities": [ … in dependency order … ]
//	}
//
// An entity spec makes rows of one entity (an entity may have several):
//
//	{"entity": "opportunity",
//	 "ratio": 0.35 | "count": 12 | "per": "sales_order", "each": [1, 3] |
//	 "cross": [{"entity": "store", "where": {"kind": "store"}}, {"months": true}, {"role": "rep"}],
//	 "dated": true,        rows get calendar dates, ascending; created_at is set to them
//	 "skipRefused": true,  a row the app refuses (a hook's rule) is skipped and counted, not an error
//	 "fields": [field specs, in order: later ones may read earlier ones],
//	 "flow": {"states": […], "weights": […], "youngDays": 14, "young": [states a young row may be in],
//	          "set": {"won": [field specs filled by the move into that state]}}}
//
// "ratio" scales with Options.Rows (at least 1 row); "per" makes "each"
// rows for every row of an earlier spec's entity, written in the same
// transaction right after it; "cross" makes one row per combination of
// the listed dimensions (an earlier entity's rows, the 12 months, the
// sample users of a role).
//
// A field spec fills one field ("owner" included) with one of:
//
//	"value": V                       a constant
//	"list": "name"                   a random item of a list ("seq": true: the row's turn, cycling)
//	"pick": [V…], "weights": [w…]    a weighted choice ("seq": true: cycling)
//	"template": "{zh_surname}{zh_given}" | "templates": […], "weights": […]
//	                                 {list} a random item, {#} the row number, {#6} zero-padded
//	                                 to 6 digits, {=field} a value of this row
//	"int": [min, max], "skew": 2, "scale": 0.001
//	                                 skew > 1 favours low values; scale multiplies
//	                                 the range by max(1, Rows × scale)
//	"decimal": [min, max], "skew": 2 rounded to the field's scale
//	"near": "field", "factor": 0.5, "spread": 0.2
//	                                 field × factor × (1 ± spread)
//	"date": "row" | "month" | "now", "days": [min, max], "past": true
//	                                 the row's date (or its month's first day, or Now)
//	                                 plus a random number of days (and hours); past: a
//	                                 date after Now is drawn again between the row's and Now
//	"age": true                      whole days from the row's date to Now
//	"ageOver": {"retail": 51.75, "*": 103.5}, "key": "account.industry"
//	                                 true when age exceeds the limit of the key's value
//	"ref": "entity", "where": {"field": V}, "skew": 2, "seq": true
//	                                 the id of an earlier row ("seq": the row's turn, cycling)
//	"parent": true                   the id of the row this one is made "per"
//	"cross": 0                       the row's value of cross dimension 0
//	"user": "rep"                    a sample user of that role
//	"copy": "account.owner" | "rep"  a value of a row a ref field of this row
//	                                 (or "parent") points at, or of this row
//	"null": 0.3                      beside any of them: the chance the field stays empty
type Recipe struct {
	Main     string              `json:"main"`
	Calendar Calendar            `json:"calendar"`
	Lists    map[string][]string `json:"lists"`
	Teams    []TeamSpec          `json:"teams"`
	Users    []UserSpec          `json:"users"`
	Entities []EntitySpec        `json:"entities"`
}

// Calendar is when dated rows happen.
type Calendar struct {
	Weekdays []float64 `json:"weekdays"` // Monday first
	Months   []float64 `json:"months"`   // January first
	Growth   float64   `json:"growth"`
	Hours    []int     `json:"hours"` // [from, to) local hours
	TimeZone string    `json:"timeZone"`
}

// TeamSpec is a sample team; Parent names an earlier one.
type TeamSpec struct {
	Name   string `json:"name"`
	Parent string `json:"parent,omitempty"`
}

// UserSpec is Count sample users of Role in Team; Manages makes the first
// of them the team's manager (the "manager" of approvals and reports).
type UserSpec struct {
	Name    string `json:"name,omitempty"` // a template ({list}, {#}) for the display name
	Role    string `json:"role"`
	Team    string `json:"team"`
	Count   int    `json:"count"`
	Manages bool   `json:"manages,omitempty"`
}

// EntitySpec makes rows of one entity.
type EntitySpec struct {
	Entity      string      `json:"entity"`
	Count       int         `json:"count,omitempty"`
	Ratio       float64     `json:"ratio,omitempty"`
	Per         string      `json:"per,omitempty"`
	Each        []int       `json:"each,omitempty"`
	Cross       []CrossSpec `json:"cross,omitempty"`
	Dated       bool        `json:"dated,omitempty"`
	SkipRefused bool        `json:"skipRefused,omitempty"`
	Fields      []FieldSpec `json:"fields"`
	Flow        *FlowSpec   `json:"flow,omitempty"`
}

// CrossSpec is one dimension of a cross: an earlier entity's rows (some
// of them), the 12 months before Now, or the sample users of a role.
type CrossSpec struct {
	Entity string         `json:"entity,omitempty"`
	Where  map[string]any `json:"where,omitempty"`
	Months bool           `json:"months,omitempty"`
	Role   string         `json:"role,omitempty"`
}

// FlowSpec says in which state of the entity's flow rows end, and what
// the move into it fills.
type FlowSpec struct {
	States    []string               `json:"states"`
	Weights   []float64              `json:"weights"`
	YoungDays int                    `json:"youngDays,omitempty"`
	Young     []string               `json:"young,omitempty"`
	Set       map[string][]FieldSpec `json:"set,omitempty"`
}

// FieldSpec fills one field; see Recipe.
type FieldSpec struct {
	Field     string             `json:"field"`
	Value     any                `json:"value,omitempty"`
	List      string             `json:"list,omitempty"`
	Pick      []any              `json:"pick,omitempty"`
	Weights   []float64          `json:"weights,omitempty"`
	Seq       bool               `json:"seq,omitempty"`
	Template  string             `json:"template,omitempty"`
	Templates []string           `json:"templates,omitempty"`
	Int       []int64            `json:"int,omitempty"`
	Decimal   []float64          `json:"decimal,omitempty"`
	Skew      float64            `json:"skew,omitempty"`
	Scale     float64            `json:"scale,omitempty"`
	Near      string             `json:"near,omitempty"`
	Factor    float64            `json:"factor,omitempty"`
	Spread    float64            `json:"spread,omitempty"`
	Date      string             `json:"date,omitempty"`
	Days      []int              `json:"days,omitempty"`
	Past      bool               `json:"past,omitempty"`
	Age       bool               `json:"age,omitempty"`
	AgeOver   map[string]float64 `json:"ageOver,omitempty"`
	Key       string             `json:"key,omitempty"`
	Ref       string             `json:"ref,omitempty"`
	Where     map[string]any     `json:"where,omitempty"`
	Parent    bool               `json:"parent,omitempty"`
	Cross     *int               `json:"cross,omitempty"`
	User      string             `json:"user,omitempty"`
	Copy      string             `json:"copy,omitempty"`
	Null      float64            `json:"null,omitempty"`
}

// kind is which generator a field spec names ("" for none or several).
func (f *FieldSpec) kind() string {
	var ks []string
	add := func(ok bool, k string) {
		if ok {
			ks = append(ks, k)
		}
	}
	add(f.Value != nil, "value")
	add(f.List != "", "list")
	add(f.Pick != nil, "pick")
	add(f.Template != "" || f.Templates != nil, "template")
	add(f.Int != nil, "int")
	add(f.Decimal != nil, "decimal")
	add(f.Near != "", "near")
	add(f.Date != "", "date")
	add(f.Age, "age")
	add(f.AgeOver != nil, "ageOver")
	add(f.Ref != "", "ref")
	add(f.Parent, "parent")
	add(f.Cross != nil, "cross")
	add(f.User != "", "user")
	add(f.Copy != "", "copy")
	if len(ks) != 1 {
		return strings.Join(ks, "+")
	}
	return ks[0]
}

// ParseRecipe reads a recipe strictly (unknown keys, wrong types, trailing
// data are errors) and checks what it can without the app: each field spec
// names exactly one generator, ranges are ordered, weights match their
// choices, names refer to earlier lists, teams and entities.
func ParseRecipe(b []byte) (*Recipe, error) {
	var r Recipe
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("sample: sample.json: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("sample: sample.json: more than one JSON value")
	}
	if err := r.check(); err != nil {
		return nil, fmt.Errorf("sample: sample.json: %w", err)
	}
	return &r, nil
}

func (r *Recipe) check() error {
	if r.Main == "" {
		return fmt.Errorf(`"main" is required`)
	}
	c := r.Calendar
	if len(c.Weekdays) != 7 || len(c.Months) != 12 {
		return fmt.Errorf("calendar: give 7 weekday and 12 month weights")
	}
	for _, w := range append(append([]float64{}, c.Weekdays...), c.Months...) {
		if w < 0 {
			return fmt.Errorf("calendar: a weight is negative")
		}
	}
	if c.Growth <= -1 {
		return fmt.Errorf("calendar: growth must be above -1")
	}
	if len(c.Hours) != 2 || c.Hours[0] < 0 || c.Hours[1] > 24 || c.Hours[0] >= c.Hours[1] {
		return fmt.Errorf("calendar: hours must be [from, to) within 0..24")
	}
	for name, l := range r.Lists {
		if len(l) == 0 {
			return fmt.Errorf("lists: %s is empty", name)
		}
	}
	teams := map[string]bool{}
	for i, t := range r.Teams {
		if t.Name == "" || teams[t.Name] {
			return fmt.Errorf("teams[%d]: a name is required and must be new", i)
		}
		if t.Parent != "" && !teams[t.Parent] {
			return fmt.Errorf("teams[%d]: parent %q is not an earlier team", i, t.Parent)
		}
		teams[t.Name] = true
	}
	roles := map[string]bool{}
	for i, u := range r.Users {
		if u.Role == "" || u.Count < 1 || u.Count > 1000 {
			return fmt.Errorf("users[%d]: a role and a count of 1..1000 are required", i)
		}
		if u.Name != "" {
			if err := r.checkTemplate(u.Name); err != nil {
				return fmt.Errorf("users[%d]: %w", i, err)
			}
		}
		if u.Team != "" && !teams[u.Team] {
			return fmt.Errorf("users[%d]: no team %q", i, u.Team)
		}
		roles[u.Role] = true
	}
	seen := map[string]bool{}
	mainSeen := false
	for i := range r.Entities {
		e := &r.Entities[i]
		where := fmt.Sprintf("entities[%d] (%s)", i, e.Entity)
		if e.Entity == "" {
			return fmt.Errorf("entities[%d]: entity is required", i)
		}
		n := 0
		for _, ok := range []bool{e.Count > 0, e.Ratio > 0, e.Per != "", e.Cross != nil} {
			if ok {
				n++
			}
		}
		isMain := e.Entity == r.Main && !mainSeen
		if isMain {
			mainSeen = true
			if n != 0 {
				return fmt.Errorf("%s: the main entity's count is Options.Rows: give no count, ratio, per or cross", where)
			}
		} else if n != 1 || e.Count < 0 || e.Ratio < 0 {
			return fmt.Errorf("%s: give one of count, ratio, per and cross", where)
		}
		if e.Per != "" {
			if !seen[e.Per] {
				return fmt.Errorf("%s: per %q is not an earlier entity", where, e.Per)
			}
			if len(e.Each) != 2 || e.Each[0] < 0 || e.Each[0] > e.Each[1] || e.Each[1] > 100 {
				return fmt.Errorf("%s: each must be [min, max] within 0..100", where)
			}
			if e.Dated {
				return fmt.Errorf("%s: a row made per another takes its date: dated is not allowed", where)
			}
		} else if e.Each != nil {
			return fmt.Errorf("%s: each needs per", where)
		}
		for j, c := range e.Cross {
			k := 0
			for _, ok := range []bool{c.Entity != "", c.Months, c.Role != ""} {
				if ok {
					k++
				}
			}
			if k != 1 {
				return fmt.Errorf("%s: cross[%d]: give one of entity, months and role", where, j)
			}
			if c.Entity != "" && !seen[c.Entity] {
				return fmt.Errorf("%s: cross[%d]: %q is not an earlier entity", where, j, c.Entity)
			}
			if c.Role != "" && !roles[c.Role] {
				return fmt.Errorf("%s: cross[%d]: no sample users of role %q", where, j, c.Role)
			}
			if c.Where != nil && c.Entity == "" {
				return fmt.Errorf("%s: cross[%d]: where needs entity", where, j)
			}
		}
		if err := r.checkFields(where, e.Fields, e, seen, roles); err != nil {
			return err
		}
		if f := e.Flow; f != nil {
			if len(f.States) == 0 || len(f.States) != len(f.Weights) {
				return fmt.Errorf("%s: flow: give states and as many weights", where)
			}
			if err := positive(f.Weights); err != nil {
				return fmt.Errorf("%s: flow: %w", where, err)
			}
			for _, y := range f.Young {
				if !slices.Contains(f.States, y) {
					return fmt.Errorf("%s: flow: young state %q is not among its states", where, y)
				}
			}
			if f.YoungDays > 0 && len(f.Young) == 0 {
				return fmt.Errorf("%s: flow: youngDays needs young states", where)
			}
			for _, st := range slices.Sorted(maps.Keys(f.Set)) {
				if !slices.Contains(f.States, st) {
					return fmt.Errorf("%s: flow: set names state %q, not among its states", where, st)
				}
				if err := r.checkFields(where+": flow set "+st, f.Set[st], e, seen, roles); err != nil {
					return err
				}
			}
		}
		seen[e.Entity] = true
	}
	if !mainSeen {
		return fmt.Errorf("no entity spec for the main entity %q", r.Main)
	}
	return nil
}

func (r *Recipe) checkFields(where string, fs []FieldSpec, e *EntitySpec, seen, roles map[string]bool) error {
	for j := range fs {
		f := &fs[j]
		at := fmt.Sprintf("%s: fields[%d] (%s)", where, j, f.Field)
		if f.Field == "" {
			return fmt.Errorf("%s: field is required", at)
		}
		k := f.kind()
		switch k {
		case "":
			return fmt.Errorf("%s: no generator (value, list, pick, template, int, decimal, near, date, age, ageOver, ref, parent, cross, user or copy)", at)
		case "list":
			if r.Lists[f.List] == nil {
				return fmt.Errorf("%s: no list %q", at, f.List)
			}
		case "pick":
			if len(f.Pick) == 0 || (f.Weights != nil && len(f.Weights) != len(f.Pick)) {
				return fmt.Errorf("%s: pick needs choices and, if given, as many weights", at)
			}
		case "template":
			ts := f.Templates
			if f.Template != "" {
				if ts != nil {
					return fmt.Errorf("%s: give template or templates", at)
				}
				ts = []string{f.Template}
			}
			if len(ts) == 0 || (f.Weights != nil && len(f.Weights) != len(ts)) {
				return fmt.Errorf("%s: templates need as many weights", at)
			}
			for _, t := range ts {
				if err := r.checkTemplate(t); err != nil {
					return fmt.Errorf("%s: %w", at, err)
				}
			}
		case "int":
			if len(f.Int) != 2 || f.Int[0] > f.Int[1] {
				return fmt.Errorf("%s: int must be [min, max]", at)
			}
		case "decimal":
			if len(f.Decimal) != 2 || f.Decimal[0] > f.Decimal[1] {
				return fmt.Errorf("%s: decimal must be [min, max]", at)
			}
		case "near":
			if f.Factor <= 0 || f.Spread < 0 || f.Spread >= 1 {
				return fmt.Errorf("%s: near needs a factor above 0 and a spread in [0, 1)", at)
			}
		case "date":
			if f.Date != "row" && f.Date != "month" && f.Date != "now" {
				return fmt.Errorf("%s: date is row, month or now", at)
			}
			if f.Days != nil && (len(f.Days) != 2 || f.Days[0] > f.Days[1]) {
				return fmt.Errorf("%s: days must be [min, max]", at)
			}
		case "ageOver":
			if f.Key == "" {
				return fmt.Errorf("%s: ageOver needs a key", at)
			}
		case "ref":
			if !seen[f.Ref] {
				return fmt.Errorf("%s: ref %q is not an earlier entity", at, f.Ref)
			}
		case "parent":
			if e.Per == "" {
				return fmt.Errorf("%s: parent needs per", at)
			}
		case "cross":
			if *f.Cross < 0 || *f.Cross >= len(e.Cross) {
				return fmt.Errorf("%s: cross %d is not a dimension of the cross", at, *f.Cross)
			}
		case "user":
			if !roles[f.User] {
				return fmt.Errorf("%s: no sample users of role %q", at, f.User)
			}
		case "value", "age", "copy":
		default:
			return fmt.Errorf("%s: give one generator, not %s", at, k)
		}
		if f.Weights != nil {
			if err := positive(f.Weights); err != nil {
				return fmt.Errorf("%s: %w", at, err)
			}
		}
		if f.Null < 0 || f.Null >= 1 {
			return fmt.Errorf("%s: null is a chance in [0, 1)", at)
		}
		if f.Skew < 0 {
			return fmt.Errorf("%s: skew must not be negative", at)
		}
	}
	return nil
}

// checkTemplate checks that each {name} of t is a list, {#}/{#N} or {=field}.
func (r *Recipe) checkTemplate(t string) error {
	for rest := t; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("template %q: an unclosed {", t)
		}
		tok := rest[i+1 : i+j]
		switch {
		case strings.HasPrefix(tok, "#"), strings.HasPrefix(tok, "="):
		case r.Lists[tok] == nil:
			return fmt.Errorf("template %q: no list %q", t, tok)
		}
		rest = rest[i+j+1:]
	}
}

func positive(ws []float64) error {
	sum := 0.0
	for _, w := range ws {
		if w < 0 {
			return fmt.Errorf("a weight is negative")
		}
		sum += w
	}
	if sum <= 0 {
		return fmt.Errorf("the weights add up to nothing")
	}
	return nil
}
