package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/api"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/scriptlog"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// scriptLogEnv is the kit env served by a server that has a script log (the
// shared env's server has none), and that log, to write entries directly as
// the script runtime does.
func scriptLogEnv(t *testing.T, db *store.DB) (*env, *scriptlog.Log) {
	t.Helper()
	e := newEnv(t, db, kitApp)
	sl := scriptlog.New(db, 0)
	cat := store.NewCatalog(db)
	srv := &api.Server{DB: db, Catalog: cat, Access: e.acc, Records: records.New(db, cat),
		Log: slog.New(slog.NewTextHandler(testLog{t}, nil)), ScriptLog: sl}
	e.app = srv.New() // the admin's token stays valid: same database
	return e, sl
}

const scriptLogPath = "/api/meta/apps/kit/scripts/log"

func TestScriptLogAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, sl := scriptLogEnv(t, db)
		ctx := context.Background()
		var batch []scriptlog.Entry
		for i := range 25 {
			lvl := "log"
			if i%5 == 0 {
				lvl = "error"
			}
			batch = append(batch, scriptlog.Entry{App: "kit", Level: lvl, Script: "item", Function: "beforeSave", Event: "beforeSave",
				Entity: "item", RecordID: fmt.Sprint("r", i%2), UserID: e.admin.ID, Line: i + 1, Message: fmt.Sprint("line ", i)})
		}
		batch = append(batch, scriptlog.Entry{App: "other", Message: "not kit's"})
		if err := sl.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}

		// All of it, newest first, in the documented shape.
		st, body := e.do("GET", scriptLogPath, nil)
		if st != 200 {
			t.Fatalf("list: %d %v", st, body)
		}
		its := items(t, body)
		if len(its) != 25 || body["next"] != nil {
			t.Fatalf("list: %d items, next %v", len(its), body["next"])
		}
		first := its[0]
		if str(first["message"]) != "line 24" || str(first["app"]) != "kit" || str(first["level"]) != "log" ||
			str(first["script"]) != "item" || str(first["function"]) != "beforeSave" || str(first["event"]) != "beforeSave" ||
			str(first["entity"]) != "item" || str(first["recordId"]) != "r0" || str(first["userId"]) != e.admin.ID ||
			num(t, first["line"]) != 25 || num(t, first["id"]) < 1 || str(first["at"]) == "" {
			t.Errorf("first item: %v", first)
		}

		// Paging with limit and before: every entry once, newest first.
		seen := map[int64]bool{}
		path := scriptLogPath + "?limit=10"
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			st, body := e.do("GET", path, nil)
			if st != 200 {
				t.Fatalf("%s: %d %v", path, st, body)
			}
			for _, it := range items(t, body) {
				id := num(t, it["id"])
				if seen[id] {
					t.Fatalf("id %d twice", id)
				}
				seen[id] = true
			}
			next, ok := body["next"].(string)
			if !ok {
				break
			}
			path = scriptLogPath + "?limit=10&before=" + q(next)
		}
		if len(seen) != 25 {
			t.Errorf("paged through %d entries, want 25", len(seen))
		}

		// Filters.
		for _, c := range []struct {
			query string
			want  int
		}{
			{"level=error", 5},
			{"level=error&record=r0", 3},
			{"script=item&entity=item", 25},
			{"script=nope", 0},
			{"record=r1", 12},
		} {
			st, body := e.do("GET", scriptLogPath+"?"+c.query, nil)
			if st != 200 || len(items(t, body)) != c.want {
				t.Errorf("?%s: %d, %d items, want %d", c.query, st, len(items(t, body)), c.want)
			}
		}

		// Delete: only this app's entries.
		st, body = e.do("DELETE", scriptLogPath, nil)
		if st != 200 || num(t, body["deleted"]) != 25 {
			t.Fatalf("delete: %d %v", st, body)
		}
		st, body = e.do("GET", scriptLogPath, nil)
		if st != 200 || len(items(t, body)) != 0 {
			t.Errorf("after delete: %d %v", st, body)
		}
		if es, _, err := sl.List(ctx, "other", scriptlog.Query{}); err != nil || len(es) != 1 {
			t.Errorf("delete of kit's log touched other's: %v %v", es, err)
		}
		st, body = e.do("DELETE", scriptLogPath, nil)
		if st != 200 || num(t, body["deleted"]) != 0 {
			t.Errorf("delete again: %d %v", st, body)
		}
	})
}

func TestScriptLogAPIRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, sl := scriptLogEnv(t, db)
		if err := sl.Write(context.Background(), []scriptlog.Entry{{App: "kit", Message: "secret-ish"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.acc.CreateUser(context.Background(), "rep@example.com", "rep password 123", "Rep", false); err != nil {
			t.Fatal(err)
		}
		rep := e.login("rep@example.com", "rep password 123")

		for _, m := range []string{"GET", "DELETE"} {
			st, body := e.doAs("", m, scriptLogPath, nil)
			wantErr(t, m+" unauthenticated", st, body, 401, "unauthorized")
			st, body = e.doAs(rep, m, scriptLogPath, nil)
			wantErr(t, m+" as a non-admin", st, body, 403, "forbidden")
			st, body = e.do(m, "/api/meta/apps/nope/scripts/log", nil)
			wantErr(t, m+" unknown app", st, body, 404, "not_found")
		}
		if es, _, _ := sl.List(context.Background(), "kit", scriptlog.Query{}); len(es) != 1 {
			t.Errorf("a refused delete deleted: %d entries left", len(es))
		}

		for _, bad := range []string{
			"limit=abc", "limit=-1", "limit=0", "limit=501", "limit=1.5",
			"before=abc", "before=-5", "before=0", "before=99999999999999999999",
			"level=fatal", "level=" + q(" error"), "level=" + q("error' OR '1'='1"),
		} {
			st, body := e.do("GET", scriptLogPath+"?"+bad, nil)
			wantErr(t, bad, st, body, 400, "invalid_query")
			if st == 400 {
				msg := str(body["error"].(map[string]any)["message"])
				if name := strings.SplitN(bad, "=", 2)[0]; !strings.Contains(msg, name) {
					t.Errorf("%s: message %q does not name %s", bad, msg, name)
				}
			}
		}
		if st, body := e.do("GET", scriptLogPath+"?limit=500&level=LOG", nil); st != 200 || len(items(t, body)) != 1 {
			t.Errorf("limit=500&level=LOG: %d %v", st, body)
		}
	})
}

// A server built without a script log answers 500 with a message, and
// creates nothing.
func TestScriptLogAPINotConfigured(t *testing.T) {
	db := storetest.SQLite(t)
	e := newEnv(t, db, kitApp)
	cat := store.NewCatalog(db)
	srv := &api.Server{DB: db, Catalog: cat, Access: e.acc, Records: records.New(db, cat),
		Log: slog.New(slog.NewTextHandler(testLog{t}, nil))} // no ScriptLog
	e.app = srv.New()
	for _, m := range []string{"GET", "DELETE"} {
		st, body := e.do(m, scriptLogPath, nil)
		wantErr(t, m, st, body, 500, "internal")
		if st == 500 && !strings.Contains(str(body["error"].(map[string]any)["message"]), "script log") {
			t.Errorf("%s: message %v", m, body)
		}
	}
}
