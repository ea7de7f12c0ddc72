package api_test

import (
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// dealApp: reps own their deals; bosses read and update every deal.
// Submitting a deal waits for one of the two bosses.
const dealApp = `{"name": "deals", "entities": [
  {"name": "deal", "fields": [
    {"id": "d1", "name": "title", "type": "text"},
    {"id": "d2", "name": "discount", "type": "integer"},
    {"id": "d3", "name": "stage", "type": "select", "options": ["draft", "approved"]}]}],
 "roles": [
   {"name": "rep", "entities": {"deal": {"create": "own", "read": "own", "update": "own"}}},
   {"name": "boss", "entities": {"deal": {"read": "all", "update": "all"}}}],
 "flows": [{"name": "dealing", "entity": "deal", "field": "stage",
   "states": [{"name": "draft", "labels": {"zh-CN": "草稿"}}, {"name": "approved", "label": "Approved", "labels": {"zh-CN": "已批准"}, "final": true}],
   "transitions": [{"name": "submit", "label": "Submit", "labels": {"zh-CN": "提交审批", "en": "Submit"}, "from": ["draft"], "to": "approved",
     "approval": {"steps": [{"name": "boss", "label": "Boss", "labels": {"zh-CN": "老板审批"}, "approvers": {"users": ["boss1@example.com", "boss2@example.com"]}}]}}]}]}`

// The approvals API: the inbox and its paging, decisions, and every bad
// input — malformed or unknown JSON, wrong types, a reject without its
// comment, a stale version, an unknown decision, a caller who may not
// read the record (the same 404 as an unknown id), the requester (403).
func TestApprovalsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, dealApp)
		_, rep := e.flowUser("rep@example.com", "rep")
		_, other := e.flowUser("other@example.com", "rep")
		_, boss := e.flowUser("boss1@example.com", "boss")
		e.flowUser("boss2@example.com", "boss")

		var ids, deals []string
		for i := 0; i < 3; i++ {
			st, rec := e.doAs(rep, "POST", "/api/data/deals/deal", map[string]any{"title": "Deal " + string(rune('A'+i)), "discount": 20})
			if st != 201 {
				t.Fatalf("create: %d %v", st, rec)
			}
			st, body := e.doAs(rep, "POST", "/api/data/deals/deal/"+str(rec["id"])+"/transitions/submit", map[string]any{"version": 1, "comment": "please"})
			if st != 202 {
				t.Fatalf("submit: %d %v", st, body)
			}
			a := body["approval"].(map[string]any)
			// The inbox names the transition and its steps in every language the document gives.
			if mustJSON(a["transitionLabels"]) != `{"en":"Submit","zh-CN":"提交审批"}` || a["transitionLabel"] != "Submit" {
				t.Fatalf("transition labels: %v", a)
			}
			if s := a["steps"].([]any)[0].(map[string]any); s["label"] != "Boss" || mustJSON(s["labels"]) != `{"zh-CN":"老板审批"}` {
				t.Fatalf("step labels: %v", s)
			}
			if a["fromLabel"] != "draft" || mustJSON(a["fromLabels"]) != `{"zh-CN":"草稿"}` || a["toLabel"] != "Approved" || mustJSON(a["toLabels"]) != `{"zh-CN":"已批准"}` {
				t.Fatalf("state labels: %v", a)
			}
			if a["status"] != "pending" || a["kind"] != "approval" || a["title"] != "Deal "+string(rune('A'+i)) || a["canDecide"] != false {
				t.Fatalf("approval: %v", a)
			}
			ids, deals = append(ids, str(a["id"])), append(deals, str(rec["id"]))
		}
		// The record shows the pending request.
		st, av := e.doAs(rep, "GET", "/api/data/deals/deal/"+deals[0]+"/transitions", nil)
		if st != 200 || av["pending"] == nil || str(av["pending"].(map[string]any)["id"]) != ids[0] {
			t.Fatalf("transitions while pending: %d %v", st, av)
		}

		// The inbox, newest first, two at a time.
		st, page := e.doAs(boss, "GET", "/api/me/approvals?limit=2", nil)
		if st != 200 || len(items(t, page)) != 2 || str(page["nextCursor"]) != ids[1] {
			t.Fatalf("first page: %d %v", st, page)
		}
		if first := items(t, page)[0]; str(first["id"]) != ids[2] || first["canDecide"] != true {
			t.Fatalf("first item: %v", first)
		}
		st, page = e.doAs(boss, "GET", "/api/me/approvals?limit=2&cursor="+ids[1], nil)
		if st != 200 || len(items(t, page)) != 1 || str(page["nextCursor"]) != "" {
			t.Fatalf("second page: %d %v", st, page)
		}
		for _, bad := range []string{"?status=all", "?limit=0", "?limit=101", "?limit=x", "?cursor=" + q("' OR 1=1 --")} {
			st, body := e.doAs(boss, "GET", "/api/me/approvals"+bad, nil)
			wantErr(t, "inbox "+bad, st, body, 400, "invalid_query")
		}
		if st, _ := e.doAs("", "GET", "/api/me/approvals", nil); st != 401 {
			t.Fatalf("inbox without a token: %d", st)
		}
		if st, _ := e.doAs(boss, "DELETE", "/api/me/approvals", nil); st != 405 {
			t.Fatalf("DELETE inbox: %d", st)
		}

		// Bad bodies.
		path := "/api/approvals/" + ids[0]
		for _, bad := range []struct {
			body   string
			status int
			code   string
			at     string
		}{
			{`{"version": `, 400, "invalid_json", ""},
			{``, 400, "invalid_json", ""},
			{`[]`, 400, "invalid_json", ""},
			{`{"version": 1} {}`, 400, "invalid_json", ""},
			{`{"version": 1, "verdict": "yes"}`, 400, "invalid_json", "/verdict"},
			{`{"version": "1"}`, 422, "validation_failed", "/version"},
			{`{"version": 1, "comment": 5}`, 422, "validation_failed", "/comment"},
			{`{"version": 1, "comment": "a", "comment": "b"}`, 422, "validation_failed", "/comment"},
			{`{}`, 422, "validation_failed", "/version"},
			{`{"version": 1, "comment": "` + strings.Repeat("x", 4001) + `"}`, 422, "validation_failed", "/comment"},
		} {
			st, body := e.doAs(boss, "POST", path+"/approve", bad.body)
			wantErr(t, "approve "+clip(bad.body), st, body, bad.status, bad.code)
			if bad.at != "" {
				wantDetail(t, "approve "+clip(bad.body), body, bad.at)
			}
		}
		st, body := e.doAs(boss, "POST", path+"/reject", map[string]any{"version": 1})
		wantErr(t, "reject without comment", st, body, 422, "validation_failed")
		wantDetail(t, "reject without comment", body, "/comment")
		st, body = e.doAs(boss, "POST", path+"/delegate", map[string]any{"version": 1, "to": "ghost@example.com"})
		wantErr(t, "delegate to nobody", st, body, 422, "validation_failed")
		wantDetail(t, "delegate to nobody", body, "/to")
		st, body = e.doAs(boss, "POST", path+"/veto", map[string]any{"version": 1})
		wantErr(t, "unknown decision", st, body, 404, "not_found")
		st, body = e.doAs(boss, "POST", path+"/approve", map[string]any{"version": 7})
		wantErr(t, "stale version", st, body, 409, "version_conflict")
		st, body = e.doAs(rep, "POST", path+"/approve", map[string]any{"version": 1})
		wantErr(t, "the requester approves", st, body, 403, "forbidden")
		st, body = e.doAs(boss, "POST", path+"/withdraw", map[string]any{"version": 1})
		wantErr(t, "a boss withdraws", st, body, 403, "forbidden")

		// Another rep may not read the deal: the same 404 as an unknown id.
		st, hidden := e.doAs(other, "POST", path+"/approve", map[string]any{"version": 1})
		wantErr(t, "other rep", st, hidden, 404, "not_found")
		unknown := "01aaaaaaaaaaaaaaaaaaaaaaaa"
		st, missing := e.doAs(other, "POST", "/api/approvals/"+unknown+"/approve", map[string]any{"version": 1})
		wantErr(t, "unknown id", st, missing, 404, "not_found")
		if a, b := strings.ReplaceAll(mustJSON(hidden), ids[0], "X"), strings.ReplaceAll(mustJSON(missing), unknown, "X"); a != b {
			t.Fatalf("the two 404s differ:\n%s\n%s", a, b)
		}
		st, body = e.doAs(other, "GET", path, nil)
		wantErr(t, "other rep reads", st, body, 404, "not_found")
		for _, s := range []string{"pending", "decided", "mine"} {
			if st, page := e.doAs(other, "GET", "/api/me/approvals?status="+s, nil); st != 200 || len(items(t, page)) != 0 {
				t.Fatalf("other rep's %s inbox: %d %v", s, st, page)
			}
		}

		// Nothing above changed the request: the boss approves it.
		st, body = e.doAs(boss, "POST", path+"/approve", map[string]any{"version": 1, "comment": "good deal"})
		if st != 200 || body["status"] != "approved" || body["canDecide"] != false {
			t.Fatalf("approve: %d %v", st, body)
		}
		if rec := e.do2(200, "GET", "/api/data/deals/deal/"+deals[0], nil); rec["stage"] != "approved" {
			t.Fatalf("the deal did not move: %v", rec)
		}
		st, body = e.doAs(boss, "POST", path+"/approve", map[string]any{"version": 2})
		wantErr(t, "approve twice", st, body, 409, "version_conflict")
		hist := items(t, e.do2(200, "GET", "/api/data/deals/deal/"+deals[0]+"/history", nil))
		ops := []string{}
		for _, h := range hist {
			ops = append(ops, str(h["op"])+":"+str(h["comment"]))
		}
		if got := strings.Join(ops, ","); !strings.HasPrefix(got, "update:please,approve:good deal,request:please,create:") {
			t.Fatalf("history (newest first): %s", got)
		}
		if st, page := e.doAs(boss, "GET", "/api/me/approvals?status=decided", nil); st != 200 || len(items(t, page)) != 1 {
			t.Fatalf("decided: %d %v", st, page)
		}
		if st, page := e.doAs(rep, "GET", "/api/me/approvals?status=mine", nil); st != 200 || len(items(t, page)) != 3 {
			t.Fatalf("mine: %d %v", st, page)
		}
		audit := e.do2(200, "GET", "/api/admin/audit?action=approval_approve", nil)
		if n := len(items(t, audit)); n != 1 {
			t.Fatalf("audit entries of approvals: %d", n)
		}
		// The requester withdraws another.
		st, body = e.doAs(rep, "POST", "/api/approvals/"+ids[1]+"/withdraw", map[string]any{"version": 1})
		if st != 200 || body["status"] != "withdrawn" {
			t.Fatalf("withdraw: %d %v", st, body)
		}
	})
}
