package notify

import (
	"context"
	"fmt"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// BenchmarkNotify measures, per dialect, one Send of one notification in
// its own transaction, and, for a user holding 10,000 notifications (half
// unread) among 100,000, the unread count (what every open stream reads
// every 2 s) and the first page of 20; then the count again with 50
// unread among the 10,000. Sends go to another user.
func BenchmarkNotify(b *testing.B) {
	for _, d := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(d.name, func(b *testing.B) {
			db := d.open(b)
			f := newFixture(b, db)
			ctx := context.Background()
			me := "01hbench00000000000000000a"
			// 100,000 rows over 10 users, in batches.
			for batch := range 100 {
				tx, err := db.Begin(ctx)
				if err != nil {
					b.Fatal(err)
				}
				ns := make([]Notification, 1000)
				for i := range ns {
					k := batch*1000 + i
					ns[i] = Notification{UserID: fmt.Sprintf("01hbench00000000000000000%c", 'a'+k%10), App: "crm", Entity: "lead",
						RecordID: fmt.Sprint(k), Automation: "a", Message: "Call lead " + fmt.Sprint(k), Key: fmt.Sprint("seed", k)}
				}
				if _, err := f.s.Send(ctx, tx, ns); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := db.Pool().ExecContext(ctx, `UPDATE `+table+` SET read_at = created_at WHERE user_id = ? AND (record_id LIKE '%00' OR record_id LIKE '%20' OR record_id LIKE '%40' OR record_id LIKE '%60' OR record_id LIKE '%80')`, me); err != nil {
				b.Fatal(err)
			}
			if n, _ := f.s.Unread(ctx, me); n < 4990 || n > 5010 {
				b.Fatalf("unread %d, want about 5000", n)
			}
			b.Run("send", func(b *testing.B) {
				for i := range b.N {
					tx, _ := db.Begin(ctx)
					if _, err := f.s.Send(ctx, tx, []Notification{{UserID: "01hbench00000000000000000b", App: "crm", Entity: "lead", RecordID: "x", Message: "m", Key: fmt.Sprint("b", i)}}); err != nil {
						b.Fatal(err)
					}
					tx.Commit()
				}
			})
			b.Run("unread", func(b *testing.B) {
				for range b.N {
					if _, err := f.s.Unread(ctx, me); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("page20", func(b *testing.B) {
				for range b.N {
					if _, err := f.s.List(ctx, me, Query{Limit: 20}); err != nil {
						b.Fatal(err)
					}
				}
			})
			// The usual case: a few unread among many read.
			if _, err := f.s.MarkAllRead(ctx, me); err != nil {
				b.Fatal(err)
			}
			tx, _ := db.Begin(ctx)
			for i := range 50 {
				if _, err := f.s.Send(ctx, tx, []Notification{{UserID: me, App: "crm", Entity: "lead", RecordID: "y", Message: "m", Key: fmt.Sprint("few", i)}}); err != nil {
					b.Fatal(err)
				}
			}
			tx.Commit()
			b.Run("unread50", func(b *testing.B) {
				for range b.N {
					if _, err := f.s.Unread(ctx, me); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
