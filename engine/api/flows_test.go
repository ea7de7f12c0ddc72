package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// flowApp is a sales pipeline whose opportunities move only by the flow
// "sales": qualify needs an amount (guard), propose the signed NDA (file
// evidence), win is for executives and sets a note on enter, lose asks
// for a reason (a field filled while taking it, which its guard reads)
// and a comment. The automation "on_win" watches the win transition.
const flowApp = `{"name": "crm", "entities": [
  {"name": "opportunity", "fields": [
    {"id": "o1", "name": "title", "type": "text", "required": true},
    {"id": "o2", "name": "stage", "type": "select", "options": ["lead", "qualified", "proposal", "won", "lost"]},
    {"id": "o3", "name": "amount", "type": "decimal", "scale": 2},
    {"id": "o4", "name": "nda", "type": "file"},
    {"id": "o5", "name": "lost_reason", "type": "text"},
    {"id": "o6", "name": "close_note", "type": "text"}]}],
 "flows": [{"name": "sales", "entity": "opportunity", "field": "stage",
   "states": [{"name": "lead", "color": "#888"}, {"name": "qualified"}, {"name": "proposal"},
              {"name": "won", "final": true}, {"name": "lost", "final": true}],
   "transitions": [
     {"name": "qualify", "from": ["lead"], "to": "qualified", "guard": "amount > 0", "guardMessage": "an amount is needed"},
     {"name": "propose", "from": ["qualified"], "to": "proposal", "evidence": ["nda"]},
     {"name": "win", "from": ["proposal"], "to": "won", "roles": ["executive"],
      "actions": [{"type": "set", "fields": {"close_note": "closed by the flow"}}]},
     {"name": "lose", "to": "lost", "fields": [{"field": "lost_reason", "required": true}], "comment": "required",
      "guard": "lost_reason != \"none\""}]}],
 "automations": [{"name": "on_win", "entity": "opportunity", "trigger": {"type": "transition", "flow": "sales", "transition": "win"},
   "actions": [{"type": "notify", "to": {"owner": true}, "message": "won {{title}}"}]}]}`

// flowUser creates a user with roles and returns their id and token.
func (e *env) flowUser(email string, roles ...string) (string, string) {
	e.t.Helper()
	u, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: email, Password: adminPassword, Roles: roles})
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID, e.login(email, adminPassword)
}

// take posts a transition as token's user.
func (e *env) take(token, id, name string, body any) (int, map[string]any) {
	e.t.Helper()
	return e.doAs(token, "POST", "/api/data/crm/opportunity/"+id+"/transitions/"+name, body)
}

// fileRow puts an uploaded file's row for app, as engine/files would.
func (e *env) fileRow(id, app string) { e.fileRowBy(id, app, "") }

// fileRowBy is fileRow uploaded by a user: a person (not an admin) may
// attach only their own uploads.
func (e *env) fileRowBy(id, app, uploader string) {
	e.t.Helper()
	if _, err := e.db.Pool().ExecContext(context.Background(), `INSERT INTO _forma_files ("id", "app", "name", "size", "content_type", "sha256", "key", "thumb", "uploader", "created_at") VALUES (?, ?, 'nda.pdf', 3, 'application/pdf', '', ?, '', ?, ?)`,
		id, app, id, uploader, time.Now().UTC()); err != nil {
		e.t.Fatal(err)
	}
}

// flowHistory is an opportunity's history, newest first.
func (e *env) flowHistory(id string) []map[string]any {
	e.t.Helper()
	return items(e.t, e.do2(200, "GET", "/api/data/crm/opportunity/"+id+"/history", nil))
}

func version(t *testing.T, rec map[string]any) int64 { return num(t, rec["version"]) }

func TestFlowMovesOnlyWithEvidence(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, flowApp)
		tok := e.token

		// The create starts in the initial state, and may not choose another.
		opp := e.do2(201, "POST", "/api/data/crm/opportunity", map[string]any{"title": "Acme"})
		if opp["stage"] != "lead" {
			t.Fatalf("created in %v, want lead", opp["stage"])
		}
		id := str(opp["id"])
		st, body := e.do("POST", "/api/data/crm/opportunity", map[string]any{"title": "Jump", "stage": "won"})
		wantErr(t, "create in won", st, body, 403, "forbidden")
		wantDetail(t, "create in won", body, "/stage")

		// The state field moves by transitions only.
		st, body = e.do("PATCH", "/api/data/crm/opportunity/"+id, map[string]any{"stage": "proposal", "version": 1})
		wantErr(t, "PATCH stage", st, body, 403, "forbidden")
		wantDetail(t, "PATCH stage", body, "/stage")
		st, body = e.do("POST", "/api/data/crm/opportunity/bulk", map[string]any{"ids": []string{id}, "set": map[string]any{"stage": "won"}})
		if st < 400 {
			e.eventually("bulk job refused", func() bool { return str(e.get("crm/opportunity", id)["stage"]) == "lead" })
		}
		if got := str(e.get("crm/opportunity", id)["stage"]); got != "lead" {
			t.Fatalf("bulk edit moved the stage to %s", got)
		}

		// What the caller may take now, with what each lacks.
		st, body = e.do("GET", "/api/data/crm/opportunity/"+id+"/transitions", nil)
		if st != 200 || body["state"] != "lead" || body["flow"] != "sales" || body["field"] != "stage" || body["pending"] != nil {
			t.Fatalf("transitions: %d %v", st, body)
		}
		opts := map[string]map[string]any{}
		for _, it := range items(t, body) {
			opts[str(it["name"])] = it
		}
		if len(opts) != 2 || opts["qualify"] == nil || opts["lose"] == nil {
			t.Fatalf("transitions from lead: %v", body["items"])
		}
		if opts["qualify"]["allowed"] != false || !strings.Contains(mustJSON(opts["qualify"]["lacks"]), `"/guard"`) || !strings.Contains(mustJSON(opts["qualify"]["lacks"]), "an amount is needed") {
			t.Errorf("qualify without an amount: %v", opts["qualify"])
		}
		if opts["lose"]["allowed"] != true || opts["lose"]["comment"] != "required" {
			t.Errorf("lose is taken by filling its fields: %v", opts["lose"])
		}

		// The guard refuses, then holds.
		st, body = e.take(tok, id, "qualify", map[string]any{"version": 1})
		wantErr(t, "qualify without amount", st, body, 422, "transition_refused")
		if got := details(t, body); len(got) != 1 || got[0] != "/guard" {
			t.Errorf("qualify lacks %v, want [/guard]", got)
		}
		opp = e.do2(200, "PATCH", "/api/data/crm/opportunity/"+id, map[string]any{"amount": "5000", "version": 1})
		st, body = e.take(tok, id, "qualify", map[string]any{"version": version(t, opp)})
		if st != 200 {
			t.Fatalf("qualify: %d %v", st, body)
		}
		opp = body["record"].(map[string]any)
		if opp["stage"] != "qualified" {
			t.Fatalf("qualified? %v", opp)
		}

		// No NDA, then an id that is no file, then the uploaded file.
		st, body = e.take(tok, id, "propose", map[string]any{"version": version(t, opp)})
		wantErr(t, "propose without nda", st, body, 422, "transition_refused")
		wantDetail(t, "propose without nda", body, "/evidence/nda")
		// An id that is no file, or a file of another app, never reaches
		// the record: records refuses it at the field (engine/files).
		e.fileRow("01hfileofotherapp", "other")
		for _, bad := range []string{"01nofile", "01hfileofotherapp"} {
			st, body = e.do("PATCH", "/api/data/crm/opportunity/"+id, map[string]any{"nda": bad, "version": version(t, opp)})
			wantErr(t, "nda "+bad, st, body, 422, "validation_failed")
			wantDetail(t, "nda "+bad, body, "/nda")
		}
		st, body = e.take(tok, id, "propose", map[string]any{"version": version(t, opp)})
		wantErr(t, "propose still without nda", st, body, 422, "transition_refused")
		wantDetail(t, "propose still without nda", body, "/evidence/nda")
		e.fileRow("01hsignedndafile", "crm")
		opp = e.do2(200, "PATCH", "/api/data/crm/opportunity/"+id, map[string]any{"nda": "01hsignedndafile", "version": version(t, opp)})
		stale := version(t, opp) - 1
		st, body = e.take(tok, id, "propose", map[string]any{"version": stale})
		wantErr(t, "stale version", st, body, 409, "version_conflict")
		st, body = e.take(tok, id, "propose", map[string]any{"version": version(t, opp), "comment": "NDA signed"})
		if st != 200 || body["record"].(map[string]any)["stage"] != "proposal" {
			t.Fatalf("propose with the NDA: %d %v", st, body)
		}
		opp = body["record"].(map[string]any)

		// Every lack at once, by path; then the fields filled while taking
		// the transition meet its guard.
		st, body = e.take(tok, id, "lose", map[string]any{"version": version(t, opp), "fields": map[string]any{"lost_reason": "none"}})
		wantErr(t, "lose with a bad reason and no comment", st, body, 422, "transition_refused")
		if got := strings.Join(details(t, body), " "); got != "/comment /guard" {
			t.Errorf("lose lacks %s, want /comment /guard", got)
		}
		st, body = e.take(tok, id, "lose", map[string]any{"version": version(t, opp)})
		if got := strings.Join(details(t, body), " "); got != "/fields/lost_reason /comment" {
			t.Errorf("lose lacks %s, want /fields/lost_reason /comment", got)
		}
		st, body = e.take(tok, id, "lose", map[string]any{"version": version(t, opp), "fields": map[string]any{"lost_reason": "budget"}, "comment": "no budget this year"})
		if st != 200 {
			t.Fatalf("lose: %d %v", st, body)
		}
		opp = body["record"].(map[string]any)
		if opp["stage"] != "lost" || opp["lost_reason"] != "budget" {
			t.Fatalf("lost: %v", opp)
		}
		// From a final state nothing leaves.
		st, body = e.do("GET", "/api/data/crm/opportunity/"+id+"/transitions", nil)
		if st != 200 || len(items(t, body)) != 0 {
			t.Errorf("transitions from lost: %d %v", st, body)
		}
		st, body = e.take(tok, id, "qualify", map[string]any{"version": version(t, opp)})
		wantErr(t, "qualify from lost", st, body, 422, "transition_refused")
		if st != 422 {
			t.Errorf("qualify from lost: %d %v", st, body)
		}

		// The history has every transition with its comment.
		hist := e.flowHistory(id)
		var moves []string
		for _, h := range hist {
			if tr := str(h["transition"]); tr != "" {
				moves = append(moves, tr+":"+str(h["comment"]))
				if h["path"] != "flow" {
					t.Errorf("move on path %v", h["path"])
				}
			}
		}
		if got := strings.Join(moves, ","); got != "sales/lose:no budget this year,sales/propose:NDA signed,sales/qualify:" {
			t.Errorf("history moves: %s", got)
		}
	})
}

// do2 sends a request as the admin and fails unless it answers want.
func (e *env) do2(want int, method, path string, body any) map[string]any {
	e.t.Helper()
	st, out := e.do(method, path, body)
	if st != want {
		e.t.Fatalf("%s %s: %d %v", method, path, st, out)
	}
	return out
}

func TestFlowRolesAndAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, flowApp)
		repID, repTok := e.flowUser("rep@example.com", "rep")
		_, rep2Tok := e.flowUser("rep2@example.com", "rep")
		_, execTok := e.flowUser("exec@example.com", "executive")
		e.fileRowBy("01hnda", "crm", repID)

		st, body := e.doAs(repTok, "POST", "/api/data/crm/opportunity", map[string]any{"title": "Mine", "amount": "10", "nda": "01hnda"})
		if st != 201 {
			t.Fatalf("rep create: %d %v", st, body)
		}
		id, rec := str(body["id"]), body
		for _, name := range []string{"qualify", "propose"} {
			st, body = e.take(repTok, id, name, map[string]any{"version": version(t, rec)})
			if st != 200 {
				t.Fatalf("%s: %d %v", name, st, body)
			}
			rec = body["record"].(map[string]any)
		}

		// win is for executives: not listed for the rep, refused by role.
		st, body = e.doAs(repTok, "GET", "/api/data/crm/opportunity/"+id+"/transitions", nil)
		for _, it := range items(t, body) {
			if it["name"] == "win" {
				t.Errorf("win listed for a rep: %v", it)
			}
		}
		st, body = e.take(repTok, id, "win", map[string]any{"version": version(t, rec)})
		wantErr(t, "rep takes win", st, body, 422, "transition_refused")
		wantDetail(t, "rep takes win", body, "/roles")

		// Another rep cannot see the record: every route answers as for
		// a record that does not exist.
		for _, path := range []string{"/api/data/crm/opportunity/" + id + "/transitions", "/api/data/crm/opportunity/01hnosuchrecord0000000000/transitions"} {
			st, body = e.doAs(rep2Tok, "GET", path, nil)
			wantErr(t, "rep2 lists", st, body, 404, "not_found")
		}
		st, other := e.take(rep2Tok, id, "win", map[string]any{"version": version(t, rec)})
		wantErr(t, "rep2 takes", st, other, 404, "not_found")
		st, missing := e.take(rep2Tok, "01hnosuchrecord0000000000", "win", map[string]any{"version": 1})
		wantErr(t, "rep2 takes a missing record", st, missing, 404, "not_found")
		if errMessage(other) != errMessage(missing) && strings.Contains(errMessage(other), id) == false {
			// the texts name the id asked for; nothing else differs
			t.Errorf("another rep's record and a missing one answer differently: %v / %v", other, missing)
		}
		st, body = e.take(repTok, id, "nosuch", map[string]any{"version": version(t, rec)})
		wantErr(t, "unknown transition", st, body, 404, "not_found")
		st, body = e.doAs(repTok, "GET", "/api/data/crm/nosuch/"+id+"/transitions", nil)
		wantErr(t, "unknown entity", st, body, 404, "not_found")

		// Bad bodies.
		for _, c := range []struct {
			what, body string
			status     int
			path       string
		}{
			{"malformed", `{"version": 3`, 400, ""},
			{"not an object", `[1]`, 422, ""},
			{"unknown key", `{"version": 3, "stage": "won"}`, 400, "/stage"},
			{"version as text", `{"version": "3"}`, 422, ""},
			{"no version", `{}`, 422, "/version"},
			{"fields as a list", `{"version": 3, "fields": []}`, 422, ""},
			{"comment as a number", `{"version": 3, "comment": 7}`, 422, ""},
			{"field the transition does not fill", `{"version": 3, "fields": {"amount": 1}}`, 422, "/fields/amount"},
			{"duplicate key", `{"version": 3, "version": 4}`, 422, ""},
		} {
			st, body := e.take(execTok, id, "win", c.body)
			if st != c.status {
				t.Errorf("%s: %d %v, want %d", c.what, st, body, c.status)
				continue
			}
			errCode(t, body)
			if c.path != "" {
				wantDetail(t, c.what, body, c.path)
			}
		}
		st, body = e.take(execTok, id, "lose", map[string]any{"version": version(t, rec), "fields": map[string]any{"lost_reason": strings.Repeat("x", 10)}, "comment": strings.Repeat("c", 5000)})
		wantErr(t, "oversized comment", st, body, 422, "validation_failed")
		st, body = e.take(execTok, id, "lose", map[string]any{"version": version(t, rec), "fields": map[string]any{"lost_reason": 12}, "comment": "x"})
		wantErr(t, "reason of the wrong type", st, body, 422, "validation_failed")
		wantDetail(t, "reason of the wrong type", body, "/fields/lost_reason")
		if got := str(e.get("crm/opportunity", id)["stage"]); got != "proposal" {
			t.Fatalf("bad input moved the record to %s", got)
		}

		st, body = e.take(execTok, id, "win", map[string]any{"version": version(t, rec)})
		if st != 200 || body["record"].(map[string]any)["stage"] != "won" {
			t.Fatalf("executive wins: %d %v", st, body)
		}
	})
}

func errMessage(body map[string]any) string {
	eo, _ := body["error"].(map[string]any)
	return fmt.Sprint(eo["message"])
}

// TestFlowActionsOnEnter: the win transition's own actions run once for
// the record's version, and automations on the transition trigger fire.
func TestFlowActionsOnEnter(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnvJobs(t, db, flowApp, &jobs.Options{})
		e.fileRow("01hnda", "crm")
		opp := e.do2(201, "POST", "/api/data/crm/opportunity", map[string]any{"title": "Acme", "amount": "10", "nda": "01hnda"})
		id := str(opp["id"])
		for _, name := range []string{"qualify", "propose", "win"} {
			st, body := e.take(e.token, id, name, map[string]any{"version": version(t, opp)})
			if st != 200 {
				t.Fatalf("%s: %d %v", name, st, body)
			}
			opp = body["record"].(map[string]any)
		}
		e.eventually("close note set on enter", func() bool { return e.get("crm/opportunity", id)["close_note"] == "closed by the flow" })
		runsOf := func(automation string) int {
			var n int
			if err := e.db.Pool().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM _forma_automation_runs WHERE "automation" = ? AND "record_id" = ? AND "status" = 'succeeded'`, automation, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		e.eventually("the transition trigger's automation ran", func() bool { return runsOf("on_win") == 1 })
		if n := runsOf("flow:sales/win"); n != 1 {
			t.Errorf("%d runs of win's actions, want 1", n)
		}
		if n := runsOf("flow:sales/qualify"); n != 0 {
			t.Errorf("qualify has no actions, yet %d runs", n)
		}
		// The action's write is in the history under the transition's name.
		hist := e.flowHistory(id)
		if hist[0]["automation"] != "flow:sales/win" || hist[0]["path"] != "automation" {
			t.Errorf("latest history entry: %v", hist[0])
		}
		time.Sleep(100 * time.Millisecond) // a second run would have started by now
		if n := runsOf("flow:sales/win"); n != 1 {
			t.Errorf("%d runs of win's actions after a while, want 1", n)
		}
	})
}

func TestApplyRefusesBadFlows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, "")
		for _, c := range []struct {
			what, from, old, new string
			path                 string
		}{
			{"transition from a state that does not exist", flowApp, `"from": ["lead"], "to": "qualified"`, `"from": ["leed"], "to": "qualified"`, "/flows/0/transitions/0/from/0"},
			{"guard on an unknown field", flowApp, `"guard": "amount > 0"`, `"guard": "amonut > 0"`, "/flows/0/transitions/0/guard"},
			{"approver role that does not exist", flowApp, `"guardMessage": "an amount is needed"`,
				`"guardMessage": "x", "approval": {"steps": [{"name": "boss", "approvers": {"roles": ["director"]}}]}`, "/flows/0/transitions/0/approval/steps/0/approvers/roles/0"},
			{"unknown key", flowApp, `"guardMessage": "an amount is needed"`, `"guardMesage": "x"`, "/flows/0/transitions/0/guardMesage"},
			{"state not an option", flowApp, `{"name": "qualified"}`, `{"name": "qualifed"}`, "/flows/0/states/1/name"},
			{"transition out of a final state", flowApp, `"from": ["proposal"], "to": "won"`, `"from": ["won"], "to": "won"`, "/flows/0/transitions/2/from/0"},
			{"evidence not a field", flowApp, `"evidence": ["nda"]`, `"evidence": ["contract"]`, "/flows/0/transitions/1/evidence/0"},
			{"role that does not exist", flowApp, `"roles": ["executive"]`, `"roles": ["ceo"]`, "/flows/0/transitions/2/roles/0"},
			{"action expression", flowApp, `"close_note": "closed by the flow"`, `"close_note": {"expr": "nosuch + 1"}`, "/flows/0/transitions/2/actions/0/fields/close_note"},
			{"deadline", flowApp, `"guardMessage": "an amount is needed"`,
				`"approval": {"steps": [{"name": "boss", "approvers": {"manager": true}, "deadline": "tomorrow"}]}`, "/flows/0/transitions/0/approval/steps/0/deadline"},
		} {
			doc := strings.Replace(c.from, c.old, c.new, 1)
			if doc == c.from {
				t.Fatalf("%s: nothing replaced", c.what)
			}
			st, body := e.do("POST", "/api/meta/apps", doc)
			if st != 422 && st != 400 {
				t.Errorf("%s: %d %v", c.what, st, body)
				continue
			}
			wantDetail(t, c.what, body, c.path)
		}
	})
}

// The app's OpenAPI document describes the transition routes of a flow's
// entity, validates, and the live answers of those routes validate
// against it.
func TestFlowOpenAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, flowApp)
		doc, _ := e.openAPI("crm")
		list := doc.Paths.Find("/api/data/crm/opportunity/{id}/transitions")
		take := doc.Paths.Find("/api/data/crm/opportunity/{id}/transitions/{name}")
		if list == nil || list.Get == nil || take == nil || take.Post == nil {
			t.Fatalf("no transition routes in %v", doc.Paths.InMatchingOrder())
		}
		answer := func(o *openapi3.Operation, status int, body []byte) {
			t.Helper()
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			r := o.Responses.Status(status)
			if r == nil {
				t.Fatalf("%s: no %d answer described", o.OperationID, status)
			}
			if err := r.Value.Content.Get("application/json").Schema.Value.VisitJSON(v, openapi3.VisitAsResponse()); err != nil {
				t.Fatalf("%s %d: the answer does not match the document: %v\n%s", o.OperationID, status, err, body)
			}
		}
		opp := e.do2(201, "POST", "/api/data/crm/opportunity", map[string]any{"title": "Acme"})
		id := str(opp["id"])
		st, raw := e.raw(e.token, "GET", "/api/data/crm/opportunity/"+id+"/transitions", nil)
		answer(list.Get, st, raw)
		st, raw = e.raw(e.token, "POST", "/api/data/crm/opportunity/"+id+"/transitions/qualify", map[string]any{"version": 1})
		if st != 422 {
			t.Fatalf("qualify without amount: %d %s", st, raw)
		}
		answer(take.Post, st, raw)
		st, raw = e.raw(e.token, "POST", "/api/data/crm/opportunity/"+id+"/transitions/lose", map[string]any{"version": 1, "fields": map[string]any{"lost_reason": "budget"}, "comment": "no money"})
		if st != 200 {
			t.Fatalf("lose: %d %s", st, raw)
		}
		answer(take.Post, st, raw)
	})
}
