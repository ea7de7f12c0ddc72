package assign

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

const poolDoc = `{"name": "sales", "entities": [{"id": "e1", "name": "lead", "fields": [{"id": "l1", "name": "name", "type": "text"}]}],
 "roles": [{"name": "rep", "entities": {"lead": {"read": "own"}}}],
 "assignments": [{"name": "inbound", "entity": "lead", "candidates": {"roles": ["rep"]}, "strategy": "roundRobin",
   "pool": {"name": "hot", "deadline": "2h"}}]}`

// TestPoolDeadlineHandsOver stands in for the core's AssignTx: a record
// left in the pool past its deadline is handed to it once, with the pool
// bypassed, and leaves the pool; a failed hand-over keeps it there.
func TestPoolDeadlineHandsOver(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewTest(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
		db.Clock = clk
		acc, err := access.New(ctx, db, access.Options{BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatal(err)
		}
		cat := store.NewCatalog(db)
		recs := records.New(db, cat)
		s := New(db, cat, recs, acc, nil, slog.New(slog.DiscardHandler))
		if err := s.Register(ctx); err != nil {
			t.Fatal(err)
		}
		app, problems := schema.Parse([]byte(poolDoc))
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		if _, _, err := recs.Apply(ctx, app, store.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		if app, err = cat.App(ctx, "sales"); err != nil {
			t.Fatal(err)
		}
		rec, err := recs.Create(ctx, records.Caller{Admin: true}, "sales", "lead", []byte(`{"name": "late"}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EnterPool(ctx, app, "inbound", rec.ID()); err != nil {
			t.Fatal(err)
		}
		var calls []Options
		fail := errors.New("no candidate today")
		var answer error = fail
		assignTx = func(_ *Service, _ context.Context, _ store.Conn, _ *schema.App, rule, id string, o Options) (*Decision, error) {
			calls = append(calls, o)
			return &Decision{Rule: rule, RecordID: id}, answer
		}
		t.Cleanup(func() { assignTx = (*Service).AssignTx })
		state := func() string {
			var st string
			if err := db.SQL.QueryRow(db.Rebind(`SELECT state FROM `+poolTable+` WHERE record_id = ?`), rec.ID()).Scan(&st); err != nil {
				t.Fatal(err)
			}
			return st
		}
		clk.Advance(119 * time.Minute)
		if err := s.Tick(ctx); err != nil || len(calls) != 0 {
			t.Fatalf("before the deadline: %v, %d calls", err, len(calls))
		}
		clk.Advance(2 * time.Minute)
		if err := s.Tick(ctx); !errors.Is(err, fail) || state() != poolOpen {
			t.Fatalf("a failed hand-over: %v, state %s", err, state())
		}
		answer = nil
		if err := s.Tick(ctx); err != nil || state() != poolExpired {
			t.Fatalf("hand-over: %v, state %s", err, state())
		}
		if len(calls) != 2 || !calls[1].SkipPool || calls[1].Caller.Path != records.PathSystem {
			t.Fatalf("calls = %+v", calls)
		}
		if err := s.Tick(ctx); err != nil || len(calls) != 2 {
			t.Fatalf("handed over twice: %v, %d calls", err, len(calls))
		}
		// Out of the pool: nobody can claim it now.
		rep, err := acc.CreateUserWith(ctx, access.NewUser{Email: "rep@example.com", Password: "a long password", Roles: []string{"rep"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Claim(ctx, records.Caller{UserID: rep.ID, Roles: rep.Roles}, "sales", "lead", rec.ID())
		var re *records.Error
		if !errors.As(err, &re) || re.Status != 404 {
			t.Fatalf("claim after the deadline: %v", err)
		}
	})
}
