package api_test

import (
	"context"
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// TestPipelineSample runs the sample sales pipeline app end to end.
func TestPipelineSample(t *testing.T) {
	doc, err := os.ReadFile("../../schema/testdata/pipeline.json")
	if err != nil {
		t.Fatal(err)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, string(doc))
		post := func(entity string, rec map[string]any) map[string]any {
			t.Helper()
			st, body := e.do("POST", "/api/data/pipeline/"+entity, rec)
			if st != 201 {
				t.Fatalf("create %s: %d %v", entity, st, body)
			}
			return body
		}
		acct := post("account", map[string]any{"name": "华东贸易", "industry": "retail", "website": "https://example.cn", "annual_revenue": "1200000.50"})
		contact := post("contact", map[string]any{"last_name": "Wang", "email": "wang@example.cn", "account": acct["id"]})
		opp := post("opportunity", map[string]any{"title": "Renewal 2027", "account": acct["id"], "contact": contact["id"]})
		// Defaults fill what the writer left out.
		if opp["stage"] != "lead" || mustJSON(opp["amount"]) != "0.00" || mustJSON(opp["probability"]) != "10" {
			t.Errorf("defaults: %v", opp)
		}
		st, body := e.do("POST", "/api/data/pipeline/opportunity", map[string]any{"title": "No account"})
		wantErr(t, "required ref", st, body, 422, "validation_failed")
		wantDetail(t, "required ref", body, "/account")
		st, body = e.do("POST", "/api/data/pipeline/opportunity", map[string]any{"title": "x", "account": acct["id"], "probability": 101, "amount": -1})
		wantErr(t, "bounds", st, body, 422, "validation_failed")
		if ds := details(t, body); mustJSON(ds) != `["/amount","/probability"]` {
			t.Errorf("bounds: %v", ds)
		}
		st, body = e.do("POST", "/api/data/pipeline/contact", map[string]any{"last_name": "Li", "email": "wang@example.cn"})
		wantErr(t, "unique email", st, body, 409, "duplicate_value")

		// A filter follows a ref one hop (issue 21): by the account's name.
		st, body = e.do("GET", "/api/data/pipeline/opportunity?expand=account,contact&filter="+q(`stage = "lead" && account.name = "x"`), nil)
		if st != 200 || len(items(t, body)) != 0 {
			t.Errorf("dotted filter, no match: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/data/pipeline/opportunity?filter="+q(`account.name ~ "华东"`), nil)
		if st != 200 || len(items(t, body)) != 1 {
			t.Errorf("dotted filter: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/data/pipeline/opportunity?filter="+q(`account.name.first = "x"`), nil)
		wantErr(t, "two hops", st, body, 400, "invalid_filter")
		st, body = e.do("GET", "/api/data/pipeline/opportunity?expand=account,contact&filter="+q(`stage in ["lead", "qualified"] && amount >= 0`), nil)
		if st != 200 || len(items(t, body)) != 1 {
			t.Fatalf("list: %d %v", st, body)
		}
		exp := items(t, body)[0]["expand"].(map[string]any)
		if exp["account"].(map[string]any)["name"] != "华东贸易" || exp["contact"].(map[string]any)["last_name"] != "Wang" {
			t.Errorf("expand: %v", exp)
		}

		// The account is referenced by the opportunity (restrict).
		st, body = e.do("DELETE", "/api/data/pipeline/account/"+str(acct["id"]), nil)
		wantErr(t, "delete referenced account", st, body, 409, "referenced")
		// The contact may go: the opportunity's ref is cleared (setNull).
		if st, body := e.do("DELETE", "/api/data/pipeline/contact/"+str(contact["id"]), nil); st != 204 {
			t.Fatalf("delete contact: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/data/pipeline/opportunity/"+str(opp["id"]), nil)
		if st != 200 || body["contact"] != nil || body["account"] != acct["id"] {
			t.Errorf("opportunity after contact delete: %d %v", st, body)
		}

		st, raw := e.raw(e.token, "GET", "/api/meta/apps/pipeline/openapi.json", nil)
		if st != 200 {
			t.Fatalf("openapi: %d", st)
		}
		oa, err := openapi3.NewLoader().LoadFromData(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := oa.Validate(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
