package filter

import (
	"database/sql"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	_ "github.com/glebarez/go-sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// The semantic tests run compiled filters against real databases, so the
// claims in Compile's comment (NULL handling, case folding, escaping,
// multiselect containment) are checked, not just the SQL text.

// deals is the test table: id, title, amount, qty, done, stage, tags, closed_at.
// nil is NULL.
var deals = [][]any{
	{1, "Acme Corp deal", "1500.00", 3, true, "won", `["a","b"]`, "2024-01-15T10:00:00Z"},
	{2, "Globex", "999.99", 1, false, "lost", `["b"]`, "2024-03-01T00:00:00Z"},
	{3, "ACME renewal", "1000", nil, false, nil, nil, nil},
	{4, "50% off_sale", nil, 10, nil, "lead", `[]`, nil},
	{5, nil, "20000", 0, true, "won", `["c","vip"]`, "2024-02-10T00:00:00Z"},
	{6, `back\slash`, "0", nil, false, "qualified", `["a"]`, nil},
}

var semantic = []struct {
	src  string
	want []int // ids, ascending
}{
	{`amount >= 1000`, []int{1, 3, 5}},
	{`amount >= 1000.00 && amount < 1500.01`, []int{1, 3}},
	{`amount = 999.99`, []int{2}},
	{`amount != 0`, []int{1, 2, 3, 4, 5}},
	{`stage = "won"`, []int{1, 5}},
	{`stage != "won"`, []int{2, 3, 4, 6}}, // includes the record without a stage
	{`stage = null`, []int{3}},
	{`stage != null`, []int{1, 2, 4, 5, 6}},
	{`stage > "lost"`, []int{1, 5, 6}},
	{`title ~ "acme"`, []int{1, 3}},
	{`title ~ "ACME"`, []int{1, 3}},
	{`title ~ "Corp D"`, []int{1}},
	{`title !~ "acme"`, []int{2, 4, 5, 6}},
	{`title ~ "%"`, []int{4}},
	{`title ~ "_"`, []int{4}},
	{`title ~ "50% off_"`, []int{4}},
	{`title ~ "\\"`, []int{6}},
	{`title ~ ""`, []int{1, 2, 3, 4, 6}},
	{`title = "x\" OR 1=1 --"`, nil},
	{`title = "' OR '1'='1"`, nil},
	{`stage in ["won", "lost"]`, []int{1, 2, 5}},
	{`stage in ("won")`, []int{1, 5}},
	{`!(stage in ["won", "lost"])`, []int{3, 4, 6}},
	{`stage in []`, nil},
	{`!(stage in [])`, []int{1, 2, 3, 4, 5, 6}},
	{`qty in [0, 1]`, []int{2, 5}},
	{`tags ~ "a"`, []int{1, 6}},
	{`tags ~ "b"`, []int{1, 2}},
	{`tags ~ "vip"`, []int{5}},
	{`tags !~ "a"`, []int{2, 3, 4, 5}},
	{`tags = null`, []int{3}},
	{`done = true`, []int{1, 5}},
	{`done != true`, []int{2, 3, 4, 6}},
	{`done = false`, []int{2, 3, 6}},
	{`closed_at != null && closed_at < "2024-02-15T00:00:00Z"`, []int{1, 5}},
	{`!(amount > 1000)`, []int{2, 3, 4, 6}}, // 4 has no amount: it is not > 1000
	{`!(qty > 0 && amount > 500)`, []int{3, 4, 5, 6}},
	{`!!(stage = "won")`, []int{1, 5}},
	{`!(stage != "won")`, []int{1, 5}},
	{`qty > 0 || stage = null`, []int{1, 2, 3, 4}},
	{`(title ~ "acme" || qty = 0) && !(stage = "lost")`, []int{1, 3, 5}},
	{`amount >= 1000 && (stage = "won" || stage = "lost") && title ~ "acme" && closed_at != null`, []int{1}},
}

func TestSQLite(t *testing.T) {
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // every :memory: connection is its own database
	runSemantic(t, db, "sqlite", `CREATE TABLE deals (id INTEGER PRIMARY KEY, title TEXT, amount NUMERIC,
		qty INTEGER, done BOOLEAN, stage TEXT, tags TEXT, closed_at TEXT)`, "?")
}

func TestPostgres(t *testing.T) {
	url := os.Getenv("FORMA_TEST_POSTGRES")
	if url == "" {
		t.Skip("FORMA_TEST_POSTGRES not set")
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A temporary table lives on one connection and vanishes with it, so
	// parallel test runs cannot collide.
	db.SetMaxOpenConns(1)
	runSemantic(t, db, "postgres", `CREATE TEMP TABLE deals (id integer PRIMARY KEY, title text, amount numeric(18,2),
		qty integer, done boolean, stage text, tags jsonb, closed_at timestamptz)`, "CAST(? AS jsonb)")
}

func runSemantic(t *testing.T, db *sql.DB, dialect, create, tagsParam string) {
	t.Helper()
	if _, err := db.Exec(create); err != nil {
		t.Fatal(err)
	}
	ins := "INSERT INTO deals VALUES (?, ?, ?, ?, ?, ?, " + tagsParam + ", ?)"
	if dialect == "postgres" {
		ins = rebind(ins)
	}
	for _, row := range deals {
		if _, err := db.Exec(ins, row...); err != nil {
			t.Fatalf("insert %v: %v", row, err)
		}
	}
	cols := fakeDealsResolver{}
	for _, tt := range semantic {
		n, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.src, err)
			continue
		}
		where, args, err := Compile(n, cols, encode, dialect)
		if err != nil {
			t.Errorf("Compile(%q): %v", tt.src, err)
			continue
		}
		q := "SELECT id FROM deals WHERE " + where + " ORDER BY id"
		if dialect == "postgres" {
			q = rebind(q)
		}
		got, err := ids(db, q, args)
		if err != nil {
			t.Errorf("%s\n%s %v: %v", tt.src, q, args, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %s\n got ids %v, want %v\n sql %s %v", dialect, tt.src, got, tt.want, where, args)
		}
	}
}

// fakeDealsResolver maps the deals table; stages and tags use the options of
// the fake encoder.
type fakeDealsResolver struct{}

func (fakeDealsResolver) Column(name string) (Column, bool) {
	t, ok := map[string]Column{
		"title":     {`"title"`, "text"},
		"amount":    {`"amount"`, "decimal"},
		"qty":       {`"qty"`, "integer"},
		"done":      {`"done"`, "boolean"},
		"stage":     {`"stage"`, "select"},
		"tags":      {`deals."tags"`, "multiselect"},
		"closed_at": {`"closed_at"`, "datetime"},
	}[name]
	return t, ok
}

func ids(db *sql.DB, q string, args []any) ([]int, error) {
	rows, err := db.Query(q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// rebind turns ? placeholders into PostgreSQL's $1, $2, …. Compile never puts
// a ? inside a string literal, so a plain scan is enough.
func rebind(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func TestRebind(t *testing.T) {
	if got := rebind(`a = ? AND b IN (?, ?)`); got != `a = $1 AND b IN ($2, $3)` {
		t.Error(got)
	}
}
