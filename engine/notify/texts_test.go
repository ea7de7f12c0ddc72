package notify

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
	"github.com/formaapp/forma/schema"
)

// A notification keeps its message in every language it was sent in, each
// cleaned and cut like the message; one sent without variants reads back
// without them.
func TestSendKeepsEveryLanguage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := f.user("a@example.com", nil, "")
		long := strings.Repeat("长", MaxMessage)
		f.send(Notification{UserID: a, App: "crm", Entity: "lead", RecordID: "1", Key: "k1",
			Message: "赢单：Acme", Messages: schema.Labels{"zh-CN": "赢单：Acme", "en": "Won: Acme", "fr": "a\x00b", "de": long, "it": ""}})
		f.send(Notification{UserID: a, App: "crm", Entity: "lead", RecordID: "2", Key: "k2", Message: "plain"})
		p, err := f.s.List(context.Background(), a, Query{})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != 2 {
			t.Fatalf("%d items", len(p.Items))
		}
		plain, won := p.Items[0], p.Items[1]
		if plain.Message != "plain" || plain.Messages != nil {
			t.Errorf("plain: %q %v", plain.Message, plain.Messages)
		}
		ms := won.Messages
		if won.Message != "赢单：Acme" || ms["zh-CN"] != "赢单：Acme" || ms["en"] != "Won: Acme" || ms["fr"] != "a\uFFFDb" || len(ms) != 4 {
			t.Errorf("won: %q %v", won.Message, ms)
		}
		if de := ms["de"]; len(de) > MaxMessage || !strings.HasSuffix(de, "…") || !utf8.ValidString(de) {
			t.Errorf("the long variant was not cut: %d bytes", len(de))
		}
	})
}

// A database made before notifications kept their languages gains the
// column when the server starts: the rows already there read back as they
// were, with no variants, and new ones keep theirs.
func TestMessagesColumnAdded(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			var dsn, dir string
			if dialect == "sqlite" {
				dir = t.TempDir()
			} else {
				dsn = storetest.PostgresURL(t)
			}
			open := func() *store.DB {
				db, err := store.Open(ctx, dsn, dir)
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				return db
			}
			db := open()
			f := newFixture(t, db)
			a := f.user("a@example.com", nil, "")
			if _, err := db.SQL.ExecContext(ctx, `ALTER TABLE `+table+` DROP COLUMN messages`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SQL.ExecContext(ctx, db.Rebind(`INSERT INTO `+table+` (id, user_id, app, entity, record_id, automation, message, dedupe_key, created_at) VALUES (?, ?, 'crm', 'lead', '1', 'old', 'from before', 'k0', ?)`),
				f.s.newID(), a, db.Now()); err != nil {
				t.Fatal(err)
			}
			db.Close()

			db = open()
			defer db.Close()
			f = newFixture(t, db)
			f.send(Notification{UserID: a, App: "crm", Entity: "lead", RecordID: "2", Key: "k1", Message: "新", Messages: schema.Labels{"en": "new"}})
			p, err := f.s.List(ctx, a, Query{})
			if err != nil {
				t.Fatal(err)
			}
			by := map[string]Notification{}
			for _, n := range p.Items {
				by[n.RecordID] = n
			}
			if len(p.Items) != 2 || by["1"].Message != "from before" || by["1"].Messages != nil ||
				!reflect.DeepEqual(by["2"].Messages, schema.Labels{"en": "new"}) {
				t.Fatalf("items %+v", p.Items)
			}
		})
	}
}
