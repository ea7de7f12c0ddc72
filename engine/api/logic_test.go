package api_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// orderScript's line numbers are asserted: keep the throws where they are.
const orderScript = `function beforeSave(record, ctx) {
  if (record.number) record.number = record.number.toUpperCase();
  if (record.discount > 20 && !ctx.user.admin && ctx.user.roles.indexOf("manager") < 0) {
    throw new Error("Discounts over 20% need a manager");
  }
  if (ctx.changed.indexOf("discount") >= 0 && ctx.previous) record.note = "discount was " + ctx.previous.discount;
  console.log("saving", record.number, ctx.isNew);
}
function afterSave(record, ctx) {
  if (record.number === "FAIL") throw new Error("after-hook failed");
  console.info("saved", record.number, record.grand);
}
function beforeDelete(record, ctx) {
  if (record.lines > 0 && record.number.indexOf("A") === 0) throw "orders with lines cannot be deleted";
}`

const probeScript = `function check(record, ctx) {
  switch (record.mode) {
  case "loop": while (true) {}
  case "recurse": { const f = function(n) { return f(n + 1) + 1; }; return f(0); }
  case "grow": { let s = "x"; while (true) s += s; }
  case "repeat": record.out = "x".repeat(1e9); return;
  case "array": { const a = []; while (true) a.push({i: a.length, s: "abcdefgh" + a.length}); }
  case "tamper": Object.prototype.polluted = 1; Array.prototype.push = null; JSON.parse = null; record.out = "tampered"; return;
  case "check": record.out = String(({}).polluted) + "," + typeof [].push + "," + typeof JSON.parse; return;
  case "host": record.out = [typeof require, typeof process, typeof setTimeout, typeof fetch, typeof module,
    typeof globalThis.Java, typeof db.find.value, Object.getOwnPropertyNames(db).sort().join("+")].join(","); return;
  case "string": throw "boom";
  case "null": throw null;
  case "object": throw {code: "E1"};
  case "typo": record.ot = 1; return;
  case "find": record.out = db.find("sale", "", {sort: "number"}).map(function(o) { return o.number + ":" + (o.note === undefined ? "hidden" : "seen"); }).join(","); return;
  case "secret": record.out = String(db.find("secret").length); return;
  case "badfilter": db.find("sale", "nope = 1"); return;
  case "get": { const o = db.get("sale", ctx.user.id); record.out = String(o); return; }
  case "getbad": db.get("nope", "x"); return;
  case "badlimit": db.find("sale", "", {limit: "ten"}); return;
  case "badoption": db.find("sale", "", {order: "number"}); return;
  }
}`

func shopDoc() string {
	q := func(s string) string {
		b := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
		return `"` + b + `"`
	}
	return `{"name": "shop", "settings": {"scriptTimeoutMs": 200},
	"roles": [{"name": "rep", "entities": {
	    "sale": {"create": "own", "read": "own", "update": "own", "fields": {"note": "hidden"}},
	    "probe": {"create": "own", "read": "own"}}}],
	"entities": [
	{"name": "account", "fields": [
	  {"id": "a1", "name": "name", "type": "text"},
	  {"id": "a2", "name": "tier", "type": "select", "options": ["gold", "silver"]},
	  {"id": "a3", "name": "orders", "type": "rollup", "rollup": {"entity": "sale", "via": "account", "op": "count"}},
	  {"id": "a4", "name": "big_total", "type": "rollup", "rollup": {"entity": "sale", "via": "account", "op": "sum", "field": "grand", "filter": "grand >= 100"}}]},
	{"name": "sale", "fields": [
	  {"id": "o1", "name": "number", "type": "text"},
	  {"id": "o2", "name": "account", "type": "ref", "entity": "account"},
	  {"id": "o3", "name": "discount", "type": "decimal"},
	  {"id": "o4", "name": "total", "type": "rollup", "rollup": {"entity": "line", "via": "sale", "op": "sum", "field": "amount"}},
	  {"id": "o5", "name": "lines", "type": "rollup", "rollup": {"entity": "line", "via": "sale", "op": "count"}},
	  {"id": "o6", "name": "grand", "type": "formula", "expr": "round(total * (1 - coalesce(discount, 0) / 100), 2)"},
	  {"id": "o7", "name": "gold", "type": "formula", "expr": "account.tier == 'gold'", "returns": "boolean"},
	  {"id": "o8", "name": "note", "type": "text"},
	  {"id": "o9", "name": "noted", "type": "formula", "expr": "note != null", "returns": "boolean"}],
	 "hooks": {"beforeSave": "order#beforeSave", "afterSave": "order#afterSave", "beforeDelete": "order#beforeDelete"},
	 "validations": [
	  {"expr": "discount == null || discount <= 50", "message": "Discount cannot exceed 50%", "field": "discount"},
	  {"expr": "len(number) <= 10", "message": "Order numbers have at most 10 characters", "field": "number"}]},
	{"name": "line", "fields": [
	  {"id": "l1", "name": "sale", "type": "ref", "entity": "sale", "required": true, "onDelete": "cascade"},
	  {"id": "l2", "name": "qty", "type": "integer"},
	  {"id": "l3", "name": "price", "type": "decimal"},
	  {"id": "l4", "name": "amount", "type": "formula", "expr": "qty * price"},
	  {"id": "l5", "name": "product", "type": "ref", "entity": "product", "onDelete": "setNull"},
	  {"id": "l6", "name": "pname", "type": "formula", "expr": "product.name", "returns": "text"}]},
	{"name": "probe", "fields": [
	  {"id": "p1", "name": "mode", "type": "text"},
	  {"id": "p2", "name": "out", "type": "text"}],
	 "hooks": {"beforeSave": "probe#check"}},
	{"name": "secret", "fields": [{"id": "s1", "name": "x", "type": "text"}]},
	{"name": "product", "fields": [
	  {"id": "r1", "name": "name", "type": "text"},
	  {"id": "r2", "name": "sold", "type": "rollup", "rollup": {"entity": "line", "via": "product", "op": "sum", "field": "qty"}, "returns": "integer"}]}],
	"scripts": {"order": ` + q(orderScript) + `, "probe": ` + q(probeScript) + `}}`
}

func shopEnv(t *testing.T, db *store.DB) *env {
	return newEnvJobs(t, db, shopDoc(), &jobs.Options{})
}

// Formulas and rollups are stored, kept current through refs and children,
// and can be filtered and sorted on.
func TestLogicFormulasAndRollups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		acct := e.create("shop/account", map[string]any{"name": "Acme", "tier": "silver"})
		order := e.create("shop/sale", map[string]any{"number": "a-1", "account": acct["id"], "discount": 10})
		oid := str(order["id"])
		if order["number"] != "A-1" || mustJSON(order["total"]) != "0.00" || mustJSON(order["grand"]) != "0.00" || order["gold"] != false {
			t.Fatalf("new order: %v", order)
		}
		l1 := e.create("shop/line", map[string]any{"sale": oid, "qty": 3, "price": "19.99"})
		if mustJSON(l1["amount"]) != "59.97" {
			t.Errorf("line amount %v", l1["amount"])
		}
		l2 := e.create("shop/line", map[string]any{"sale": oid, "qty": 2, "price": 25})
		got := e.get("shop/sale", oid)
		// total 109.97, 10% off → 98.973 → 98.97
		if mustJSON(got["total"]) != "109.97" || mustJSON(got["lines"]) != "2" || mustJSON(got["grand"]) != "98.97" {
			t.Fatalf("order after lines: %v", got)
		}
		if got["version"] != order["version"] {
			t.Errorf("recomputing bumped the order's version: %v → %v", order["version"], got["version"])
		}
		a := e.get("shop/account", str(acct["id"]))
		if mustJSON(a["orders"]) != "1" || mustJSON(a["big_total"]) != "0.00" {
			t.Errorf("account before the filter matches: %v", a)
		}
		// A child change flows up two levels: line → order.total → sale.grand → account.big_total (filter grand >= 100).
		st, body := e.do("PATCH", "/api/data/shop/line/"+str(l2["id"]), map[string]any{"qty": 4, "version": l2["version"]})
		if st != 200 || mustJSON(body["amount"]) != "100.00" {
			t.Fatalf("patch line: %d %v", st, body)
		}
		got = e.get("shop/sale", oid)
		if mustJSON(got["total"]) != "159.97" || mustJSON(got["grand"]) != "143.97" {
			t.Fatalf("order after patch: %v", got)
		}
		if a = e.get("shop/account", str(acct["id"])); mustJSON(a["big_total"]) != "143.97" {
			t.Errorf("account big_total %v", a["big_total"])
		}
		// A field read through a ref: the account's tier changes every order's formula.
		st, body = e.do("PATCH", "/api/data/shop/account/"+str(acct["id"]), map[string]any{"tier": "gold", "version": a["version"]})
		if st != 200 {
			t.Fatalf("patch account: %d %v", st, body)
		}
		if got = e.get("shop/sale", oid); got["gold"] != true {
			t.Errorf("order.gold after the account turned gold: %v", got["gold"])
		}
		// Stored values filter and sort.
		e.create("shop/sale", map[string]any{"number": "b-2", "discount": 0})
		st, body = e.do("GET", "/api/data/shop/sale?filter="+q("grand > 100 && gold = true")+"&sort=-grand", nil)
		if list := items(t, body); st != 200 || len(list) != 1 || list[0]["number"] != "A-1" {
			t.Errorf("filter on formulas: %d %v", st, body)
		}
		// Deleting a child updates the parent; the delete hook refuses orders with lines.
		st, body = e.do("DELETE", "/api/data/shop/sale/"+oid, nil)
		wantErr(t, "delete order with lines", st, body, 422, "script_failed")
		if body["error"].(map[string]any)["message"] != `orders with lines cannot be deleted` {
			t.Errorf("delete refusal message: %v", body)
		}
		if st, _ := e.do("DELETE", "/api/data/shop/line/"+str(l1["id"]), nil); st != 204 {
			t.Fatalf("delete line: %d", st)
		}
		if got = e.get("shop/sale", oid); mustJSON(got["total"]) != "100.00" || mustJSON(got["lines"]) != "1" || mustJSON(got["grand"]) != "90.00" {
			t.Errorf("order after deleting a line: %v", got)
		}
		if a = e.get("shop/account", str(acct["id"])); mustJSON(a["big_total"]) != "0.00" {
			t.Errorf("account big_total after the order fell under 100: %v", a["big_total"])
		}
		// Moving a line to another order updates both.
		other := e.create("shop/sale", map[string]any{"number": "c-3"})
		lines := items(t, listBody(t, e, "/api/data/shop/line"))
		st, body = e.do("PATCH", "/api/data/shop/line/"+str(lines[0]["id"]), map[string]any{"sale": other["id"], "version": lines[0]["version"]})
		if st != 200 {
			t.Fatalf("move line: %d %v", st, body)
		}
		if a, b := e.get("shop/sale", oid), e.get("shop/sale", str(other["id"])); mustJSON(a["total"]) != "0.00" || mustJSON(b["total"]) != "100.00" {
			t.Errorf("after moving: old order total %v, new %v", a["total"], b["total"])
		}
		// Deletes that cascade or clear refs keep other records' computed
		// fields current: a product's sold count, a line's product name.
		widget := e.create("shop/product", map[string]any{"name": "Widget"})
		gadget := e.create("shop/product", map[string]any{"name": "Gadget"})
		k := e.create("shop/sale", map[string]any{"number": "k-1"})
		kl := e.create("shop/line", map[string]any{"sale": k["id"], "qty": 3, "price": 1, "product": widget["id"]})
		gl := e.create("shop/line", map[string]any{"sale": oid, "qty": 5, "price": 1, "product": gadget["id"]})
		if kl["pname"] != "Widget" || mustJSON(e.get("shop/product", str(widget["id"]))["sold"]) != "3" {
			t.Fatalf("product rollup/formula: %v %v", kl, e.get("shop/product", str(widget["id"])))
		}
		if st, body := e.do("DELETE", "/api/data/shop/sale/"+str(k["id"]), nil); st != 204 {
			t.Fatalf("delete sale k-1: %d %v", st, body)
		}
		if w := e.get("shop/product", str(widget["id"])); mustJSON(w["sold"]) != "0" {
			t.Errorf("widget sold after its sale was deleted (cascade): %v", w["sold"])
		}
		if st, body := e.do("DELETE", "/api/data/shop/product/"+str(gadget["id"]), nil); st != 204 {
			t.Fatalf("delete gadget: %d %v", st, body)
		}
		if l := e.get("shop/line", str(gl["id"])); l["product"] != nil || l["pname"] != nil {
			t.Errorf("line after its product was deleted (setNull): %v", l)
		}
		// Computed fields cannot be written.
		st, body = e.do("POST", "/api/data/shop/sale", map[string]any{"number": "x", "grand": 5, "total": 1})
		wantErr(t, "write computed", st, body, 422, "validation_failed")
	})
}

func listBody(t *testing.T, e *env, path string) map[string]any {
	t.Helper()
	st, body := e.do("GET", path, nil)
	if st != 200 {
		t.Fatalf("GET %s: %d %v", path, st, body)
	}
	return body
}

// Hooks change records, refuse them with the script's line, see ctx; after
// hooks' failures and console lines land in the script log.
func TestLogicHooks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		ctx := context.Background()
		if _, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}}); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")

		// A rep may not give more than 20%: 422 naming the script and line 4.
		before := e.count("shop/sale")
		st, body := e.doAs(rep, "POST", "/api/data/shop/sale", map[string]any{"number": "r-1", "discount": 25})
		wantErr(t, "rep discount", st, body, 422, "script_failed")
		errObj := body["error"].(map[string]any)
		if errObj["message"] != "Discounts over 20% need a manager" {
			t.Errorf("message %v", errObj["message"])
		}
		if sc, _ := errObj["script"].(map[string]any); sc["script"] != "order" || sc["function"] != "beforeSave" || num(t, sc["line"]) != 4 || sc["kind"] != "runtime" {
			t.Errorf("script fault %v", errObj["script"])
		}
		if e.count("shop/sale") != before {
			t.Error("a refused create wrote a record")
		}
		// An admin may; ctx.previous and ctx.changed feed the note.
		o := e.create("shop/sale", map[string]any{"number": "m-1", "discount": 25})
		st, body = e.do("PATCH", "/api/data/shop/sale/"+str(o["id"]), map[string]any{"discount": 30, "version": o["version"]})
		if st != 200 || body["note"] != "discount was 25" {
			t.Errorf("previous/changed: %d %v", st, body)
		}
		// Every failing rule is reported at once.
		st, body = e.do("POST", "/api/data/shop/sale", map[string]any{"number": "much-too-long-number", "discount": 60})
		wantErr(t, "two rules", st, body, 422, "validation_failed")
		wantDetail(t, "rule 1", body, "/discount")
		wantDetail(t, "rule 2", body, "/number")
		if d := details(t, body); len(d) != 2 || !strings.Contains(mustJSON(body), "Discount cannot exceed 50%") || !strings.Contains(mustJSON(body), "at most 10 characters") {
			t.Errorf("rule details %v: %v", d, body)
		}
		// A failing after-hook does not undo the write; the failure is logged.
		failed := e.create("shop/sale", map[string]any{"number": "fail"})
		if e.get("shop/sale", str(failed["id"]))["number"] != "FAIL" {
			t.Error("the write did not survive its failing after-hook")
		}
		// The after-hook is a job: it runs once the write committed.
		var logs []map[string]any
		e.eventually("the after-hook's failure in the script log", func() bool {
			st, body = e.do("GET", "/api/meta/apps/shop/scripts/log?level=error", nil)
			logs = items(t, body)
			return len(logs) > 0 && logs[0]["event"] == "afterSave"
		})
		if st != 200 || len(logs) < 1 || !strings.Contains(str(logs[0]["message"]), "after-hook failed") || logs[0]["event"] != "afterSave" || num(t, logs[0]["line"]) != 10 {
			t.Errorf("after-hook failure in the log: %d %v", st, logs)
		}
		e.eventually("afterSave's console.info lines", func() bool {
			st, body = e.do("GET", "/api/meta/apps/shop/scripts/log?level=info", nil)
			logs := items(t, body)
			return st == 200 && len(logs) > 0 && strings.HasPrefix(str(logs[0]["message"]), "saved")
		})
		// The log is for admins only.
		st, body = e.doAs(rep, "GET", "/api/meta/apps/shop/scripts/log", nil)
		wantErr(t, "rep reads log", st, body, 403, "forbidden")
	})
}

// The sandbox stops runaway scripts, keeps built-ins intact across calls,
// exposes no host objects and reads only what the caller may see — while
// the server keeps answering.
func TestLogicSandbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		ctx := context.Background()
		repUser, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 1")
		e.create("shop/sale", map[string]any{"number": "theirs", "note": "n"})
		if st, body := e.doAs(rep, "POST", "/api/data/shop/sale", map[string]any{"number": "mine"}); st != 201 {
			t.Fatalf("rep order: %d %v", st, body)
		}
		probe := func(token, mode string) (int, map[string]any) {
			return e.doAs(token, "POST", "/api/data/shop/probe", map[string]any{"mode": mode})
		}
		stopped := []struct {
			mode, kind, msg string
			line            int
		}{
			{"loop", "timeout", "longer than 200ms", 0},
			{"recurse", "stack", "call stack", 4},
			{"grow", "", "", 0}, // memory or time, whichever trips first
			{"repeat", "", "memory limit", 6},
			{"array", "", "", 0},
			{"string", "runtime", "boom", 12},
			{"null", "runtime", "null", 13},
			{"object", "runtime", `{"code":"E1"}`, 14},
			{"typo", "runtime", `probe has no field "ot"`, 15},
			{"secret", "runtime", `no entity "secret" in app "shop"`, 17},
			{"badfilter", "runtime", "nope", 18},
			{"getbad", "runtime", `no entity "nope"`, 20},
			{"badlimit", "runtime", "limit must be a whole number from 1 to 500", 21},
			{"badoption", "runtime", `unknown option "order"`, 22},
		}
		for _, c := range stopped {
			t.Run(c.mode, func(t *testing.T) {
				before := e.count("shop/probe")
				var wg sync.WaitGroup
				done := make(chan struct{})
				var other time.Duration
				otherStatus := 0
				wg.Add(1)
				go func() { // another user's request while the script runs
					defer wg.Done()
					time.Sleep(20 * time.Millisecond)
					start := time.Now()
					otherStatus, _ = e.doAs(rep, "GET", "/api/data/shop/sale", nil)
					other = time.Since(start)
					close(done)
				}()
				st, body := probe(rep, c.mode)
				wg.Wait()
				wantErr(t, c.mode, st, body, 422, "script_failed")
				errObj := body["error"].(map[string]any)
				sc, _ := errObj["script"].(map[string]any)
				if c.kind != "" && sc["kind"] != c.kind {
					t.Errorf("%s: kind %v, want %s (%v)", c.mode, sc["kind"], c.kind, errObj)
				}
				if !strings.Contains(str(errObj["message"]), c.msg) {
					t.Errorf("%s: message %q, want %q", c.mode, errObj["message"], c.msg)
				}
				if c.line > 0 && num(t, sc["line"]) != int64(c.line) {
					t.Errorf("%s: line %v, want %d", c.mode, sc["line"], c.line)
				}
				if otherStatus != 200 || other > 2*time.Second {
					t.Errorf("%s: a concurrent list answered %d after %v", c.mode, otherStatus, other)
				}
				if e.count("shop/probe") != before {
					t.Errorf("%s: the refused write was stored", c.mode)
				}
			})
		}
		// Tampering with built-ins in one call does not reach the next.
		if st, body := probe(rep, "tamper"); st != 201 && st != 422 {
			t.Fatalf("tamper: %d %v", st, body)
		}
		st, body := probe(rep, "check")
		if st != 201 || body["out"] != "undefined,function,function" {
			t.Errorf("built-ins after tampering: %d %v", st, body)
		}
		// No host objects: no require, process, timers, network; db is plain.
		st, body = probe(rep, "host")
		if st != 201 || body["out"] != "undefined,undefined,undefined,undefined,undefined,undefined,undefined,find+get" {
			t.Errorf("host probe: %d %v", st, body)
		}
		// db.find sees what the caller sees: the rep's own order, without the hidden note.
		st, body = probe(rep, "find")
		if st != 201 || body["out"] != "MINE:hidden" {
			t.Errorf("rep's db.find: %d %v", st, body)
		}
		st, body = e.do("POST", "/api/data/shop/probe", map[string]any{"mode": "find"})
		if st != 201 || body["out"] != "MINE:seen,THEIRS:seen" {
			t.Errorf("admin's db.find: %d %v", st, body)
		}
		// A formula over a field hidden from the rep is hidden too.
		st, body = e.doAs(rep, "GET", "/api/data/shop/sale", nil)
		if list := items(t, body); st != 200 || len(list) != 1 || list[0]["noted"] != nil || strings.Contains(mustJSON(body), "noted") {
			t.Errorf("rep sees a formula over a hidden field: %d %v", st, body)
		}
		st, body = e.doAs(rep, "GET", "/api/data/shop/sale?filter="+q("noted = true"), nil)
		wantErr(t, "filter on a formula over a hidden field", st, body, 400, "invalid_filter")
		// db.get of something that is not there is null.
		st, body = probe(rep, "get")
		if st != 201 || body["out"] != "null" {
			t.Errorf("db.get: %d %v (rep %s)", st, body, repUser.ID)
		}
		// The server is healthy after all of this.
		if st, _ := e.do("GET", "/api/health", nil); st != 200 {
			t.Errorf("health after the sandbox tests: %d", st)
		}
	})
}

// Scripts, formulas and rules are checked when the app is applied.
func TestLogicApplyChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		cases := []struct{ name, from, to, path, msg string }{
			{"script syntax", `function check(record, ctx) {`, `function check(record, ctx) { if (`, "/scripts/probe", "line 2"},
			{"missing function", `"probe#check"`, `"probe#chekc"`, "/entities/3/hooks/beforeSave", `no top-level function "chekc"`},
			{"formula syntax", `"qty * price"`, `"qty * * price"`, "/entities/2/fields/3/expr", "not a valid expression"},
			{"formula cycle", `"qty * price"`, `"qty * price + sale.grand"`, "/entities/1/fields/3/rollup", "cycle"},
			{"rollup filter", `"grand >= 100"`, `"grand >>= 100"`, "/entities/0/fields/3/rollup/filter", ""},
			{"rule field", `"len(number) <= 10"`, `"len(numbr) <= 10"`, "/entities/1/validations/1/expr", `unknown field "numbr"`},
			{"unknown function", `"round(total *`, `"roudn(total *`, "/entities/1/fields/5/expr", `unknown function "roudn" (did you mean "round"?)`},
			{"rule function", `"len(number) <= 10"`, `"length(number) <= 10"`, "/entities/1/validations/1/expr", `unknown function`},
		}
		for _, c := range cases {
			doc := strings.Replace(shopDoc(), c.from, c.to, 1)
			if doc == shopDoc() {
				t.Fatalf("%s: %q not in the document", c.name, c.from)
			}
			st, body := e.do("POST", "/api/meta/apps", doc)
			wantErr(t, c.name, st, body, 422, "validation_failed")
			wantDetail(t, c.name, body, c.path)
			if !strings.Contains(fmt.Sprint(body), c.msg) {
				t.Errorf("%s: %v lacks %q", c.name, body, c.msg)
			}
		}
	})
}

// A formula added to an entity that has records is computed for them when
// the app is applied.
func TestLogicBackfill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		o := e.create("shop/sale", map[string]any{"number": "a"})
		e.create("shop/line", map[string]any{"sale": o["id"], "qty": 2, "price": 5})
		doc := strings.Replace(shopDoc(), `{"id": "l4", "name": "amount", "type": "formula", "expr": "qty * price"}`,
			`{"id": "l4", "name": "amount", "type": "formula", "expr": "qty * price"},
			 {"id": "l9", "name": "double", "type": "formula", "expr": "amount * 2"}`, 1)
		if st, body := e.do("POST", "/api/meta/apps", doc); st != 201 {
			t.Fatalf("apply: %d %v", st, body)
		}
		st, body := e.do("GET", "/api/data/shop/line?filter="+url.QueryEscape("double = 20"), nil)
		if list := items(t, body); st != 200 || len(list) != 1 {
			t.Errorf("backfilled formula: %d %v", st, body)
		}
	})
}

// POST …/scripts/test runs a hook or formula on a sample without writing.
func TestLogicScriptTest(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		path := "/api/meta/apps/shop/scripts/test"
		st, body := e.do("POST", path, map[string]any{"entity": "sale", "hook": "beforeSave", "record": map[string]any{"number": "t-1", "discount": 5}})
		if st != 200 || body["ok"] != true {
			t.Fatalf("hook test: %d %v", st, body)
		}
		ch, _ := body["changes"].(map[string]any)
		if ch["number"] != "T-1" {
			t.Errorf("changes %v", ch)
		}
		if logs, _ := body["logs"].([]any); len(logs) != 1 || !strings.Contains(mustJSON(logs[0]), "saving T-1 true") {
			t.Errorf("logs %v", body["logs"])
		}
		if e.count("shop/sale") != 0 {
			t.Error("the test wrote a record")
		}
		st, body = e.do("POST", path, map[string]any{"entity": "line", "formula": "amount", "record": map[string]any{"qty": 3, "price": "2.50"}})
		if st != 200 || mustJSON(body["result"]) != "7.50" {
			t.Errorf("formula test: %d %v", st, body)
		}
		st, body = e.do("POST", path, map[string]any{"entity": "sale", "record": map[string]any{"discount": 70}})
		if st != 200 || body["ok"] != false || !strings.Contains(mustJSON(body["error"]), "Discount cannot exceed 50%") {
			t.Errorf("rules test: %d %v", st, body)
		}
		st, body = e.do("POST", path, map[string]any{"entity": "probe", "hook": "beforeSave", "record": map[string]any{"mode": "loop"}})
		if st != 200 || body["ok"] != false || !strings.Contains(mustJSON(body["error"]), "timeout") {
			t.Errorf("loop test: %d %v", st, body)
		}
		for _, c := range []struct {
			body   any
			status int
			code   string
		}{
			{`{"entity": "sale", "record": `, 400, "invalid_json"},
			{`{"entity": "sale", "record": {}, "bogus": 1}`, 400, "invalid_json"},
			{`{"entity": 5, "record": {}}`, 400, "invalid_json"},
			{`{"record": {}}`, 422, "validation_failed"},
			{`{"entity": "nope", "record": {}}`, 404, "not_found"},
			{`{"entity": "sale", "hook": "onSave", "record": {}}`, 422, "validation_failed"},
			{`{"entity": "sale", "formula": "number", "record": {}}`, 422, "validation_failed"},
			{`{"entity": "sale", "record": {"discount": "lots", "x'; DROP TABLE shop_order; --": 1}}`, 422, "validation_failed"},
			{`{"entity": "sale"}`, 422, "validation_failed"},
		} {
			st, body := e.do("POST", path, c.body)
			wantErr(t, fmt.Sprint(c.body), st, body, c.status, c.code)
		}
		if e.count("shop/sale") != 0 {
			t.Error("bad test requests wrote records")
		}
		_, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		st, body = e.doAs(e.login("rep@example.com", "rep password 1"), "POST", path, map[string]any{"entity": "sale", "record": map[string]any{}})
		wantErr(t, "rep runs a test", st, body, 403, "forbidden")
	})
}

// Concurrent writes to children and parents keep rollups exact and do not
// fail: a line's change locks its product to recompute its rollup, while a
// product's rename locks its lines to recompute their formulas.
func TestLogicConcurrentWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		sale := e.create("shop/sale", map[string]any{"number": "k-1"})
		product := e.create("shop/product", map[string]any{"name": "Widget"})
		var lines []map[string]any
		for i := 0; i < 4; i++ {
			lines = append(lines, e.create("shop/line", map[string]any{"sale": sale["id"], "qty": 1, "price": 1, "product": product["id"]}))
		}
		var wg sync.WaitGroup
		errs := make(chan string, 100)
		for w, l := range lines {
			wg.Add(1)
			go func(w int, id string) {
				defer wg.Done()
				version := int64(1)
				for i := 0; i < 10; i++ {
					st, body := e.do("PATCH", "/api/data/shop/line/"+id, map[string]any{"qty": i + 2, "version": version})
					if st != 200 {
						errs <- fmt.Sprintf("line %d patch %d: %d %v", w, i, st, body)
						return
					}
					version = num(t, body["version"])
				}
			}(w, str(l["id"]))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			version := num(t, product["version"])
			for i := 0; i < 10; i++ {
				st, body := e.do("PATCH", "/api/data/shop/product/"+str(product["id"]), map[string]any{"name": fmt.Sprintf("Widget %d", i), "version": version})
				if st != 200 {
					errs <- fmt.Sprintf("product patch %d: %d %v", i, st, body)
					return
				}
				version = num(t, body["version"])
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// Each line ends at qty 11: the rollups are exact, the formulas current.
		if p := e.get("shop/product", str(product["id"])); mustJSON(p["sold"]) != "44" || p["name"] != "Widget 9" {
			t.Errorf("product after the burst: %v", p)
		}
		if s := e.get("shop/sale", str(sale["id"])); mustJSON(s["total"]) != "44.00" || mustJSON(s["lines"]) != "4" {
			t.Errorf("sale after the burst: %v", s)
		}
		for _, l := range items(t, listBody(t, e, "/api/data/shop/line")) {
			if l["pname"] != "Widget 9" {
				t.Errorf("line %v: pname %v", l["id"], l["pname"])
			}
		}
	})
}

// Forms and list views are checked when the app is applied, the list's
// filter with the filter language; a good one round-trips.
func TestFormsApply(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := shopEnv(t, db)
		withForms := func(forms string) string {
			return strings.Replace(shopDoc(), `"scripts": {`, `"forms": `+forms+`, "scripts": {`, 1)
		}
		st, body := e.do("POST", "/api/meta/apps", withForms(`[{"entity": "sale", "kind": "list", "columns": ["number", "grand"], "filter": "grand >>= 1"}]`))
		wantErr(t, "bad list filter", st, body, 422, "validation_failed")
		wantDetail(t, "bad list filter", body, "/forms/0/filter")
		st, body = e.do("POST", "/api/meta/apps", withForms(`[{"entity": "sale", "kind": "form", "sections": [{"title": "Sale", "columns": 2, "fields": ["number", "nope"]}]}]`))
		wantErr(t, "unknown form field", st, body, 422, "validation_failed")
		wantDetail(t, "unknown form field", body, "/forms/0/sections/0/fields/1")
		good := `[{"entity": "sale", "kind": "form", "sections": [{"title": "Sale", "columns": 2, "fields": ["number", "discount"]}]},
			{"entity": "sale", "kind": "list", "columns": ["number", "grand"], "sort": "-grand", "filter": "owner = @me"}]`
		if st, body := e.do("POST", "/api/meta/apps", withForms(good)); st != 201 {
			t.Fatalf("good forms: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/meta/apps/shop", nil)
		if forms, _ := body["forms"].([]any); st != 200 || len(forms) != 2 || forms[1].(map[string]any)["sort"] != "-grand" {
			t.Errorf("forms after apply: %d %v", st, body["forms"])
		}
	})
}
