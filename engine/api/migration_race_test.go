package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/formaapp/forma/engine/access"
	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/scriptlog"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// eachPair runs fn on both dialects with two servers on one database, as
// two `forma serve` processes would be: each has its own connection pool,
// catalog and caches. a holds the kit app and the admin; b logs in as the
// same admin.
func eachPair(t *testing.T, fn func(t *testing.T, a, b *env)) {
	eachShared(t, func(t *testing.T, open func() *store.DB) {
		a := newEnv(t, open(), kitApp)
		fn(t, a, a.peer(open()))
	})
}

// eachShared runs fn on both dialects with open, which opens another
// handle on one database each time it is called (one per server).
func eachShared(t *testing.T, fn func(t *testing.T, open func() *store.DB)) {
	run := func(t *testing.T, dbURL, dir string) {
		fn(t, func() *store.DB {
			db, err := store.Open(context.Background(), dbURL, dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if db.Dialect.Name() == "postgres" {
				// Two pools of the default 32 beside other test packages
				// could reach the server's max_connections (100).
				db.SQL.SetMaxOpenConns(12)
			}
			return db
		})
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "", t.TempDir()) })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t), "") })
}

// peer starts a second server on db (another handle on e's database),
// logged in as e's admin.
func (e *env) peer(db *store.DB) *env {
	t := e.t
	t.Helper()
	acc, err := access.New(context.Background(), db, access.Options{BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	cat := store.NewCatalog(db)
	recs := records.New(db, cat)
	sl := scriptlog.New(db, 0)
	recs.SetScriptLog(sl)
	srv := &api.Server{DB: db, Catalog: cat, Access: acc, Records: recs, ScriptLog: sl,
		Log: slog.New(slog.NewTextHandler(testLog{t}, nil))}
	p := &env{t: t, db: db, acc: acc, app: srv.New(), admin: e.admin, dialect: e.dialect}
	p.token = p.login(adminEmail, adminPassword)
	return p
}

// kitNotesAs is the kit app with item's notes field (id i2) renamed.
func kitNotesAs(notes string) string {
	return strings.Replace(kitApp, `"name": "notes",`, `"name": "`+notes+`",`, 1)
}

// A migration applied through one server holds on another from its very
// next request: a renamed field answers by its new name at once and its old
// name is an unknown field (4xx, never 500), a dropped field is unknown, a
// new field is accepted and filterable. Nothing waits for a cache to expire.
func TestMigrationSeenByOtherServer(t *testing.T) {
	eachPair(t, func(t *testing.T, a, b *env) {
		rec := b.create("item", map[string]any{"title": "first", "notes": "hello", "qty": 3})
		id := rec["id"].(string)
		// b has the document cached now.
		if st, body := b.do("GET", "/api/data/kit/item?filter="+q(`notes ~ "hell"`), nil); st != 200 || len(items(t, body)) != 1 {
			t.Fatalf("filter before: %d %v", st, body)
		}

		// Rename notes → memo on a; b follows at once.
		if st, body := a.do("POST", "/api/meta/apps", kitNotesAs("memo")); st != 201 {
			t.Fatalf("rename: %d %v", st, body)
		}
		if got := b.get("item", id); got["memo"] != "hello" || got["notes"] != nil {
			t.Errorf("get after rename: %v", got)
		}
		st, body := b.do("POST", "/api/data/kit/item", map[string]any{"title": "second", "notes": "x"})
		wantErr(t, "create with the old name", st, body, 422, "validation_failed")
		wantDetail(t, "create with the old name", body, "/notes")
		st, body = b.do("GET", "/api/data/kit/item?filter="+q(`notes ~ "hell"`), nil)
		wantErr(t, "filter on the old name", st, body, 400, "invalid_filter")
		st, body = b.do("PATCH", "/api/data/kit/item/"+id, map[string]any{"version": 1, "notes": "y"})
		wantErr(t, "patch the old name", st, body, 422, "validation_failed")
		if b.get("item", id)["memo"] != "hello" {
			t.Error("a refused patch changed the record")
		}
		second := b.create("item", map[string]any{"title": "second", "memo": "hey there"})
		if second["memo"] != "hey there" {
			t.Errorf("create with the new name: %v", second)
		}
		st, body = b.do("GET", "/api/data/kit/item?sort=title&filter="+q(`memo ~ "he"`), nil)
		if st != 200 || len(items(t, body)) != 2 || items(t, body)[1]["memo"] != "hey there" {
			t.Errorf("filter on the new name: %d %v", st, body)
		}

		// Drop qty on a.
		noQty := strings.Replace(kitNotesAs("memo"), `{"id": "i3",  "name": "qty",        "type": "integer"},`, "", 1)
		if st, body := a.do("POST", "/api/meta/apps?allowDestructive=1", noQty); st != 201 {
			t.Fatalf("drop: %d %v", st, body)
		}
		if got := b.get("item", id); got["qty"] != nil {
			t.Errorf("get after drop still shows qty: %v", got)
		}
		n := b.count("item")
		st, body = b.do("POST", "/api/data/kit/item", map[string]any{"title": "third", "qty": 1})
		wantErr(t, "create with a dropped field", st, body, 422, "validation_failed")
		wantDetail(t, "create with a dropped field", body, "/qty")
		if b.count("item") != n {
			t.Error("a refused create added a record")
		}
		st, body = b.do("GET", "/api/data/kit/item?filter="+q(`qty > 1`), nil)
		wantErr(t, "filter on a dropped field", st, body, 400, "invalid_filter")

		// Add priority on a.
		withPriority := strings.Replace(noQty, `{"id": "i4",`, `{"id": "i19", "name": "priority", "type": "integer"}, {"id": "i4",`, 1)
		if st, body := a.do("POST", "/api/meta/apps", withPriority); st != 201 {
			t.Fatalf("add: %d %v", st, body)
		}
		third := b.create("item", map[string]any{"title": "third", "priority": 3})
		if fmt.Sprint(third["priority"]) != "3" {
			t.Errorf("create with the new field: %v", third)
		}
		st, body = b.do("GET", "/api/data/kit/item?filter="+q(`priority = 3`), nil)
		if st != 200 || len(items(t, body)) != 1 || items(t, body)[0]["id"] != third["id"] {
			t.Errorf("filter on the new field: %d %v", st, body)
		}
		st, body = b.do("PATCH", "/api/data/kit/item/"+id, map[string]any{"version": 1, "priority": 1})
		if st != 200 || fmt.Sprint(body["priority"]) != "1" {
			t.Errorf("patch the new field: %d %v", st, body)
		}
	})
}

// TestRequestsRacingMigration runs 100 clients — half on the server that
// migrates, half on another server on the same database — creating,
// reading, patching, listing and deleting items while item's notes field is
// renamed back and forth. Whatever a request meets, it never answers 5xx: a
// write that a rename overtakes runs again on the new document, and then
// answers what that document says (the field it named is unknown: 422).
func TestRequestsRacingMigration(t *testing.T) {
	eachPair(t, func(t *testing.T, a, b *env) {
		const clients = 100
		names := [2]string{"notes", "memo"}
		var (
			done     atomic.Bool
			failures atomic.Int64
			counts   sync.Map // "op status" → *atomic.Int64
			wg       sync.WaitGroup
			started  sync.WaitGroup
		)
		count := func(op string, st int) {
			v, _ := counts.LoadOrStore(fmt.Sprintf("%s %d", op, st), new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		}
		fail := func(format string, args ...any) {
			if failures.Add(1) <= 20 {
				t.Errorf(format, args...)
			}
		}
		// refused checks a 4xx answer to a request naming field.
		refused := func(op string, st int, body map[string]any, field string) {
			eo, _ := body["error"].(map[string]any)
			code, _ := eo["code"].(string)
			switch {
			case op == "list" && st == 400 && code == "invalid_filter":
			case st == 422 && code == "validation_failed" && strings.Contains(fmt.Sprint(eo["details"]), "/"+field):
			default:
				fail("%s naming %s: %d %v", op, field, st, body)
			}
		}
		// sane checks the renamed field's value in a record read back: the
		// value a client wrote, or null, never anything else (SQLite reads a
		// quoted name that is no column as a string literal: a stale read
		// would show "memo" as the value of memo).
		sane := func(op string, rec map[string]any) {
			for _, name := range names {
				if v, ok := rec[name]; ok && v != nil && !strings.HasPrefix(fmt.Sprint(v), "w") {
					fail("%s: %s is %v: %v", op, name, v, rec)
				}
			}
		}
		for i := range clients {
			srv := a
			if i%2 == 1 {
				srv = b
			}
			wg.Add(1)
			started.Add(1)
			go func() {
				defer wg.Done()
				startedOnce := false
				var mine []string
				for round := 0; !done.Load() || round < 4; round++ {
					if round == 1 && !startedOnce {
						started.Done()
						startedOnce = true
					}
					field := names[(i+round)%2]
					value := fmt.Sprintf("w%d r%d", i, round)
					// create
					st, body, err := srv.tryDo("POST", "/api/data/kit/item", map[string]any{"title": value, field: value})
					count("create", st)
					switch {
					case err != nil || st >= 500:
						fail("create: %d %v %v", st, body, err)
						continue
					case st == 201:
						if body[field] != value {
							fail("created without %s: %v", field, body)
						}
						mine = append(mine, body["id"].(string))
					default:
						refused("create", st, body, field)
					}
					if len(mine) == 0 {
						continue
					}
					id := mine[len(mine)-1]
					// get
					st, body, err = srv.tryDo("GET", "/api/data/kit/item/"+id, nil)
					count("get", st)
					if err != nil || st != 200 {
						fail("get: %d %v %v", st, body, err)
						continue
					}
					sane("get", body)
					// patch, with the version just read
					st, body, err = srv.tryDo("PATCH", "/api/data/kit/item/"+id, map[string]any{"version": body["version"], field: value + " patched"})
					count("patch", st)
					switch {
					case err != nil || st >= 500:
						fail("patch: %d %v %v", st, body, err)
					case st == 200:
						if body[field] != value+" patched" {
							fail("patched without %s: %v", field, body)
						}
					default:
						refused("patch", st, body, field)
					}
					// list, filtered on the field
					st, body, err = srv.tryDo("GET", "/api/data/kit/item?limit=5&filter="+q(field+` ~ "w"`), nil)
					count("list", st)
					switch {
					case err != nil || st >= 500:
						fail("list: %d %v %v", st, body, err)
					case st != 200:
						refused("list", st, body, field)
					default:
						for _, it := range items(t, body) {
							sane("list", it)
						}
					}
					// delete the oldest record of this client, now and then
					if len(mine) > 2 {
						st, body, err = srv.tryDo("DELETE", "/api/data/kit/item/"+mine[0], nil)
						count("delete", st)
						if err != nil || st != 204 {
							fail("delete: %d %v %v", st, body, err)
						}
						mine = mine[1:]
					}
				}
				if !startedOnce {
					started.Done()
				}
			}()
		}
		started.Wait() // every client is past its first round
		for i := range 4 {
			st, body, err := a.tryDo("POST", "/api/meta/apps", json.RawMessage(kitNotesAs(names[(i+1)%2])))
			if err != nil || st != 201 {
				t.Errorf("rename %d: %d %v %v", i, st, body, err)
			}
		}
		done.Store(true)
		wg.Wait()
		var summary []string
		counts.Range(func(k, v any) bool {
			summary = append(summary, fmt.Sprintf("%s×%d", k, v.(*atomic.Int64).Load()))
			return true
		})
		t.Logf("answers: %s", strings.Join(summary, ", "))
		if n := failures.Load(); n > 0 {
			t.Errorf("%d wrong answers", n)
		}
	})
}
