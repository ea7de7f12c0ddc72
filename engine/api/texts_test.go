package api_test

import (
	"testing"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// textsApp (app crm, entity opportunity, as take expects) words a validation, a guard and a notify action in zh-CN and
// en; the single strings (Chinese) are the fallback. The rule "no_x" has
// no variants.
const textsApp = `{"name": "crm", "entities": [
  {"name": "opportunity", "fields": [
    {"id": "d1", "name": "title", "type": "text", "required": true},
    {"id": "d2", "name": "amount", "type": "decimal"},
    {"id": "d3", "name": "stage", "type": "select", "options": ["open", "qualified"]}],
   "validations": [
    {"expr": "amount == null || amount >= 0", "field": "amount", "message": "金额不能为负",
     "messages": {"zh-CN": "金额不能为负", "en": "The amount cannot be negative"}},
    {"expr": "title != \"x\"", "field": "title", "message": "名称不能是 x"}]}],
 "flows": [{"name": "sales", "entity": "opportunity", "field": "stage", "states": [{"name": "open"}, {"name": "qualified", "final": true}],
   "transitions": [{"name": "qualify", "from": ["open"], "to": "qualified", "guard": "amount > 0",
     "guardMessage": "请先填写金额", "guardMessages": {"zh-CN": "请先填写金额", "en": "Enter the amount first"},
     "actions": [{"type": "notify", "to": {"owner": true}, "message": "已确认：{{title}}", "messages": {"zh-CN": "已确认：{{title}}", "en": "Qualified: {{title}}"}}]}]}]}`

// detailMessage is the message of the error's detail at path.
func detailMessage(t *testing.T, body map[string]any, path string) string {
	t.Helper()
	eo, _ := body["error"].(map[string]any)
	ds, _ := eo["details"].([]any)
	for _, d := range ds {
		m, _ := d.(map[string]any)
		if m["path"] == path {
			return str(m["message"])
		}
	}
	t.Fatalf("no detail at %s: %v", path, body)
	return ""
}

// TestTextsInReadersLanguage: a failed validation, a guard that does not
// hold (on taking the transition and in the list of transitions) and a
// notification answer in the language of Accept-Language, else in the
// single string; a bad write changes nothing in any language.
func TestTextsInReadersLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvJobs(t, db, textsApp, &jobs.Options{})
		for _, c := range []struct{ lang, rule, fallback string }{
			{"en", "The amount cannot be negative", "名称不能是 x"},
			{"en-GB,en;q=0.9", "The amount cannot be negative", "名称不能是 x"},
			{"zh-CN,zh;q=0.9,en;q=0.8", "金额不能为负", "名称不能是 x"},
			{"zh-TW", "金额不能为负", "名称不能是 x"},
			{"", "金额不能为负", "名称不能是 x"}, // no language asked: the single string
		} {
			e.lang = c.lang
			st, body := e.do("POST", "/api/data/crm/opportunity", map[string]any{"title": "x", "amount": "-5"})
			if st != 422 {
				t.Fatalf("%q: %d %v", c.lang, st, body)
			}
			if got := detailMessage(t, body, "/amount"); got != c.rule {
				t.Errorf("%q: rule message %q, want %q", c.lang, got, c.rule)
			}
			if got := detailMessage(t, body, "/title"); got != c.fallback {
				t.Errorf("%q: rule without variants %q, want %q", c.lang, got, c.fallback)
			}
		}
		if n := e.count("crm/opportunity"); n != 0 {
			t.Fatalf("a refused write stored %d records", n)
		}

		e.lang = ""
		deal := e.do2(201, "POST", "/api/data/crm/opportunity", map[string]any{"title": "Acme"})
		id := str(deal["id"])
		for _, c := range []struct{ lang, want string }{{"en", "Enter the amount first"}, {"zh-CN", "请先填写金额"}} {
			e.lang = c.lang
			st, body := e.take(e.token, id, "qualify", map[string]any{"version": version(t, deal)})
			if st != 422 {
				t.Fatalf("%s: take: %d %v", c.lang, st, body)
			}
			if got := detailMessage(t, body, "/guard"); got != c.want {
				t.Errorf("%s: guard message %q, want %q", c.lang, got, c.want)
			}
			av := e.do2(200, "GET", "/api/data/crm/opportunity/"+id+"/transitions", nil)
			opt := items(t, av)[0]
			lacks, _ := opt["lacks"].([]any)
			if len(lacks) != 1 || lacks[0].(map[string]any)["message"] != c.want {
				t.Errorf("%s: listed lacks %v, want %q", c.lang, lacks, c.want)
			}
		}
		if got := e.get("crm/opportunity", id); got["stage"] != "open" {
			t.Fatalf("a refused transition moved the deal: %v", got)
		}

		e.lang = ""
		deal = e.do2(200, "PATCH", "/api/data/crm/opportunity/"+id, map[string]any{"amount": "10", "version": version(t, deal)})
		if st, body := e.take(e.token, id, "qualify", map[string]any{"version": version(t, deal)}); st != 200 {
			t.Fatalf("take: %d %v", st, body)
		}
		e.eventually("the owner is notified", func() bool {
			_, body := e.do("GET", "/api/me/notifications", nil)
			return len(items(t, body)) == 1
		})
		for _, c := range []struct{ lang, want string }{
			{"en", "Qualified: Acme"}, {"zh-CN", "已确认：Acme"}, {"zh", "已确认：Acme"}, {"fr, en;q=0.5", "Qualified: Acme"}, {"", "已确认：Acme"},
		} {
			e.lang = c.lang
			_, body := e.do("GET", "/api/me/notifications", nil)
			if got := str(items(t, body)[0]["message"]); got != c.want {
				t.Errorf("%s: notification %q, want %q", c.lang, got, c.want)
			}
			if _, has := items(t, body)[0]["messages"]; has {
				t.Errorf("%s: the variants were shown: %v", c.lang, body)
			}
		}
	})
}
