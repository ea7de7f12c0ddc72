package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/store"
)

// Helpers for the migration tests: writing rows the way each dialect stores
// them, reading them back in one canonical text form, and snapshotting a
// whole database to prove that a migration changed nothing.

func isPG(db *store.DB) bool { return db.Dialect.Name() == "postgres" }

// stamp is a created_at/updated_at value as the dialect stores it.
func stamp(db *store.DB) any {
	if isPG(db) {
		return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return "2026-01-01T00:00:00.000000Z"
}

// decV is a decimal as the dialect stores it: a string for PostgreSQL's
// numeric, the integer scaled by 10^scale for SQLite.
func decV(db *store.DB, s string, scale int) any {
	if isPG(db) {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, fp, _ := strings.Cut(s, ".")
	for len(fp) < scale {
		fp += "0"
	}
	if len(fp) > scale {
		panic("decV: too many decimals in " + s)
	}
	n, err := strconv.ParseInt(ip+fp, 10, 64)
	if err != nil {
		panic(err)
	}
	if neg {
		n = -n
	}
	return n
}

// tsV is a datetime as the dialect stores it.
func tsV(db *store.DB, s string) any {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	if isPG(db) {
		return tm.UTC()
	}
	return tm.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// boolV is a boolean as the dialect stores it.
func boolV(db *store.DB, b bool) any {
	if isPG(db) {
		return b
	}
	if b {
		return int64(1)
	}
	return int64(0)
}

// insertSQL builds an INSERT of one record with its system columns.
func insertSQL(db *store.DB, table, id string, kv []any) (string, []any) {
	cols := []string{"id", "created_at", "updated_at", "version"}
	args := []any{id, stamp(db), stamp(db), 1}
	for i := 0; i < len(kv); i += 2 {
		cols = append(cols, kv[i].(string))
		args = append(args, kv[i+1])
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = store.Quote(c)
	}
	return db.Rebind(fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", store.Quote(table), strings.Join(quoted, ", "), marks)), args
}

// insert adds a record: kv is column, value, column, value….
func insert(t *testing.T, db *store.DB, table, id string, kv ...any) {
	t.Helper()
	if err := tryInsert(db, table, id, kv...); err != nil {
		t.Fatalf("insert %s %s: %v", table, id, err)
	}
}

func tryInsert(db *store.DB, table, id string, kv ...any) error {
	q, args := insertSQL(db, table, id, kv)
	_, err := db.SQL.Exec(q, args...)
	return err
}

// mustFail runs a statement that the database must reject.
func mustFail(t *testing.T, db *store.DB, what, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL.Exec(db.Rebind(q), args...); err == nil {
		t.Fatalf("%s: the database accepted %s", what, q)
	}
}

func count(t *testing.T, db *store.DB, table, where string, args ...any) int {
	t.Helper()
	q := "SELECT CAST(COUNT(*) AS TEXT) FROM " + store.Quote(table)
	if where != "" {
		q += " WHERE " + where
	}
	n, err := strconv.Atoi(queryStrings(t, db, q, args...)[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// column reads one column of a table in id order, in a canonical text form
// that is the same on both dialects ("<nil>" for NULL). kind is how the
// column is stored: text, int, dec:<scale>, bool, date, datetime, json.
func column(t *testing.T, db *store.DB, table, col, kind string) []string {
	t.Helper()
	c := store.Quote(col)
	expr := "CAST(" + c + " AS TEXT)"
	switch {
	case kind == "datetime" && isPG(db):
		expr = "to_char(" + c + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
	}
	vals := queryStrings(t, db, "SELECT "+expr+" FROM "+store.Quote(table)+" ORDER BY "+store.Quote("id"))
	for i, v := range vals {
		if v == "<nil>" {
			continue
		}
		switch {
		case kind == "bool" && !isPG(db):
			vals[i] = map[string]string{"1": "true", "0": "false"}[v]
		case strings.HasPrefix(kind, "dec:") && !isPG(db):
			scale, _ := strconv.Atoi(strings.TrimPrefix(kind, "dec:"))
			vals[i] = scaledText(v, scale)
		case kind == "json":
			var b bytes.Buffer
			if err := json.Compact(&b, []byte(v)); err != nil {
				t.Fatalf("%s.%s holds %q: %v", table, col, v, err)
			}
			vals[i] = b.String()
		}
	}
	return vals
}

// scaledText writes SQLite's scaled integer as a decimal with scale places.
func scaledText(v string, scale int) string {
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	if scale > 0 {
		for len(v) <= scale {
			v = "0" + v
		}
		v = v[:len(v)-scale] + "." + v[len(v)-scale:]
	}
	if neg {
		v = "-" + v
	}
	return v
}

func expectColumn(t *testing.T, db *store.DB, table, col, kind string, want ...string) {
	t.Helper()
	if got := column(t, db, table, col, kind); !slices.Equal(got, want) {
		t.Errorf("%s.%s = %q, want %q", table, col, got, want)
	}
}

func tableNames(t *testing.T, db *store.DB) []string {
	t.Helper()
	if isPG(db) {
		return queryStrings(t, db, `SELECT CAST(tablename AS TEXT) FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1`)
	}
	return queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1`)
}

func hasTable(t *testing.T, db *store.DB, table string) bool {
	t.Helper()
	return slices.Contains(tableNames(t, db), table)
}

// columnNames lists a table's columns in order.
func columnNames(t *testing.T, db *store.DB, table string) []string {
	t.Helper()
	if isPG(db) {
		return queryStrings(t, db, `SELECT CAST(column_name AS TEXT) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table)
	}
	return queryStrings(t, db, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
}

// indexDefs lists a table's indexes with their definitions (columns and
// uniqueness), sorted.
func indexDefs(t *testing.T, db *store.DB, table string) []string {
	t.Helper()
	if isPG(db) {
		return queryStrings(t, db, `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = ? ORDER BY indexname`, table)
	}
	return queryStrings(t, db, `SELECT name || ' ' || COALESCE(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name`, table)
}

// hasIndex reports whether table has an index (unique or not, as asked)
// whose leading columns are exactly cols. On SQLite it reads pragma
// index_info, which names real columns only: SQLite takes a double-quoted
// name that is no column for a string literal, so an index "on" a missing
// column would otherwise look fine.
func hasIndex(t *testing.T, db *store.DB, table string, unique bool, cols ...string) bool {
	t.Helper()
	type index struct {
		unique bool
		cols   []string
	}
	var found []index
	if isPG(db) {
		for _, def := range indexDefs(t, db, table) {
			open := strings.Index(def, "(")
			var got []string
			for _, part := range strings.Split(strings.TrimSuffix(def[open+1:], ")"), ",") {
				got = append(got, strings.Trim(strings.TrimSuffix(strings.TrimSpace(part), " NULLS FIRST"), `"`))
			}
			found = append(found, index{strings.Contains(def, "UNIQUE"), got})
		}
	} else {
		for _, name := range queryStrings(t, db, `SELECT name FROM pragma_index_list(?) ORDER BY name`, table) {
			u := queryStrings(t, db, `SELECT CAST("unique" AS TEXT) FROM pragma_index_list(?) WHERE name = ?`, table, name)[0] == "1"
			found = append(found, index{u, queryStrings(t, db, `SELECT COALESCE(name, '<expr>') FROM pragma_index_info(?) ORDER BY seqno`, name)})
		}
	}
	for _, ix := range found {
		if ix.unique == unique && len(ix.cols) >= len(cols) && slices.Equal(ix.cols[:len(cols)], cols) {
			return true
		}
	}
	return false
}

// snapshot describes everything a migration could touch: every table (app
// tables, archives and the _forma_ system tables) with its definition,
// indexes, constraints and every row.
func snapshot(t *testing.T, db *store.DB) string {
	t.Helper()
	var b strings.Builder
	for _, table := range tableNames(t, db) {
		fmt.Fprintf(&b, "table %s\n", table)
		if isPG(db) {
			for _, c := range queryStrings(t, db, `SELECT column_name || ' ' || data_type || COALESCE('(' || numeric_precision || ',' || numeric_scale || ')', '') || ' ' || is_nullable
				FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`, table) {
				fmt.Fprintf(&b, "  column %s\n", c)
			}
			for _, c := range queryStrings(t, db, `SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(?) ORDER BY conname`, store.Quote(table)) {
				fmt.Fprintf(&b, "  constraint %s\n", c)
			}
		} else {
			for _, c := range queryStrings(t, db, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table) {
				fmt.Fprintf(&b, "  sql %s\n", c)
			}
		}
		for _, ix := range indexDefs(t, db, table) {
			fmt.Fprintf(&b, "  index %s\n", ix)
		}
		for _, r := range dumpRows(t, db, table) {
			fmt.Fprintf(&b, "  row %s\n", r)
		}
	}
	return b.String()
}

// dumpRows formats every row of a table, sorted.
func dumpRows(t *testing.T, db *store.DB, table string) []string {
	t.Helper()
	q := "SELECT * FROM " + store.Quote(table)
	rows, err := db.SQL.Query(q)
	if err != nil && strings.Contains(err.Error(), "0A000") {
		// pgx caches prepared statements per connection; the first run of a
		// cached "SELECT *" after its table changed shape fails with
		// "cached plan must not change result type" and drops the entry.
		// (A known issue for the statement-cache work, not a migration bug.)
		rows, err = db.SQL.Query(q)
	}
	if err != nil {
		t.Fatalf("dump %s: %v", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			switch x := v.(type) {
			case []byte:
				v = string(x)
			case time.Time:
				v = x.UTC().Format(time.RFC3339Nano)
			}
			parts[i] = fmt.Sprintf("%s=%v", cols[i], v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// expectUnchanged fails when the database differs from the snapshot before.
func expectUnchanged(t *testing.T, db *store.DB, before, what string) {
	t.Helper()
	after := snapshot(t, db)
	if after == before {
		return
	}
	bl, al := strings.Split(before, "\n"), strings.Split(after, "\n")
	var diff []string
	for _, l := range bl {
		if !slices.Contains(al, l) {
			diff = append(diff, "- "+l)
		}
	}
	for _, l := range al {
		if !slices.Contains(bl, l) {
			diff = append(diff, "+ "+l)
		}
	}
	t.Fatalf("%s changed the database:\n%s", what, strings.Join(diff, "\n"))
}

// refused applies doc and expects a refusal; it returns the refusals.
func refused(t *testing.T, db *store.DB, doc string, opts store.ApplyOptions) []string {
	t.Helper()
	p, err := db.Apply(context.Background(), mustApp(t, doc), opts)
	var re *store.RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("apply: err = %v, want a refusal (plan %+v)", err, p)
	}
	if re.Plan == nil || len(re.Plan.Refused) == 0 {
		t.Fatalf("refusal without reasons: %+v", re.Plan)
	}
	out := make([]string, len(re.Plan.Refused))
	for i, r := range re.Plan.Refused {
		out[i] = r.Path + ": " + r.Message
	}
	return out
}

// expectRefusal applies doc, expects exactly one refusal at path whose
// message holds every one of words, and that nothing changed.
func expectRefusal(t *testing.T, db *store.DB, doc string, opts store.ApplyOptions, path string, words ...string) {
	t.Helper()
	before := snapshot(t, db)
	got := refused(t, db, doc, opts)
	if len(got) != 1 || !strings.HasPrefix(got[0], path+": ") {
		t.Fatalf("refusals = %q, want one at %s", got, path)
	}
	for _, w := range words {
		if !strings.Contains(got[0], w) {
			t.Errorf("refusal %q does not mention %q", got[0], w)
		}
	}
	expectUnchanged(t, db, before, "a refused migration")
}

// archiveInfo is one row of _forma_archives.
type archiveInfo struct {
	Entity, Field, Table string
	Version, Rows        int
}

func archivesOf(t *testing.T, db *store.DB, app string) []archiveInfo {
	t.Helper()
	rows, err := db.SQL.Query(db.Rebind(`SELECT entity, COALESCE(field, ''), archive_table, version, rows FROM _forma_archives WHERE app = ? ORDER BY entity, field`), app)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []archiveInfo
	for rows.Next() {
		var a archiveInfo
		if err := rows.Scan(&a.Entity, &a.Field, &a.Table, &a.Version, &a.Rows); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// archiveOf finds the archive of entity.field (field "" for a whole entity).
func archiveOf(t *testing.T, db *store.DB, app, entity, field string) archiveInfo {
	t.Helper()
	var found []archiveInfo
	for _, a := range archivesOf(t, db, app) {
		if a.Entity == entity && a.Field == field {
			found = append(found, a)
		}
	}
	if len(found) != 1 {
		t.Fatalf("archives of %s.%s = %+v, want one", entity, field, found)
	}
	return found[0]
}

// archivedValues reads a field archive as record id → value text.
func archivedValues(t *testing.T, db *store.DB, a archiveInfo) map[string]string {
	t.Helper()
	out := map[string]string{}
	rows, err := db.SQL.Query(`SELECT record_id, CAST(value AS TEXT) FROM ` + store.Quote(a.Table))
	if err != nil {
		t.Fatalf("read archive %s: %v", a.Table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		out[id] = v
	}
	if len(out) != a.Rows {
		t.Errorf("archive %s holds %d rows, _forma_archives says %d", a.Table, len(out), a.Rows)
	}
	return out
}

func currentVersion(t *testing.T, db *store.DB, app string) int {
	t.Helper()
	doc, err := db.Document(context.Background(), app, 0)
	if err != nil {
		t.Fatalf("document %s: %v", app, err)
	}
	return doc.Version
}

func sequence(t *testing.T, db *store.DB, name string) string {
	t.Helper()
	got := queryStrings(t, db, `SELECT CAST(value AS TEXT) FROM _forma_sequences WHERE name = ?`, name)
	if len(got) == 0 {
		return "<none>"
	}
	return got[0]
}

// nextNumber takes the next value of an autonumber counter the way the
// records layer does.
func nextNumber(t *testing.T, db *store.DB, name string) string {
	t.Helper()
	return queryStrings(t, db, `INSERT INTO _forma_sequences (name, value) VALUES (?, 1)
		ON CONFLICT (name) DO UPDATE SET value = _forma_sequences.value + 1 RETURNING CAST(value AS TEXT)`, name)[0]
}
