package records_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/riverqueue/river"

	"github.com/formaapp/forma/engine/jobs"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

const eventsDoc = `{"name": "ev", "entities": [
	{"id": "e1", "name": "account", "fields": [{"id": "f1", "name": "name", "type": "text"}]},
	{"id": "e2", "name": "deal", "fields": [
		{"id": "f1", "name": "title", "type": "text"},
		{"id": "f2", "name": "amount", "type": "integer"},
		{"id": "f3", "name": "account", "type": "ref", "entity": "account", "onDelete": "cascade"}]}]}`

// Every write emits one event per changed record inside its transaction;
// what a subscriber wrote in that transaction commits with the write, and
// a write that fails after its event leaves nothing behind.
func TestRecordEventsInTheWriteTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyDoc(t, db, eventsDoc)
		if _, err := db.SQL.Exec(`CREATE TABLE ev_outbox (record_id TEXT, kind TEXT, path TEXT, cause TEXT)`); err != nil {
			t.Fatal(err)
		}
		recs := records.New(db, store.NewCatalog(db))
		var (
			mu   sync.Mutex
			seen []records.Event
		)
		recs.Subscribe(func(ctx context.Context, tx store.Conn, ev *records.Event) error {
			mu.Lock()
			seen = append(seen, *ev)
			mu.Unlock()
			_, err := tx.ExecContext(ctx, `INSERT INTO ev_outbox (record_id, kind, path, cause) VALUES (?, ?, ?, ?)`, ev.ID, ev.Kind, ev.Path, ev.Cause)
			return err
		})
		boom := errors.New("subscriber refused")
		recs.Subscribe(func(ctx context.Context, tx store.Conn, ev *records.Event) error {
			if ev.Record != nil && ev.Record.Get("title") == "boom" {
				return boom
			}
			return nil
		})
		admin := records.Caller{UserID: "", Admin: true}
		outbox := func() int {
			var n int
			if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM ev_outbox`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		acct, err := recs.Create(ctx, admin, "ev", "account", []byte(`{"name": "Acme"}`))
		if err != nil {
			t.Fatal(err)
		}
		deal, err := recs.Create(ctx, records.Caller{Admin: true, Path: records.PathImport}, "ev", "deal", []byte(`{"title": "d1", "amount": 5, "account": "`+acct.ID()+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recs.Patch(ctx, admin, "ev", "deal", deal.ID(), []byte(`{"amount": 7, "version": 1}`)); err != nil {
			t.Fatal(err)
		}
		if n := outbox(); n != 3 || len(seen) != 3 {
			t.Fatalf("after create, create, patch: outbox %d, events %d", n, len(seen))
		}
		up := seen[2]
		ch, err := up.ChangeMap()
		if err != nil {
			t.Fatal(err)
		}
		if up.Kind != records.EventUpdated || up.App != "ev" || up.Entity != "deal" || up.ID != deal.ID() || up.Version != 2 ||
			string(ch["amount"].Old) != "5" || string(ch["amount"].New) != "7" || len(ch) != 1 || up.Path != records.PathAPI ||
			up.Previous == nil || up.Record == nil || up.At.IsZero() {
			t.Errorf("update event: %+v changes %v", up, ch)
		}
		if seen[1].Kind != records.EventCreated || seen[1].Path != records.PathImport || seen[1].Previous != nil {
			t.Errorf("create event: %+v", seen[1])
		}

		// A write that fails after its event (here: a later subscriber
		// refuses) rolls back what the earlier subscriber wrote.
		before := outbox()
		if _, err := recs.Create(ctx, admin, "ev", "deal", []byte(`{"title": "boom"}`)); !errors.Is(err, boom) {
			t.Fatalf("create refused by a subscriber: want %v, got %v", boom, err)
		}
		if _, err := recs.Patch(ctx, admin, "ev", "deal", deal.ID(), []byte(`{"title": "boom", "version": 2}`)); !errors.Is(err, boom) {
			t.Fatalf("patch refused by a subscriber: want %v, got %v", boom, err)
		}
		// A write refused before it changed anything emits nothing.
		if _, err := recs.Patch(ctx, admin, "ev", "deal", deal.ID(), []byte(`{"amount": 1, "version": 1}`)); err == nil {
			t.Fatal("a stale patch passed")
		}
		if n := outbox(); n != before {
			t.Fatalf("rolled-back writes left %d outbox rows", n-before)
		}
		var n int
		db.SQL.QueryRow(`SELECT COUNT(*) FROM ev_deal WHERE title = 'boom'`).Scan(&n)
		if n != 0 {
			t.Fatal("the refused write was stored")
		}

		// A delete emits its record's event and one per record it cascades to.
		if err := recs.Delete(ctx, admin, "ev", "account", acct.ID(), 0); err != nil {
			t.Fatal(err)
		}
		rows, err := db.SQL.Query(db.Rebind(`SELECT record_id, kind, cause FROM ev_outbox WHERE kind = ?`), records.EventDeleted)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for rows.Next() {
			var id, kind string
			var cause *string
			rows.Scan(&id, &kind, &cause)
			got[id] = ""
			if cause != nil {
				got[id] = *cause
			}
		}
		rows.Close()
		if len(got) != 2 || got[acct.ID()] != "" || got[deal.ID()] == "" {
			t.Errorf("delete events (id → cause): %v", got)
		}
	})
}

type outboxArgs struct {
	ID    string `json:"id"`
	Event string `json:"event"`
}

func (outboxArgs) Kind() string { return "test_outbox" }

// A subscriber that enqueues a durable job in the write's transaction: the
// job exists exactly when the write committed.
func TestEventJobsCommitWithTheWrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		applyDoc(t, db, eventsDoc)
		q, err := jobs.New(ctx, db, jobs.Options{NoWork: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { q.Stop(context.Background()) })
		if err := jobs.Register(q, river.WorkFunc(func(context.Context, *river.Job[outboxArgs]) error { return nil })); err != nil {
			t.Fatal(err)
		}
		recs := records.New(db, store.NewCatalog(db))
		recs.Subscribe(func(ctx context.Context, tx store.Conn, ev *records.Event) error {
			_, err := q.InsertTx(ctx, tx, outboxArgs{ID: ev.ID, Event: ev.Kind}, nil)
			return err
		})
		recs.Subscribe(func(ctx context.Context, tx store.Conn, ev *records.Event) error {
			if ev.Record != nil && ev.Record.Get("title") == "boom" {
				return errors.New("refused after the job was enqueued")
			}
			return nil
		})
		count := func() int {
			res, err := q.Client().JobList(ctx, river.NewJobListParams().Kinds("test_outbox").First(100))
			if err != nil {
				t.Fatal(err)
			}
			return len(res.Jobs)
		}
		admin := records.Caller{Admin: true}
		if _, err := recs.Create(ctx, admin, "ev", "deal", []byte(`{"title": "fine"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := recs.Create(ctx, admin, "ev", "deal", []byte(`{"title": "boom"}`)); err == nil {
			t.Fatal("the refused write passed")
		}
		if n := count(); n != 1 {
			t.Errorf("%d jobs, want 1 (the committed write's only)", n)
		}
	})
}
