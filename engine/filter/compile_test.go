package filter

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/formaapp/forma/schema"
)

// fields is the fake entity of the compile tests. "secret" exists but the
// caller may not see it.
var fields = map[string]schema.FieldType{
	"title":      schema.Text,
	"body":       schema.LongText,
	"email":      schema.Email,
	"amount":     schema.Decimal,
	"qty":        schema.Integer,
	"done":       schema.Boolean,
	"stage":      schema.Select,
	"tags":       schema.MultiSelect,
	"meta":       schema.JSON,
	"doc":        schema.File,
	"closed_at":  schema.DateTime,
	"day":        schema.Date,
	"account":    schema.Ref,
	"owner":      schema.User,
	"id":         schema.Text,
	"version":    schema.Integer,
	"created_at": schema.DateTime,
	"secret":     schema.Text,
}

type fakeResolver struct{ hidden map[string]bool }

func (r fakeResolver) Column(name string) (Column, bool) {
	t, ok := fields[name]
	if !ok || r.hidden[name] {
		return Column{}, false
	}
	return Column{SQL: `"` + name + `"`, Type: t}, true
}

var resolver = fakeResolver{hidden: map[string]bool{"secret": true}}

var stages = []string{"lead", "qualified", "won", "lost"}
var tagOptions = []string{"a", "b", "c", "vip"}

// encode is a strict fake encoder, as the records layer might write one.
func encode(c Column, v any) (any, error) {
	switch c.Type {
	case schema.Integer:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s needs a whole number", c.SQL)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not a whole number", n)
		}
		return i, nil
	case schema.Decimal:
		n, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s needs a number", c.SQL)
		}
		return string(n), nil // exact text; the database parses it
	case schema.Boolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("%s needs true or false", c.SQL)
		}
		return b, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%s needs a string", c.SQL)
	}
	switch c.Type {
	case schema.Select:
		if !slices.Contains(stages, s) {
			return nil, fmt.Errorf("%q is not an option", s)
		}
	case schema.MultiSelect:
		if !slices.Contains(tagOptions, s) {
			return nil, fmt.Errorf("%q is not an option", s)
		}
	}
	return s, nil
}

func TestCompile(t *testing.T) {
	tests := []struct {
		src        string
		sqlite, pg string // pg "" means same as sqlite
		args       []any
	}{
		{`title = "x"`, `"title" = ?`, "", []any{"x"}},
		{`title != "x"`, `("title" IS NULL OR "title" <> ?)`, "", []any{"x"}},
		{`amount > 10.50`, `"amount" > ?`, "", []any{"10.50"}},
		{`amount >= -1`, `"amount" >= ?`, "", []any{"-1"}},
		{`qty < 3`, `"qty" < ?`, "", []any{int64(3)}},
		{`qty <= 3`, `"qty" <= ?`, "", []any{int64(3)}},
		{`stage >= "lead"`, `"stage" >= ?`, "", []any{"lead"}},
		{`closed_at < "2024-01-01"`, `"closed_at" < ?`, "", []any{"2024-01-01"}},
		{`version > 2 && created_at >= "2024" && id = "01H"`,
			`(("version" > ? AND "created_at" >= ?) AND "id" = ?)`, "", []any{int64(2), "2024", "01H"}},
		{`done = true`, `"done" = ?`, "", []any{true}},
		{`done != false`, `("done" IS NULL OR "done" <> ?)`, "", []any{false}},
		{`doc = "f1"`, `"doc" = ?`, "", []any{"f1"}},
		{`closed_at = null`, `"closed_at" IS NULL`, "", nil},
		{`closed_at != null`, `"closed_at" IS NOT NULL`, "", nil},
		{`meta = null`, `"meta" IS NULL`, "", nil},
		{`tags != null`, `"tags" IS NOT NULL`, "", nil},
		{`title ~ "Acme"`, `"title" LIKE ? ESCAPE '\'`, `"title" ILIKE ? ESCAPE '\'`, []any{"%Acme%"}},
		{`title !~ "acme"`, `("title" IS NULL OR "title" NOT LIKE ? ESCAPE '\')`,
			`("title" IS NULL OR "title" NOT ILIKE ? ESCAPE '\')`, []any{"%acme%"}},
		{`body ~ "50%_off\\"`, `"body" LIKE ? ESCAPE '\'`, `"body" ILIKE ? ESCAPE '\'`, []any{`%50\%\_off\\%`}},
		{`email ~ "@acme.com"`, `"email" LIKE ? ESCAPE '\'`, `"email" ILIKE ? ESCAPE '\'`, []any{"%@acme.com%"}},
		{`stage ~ "won"`, `"stage" LIKE ? ESCAPE '\'`, `"stage" ILIKE ? ESCAPE '\'`, []any{"%won%"}},
		{`tags ~ "vip"`, `EXISTS (SELECT 1 FROM json_each("tags") WHERE json_each.value = ?)`,
			`"tags" @> CAST(? AS jsonb)`, nil},
		{`tags !~ "vip"`, `("tags" IS NULL OR NOT (EXISTS (SELECT 1 FROM json_each("tags") WHERE json_each.value = ?)))`,
			`("tags" IS NULL OR NOT ("tags" @> CAST(? AS jsonb)))`, nil},
		{`stage in ["won", "lost"]`, `"stage" IN (?, ?)`, "", []any{"won", "lost"}},
		{`qty in (1)`, `"qty" IN (?)`, "", []any{int64(1)}},
		{`stage in []`, `1=0`, "", nil},
		{`!(stage in ["won"])`, `NOT COALESCE("stage" IN (?), FALSE)`, "", []any{"won"}},
		{`!qty > 1`, `NOT COALESCE("qty" > ?, FALSE)`, "", []any{int64(1)}},
		{`amount >= 1000 && (stage = "won" || stage = "lost") && title ~ "acme" && closed_at != null`,
			`((("amount" >= ? AND ("stage" = ? OR "stage" = ?)) AND "title" LIKE ? ESCAPE '\') AND "closed_at" IS NOT NULL)`,
			`((("amount" >= ? AND ("stage" = ? OR "stage" = ?)) AND "title" ILIKE ? ESCAPE '\') AND "closed_at" IS NOT NULL)`,
			[]any{"1000", "won", "lost", "%acme%"}},
		{`qty = 1 || qty = 2 && !(qty = 3 || qty = 4)`,
			`("qty" = ? OR ("qty" = ? AND NOT COALESCE(("qty" = ? OR "qty" = ?), FALSE)))`, "",
			[]any{int64(1), int64(2), int64(3), int64(4)}},
		// injection attempts: user text only ever becomes an argument
		{`title = "x\" OR 1=1 --"`, `"title" = ?`, "", []any{`x" OR 1=1 --`}},
		{`title = "'); DROP TABLE deals; --"`, `"title" = ?`, "", []any{`'); DROP TABLE deals; --`}},
		{`title ~ "' ESCAPE '"`, `"title" LIKE ? ESCAPE '\'`, `"title" ILIKE ? ESCAPE '\'`, []any{`%' ESCAPE '%`}},
		{`title in ["?", "$1"]`, `"title" IN (?, ?)`, "", []any{"?", "$1"}},
	}
	for _, tt := range tests {
		n, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		for _, d := range []string{"sqlite", "postgres"} {
			want, wantArgs := tt.sqlite, tt.args
			if d == "postgres" && tt.pg != "" {
				want = tt.pg
			}
			if strings.HasPrefix(tt.src, "tags ~") || strings.HasPrefix(tt.src, "tags !~") {
				wantArgs = []any{"vip"}
				if d == "postgres" {
					wantArgs = []any{`["vip"]`}
				}
			}
			sql, args, err := Compile(n, resolver, encode, d)
			if err != nil {
				t.Errorf("%s: Compile(%q): %v", d, tt.src, err)
				continue
			}
			if sql != want || !reflect.DeepEqual(args, wantArgs) {
				t.Errorf("%s: Compile(%q)\n got  %s %#v\n want %s %#v", d, tt.src, sql, args, want, wantArgs)
			}
			if q := strings.Count(sql, "?"); q != len(args) {
				t.Errorf("%s: Compile(%q): %d placeholders, %d args", d, tt.src, q, len(args))
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		src  string
		pos  int
		want string // exact message
	}{
		{`nope = 1`, 0, `unknown field "nope"`},
		{`secret = 1`, 0, `unknown field "secret"`}, // hidden: same answer as unknown
		{`qty = 1 && secret ~ "a"`, 11, `unknown field "secret"`},
		{`done > true`, 0, `operator > does not apply to boolean field "done"`},
		{`doc < "x"`, 0, `operator < does not apply to file field "doc"`},
		{`meta = "x"`, 0, `operator = does not apply to json field "meta"`},
		{`meta ~ "x"`, 0, `operator ~ does not apply to json field "meta"`},
		{`tags = "a"`, 0, `operator = does not apply to multiselect field "tags"; use ~ to test for an option, e.g. tags ~ "a"`},
		{`tags in ["a"]`, 0, `operator in does not apply to multiselect field "tags"; use ~ to test for an option, e.g. tags ~ "a"`},
		{`tags >= "a"`, 0, `operator >= does not apply to multiselect field "tags"; use ~ to test for an option, e.g. tags ~ "a"`},
		{`qty ~ "1"`, 0, `operator ~ does not apply to integer field "qty"`},
		{`closed_at !~ "2024"`, 0, `operator !~ does not apply to datetime field "closed_at"`},
		{`title ~ 1`, 0, `operator ~ needs a string, e.g. title ~ "abc"`},
		{`title !~ null`, 0, `null only works with = and !=, e.g. title = null`},
		{`amount > null`, 0, `null only works with = and !=, e.g. amount = null`},
		{`stage in ["won", null]`, 0, `an in list cannot contain null; use stage = null || stage in [...]`},
		{`qty = 1.5`, 0, `1.5 is not a whole number`},
		{`qty = 1 && stage = "nope"`, 11, `"nope" is not an option`},
		{`tags ~ "nope"`, 0, `"nope" is not an option`},
		{`stage in ["won", "nope"]`, 0, `"nope" is not an option`},
		{`  amount = "ten"`, 2, `"amount" needs a number`},
	}
	for _, tt := range tests {
		n, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		for _, d := range []string{"sqlite", "postgres"} {
			sql, args, err := Compile(n, resolver, encode, d)
			var fe *Error
			if !errors.As(err, &fe) {
				t.Errorf("%s: Compile(%q) = %q, %v, %v; want *Error", d, tt.src, sql, args, err)
				continue
			}
			if fe.Pos != tt.pos || fe.Message != tt.want {
				t.Errorf("%s: Compile(%q) error = %q at %d\n want %q at %d", d, tt.src, fe.Message, fe.Pos, tt.want, tt.pos)
			}
		}
	}
}

// TestCompileHandBuilt covers ASTs that Parse never produces.
func TestCompileHandBuilt(t *testing.T) {
	cmp := func(op string, v Value) *Compare { return &Compare{Field: "title", Op: op, Value: v, Pos: 3} }
	big := Value{Kind: List, List: make([]Value, MaxListLen+1)}
	for i := range big.List {
		big.List[i] = Value{Kind: String, Str: "x"}
	}
	bad := []Node{
		nil,
		(*Compare)(nil),
		&And{Left: cmp("=", Value{Kind: String}), Right: nil},
		&Or{},
		&Not{},
		cmp("==", Value{Kind: String}),
		cmp("=", Value{}),
		cmp("=", Value{Kind: List}),
		cmp("in", Value{Kind: String}),
		cmp("in", big),
		cmp("in", Value{Kind: List, List: []Value{{Kind: List}}}),
	}
	for _, n := range bad {
		_, _, err := Compile(n, resolver, nil, "sqlite")
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Compile(%#v) error = %v, want *Error", n, err)
		}
	}
	if _, _, err := Compile(cmp("=", Value{Kind: String}), resolver, nil, "mysql"); err == nil {
		t.Error("unknown dialect accepted")
	}
	if _, _, err := Compile(cmp("=", Value{Kind: String}), nil, nil, "sqlite"); err == nil {
		t.Error("nil resolver accepted")
	}
	// A nil encoder passes literals through, numbers as json.Number.
	n, _ := Parse(`qty = 5 && title = "x" && done = true`)
	_, args, err := Compile(n, resolver, nil, "postgres")
	if err != nil || !reflect.DeepEqual(args, []any{json.Number("5"), "x", true}) {
		t.Errorf("nil encoder: %#v, %v", args, err)
	}
}

// TestEncoderSees checks what the encoder is handed.
func TestEncoderSees(t *testing.T) {
	var seen []string
	enc := func(c Column, v any) (any, error) {
		seen = append(seen, fmt.Sprintf("%s %s %T %v", c.SQL, c.Type, v, v))
		return v, nil
	}
	n, err := Parse(`amount = 1.10 && title ~ "A" && tags ~ "b" && done = false && stage in ["x", 'y'] && day = null`)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Compile(n, resolver, enc, "sqlite"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`"amount" decimal json.Number 1.10`,
		`"title" text string A`,
		`"tags" multiselect string b`,
		`"done" boolean bool false`,
		`"stage" select string x`,
		`"stage" select string y`,
	}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("encoder saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

const benchFilter = `amount >= 1000 && (stage = "won" || stage = "lost") && title ~ "acme" && closed_at != null && qty in [1, 2, 3]`

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse(benchFilter); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	n, err := Parse(benchFilter)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := Compile(n, resolver, encode, "postgres"); err != nil {
			b.Fatal(err)
		}
	}
}
