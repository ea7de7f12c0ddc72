package scriptlog_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/formaapp/forma/engine/scriptlog"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

func write(t *testing.T, l *scriptlog.Log, entries ...scriptlog.Entry) {
	t.Helper()
	if err := l.Write(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
}

func list(t *testing.T, l *scriptlog.Log, app string, q scriptlog.Query) ([]scriptlog.Entry, int64) {
	t.Helper()
	es, next, err := l.List(context.Background(), app, q)
	if err != nil {
		t.Fatal(err)
	}
	return es, next
}

func count(t *testing.T, db *store.DB, app string) int {
	t.Helper()
	var n int
	if err := db.SQL.QueryRow(db.Dialect.Rebind(`SELECT COUNT(*) FROM _forma_script_log WHERE app = ?`), app).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func messages(es []scriptlog.Entry) string {
	m := make([]string, len(es))
	for i, e := range es {
		m[i] = e.Message
	}
	return strings.Join(m, ",")
}

func TestScriptLogWriteList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := scriptlog.New(db, 0)
		at := time.Date(2025, 3, 4, 5, 6, 7, 891234567, time.FixedZone("x", 3600))
		write(t, l,
			scriptlog.Entry{App: "crm", At: at, Level: "info", Script: "deal", Function: "beforeSave", Event: scriptlog.EventBeforeSave,
				Entity: "deal", RecordID: "r1", UserID: "u1", Line: 12, Message: "first"},
			scriptlog.Entry{App: "crm", Level: "WARN", Message: "second"},
		)
		write(t, l, scriptlog.Entry{App: "crm", Level: "shout", Message: "third", Line: -3})
		write(t, l) // nothing: no error, no row

		es, next := list(t, l, "crm", scriptlog.Query{})
		if next != 0 || len(es) != 3 {
			t.Fatalf("got %d entries, next %d", len(es), next)
		}
		if got := messages(es); got != "third,second,first" {
			t.Fatalf("order %q, want newest first", got)
		}
		if !(es[0].ID > es[1].ID && es[1].ID > es[2].ID) {
			t.Errorf("ids not descending: %d %d %d", es[0].ID, es[1].ID, es[2].ID)
		}
		first := es[2]
		want := scriptlog.Entry{ID: first.ID, App: "crm", At: at.UTC().Truncate(time.Microsecond), Level: "info", Script: "deal",
			Function: "beforeSave", Event: "beforeSave", Entity: "deal", RecordID: "r1", UserID: "u1", Line: 12, Message: "first"}
		if !first.At.Equal(want.At) || first.At.Location() != time.UTC {
			t.Errorf("at = %v, want %v in UTC", first.At, want.At)
		}
		first.At = want.At
		if first != want {
			t.Errorf("entry\n got %+v\nwant %+v", first, want)
		}
		if es[1].Level != "warn" {
			t.Errorf("level WARN stored as %q, want warn", es[1].Level)
		}
		if es[0].Level != "log" || es[0].Line != 0 {
			t.Errorf("unknown level / negative line stored as %q / %d, want log / 0", es[0].Level, es[0].Line)
		}
		if d := time.Since(es[0].At); d < 0 || d > time.Minute {
			t.Errorf("default at = %v, want about now", es[0].At)
		}

		if err := l.Write(context.Background(), []scriptlog.Entry{{Message: "no app"}}); err == nil {
			t.Error("an entry without app was written")
		}
		if n := count(t, db, ""); n != 0 {
			t.Errorf("%d rows without app", n)
		}
	})
}

func TestScriptLogFilters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := scriptlog.New(db, 0)
		write(t, l,
			scriptlog.Entry{App: "crm", Level: "error", Script: "deal", Entity: "deal", RecordID: "r1", Message: "a"},
			scriptlog.Entry{App: "crm", Level: "log", Script: "deal", Entity: "deal", RecordID: "r2", Message: "b"},
			scriptlog.Entry{App: "crm", Level: "error", Script: "contact", Entity: "contact", RecordID: "r1", Message: "c"},
			scriptlog.Entry{App: "crm", Level: "debug", Script: "deal", Event: "formula", Message: "d"},
		)
		for _, c := range []struct {
			q    scriptlog.Query
			want string
		}{
			{scriptlog.Query{Level: "error"}, "c,a"},
			{scriptlog.Query{Script: "deal"}, "d,b,a"},
			{scriptlog.Query{Entity: "contact"}, "c"},
			{scriptlog.Query{RecordID: "r1"}, "c,a"},
			{scriptlog.Query{Level: "error", Script: "deal"}, "a"},
			{scriptlog.Query{Level: "warn"}, ""},
			{scriptlog.Query{Script: "x' OR '1'='1"}, ""},
		} {
			es, next := list(t, l, "crm", c.q)
			if got := messages(es); got != c.want || next != 0 {
				t.Errorf("%+v: got %q next %d, want %q", c.q, got, next, c.want)
			}
		}
	})
}

func TestScriptLogPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := scriptlog.New(db, 0)
		const n = 237
		var batch []scriptlog.Entry
		for i := range n {
			lvl := "log"
			if i%3 == 0 {
				lvl = "error"
			}
			batch = append(batch, scriptlog.Entry{App: "crm", Level: lvl, Message: fmt.Sprint(i)})
			if len(batch) == 50 || i == n-1 { // several writes, some over one INSERT's rows
				write(t, l, batch...)
				batch = nil
			}
		}
		for _, c := range []struct {
			q    scriptlog.Query
			want int
		}{{scriptlog.Query{Limit: 10}, n}, {scriptlog.Query{Limit: 7, Level: "error"}, (n + 2) / 3}, {scriptlog.Query{Limit: 1}, n}} {
			seen := map[int64]bool{}
			var last int64
			q := c.q
			pages := 0
			for {
				es, next := list(t, l, "crm", q)
				pages++
				for _, e := range es {
					if seen[e.ID] {
						t.Fatalf("id %d twice", e.ID)
					}
					if last != 0 && e.ID >= last {
						t.Fatalf("id %d after %d", e.ID, last)
					}
					if q.Level != "" && e.Level != q.Level {
						t.Fatalf("level %q in a %q page", e.Level, q.Level)
					}
					seen[e.ID], last = true, e.ID
				}
				if next == 0 {
					break
				}
				if len(es) != q.Limit || next != es[len(es)-1].ID {
					t.Fatalf("page of %d (limit %d), next %d", len(es), q.Limit, next)
				}
				q.Before = next
			}
			if len(seen) != c.want {
				t.Errorf("%+v: paged through %d entries, want %d", c.q, len(seen), c.want)
			}
			if wantPages := (c.want + c.q.Limit - 1) / c.q.Limit; pages != wantPages && pages != wantPages+1 {
				t.Errorf("%+v: %d pages, want %d", c.q, pages, wantPages)
			}
		}
		// Limits: 0 is the default, above the maximum is the maximum.
		if es, next := list(t, l, "crm", scriptlog.Query{}); len(es) != scriptlog.DefaultLimit || next != es[len(es)-1].ID {
			t.Errorf("default limit: %d entries, next %d", len(es), next)
		}
		if es, _ := list(t, l, "crm", scriptlog.Query{Limit: 10000}); len(es) != n {
			t.Errorf("limit 10000: %d entries, want %d (all, under the maximum)", len(es), n)
		}
		// An exact last page says there is no next one.
		if es, next := list(t, l, "crm", scriptlog.Query{Limit: n}); len(es) != n || next != 0 {
			t.Errorf("limit %d: %d entries, next %d", n, len(es), next)
		}
	})
}

func TestScriptLogPrune(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		const keep = 50 // prunes every 5 rows written to an app
		l := scriptlog.New(db, keep)
		if l.Keep() != keep {
			t.Fatalf("keep %d", l.Keep())
		}
		for i := range 200 {
			write(t, l, scriptlog.Entry{App: "crm", Message: fmt.Sprint(i)}, scriptlog.Entry{App: "other", Message: fmt.Sprint(i)})
			if n := count(t, db, "crm"); n > keep+keep/10 {
				t.Fatalf("after %d writes: %d rows, want at most %d", i+1, n, keep+keep/10)
			}
		}
		if n := count(t, db, "crm"); n < keep {
			t.Fatalf("%d rows kept, want at least %d", n, keep)
		}
		// Pruning is not on every write: a write just below the threshold
		// leaves the surplus.
		n, err := l.Prune(context.Background(), "crm")
		if err != nil {
			t.Fatal(err)
		}
		if count(t, db, "crm") != keep {
			t.Fatalf("after Prune (%d deleted): %d rows, want %d", n, count(t, db, "crm"), keep)
		}
		write(t, l, scriptlog.Entry{App: "crm", Message: "200"})
		if got := count(t, db, "crm"); got != keep+1 {
			t.Errorf("one write after a prune: %d rows, want %d (no prune yet)", got, keep+1)
		}
		// The newest are kept.
		es, _ := list(t, l, "crm", scriptlog.Query{Limit: 500})
		if es[0].Message != "200" || es[len(es)-1].Message != fmt.Sprint(200-keep) {
			t.Errorf("kept %s … %s", es[0].Message, es[len(es)-1].Message)
		}
		// A big write to a small log prunes at once.
		var big []scriptlog.Entry
		for i := range 300 {
			big = append(big, scriptlog.Entry{App: "crm", Message: fmt.Sprint("big", i)})
		}
		write(t, l, big...)
		if got := count(t, db, "crm"); got != keep {
			t.Errorf("after a 300-row write: %d rows, want %d", got, keep)
		}
		// Prune on a small app deletes nothing.
		write(t, l, scriptlog.Entry{App: "tiny", Message: "x"})
		if n, err := l.Prune(context.Background(), "tiny"); err != nil || n != 0 || count(t, db, "tiny") != 1 {
			t.Errorf("prune of a 1-row app: %d deleted, %v", n, err)
		}
	})
}

func TestScriptLogConcurrentWrites(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := scriptlog.New(db, 100)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 40 {
					if err := l.Write(context.Background(), []scriptlog.Entry{{App: "crm", Message: fmt.Sprint(g, "-", i)}}); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := count(t, db, "crm"); n < 100 || n > 110 {
			t.Errorf("%d rows, want 100..110", n)
		}
	})
}

func TestScriptLogAppsIsolated(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := scriptlog.New(db, 20)
		for i := range 60 {
			write(t, l, scriptlog.Entry{App: "crm", Message: fmt.Sprint("crm", i)})
		}
		for i := range 5 {
			write(t, l, scriptlog.Entry{App: "shop", Message: fmt.Sprint("shop", i)})
		}
		es, _ := list(t, l, "shop", scriptlog.Query{})
		if messages(es) != "shop4,shop3,shop2,shop1,shop0" {
			t.Errorf("shop log: %q", messages(es))
		}
		for _, e := range es {
			if e.App != "shop" {
				t.Errorf("entry of %q in shop's log", e.App)
			}
		}
		if es, _ := list(t, l, "nope", scriptlog.Query{}); len(es) != 0 || es == nil {
			t.Errorf("unknown app: %v (want an empty, non-nil list)", es)
		}
		n, err := l.Clear(context.Background(), "crm")
		if err != nil {
			t.Fatal(err)
		}
		if n < 20 || count(t, db, "crm") != 0 {
			t.Errorf("clear crm: %d deleted, %d left", n, count(t, db, "crm"))
		}
		if count(t, db, "shop") != 5 {
			t.Errorf("clear crm touched shop: %d rows", count(t, db, "shop"))
		}
		if n, err := l.Clear(context.Background(), "crm"); err != nil || n != 0 {
			t.Errorf("clear again: %d, %v", n, err)
		}
		// Ids keep growing after a clear: paging never goes back.
		write(t, l, scriptlog.Entry{App: "crm", Message: "after"})
		es, _ = list(t, l, "crm", scriptlog.Query{})
		shop, _ := list(t, l, "shop", scriptlog.Query{})
		if len(es) != 1 || es[0].ID <= shop[0].ID {
			t.Errorf("after clear: %+v (shop's newest id %d)", es, shop[0].ID)
		}
	})
}

func TestScriptLogMessageCap(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := scriptlog.New(db, 0)
		long := strings.Repeat("é", 5000) // 10000 bytes
		bad := "nul\x00byte and \xff invalid"
		write(t, l,
			scriptlog.Entry{App: "crm", Message: long, Script: strings.Repeat("s", 500), RecordID: strings.Repeat("r", 100)},
			scriptlog.Entry{App: "crm", Message: strings.Repeat("x", scriptlog.MaxMessage)},
			scriptlog.Entry{App: "crm", Message: bad},
		)
		es, _ := list(t, l, "crm", scriptlog.Query{})
		if !utf8.ValidString(es[0].Message) || strings.ContainsRune(es[0].Message, 0) || !strings.HasPrefix(es[0].Message, "nul") {
			t.Errorf("NUL / invalid UTF-8 message stored as %q", es[0].Message)
		}
		if len(es[1].Message) != scriptlog.MaxMessage || strings.HasSuffix(es[1].Message, "…") {
			t.Errorf("a message of exactly the cap: %d bytes", len(es[1].Message))
		}
		m := es[2].Message
		if len(m) > scriptlog.MaxMessage || len(m) < scriptlog.MaxMessage-4 || !utf8.ValidString(m) || !strings.HasSuffix(m, "…") {
			t.Errorf("long message stored with %d bytes (valid %v), suffix %q", len(m), utf8.ValidString(m), m[len(m)-6:])
		}
		if len(es[2].Script) > 128 || len(es[2].RecordID) > 64 {
			t.Errorf("script %d bytes, record id %d bytes", len(es[2].Script), len(es[2].RecordID))
		}
	})
}
