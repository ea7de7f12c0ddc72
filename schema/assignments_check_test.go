package schema

import (
	"strings"
	"testing"
)

const assignmentsDoc = `{"name": "crm", "entities": [
  {"name": "lead", "fields": [
    {"id": "l1", "name": "name", "type": "text"},
    {"id": "l2", "name": "industry", "type": "text"},
    {"id": "l3", "name": "region", "type": "text"},
    {"id": "l4", "name": "rep", "type": "user"},
    {"id": "l5", "name": "contacted_at", "type": "datetime"},
    {"id": "l6", "name": "budget", "type": "decimal"}]},
  {"name": "deal", "fields": [
    {"id": "d1", "name": "stage", "type": "select", "options": ["open", "won", "lost"]},
    {"id": "d2", "name": "sector", "type": "text"}]}],
 "assignments": RULES}`

func assignmentsApp(rules string) string { return strings.Replace(assignmentsDoc, "RULES", rules, 1) }

const validRule = `{"name": "leads", "entity": "lead", "field": "rep", "strategy": "score",
  "candidates": {"roles": ["rep"], "teams": ["east"], "condition": "skills ~ \"retail\""},
  "score": "win * 10 - load", "capacity": 30, "open": "contacted_at = null",
  "statistics": [{"name": "load", "kind": "openLoad"},
    {"name": "win", "kind": "winRate", "entity": "deal", "won": "stage = \"won\"", "closed": "stage in [\"won\", \"lost\"]", "by": "industry", "byField": "sector", "days": 90},
    {"name": "resp", "kind": "medianResponse", "to": "contacted_at"},
    {"name": "same_region", "kind": "fieldMatch", "field": "region", "attribute": "region"},
    {"name": "skill", "kind": "skillsMatch", "field": "industry"}],
  "workingHours": {"timeZone": "Asia/Shanghai", "from": "09:00", "to": "18:00"},
  "fallbacks": [{"roles": ["manager"]}], "reassigners": ["manager"],
  "pool": {"name": "hot", "deadline": "2h", "dailyLimit": 5, "timeZone": "UTC"},
  "countdown": {"until": "contacted_at", "within": "4h", "steps": [{"after": "4h", "do": "remind"}, {"after": "5h", "do": "notifyManager"}, {"after": "6h", "do": "reassign"}]},
  "variants": [{"name": "rr", "weight": 1, "strategy": "roundRobin"}, {"name": "score", "weight": 1, "strategy": "score"}]}`

func TestAssignmentsValid(t *testing.T) {
	app, problems := Parse([]byte(assignmentsApp("[" + validRule + "]")))
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if r := app.Assignment("leads"); r == nil || r.UserField() != "rep" || len(r.Statistics) != 5 {
		t.Fatalf("rule = %+v", r)
	}
}

func TestAssignmentsProblems(t *testing.T) {
	for _, c := range []struct{ from, to, path, code string }{
		{`"entity": "lead", "field"`, `"entity": "leed", "field"`, "/assignments/0/entity", "unknown_entity"},
		{`"field": "rep"`, `"field": "name"`, "/assignments/0/field", "type"},
		{`"field": "rep"`, `"field": "nope"`, "/assignments/0/field", "unknown_field"},
		{`"roles": ["rep"]`, `"roles": ["sales_rep"]`, "/assignments/0/candidates/roles/0", "unknown_role"},
		{`"fallbacks": [{"roles": ["manager"]}]`, `"fallbacks": [{"roles": ["boss"]}]`, "/assignments/0/fallbacks/0/roles/0", "unknown_role"},
		{`"reassigners": ["manager"]`, `"reassigners": ["boss"]`, "/assignments/0/reassigners/0", "unknown_role"},
		{`{"name": "skill"`, `{"name": "load"`, "/assignments/0/statistics/4/name", "duplicate_name"},
		{`"won": "stage = \"won\"", `, ``, "/assignments/0/statistics/1/won", "assignment"},
		{`"byField": "sector"`, `"byField": "sectr"`, "/assignments/0/statistics/1/byField", "unknown_field"},
		{`"entity": "deal"`, `"entity": "dael"`, "/assignments/0/statistics/1/entity", "unknown_entity"},
		{`{"name": "resp", "kind": "medianResponse", "to": "contacted_at"}`, `{"name": "resp", "kind": "medianResponse"}`, "/assignments/0/statistics/2/to", "assignment"},
		{`"kind": "medianResponse", "to": "contacted_at"`, `"kind": "medianResponse", "to": "name"`, "/assignments/0/statistics/2/to", "type"},
		{`"kind": "skillsMatch", "field": "industry"`, `"kind": "skillsMatch", "field": "industri"`, "/assignments/0/statistics/4/field", "unknown_field"},
		{`"score": "win * 10 - load", `, ``, "/assignments/0/score", "assignment"},
		{`"to": "18:00"`, `"to": "08:00"`, "/assignments/0/workingHours/to", "assignment"},
		{`"Asia/Shanghai"`, `"Mars/Olympus"`, "/assignments/0/workingHours/timeZone", "format"},
		{`"deadline": "2h"`, `"deadline": "2 hours"`, "/assignments/0/pool/deadline", "format"},
		{`"within": "4h"`, `"within": "-4h"`, "/assignments/0/countdown/within", "format"},
		{`"until": "contacted_at"`, `"until": "budget"`, "/assignments/0/countdown/until", "type"},
		{`{"after": "5h", "do": "notifyManager"}`, `{"after": "3h", "do": "notifyManager"}`, "/assignments/0/countdown/steps/1/after", "assignment"},
		{`, {"name": "score", "weight": 1, "strategy": "score"}`, ``, "/assignments/0/variants", "automation"},
		{`{"name": "score", "weight": 1`, `{"name": "rr", "weight": 1`, "/assignments/0/variants/1/name", "duplicate_name"},
	} {
		rule := strings.Replace(validRule, c.from, c.to, 1)
		if rule == validRule {
			t.Fatalf("%q not in the rule", c.from)
		}
		_, problems := Parse([]byte(assignmentsApp("[" + rule + "]")))
		found := false
		for _, p := range problems {
			if p.Path == c.path && p.Code == c.code {
				found = true
			}
		}
		if !found {
			t.Errorf("%s → %s: want %s at %s, got %v", c.from, c.to, c.code, c.path, problems)
		}
	}
	_, problems := Parse([]byte(assignmentsApp("[" + validRule + ", " + validRule + "]")))
	if len(problems) != 2 || problems[0].Path != "/assignments/1/name" || problems[1].Path != "/assignments/1/countdown" {
		t.Fatalf("duplicate rule (and a second countdown on lead): %v", problems)
	}
}
