package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/bulk"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// exportDoc: deals with one field of each importable type; a rep reads
// every deal but not "secret".
const exportDoc = `{"name": "ex",
 "roles": [{"name": "rep", "entities": {"deal": {"read": "all", "fields": {"secret": "hidden"}}, "account": {"read": "all"}}}],
 "entities": [
  {"id": "e1", "name": "account", "fields": [{"id": "a1", "name": "name", "type": "text", "unique": true}]},
  {"id": "e2", "name": "deal", "label": "Deal", "fields": [
   {"id": "d1", "name": "title", "type": "text", "label": "Title", "labels": {"zh-CN": "标题"}},
   {"id": "d2", "name": "amount", "type": "decimal", "scale": 2, "labels": {"zh-CN": "金额"}},
   {"id": "d3", "name": "qty", "type": "integer"},
   {"id": "d4", "name": "won", "type": "boolean"},
   {"id": "d5", "name": "due", "type": "date"},
   {"id": "d6", "name": "at", "type": "datetime"},
   {"id": "d7", "name": "stage", "type": "select", "options": ["lead", "won"], "optionLabels": {"lead": {"zh-CN": "线索"}, "won": {"zh-CN": "赢单"}}},
   {"id": "d8", "name": "tags", "type": "multiselect", "options": ["a", "b"]},
   {"id": "d9", "name": "account", "type": "ref", "entity": "account"},
   {"id": "d10", "name": "phone", "type": "phone"},
   {"id": "d11", "name": "notes", "type": "longtext"},
   {"id": "d12", "name": "secret", "type": "text"},
   {"id": "d13", "name": "total", "type": "formula", "expr": "amount * 2"}]}]}`

// exportGet sends GET path with token and Accept-Language lang.
func (e *env) exportGet(token, path, lang string) (int, http.Header, []byte) {
	e.t.Helper()
	req := httptest.NewRequest("GET", "http://forma.test"+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// table reads an export back with the import side's reader.
func table(t *testing.T, data []byte, name string) ([]string, [][]string) {
	t.Helper()
	tb, err := bulk.OpenTable(bytes.NewReader(data), int64(len(data)), name, bulk.ReadOptions{})
	if err != nil {
		t.Fatalf("read the export back: %v\n%s", err, clip(string(data)))
	}
	defer tb.Close()
	var rows [][]string
	for {
		cells, _, err := tb.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, cells)
	}
	return tb.Header(), rows
}

// injections are titles a spreadsheet would run as formulas.
var injections = []string{"=HYPERLINK(\"http://evil.example\",\"x\")", "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "'=already quoted"}

func exportEnv(t *testing.T, db *store.DB) (*env, string, string) {
	e := newEnv(t, db, exportDoc)
	_, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "rep@example.com", Password: "rep password 1", Roles: []string{"rep"}})
	if err != nil {
		t.Fatal(err)
	}
	acc := e.create("ex/account", map[string]any{"name": "阿里巴巴"})
	e.create("ex/deal", map[string]any{"title": "A plain deal", "amount": "-5.00", "qty": -3, "won": true, "due": "2026-03-05",
		"at": "2026-03-05T06:30:00Z", "stage": "won", "tags": []string{"a", "b"}, "account": acc["id"], "phone": "+86 138 0000 0000",
		"notes": "line 1\nline 2, with \"quotes\"", "secret": "s3cr3t"})
	for i, title := range injections {
		e.create("ex/deal", map[string]any{"title": title, "amount": fmt.Sprint(i), "secret": "s3cr3t"})
	}
	return e, e.login("rep@example.com", "rep password 1"), str(acc["id"])
}

func TestExportCSV(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, repToken, accID := exportEnv(t, db)
		st, h, body := e.exportGet(e.token, "/api/data/ex/deal/export?format=csv&sort=title&fields=title,amount,qty,won,due,at,stage,tags,account,phone,notes,secret,total", "")
		if st != 200 {
			t.Fatalf("export: %d %s", st, body)
		}
		if !bytes.HasPrefix(body, []byte("\uFEFF")) || h.Get("Content-Type") != "text/csv; charset=utf-8" ||
			!strings.HasPrefix(h.Get("Content-Disposition"), `attachment; filename="deal-`) {
			t.Errorf("headers %v, start %q", h, clip(string(body)))
		}
		head, rows := table(t, body, "x.csv")
		if strings.Join(head, ",") != "title,amount,qty,won,due,at,stage,tags,account,phone,notes,secret,total" || len(rows) != 1+len(injections) {
			t.Fatalf("%q %q", head, rows)
		}
		byTitle := map[string][]string{}
		for _, r := range rows {
			byTitle[r[0]] = r
		}
		plain := byTitle["A plain deal"]
		want := []string{"A plain deal", "-5.00", "-3", "true", "2026-03-05", "2026-03-05 06:30:00", "won", "a, b", accID, "'+86 138 0000 0000",
			"line 1\nline 2, with \"quotes\"", "s3cr3t", "-10.00"}
		if !reflect.DeepEqual(plain, want) {
			t.Errorf("plain row\n got %q\nwant %q", plain, want)
		}
		// Every formula-looking text is neutralised; the negative numbers of
		// number columns are not text and stay numbers.
		for _, inj := range injections {
			if r := byTitle["'"+inj]; r == nil {
				t.Errorf("%q not neutralised: %q", inj, rows)
			}
		}

		// The rep never gets the hidden field: not as a column, and naming
		// it is answered as a field that does not exist.
		st, _, body = e.exportGet(repToken, "/api/data/ex/deal/export", "")
		if st != 200 || bytes.Contains(body, []byte("s3cr3t")) || bytes.Contains(body, []byte("secret")) {
			t.Errorf("rep export: %d %s", st, body)
		}
		head, _ = table(t, body, "x.csv")
		if strings.Join(head, ",") != "id,created_at,updated_at,created_by,owner,version,title,amount,qty,won,due,at,stage,tags,account,phone,notes,total" {
			t.Errorf("rep columns %q", head)
		}
		for _, pair := range [][2]string{
			{"fields=secret", "fields=nosuch"},
			{"filter=" + q(`secret = "s3cr3t"`), "filter=" + q(`nosuch = "s3cr3t"`)},
			{"sort=secret", "sort=nosuch"},
		} {
			st1, _, b1 := e.exportGet(repToken, "/api/data/ex/deal/export?"+pair[0], "")
			st2, _, b2 := e.exportGet(repToken, "/api/data/ex/deal/export?"+pair[1], "")
			if st1 != 400 || st1 != st2 || strings.ReplaceAll(string(b1), "secret", "nosuch") != string(b2) {
				t.Errorf("%s → %d %s; %s → %d %s", pair[0], st1, b1, pair[1], st2, b2)
			}
		}
	})
}

func TestExportLabelsAndZone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _, _ := exportEnv(t, db)
		st, _, body := e.exportGet(e.token, "/api/data/ex/deal/export?labels=1&tz=Asia/Shanghai&fields=title,amount,won,at,stage,account&filter="+q(`title = "A plain deal"`), "zh-CN,zh;q=0.9,en;q=0.5")
		if st != 200 {
			t.Fatalf("%d %s", st, body)
		}
		head, rows := table(t, body, "x.csv")
		if strings.Join(head, ",") != "标题,金额,won,at,stage,account" || len(rows) != 1 ||
			strings.Join(rows[0], "|") != "A plain deal|-5.00|是|2026-03-05 14:30:00|赢单|阿里巴巴" {
			t.Errorf("%q %q", head, rows)
		}
		st, _, body = e.exportGet(e.token, "/api/data/ex/deal/export?labels=1&fields=title,won,stage&filter="+q(`title = "A plain deal"`), "en-GB")
		head, rows = table(t, body, "x.csv")
		if st != 200 || strings.Join(head, ",") != "Title,won,stage" || strings.Join(rows[0], "|") != "A plain deal|yes|won" {
			t.Errorf("%d %q %q", st, head, rows)
		}
	})
}

func TestExportXLSX(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _, _ := exportEnv(t, db)
		st, h, body := e.exportGet(e.token, "/api/data/ex/deal/export?format=xlsx&sort=title&fields=title,amount,qty,won,due,at,tags&tz=Asia/Shanghai", "")
		if st != 200 || !strings.Contains(h.Get("Content-Type"), "spreadsheetml") || !strings.HasSuffix(h.Get("Content-Disposition"), ".xlsx") {
			t.Fatalf("%d %v %s", st, h, clip(string(body)))
		}
		head, rows := table(t, body, "x.xlsx")
		if strings.Join(head, ",") != "title,amount,qty,won,due,at,tags" || len(rows) != 1+len(injections) {
			t.Fatalf("%q %q", head, rows)
		}
		var plain []string
		for _, r := range rows {
			if r[0] == "A plain deal" {
				plain = r
			} else if !strings.HasPrefix(r[0], "'") {
				t.Errorf("not neutralised: %q", r[0])
			}
		}
		// Raw cells: numbers as numbers, a date and a datetime as serials
		// (14:30 in Shanghai).
		if want := []string{"A plain deal", "-5", "-3", "1", "46086", "46086.604166666664", "a, b"}; !reflect.DeepEqual(plain, want) {
			t.Errorf("got %q\nwant %q", plain, want)
		}
	})
}

// refsByID is the import's look-up as far as an export needs it: refs by
// id, the one account by its name, and the admin by their email (a labels
// export writes the app's members as emails).
type refsByID struct{ accountName, accountID, adminID string }

func (l refsByID) Refs(ctx context.Context, entity, field string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range keys {
		switch {
		case field == "id":
			out[k] = k
		case entity == "account" && field == "name" && k == l.accountName:
			out[k] = l.accountID
		}
	}
	return out, nil
}

func (l refsByID) Users(ctx context.Context, emails []string) (map[string]string, error) {
	out := map[string]string{}
	for _, m := range emails {
		if m == adminEmail {
			out[m] = l.adminID
		}
	}
	return out, nil
}

// An export read back by OpenTable, MapColumns and the Coercer gives the
// values the records hold, in CSV and in XLSX, with or without a zone,
// with values or with labels (Chinese headers, options, 是/否, refs by name).
func TestExportRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _, accID := exportEnv(t, db)
		var app schema.App
		if err := json.Unmarshal([]byte(exportDoc), &app); err != nil {
			t.Fatal(err)
		}
		deal := app.Entity("deal")
		_, list := e.do("GET", "/api/data/ex/deal?sort=title&limit=100", nil)
		originals := items(t, list)
		for _, format := range []string{"csv", "xlsx"} {
			for _, tz := range []string{"UTC", "Asia/Shanghai", "Asia/Shanghai&labels=1"} {
				st, _, body := e.exportGet(e.token, "/api/data/ex/deal/export?sort=title&format="+format+"&tz="+tz, "zh-CN")
				if st != 200 {
					t.Fatalf("%d %s", st, body)
				}
				head, rows := table(t, body, "x."+format)
				m, err := bulk.MapColumns(&app, deal, head, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(m.Unknown) != 0 {
					t.Errorf("unknown columns %q", m.Unknown)
				}
				loc, _ := time.LoadLocation(strings.TrimSuffix(tz, "&labels=1"))
				c := bulk.NewCoercer(&app, deal, m, bulk.CoerceOptions{TimeZone: loc, Lookup: refsByID{"阿里巴巴", accID, e.admin.ID}})
				vals, probs := c.Rows(context.Background(), rows, nil)
				if len(probs) > 0 || len(vals) != len(originals) {
					t.Fatalf("%s %s: %d rows, problems %+v", format, tz, len(vals), probs)
				}
				for i, orig := range originals {
					for _, f := range deal.Fields {
						if f.Type.Computed() {
							continue
						}
						got, want := vals[i][f.Name], orig[f.Name]
						if f.Type == schema.DateTime && want != nil {
							g, _ := time.Parse(time.RFC3339Nano, str(got))
							w, _ := time.Parse(time.RFC3339Nano, str(want))
							if !g.Equal(w) {
								t.Errorf("%s %s row %d %s: %v, want %v", format, tz, i, f.Name, got, want)
							}
							continue
						}
						if mustJSON(got) != mustJSON(want) && !(got == nil && want == nil) {
							t.Errorf("%s %s row %d %s: %s, want %s", format, tz, i, f.Name, mustJSON(got), mustJSON(want))
						}
					}
				}
			}
		}
	})
}

func TestExportPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, exportDoc)
		const n = 1234
		var q string
		if db.Dialect.Name() == "postgres" {
			q = fmt.Sprintf(`INSERT INTO ex_deal (id, created_at, updated_at, owner, created_by, version, title, amount)
				SELECT lpad(i::text, 9, '0'), now(), now(), '%[2]s', '%[2]s', 1, 'deal ' || i, i FROM generate_series(1, %[1]d) AS i`, n, e.admin.ID)
		} else {
			q = fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %[1]d)
				INSERT INTO ex_deal (id, created_at, updated_at, owner, created_by, version, title, amount)
				SELECT printf('%%09d', i), '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', '%[2]s', '%[2]s', 1, 'deal ' || i, i * 100 FROM s`, n, e.admin.ID)
		}
		if _, err := db.SQL.Exec(q); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"csv", "xlsx"} {
			st, _, body := e.exportGet(e.token, "/api/data/ex/deal/export?fields=id,title&sort=id&format="+format, "")
			if st != 200 {
				t.Fatalf("%d %s", st, body)
			}
			_, rows := table(t, body, "x."+format)
			if len(rows) != n || rows[0][0] != "000000001" || rows[n-1][0] != fmt.Sprintf("%09d", n) {
				t.Errorf("%s: %d rows, first %q", format, len(rows), rows[0])
			}
		}
	})
}

func TestExportBadInput(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, _, _ := exportEnv(t, db)
		many := strings.Repeat("title,", bulk.MaxExportFields+1)
		var distinct []string
		for i := 0; i <= bulk.MaxExportFields; i++ {
			distinct = append(distinct, fmt.Sprintf("f%d", i))
		}
		cases := []struct {
			what, path string
			status     int
			code       string
		}{
			{"unknown format", "format=pdf", 400, "invalid_query"},
			{"format injection", "format=" + q("csv\r\nX-Evil: 1"), 400, "invalid_query"},
			{"unknown field", "fields=title,nosuch", 400, "invalid_query"},
			{"sql in fields", "fields=" + q(`title" FROM ex_deal; --`), 400, "invalid_query"},
			{"oversized fields", "fields=" + q(strings.Repeat("x", 9000)), 400, "invalid_query"},
			{"too many fields", "fields=" + q(strings.Join(distinct, ",")), 400, "invalid_query"},
			{"empty fields", "fields=" + q(" , ,"), 400, "invalid_query"},
			{"bad filter", "filter=" + q(`title = `), 400, "invalid_filter"},
			{"injection in filter", "filter=" + q(`title = "x" OR 1=1 --`), 400, "invalid_filter"},
			{"unknown zone", "tz=Mars/Olympus", 400, "invalid_query"},
			{"zone path", "tz=" + q("../../etc/passwd"), 400, "invalid_query"},
			{"bad labels", "labels=2", 400, "invalid_query"},
		}
		for _, c := range cases {
			st, _, body := e.exportGet(e.token, "/api/data/ex/deal/export?"+c.path, "")
			var m map[string]any
			json.Unmarshal(body, &m)
			wantErr(t, c.what, st, m, c.status, c.code)
		}
		// A repeated field is one column, not too many.
		if st, _, body := e.exportGet(e.token, "/api/data/ex/deal/export?fields="+q(many), ""); st != 200 {
			t.Errorf("repeated field: %d %s", st, body)
		}
		st, _, _ := e.exportGet(e.token, "/api/data/ex/nosuch/export", "")
		if st != 404 {
			t.Errorf("unknown entity: %d", st)
		}
		st, _, _ = e.exportGet("", "/api/data/ex/deal/export", "")
		if st != 401 {
			t.Errorf("no token: %d", st)
		}
		// A user whose roles grant nothing on deals exports nothing.
		if _, err := e.acc.CreateUserWith(context.Background(), access.NewUser{Email: "nobody@example.com", Password: "nobody password 1"}); err != nil {
			t.Fatal(err)
		}
		st, _, body := e.exportGet(e.login("nobody@example.com", "nobody password 1"), "/api/data/ex/deal/export", "")
		if st != 403 && st != 404 || bytes.Contains(body, []byte("A plain deal")) {
			t.Errorf("no role: %d %s", st, body)
		}
	})
}
