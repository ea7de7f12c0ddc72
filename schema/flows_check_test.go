package schema

import (
	"strings"
	"testing"
)

const flowsDoc = `{"name": "crm", "entities": [
  {"name": "deal", "fields": [
    {"id": "d1", "name": "title", "type": "text"},
    {"id": "d2", "name": "stage", "type": "select", "options": ["new", "proposal", "won", "lost"]},
    {"id": "d3", "name": "nda", "type": "file"},
    {"id": "d4", "name": "reason", "type": "text"},
    {"id": "d5", "name": "approver", "type": "user"},
    {"id": "d6", "name": "score", "type": "formula", "expr": "1"},
    {"id": "d7", "name": "kind", "type": "text"}]}],
 "roles": [{"name": "director", "entities": {"deal": {"read": "all"}}}],
 "flows": FLOWS}`

func flowsApp(flows string) string { return strings.Replace(flowsDoc, "FLOWS", flows, 1) }

// goodFlow is a flow with every part; cases replace pieces of it.
const goodFlow = `{"name": "sales", "entity": "deal", "field": "stage", "initial": "new",
  "states": [{"name": "new", "color": "#999", "position": {"x": 1, "y": 2}}, {"name": "proposal"}, {"name": "won", "final": true}, {"name": "lost", "final": true}],
  "transitions": [
    {"name": "propose", "from": ["new"], "to": "proposal", "roles": ["rep"], "guard": "title != null", "evidence": ["nda"],
     "approval": {"steps": [{"name": "boss", "approvers": {"roles": ["director"], "fields": ["approver"], "manager": true}, "mode": "quorum", "quorum": 2,
                            "deadline": "1d", "escalate": {"then": "next", "notify": {"roles": ["director"]}}}]}},
    {"name": "lose", "to": "lost", "fields": [{"field": "reason", "required": true}], "comment": "required",
     "actions": [{"type": "notify", "to": {"owner": true}, "message": "lost"}]},
    {"name": "give", "from": ["proposal"], "to": "proposal", "handover": {"receiver": "approver"}}]}`

func TestFlowsValid(t *testing.T) {
	app, problems := Parse([]byte(flowsApp("[" + goodFlow + "]")))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	f := app.FlowOf("deal")
	if f == nil || f.InitialState() != "new" || f.Transition("lose").Comment != CommentRequired || !f.Transition("lose").Leaves(f, "proposal") || f.Transition("lose").Leaves(f, "won") {
		t.Fatalf("flow = %+v", f)
	}
}

func TestFlowsProblems(t *testing.T) {
	for _, c := range []struct{ old, new, path string }{
		{`"entity": "deal"`, `"entity": "dael"`, "/flows/0/entity"},
		{`"field": "stage"`, `"field": "stag"`, "/flows/0/field"},
		{`"field": "stage"`, `"field": "title"`, "/flows/0/field"},
		{`"initial": "new"`, `"initial": "neww"`, "/flows/0/initial"},
		{`{"name": "proposal"}`, `{"name": "proposals"}`, "/flows/0/states/1/name"},
		{`{"name": "proposal"}`, `{"name": "new"}`, "/flows/0/states/1/name"},
		{`"from": ["new"]`, `"from": ["neu"]`, "/flows/0/transitions/0/from/0"},
		{`"from": ["new"]`, `"from": ["won"]`, "/flows/0/transitions/0/from/0"},
		{`"to": "lost"`, `"to": "gone"`, "/flows/0/transitions/1/to"},
		{`"name": "lose"`, `"name": "propose"`, "/flows/0/transitions/1/name"},
		{`"roles": ["rep"]`, `"roles": ["ceo"]`, "/flows/0/transitions/0/roles/0"},
		{`"evidence": ["nda"]`, `"evidence": ["contract"]`, "/flows/0/transitions/0/evidence/0"},
		{`{"field": "reason", "required": true}`, `{"field": "score"}`, "/flows/0/transitions/1/fields/0/field"},
		{`{"field": "reason", "required": true}`, `{"field": "stage"}`, "/flows/0/transitions/1/fields/0/field"},
		{`"comment": "required"`, `"comment": "maybe"`, "/flows/0/transitions/1/comment"},
		{`"roles": ["director"], "fields"`, `"roles": ["ceo"], "fields"`, "/flows/0/transitions/0/approval/steps/0/approvers/roles/0"},
		{`"fields": ["approver"]`, `"fields": ["title"]`, "/flows/0/transitions/0/approval/steps/0/approvers/fields/0"},
		{`"quorum": 2`, `"quorum": 0`, "/flows/0/transitions/0/approval/steps/0/quorum"},
		{`"mode": "quorum"`, `"mode": "most"`, "/flows/0/transitions/0/approval/steps/0/mode"},
		{`"then": "next"`, `"then": "panic"`, "/flows/0/transitions/0/approval/steps/0/escalate/then"},
		{`"deadline": "1d", `, ``, "/flows/0/transitions/0/approval/steps/0/escalate"},
		{`"approvers": {"roles": ["director"], "fields": ["approver"], "manager": true}`, `"approvers": {}`, "/flows/0/transitions/0/approval/steps/0/approvers"},
		{`"receiver": "approver"`, `"receiver": "title"`, "/flows/0/transitions/2/handover/receiver"},
		{`"message": "lost"`, `"message": ""`, "/flows/0/transitions/1/actions/0/message"},
		{`"guard": "title != null"`, `"guard": 5`, "/flows/0/transitions/0/guard"},
		{`"name": "sales"`, `"name": "sales", "owner": "x"`, "/flows/0/owner"},
	} {
		doc := strings.Replace(goodFlow, c.old, c.new, 1)
		if doc == goodFlow {
			t.Fatalf("%s: nothing replaced", c.old)
		}
		_, problems := Parse([]byte(flowsApp("[" + doc + "]")))
		found := false
		for _, p := range problems {
			found = found || p.Path == c.path
		}
		if !found {
			t.Errorf("%s → %s: want a problem at %s, got %v", c.old, c.new, c.path, problems)
		}
	}
	// One flow per entity.
	second := strings.Replace(goodFlow, `"name": "sales"`, `"name": "other"`, 1)
	_, problems := Parse([]byte(flowsApp("[" + goodFlow + ", " + second + "]")))
	if len(problems) != 1 || problems[0].Path != "/flows/1/entity" {
		t.Errorf("two flows of one entity: %v", problems)
	}
}
