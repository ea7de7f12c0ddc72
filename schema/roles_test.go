package schema

import (
	"encoding/json"
	"strings"
	"testing"
)

const rolesDoc = `{"name": "crm", "entities": [
  {"name": "quote", "fields": [
    {"id": "f1", "name": "status", "type": "select", "options": ["draft", "approved"]},
    {"id": "f2", "name": "cost", "type": "decimal"}]},
  {"name": "account", "fields": [{"id": "a1", "name": "name", "type": "text"}]}],
 "roles": [
  {"name": "rep", "entities": {"quote": {
    "create": "own", "read": "own", "delete": "none",
    "update": {"scope": "own", "where": "status != \"approved\""},
    "fields": {"cost": "hidden", "owner": "readonly"}}}},
  {"name": "manager", "label": "Sales manager", "entities": {"quote": {"read": "team"}}}]}`

func TestRolesParse(t *testing.T) {
	app, problems := Parse([]byte(rolesDoc))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	rep := app.Roles[0].Entities["quote"]
	if rep.Grant(OpCreate).Scope != ScopeOwn || rep.Grant(OpDelete) != nil || rep.Grant(OpUpdate).Where != `status != "approved"` {
		t.Fatalf("rep rule = %+v", rep)
	}
	if rep.Fields["cost"] != FieldHidden {
		t.Fatalf("fields = %v", rep.Fields)
	}
	// The short form survives a round trip as the short form.
	out, _ := json.Marshal(app.Roles[0])
	if !strings.Contains(string(out), `"create":"own"`) || !strings.Contains(string(out), `"where":"status != \"approved\""`) {
		t.Fatalf("marshal = %s", out)
	}
	roles := app.EffectiveRoles()
	if roles["rep"] != &app.Roles[0] || roles["manager"].Entities["account"].Grant(OpRead) != nil {
		t.Fatal("defined roles must replace the defaults of the same name")
	}
	exec := roles["executive"]
	if exec == nil || exec.Entities["account"].Grant(OpDelete).Scope != ScopeAll || exec.Entities["quote"].Grant(OpRead).Scope != ScopeAll {
		t.Fatalf("default executive = %+v", exec)
	}
}

func TestRolesProblems(t *testing.T) {
	for _, c := range []struct{ roles, path string }{
		{`[{"name": "admin"}]`, "/roles/0/name"},
		{`[{"name": "rep"}, {"name": "rep"}]`, "/roles/1/name"},
		{`[{"name": "rep", "entities": {"nope": {"read": "all"}}}]`, "/roles/0/entities/nope"},
		{`[{"name": "rep", "entities": {"quote": {"fields": {"nope": "hidden"}}}}]`, "/roles/0/entities/quote/fields/nope"},
		{`[{"name": "rep", "entities": {"quote": {"fields": {"id": "hidden"}}}}]`, "/roles/0/entities/quote/fields/id"},
		{`[{"name": "rep", "entities": {"quote": {"read": "everyone"}}}]`, "/roles/0/entities/quote/read"},
		{`[{"name": "rep", "entities": {"quote": {"read": {"scope": "own", "when": "x"}}}}]`, "/roles/0/entities/quote/read"},
		{`[{"name": "rep", "entities": {"quote": {"fields": {"cost": "secret"}}}}]`, "/roles/0/entities/quote/fields/cost"},
		{`[{"name": "Rep"}]`, "/roles/0/name"},
	} {
		doc := rolesDoc[:strings.Index(rolesDoc, `"roles"`)] + `"roles": ` + c.roles + `}`
		_, problems := Parse([]byte(doc))
		expectCodes(t, problems)
		found := false
		for _, p := range problems {
			found = found || strings.HasPrefix(p.Path, c.path)
		}
		if !found {
			t.Errorf("%s: want a problem at %s, got %v", c.roles, c.path, problems)
		}
	}
}
