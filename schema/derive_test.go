package schema

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestNameFromLabelVectors runs the vectors the browser's preview is tested
// with too (builder-ui/src/designer/naming.test.ts), so both agree.
func TestNameFromLabelVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/names.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Vectors [][2]string }
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) < 10 {
		t.Fatalf("only %d vectors", len(v.Vectors))
	}
	for _, c := range v.Vectors {
		got := NameFromLabel(c[0])
		if got != c[1] {
			t.Errorf("NameFromLabel(%q) = %q, want %q", c[0], got, c[1])
		}
		if got != "" && !ValidName(got) {
			t.Errorf("NameFromLabel(%q) = %q: not a valid name", c[0], got)
		}
	}
}

func TestDeriveName(t *testing.T) {
	taken := map[string]bool{"store": true, "store_2": true}
	isTaken := func(n string) bool { return taken[n] }
	cases := []struct{ kind, label, want string }{
		{KindEntity, "Store", "store_3"},         // collisions numbered
		{KindEntity, "门店销售", "mendian_xiaoshou"}, // pinyin
		{KindField, "ID", "id_2"},                // system column
		{KindField, "Owner", "owner_2"},          // system column
		{KindEntity, "Owner", "owner"},           // only fields have system columns
		{KindEntity, "Order", "order_2"},         // reserved word
		{KindField, "Select", "select_2"},        // reserved word
		{KindApp, "forma_x", "n_forma_x"},        // Forma's own prefix
		{KindField, "🙂🎉", "field"},               // nothing spelled: the kind
		{KindRole, "", "role"},                   //
		{KindApp, strings.Repeat("门", 80), ""},   // checked below: length
		{KindField, strings.Repeat("x", 63), strings.Repeat("x", 63)},
	}
	for _, c := range cases {
		got := DeriveName(c.kind, c.label, isTaken)
		if c.want != "" && got != c.want {
			t.Errorf("DeriveName(%s, %q) = %q, want %q", c.kind, c.label, got, c.want)
		}
		if !ValidName(got) || len(got) > MaxIdentifierBytes || nameProblem(c.kind, got) != "" || taken[got] {
			t.Errorf("DeriveName(%s, %q) = %q: not usable", c.kind, c.label, got)
		}
	}
	// A long name numbered still fits 63 bytes.
	long := strings.Repeat("y", 63)
	got := DeriveName(KindField, long, func(n string) bool { return n == long })
	if got != strings.Repeat("y", 61)+"_2" {
		t.Errorf("numbered long name = %q", got)
	}
}

func TestParseDerivesNames(t *testing.T) {
	doc := `{"label": "门店销售", "labels": {"en": "Store sales"},
	  "entities": [
	    {"label": "门店", "labels": {"en": "Store"}, "fields": [
	      {"id": "f1", "label": "名称", "type": "text"},
	      {"id": "f2", "label": "名称", "type": "text"},
	      {"id": "f3", "label": "Owner", "type": "user"},
	      {"id": "f4", "name": "mingcheng_3", "type": "text"},
	      {"id": "f5", "labels": {"en": "Region"}, "type": "text"},
	      {"id": "f6", "label": "🙂", "type": "text"}
	    ]},
	    {"name": "mendian", "label": "other", "fields": []},
	    {"label": "订单", "fields": [{"id": "g1", "label": "门店", "type": "ref", "entity": "mendian_2"}]}
	  ],
	  "roles": [{"label": "店长", "labels": {"en": "Store manager"}}]}`
	app, probs := Parse([]byte(doc))
	if len(probs) > 0 {
		t.Fatalf("problems: %v", probs)
	}
	if app.Name != "mendian_xiaoshou" || app.Labels["en"] != "Store sales" {
		t.Errorf("app name %q labels %v", app.Name, app.Labels)
	}
	var names []string
	for _, e := range app.Entities {
		names = append(names, e.Name)
	}
	if strings.Join(names, ",") != "mendian_2,mendian,dingdan" {
		t.Errorf("entity names %v", names)
	}
	var fields []string
	for _, f := range app.Entities[0].Fields {
		fields = append(fields, f.Name)
	}
	if strings.Join(fields, ",") != "mingcheng,mingcheng_2,owner_2,mingcheng_3,region,field" {
		t.Errorf("field names %v", fields)
	}
	if app.Roles[0].Name != "dianchang" || app.Roles[0].Labels["en"] != "Store manager" {
		t.Errorf("role %+v", app.Roles[0])
	}

	// A name given is never changed, even when it collides: that is an error.
	_, probs = Parse([]byte(`{"name": "a", "entities": [{"name": "x", "fields": []}, {"name": "x", "fields": []}]}`))
	if len(probs) == 0 {
		t.Error("a duplicate given name passed")
	}
	// Neither name nor label: the name is missing.
	_, probs = Parse([]byte(`{"name": "a", "entities": [{"fields": []}]}`))
	if len(probs) != 1 || probs[0].Path != "/entities/0" || !strings.Contains(probs[0].Message, `"name"`) {
		t.Errorf("problems %v", probs)
	}
	// Labels are checked: bad language tags, wrong types, over-long labels.
	for _, bad := range []string{
		`{"name": "a", "labels": {"EN!": "x"}, "entities": []}`,
		`{"name": "a", "labels": {"en": 3}, "entities": []}`,
		`{"name": "a", "labels": "x", "entities": []}`,
		`{"name": "a", "entities": [{"label": "门店", "labels": {"en": "` + strings.Repeat("x", 256) + `"}, "fields": []}]}`,
		`{"label": 3, "entities": []}`,
	} {
		if _, probs := Parse([]byte(bad)); len(probs) == 0 {
			t.Errorf("passed: %s", bad)
		}
	}
}

func TestParseKeepsPublishedNames(t *testing.T) {
	prev, probs := Parse([]byte(`{"name": "shop", "entities": [{"id": "e1", "label": "门店", "fields": [{"id": "f1", "label": "名称", "type": "text"}]}]}`))
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if prev.Entities[0].Name != "mendian" || prev.Entities[0].Fields[0].Name != "mingcheng" {
		t.Fatalf("first names %+v", prev.Entities[0])
	}
	// The labels change after publishing; the names stay.
	next, probs := ParseWith([]byte(`{"name": "shop", "entities": [{"id": "e1", "label": "Store", "fields": [{"id": "f1", "label": "Name", "type": "text"}, {"id": "f2", "label": "Name 2", "type": "text"}]}]}`),
		DeriveOptions{Previous: prev})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	if next.Entities[0].Name != "mendian" || next.Entities[0].Fields[0].Name != "mingcheng" || next.Entities[0].Fields[1].Name != "name_2" {
		t.Errorf("names moved: %+v", next.Entities[0])
	}
	// An app without a name is a new one: numbered past the apps there are.
	app, probs := ParseWith([]byte(`{"label": "Shop", "entities": []}`), DeriveOptions{AppTaken: func(n string) bool { return n == "shop" }})
	if len(probs) > 0 || app.Name != "shop_2" {
		t.Errorf("app %v %v", app, probs)
	}
}

func TestSchemaProblemCodes(t *testing.T) {
	for _, c := range []struct{ doc, path, code string }{
		{`{"name": "a", "entities": [], "extra": 1}`, "/extra", "unknown_field"},
		{`{"entities": []}`, "", "required"},
		{`{"name": 3, "entities": []}`, "/name", "type"},
		{`{"name": "A b", "entities": []}`, "/name", "invalid_name"},
		{`{"name": "a", "label": "` + strings.Repeat("x", 256) + `", "entities": []}`, "/label", "max_length"},
		{`{"name": "a", "entities": [{"name": "e", "fields": [{"id": "f", "name": "f", "type": "txt"}]}]}`, "/entities/0/fields/0/type", "option"},
		{`{"name": "a", "settings": {"scriptTimeoutMs": 0}, "entities": []}`, "/settings/scriptTimeoutMs", "min"},
	} {
		_, probs := Parse([]byte(c.doc))
		expectCodes(t, probs)
		found := false
		for _, p := range probs {
			if p.Path == c.path {
				found = true
				if p.Code != c.code {
					t.Errorf("%s: %s code %q, want %q", c.doc, c.path, p.Code, c.code)
				}
			}
		}
		if !found {
			t.Errorf("%s: no problem at %q: %v", c.doc, c.path, probs)
		}
	}
}

func TestOptionLabels(t *testing.T) {
	ok := `{"name": "a", "entities": [{"name": "deal", "fields": [{"id": "f", "name": "stage", "type": "select",
	  "options": ["赢单", "lost"], "optionLabels": {"赢单": {"en": "Won"}, "lost": {"zh-CN": "输单"}}}]}]}`
	app, probs := Parse([]byte(ok))
	if len(probs) > 0 || app.Entities[0].Fields[0].OptionLabels["赢单"]["en"] != "Won" {
		t.Fatalf("%v %v", app, probs)
	}
	for doc, path := range map[string]string{
		strings.Replace(ok, `"lost": {"zh-CN"`, `"nope": {"zh-CN"`, 1):                                                         "/entities/0/fields/0/optionLabels/nope",
		`{"name": "a", "entities": [{"name": "d", "fields": [{"id": "f", "name": "t", "type": "text", "optionLabels": {}}]}]}`: "/entities/0/fields/0/optionLabels",
		strings.Replace(ok, `{"en": "Won"}`, `{"en": 3}`, 1):                                                                   "/entities/0/fields/0/optionLabels/赢单/en",
	} {
		_, probs := Parse([]byte(doc))
		expectCodes(t, probs)
		found := false
		for _, p := range probs {
			found = found || p.Path == path
		}
		if !found {
			t.Errorf("no problem at %s: %v", path, probs)
		}
	}
}
