package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// listFixture creates accounts and items covering every filter case and
// returns the account ids.
func listFixture(t *testing.T, e *env) (a, b string) {
	t.Helper()
	a = str(e.create("account", map[string]any{"name": "Acme"})["id"])
	b = str(e.create("account", map[string]any{"name": "Beta"})["id"])
	rows := []map[string]any{
		{"title": "Acme Corp deal", "amount": "1500.00", "qty": 3, "stage": "won", "tags": []string{"a", "b"}, "done": true,
			"due": "2026-01-15", "at": "2026-01-15T10:00:00Z", "account": a, "email": "buyer@acme.example"},
		{"title": "Globex", "amount": "999.99", "qty": 1, "stage": "lost", "tags": []string{"b"}, "done": false,
			"due": "2026-03-01", "at": "2026-03-01T00:00:00+08:00", "account": b},
		{"title": "ACME renewal", "amount": "1000", "done": false, "account": a},
		{"title": "50% off_sale", "qty": 10, "stage": "lead", "tags": []string{}, "due": "2026-02-10"},
		{"title": "北京 客户", "amount": "20000", "qty": 0, "stage": "won", "tags": []string{"vip"}, "done": true,
			"at": "2026-02-10T00:00:00Z", "account": b},
		{"title": `back\slash "q"`, "amount": "0", "stage": "lead", "tags": []string{"a"}, "done": false},
	}
	for _, r := range rows {
		e.create("item", r)
	}
	return a, b
}

func titles(t *testing.T, body map[string]any) []string {
	t.Helper()
	var out []string
	for _, it := range items(t, body) {
		out = append(out, str(it["title"]))
	}
	return out
}

func TestFilter(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a, _ := listFixture(t, e)
		const (
			acme   = "Acme Corp deal"
			globex = "Globex"
			renew  = "ACME renewal"
			sale   = "50% off_sale"
			bj     = "北京 客户"
			slash  = `back\slash "q"`
		)
		cases := []struct {
			filter string
			want   []string
		}{
			{`amount >= 1000`, []string{acme, renew, bj}},
			{`amount > 1000`, []string{acme, bj}},
			{`amount >= 1000.00 && amount < 1500.01`, []string{acme, renew}},
			{`amount = 999.99`, []string{globex}},
			{`amount <= 999.99`, []string{globex, slash}},
			{`amount < 0.01`, []string{slash}},
			{`amount != 0`, []string{acme, globex, renew, sale, bj}},
			{`amount = null`, []string{sale}},
			{`amount != null`, []string{acme, globex, renew, bj, slash}},
			{`qty = 0`, []string{bj}},
			{`qty != 1`, []string{acme, renew, sale, bj, slash}},
			{`qty in [0, 1]`, []string{globex, bj}},
			{`stage = "won"`, []string{acme, bj}},
			{`stage != "won"`, []string{globex, renew, sale, slash}},
			{`stage = null`, []string{renew}},
			{`stage != null`, []string{acme, globex, sale, bj, slash}},
			{`stage in ["won", "lost"]`, []string{acme, globex, bj}},
			{`stage in ("lead")`, []string{sale, slash}},
			{`!(stage in ["won", "lost"])`, []string{renew, sale, slash}},
			{`stage in []`, nil},
			{`stage = "nope"`, nil},
			{`title ~ "acme"`, []string{acme, renew}},
			{`title ~ "ACME"`, []string{acme, renew}},
			{`title ~ "corp D"`, []string{acme}},
			{`title !~ "acme"`, []string{globex, sale, bj, slash}},
			{`title ~ "%"`, []string{sale}},
			{`title ~ "_"`, []string{sale}},
			{`title ~ "\\"`, []string{slash}},
			{`title ~ "\"q\""`, []string{slash}},
			{`title ~ "北京"`, []string{bj}},
			{`title = "北京 客户"`, []string{bj}},
			{`title = "Globex"`, []string{globex}},
			{`title = "globex"`, nil},
			{`title != "Globex"`, []string{acme, renew, sale, bj, slash}},
			{`title > "B" && title < "a"`, []string{globex}},
			{`email ~ "ACME.example"`, []string{acme}},
			{`email != null`, []string{acme}},
			{`tags ~ "a"`, []string{acme, slash}},
			{`tags ~ "vip"`, []string{bj}},
			{`tags !~ "a"`, []string{globex, renew, sale, bj}},
			{`tags = null`, []string{renew}},
			{`done = true`, []string{acme, bj}},
			{`done = false`, []string{globex, renew, slash}},
			{`done != true`, []string{globex, renew, sale, slash}},
			{`done = null`, []string{sale}},
			{`due >= "2026-02-01"`, []string{globex, sale}},
			{`due < "2026-02-10"`, []string{acme}},
			{`at < "2026-02-10T00:00:00Z"`, []string{acme}},
			{`at <= "2026-02-10T08:00:00+08:00"`, []string{acme, bj}},
			{`at = "2026-02-28T16:00:00Z"`, []string{globex}},
			{`account = "` + a + `"`, []string{acme, renew}},
			{`account != "` + a + `"`, []string{globex, sale, bj, slash}},
			{`account = null`, []string{sale, slash}},
			{`owner = "` + e.admin.ID + `"`, []string{acme, globex, renew, sale, bj, slash}},
			{`version = 1 && id != ""`, []string{acme, globex, renew, sale, bj, slash}},
			{`!(amount > 1000)`, []string{globex, renew, sale, slash}},
			{`!(qty > 0 && amount > 500)`, []string{renew, sale, bj, slash}},
			{`!!(stage = "won")`, []string{acme, bj}},
			{`qty > 0 || stage = null`, []string{acme, globex, renew, sale}},
			{`(title ~ "acme" || qty = 0) && !(stage = "lost")`, []string{acme, renew, bj}},
			{`amount >= 1000 && (stage = "won" || stage = "lost") && title ~ "acme" && at != null`, []string{acme}},
		}
		for _, c := range cases {
			st, body := e.do("GET", "/api/data/kit/item?sort=title&limit=500&filter="+q(c.filter), nil)
			if st != 200 {
				t.Errorf("%s: %d %v", c.filter, st, body)
				continue
			}
			want := slices.Clone(c.want)
			sort.Strings(want)
			if got := titles(t, body); !slices.Equal(got, want) {
				t.Errorf("%s:\n got %q\nwant %q", c.filter, got, want)
			}
		}
		// A filter of the longest length allowed, URL-encoded to three
		// times that, still fits in a request.
		var long strings.Builder
		long.WriteString(`title in ["Globex"`)
		for long.Len() < 4096-20 {
			long.WriteString(`, "€\"' ;x"`)
		}
		long.WriteString(`]`)
		st, body := e.do("GET", "/api/data/kit/item?filter="+q(long.String()), nil)
		if st != 200 || !slices.Equal(titles(t, body), []string{globex}) {
			t.Errorf("long filter (%d bytes): %d %v", long.Len(), st, body)
		}
		long.WriteString(strings.Repeat(" ", 4097-long.Len()))
		st, body = e.do("GET", "/api/data/kit/item?filter="+q(long.String()), nil)
		wantErr(t, "filter over 4096 bytes", st, body, 400, "invalid_filter")
		for _, f := range []string{`amount = "abc"`, `amount = 1.234`, `qty = 1.5`, `qty = "x"`, `done = 1`, `due = "2026-13-45"`,
			`at = "2026-01-01T00:00:00"`, `tags = "a"`, `meta = 1`, `stage > null`, `title in [null]`, `amount ~ "1"`,
			`title = `, `(title = "x"`, `title = "x" && `, strings.Repeat("(", 40) + `title = "x"` + strings.Repeat(")", 40)} {
			st, body := e.do("GET", "/api/data/kit/item?filter="+q(f), nil)
			wantErr(t, "filter "+f, st, body, 400, "invalid_filter")
			if st == 400 && len(details(t, body)) != 1 {
				t.Errorf("filter %s: details %v", f, details(t, body))
			}
		}
	})
}

func TestSortFieldsExpand(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		a, b := listFixture(t, e)
		ctx := context.Background()

		st, body := e.do("GET", "/api/data/kit/item?sort="+q("-amount,title"), nil)
		want := []string{"北京 客户", "Acme Corp deal", "ACME renewal", "Globex", `back\slash "q"`, "50% off_sale"}
		if st != 200 || !slices.Equal(titles(t, body), want) {
			t.Errorf("-amount,title: %d %q", st, titles(t, body))
		}
		// Nulls sort first ascending, last descending, on both dialects.
		st, body = e.do("GET", "/api/data/kit/item?sort=amount,title", nil)
		want = []string{"50% off_sale", `back\slash "q"`, "Globex", "ACME renewal", "Acme Corp deal", "北京 客户"}
		if st != 200 || !slices.Equal(titles(t, body), want) {
			t.Errorf("amount,title: %d %q", st, titles(t, body))
		}
		st, body = e.do("GET", "/api/data/kit/item?sort="+q("-stage,+title"), nil)
		want = []string{"Acme Corp deal", "北京 客户", "Globex", "50% off_sale", `back\slash "q"`, "ACME renewal"}
		if st != 200 || !slices.Equal(titles(t, body), want) {
			t.Errorf("-stage,+title: %d %q", st, titles(t, body))
		}
		st, body = e.do("GET", "/api/data/kit/item?sort="+q("stage,-qty"), nil)
		want = []string{"ACME renewal", "50% off_sale", `back\slash "q"`, "Globex", "Acme Corp deal", "北京 客户"}
		if st != 200 || !slices.Equal(titles(t, body), want) {
			t.Errorf("stage,-qty: %d %q", st, titles(t, body))
		}
		// The default order is newest first.
		st, body = e.do("GET", "/api/data/kit/item", nil)
		want = []string{`back\slash "q"`, "北京 客户", "50% off_sale", "ACME renewal", "Globex", "Acme Corp deal"}
		if st != 200 || !slices.Equal(titles(t, body), want) || body["nextCursor"] != nil {
			t.Errorf("default order: %d %q %v", st, titles(t, body), body["nextCursor"])
		}

		// fields: id always, nothing else than asked, even the sort key.
		st, body = e.do("GET", "/api/data/kit/item?fields=amount&sort=-qty&limit=2", nil)
		for _, it := range items(t, body) {
			if len(it) != 2 || it["id"] == nil || !hasKey(it, "amount") {
				t.Errorf("fields=amount: %v", it)
			}
		}
		cur := str(body["nextCursor"])
		st, body = e.do("GET", "/api/data/kit/item?fields=amount&sort=-qty&limit=2&cursor="+cur, nil)
		if st != 200 || len(items(t, body)) != 2 {
			t.Errorf("fields page 2: %d %v", st, body)
		}
		st, body = e.do("GET", "/api/data/kit/item?fields="+q(" title , id ,title"), nil)
		for _, it := range items(t, body) {
			if len(it) != 2 || it["id"] == nil || it["title"] == nil {
				t.Errorf("fields=title,id: %v", it)
			}
		}
		id := str(items(t, body)[0]["id"])
		st, body = e.do("GET", "/api/data/kit/item/"+id+"?fields=title", nil)
		if st != 200 || len(body) != 2 || body["id"] != id {
			t.Errorf("get fields=title: %d %v", st, body)
		}
		// GET one: expand works when fields leaves the ref out.
		withAcct := items(t, mustList(t, e, "filter="+q(`title = "Globex"`)))[0]
		st, body = e.do("GET", "/api/data/kit/item/"+str(withAcct["id"])+"?fields=title&expand=account", nil)
		if exp, _ := body["expand"].(map[string]any); st != 200 || len(body) != 3 || exp == nil || exp["account"] == nil ||
			exp["account"].(map[string]any)["id"] != b {
			t.Errorf("get fields=title&expand=account: %d %v", st, body)
		}

		// expand: one level; no ref expands to null.
		st, body = e.do("GET", "/api/data/kit/item?sort=title&expand=account", nil)
		if st != 200 {
			t.Fatalf("expand: %d %v", st, body)
		}
		names := map[string]string{a: "Acme", b: "Beta"}
		for _, it := range items(t, body) {
			exp, ok := it["expand"].(map[string]any)
			if !ok || !hasKey(exp, "account") {
				t.Errorf("expand missing: %v", it)
				continue
			}
			ref := str(it["account"])
			switch acct, _ := exp["account"].(map[string]any); {
			case ref == "" && exp["account"] != nil:
				t.Errorf("%s: null ref expands to %v", it["title"], exp["account"])
			case ref != "" && (acct == nil || acct["id"] != ref || acct["name"] != names[ref]):
				t.Errorf("%s: expand %v, want account %s", it["title"], exp["account"], ref)
			case acct != nil && acct["expand"] != nil:
				t.Errorf("expand went deeper than one level: %v", acct)
			}
		}
		st, body = e.do("GET", "/api/data/kit/item?fields=title&expand=account&filter="+q(`account != null`), nil)
		for _, it := range items(t, body) {
			if len(it) != 3 || it["expand"] == nil {
				t.Errorf("fields=title&expand=account: %v", it)
			}
		}
		note := e.create("note", map[string]any{"body": "n", "item": id})
		st, body = e.do("GET", "/api/data/kit/note/"+str(note["id"])+"?expand=item", nil)
		if exp, _ := body["expand"].(map[string]any); st != 200 || exp == nil || exp["item"].(map[string]any)["id"] != id {
			t.Errorf("get expand: %d %v", st, body)
		}
		// A ref whose target is gone (data restored without it, say)
		// expands to null rather than failing.
		e.dangle(ctx, str(note["id"]))
		st, body = e.do("GET", "/api/data/kit/note?expand=item", nil)
		if st != 200 || len(items(t, body)) != 1 {
			t.Fatalf("expand dangling: %d %v", st, body)
		}
		it := items(t, body)[0]
		if exp, _ := it["expand"].(map[string]any); it["item"] != "01jzzzzzzzzzzzzzzzzzzzzzzz" || exp == nil || !hasKey(exp, "item") || exp["item"] != nil {
			t.Errorf("dangling ref expands to %v", it)
		}

		// Limits.
		for _, l := range []string{"0", "501", "-1", "abc", "1.5", "9999999999999999999999", "%20"} {
			st, body := e.do("GET", "/api/data/kit/item?limit="+l, nil)
			wantErr(t, "limit="+l, st, body, 400, "invalid_query")
		}
		for l, n := range map[string]int{"1": 1, "500": 6, "": 6, "5": 5} {
			st, body := e.do("GET", "/api/data/kit/item?limit="+l, nil)
			if st != 200 || len(items(t, body)) != n {
				t.Errorf("limit=%s: %d, %d items", l, st, len(items(t, body)))
			}
		}
	})
}

// compareBy compares two records by sort keys ("-at", "title"), nulls
// smallest, ids breaking ties in the first key's direction.
func compareBy(t *testing.T, keys []string, x, y map[string]any) int {
	t.Helper()
	tie := "id"
	if strings.HasPrefix(keys[0], "-") {
		tie = "-id"
	}
	for _, k := range append(slices.Clone(keys), tie) {
		desc := strings.HasPrefix(k, "-")
		k = strings.TrimPrefix(k, "-")
		c := compareValues(t, x[k], y[k])
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func compareValues(t *testing.T, a, b any) int {
	t.Helper()
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case json.Number:
		return decimal.RequireFromString(string(x)).Cmp(decimal.RequireFromString(string(b.(json.Number))))
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		switch y := b.(bool); {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	t.Fatalf("cannot compare %T", a)
	return 0
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}

// dangle points a note's item ref at a record that does not exist, going
// around the foreign key.
func (e *env) dangle(ctx context.Context, noteID string) {
	e.t.Helper()
	conn, err := e.db.SQL.Conn(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	off, on := "PRAGMA foreign_keys = OFF", "PRAGMA foreign_keys = ON"
	upd := `UPDATE "kit_note" SET "item" = '01jzzzzzzzzzzzzzzzzzzzzzzz' WHERE "id" = ?`
	if e.dialect == "postgres" {
		off, on = "SET session_replication_role = replica", "SET session_replication_role = DEFAULT"
		upd = strings.Replace(upd, "?", "$1", 1)
	}
	for _, s := range []string{off} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			e.t.Fatal(err)
		}
	}
	defer conn.ExecContext(ctx, on)
	if _, err := conn.ExecContext(ctx, upd, noteID); err != nil {
		e.t.Fatal(err)
	}
}

// page walks every page of a list and returns the ids in order.
func (e *env) walk(t *testing.T, query string, limit int, between func(page int)) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("too many pages")
		}
		p := fmt.Sprintf("/api/data/kit/item?limit=%d&%s", limit, query)
		if cursor != "" {
			p += "&cursor=" + q(cursor)
		}
		st, body := e.do("GET", p, nil)
		if st != 200 {
			t.Fatalf("page %d of %s: %d %v", page, query, st, body)
		}
		its := items(t, body)
		out = append(out, its...)
		cursor = str(body["nextCursor"])
		if cursor == "" {
			return out
		}
		if len(its) != limit {
			t.Fatalf("page %d of %s has %d items and a next cursor", page, query, len(its))
		}
		if between != nil {
			between(page)
		}
	}
}

func ids(recs []map[string]any) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = str(r["id"])
	}
	return out
}

func TestCursorPagination(t *testing.T) {
	each(t, func(t *testing.T, e *env) {
		type rec struct {
			id, title string
			amount    *decimal.Decimal
		}
		var all []rec
		for i := range 237 {
			r := map[string]any{"title": fmt.Sprintf("t%03d", (i*37)%100)} // titles repeat
			if i%5 != 0 {
				r["at"] = time.Date(2026, 1, 1+i%9, i%3, 0, 0, 0, time.FixedZone("", 8*3600)).Format(time.RFC3339)
				r["due"] = fmt.Sprintf("2026-02-%02d", 1+i%13)
				r["done"] = i%2 == 0
				r["stage"] = []string{"lead", "won", "lost"}[i%3]
				r["qty"] = i % 4
			}
			var amt *decimal.Decimal
			if i%11 != 0 {
				d := decimal.New(int64(i%7)*105, -1) // 0.0, 10.5, … 63.0: many duplicates
				amt = &d
				r["amount"] = d.StringFixed(2)
			}
			got := e.create("item", r)
			all = append(all, rec{id: str(got["id"]), title: r["title"].(string), amount: amt})
		}
		cmpID := func(x, y rec) int { return strings.Compare(x.id, y.id) }
		cmpAmount := func(x, y rec) int { // nulls smallest
			switch {
			case x.amount == nil && y.amount == nil:
				return 0
			case x.amount == nil:
				return -1
			case y.amount == nil:
				return 1
			}
			return x.amount.Cmp(*y.amount)
		}
		orders := []struct {
			sort string
			cmp  func(x, y rec) int
		}{
			{"", func(x, y rec) int { return -cmpID(x, y) }},
			{"id", cmpID},
			{"-id", func(x, y rec) int { return -cmpID(x, y) }},
			{"-amount", func(x, y rec) int {
				if c := cmpAmount(x, y); c != 0 {
					return -c
				}
				return -cmpID(x, y)
			}},
			{"amount", func(x, y rec) int {
				if c := cmpAmount(x, y); c != 0 {
					return c
				}
				return cmpID(x, y)
			}},
			{"title", func(x, y rec) int {
				if c := strings.Compare(x.title, y.title); c != 0 {
					return c
				}
				return cmpID(x, y)
			}},
			{"-amount,title", func(x, y rec) int {
				if c := cmpAmount(x, y); c != 0 {
					return -c
				}
				if c := strings.Compare(x.title, y.title); c != 0 {
					return c
				}
				return -cmpID(x, y)
			}},
		}
		for _, o := range orders {
			want := slices.Clone(all)
			slices.SortStableFunc(want, o.cmp)
			wantIDs := make([]string, len(want))
			for i, r := range want {
				wantIDs[i] = r.id
			}
			got := ids(e.walk(t, "sort="+q(o.sort)+"&fields=title", 50, nil))
			if !slices.Equal(got, wantIDs) {
				t.Errorf("sort=%q: pages give %d ids, not the %d expected in order", o.sort, len(got), len(wantIDs))
				for i := range min(len(got), len(wantIDs)) {
					if got[i] != wantIDs[i] {
						t.Errorf("first difference at %d: %s, want %s", i, got[i], wantIDs[i])
						break
					}
				}
			}
			// With a filter too.
			got = ids(e.walk(t, "sort="+q(o.sort)+"&filter="+q(`amount != null && amount < 30`), 20, nil))
			var wantF []string
			for _, r := range want {
				if r.amount != nil && r.amount.LessThan(decimal.NewFromInt(30)) {
					wantF = append(wantF, r.id)
				}
			}
			if !slices.Equal(got, wantF) {
				t.Errorf("sort=%q with filter: %d ids, want %d in order", o.sort, len(got), len(wantF))
			}
		}

		// Every other sortable type, nulls included: the pages give the
		// order of one big page, and that order is right.
		for _, sortSpec := range []string{"-at", "at", "due,-title", "-done,qty", "stage,-qty,at", "-number", "owner,-created_at", "-updated_at"} {
			keys := strings.Split(sortSpec, ",")
			whole := items(t, mustList(t, e, "limit=500&sort="+q(sortSpec)))
			if len(whole) != 237 {
				t.Fatalf("sort=%s: %d items", sortSpec, len(whole))
			}
			for i := 1; i < len(whole); i++ {
				if c := compareBy(t, keys, whole[i-1], whole[i]); c > 0 {
					t.Errorf("sort=%s: item %d (%v) comes after %d (%v)", sortSpec, i, whole[i], i-1, whole[i-1])
					break
				}
			}
			if got := ids(e.walk(t, "sort="+q(sortSpec), 50, nil)); !slices.Equal(got, ids(whole)) {
				t.Errorf("sort=%s: pages differ from one page", sortSpec)
			}
			if got := ids(e.walk(t, "sort="+q(sortSpec), 7, nil)); !slices.Equal(got, ids(whole)) {
				t.Errorf("sort=%s: pages of 7 differ from one page", sortSpec)
			}
		}

		// Records inserted while paging: before the cursor they are not
		// seen, after it they are; nothing repeats and nothing that
		// existed is skipped.
		for _, s := range []string{"title", "-title", "-amount", "id", ""} {
			seen := map[string]bool{}
			added := map[string][]string{} // title → ids inserted during this walk
			recs := e.walk(t, "sort="+q(s), 50, func(page int) {
				for _, title := range []string{"a-first", "z-last", "t050", "t000"} {
					r := map[string]any{"title": title}
					if page%2 == 0 {
						r["amount"] = "30.00"
					}
					added[title] = append(added[title], str(e.create("item", r)["id"]))
				}
			})
			for _, r := range recs {
				id := str(r["id"])
				if seen[id] {
					t.Errorf("sort=%q: %s seen twice", s, id)
				}
				seen[id] = true
			}
			for _, r := range all {
				if !seen[r.id] {
					t.Errorf("sort=%q: existing record %s skipped", s, r.id)
				}
			}
			if len(added["z-last"]) == 0 {
				t.Fatal("nothing inserted while paging")
			}
			// Records inserted past the cursor show up on a later page;
			// those inserted before it never do.
			var later, earlier []string
			switch s {
			case "title":
				later, earlier = added["z-last"], added["a-first"]
			case "-title":
				later, earlier = added["a-first"], added["z-last"]
			case "id":
				later = append(append(append(added["a-first"], added["z-last"]...), added["t050"]...), added["t000"]...)
			case "":
				earlier = append(append(append(added["a-first"], added["z-last"]...), added["t050"]...), added["t000"]...)
			}
			for _, id := range later {
				if !seen[id] {
					t.Errorf("sort=%q: record %s inserted past the cursor was not seen", s, id)
				}
			}
			for _, id := range earlier {
				if seen[id] {
					t.Errorf("sort=%q: record %s inserted before the cursor was seen", s, id)
				}
			}
		}

		// Cursors belong to their query.
		st, body := e.do("GET", "/api/data/kit/item?limit=10&sort=title", nil)
		cur := str(body["nextCursor"])
		if st != 200 || cur == "" {
			t.Fatalf("first page: %d %v", st, body)
		}
		for _, query := range []string{"sort=-title", "sort=amount", "sort=" + q("title,amount"), "", "sort=title&filter=" + q(`qty = null`)} {
			st, body := e.do("GET", "/api/data/kit/item?limit=10&"+query+"&cursor="+q(cur), nil)
			wantErr(t, "cursor replayed with "+query, st, body, 400, "invalid_query")
		}
		if st, body := e.do("GET", "/api/data/kit/item?limit=10&sort=title&cursor="+q(cur), nil); st != 200 {
			t.Errorf("cursor with its own query: %d %v", st, body)
		}
		// A different limit or fields is the same list: the cursor works.
		if st, body := e.do("GET", "/api/data/kit/item?limit=3&fields=id&sort=title&cursor="+q(cur), nil); st != 200 || len(items(t, body)) != 3 {
			t.Errorf("cursor with another limit: %d %v", st, body)
		}
		for _, bad := range []string{"garbage", "!!!", "e30", base64.RawURLEncoding.EncodeToString([]byte(`{"q":"x","v":[]}`)),
			base64.RawURLEncoding.EncodeToString([]byte(`not json`)), strings.Repeat("A", 11000), cur[:len(cur)/2], cur + "x"} {
			st, body := e.do("GET", "/api/data/kit/item?limit=10&sort=title&cursor="+q(bad), nil)
			wantErr(t, "garbage cursor "+clip(bad), st, body, 400, "invalid_query")
		}
	})
}
