package records_test

import (
	"context"
	"testing"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// BenchmarkCreateEnqueue measures what a durable job costs a write: the
// same record create with no subscriber ("none") and with a subscriber that
// inserts one job in the write's transaction ("one-job"). The queue runs no
// workers here, so only the insert is measured.
//
//	go test -run '^$' -bench CreateEnqueue ./engine/records/
func BenchmarkCreateEnqueue(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchCreateEnqueue(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchCreateEnqueue(b, storetest.Postgres(b)) })
}

func benchCreateEnqueue(b *testing.B, db *store.DB) {
	ctx := context.Background()
	applyDoc(&testing.T{}, db, eventsDoc)
	q, err := jobs.New(ctx, db, jobs.Options{NoWork: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Stop(context.Background()) })
	if err := jobs.Register(q, river.WorkFunc(func(context.Context, *river.Job[outboxArgs]) error { return nil })); err != nil {
		b.Fatal(err)
	}
	plain := records.New(db, store.NewCatalog(db))
	queued := records.New(db, store.NewCatalog(db))
	queued.Subscribe(func(ctx context.Context, tx store.Conn, ev *records.Event) error {
		_, err := q.InsertTx(ctx, tx, outboxArgs{ID: ev.ID, Event: ev.Kind}, nil)
		return err
	})
	body := []byte(`{"title": "a deal", "amount": 1200}`)
	for _, c := range []struct {
		name string
		s    *records.Service
	}{{"none", plain}, {"one-job", queued}, {"none-again", plain}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.s.Create(ctx, records.Caller{Admin: true}, "ev", "deal", body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
