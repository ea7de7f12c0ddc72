package records_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// planDoc is a ticket app whose rep reads their own tickets (amount
// hidden, unless repSees) and whose lead reads every ticket.
func planDoc(repRead string, repSees bool) string {
	fields := `, "fields": {"amount": "hidden"}`
	if repSees {
		fields = ""
	}
	return `{"name": "desk", "entities": [{"id": "e1", "name": "ticket", "fields": [
  {"id": "t1", "name": "subject", "type": "text"},
  {"id": "t2", "name": "severity", "type": "integer"},
  {"id": "t4", "name": "amount", "type": "decimal", "scale": 2}]}],
 "roles": [
  {"name": "rep", "entities": {"ticket": {"read": "` + repRead + `"` + fields + `}}},
  {"name": "lead", "entities": {"ticket": {"read": "all"}}}]}`
}

// fillPlanTickets inserts 12 tickets t01…t12: owners u1, u2, u3 in turn,
// severities 1–4 in turn.
func fillPlanTickets(t *testing.T, db *store.DB) {
	t.Helper()
	for i := 1; i <= 12; i++ {
		if _, err := db.Pool().ExecContext(context.Background(),
			`INSERT INTO desk_ticket (id, created_at, updated_at, owner, version, subject, severity, amount) VALUES (?, ?, ?, ?, 1, ?, ?, ?)`,
			fmt.Sprintf("t%02d", i), "2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z",
			fmt.Sprintf("u%d", (i-1)%3+1), fmt.Sprintf("subject %02d", i), (i-1)%4+1, amountArg(db, i)); err != nil {
			t.Fatal(err)
		}
	}
}

// amountArg is i × 1.50 in amount's stored form.
func amountArg(db *store.DB, i int) any {
	if db.Dialect.Name() == "sqlite" {
		return int64(i * 150)
	}
	return fmt.Sprintf("%d.%02d", i*150/100, i*150%100)
}

// listIDs lists every page of q (following cursors) and answers the ids,
// and whether any record showed an amount.
func listIDs(t *testing.T, s *records.Service, c records.Caller, q records.Query) ([]string, bool, error) {
	t.Helper()
	var ids []string
	amount := false
	for range 100 {
		p, err := s.List(context.Background(), c, "desk", "ticket", q)
		if err != nil {
			return nil, false, err
		}
		for _, r := range p.Items {
			ids = append(ids, r.ID())
			if _, ok := fieldsOf(t, r)["amount"]; ok {
				amount = true
			}
		}
		if p.NextCursor == "" {
			return ids, amount, nil
		}
		q.Cursor = p.NextCursor
	}
	t.Fatal("the list does not end")
	return nil, false, nil
}

func statusOf(err error) int {
	var re *records.Error
	if errors.As(err, &re) {
		return re.Status
	}
	return 0
}

// TestListPlanCacheKeepsCallersApart asks the same lists as callers whose
// rules differ — another user under the same own-scope role, another role,
// the admin — in turns, twice over: a plan one caller's list left in the
// cache must never answer another's (rows, hidden fields, @me, a filter on
// a field hidden from one of them).
func TestListPlanCacheKeepsCallersApart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		applyDoc(t, db, planDoc("own", false))
		fillPlanTickets(t, db)
		s := records.New(db, store.NewCatalog(db))
		rep1 := records.Caller{UserID: "u1", Roles: []string{"rep"}}
		rep2 := records.Caller{UserID: "u2", Roles: []string{"rep"}}
		lead1 := records.Caller{UserID: "u1", Roles: []string{"lead"}}
		lead3 := records.Caller{UserID: "u3", Roles: []string{"lead"}}
		admin := records.Caller{UserID: "admin", Admin: true}
		all := []string{"t01", "t02", "t03", "t04", "t05", "t06", "t07", "t08", "t09", "t10", "t11", "t12"}
		type want struct {
			c      records.Caller
			q      records.Query
			ids    []string
			amount bool
			status int // an error's status instead
		}
		cases := []want{
			{rep1, records.Query{Sort: "id", Limit: 2}, []string{"t01", "t04", "t07", "t10"}, false, 0},
			{rep2, records.Query{Sort: "id", Limit: 2}, []string{"t02", "t05", "t08", "t11"}, false, 0},
			{lead1, records.Query{Sort: "id", Limit: 2}, all, true, 0},
			{admin, records.Query{Sort: "id", Limit: 2}, all, true, 0},
			{lead1, records.Query{Filter: "owner = @me", Sort: "id", Limit: 3}, []string{"t01", "t04", "t07", "t10"}, true, 0},
			{lead3, records.Query{Filter: "owner = @me", Sort: "id", Limit: 3}, []string{"t03", "t06", "t09", "t12"}, true, 0},
			{lead1, records.Query{Filter: "amount > 12", Sort: "-severity,id", Limit: 2}, []string{"t12", "t11", "t10", "t09"}, true, 0},
			{rep1, records.Query{Filter: "amount > 12", Sort: "-severity,id", Limit: 2}, nil, false, 400},
			{rep1, records.Query{Filter: "severity >= 1", Sort: "-severity,id", Limit: 2}, []string{"t04", "t07", "t10", "t01"}, false, 0},
			{rep2, records.Query{Filter: "severity >= 1", Sort: "-severity,id", Limit: 2}, []string{"t08", "t11", "t02", "t05"}, false, 0},
		}
		for round := range 2 {
			for i, w := range cases {
				ids, amount, err := listIDs(t, s, w.c, w.q)
				switch {
				case w.status != 0:
					if statusOf(err) != w.status {
						t.Errorf("round %d, case %d (%s %v): err %v, want status %d", round, i, w.c.UserID, w.q, err, w.status)
					}
				case err != nil:
					t.Errorf("round %d, case %d (%s %v): %v", round, i, w.c.UserID, w.q, err)
				case !slices.Equal(ids, w.ids) || amount != w.amount:
					t.Errorf("round %d, case %d (%s %v): ids %v amount %v, want %v %v", round, i, w.c.UserID, w.q, ids, amount, w.ids, w.amount)
				}
			}
		}
	})
}

// TestListPlanCacheFollowsAppChanges lists as a rep, then changes the
// app's rules from outside the service (as another server would): the
// same list, same caller, same query, must answer by the new rules at
// once — more rows when the rep's scope widens, the amount once it is no
// longer hidden, a filter on it accepted — and fewer again when they are
// narrowed back.
func TestListPlanCacheFollowsAppChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		applyDoc(t, db, planDoc("own", false))
		fillPlanTickets(t, db)
		s := records.New(db, store.NewCatalog(db))
		rep := records.Caller{UserID: "u1", Roles: []string{"rep"}}
		q := records.Query{Sort: "id", Limit: 2}
		byAmount := records.Query{Filter: "amount >= 0", Sort: "id", Limit: 5}
		own := []string{"t01", "t04", "t07", "t10"}
		check := func(step string, wantIDs []string, wantAmount bool) {
			t.Helper()
			for range 2 { // the second time from the cache
				ids, amount, err := listIDs(t, s, rep, q)
				if err != nil || !slices.Equal(ids, wantIDs) || amount != wantAmount {
					t.Fatalf("%s: ids %v amount %v (%v), want %v %v", step, ids, amount, err, wantIDs, wantAmount)
				}
				ids, _, err = listIDs(t, s, rep, byAmount)
				if wantAmount && (err != nil || !slices.Equal(ids, wantIDs)) {
					t.Fatalf("%s: filter on amount: %v %v", step, ids, err)
				}
				if !wantAmount && statusOf(err) != 400 {
					t.Fatalf("%s: filter on the hidden amount: %v %v", step, ids, err)
				}
			}
		}
		check("own, amount hidden", own, false)

		applyDoc(t, db, planDoc("all", true))
		all := []string{"t01", "t02", "t03", "t04", "t05", "t06", "t07", "t08", "t09", "t10", "t11", "t12"}
		check("all, amount shown", all, true)

		applyDoc(t, db, planDoc("own", false))
		check("own again", own, false)
	})
}

// TestListPlanCacheCursor pages through a list whose plan is cached, and
// checks that a cursor still belongs to its own list only.
func TestListPlanCacheCursor(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		applyDoc(t, db, planDoc("own", false))
		fillPlanTickets(t, db)
		s := records.New(db, store.NewCatalog(db))
		ctx := context.Background()
		lead := records.Caller{UserID: "u1", Roles: []string{"lead"}}
		q := records.Query{Filter: "severity >= 2", Sort: "-severity,subject", Limit: 4}
		whole, err := s.List(ctx, lead, "desk", "ticket", records.Query{Filter: q.Filter, Sort: q.Sort, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, r := range whole.Items {
			want = append(want, r.ID())
		}
		for range 2 {
			got, _, err := listIDs(t, s, lead, q)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("pages %v (%v), want %v", got, err, want)
			}
		}
		p, err := s.List(ctx, lead, "desk", "ticket", q)
		if err != nil || p.NextCursor == "" {
			t.Fatalf("%v %v", p, err)
		}
		other := records.Query{Filter: "severity >= 3", Sort: q.Sort, Limit: 4, Cursor: p.NextCursor}
		if _, err := s.List(ctx, lead, "desk", "ticket", other); statusOf(err) != 400 {
			t.Fatalf("a cursor of another filter: %v", err)
		}
	})
}

// A page writes its records' keys once per field list: the page's JSON
// is still each record's own JSON, whatever the selection.
func TestPageJSONIsItsRecords(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		applyDoc(t, db, planDoc("own", false))
		fillPlanTickets(t, db)
		s := records.New(db, store.NewCatalog(db))
		for _, q := range []records.Query{{Limit: 5}, {Fields: "subject,severity", Sort: "-severity", Limit: 5}, {Fields: "severity", Limit: 100}} {
			for _, c := range []records.Caller{{UserID: "a", Admin: true}, {UserID: "u1", Roles: []string{"rep"}}} {
				p, err := s.List(context.Background(), c, "desk", "ticket", q)
				if err != nil {
					t.Fatal(err)
				}
				want := []byte(`{"items":[`)
				for i, r := range p.Items {
					if i > 0 {
						want = append(want, ',')
					}
					j, _ := r.MarshalJSON()
					want = append(want, j...)
				}
				want = append(want, `],"nextCursor":`...)
				next, _ := json.Marshal(p.NextCursor)
				if p.NextCursor == "" {
					next = []byte("null")
				}
				want = append(append(want, next...), '}')
				if got := p.AppendJSON(nil); string(got) != string(want) {
					t.Errorf("%v, %s:\n got %s\nwant %s", q, c.UserID, got, want)
				}
			}
		}
	})
}
