package assign

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// BenchmarkAssignScore measures one assignment by the score strategy
// (win rate in the lead's industry over 90 days, open load, region and
// skills match) over 50 candidate reps and 100,000 closed opportunities
// across 10 industries, written through the records service with its
// history, event and decision log, one assignment at a time.
//
//	FORMA_TEST_POSTGRES=… go test -run '^$' -bench AssignScore -benchtime 2000x ./engine/assign/
func BenchmarkAssignScore(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchAssign(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchAssign(b, storetest.Postgres(b)) })
}

var industries = []string{"retail", "bank", "mining", "energy", "media", "health", "travel", "food", "auto", "telecom"}

func benchAssign(b *testing.B, db *store.DB) {
	ctx := context.Background()
	f := newFixture(b, db)
	var ids []string
	for _, u := range f.users {
		if u.Roles[0] == "rep" {
			ids = append(ids, u.ID)
		}
	}
	for i := len(ids); i < 50; i++ {
		u, err := f.acc.CreateUserWith(ctx, access.NewUser{Email: fmt.Sprintf("rep%d@example.com", i), Password: "a long password", Name: fmt.Sprintf("rep%d", i), Roles: []string{"rep"}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	now := f.clk.Now()
	bulk(b, db, "sales_opportunity", []string{"name", "industry", "stage", "closed_at"}, 100_000, func(i int) []any {
		stage := "lost"
		if rng.IntN(3) == 0 {
			stage = "won"
		}
		closed := now.Add(-time.Duration(rng.IntN(80*24)) * time.Hour)
		return []any{ids[rng.IntN(len(ids))], "Opp", industries[rng.IntN(len(industries))], stage, datetime(db, closed)}
	})
	leads := bulk(b, db, "sales_lead", []string{"name", "industry", "stage"}, b.N+10, func(i int) []any {
		return []any{nil, "Lead", industries[i%len(industries)], "new"}
	})
	o := Options{Caller: records.Caller{Admin: true, Path: records.PathSystem}}
	for _, id := range leads[:10] { // warm: statement cache, sandbox, statistics
		if _, err := f.s.Assign(ctx, f.app, "score", id, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		d, err := f.s.Assign(ctx, f.app, "score", leads[10+i], o)
		if err != nil {
			b.Fatal(err)
		}
		if d.Winner == "" || len(d.Candidates) != 50 {
			b.Fatalf("decision: %s (%d candidates)", d.Reason, len(d.Candidates))
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "assignments/s")
}

// datetime is t as the dialect stores a datetime column.
func datetime(db *store.DB, t time.Time) any {
	if db.Dialect.Name() == "sqlite" {
		return t.UTC().Format("2006-01-02T15:04:05.000000Z")
	}
	return t
}

// bulk inserts n rows into table (owner and the fields; system columns
// filled in) in batches, and returns their ids.
func bulk(b *testing.B, db *store.DB, table string, fields []string, n int, row func(i int) []any) []string {
	ctx := context.Background()
	cols := append([]string{"id", "created_at", "updated_at", "version", "owner"}, fields...)
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = store.Quote(c)
	}
	one := "(" + marks(len(cols)) + ")"
	now := datetime(db, db.Now())
	var ids []string
	tx, err := db.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	const batch = 500
	for start := 0; start < n; start += batch {
		k := min(batch, n-start)
		args := make([]any, 0, k*len(cols))
		for i := start; i < start+k; i++ {
			id := fmt.Sprintf("%s%08d", table[6:8], i)
			ids = append(ids, id)
			args = append(append(args, id, now, now, 1), row(i)...)
		}
		q := "INSERT INTO " + store.Quote(table) + " (" + strings.Join(quoted, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", k), ", ")
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return ids
}
