package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/formaapp/forma/engine/access"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/bulk"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// roundTripDoc: a deal with a field of each type an export writes and an
// import reads back, labels in Chinese on the select options.
const roundTripDoc = `{"name": "rt",
 "entities": [
  {"id": "e1", "name": "account", "fields": [{"id": "a1", "name": "name", "type": "text", "unique": true}]},
  {"id": "e2", "name": "deal", "label": "Deal", "labels": {"zh-CN": "商机"}, "fields": [
   {"id": "d1", "name": "title", "type": "text", "label": "Title", "labels": {"zh-CN": "标题"}, "unique": true},
   {"id": "d2", "name": "amount", "type": "decimal", "scale": 2, "labels": {"zh-CN": "金额"}},
   {"id": "d3", "name": "due", "type": "date", "labels": {"zh-CN": "截止日期"}},
   {"id": "d4", "name": "at", "type": "datetime", "labels": {"zh-CN": "时间"}},
   {"id": "d5", "name": "won", "type": "boolean", "labels": {"zh-CN": "赢单"}},
   {"id": "d6", "name": "stage", "type": "select", "options": ["lead", "won"], "optionLabels": {"lead": {"en": "Lead", "zh-CN": "线索"}, "won": {"en": "Won", "zh-CN": "赢单了"}}},
   {"id": "d7", "name": "tags", "type": "multiselect", "options": ["vip", "new"], "optionLabels": {"vip": {"zh-CN": "大客户"}, "new": {"zh-CN": "新客户"}}},
   {"id": "d8", "name": "account", "type": "ref", "entity": "account"},
   {"id": "d9", "name": "rep", "type": "user"},
   {"id": "d10", "name": "note", "type": "text"}]}],
 "roles": [{"name": "rep", "entities": {"deal": {"read": "all"}}}]}`

const roundTripFields = "title,amount,due,at,won,stage,tags,account,rep,note"

// TestExportRoundTripsIntoImport: what an export writes (CSV and XLSX,
// values and labels, in a time zone east of UTC) imports back into the
// emptied entity unchanged, field by field — Chinese text, a cell a
// spreadsheet would run as a formula (neutralised on the way out, restored
// on the way in), every type, and empty cells.
func TestExportRoundTripsIntoImport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, roundTripDoc)
		ctx := context.Background()
		u, err := e.acc.CreateUserWith(ctx, access.NewUser{Email: "li@example.com", Password: "li password 1", Name: "李雷", Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		acc := e.create("rt/account", map[string]any{"name": "阿里巴巴（中国）有限公司"})
		e.create("rt/deal", map[string]any{"title": "华为云，第一期", "amount": "1234567.89", "due": "2026-03-05", "at": "2026-03-05T23:30:00Z",
			"won": true, "stage": "won", "tags": []string{"vip", "new"}, "account": acc["id"], "rep": u.ID, "note": "第一行\n第二行, \"引号\""})
		e.create("rt/deal", map[string]any{"title": "=HYPERLINK(\"http://evil.example\",\"x\")", "amount": "-0.50", "due": "2026-12-31",
			"at": "2026-01-01T00:00:00Z", "won": false, "stage": "lead", "tags": []string{"new"}, "note": "+1+2"})
		e.create("rt/deal", map[string]any{"title": "空的 empty"})
		want := roundTripRecords(t, e)
		if len(want) != 3 {
			t.Fatalf("records: %v", want)
		}

		// a list's system columns export too (the web UI's default list shows created_at)
		st, _, body := e.exportGet(e.token, "/api/data/rt/deal/export?format=csv&labels=1&sort=title&fields=title,created_at,owner,id", "zh-CN")
		if _, rows := table(t, body, "x.csv"); st != 200 || !bytes.HasPrefix(body, []byte("\uFEFF标题,创建时间,负责人,编号\n")) || len(rows) != 3 ||
			rows[1][1] == "" || rows[1][2] != adminEmail || rows[1][3] != str(want[rows[1][0]]["id"]) {
			t.Fatalf("system columns: %d %q %q", st, body, rows)
		}

		for _, format := range []string{"csv", "xlsx"} {
			for _, labels := range []string{"0", "1"} {
				t.Run(format+"/labels="+labels, func(t *testing.T) {
					st, _, body := e.exportGet(e.token, "/api/data/rt/deal/export?format="+format+"&labels="+labels+"&tz=Asia/Shanghai&sort=title&fields="+roundTripFields, "zh-CN")
					if st != 200 {
						t.Fatalf("export: %d %s", st, body)
					}
					// With labels a user is their email (the app's members), as people
					// read it and as an import finds them; else their id.
					if format == "csv" && strings.Contains(string(body), "li@example.com") != (labels == "1") {
						t.Errorf("the rep's email in the labels=%s export: %s", labels, clip(string(body)))
					}
					if _, err := db.SQL.Exec(`DELETE FROM rt_deal`); err != nil {
						t.Fatal(err)
					}
					res, err := e.bulkSvc.Import(ctx, bulk.Run{Caller: records.Caller{Admin: true}, App: "rt", Entity: "deal",
						File: bytes.NewReader(body), Size: int64(len(body)), Name: "deal." + format,
						Options: bulk.ImportOptions{TimeZone: "Asia/Shanghai"}})
					if err != nil || res.Created != 3 || res.Bad != 0 {
						t.Fatalf("import: %+v %v\n%s", res, err, clip(string(body)))
					}
					got := roundTripRecords(t, e)
					for title, w := range want {
						g, ok := got[title]
						if !ok {
							t.Errorf("%q did not come back: %v", title, got)
							continue
						}
						for _, f := range []string{"amount", "due", "at", "won", "stage", "tags", "account", "rep", "note"} {
							if a, b := mustJSONOf(t, w[f]), mustJSONOf(t, g[f]); a != b {
								t.Errorf("%q %s: exported %s, imported %s", title, f, a, b)
							}
						}
					}
				})
			}
		}
	})
}

// roundTripRecords lists the deals by title, as the API answers them.
func roundTripRecords(t *testing.T, e *env) map[string]map[string]any {
	t.Helper()
	st, body := e.do("GET", "/api/data/rt/deal?limit=100", nil)
	if st != 200 {
		t.Fatalf("list: %d %v", st, body)
	}
	out := map[string]map[string]any{}
	for _, r := range items(t, body) {
		out[str(r["title"])] = r
	}
	return out
}

func mustJSONOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(string(b))
}
