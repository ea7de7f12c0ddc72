package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// shopV1 is the first version of the need-to-know app: rep may see every
// deal field (cost included) and no entity holds logic yet.
const shopV1 = `{
  "name": "shop", "label": "Shop",
  "entities": [
    {"id": "e_account", "name": "account", "label": "Account", "fields": [
      {"id": "a1", "name": "name", "type": "text", "required": true}
    ]},
    {"id": "e_deal", "name": "deal", "label": "Deal", "fields": [
      {"id": "d1", "name": "title",   "label": "Title", "type": "text", "required": true},
      {"id": "d2", "name": "amount",  "type": "decimal", "scale": 2},
      {"id": "d3", "name": "cost",    "type": "decimal", "scale": 2},
      {"id": "d4", "name": "stage",   "type": "select", "options": ["open", "won", "lost"]},
      {"id": "d5", "name": "account", "type": "ref", "entity": "account"}
    ]}
  ],
  "roles": [
    {"name": "rep", "entities": {"deal": {"create": "own", "read": "own", "update": "own"}, "account": {"read": "all"}}}
  ]
}`

// shopV2 adds what a rep must not learn: cost hidden from rep, formulas,
// a rollup and a rule reading it, a hook and its script, an entity rep
// cannot use (payroll), and layouts naming hidden fields.
const shopV2 = `{
  "name": "shop", "label": "Shop",
  "entities": [
    {"id": "e_account", "name": "account", "label": "Account", "fields": [
      {"id": "a1", "name": "name", "type": "text", "required": true},
      {"id": "a2", "name": "deal_count", "type": "rollup", "rollup": {"entity": "deal", "via": "account", "op": "count"}},
      {"id": "a3", "name": "cost_total", "type": "rollup", "rollup": {"entity": "deal", "via": "account", "op": "sum", "field": "cost"}}
    ]},
    {"id": "e_deal", "name": "deal", "label": "Deal", "fields": [
      {"id": "d1", "name": "title",   "label": "Title", "type": "text", "required": true},
      {"id": "d2", "name": "amount",  "type": "decimal", "scale": 2},
      {"id": "d3", "name": "cost",    "type": "decimal", "scale": 2},
      {"id": "d4", "name": "stage",   "type": "select", "options": ["open", "won", "lost"]},
      {"id": "d5", "name": "account", "type": "ref", "entity": "account"},
      {"id": "d6", "name": "margin",  "type": "formula", "expr": "amount - cost", "returns": "decimal"},
      {"id": "d7", "name": "big",     "type": "formula", "expr": "amount > 1000", "returns": "boolean"}
    ],
    "indexes": [{"fields": ["cost"]}, {"fields": ["stage"]}],
    "hooks": {"beforeSave": "deal#beforeSave"},
    "validations": [
      {"expr": "cost == null || cost >= 0", "message": "costcheck: must not be negative", "field": "cost"},
      {"expr": "amount == null || amount >= 0", "message": "amount must not be negative", "field": "amount"}
    ]},
    {"id": "e_payroll", "name": "payroll", "fields": [
      {"id": "p1", "name": "salary", "type": "decimal"}
    ]}
  ],
  "scripts": {"deal": "function beforeSave(record, ctx) { /* SCRIPTSECRET */ }"},
  "forms": [
    {"entity": "deal", "kind": "form", "sections": [
      {"title": "Main", "fields": ["title", "amount", "cost", "stage", "account"]},
      {"title": "Money", "fields": ["margin"]}
    ]},
    {"entity": "deal", "kind": "list", "columns": ["title", "cost", "stage"], "sort": "-cost,title", "filter": "cost > 0"},
    {"entity": "payroll", "kind": "list", "columns": ["salary"]}
  ],
  "roles": [
    {"name": "rep", "entities": {
      "deal": {"create": "own", "read": "own", "update": "own", "fields": {"cost": "hidden"}},
      "account": {"read": "all"}}},
    {"name": "manager", "entities": {
      "deal": {"create": "team", "read": "team", "update": "team"},
      "account": {"read": "all"},
      "payroll": {"read": "all"}}},
    {"name": "warehouse", "entities": {}}
  ]
}`

// The words of shopV2 that no role user may meet (in any answer), and
// those a rep may not meet on top.
var (
	logicWords = []string{`"scripts"`, "SCRIPTSECRET", `"hooks"`, "beforeSave", `"roles"`, "warehouse", `"settings"`, `"plan"`, `"appliedBy"`}
	repWords   = []string{"cost", "margin", "payroll", "salary", "costcheck"}
)

// TestMetaNeedToKnow checks every metadata route for every kind of caller:
// the admin sees everything; a user with a role sees a document without
// logic and without what their roles hide (in old versions too); a user
// with no role in the app gets the answer of an app that does not exist.
func TestMetaNeedToKnow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, shopV1)
		if st, body := e.do("POST", "/api/meta/apps", shopV2); st != 201 {
			t.Fatalf("apply v2: %d %v", st, body)
		}
		tokens := map[string]string{"admin": e.token}
		for name, roles := range map[string][]string{"rep": {"rep"}, "manager": {"manager"}, "clerk": {"clerk"}, "nobody": nil} {
			if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: name + "@example.com", Password: "password " + name, Roles: roles}); err != nil {
				t.Fatal(err)
			}
			tokens[name] = e.login(name+"@example.com", "password "+name)
		}

		routes := []string{"/api/meta/apps/shop", "/api/meta/apps/shop/versions", "/api/meta/apps/shop/versions/1",
			"/api/meta/apps/shop/versions/2", "/api/meta/apps/shop/openapi.json"}
		for _, who := range []string{"admin", "rep", "manager", "clerk", "nobody"} {
			for _, path := range routes {
				st, raw := e.raw(tokens[who], "GET", path, nil)
				ghost := strings.Replace(path, "/shop", "/nope", 1)
				gst, graw := e.raw(tokens[who], "GET", ghost, nil)
				if gst != 404 {
					t.Errorf("%s %s: %d, want 404", who, ghost, gst)
				}
				switch who {
				case "clerk", "nobody":
					// No role in shop: exactly the answer of no such app.
					if st != 404 || !bytes.Equal(raw, graw) {
						t.Errorf("%s %s: %d %s, want the answer of %s: %s", who, path, st, clip(string(raw)), ghost, graw)
					}
					continue
				}
				if st != 200 {
					t.Errorf("%s %s: %d %s", who, path, st, clip(string(raw)))
					continue
				}
				forbidden := logicWords
				if who == "rep" {
					forbidden = append(append([]string{}, logicWords...), repWords...)
				}
				if who == "admin" {
					forbidden = nil
				}
				s := string(raw)
				for _, w := range forbidden {
					if i := strings.Index(s, w); i >= 0 {
						t.Errorf("%s %s names %s: …%s…", who, path, w, s[max(0, i-80):min(len(s), i+80)])
					}
				}
			}
		}

		// The admin's document is the whole of it.
		st, raw := e.raw(e.token, "GET", "/api/meta/apps/shop", nil)
		for _, w := range append(append([]string{`"scripts"`, "SCRIPTSECRET", `"hooks"`, `"roles"`, "warehouse"}, repWords...), "cost_total") {
			if st != 200 || !strings.Contains(string(raw), w) {
				t.Errorf("admin's document lacks %s: %d", w, st)
			}
		}
		st, body := e.do("GET", "/api/meta/apps/shop/versions", nil)
		if vs := items(t, body); st != 200 || len(vs) != 2 || vs[0]["plan"] == nil || vs[0]["appliedBy"] != e.admin.ID {
			t.Errorf("admin's versions: %d %v", st, body)
		}

		// What the rep's runtime needs is all there.
		doc := decodeDoc(t, e, tokens["rep"], "/api/meta/apps/shop")
		if doc.Name != "shop" || doc.Label != "Shop" || doc.Version != 2 || len(doc.Entities) != 2 {
			t.Fatalf("rep's document: %+v", doc)
		}
		deal := doc.entity("deal")
		if deal == nil || deal.Label != "Deal" {
			t.Fatalf("rep's deal: %+v", doc)
		}
		if got := deal.names(); got != "title,amount,stage,account,big" {
			t.Errorf("rep's deal fields: %s", got)
		}
		for _, f := range deal.Fields {
			switch f.Name {
			case "title":
				if f.Label != "Title" || f.Type != "text" || !f.Required {
					t.Errorf("title: %+v", f)
				}
			case "stage":
				if strings.Join(f.Options, ",") != "open,won,lost" {
					t.Errorf("stage: %+v", f)
				}
			case "account":
				if f.Type != "ref" || f.Entity != "account" {
					t.Errorf("account: %+v", f)
				}
			case "big":
				if f.Type != "formula" || f.Expr != "amount > 1000" || f.Returns != "boolean" {
					t.Errorf("a formula over visible fields keeps its expression: %+v", f)
				}
			}
		}
		if len(deal.Validations) != 1 || deal.Validations[0].Message != "amount must not be negative" {
			t.Errorf("rep's rules: %+v", deal.Validations)
		}
		if len(deal.Indexes) != 1 || deal.Indexes[0].Fields[0] != "stage" {
			t.Errorf("rep's indexes: %+v", deal.Indexes)
		}
		if acct := doc.entity("account"); acct == nil || acct.names() != "name,deal_count" || acct.Fields[1].Rollup == nil {
			t.Errorf("rep's account (count rollup kept, cost_total hidden): %+v", acct)
		}
		if len(doc.Forms) != 2 {
			t.Fatalf("rep's forms: %+v", doc.Forms)
		}
		form, list := doc.Forms[0], doc.Forms[1]
		if form.Kind != "form" || len(form.Sections) != 1 || strings.Join(form.Sections[0].Fields, ",") != "title,amount,stage,account" {
			t.Errorf("rep's record form: %+v", form)
		}
		if list.Kind != "list" || strings.Join(list.Columns, ",") != "title,stage" || list.Sort != "title" || list.Filter != "" {
			t.Errorf("rep's list view: %+v", list)
		}

		// The manager sees cost, margin and payroll, still without logic.
		mdoc := decodeDoc(t, e, tokens["manager"], "/api/meta/apps/shop")
		if d := mdoc.entity("deal"); d == nil || d.names() != "title,amount,cost,stage,account,margin,big" || len(d.Validations) != 2 || d.Hooks != nil {
			t.Errorf("manager's deal: %+v", d)
		}
		if mdoc.entity("payroll") == nil || len(mdoc.Forms) != 3 || mdoc.Forms[1].Filter != "cost > 0" {
			t.Errorf("manager's document: %+v", mdoc)
		}

		// Old versions: hidden by today's roles, though v1 showed cost to reps.
		old := decodeDoc(t, e, tokens["rep"], "/api/meta/apps/shop/versions/1")
		if d := old.entity("deal"); old.Version != 1 || d == nil || d.names() != "title,amount,stage,account" {
			t.Errorf("rep's version 1: %+v", old)
		}
		st, body = e.doAs(tokens["rep"], "GET", "/api/meta/apps/shop/versions", nil)
		if vs := items(t, body); st != 200 || len(vs) != 2 || vs[1]["version"] == nil || vs[1]["appliedAt"] == nil {
			t.Errorf("rep's versions: %d %v", st, body)
		}
		st, body = e.doAs(tokens["rep"], "GET", "/api/meta/apps/shop/versions/3", nil)
		wantErr(t, "rep: version 3", st, body, 404, "not_found")

		// A rename keeps the answer (fields match by id): cost becomes
		// unit_cost in v3; the manager still sees v1's cost, the rep does not.
		if st, body := e.do("POST", "/api/meta/apps", strings.ReplaceAll(shopV2, "cost", "unit_cost")); st != 201 {
			t.Fatalf("apply v3: %d %v", st, body)
		}
		if d := decodeDoc(t, e, tokens["manager"], "/api/meta/apps/shop/versions/1").entity("deal"); d == nil || d.names() != "title,amount,cost,stage,account" {
			t.Errorf("manager's version 1 after the rename: %+v", d)
		}
		for _, path := range []string{"/api/meta/apps/shop/versions/1", "/api/meta/apps/shop/versions/3", "/api/meta/apps/shop"} {
			if st, raw := e.raw(tokens["rep"], "GET", path, nil); st != 200 || strings.Contains(string(raw), "cost") {
				t.Errorf("rep %s after the rename: %d %s", path, st, clip(string(raw)))
			}
		}

		// The list of apps holds only the caller's.
		for who, want := range map[string]int{"admin": 1, "rep": 1, "manager": 1, "clerk": 0, "nobody": 0} {
			st, body := e.doAs(tokens[who], "GET", "/api/meta/apps", nil)
			if list := items(t, body); st != 200 || len(list) != want {
				t.Errorf("%s's apps: %d %v, want %d", who, st, body, want)
			}
		}
		// A role the app defines puts its holder in the app; one it does not
		// define keeps them out (clerk above), and rep is a default role
		// every app keeps (kit defines no roles).
		if st, body := e.do("POST", "/api/meta/apps", kitApp); st != 201 {
			t.Fatalf("apply kit: %d %v", st, body)
		}
		if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "wh@example.com", Password: "password wh", Roles: []string{"warehouse"}}); err != nil {
			t.Fatal(err)
		}
		wh := e.login("wh@example.com", "password wh")
		for _, tc := range []struct {
			token, path string
			status      int
		}{
			{wh, "/api/meta/apps/shop", 200}, {wh, "/api/meta/apps/kit", 404},
			{tokens["rep"], "/api/meta/apps/kit", 200}, {tokens["clerk"], "/api/meta/apps/kit", 404},
		} {
			if st, _ := e.raw(tc.token, "GET", tc.path, nil); st != tc.status {
				t.Errorf("%s: %d, want %d", tc.path, st, tc.status)
			}
		}
		if st, body := e.doAs(wh, "GET", "/api/meta/apps", nil); st != 200 || mustJSON(body) != mustJSON(map[string]any{"items": []any{items(t, body)[0]}}) || items(t, body)[0]["name"] != "shop" {
			t.Errorf("warehouse's apps: %d %v", st, body)
		}
		// The warehouse role grants no entity: an empty, logic-free document.
		if d := decodeDoc(t, e, wh, "/api/meta/apps/shop"); len(d.Entities) != 0 || len(d.Forms) != 0 {
			t.Errorf("warehouse's document: %+v", d)
		}
	})
}

type viewDoc struct {
	Name     string       `json:"name"`
	Label    string       `json:"label"`
	Version  int          `json:"version"`
	Entities []viewEntity `json:"entities"`
	Forms    []struct {
		Entity   string `json:"entity"`
		Kind     string `json:"kind"`
		Sections []struct {
			Fields []string `json:"fields"`
		} `json:"sections"`
		Columns []string `json:"columns"`
		Sort    string   `json:"sort"`
		Filter  string   `json:"filter"`
	} `json:"forms"`
}

type viewEntity struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Fields []struct {
		Name     string          `json:"name"`
		Label    string          `json:"label"`
		Type     string          `json:"type"`
		Required bool            `json:"required"`
		Options  []string        `json:"options"`
		Entity   string          `json:"entity"`
		Expr     string          `json:"expr"`
		Returns  string          `json:"returns"`
		Rollup   json.RawMessage `json:"rollup"`
	} `json:"fields"`
	Indexes []struct {
		Fields []string `json:"fields"`
	} `json:"indexes"`
	Hooks       map[string]string `json:"hooks"`
	Validations []struct {
		Message string `json:"message"`
	} `json:"validations"`
}

func (d *viewDoc) entity(name string) *viewEntity {
	for i := range d.Entities {
		if d.Entities[i].Name == name {
			return &d.Entities[i]
		}
	}
	return nil
}

func (e *viewEntity) names() string {
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Name)
	}
	return strings.Join(out, ",")
}

func decodeDoc(t *testing.T, e *env, token, path string) *viewDoc {
	t.Helper()
	st, raw := e.raw(token, "GET", path, nil)
	if st != 200 {
		t.Fatalf("%s: %d %s", path, st, clip(string(raw)))
	}
	var d viewDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &d
}
