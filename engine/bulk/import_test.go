package bulk

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// importDoc: account has nothing that needs per-row work (the COPY path
// on PostgreSQL); lead has a validation (the per-row path). Reps create
// and update their own, and may not write tier.
const importDoc = `{"name": "crm",
  "entities": [
    {"name": "account", "fields": [
      {"id": "f1", "name": "name", "type": "text", "required": true, "unique": true},
      {"id": "f2", "name": "phone", "type": "text"},
      {"id": "f3", "name": "tier", "type": "select", "options": ["a", "b", "c"]},
      {"id": "f4", "name": "amount", "type": "decimal"},
      {"id": "f5", "name": "founded", "type": "date"},
      {"id": "f6", "name": "active", "type": "boolean"}]},
    {"name": "lead", "fields": [
      {"id": "f7", "name": "name", "type": "text", "required": true, "unique": true},
      {"id": "f8", "name": "score", "type": "integer"},
      {"id": "f9", "name": "tier", "type": "select", "options": ["a", "b", "c"]}],
     "validations": [{"expr": "score == null || score >= 0", "message": "score must not be negative", "field": "score"}]}],
  "roles": [{"name": "rep", "entities": {
    "account": {"create": "own", "read": "own", "update": "own", "fields": {"tier": "readonly"}},
    "lead": {"create": "own", "read": "own", "update": "own", "fields": {"tier": "readonly"}}}}]}`

type importFixture struct {
	t    testing.TB
	db   *store.DB
	cat  *store.Catalog
	recs *records.Service
	acc  *access.Service
	s    *Service
	reps map[string]*access.User
}

func newImportFixture(t testing.TB, db *store.DB) *importFixture {
	t.Helper()
	ctx := context.Background()
	f := &importFixture{t: t, db: db, reps: map[string]*access.User{}}
	var err error
	if f.acc, err = access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost}); err != nil {
		t.Fatal(err)
	}
	f.cat = store.NewCatalog(db)
	f.recs = records.New(db, f.cat)
	f.s = New(db, f.cat, f.recs, f.acc, nil, slog.New(slog.DiscardHandler))
	if err := f.s.Register(ctx); err != nil {
		t.Fatal(err)
	}
	app, problems := schema.Parse([]byte(importDoc))
	if len(problems) > 0 {
		t.Fatalf("parse: %v", problems)
	}
	if _, _, err := f.recs.Apply(ctx, app, store.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"r1", "r2"} {
		u, err := f.acc.CreateUserWith(ctx, access.NewUser{Email: name + "@example.com", Password: "a long password", Name: name, Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		f.reps[name] = u
	}
	return f
}

var importAdmin = records.Caller{Admin: true}

func (f *importFixture) rep(name string) records.Caller {
	return records.Caller{UserID: f.reps[name].ID, Roles: []string{"rep"}}
}

// runImportCSV imports csv (as a file named name.csv) into entity of the
// crm app as c with o, synchronously: the helper an export → import round
// trip reuses.
func runImportCSV(t testing.TB, s *Service, c records.Caller, app, entity, csv string, o ImportOptions) (*Result, error) {
	t.Helper()
	r := strings.NewReader(csv)
	return s.Import(context.Background(), Run{Caller: c, App: app, Entity: entity, File: r, Size: int64(len(csv)), Name: entity + ".csv", Options: o})
}

func (f *importFixture) count(entity string) int {
	f.t.Helper()
	var n int
	if err := f.db.SQL.QueryRow(`SELECT COUNT(*) FROM crm_` + entity).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// accounts is n account rows; bad (a row index, -1 for none) has an
// amount that is no number.
func accounts(n, bad int) string {
	var b bytes.Buffer
	b.WriteString("name,phone,tier,amount,founded,active\n")
	for i := 0; i < n; i++ {
		amount := fmt.Sprintf("%d.50", i)
		if i == bad {
			amount = "lots"
		}
		fmt.Fprintf(&b, "acct %05d,+86 138 0000 %04d,%s,%s,2026-03-05,true\n", i, i%10000, []string{"a", "b", "c"}[i%3], amount)
	}
	return b.String()
}

func leads(n, bad int) string {
	var b bytes.Buffer
	b.WriteString("name,score\n")
	for i := 0; i < n; i++ {
		score := i
		if i == bad {
			score = -1
		}
		fmt.Fprintf(&b, "lead %05d,%d\n", i, score)
	}
	return b.String()
}

func TestImportOneBadRowOf10000(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newImportFixture(t, db)
		for _, tc := range []struct {
			entity, csv, column, path string
		}{
			{"account", accounts(10000, 6789), "amount", map[bool]string{true: "copy", false: "rows"}[db.Dialect.Name() == "postgres"]},
			{"lead", leads(10000, 6789), "score", "rows"},
		} {
			t.Run(tc.entity, func(t *testing.T) {
				res, err := runImportCSV(t, f.s, importAdmin, "crm", tc.entity, tc.csv, ImportOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != StatusFailed || res.Bad != 1 || res.Rows != 10000 || res.Committed || res.Path != tc.path {
					t.Fatalf("result: %+v", res)
				}
				// the header is row 1: data row i is row i+2
				if len(res.Errors) != 1 || res.Errors[0].Row != 6791 || res.Errors[0].Column != tc.column {
					t.Fatalf("errors: %+v", res.Errors)
				}
				if n := f.count(tc.entity); n != 0 {
					t.Fatalf("%d rows written by an import with a bad row", n)
				}
				res, err = runImportCSV(t, f.s, importAdmin, "crm", tc.entity, tc.csv, ImportOptions{SkipBadRows: true})
				if err != nil {
					t.Fatal(err)
				}
				if res.Status != StatusDone || res.Created != 9999 || res.Skipped != 1 || !res.Committed || len(res.BadRows) != 1 || res.BadRows[0].Row != 6791 {
					t.Fatalf("skip bad rows: %+v", res)
				}
				if n := f.count(tc.entity); n != 9999 {
					t.Fatalf("%d rows written, want 9999", n)
				}
				var hist int
				if err := db.SQL.QueryRow(db.Rebind(`SELECT COUNT(*) FROM _forma_history WHERE app = 'crm' AND entity = ? AND path = 'import' AND op = 'create'`), tc.entity).Scan(&hist); err != nil {
					t.Fatal(err)
				}
				if hist != 9999 {
					t.Fatalf("%d history entries on path import, want 9999", hist)
				}
			})
		}
	})
}

func TestImportDryRunWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newImportFixture(t, db)
		res, err := runImportCSV(t, f.s, importAdmin, "crm", "account", accounts(50, -1), ImportOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != StatusDone || res.Created != 50 || res.Committed || f.count("account") != 0 {
			t.Fatalf("dry run: %+v, %d rows", res, f.count("account"))
		}
	})
}

func TestImportUpsertTwice(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newImportFixture(t, db)
		csv := "name,phone\nacme,1\nbeta,2\ngamma,3\n"
		for i, want := range []struct{ created, updated int }{{3, 0}, {0, 3}} {
			body := "name,phone\n" + strings.ReplaceAll(strings.TrimPrefix(csv, "name,phone\n"), ",", fmt.Sprintf(",%d", i))
			res, err := runImportCSV(t, f.s, importAdmin, "crm", "account", body, ImportOptions{UpsertBy: "name"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Created != want.created || res.Updated != want.updated || res.Bad != 0 || res.Path != "rows" {
				t.Fatalf("run %d: %+v", i, res)
			}
		}
		if n := f.count("account"); n != 3 {
			t.Fatalf("%d accounts after upserting 3 twice", n)
		}
		var phone string
		if err := db.SQL.QueryRow(`SELECT phone FROM crm_account WHERE name = 'beta'`).Scan(&phone); err != nil || phone != "12" {
			t.Fatalf("beta's phone %q (%v), want the second import's", phone, err)
		}
		// Not a unique field: refused before any row.
		_, err := runImportCSV(t, f.s, importAdmin, "crm", "account", csv, ImportOptions{UpsertBy: "phone"})
		if re := (*records.Error)(nil); !asRecordsError(err, &re) || re.Status != 422 {
			t.Fatalf("upsert by a field that is not unique: %v", err)
		}
	})
}

func asRecordsError(err error, re **records.Error) bool {
	e, ok := err.(*records.Error)
	*re = e
	return ok
}

// A rep imports under their own rules: no read-only field, nothing
// outside their create scope (another's record), no update of a record
// they cannot see through an upsert.
func TestImportAsRep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newImportFixture(t, db)
		r1, r2 := f.rep("r1"), f.rep("r2")
		csv := "name,tier\nmine,\nrated,a\n"
		res, err := runImportCSV(t, f.s, r1, "crm", "lead", csv, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Bad != 1 || res.Errors[0].Row != 3 || res.Errors[0].Column != "tier" || f.count("lead") != 0 {
			t.Fatalf("read-only field: %+v", res)
		}
		csv = "name,owner\nmine,\ntheirs," + f.reps["r2"].ID + "\n"
		res, err = runImportCSV(t, f.s, r1, "crm", "lead", csv, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Bad != 1 || res.Errors[0].Row != 3 || f.count("lead") != 0 {
			t.Fatalf("outside the create scope: %+v", res)
		}
		res, err = runImportCSV(t, f.s, r1, "crm", "lead", csv, ImportOptions{SkipBadRows: true})
		if err != nil || res.Created != 1 || f.count("lead") != 1 {
			t.Fatalf("skip: %+v %v", res, err)
		}
		var owner string
		if err := db.SQL.QueryRow(`SELECT owner FROM crm_lead WHERE name = 'mine'`).Scan(&owner); err != nil || owner != r1.UserID {
			t.Fatalf("owner %q (%v), want the importing rep", owner, err)
		}
		// r2 upserts a name r1 holds: r2 cannot see it, and learns only
		// that the value is taken.
		res, err = runImportCSV(t, f.s, r2, "crm", "lead", "name,score\nmine,5\n", ImportOptions{UpsertBy: "name"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Bad != 1 || res.Errors[0].Code != records.ProblemDuplicate || strings.Contains(res.Errors[0].Reason, f.reps["r1"].ID) {
			t.Fatalf("upsert onto another's record: %+v", res.Errors)
		}
	})
}

func TestImportBadFiles(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newImportFixture(t, db)
		// a ragged row: reported, not fatal
		res, err := runImportCSV(t, f.s, importAdmin, "crm", "lead", "name,score\na,1\nb,2,3\nc,3\n", ImportOptions{SkipBadRows: true})
		if err != nil || res.Bad != 1 || res.Errors[0].Row != 3 || res.Errors[0].Code != "ragged_row" || res.Created != 2 {
			t.Fatalf("ragged: %+v %v", res, err)
		}
		var re *records.Error
		// a binary file named .csv
		_, err = runImportCSV(t, f.s, importAdmin, "crm", "lead", "\x00\x01\x02PK\x03\x04 binary", ImportOptions{})
		if !asRecordsError(err, &re) || re.Status != 415 {
			t.Fatalf("binary: %v", err)
		}
		// a map to an unknown field
		_, err = runImportCSV(t, f.s, importAdmin, "crm", "lead", "name,x\na,1\n", ImportOptions{Map: map[string]string{"x": "nope"}})
		if !asRecordsError(err, &re) || re.Status != 422 || re.Details[0].Path != "/options/map" {
			t.Fatalf("unknown field: %v", err)
		}
		// an unmapped column is reported, not dropped
		_, err = runImportCSV(t, f.s, importAdmin, "crm", "lead", "name,x\na,1\n", ImportOptions{})
		if !asRecordsError(err, &re) || re.Status != 422 || re.Code != "unknown_column" {
			t.Fatalf("unknown column: %v", err)
		}
		// …and may be left out explicitly
		res, err = runImportCSV(t, f.s, importAdmin, "crm", "lead", "name,x\nz,1\n", ImportOptions{Map: map[string]string{"x": ""}})
		if err != nil || res.Created != 1 {
			t.Fatalf("ignored column: %+v %v", res, err)
		}
		if _, err := DecodeOptions([]byte(`{"skipBadRows": true, "evil": 1}`)); !asRecordsError(err, &re) || re.Status != 422 {
			t.Fatalf("unknown option: %v", err)
		}
		if _, err := DecodeOptions([]byte(`{"skipBadRows": "yes"`)); !asRecordsError(err, &re) || re.Status != 422 {
			t.Fatalf("malformed options: %v", err)
		}
	})
}

// The job's run again after its commit (its process died before River
// heard of it) finds the import stamped done and writes nothing.
func TestImportRunAgainAfterCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newImportFixture(t, db)
		ctx := context.Background()
		if _, err := db.SQL.Exec(db.Rebind(`INSERT INTO "_forma_imports" ("id", "app", "entity", "user_id", "caller", "file", "size", "status", "options", "rows", "processed", "created", "updated", "skipped", "bad", "error_count", "created_at")
			VALUES ('01imp', 'crm', 'lead', '', '{}', 'l.csv', 0, 'running', '{}', 0, 0, 0, 0, 0, 0, 0, ?)`), db.Now()); err != nil {
			t.Fatal(err)
		}
		csv := leads(100, -1)
		for i := 0; i < 2; i++ {
			res, err := f.s.Import(ctx, Run{Caller: importAdmin, App: "crm", Entity: "lead", File: strings.NewReader(csv), Size: int64(len(csv)), Name: "l.csv", ID: "01imp"})
			if err != nil {
				t.Fatal(err)
			}
			if i == 1 && (res.Committed || res.Message != "already finished") {
				t.Fatalf("run again: %+v", res)
			}
		}
		if n := f.count("lead"); n != 100 {
			t.Fatalf("%d leads after running an import twice, want 100", n)
		}
		st, err := f.s.ImportStatus(ctx, importAdmin, "crm", "lead", "01imp")
		if err != nil || st.Status != StatusDone || st.Created != 100 {
			t.Fatalf("status: %+v %v", st, err)
		}
	})
}

// The app's matching rules on an import: a probable duplicate is reported
// with the existing record's id; a rule that refuses makes the row bad.
func TestImportDuplicates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newImportFixture(t, db)
		doc := `{"name": "dup", "entities": [{"id": "e1", "name": "customer", "fields": [
		  {"id": "c1", "name": "name", "type": "text", "required": true},
		  {"id": "c2", "name": "phone", "type": "phone"},
		  {"id": "c3", "name": "email", "type": "email"},
		  {"id": "c4", "name": "code", "type": "text", "unique": true}]}],
		 "matching": [
		  {"name": "by_phone", "entity": "customer", "keys": [{"fields": ["phone"], "normalize": "phone"}]},
		  {"name": "by_email", "entity": "customer", "onCreate": "refuse", "keys": [{"fields": ["email"], "normalize": "email"}]}]}`
		app, problems := schema.Parse([]byte(doc))
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		if _, _, err := f.recs.Apply(context.Background(), app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err := runImportCSV(t, f.s, importAdmin, "dup", "customer", "name,phone,email,code\nA,13800000001,a@x.com,K1\n", ImportOptions{})
		if err != nil || res.Created != 1 {
			t.Fatalf("first: %+v %v", res, err)
		}
		var a string
		if err := db.SQL.QueryRow(`SELECT id FROM dup_customer`).Scan(&a); err != nil {
			t.Fatal(err)
		}
		res, err = runImportCSV(t, f.s, importAdmin, "dup", "customer", "name,phone,email\nB,+86 138 0000 0001,b@x.com\nC,13900000000,A@X.com\n", ImportOptions{SkipBadRows: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Path != "rows" || res.Created != 1 || res.Bad != 1 || res.Errors[0].Row != 3 {
			t.Fatalf("second: %+v", res)
		}
		found := map[string]bool{}
		for _, d := range res.Duplicates {
			found[fmt.Sprintf("%d %s %v", d.Row, d.Rule, d.Matches)] = true
		}
		if !found[fmt.Sprintf("2 by_phone [%s]", a)] || !found[fmt.Sprintf("3 by_email [%s]", a)] {
			t.Fatalf("duplicates: %+v", res.Duplicates)
		}
		// an upsert's row is no duplicate of the record it updates, even under a refusing rule
		res, err = runImportCSV(t, f.s, importAdmin, "dup", "customer", "name,email,code\nA2,a@x.com,K1\n", ImportOptions{UpsertBy: "code"})
		if err != nil || res.Updated != 1 || res.Bad != 0 || len(res.Duplicates) != 0 {
			t.Fatalf("upsert: %+v %v", res, err)
		}
	})
}
