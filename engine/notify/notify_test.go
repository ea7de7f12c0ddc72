package notify

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

type fixture struct {
	t   testing.TB
	db  *store.DB
	clk *clock.Test
	acc *access.Service
	s   *Service
}

func newFixture(t testing.TB, db *store.DB) *fixture {
	t.Helper()
	clk := clock.NewTest(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	db.Clock = clk
	acc, err := access.New(context.Background(), db, access.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatalf("access.New: %v", err)
	}
	return &fixture{t: t, db: db, clk: clk, acc: acc, s: New(db, acc)}
}

func (f *fixture) user(email string, roles []string, team string) string {
	f.t.Helper()
	u, err := f.acc.CreateUserWith(context.Background(), access.NewUser{Email: email, Password: "password1", Roles: roles, TeamID: team})
	if err != nil {
		f.t.Fatalf("create %s: %v", email, err)
	}
	return u.ID
}

func (f *fixture) team(name, parent, manager string) string {
	f.t.Helper()
	tm, err := f.acc.CreateTeamWith(context.Background(), access.NewTeam{Name: name, ParentID: parent, ManagerID: manager})
	if err != nil {
		f.t.Fatalf("create team %s: %v", name, err)
	}
	return tm.ID
}

// send stores ns in one transaction and commits it.
func (f *fixture) send(ns ...Notification) int {
	f.t.Helper()
	ctx := context.Background()
	tx, err := f.db.Begin(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	n, err := f.s.Send(ctx, tx, ns)
	if err != nil {
		tx.Rollback()
		f.t.Fatalf("Send: %v", err)
	}
	if err := tx.Commit(); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) resolve(to schema.Recipients, owner string, fields map[string]string) []string {
	f.t.Helper()
	got, err := f.s.Resolve(context.Background(), "crm", to, owner, fields)
	if err != nil {
		f.t.Fatalf("Resolve(%+v): %v", to, err)
	}
	return got
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestResolve(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		// region (manager: boss) → branch (no manager) → squad (manager: lead)
		boss := f.user("boss@example.com", []string{"executive"}, "")
		lead := f.user("lead@example.com", []string{"manager"}, "")
		region := f.team("Region", "", boss)
		branch := f.team("Branch", region, "")
		squad := f.team("Squad", branch, lead)
		lone := f.team("Lone", "", "")
		for _, id := range []string{boss} {
			if _, err := f.acc.UpdateUser(ctx, id, access.UserUpdate{TeamID: &region}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.acc.UpdateUser(ctx, lead, access.UserUpdate{TeamID: &squad}); err != nil {
			t.Fatal(err)
		}
		rep := f.user("rep@example.com", []string{"rep"}, squad)
		rep2 := f.user("rep2@example.com", []string{"rep", "manager"}, branch)
		loner := f.user("loner@example.com", []string{"rep"}, lone)
		noTeam := f.user("noteam@example.com", []string{"rep"}, "")
		gone := f.user("gone@example.com", []string{"rep", "manager"}, squad)
		if err := f.acc.SetActive(ctx, gone, false); err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name   string
			to     schema.Recipients
			owner  string
			fields map[string]string
			want   []string
		}{
			{"owner", schema.Recipients{Owner: true}, rep, nil, []string{rep}},
			{"owner deactivated", schema.Recipients{Owner: true}, gone, nil, []string{}},
			{"owner none", schema.Recipients{Owner: true}, "", nil, []string{}},
			{"manager of the owner's team", schema.Recipients{Manager: true}, rep, nil, []string{lead}},
			{"owner is the manager: the next one up", schema.Recipients{Manager: true}, lead, nil, []string{boss}},
			{"team without manager: the nearest ancestor's", schema.Recipients{Manager: true}, rep2, nil, []string{boss}},
			{"top manager has nobody above", schema.Recipients{Manager: true}, boss, nil, []string{}},
			{"team and ancestors without manager", schema.Recipients{Manager: true}, loner, nil, []string{}},
			{"owner without team", schema.Recipients{Manager: true}, noTeam, nil, []string{}},
			{"unknown owner", schema.Recipients{Manager: true}, "01hzzzzzzzzzzzzzzzzzzzzzzz", nil, []string{}},
			{"owner and manager", schema.Recipients{Owner: true, Manager: true}, rep, nil, sorted(rep, lead)},
			{"role (active holders only)", schema.Recipients{Roles: []string{"manager"}}, "", nil, sorted(lead, rep2)},
			{"roles union", schema.Recipients{Roles: []string{"manager", "executive"}}, "", nil, sorted(lead, rep2, boss)},
			{"unknown role", schema.Recipients{Roles: []string{"nobody"}}, "", nil, []string{}},
			{"user fields", schema.Recipients{Fields: []string{"assignee", "reviewer", "empty", "missing"}}, "",
				map[string]string{"assignee": loner, "reviewer": strings.ToUpper(gone), "empty": ""}, []string{loner}},
			{"named by id and email", schema.Recipients{Users: []string{strings.ToUpper(noTeam), " Boss@Example.com "}}, "", nil, sorted(noTeam, boss)},
			{"named unknown and deactivated are left out", schema.Recipients{Users: []string{"nobody@example.com", "gone@example.com", gone, "01hzzzzzzzzzzzzzzzzzzzzzzz", ""}}, "", nil, []string{}},
			{"deduplicated and sorted", schema.Recipients{Owner: true, Manager: true, Roles: []string{"manager"}, Fields: []string{"a"}, Users: []string{lead, "lead@example.com"}},
				rep, map[string]string{"a": rep}, sorted(rep, lead, rep2)},
			{"nobody", schema.Recipients{}, rep, nil, []string{}},
			{"NUL in every name", schema.Recipients{Owner: true, Manager: true, Fields: []string{"f"}, Users: []string{"a\x00b", "a\x00@example.com"}},
				"a\x00b", map[string]string{"f": "\x00"}, []string{}},
		}
		for _, c := range cases {
			got := f.resolve(c.to, c.owner, c.fields)
			if got == nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}

		// A deactivated manager is passed over for the next one up; once
		// active again they are back.
		if err := f.acc.SetActive(ctx, lead, false); err != nil {
			t.Fatal(err)
		}
		if got := f.resolve(schema.Recipients{Manager: true}, rep, nil); !reflect.DeepEqual(got, []string{boss}) {
			t.Errorf("deactivated manager: got %v, want the region's %s", got, boss)
		}
		if err := f.acc.SetActive(ctx, lead, true); err != nil {
			t.Fatal(err)
		}
		// Clearing the squad's manager sends it up the tree too.
		empty := ""
		if _, err := f.acc.UpdateTeam(ctx, squad, access.TeamUpdate{ManagerID: &empty}); err != nil {
			t.Fatal(err)
		}
		if got := f.resolve(schema.Recipients{Manager: true}, rep, nil); !reflect.DeepEqual(got, []string{boss}) {
			t.Errorf("cleared manager: got %v, want %s", got, boss)
		}
	})
}

func TestSendOncePerKeyAndUser(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a := f.user("a@example.com", nil, "")
		b := f.user("b@example.com", nil, "")
		n := func(user, key, msg string) Notification {
			return Notification{UserID: user, App: "crm", Entity: "quote", RecordID: "q1", Automation: "silence_alert", Message: msg, Key: key}
		}
		if got := f.send(n(a, "k1", "first"), n(b, "k1", "first")); got != 2 {
			t.Fatalf("first send stored %d, want 2", got)
		}
		// A retry of the same action: nothing new, and the first text stays.
		if got := f.send(n(a, "k1", "retried"), n(b, "k1", "retried")); got != 0 {
			t.Fatalf("retried send stored %d, want 0", got)
		}
		// The same key twice in one batch, and a new key, in one tx.
		if got := f.send(n(a, "k2", "second"), n(a, "k2", "second")); got != 1 {
			t.Fatalf("batch with a repeat stored %d, want 1", got)
		}
		p, err := f.s.List(ctx, a, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 2 || p.Items[0].Message != "second" || p.Items[1].Message != "first" {
			t.Fatalf("a's list %+v", p.Items)
		}
		it := p.Items[1]
		if it.App != "crm" || it.Entity != "quote" || it.RecordID != "q1" || it.Automation != "silence_alert" || it.Key != "k1" ||
			it.UserID != a || it.ReadAt != nil || !it.CreatedAt.Equal(f.db.Now()) {
			t.Fatalf("stored %+v (now %v)", it, f.db.Now())
		}

		// Inside the caller's transaction: a rollback stores nothing.
		tx, err := f.db.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if k, err := f.s.Send(ctx, tx, []Notification{n(b, "k9", "rolled back")}); err != nil || k != 1 {
			t.Fatalf("Send in tx = %d, %v", k, err)
		}
		tx.Rollback()
		if u, _ := f.s.Unread(ctx, b); u != 1 {
			t.Fatalf("b's unread after a rollback = %d, want 1", u)
		}

		// The caller's bugs are errors and store nothing.
		for _, bad := range []Notification{
			{Key: "k", Message: "no user"},
			{UserID: a, Message: "no key"},
			{UserID: a, Key: "k", App: strings.Repeat("a", 64)},
		} {
			tx, _ := f.db.Begin(ctx)
			if _, err := f.s.Send(ctx, tx, []Notification{n(a, "fine", "x"), bad}); err == nil {
				t.Errorf("Send(%+v) accepted", bad)
			}
			tx.Rollback()
		}

		// Long keys are hashed: still once per key, and two long keys that
		// differ only at the end stay apart.
		long1, long2 := strings.Repeat("k", 2*MaxKey)+"1", strings.Repeat("k", 2*MaxKey)+"2"
		if got := f.send(n(a, long1, "l1"), n(a, long2, "l2"), n(a, long1, "l1 again")); got != 2 {
			t.Fatalf("long keys stored %d, want 2", got)
		}

		// Messages are stored as text: cut, and made storable, never refused.
		long := strings.Repeat("長", MaxMessage) // 3 bytes each
		f.send(n(b, "long", long), n(b, "nul", "a\x00b\xffc"))
		p, _ = f.s.List(ctx, b, Query{Limit: 2})
		if m := p.Items[0].Message; m != "a\uFFFDb\uFFFDc" {
			t.Errorf("NUL and invalid UTF-8 stored as %q", m)
		}
		if m := p.Items[1].Message; len(m) > MaxMessage || !strings.HasSuffix(m, "…") || !strings.HasPrefix(m, "長長") {
			t.Errorf("long message stored with %d bytes", len(m))
		}
		// Templates are not rendered again: {{x}} is text.
		f.send(n(b, "tpl", "{{secret}}"))
		p, _ = f.s.List(ctx, b, Query{Limit: 1})
		if p.Items[0].Message != "{{secret}}" {
			t.Errorf("message %q", p.Items[0].Message)
		}
	})
}

func TestListReadAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		a := f.user("a@example.com", nil, "")
		b := f.user("b@example.com", nil, "")
		for i := range 7 {
			f.send(Notification{UserID: a, App: "crm", Entity: "lead", RecordID: fmt.Sprint(i), Message: fmt.Sprint("m", i), Key: fmt.Sprint("k", i)})
			f.clk.Advance(time.Minute)
		}
		f.send(Notification{UserID: b, App: "crm", Entity: "lead", RecordID: "x", Message: "b's", Key: "k0"})

		// Pages of 3, newest first, by key.
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			p, err := f.s.List(ctx, a, Query{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range p.Items {
				got = append(got, it.Message)
			}
			if p.NextCursor == "" {
				if pages != 2 {
					t.Fatalf("%d pages", pages+1)
				}
				break
			}
			cursor = p.NextCursor
			// A notification arriving between pages does not shift them.
			if pages == 0 {
				f.send(Notification{UserID: a, App: "crm", Entity: "lead", RecordID: "new", Message: "new", Key: "new"})
			}
		}
		if want := []string{"m6", "m5", "m4", "m3", "m2", "m1", "m0"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("pages %v, want %v", got, want)
		}

		if n, _ := f.s.Unread(ctx, a); n != 8 {
			t.Fatalf("unread %d, want 8", n)
		}
		p, _ := f.s.List(ctx, a, Query{})
		first := p.Items[0]

		// Someone else's notification and an unknown one look the same.
		bp, _ := f.s.List(ctx, b, Query{})
		for _, id := range []string{bp.Items[0].ID, "01hzzzzzzzzzzzzzzzzzzzzzzz", "nope", "a\x00b", ""} {
			if err := f.s.MarkRead(ctx, a, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("MarkRead(a, %q) = %v, want ErrNotFound", id, err)
			}
		}
		if n, _ := f.s.Unread(ctx, b); n != 1 {
			t.Fatalf("b's unread changed: %d", n)
		}

		readAt := f.db.Now()
		if err := f.s.MarkRead(ctx, a, strings.ToUpper(first.ID)); err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Hour)
		if err := f.s.MarkRead(ctx, a, first.ID); err != nil { // again: still fine
			t.Fatal(err)
		}
		p, _ = f.s.List(ctx, a, Query{Limit: 1})
		if r := p.Items[0].ReadAt; r == nil || !r.Equal(readAt) {
			t.Fatalf("read at %v, want the first read %v", r, readAt)
		}
		if n, _ := f.s.Unread(ctx, a); n != 7 {
			t.Fatalf("unread %d, want 7", n)
		}
		p, _ = f.s.List(ctx, a, Query{Unread: true, Limit: 100})
		if len(p.Items) != 7 || p.Items[0].ID == first.ID {
			t.Fatalf("unread list has %d", len(p.Items))
		}
		if n, err := f.s.MarkAllRead(ctx, a); err != nil || n != 7 {
			t.Fatalf("MarkAllRead = %d, %v", n, err)
		}
		if n, _ := f.s.Unread(ctx, a); n != 0 {
			t.Fatalf("unread %d after all read", n)
		}
		if n, _ := f.s.Unread(ctx, b); n != 1 {
			t.Fatalf("b's unread changed by a's read-all: %d", n)
		}

		// Bad queries.
		for _, q := range []Query{{Limit: -1}, {Limit: MaxLimit + 1}} {
			if _, err := f.s.List(ctx, a, q); err == nil {
				t.Errorf("List(%+v) accepted", q)
			}
		}
		for _, c := range []string{"x", strings.ToUpper(first.ID), "' OR 1=1 --", first.ID + "0", "zzzzzzzzzzzzzzzzzzzzzzzzzz"} {
			if _, err := f.s.List(ctx, a, Query{Cursor: c}); !errors.Is(err, ErrBadCursor) {
				t.Errorf("cursor %q: %v", c, err)
			}
		}
	})
}
