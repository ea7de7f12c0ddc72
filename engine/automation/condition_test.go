package automation

import (
	"encoding/json"
	"testing"

	"github.com/formaapp/forma/engine/filter"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/schema"
)

var condEntity = &schema.Entity{Name: "lead", Fields: []schema.Field{
	{Name: "name", Type: schema.Text},
	{Name: "stage", Type: schema.Select, Options: []string{"new", "won", "lost"}},
	{Name: "budget", Type: schema.Decimal},
	{Name: "hot", Type: schema.Boolean},
	{Name: "tags", Type: schema.MultiSelect, Options: []string{"a", "vip"}},
	{Name: "due", Type: schema.DateTime},
}}

// TestEvalAll decides conditions over a record's values in Go with the
// meaning the SQL compiler gives them (deleted records, previous.FIELD).
func TestEvalAll(t *testing.T) {
	rec := map[string]any{"name": "Acme Corp", "stage": "won", "budget": json.Number("1500.50"), "hot": true,
		"tags": []any{"vip"}, "due": "2026-03-05T09:00:00Z"}
	for src, want := range map[string]bool{
		`stage = "won"`:                      true,
		`stage != "won"`:                     false,
		`stage != "lost"`:                    true,
		`budget > 1500`:                      true,
		`budget >= 1500.5`:                   true,
		`budget < 1000`:                      false,
		`hot = true`:                         true,
		`name ~ "acme"`:                      true,
		`name !~ "ACME"`:                     false,
		`tags ~ "vip"`:                       true,
		`tags ~ "a"`:                         false,
		`stage in ["new", "won"]`:            true,
		`stage in ["new", "lost"]`:           false,
		`due > "2026-03-05T08:00:00+00:00"`:  true,
		`due < "2026-03-05T10:00:00+00:30"`:  true,
		`due < "2026-03-05T10:00:00+01:00"`:  false,
		`missing = null`:                     true,
		`missing != "x"`:                     true,
		`missing > 3`:                        false,
		`!(stage = "won") || budget > 10000`: false,
		`stage = "won" && (hot = false || name ~ "corp")`: true,
	} {
		n, err := filter.Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got, err := evalAll(n, condEntity, rec)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if got != want {
			t.Errorf("%s = %v, want %v", src, got, want)
		}
	}
	for _, src := range []string{`owner = @me`, `account.name = "x"`, `budget ~ 3`} {
		n, err := filter.Parse(src)
		if err != nil {
			continue
		}
		if _, err := evalAll(n, condEntity, rec); err == nil && src != `budget ~ 3` {
			t.Errorf("%s: no error", src)
		}
	}
}

func TestWithPrevious(t *testing.T) {
	n, err := filter.Parse(`previous.stage != "lost" && stage = "won"`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := withPrevious(n, condEntity, map[string]any{"stage": "lost"})
	if err != nil {
		t.Fatal(err)
	}
	left := out.(*filter.And).Left.(*filter.Compare)
	if left.Field != "id" || left.Op != "=" { // always false
		t.Fatalf("previous.stage != lost over lost = %+v", left)
	}
	if right := out.(*filter.And).Right.(*filter.Compare); right.Field != "stage" {
		t.Fatalf("the record's own comparison was replaced: %+v", right)
	}
	// On create there is no previous record: every previous value is null.
	out, _ = withPrevious(n, condEntity, nil)
	if left := out.(*filter.And).Left.(*filter.Compare); left.Op != "!=" {
		t.Fatalf("previous.stage != lost with no previous = %+v", left)
	}
}

func TestOccurrence(t *testing.T) {
	changes := json.RawMessage(`{"stage": {"old": "new", "new": "won"}, "budget": {"old": "10.00", "new": 10}}`)
	ev := &records.Event{Kind: records.EventUpdated, Version: 4, Changes: changes}
	for _, c := range []struct {
		trigger schema.Trigger
		occ     string
		ok      bool
	}{
		{schema.Trigger{Type: "updated"}, "updated@4", true},
		{schema.Trigger{Type: "created"}, "", false},
		{schema.Trigger{Type: "deleted"}, "", false},
		{schema.Trigger{Type: "fieldChanged", Field: "stage"}, "updated@4", true},
		{schema.Trigger{Type: "fieldChanged", Field: "stage", To: json.RawMessage(`"won"`)}, "updated@4", true},
		{schema.Trigger{Type: "fieldChanged", Field: "stage", From: json.RawMessage(`"lost"`)}, "", false},
		{schema.Trigger{Type: "fieldChanged", Field: "budget", To: json.RawMessage(`10.0`)}, "updated@4", true},
		{schema.Trigger{Type: "fieldChanged", Field: "name"}, "", false},
		{schema.Trigger{Type: "transition", Flow: "deal"}, "", false},
	} {
		occ, ok := occurrence(&schema.Automation{Trigger: c.trigger}, ev)
		if ok != c.ok || (ok && occ != c.occ) {
			t.Errorf("%+v: %q %v, want %q %v", c.trigger, occ, ok, c.occ, c.ok)
		}
	}
	tr := &records.Event{Kind: records.EventUpdated, Version: 9, Transition: "deal/win", Changes: json.RawMessage(`{}`)}
	if occ, ok := occurrence(&schema.Automation{Trigger: schema.Trigger{Type: "transition", Flow: "deal", Transition: "win"}}, tr); !ok || occ != "transition@9" {
		t.Errorf("transition: %q %v", occ, ok)
	}
	if _, ok := occurrence(&schema.Automation{Trigger: schema.Trigger{Type: "transition", Flow: "deal", Transition: "lose"}}, tr); ok {
		t.Error("another transition matched")
	}
	cr := &records.Event{Kind: records.EventCreated, Version: 1, Changes: json.RawMessage(`{"stage": {"new": "won"}}`)}
	if occ, ok := occurrence(&schema.Automation{Trigger: schema.Trigger{Type: "fieldChanged", Field: "stage", From: json.RawMessage(`null`), To: json.RawMessage(`"won"`)}}, cr); !ok || occ != "created" {
		t.Errorf("fieldChanged on create: %q %v", occ, ok)
	}
}
