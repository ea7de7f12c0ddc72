package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// Two apps for the hand-over tests. Apps are visited by name and entities in
// document order, so ops.quota, whose unique index over owner lets a test
// make the transfer fail, is the last entity the transfer reaches: by then
// every other entity's records have moved inside the transaction.
const transferCRM = `{"name": "crm", "entities": [
  {"id": "e1", "name": "account", "fields": [{"id": "f1", "name": "name", "type": "text"}]},
  {"id": "e2", "name": "deal", "fields": [
    {"id": "f1", "name": "title", "type": "text"},
    {"id": "f2", "name": "account", "type": "ref", "entity": "account", "onDelete": "restrict"}]},
  {"id": "e3", "name": "task", "fields": [{"id": "f1", "name": "what", "type": "text"}]}
]}`

const transferOps = `{"name": "ops", "entities": [
  {"id": "e1", "name": "ticket", "fields": [{"id": "f1", "name": "subject", "type": "text"}]},
  {"id": "e2", "name": "quota", "fields": [{"id": "f1", "name": "target", "type": "integer"}],
   "indexes": [{"fields": ["owner"], "unique": true}]}
]}`

var transferTables = []string{"crm_account", "crm_deal", "crm_task", "ops_ticket", "ops_quota"}

type transferEnv struct {
	*env
	a, b, c, other string              // user ids
	owned          map[string][]string // user id → "app/entity/id" of the records they own
}

// newTransferEnv installs both apps and creates reps A, B, C and another
// user, each owning records across entities.
func newTransferEnv(t *testing.T, db *store.DB) *transferEnv {
	e := newEnv(t, db, transferCRM)
	if st, body := e.do("POST", "/api/meta/apps", transferOps); st != 201 {
		t.Fatalf("apply ops: %d %v", st, body)
	}
	te := &transferEnv{env: e, owned: map[string][]string{}}
	ctx := context.Background()
	mk := func(email string) string {
		u, err := e.acc.CreateUser(ctx, email, "rep password", email, false)
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	te.a, te.b, te.c, te.other = mk("a@example.com"), mk("b@example.com"), mk("c@example.com"), mk("other@example.com")
	// How many records each user owns per entity (quota: at most one).
	plan := map[string]map[string]int{
		te.a:     {"crm/account": 2, "crm/deal": 3, "crm/task": 1, "ops/ticket": 4, "ops/quota": 1},
		te.b:     {"crm/account": 1, "crm/deal": 2, "crm/task": 2, "ops/ticket": 1, "ops/quota": 1},
		te.c:     {"crm/account": 1, "ops/ticket": 1},
		te.other: {"crm/deal": 1, "crm/task": 1},
	}
	var acct string
	for _, u := range []string{te.a, te.b, te.c, te.other} {
		for _, ae := range []string{"crm/account", "crm/deal", "crm/task", "ops/ticket", "ops/quota"} {
			for i := 0; i < plan[u][ae]; i++ {
				rec := map[string]any{"owner": u}
				if ae == "crm/deal" && acct != "" {
					rec["account"] = acct
				}
				st, body := e.do("POST", "/api/data/"+ae, rec)
				if st != 201 {
					t.Fatalf("create %s: %d %v", ae, st, body)
				}
				if ae == "crm/account" && acct == "" {
					acct = str(body["id"])
				}
				te.owned[u] = append(te.owned[u], ae+"/"+str(body["id"]))
			}
		}
	}
	// One record without an owner.
	if st, body := e.do("POST", "/api/data/crm/task", map[string]any{"owner": nil}); st != 201 {
		t.Fatalf("create unowned task: %d %v", st, body)
	}
	return te
}

// snapshot is every row's id, owner, version and updated_at, and the
// history, as text: equal snapshots mean nothing changed.
func (te *transferEnv) snapshot() string {
	te.t.Helper()
	var b strings.Builder
	for _, tbl := range transferTables {
		rows, err := te.db.SQL.Query(`SELECT "id", "owner", "version", "updated_at" FROM "` + tbl + `" ORDER BY "id"`)
		if err != nil {
			te.t.Fatal(err)
		}
		for rows.Next() {
			var id, owner, version, at any
			if err := rows.Scan(&id, &owner, &version, &at); err != nil {
				te.t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v %v %v %v\n", tbl, id, owner, version, at)
		}
		rows.Close()
	}
	var n int
	if err := te.db.SQL.QueryRow(`SELECT COUNT(*) FROM "_forma_history"`).Scan(&n); err != nil {
		te.t.Fatal(err)
	}
	fmt.Fprintf(&b, "history %d\n", n)
	return b.String()
}

func (te *transferEnv) record(ref string) map[string]any {
	te.t.Helper()
	st, body := te.do("GET", "/api/data/"+ref, nil)
	if st != 200 {
		te.t.Fatalf("get %s: %d %v", ref, st, body)
	}
	return body
}

func TestTransferOwner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		te := newTransferEnv(t, db)
		before := map[string]map[string]any{}
		for _, refs := range te.owned {
			for _, ref := range refs {
				before[ref] = te.record(ref)
			}
		}

		st, body := te.do("POST", "/api/admin/users/"+te.a+"/transfer", map[string]any{"to": te.c})
		if st != 200 {
			t.Fatalf("transfer: %d %v", st, body)
		}
		if got := num(t, body["moved"]); got != 11 {
			t.Errorf("moved = %d, want 11", got)
		}
		want := `{"crm.account":2,"crm.deal":3,"crm.task":1,"ops.quota":1,"ops.ticket":4}`
		if got := mustJSON(body["byEntity"]); got != want {
			t.Errorf("byEntity = %s, want %s", got, want)
		}

		// A's records now belong to C, one version later, with one history
		// entry of path system by the admin.
		for _, ref := range te.owned[te.a] {
			r, old := te.record(ref), before[ref]
			if r["owner"] != te.c {
				t.Errorf("%s: owner %v, want C", ref, r["owner"])
			}
			if num(t, r["version"]) != num(t, old["version"])+1 {
				t.Errorf("%s: version %v, was %v", ref, r["version"], old["version"])
			}
			if str(r["updated_at"]) <= str(old["updated_at"]) {
				t.Errorf("%s: updated_at %v not after %v", ref, r["updated_at"], old["updated_at"])
			}
			if r["created_by"] != old["created_by"] || r["created_at"] != old["created_at"] {
				t.Errorf("%s: created_by/created_at changed: %v → %v", ref, old, r)
			}
			st, hb := te.do("GET", "/api/data/"+ref+"/history", nil)
			if st != 200 {
				t.Fatalf("history %s: %d %v", ref, st, hb)
			}
			hs := items(t, hb)
			if len(hs) != 2 {
				t.Fatalf("%s: %d history entries, want create + transfer: %v", ref, len(hs), hs)
			}
			h := hs[0]
			if h["op"] != "update" || h["path"] != "system" || h["actor"] != te.admin.ID || num(t, h["version"]) != num(t, r["version"]) {
				t.Errorf("%s: transfer history entry %v", ref, h)
			}
			if got, want := mustJSON(h["changes"]), fmt.Sprintf(`{"owner":{"new":%q,"old":%q}}`, te.c, te.a); got != want {
				t.Errorf("%s: changes %s, want %s", ref, got, want)
			}
			if str(h["at"]) != str(r["updated_at"]) {
				t.Errorf("%s: history at %v, updated_at %v", ref, h["at"], r["updated_at"])
			}
		}
		// Optimistic locking sees the change: a PATCH with the version read
		// before the transfer is stale.
		ref := te.owned[te.a][0]
		if st, body := te.do("PATCH", "/api/data/"+ref, map[string]any{"version": before[ref]["version"], "name": "x"}); st != 409 {
			t.Errorf("stale patch after transfer: %d %v", st, body)
		}

		// B's, C's own and the other user's records are untouched.
		for _, u := range []string{te.b, te.c, te.other} {
			for _, ref := range te.owned[u] {
				if got, old := mustJSON(te.record(ref)), mustJSON(before[ref]); got != old {
					t.Errorf("%s changed: %s → %s", ref, old, got)
				}
				st, hb := te.do("GET", "/api/data/"+ref+"/history", nil)
				if st != 200 || len(items(t, hb)) != 1 {
					t.Errorf("%s: history %d %v", ref, st, hb)
				}
			}
		}
		var unowned int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM "crm_task" WHERE "owner" IS NULL AND "version" = 1`).Scan(&unowned); err != nil || unowned != 1 {
			t.Errorf("unowned task: %d %v", unowned, err)
		}
		// Exactly the moved records got a system entry.
		var sys int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM "_forma_history" WHERE "path" = 'system'`).Scan(&sys); err != nil || sys != 11 {
			t.Errorf("system history entries: %d %v", sys, err)
		}
		// C now owns A's records and their own.
		var cOwns int
		for _, tbl := range transferTables {
			var n int
			if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM "` + tbl + `" WHERE "owner" = '` + te.c + `'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			cOwns += n
		}
		if cOwns != 13 {
			t.Errorf("C owns %d records, want 13", cOwns)
		}

		// The audit log has the hand-over.
		st, body = te.do("GET", "/api/admin/audit?action=user_transfer", nil)
		if st != 200 {
			t.Fatalf("audit: %d %v", st, body)
		}
		au := items(t, body)
		if len(au) != 1 || au[0]["actor"] != te.admin.ID || au[0]["target"] != "a@example.com" {
			t.Fatalf("audit entries: %v", au)
		}
		d, _ := au[0]["detail"].(map[string]any)
		if d["from"] != te.a || d["to"] != te.c || num(t, d["moved"]) != 11 || mustJSON(d["byEntity"]) != want {
			t.Errorf("audit detail: %v", d)
		}

		// A second transfer finds nothing left to move.
		st, body = te.do("POST", "/api/admin/users/"+te.a+"/transfer", map[string]any{"to": te.b})
		if st != 200 || num(t, body["moved"]) != 0 || mustJSON(body["byEntity"]) != `{}` {
			t.Errorf("empty transfer: %d %v", st, body)
		}
		// Upper-case ids name the same users.
		st, body = te.do("POST", "/api/admin/users/"+strings.ToUpper(te.other)+"/transfer", map[string]any{"to": strings.ToUpper(te.b)})
		if st != 200 || num(t, body["moved"]) != 2 {
			t.Errorf("transfer with upper-case ids: %d %v", st, body)
		}
	})
}

func TestTransferOwnerAllOrNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		te := newTransferEnv(t, db)
		// B already has a quota and quota allows one per owner: moving A's
		// to B fails in the last entity, after every other entity's rows
		// have moved inside the transaction.
		before := te.snapshot()
		st, body := te.do("POST", "/api/admin/users/"+te.a+"/transfer", map[string]any{"to": te.b})
		wantErr(t, "transfer onto a unique owner", st, body, 409, "duplicate_value")
		if msg := str(body["error"].(map[string]any)["message"]); !strings.Contains(msg, "ops.quota") {
			t.Errorf("error message does not name the entity: %q", msg)
		}
		if after := te.snapshot(); after != before {
			t.Errorf("a failed transfer changed data:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		st, body = te.do("GET", "/api/admin/audit?action=user_transfer", nil)
		if st != 200 || len(items(t, body)) != 0 {
			t.Errorf("failed transfer audited: %d %v", st, body)
		}

		// Once B's quota is gone, the same transfer goes through.
		var quota string
		for _, ref := range te.owned[te.b] {
			if strings.HasPrefix(ref, "ops/quota/") {
				quota = ref
			}
		}
		if st, body := te.do("DELETE", "/api/data/"+quota, nil); st != 204 {
			t.Fatalf("delete %s: %d %v", quota, st, body)
		}
		st, body = te.do("POST", "/api/admin/users/"+te.a+"/transfer", map[string]any{"to": te.b})
		if st != 200 || num(t, body["moved"]) != 11 {
			t.Errorf("transfer after the conflict is gone: %d %v", st, body)
		}
	})
}

func TestTransferOwnerBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		te := newTransferEnv(t, db)
		path := "/api/admin/users/" + te.a + "/transfer"
		before := te.snapshot()

		// Deactivate D, a would-be successor.
		d, err := te.acc.CreateUser(context.Background(), "d@example.com", "rep password", "D", false)
		if err != nil {
			t.Fatal(err)
		}
		if st, body := te.do("PATCH", "/api/admin/users/"+d.ID, map[string]any{"active": false}); st != 200 {
			t.Fatalf("deactivate: %d %v", st, body)
		}

		cases := []struct {
			what   string
			path   string
			body   any
			status int
			code   string
		}{
			{"no body", path, nil, 400, "invalid_json"},
			{"malformed", path, `{"to": `, 400, "invalid_json"},
			{"two values", path, `{"to": "x"} {}`, 400, "invalid_json"},
			{"not an object", path, `"x"`, 422, "validation_failed"},
			{"unknown field", path, map[string]any{"to": te.c, "dryRun": true}, 422, "validation_failed"},
			{"wrong type", path, map[string]any{"to": 42}, 422, "validation_failed"},
			{"missing to", path, map[string]any{}, 422, "validation_failed"},
			{"null to", path, `{"to": null}`, 422, "validation_failed"},
			{"empty to", path, map[string]any{"to": ""}, 422, "validation_failed"},
			{"to self", path, map[string]any{"to": te.a}, 422, "validation_failed"},
			{"to self, other case", path, map[string]any{"to": strings.ToUpper(te.a)}, 422, "validation_failed"},
			{"inactive successor", path, map[string]any{"to": d.ID}, 422, "validation_failed"},
			{"unknown successor", path, map[string]any{"to": "01aaaaaaaaaaaaaaaaaaaaaaaa"}, 404, "not_found"},
			{"unknown user", "/api/admin/users/01aaaaaaaaaaaaaaaaaaaaaaaa/transfer", map[string]any{"to": te.c}, 404, "not_found"},
			{"injection in id", "/api/admin/users/x'%20OR%20'1'='1/transfer", map[string]any{"to": te.c}, 404, "not_found"},
			{"injection in to", path, map[string]any{"to": "x' OR '1'='1"}, 404, "not_found"},
		}
		for _, tc := range cases {
			st, body := te.do("POST", tc.path, tc.body)
			wantErr(t, tc.what, st, body, tc.status, tc.code)
		}

		// Only admins may transfer.
		repTok := te.login("b@example.com", "rep password")
		st, body := te.doAs(repTok, "POST", path, map[string]any{"to": te.c})
		wantErr(t, "non-admin", st, body, 403, "forbidden")
		st, body = te.doAs("", "POST", path, map[string]any{"to": te.c})
		wantErr(t, "no token", st, body, 401, "unauthorized")
		st, body = te.doAs("not-a-token", "POST", path, map[string]any{"to": te.c})
		wantErr(t, "bad token", st, body, 401, "unauthorized")

		if after := te.snapshot(); after != before {
			t.Errorf("refused transfers changed data:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		st, body = te.do("GET", "/api/admin/audit?action=user_transfer", nil)
		if st != 200 || len(items(t, body)) != 0 {
			t.Errorf("refused transfers audited: %d %v", st, body)
		}
	})
}
