package sample_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/sample"
	"github.com/formaapp/forma/schema"
	"github.com/formaapp/forma/templates"
)

// rows is the main count the tests generate.
const rows = 300

func generate(t testing.TB, eng *engine.Engine, name, app string, seed int64) *sample.Result {
	t.Helper()
	res, err := sample.Generate(context.Background(), target(eng), templates.FS(), name, app, sample.Options{Rows: rows, Seed: seed, Now: now})
	if err != nil {
		t.Fatalf("generate %s: %v", name, err)
	}
	return res
}

// query runs a one-value SQL query.
func scalar[T any](t testing.TB, eng *engine.Engine, q string, args ...any) T {
	t.Helper()
	var v T
	if err := eng.DB.Pool().QueryRowContext(context.Background(), q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func table(app *schema.App, entity string) string {
	return `"` + schema.TableName(app.Name, entity) + `"`
}

// countBy is entity's rows per value of field.
func countBy(t testing.TB, eng *engine.Engine, app *schema.App, entity, field string) map[string]int {
	t.Helper()
	rs, err := eng.DB.Pool().QueryContext(context.Background(), `SELECT "`+field+`", COUNT(*) FROM `+table(app, entity)+` GROUP BY "`+field+`"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	out := map[string]int{}
	for rs.Next() {
		var k *string
		var n int
		if err := rs.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		key := "<null>"
		if k != nil {
			key = *k
		}
		out[key] = n
	}
	return out
}

// dateRange is the least and greatest of a date or datetime column, as
// times (both dialects keep them as text or time).
func dateRange(t testing.TB, eng *engine.Engine, app *schema.App, entity, field string) (time.Time, time.Time) {
	t.Helper()
	var lo, hi any
	err := eng.DB.Pool().QueryRowContext(context.Background(), `SELECT MIN("`+field+`"), MAX("`+field+`") FROM `+table(app, entity)).Scan(&lo, &hi)
	if err != nil {
		t.Fatal(err)
	}
	return asTime(t, lo), asTime(t, hi)
}

func asTime(t testing.TB, v any) time.Time {
	t.Helper()
	switch x := v.(type) {
	case nil:
		return time.Time{}
	case time.Time:
		return x
	case string:
		for _, layout := range []string{"2006-01-02T15:04:05.000000Z", time.RFC3339Nano, time.DateOnly} {
			if tm, err := time.Parse(layout, x); err == nil {
				return tm
			}
		}
	case []byte:
		return asTime(t, string(x))
	}
	t.Fatalf("not a time: %#v", v)
	return time.Time{}
}

func TestGenerate(t *testing.T) {
	cases := []struct {
		name string
		want map[string]int // rows per entity exactly (the others: at least one)
	}{
		{"pipeline", map[string]int{"lead": 300, "account": 90, "opportunity": 105, "task": 30, "forecast": 9 * 12, "rep_health": 9 * 12}},
		{"store-sales", map[string]int{"sales_order": 300, "region": 6, "store": 12, "sku": 60, "stock": 12 * 60, "member": 90, "restock": 15, "target": 10*12 + 10*12}},
	}
	dialects(t, func(t *testing.T, dialect string) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				eng, app := installed(t, c.name, dialect)
				var calls, last, total int
				res, err := sample.Generate(context.Background(), target(eng), templates.FS(), c.name, app.Name, sample.Options{Rows: rows, Seed: 7, Now: now,
					Progress: func(done, tot int) {
						if done < last || done > tot {
							t.Errorf("progress %d of %d after %d", done, tot, last)
						}
						calls, last, total = calls+1, done, tot
					}})
				if err != nil {
					t.Fatal(err)
				}
				if calls == 0 || last != total {
					t.Errorf("progress: %d calls, ended at %d of %d", calls, last, total)
				}
				// Counts: what Generate says it wrote is what the tables hold.
				for _, e := range app.Entities {
					n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, e.Name))
					if n != res.Rows[e.Name] {
						t.Errorf("%s: %d rows in the table, Generate says %d", e.Name, n, res.Rows[e.Name])
					}
					if want, ok := c.want[e.Name]; ok && n != want {
						t.Errorf("%s: %d rows, want %d", e.Name, n, want)
					} else if n == 0 {
						t.Errorf("%s: no rows", e.Name)
					}
				}
				checkUsers(t, eng, app, res)
				checkDates(t, eng, app)
				switch c.name {
				case "pipeline":
					checkPipeline(t, eng, app)
				case "store-sales":
					checkStoreSales(t, eng, app)
				}
			})
		}
	})
}

// checkUsers: users in the three roles, in teams nested three deep, none
// able to log in with a password anyone knows.
func checkUsers(t *testing.T, eng *engine.Engine, app *schema.App, res *sample.Result) {
	ctx := context.Background()
	users, err := eng.Access.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	teamOf := map[string]string{}
	mine := 0
	for _, u := range users {
		if !strings.HasPrefix(u.Email, app.Name+".") {
			continue
		}
		mine++
		for _, r := range u.Roles {
			roles[r]++
		}
		if u.TeamID == "" {
			t.Errorf("user %s has no team", u.Email)
		}
		teamOf[u.ID] = u.TeamID
		if _, _, _, err := eng.Access.Login(ctx, u.Email, ""); err == nil {
			t.Errorf("%s logs in with an empty password", u.Email)
		}
	}
	if mine != res.Users || mine < 3 {
		t.Errorf("%d sample users, Generate says %d", mine, res.Users)
	}
	for _, r := range []string{"rep", "manager", "executive"} {
		if roles[r] == 0 {
			t.Errorf("no sample user of role %s (%v)", r, roles)
		}
	}
	teams, err := eng.Access.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parent := map[string]string{}
	for _, tm := range teams {
		parent[tm.ID] = tm.ParentID
	}
	deepest := 0
	for _, team := range teamOf {
		d := 0
		for id := team; id != ""; id = parent[id] {
			d++
		}
		deepest = max(deepest, d)
	}
	if deepest < 2 {
		t.Errorf("sample teams are %d deep, want nested teams", deepest)
	}
}

// checkDates: every dated row is within the 12 months before Now.
func checkDates(t *testing.T, eng *engine.Engine, app *schema.App) {
	from := now.AddDate(-1, 0, -1)
	for _, e := range app.Entities {
		lo, hi := dateRange(t, eng, app, e.Name, "created_at")
		if lo.Before(from) {
			t.Errorf("%s: created_at %s is more than 12 months before %s", e.Name, lo, now)
		}
		_ = hi // rows not dated by the recipe are stamped by the engine clock
		for _, f := range e.Fields {
			if (f.Type != schema.Date && f.Type != schema.DateTime) || f.Name == "expected_close" || f.Name == "due" {
				continue // a close date or a due date may be ahead
			}
			lo, hi := dateRange(t, eng, app, e.Name, f.Name)
			if lo.IsZero() {
				continue
			}
			if lo.Before(from) || hi.After(now.Add(24*time.Hour)) {
				t.Errorf("%s.%s runs from %s to %s, outside the 12 months before %s", e.Name, f.Name, lo, hi, now)
			}
		}
	}
	// Weekly pattern: the dated main rows fall on weekdays more than on
	// weekends (pipeline) or the other way round (store-sales).
}

func checkPipeline(t *testing.T, eng *engine.Engine, app *schema.App) {
	stages := countBy(t, eng, app, "opportunity", "stage")
	for _, s := range []string{"discovery", "nda", "poc", "review", "negotiation", "won", "lost"} {
		if stages[s] == 0 {
			t.Errorf("no opportunity in stage %s: %v", s, stages)
		}
	}
	if ratio := float64(stages["won"]) / float64(stages["won"]+stages["lost"]); ratio < 0.25 || ratio > 0.55 {
		t.Errorf("win ratio %.2f (won %d, lost %d), want 0.25..0.55", ratio, stages["won"], stages["lost"])
	}
	for field, want := range map[string][]string{"status": {"new", "contacted", "qualified", "converted", "disqualified"},
		"source": {"web_form", "phone", "expo_scan", "ads", "csv", "manual"}, "grade": {"A", "B", "C"}} {
		got := countBy(t, eng, app, "lead", field)
		for _, s := range want {
			if got[s] == 0 {
				t.Errorf("no lead with %s %s: %v", field, s, got)
			}
		}
	}
	quotes := countBy(t, eng, app, "quote", "status")
	for _, s := range []string{"draft", "approved", "sent", "replied", "accepted", "rejected"} {
		if quotes[s] == 0 {
			t.Errorf("no quote in status %s: %v", s, quotes)
		}
	}
	// The moves filled what their states need: a won or lost deal has
	// its close date, a lost one its reason; a contacted lead its first
	// contact, after it came in.
	if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "opportunity")+` WHERE "stage" IN ('won', 'lost') AND "closed_on" IS NULL`); n != 0 {
		t.Errorf("%d decided deals without a close date", n)
	}
	if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "opportunity")+` WHERE "stage" = 'lost' AND "lost_reason" IS NULL`); n != 0 {
		t.Errorf("%d lost deals without a reason", n)
	}
	if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "lead")+` WHERE "status" <> 'new' AND ("contacted_at" IS NULL OR "contacted_at" < "created_at")`); n != 0 {
		t.Errorf("%d contacted leads without a first contact after they came in", n)
	}
	// LTV/CAC: customers on both sides of 3.0, so the alert and the chart
	// show something.
	below := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "account")+` WHERE "ltv_cac" < 3`)
	above := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "account")+` WHERE "ltv_cac" >= 3`)
	if below == 0 || above == 0 {
		t.Errorf("LTV/CAC: %d customers below 3.0, %d at or above", below, above)
	}
	if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "opportunity")+` WHERE "drifting" = ? AND "stage" NOT IN ('won', 'lost')`, true); n == 0 {
		t.Error("no drifting open deal")
	}
	// Weekly pattern: B2B leads come in on weekdays.
	weekdays, weekend := weekSplit(t, eng, app, "lead", "created_at")
	if weekdays < 3*weekend {
		t.Errorf("leads: %d on weekdays, %d at weekends: no weekly pattern", weekdays, weekend)
	}
}

func checkStoreSales(t *testing.T, eng *engine.Engine, app *schema.App) {
	kinds := countBy(t, eng, app, "store", "kind")
	if kinds["store"] == 0 || kinds["warehouse"] == 0 {
		t.Errorf("store kinds %v", kinds)
	}
	if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "order_line")); n < rows {
		t.Errorf("%d order lines for %d orders", n, rows)
	}
	// Orders decrement stock: sold is what the lines hold, and no stock is negative.
	sold := scalar[int](t, eng, `SELECT COALESCE(SUM("sold"), 0) FROM `+table(app, "stock"))
	qty := scalar[int](t, eng, `SELECT SUM("qty") FROM `+table(app, "order_line"))
	if sold != qty {
		t.Errorf("stock sold %d, order lines %d", sold, qty)
	}
	if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "stock")+` WHERE "on_hand" < 0`); n != 0 {
		t.Errorf("%d stock rows below zero", n)
	}
	if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "sales_order")+` o JOIN `+table(app, "store")+` s ON s."id" = o."store" WHERE s."kind" <> 'store'`); n != 0 {
		t.Errorf("%d orders in a warehouse", n)
	}
	restocks := countBy(t, eng, app, "restock", "stage")
	for _, s := range []string{"draft", "approved", "received"} {
		if restocks[s] == 0 {
			t.Errorf("no restock in stage %s: %v", s, restocks)
		}
	}
	segments := countBy(t, eng, app, "member", "segment")
	for _, s := range []string{"champion", "loyal", "promising", "at_risk", "lost", "new"} {
		if segments[s] == 0 {
			t.Errorf("no member in RFM segment %s: %v", s, segments)
		}
	}
	if n := scalar[int](t, eng, `SELECT COUNT(*) FROM `+table(app, "stock")+` WHERE "below_safety" = ?`, true); n == 0 {
		t.Error("no stock below safety stock: the stock alert dashboard is empty")
	}
	// Weekly pattern: stores sell more at weekends (per day).
	weekdays, weekend := weekSplit(t, eng, app, "sales_order", "created_at")
	if float64(weekend)/2 < float64(weekdays)/5 {
		t.Errorf("orders: %d on weekdays, %d at weekends: no weekend peak", weekdays, weekend)
	}
}

// weekSplit counts entity's rows by field's weekday in Asia/Shanghai.
func weekSplit(t *testing.T, eng *engine.Engine, app *schema.App, entity, field string) (weekdays, weekend int) {
	rs, err := eng.DB.Pool().QueryContext(context.Background(), `SELECT "`+field+`" FROM `+table(app, entity))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	sh, _ := time.LoadLocation("Asia/Shanghai")
	for rs.Next() {
		var v any
		if err := rs.Scan(&v); err != nil {
			t.Fatal(err)
		}
		switch asTime(t, v).In(sh).Weekday() {
		case time.Saturday, time.Sunday:
			weekend++
		default:
			weekdays++
		}
	}
	return
}

// dump is the app's data as a seed made it: every row of every entity,
// without what the engine makes (ids, update times, who created it) and
// with each ref or user replaced by what it points at (the row's own
// dump, a user's email), sorted; equal dumps are the same data.
func dump(t *testing.T, eng *engine.Engine, app *schema.App, order []string, dated map[string]bool) string {
	ctx := context.Background()
	users, err := eng.Access.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key := map[string]string{}
	for _, u := range users {
		key[u.ID] = u.Email + "/" + u.Name + "/" + strings.Join(u.Roles, ",")
	}
	var out []string
	for _, name := range order {
		e := app.Entity(name)
		kinds := map[string]schema.FieldType{"owner": schema.User}
		for _, f := range e.Fields {
			kinds[f.Name] = f.Type
		}
		rs, err := eng.DB.Pool().QueryContext(ctx, `SELECT * FROM `+table(app, name))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		var lines []string
		ids := map[string]string{}
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			m := map[string]any{}
			var id string
			for i, c := range cols {
				v := vals[i]
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				switch {
				case c == "id":
					id = fmt.Sprint(v)
					continue
				case c == "updated_at" || c == "created_by" || c == "version":
					continue // the moves' time, the importer: not the seed's
				case c == "created_at" && !dated[name]:
					continue // rows the recipe does not date are stamped by the clock
				case v != nil && (kinds[c] == schema.Ref || kinds[c] == schema.User):
					k, ok := key[fmt.Sprint(v)]
					if !ok {
						t.Fatalf("%s.%s points at %v, no row of an earlier entity nor a user", name, c, v)
					}
					v = k
				case v != nil:
					// A formula that copies a ref (the order line's store)
					// holds an id too: compared by what it points at.
					if k, ok := key[fmt.Sprint(v)]; ok {
						v = k
					}
				}
				m[c] = v
			}
			b, _ := json.Marshal(m)
			ids[id] = name + string(b)
			lines = append(lines, string(b))
		}
		rs.Close()
		for id, k := range ids {
			key[id] = k
		}
		sort.Strings(lines)
		out = append(out, name+"\n"+strings.Join(lines, "\n"))
	}
	return strings.Join(out, "\n\n")
}

// order is the recipe's entities, in its order, and which of them it
// dates (dated, or made per a dated row).
func order(t *testing.T, name string) ([]string, map[string]bool) {
	b, err := fs.ReadFile(templates.FS(), name+"/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := sample.ParseRecipe(b)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	dated := map[string]bool{}
	for _, e := range r.Entities {
		if !slices.Contains(out, e.Entity) {
			out = append(out, e.Entity)
		}
		if e.Dated || dated[e.Per] {
			dated[e.Entity] = true
		}
	}
	return out, dated
}

func TestDeterministic(t *testing.T) {
	dialects(t, func(t *testing.T, dialect string) {
		for _, name := range []string{"pipeline", "store-sales"} {
			t.Run(name, func(t *testing.T) {
				ents, dated := order(t, name)
				var dumps []string
				for _, seed := range []int64{42, 42, 43} {
					eng, app := installed(t, name, dialect)
					generate(t, eng, name, app.Name, seed)
					dumps = append(dumps, dump(t, eng, app, ents, dated))
				}
				if dumps[0] != dumps[1] {
					a, b := strings.Split(dumps[0], "\n"), strings.Split(dumps[1], "\n")
					for i := range min(len(a), len(b)) {
						if a[i] != b[i] {
							t.Fatalf("seed 42 twice: different data at line %d:\n%s\n%s", i, a[i], b[i])
						}
					}
					t.Fatalf("seed 42 twice: %d and %d lines", len(a), len(b))
				}
				if dumps[0] == dumps[2] {
					t.Fatal("seeds 42 and 43 made the same data")
				}
			})
		}
	})
}
