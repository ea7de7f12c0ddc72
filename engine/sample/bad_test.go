package sample_test

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/sample"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// recipe is the pipeline's recipe as JSON values, to spoil.
func recipe(t *testing.T) map[string]any {
	b, err := fs.ReadFile(templates.FS(), "pipeline/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func entitySpec(m map[string]any, i int) map[string]any {
	return m["entities"].([]any)[i].(map[string]any)
}

func addField(m map[string]any, i int, f map[string]any) {
	e := entitySpec(m, i)
	e["fields"] = append(e["fields"].([]any), f)
}

func encode(t *testing.T, m map[string]any) string {
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nothingWritten: no sample user or team, no row in any table.
func nothingWritten(t *testing.T, eng *engine.Engine, app *schema.App) {
	t.Helper()
	ctx := context.Background()
	users, err := eng.Access.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if strings.HasPrefix(u.Email, app.Name+".") {
			t.Errorf("user %s was created", u.Email)
		}
	}
	if teams, err := eng.Access.Teams(ctx); err != nil || len(teams) != 0 {
		t.Errorf("teams %v (%v)", teams, err)
	}
	for _, e := range app.Entities {
		if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, e.Name)); n != 0 {
			t.Errorf("%s: %d rows written", e.Name, n)
		}
	}
}

func TestBadInput(t *testing.T) {
	spoil := func(fn func(m map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string {
			m := recipe(t)
			fn(m)
			return encode(t, m)
		}
	}
	cases := []struct {
		name   string
		recipe func(t *testing.T) string // nil: the template's own
		rows   int
		app    string // "": the template's app
		want   string
	}{
		{name: "no rows", rows: 0, want: "rows must be 100..1000000"},
		{name: "negative rows", rows: -5, want: "rows must be 100..1000000"},
		{name: "too few rows", rows: 99, want: "rows must be 100..1000000"},
		{name: "too many rows", rows: 1_000_001, want: "rows must be 100..1000000"},
		{name: "oversized recipe", recipe: spoil(func(m map[string]any) {
			m["lists"].(map[string]any)["padding"] = []any{strings.Repeat("x", sample.MaxRecipeBytes)}
		}), want: "more than 1048576"},
		{name: "malformed JSON", recipe: func(*testing.T) string { return `{"main": "lead",` }, want: "sample.json: unexpected EOF"},
		{name: "two JSON values", recipe: func(t *testing.T) string { return encode(t, recipe(t)) + " {}" }, want: "more than one JSON value"},
		{name: "wrong type", recipe: spoil(func(m map[string]any) { m["main"] = 5 }), want: "cannot unmarshal number into Go struct field Recipe.main of type string"},
		{name: "unknown key", recipe: spoil(func(m map[string]any) { m["colour"] = "red" }), want: `unknown field "colour"`},
		{name: "unknown key in a field spec", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "region", "lisst": "zh_region"})
		}), want: `unknown field "lisst"`},
		{name: "unknown entity", recipe: spoil(func(m map[string]any) {
			m["entities"] = append(m["entities"].([]any), map[string]any{"entity": "invoice", "count": 3, "fields": []any{}})
		}), want: `app pipeline has no entity "invoice"`},
		{name: "unknown field", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "colour", "value": "red"})
		}), want: `lead has no field "colour"`},
		{name: "unknown list", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "region", "list": "planets"})
		}), want: `no list "planets"`},
		{name: "two generators", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "region", "list": "zh_region", "value": "x"})
		}), want: "give one generator, not value+list"},
		{name: "generator against the type", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "region", "int": []any{1, 2}})
		}), want: "int cannot fill lead.region, a text field"},
		{name: "a computed field", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "grade_score", "value": 3})
		}), want: "lead.grade_score is a formula field"},
		{name: "the flow's state field", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "status", "value": "converted"})
		}), want: "give it under flow"},
		{name: "unknown flow state", recipe: spoil(func(m map[string]any) {
			fl := entitySpec(m, 0)["flow"].(map[string]any)
			fl["states"] = append(fl["states"].([]any), "archived")
			fl["weights"] = append(fl["weights"].([]any), 1)
		}), want: `"archived" is not a state of flow lead_flow`},
		{name: "a ref to a later entity", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "receiver", "ref": "opportunity"})
		}), want: `ref "opportunity" is not an earlier entity`},
		{name: "reversed range", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "page_visits", "int": []any{9, 1}})
		}), want: "int must be [min, max]"},
		{name: "a role without users", recipe: spoil(func(m map[string]any) {
			addField(m, 0, map[string]any{"field": "receiver", "user": "intern"})
		}), want: `no sample users of role "intern"`},
		{name: "a cross too big", recipe: spoil(func(m map[string]any) {
			lead := map[string]any{"entity": "lead"}
			m["entities"] = append(m["entities"].([]any), map[string]any{"entity": "task", "cross": []any{lead, lead, lead},
				"fields": []any{map[string]any{"field": "title", "value": "x"}}})
		}), want: "the cross makes up to 27000000 rows"},
		{name: "an app that is not there", app: "nosuchapp", want: "sample: app nosuchapp"},
	}
	dialects(t, func(t *testing.T, dialect string) {
		eng, app := installed(t, "pipeline", dialect)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				fsys, dir := templates.FS(), "pipeline"
				if c.recipe != nil {
					fsys, dir = fstest.MapFS{"bad/sample.json": {Data: []byte(c.recipe(t))}}, "bad"
				}
				rows := c.rows
				if rows == 0 && !strings.Contains(c.name, "rows") {
					rows = 300
				}
				name := app.Name
				if c.app != "" {
					name = c.app
				}
				_, err := sample.Generate(context.Background(), target(eng), fsys, dir, name, sample.Options{Rows: rows, Seed: 1, Now: now})
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want an error with %q", err, c.want)
				}
				nothingWritten(t, eng, app)
			})
		}
		t.Run("no recipe", func(t *testing.T) {
			fsys := fstest.MapFS{"bare/template.json": {Data: []byte(`{"name": "bare", "app": "bare"}`)}}
			_, err := sample.Generate(context.Background(), target(eng), fsys, "bare", app.Name, sample.Options{Rows: 300, Seed: 1, Now: now})
			if !errors.Is(err, sample.ErrNoRecipe) {
				t.Fatalf("got %v, want ErrNoRecipe", err)
			}
			nothingWritten(t, eng, app)
		})
	})
}

// TestRefusedRow: a row the app refuses (here a negative budget, below the
// field's min) stops the run, naming it, and its batch is rolled back.
func TestRefusedRow(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		eng, app := installed(t, "pipeline", dialect)
		m := recipe(t)
		addField(m, 0, map[string]any{"field": "budget", "decimal": []any{-10, -1}})
		fsys := fstest.MapFS{"bad/sample.json": {Data: []byte(encode(t, m))}}
		_, err := sample.Generate(context.Background(), target(eng), fsys, "bad", app.Name, sample.Options{Rows: 300, Seed: 1, Now: now})
		if err == nil || !strings.Contains(err.Error(), "lead row 1 refused") || !strings.Contains(err.Error(), "/budget") {
			t.Fatalf("got %v, want lead row 1 refused at /budget", err)
		}
		if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "lead")); n != 0 {
			t.Errorf("%d leads written", n)
		}
	})
}
