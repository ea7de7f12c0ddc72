package templates_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// TestPipelineScenario walks one lead of the sales-pipeline template from
// the website's form to a won deal through the HTTP API, as the people of
// the three roles, on the test clock: the web-form endpoint keeps the
// source, the grading hook grades it, the inbound rule assigns it, the
// golden-4-hours countdown reminds, tells the manager and reassigns when
// nobody calls, first contact stops it, qualification re-grades it, the
// two-signature hand-over moves it only once the receiver accepts, a
// visit with check-in photo and location leaves a task, the opportunity's
// stages are refused without their evidence and allowed with it, a 25 %
// quote needs the manager and then the executive, an opened quote without
// reply alerts after 72 h, and the won deal moves the funnel and the
// forecast. Every refusal is checked to change nothing.
func TestPipelineScenario(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			s := newScen(t, "pipeline", dialect)
			app := "/api/data/pipeline/"

			// The web-form connector: the admin turns the plugin on and
			// reads the endpoint's token.
			s.must(200, "admin", "PUT", "/api/meta/apps/pipeline/plugins/webform", map[string]any{"enabled": true})
			ep := s.must(200, "admin", "GET", "/api/meta/apps/pipeline/connectors/website-form", nil)
			if ep["path"] != "/api/in/pipeline/website-form" || str(ep["token"]) == "" {
				t.Fatalf("website-form endpoint: %v", ep)
			}
			submission := url.Values{"name": {"张伟"}, "company": {"苏州精工汽配"}, "email": {"zhang.wei@jinggong.example.cn"},
				"phone": {"13800000001"}, "city": {"华东"}, "_token": {str(ep["token"])}}

			// Bad submissions write nothing: a wrong token, the honeypot.
			bad := url.Values{}
			for k, v := range submission {
				bad[k] = v
			}
			bad.Set("_token", "not-the-token")
			if st, body := s.form("/api/in/pipeline/website-form", bad); st != 401 {
				t.Errorf("a wrong token: %d %v, want 401", st, body)
			}
			bot := url.Values{}
			for k, v := range submission {
				bot[k] = v
			}
			bot.Set("website", "http://spam.example")
			if st, body := s.form("/api/in/pipeline/website-form", bot); st >= 300 {
				t.Errorf("the honeypot: %d %v, want a quiet success", st, body)
			}
			if n := len(s.all("lead")); n != 0 {
				t.Fatalf("leads after a wrong token and a bot: %d, want 0", n)
			}

			if st, body := s.form("/api/in/pipeline/website-form", submission); st != 202 {
				t.Fatalf("the website's form: %d %v", st, body)
			}
			leads := s.list("admin", "lead", `email = "zhang.wei@jinggong.example.cn"`)
			if len(leads) != 1 {
				t.Fatalf("leads from the form: %v", leads)
			}
			lead := leads[0]
			leadID := str(lead["id"])
			// Source kept; graded on arrival (no industry, budget or visits
			// yet: a C lead, with the reason); city mapped to region.
			if lead["source"] != "web_form" || lead["status"] != "new" || lead["grade"] != "C" ||
				lead["grade_reason"] != "C / - / <100k / 0 product-page visits" || lead["region"] != "华东" {
				t.Fatalf("the web-form lead: %v", lead)
			}

			// A C lead is routed by the inbound rule (score) to a rep.
			reps := []string{s.ids["rep1"], s.ids["rep2"], s.ids["rep3"]}
			var first string
			s.eventually("the inbound rule assigns the lead", func() bool {
				first = str(s.rec("admin", "lead", leadID)["owner"])
				return slices.Contains(reps, first)
			})
			decisions := items(s.must(200, "admin", "GET", app+"lead/"+leadID+"/assignments", nil))
			if len(decisions) != 1 || decisions[0]["rule"] != "inbound" || decisions[0]["strategy"] != "score" || str(decisions[0]["winner"]) != first {
				t.Fatalf("the assignment decision: %v", decisions)
			}
			firstRep := s.names[first]
			firstMgr := map[string]string{"rep1": "mgr", "rep2": "mgr", "rep3": "mgr2"}[firstRep]
			// The rep sees it; another team's manager does not.
			s.rec(firstRep, "lead", leadID)
			other := map[string]string{"mgr": "mgr2", "mgr2": "mgr"}[firstMgr]
			if st, _ := s.do(other, "GET", app+"lead/"+leadID, nil); st != 404 && st != 403 {
				t.Errorf("%s reads a lead of another team: %d", other, st)
			}

			// The rep's app document carries the inbound rule's countdown
			// (until contacted_at, within 4 h), so the lead shows the time
			// left; not the rule's scoring or candidates.
			doc := s.must(200, firstRep, "GET", "/api/meta/apps/pipeline", nil)
			shown := false
			for _, a := range doc["assignments"].([]any) {
				a := a.(map[string]any)
				if cd, _ := a["countdown"].(map[string]any); a["name"] == "inbound" && cd != nil {
					shown = cd["until"] == "contacted_at" && cd["within"] == "4h"
				}
				if cand, _ := a["candidates"].(map[string]any); a["score"] != nil || a["statistics"] != nil || len(cand) > 0 {
					t.Errorf("a rep's document shows the rule's internals: %v", a)
				}
			}
			if !shown {
				t.Errorf("the rep's document has no golden-hours countdown: %v", doc["assignments"])
			}

			// The golden 4 hours: nothing before; at 4 h the owner is
			// reminded, at 5 h their manager is told, at 6 h it goes to
			// another rep.
			remind := "黄金4小时已到，请立即联系 张伟"
			told := "线索 张伟 超过5小时未联系"
			s.tickTo(3*time.Hour + 59*time.Minute)
			s.settle()
			if ns := s.notes(firstRep, leadID); len(ns) != 0 {
				t.Errorf("notifications before 4 h: %v", ns)
			}
			s.tickTo(4 * time.Hour)
			s.eventually("the 4-hour reminder", func() bool { return slices.Contains(s.notes(firstRep, leadID), remind) })
			if ns := s.notes(firstMgr, leadID); slices.Contains(ns, told) {
				t.Errorf("the manager told at 4 h: %v", ns)
			}
			s.tickTo(5 * time.Hour)
			s.eventually("the 5-hour notice to the manager", func() bool { return slices.Contains(s.notes(firstMgr, leadID), told) })
			if owner := str(s.rec("admin", "lead", leadID)["owner"]); owner != first {
				t.Errorf("owner changed before 6 h: %s", owner)
			}
			s.tickTo(6 * time.Hour)
			var second string
			s.eventually("the 6-hour reassignment", func() bool {
				second = str(s.rec("admin", "lead", leadID)["owner"])
				return second != first
			})
			if !slices.Contains(reps, second) {
				t.Fatalf("reassigned to %s (%s), want another rep", second, s.names[second])
			}
			rep := s.names[second]
			mgr := map[string]string{"rep1": "mgr", "rep2": "mgr", "rep3": "mgr2"}[rep]

			// The former owner can no longer move it; the new one records
			// the first contact, which stamps contacted_at and stops the
			// countdown.
			if st, _ := s.take(firstRep, "lead", leadID, "contact", nil); st < 400 {
				t.Errorf("the former owner took contact: %d", st)
			}
			if got := s.rec("admin", "lead", leadID); got["status"] != "new" || got["contacted_at"] != nil {
				t.Fatalf("after a refused contact: %v", got)
			}
			s.tickTo(6*time.Hour + 30*time.Minute)
			if st, body := s.take(rep, "lead", leadID, "contact", nil); st != 200 {
				t.Fatalf("first contact: %d %v", st, body)
			}
			got := s.rec(rep, "lead", leadID)
			if got["status"] != "contacted" || !strings.HasPrefix(str(got["contacted_at"]), "2030-01-07T08:00:00") {
				t.Fatalf("after first contact: status %v contacted_at %v", got["status"], got["contacted_at"])
			}
			s.tickTo(13 * time.Hour)
			s.settle()
			if owner := str(s.rec("admin", "lead", leadID)["owner"]); owner != second {
				t.Errorf("reassigned after first contact: %s", owner)
			}

			// Qualification needs industry and budget; filling them
			// re-grades the lead.
			if st, body := s.take(rep, "lead", leadID, "qualify", nil); st != 422 && st != 409 {
				t.Errorf("qualify without industry and budget: %d %v, want a refusal", st, body)
			}
			if got := s.rec(rep, "lead", leadID); got["status"] != "contacted" {
				t.Fatalf("after a refused qualify: %v", got["status"])
			}
			got = s.patch(rep, "lead", leadID, map[string]any{"industry": "auto_parts", "budget": 600000, "page_visits": 3})
			if got["grade"] != "A" || got["grade_reason"] != "A / auto parts / ≥500k / 3 product-page visits" || got["source"] != "web_form" {
				t.Errorf("re-graded: %v / %v, source %v", got["grade"], got["grade_reason"], got["source"])
			}
			if st, body := s.take(rep, "lead", leadID, "qualify", nil); st != 200 {
				t.Fatalf("qualify: %d %v", st, body)
			}

			// The two-signature hand-over: without the blocker it is
			// refused; with every field it waits for the receiver, and
			// ownership moves only when they accept.
			receiver := map[string]string{"rep1": "rep2", "rep2": "rep1", "rep3": "rep1"}[rep]
			// A rep reads a lead they own or are named to receive: the
			// request itself names the receiver, who reads the lead while
			// it is pending.
			if st, _ := s.do(receiver, "GET", app+"lead/"+leadID, nil); st != 404 {
				t.Errorf("%s reads a lead before being named its receiver: %d", receiver, st)
			}
			hand := map[string]any{"receiver": s.ids[receiver], "core_needs": "MES 与质量追溯", "approach": "先做一条产线的 POC"}
			if st, body := s.take(rep, "lead", leadID, "hand_over", hand); st != 422 || !strings.Contains(mustJSON(t, body), "blocker") {
				t.Errorf("hand-over without the blocker: %d %v", st, body)
			}
			if got := s.rec("admin", "lead", leadID); str(got["owner"]) != second || got["blocker"] != nil {
				t.Fatalf("after a refused hand-over: %v", got)
			}
			hand["blocker"] = "IT 部门担心与现有 ERP 的接口"
			st, body := s.take(rep, "lead", leadID, "hand_over", hand)
			if st != 202 {
				t.Fatalf("hand-over: %d %v", st, body)
			}
			handover := body["approval"].(map[string]any)
			if handover["kind"] != "handover" || handover["status"] != "pending" {
				t.Fatalf("the hand-over request: %v", handover)
			}
			if owner := str(s.rec("admin", "lead", leadID)["owner"]); owner != second {
				t.Fatalf("ownership moved before the receiver accepted: %s", owner)
			}
			if got := s.rec(receiver, "lead", leadID); str(got["receiver"]) != s.ids[receiver] {
				t.Fatalf("%s reads the pending lead: %v", receiver, got)
			}
			if st, _ := s.decide(rep, str(handover["id"]), "approve"); st < 400 {
				t.Errorf("the giver accepted their own hand-over: %d", st)
			}
			if st, body := s.decide(receiver, str(handover["id"]), "approve"); st != 200 {
				t.Fatalf("the receiver accepts: %d %v", st, body)
			}
			got = s.rec(receiver, "lead", leadID)
			if str(got["owner"]) != s.ids[receiver] || got["blocker"] != hand["blocker"] || got["status"] != "qualified" {
				t.Fatalf("after the hand-over: %v", got)
			}
			rep, mgr = receiver, map[string]string{"rep1": "mgr", "rep2": "mgr"}[receiver]

			// Conversion creates the customer from the lead.
			if st, body := s.take(rep, "lead", leadID, "convert", nil); st != 200 {
				t.Fatalf("convert: %d %v", st, body)
			}
			var accounts []map[string]any
			s.eventually("the customer from the lead", func() bool {
				accounts = s.list("admin", "account", `source_lead = "`+leadID+`"`)
				return len(accounts) == 1
			})
			acct := accounts[0]
			if acct["name"] != "苏州精工汽配" || acct["industry"] != "auto_parts" || acct["region"] != "华东" {
				t.Errorf("the customer: %v", acct)
			}
			acctID := str(acct["id"])

			// Background: a deal of another team, so the slices differ.
			other3 := s.create("rep3", "account", map[string]any{"name": "广州明达电子", "industry": "software"})
			s.create("rep3", "opportunity", map[string]any{"title": "明达 CRM", "account": other3["id"], "amount": 300000})

			opp := s.create(rep, "opportunity", map[string]any{"title": "精工 MES 一期", "account": acctID, "lead": leadID, "amount": 800000,
				"expected_close": "2030-03-31"})
			oppID := str(opp["id"])
			if opp["stage"] != "discovery" || str(opp["probability"]) != "10" || str(opp["industry"]) != "auto_parts" {
				t.Fatalf("the new opportunity: %v", opp)
			}

			// A visit: on site it needs its check-in location; with photo
			// and location it is kept and its next step becomes a task.
			photo := s.upload(rep, "checkin.jpg", "\xff\xd8\xff\xe0 photo")
			visit := map[string]any{"opportunity": oppID, "kind": "visit", "visited_at": "2030-01-08T02:00:00Z",
				"needs_found": "质量追溯到批次", "objections": "价格高于预期", "next_step": "安排 POC 环境", "checkin_photo": photo}
			if st, body := s.do(rep, "POST", app+"visit", visit); st != 422 || !strings.Contains(mustJSON(t, body), "latitude") {
				t.Errorf("an on-site visit without location: %d %v", st, body)
			}
			if n := len(s.all("visit")); n != 0 {
				t.Fatalf("visits after a refused one: %d", n)
			}
			visit["latitude"], visit["longitude"], visit["address"] = 31.298886, 120.585316, "苏州工业园区星湖街 328 号"
			v := s.create(rep, "visit", visit)
			if str(v["checkin_photo"]) == "" || str(v["latitude"]) != "31.298886" {
				t.Errorf("the visit: %v", v)
			}
			s.eventually("the visit's next step becomes a task", func() bool {
				ts := s.list("admin", "task", `opportunity = "`+oppID+`"`)
				return len(ts) == 1 && ts[0]["title"] == "安排 POC 环境" && ts[0]["due"] == "2030-01-11"
			})

			// Evidence-gated stages: each move is refused without its
			// evidence (nothing changes) and taken with it.
			for _, step := range []struct {
				transition, field, to string
				evidence              func() any
			}{
				{"sign_nda", "nda_file", "nda", func() any { return s.upload(rep, "nda.pdf", "%PDF-1.4 signed") }},
				{"start_poc", "poc_environment", "poc", func() any { return "https://poc.jinggong.example.cn" }},
				{"hold_review", "review_minutes", "review", func() any { return s.upload(rep, "review.pdf", "%PDF-1.4 minutes") }},
			} {
				before := s.rec("admin", "opportunity", oppID)
				st, body := s.take(rep, "opportunity", oppID, step.transition, nil)
				if st < 400 || !strings.Contains(mustJSON(t, body), step.field) {
					t.Fatalf("%s without %s: %d %v", step.transition, step.field, st, body)
				}
				if after := s.rec("admin", "opportunity", oppID); after["stage"] != before["stage"] || str(after["version"]) != str(before["version"]) {
					t.Fatalf("%s refused, yet the opportunity changed: %v → %v", step.transition, before, after)
				}
				s.patch(rep, "opportunity", oppID, map[string]any{step.field: step.evidence()})
				if st, body := s.take(rep, "opportunity", oppID, step.transition, nil); st != 200 {
					t.Fatalf("%s with %s: %d %v", step.transition, step.field, st, body)
				}
				if got := s.rec(rep, "opportunity", oppID); got["stage"] != step.to {
					t.Fatalf("after %s: stage %v", step.transition, got["stage"])
				}
			}
			// Key events raise the win probability: review 30 + CTO 30 + CFO 25.
			got = s.patch(rep, "opportunity", oppID, map[string]any{"cto_joined": true, "cfo_confirmed": true})
			if str(got["probability"]) != "85" || !dec(t, got["weighted"]).Equal(decimal.NewFromInt(680000)) {
				t.Errorf("probability %v weighted %v, want 85 and 680000", got["probability"], got["weighted"])
			}
			if st, body := s.take(rep, "opportunity", oppID, "negotiate", nil); st != 200 {
				t.Fatalf("negotiate: %d %v", st, body)
			}
			// Negotiation's base is 35: 35 + 30 + 25.
			if got := s.rec(rep, "opportunity", oppID); str(got["probability"]) != "90" || !dec(t, got["weighted"]).Equal(decimal.NewFromInt(720000)) {
				t.Errorf("in negotiation: probability %v weighted %v, want 90 and 720000", got["probability"], got["weighted"])
			}

			// A quote at 25 % needs the manager, then the executive; the
			// rep cannot approve it, nor the executive before the manager.
			quote := s.create(rep, "quote", map[string]any{"opportunity": oppID, "list_price": 1000000, "discount_pct": 25})
			quoteID := str(quote["id"])
			if !dec(t, quote["net_price"]).Equal(decimal.NewFromInt(750000)) {
				t.Errorf("net price %v", quote["net_price"])
			}
			st, body = s.take(rep, "quote", quoteID, "submit", nil)
			if st != 202 {
				t.Fatalf("submit the 25%% quote: %d %v", st, body)
			}
			approval := body["approval"].(map[string]any)
			approvalID := str(approval["id"])
			if steps, _ := approval["steps"].([]any); len(steps) != 2 {
				t.Fatalf("the 25%% quote's steps: %v", approval["steps"])
			}
			if st, _ := s.decide(rep, approvalID, "approve"); st < 400 {
				t.Errorf("the rep approved their own discount: %d", st)
			}
			if st, _ := s.decide("boss", approvalID, "approve"); st < 400 {
				t.Errorf("the executive decided before the manager's step: %d", st)
			}
			if got := s.rec("admin", "quote", quoteID); got["status"] != "draft" {
				t.Fatalf("quote after refused decisions: %v", got["status"])
			}
			if st, body := s.decide(mgr, approvalID, "approve"); st != 200 {
				t.Fatalf("the manager approves: %d %v", st, body)
			}
			if got := s.rec("admin", "quote", quoteID); got["status"] != "draft" {
				t.Fatalf("a 25%% quote approved by the manager alone: %v", got["status"])
			}
			if st, body := s.decide("boss", approvalID, "approve"); st != 200 {
				t.Fatalf("the executive approves: %d %v", st, body)
			}
			if got := s.rec(rep, "quote", quoteID); got["status"] != "approved" {
				t.Fatalf("after both approvals: %v", got["status"])
			}
			// At 15 % the manager's step alone; at 5 % no step at all.
			q15 := s.create(rep, "quote", map[string]any{"opportunity": oppID, "list_price": 1000000, "discount_pct": 15})
			st, body = s.take(rep, "quote", str(q15["id"]), "submit", nil)
			if st != 202 {
				t.Fatalf("submit the 15%% quote: %d %v", st, body)
			}
			if st, body := s.decide(mgr, str(body["approval"].(map[string]any)["id"]), "approve"); st != 200 {
				t.Fatalf("the manager approves 15%%: %d %v", st, body)
			}
			if got := s.rec(rep, "quote", str(q15["id"])); got["status"] != "approved" {
				t.Errorf("15%% after the manager: %v", got["status"])
			}
			q5 := s.create(rep, "quote", map[string]any{"opportunity": oppID, "list_price": 1000000, "discount_pct": 5})
			if st, body := s.take(rep, "quote", str(q5["id"]), "submit", nil); st != 200 {
				t.Fatalf("submit the 5%% quote: %d %v", st, body)
			}

			// The 72-hour silence alert: the quote is sent and opened; 72 h
			// without a reply tells the owner and the manager.
			if st, body := s.take(rep, "quote", quoteID, "send", nil); st != 200 {
				t.Fatalf("send: %d %v", st, body)
			}
			opened := scenT0.Add(14 * time.Hour)
			s.tickTo(14 * time.Hour)
			s.patch(rep, "quote", quoteID, map[string]any{"opened_at": opened.Format(time.RFC3339)})
			silence := "报价已被打开72小时仍无回复：750000"
			hasSilence := func(who string) bool {
				for _, n := range s.notes(who, quoteID) {
					if strings.HasPrefix(n, "报价已被打开72小时仍无回复") {
						return true
					}
				}
				return false
			}
			s.tickTo(14*time.Hour + 71*time.Hour)
			s.settle()
			if hasSilence(mgr) {
				t.Errorf("silence alert at 71 h")
			}
			s.tickTo(14*time.Hour + 72*time.Hour)
			s.eventually("the silence alert to the manager", func() bool { return hasSilence(mgr) })
			s.eventually("the silence alert to the owner", func() bool { return hasSilence(rep) })
			_ = silence

			// The won deal moves the funnel and the forecast, in every
			// viewer's slice that holds it.
			before := map[string]map[string]any{}
			for _, who := range []string{rep, mgr, "boss"} {
				before[who] = s.must(200, who, "GET", "/api/dash/pipeline/pipeline", nil)
			}
			if st, body := s.take(rep, "opportunity", oppID, "win", nil); st != 200 {
				t.Fatalf("win: %d %v", st, body)
			}
			won := s.rec(rep, "opportunity", oppID)
			if won["stage"] != "won" || won["closed_on"] != "2030-01-10" || str(won["probability"]) != "100" {
				t.Fatalf("the won deal: %v", won)
			}
			if ltv := s.rec(rep, "account", acctID)["ltv"]; !dec(t, ltv).Equal(decimal.NewFromInt(800000)) {
				t.Errorf("the customer's LTV after the win: %v", ltv)
			}
			amount, weighted := decimal.NewFromInt(800000), decimal.NewFromInt(720000)
			for _, who := range []string{rep, mgr, "boss"} {
				after := s.must(200, who, "GET", "/api/dash/pipeline/pipeline", nil)
				b, a := s.figures("pipeline", before[who]), s.figures("pipeline", after)
				check := func(key string, want decimal.Decimal) {
					t.Helper()
					if got := a[key].Sub(b[key]); !got.Equal(want) {
						t.Errorf("%s: %s moved by %s (from %s to %s), want %s", who, key, got, b[key], a[key], want)
					}
				}
				check("open_pipeline", amount.Neg())
				check("weighted_forecast", weighted.Neg())
				check("won_this_quarter", amount)
				check("funnel/negotiation/deals", decimal.NewFromInt(-1))
				check("funnel/won/deals", decimal.NewFromInt(1))
				check("won_by_month/2030-01/won", amount)
				check("forecast_by_rep/"+s.ids[rep]+"/pipeline", amount.Neg())
				check("forecast_by_rep/"+s.ids[rep]+"/weighted", weighted.Neg())
			}
			// The other team's deal stays where it was, for the executive.
			if a := s.figures("pipeline", s.must(200, "boss", "GET", "/api/dash/pipeline/pipeline", nil)); !a["funnel/discovery/deals"].Equal(decimal.NewFromInt(1)) ||
				!a["open_pipeline"].Equal(decimal.NewFromInt(300000)) {
				t.Errorf("the executive's open pipeline after the win: %v", a)
			}
		})
	}
}
