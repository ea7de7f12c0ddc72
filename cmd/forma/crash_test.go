package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// envMain makes the test binary run as the forma binary itself, with the
// arguments in envArgs (separated by newlines): the crash test starts it
// as a real process and kills it.
const (
	envMain = "FORMA_TEST_AS_MAIN"
	envArgs = "FORMA_TEST_ARGS"
)

func TestMain(m *testing.M) {
	if os.Getenv(envMain) == "1" {
		os.Args = append([]string{"forma"}, strings.Split(os.Getenv(envArgs), "\n")...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashDoc is the test app with deal.score = amount * k + rate.
func crashDoc(k int) string {
	return fmt.Sprintf(`{"name": "crash", "entities": [{"name": "deal", "fields": [
	  {"id": "f1", "name": "amount", "type": "integer"},
	  {"id": "f2", "name": "rate", "type": "integer"},
	  {"id": "f3", "name": "score", "type": "formula", "expr": "amount * %d + rate", "returns": "integer"}]}]}`, k)
}

const crashRows = 10000

// A migration is all or nothing, a crash included: SIGKILL a real `forma
// app apply` at random points of a formula change over 10,000 records, and
// after each kill the live version's formula holds on every record (the
// new one if the migration committed, the old one if it did not).
func TestApplySurvivesSIGKILL(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		crashRounds(t, []string{"--data", dir}, engine.Config{DataDir: dir})
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		crashRounds(t, []string{"--db", url}, engine.Config{DBURL: url})
	})
}

func crashRounds(t *testing.T, dbArgs []string, cfg engine.Config) {
	ctx := context.Background()
	open := func() *engine.Engine {
		t.Helper()
		eng, err := engine.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return eng
	}
	apply := func(eng *engine.Engine, k int) (time.Duration, int) {
		t.Helper()
		app, problems := schema.Parse([]byte(crashDoc(k)))
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		start := time.Now()
		_, n, err := eng.Records.Apply(ctx, app, store.ApplyOptions{AppliedBy: "test"})
		if err != nil {
			t.Fatalf("apply k=%d: %v", k, err)
		}
		return time.Since(start), n
	}

	eng := open()
	apply(eng, 1)
	seedDeals(t, eng)
	took, n := apply(eng, 2)
	if n != crashRows {
		t.Fatalf("the formula change recomputed %d records, want %d", n, crashRows)
	}
	t.Logf("%s: a formula change over %d records took %v in the migration", eng.DB.Dialect.Name(), crashRows, took)
	checkDeals(t, eng)
	eng.Close()

	// Each kill is aimed from the moment the process says its migration
	// begins ("migrating crash…" on stderr), not from its start: on a
	// loaded machine a fresh process's start-up varied from 1 to 3 s, and
	// kills timed from the start all landed before or after the migration.
	doc := filepath.Join(t.TempDir(), "app.json")
	run := func(k int, delay func() time.Duration) (killedAt time.Duration, committed bool) {
		t.Helper()
		if err := os.WriteFile(doc, []byte(crashDoc(k)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := forma(append([]string{"app", "apply", doc}, dbArgs...))
		var out strings.Builder
		cmd.Stdout = &out
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		began := make(chan time.Time, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "migrating crash") {
					began <- time.Now()
				}
				out.WriteString(sc.Text() + "\n")
			}
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var at time.Time
		select {
		case at = <-began:
		case err := <-done:
			t.Fatalf("k=%d: the apply ended before its migration began: %v\n%s", k, err, out.String())
		}
		d := delay()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("k=%d: apply failed: %v\n%s", k, err, out.String())
			}
			return time.Since(at), true
		case <-time.After(time.Until(at.Add(d))):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			return d, false
		}
	}
	// A full apply in a fresh process says how long its migration takes.
	mig, _ := run(3, func() time.Duration { return time.Hour })
	eng = open()
	if k := checkDeals(t, eng); k != 3 {
		t.Fatalf("live k = %d after a full apply, want 3", k)
	}
	eng.Close()

	// Each round kills at a random point of its own slice of the
	// migration's span (and a little past it), so the kills spread over
	// all of it: the DDL and the first records, the middle, the version
	// row and the commit. More rounds, anywhere in the span, while fewer
	// than wantInside kills have landed before the commit.
	rounds, maxRounds, wantInside := 6, 20, 2
	if testing.Short() {
		rounds, maxRounds, wantInside = 3, 6, 1
	}
	killed, rolledBack := 0, 0
	r := 0
	for ; r < rounds || (r < maxRounds && rolledBack < wantInside); r++ {
		k := 4 + r
		slice := (mig + mig/4) / time.Duration(rounds)
		at, committed := run(k, func() time.Duration {
			if r >= rounds {
				return time.Duration(rand.Int64N(int64(max(mig, time.Millisecond))))
			}
			return time.Duration(r)*slice + time.Duration(rand.Int64N(int64(max(slice, time.Millisecond))))
		})
		if !committed {
			killed++
		}
		eng := open()
		live := checkDeals(t, eng)
		eng.Close()
		if live != k {
			rolledBack++
		}
		t.Logf("round %d: killed=%v %v into the migration; the version with k=%d is live", r, !committed, at, live)
	}
	t.Logf("migration %v; %d rounds: %d killed, %d before the commit", mig, r, killed, rolledBack)
	if rolledBack == 0 {
		t.Errorf("no kill landed inside a migration: the test proved nothing")
	}

	// After all that, a plain apply still works and holds.
	eng = open()
	defer eng.Close()
	apply(eng, 100)
	if k := checkDeals(t, eng); k != 100 {
		t.Fatalf("live k = %d after the last apply, want 100", k)
	}
}

// forma is a command running the forma binary (this test binary, see
// TestMain) with args.
func forma(args []string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envMain+"=1", envArgs+"="+strings.Join(args, "\n"))
	return cmd
}

// seedDeals inserts crashRows deals, consistent with k=1, in bulk: one
// through the records service (for the system columns' stored form), the
// rest copied from it with plain SQL.
func seedDeals(t *testing.T, eng *engine.Engine) {
	t.Helper()
	ctx := context.Background()
	first, err := eng.Records.Create(ctx, records.Caller{Admin: true}, "crash", "deal", []byte(`{"amount": 10000, "rate": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	table := store.Quote(schema.TableName("crash", "deal"))
	var created any
	if err := eng.DB.SQL.QueryRow(eng.DB.Rebind(`SELECT "created_at" FROM `+table+` WHERE "id" = ?`), first.ID()).Scan(&created); err != nil {
		t.Fatal(err)
	}
	tx, err := eng.DB.SQL.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const batch = 500
	for i := 1; i < crashRows; i += batch {
		var rows []string
		var args []any
		for j := i; j < i+batch && j < crashRows; j++ {
			rows = append(rows, "(?, ?, ?, 1, ?, ?, ?)")
			amount, rate := int64(j), int64(j%7)
			args = append(args, fmt.Sprintf("0seed%021d", j), created, created, amount, rate, amount+rate)
		}
		q := `INSERT INTO ` + table + ` ("id", "created_at", "updated_at", "version", "amount", "rate", "score") VALUES ` + strings.Join(rows, ", ")
		if _, err := tx.Exec(eng.DB.Rebind(q), args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// checkDeals checks that every deal's score follows the live version's
// formula, and returns that formula's k.
func checkDeals(t *testing.T, eng *engine.Engine) int {
	t.Helper()
	ctx := context.Background()
	doc, err := eng.DB.Document(ctx, "crash", 0)
	if err != nil {
		t.Fatal(err)
	}
	var k int
	if _, err := fmt.Sscanf(doc.Entity("deal").Field("score").Expr, "amount * %d + rate", &k); err != nil {
		t.Fatalf("live formula %q: %v", doc.Entity("deal").Field("score").Expr, err)
	}
	rows, err := eng.DB.SQL.QueryContext(ctx, `SELECT "id", "amount", "rate", "score" FROM `+store.Quote(schema.TableName("crash", "deal")))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, bad := 0, 0
	for rows.Next() {
		var id string
		var amount, rate, score int64
		if err := rows.Scan(&id, &amount, &rate, &score); err != nil {
			t.Fatal(err)
		}
		n++
		if score != amount*int64(k)+rate {
			if bad++; bad <= 3 {
				t.Errorf("version %d (k=%d): deal %s has score %d, want %d", doc.Version, k, id, score, amount*int64(k)+rate)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != crashRows || bad > 0 {
		t.Fatalf("version %d (k=%d): %d deals, %d inconsistent", doc.Version, k, n, bad)
	}
	return k
}

// `forma app apply` of a formula that fails for a record exits 1, names
// the record and the formula's place in the document, and changes nothing.
func TestApplyFailingFormula(t *testing.T) {
	data := t.TempDir()
	doc := func(expr string) string {
		return writeFile(t, "app.json", `{"name": "crm", "entities": [{"name": "deal", "fields": [
		  {"id": "f1", "name": "amount", "type": "integer"},
		  {"id": "f2", "name": "score", "type": "formula", "expr": "`+expr+`", "returns": "integer"}]}]}`)
	}
	if out, stderr, code := run(t, "", "app", "apply", "--data", data, doc("amount * 2")); code != 0 {
		t.Fatalf("apply v1: %d %s %s", code, out, stderr)
	}
	ctx := context.Background()
	eng, err := engine.Open(ctx, engine.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	small, err := eng.Records.Create(ctx, records.Caller{Admin: true}, "crm", "deal", []byte(`{"amount": 3}`))
	if err != nil {
		t.Fatal(err)
	}
	big, err := eng.Records.Create(ctx, records.Caller{Admin: true}, "crm", "deal", []byte(`{"amount": 9}`))
	if err != nil {
		t.Fatal(err)
	}
	eng.Close()

	_, stderr, code := run(t, "", "app", "apply", "--data", data, doc("amount > 5 ? JSON.parse('{') : amount * 3"))
	if code != 1 || !strings.Contains(stderr, "/entities/0/fields/1/expr: deal record "+big.ID()) || !strings.Contains(stderr, "nothing was changed") {
		t.Fatalf("failing formula: exit %d, stderr:\n%s", code, stderr)
	}
	eng, err = engine.Open(ctx, engine.Config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	if d, err := eng.DB.Document(ctx, "crm", 0); err != nil || d.Version != 1 {
		t.Fatalf("after the failed apply: %v %v", d, err)
	}
	for id, want := range map[string]string{small.ID(): "6", big.ID(): "18"} {
		rec, err := eng.Records.Get(ctx, records.Caller{Admin: true}, "crm", "deal", id, "", "")
		if err != nil || fmt.Sprint(rec.Get("score")) != want {
			t.Errorf("deal %s score %v (%v), want %s", id, rec.Get("score"), err, want)
		}
	}
}
