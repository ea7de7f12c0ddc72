package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// Migration tests with real data: each one fills tables, migrates, and checks
// the stored values afterwards, on SQLite and PostgreSQL.

const convV1 = `{"name": "cv", "entities": [
 {"name": "p", "fields": [{"id": "p1", "name": "label", "type": "text"}]},
 {"name": "t", "fields": [
  {"id": "f01", "name": "i2d", "type": "integer"},
  {"id": "f02", "name": "dup", "type": "decimal", "precision": 10, "scale": 2},
  {"id": "f03", "name": "d2t", "type": "decimal", "scale": 2},
  {"id": "f04", "name": "i2t", "type": "integer"},
  {"id": "f05", "name": "b2t", "type": "boolean"},
  {"id": "f06", "name": "dt2t", "type": "date"},
  {"id": "f07", "name": "ts2t", "type": "datetime"},
  {"id": "f08", "name": "d2ts", "type": "date"},
  {"id": "f09", "name": "s2m", "type": "select", "options": ["a", "b"]},
  {"id": "f10", "name": "t2s", "type": "text"},
  {"id": "f11", "name": "t2e", "type": "text"},
  {"id": "f12", "name": "t2u", "type": "text"},
  {"id": "f13", "name": "t2p", "type": "text"},
  {"id": "f14", "name": "r2t", "type": "ref", "entity": "p"},
  {"id": "f15", "name": "b2i", "type": "boolean"},
  {"id": "f16", "name": "calc", "type": "formula", "expr": "i2d * 2"},
  {"id": "f17", "name": "m2j", "type": "multiselect", "options": ["x", "y"]},
  {"id": "f18", "name": "lt", "type": "longtext"},
  {"id": "f19", "name": "keep", "type": "decimal", "precision": 6, "scale": 3}
 ]}]}`

// convV2 converts every field of t in one migration, none of them lossy.
const convV2 = `{"name": "cv", "entities": [
 {"name": "p", "fields": [{"id": "p1", "name": "label", "type": "text"}]},
 {"name": "t", "fields": [
  {"id": "f01", "name": "i2d", "type": "decimal"},
  {"id": "f02", "name": "dup", "type": "decimal", "precision": 12, "scale": 4},
  {"id": "f03", "name": "d2t", "type": "text"},
  {"id": "f04", "name": "i2t", "type": "text"},
  {"id": "f05", "name": "b2t", "type": "text"},
  {"id": "f06", "name": "dt2t", "type": "text"},
  {"id": "f07", "name": "ts2t", "type": "longtext"},
  {"id": "f08", "name": "d2ts", "type": "datetime"},
  {"id": "f09", "name": "s2m", "type": "multiselect", "options": ["a", "b", "c"]},
  {"id": "f10", "name": "t2s", "type": "select", "options": ["open", "closed"]},
  {"id": "f11", "name": "t2e", "type": "email"},
  {"id": "f12", "name": "t2u", "type": "url"},
  {"id": "f13", "name": "t2p", "type": "phone"},
  {"id": "f14", "name": "r2t", "type": "text"},
  {"id": "f15", "name": "b2i", "type": "integer"},
  {"id": "f16", "name": "calc", "type": "formula", "expr": "i2d * 2", "returns": "text"},
  {"id": "f17", "name": "m2j", "type": "json"},
  {"id": "f18", "name": "lt", "type": "text"},
  {"id": "f19", "name": "keep", "type": "decimal", "precision": 6, "scale": 3}
 ]}]}`

func TestConvertExactTypes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, convV1, store.ApplyOptions{})
		insert(t, db, "cv_p", "p1", "label", "one")
		insert(t, db, "cv_t", "r1",
			"i2d", 42, "dup", decV(db, "12.5", 2), "d2t", decV(db, "12.5", 2), "i2t", -7,
			"b2t", boolV(db, true), "dt2t", "2026-03-04", "ts2t", tsV(db, "2026-03-04T05:06:07.123456Z"),
			"d2ts", "2026-03-04", "s2m", "a", "t2s", "open", "t2e", "ann@example.com",
			"t2u", "https://example.com/p?q=1", "t2p", "+1 555-0100", "r2t", "p1", "b2i", boolV(db, true),
			"calc", decV(db, "84", 2), "m2j", `["x","y"]`, "lt", "long\ntext", "keep", decV(db, "-1.5", 3))
		insert(t, db, "cv_t", "r2",
			"i2d", -3, "dup", decV(db, "-0.05", 2), "d2t", decV(db, "-0.05", 2), "i2t", 0,
			"b2t", boolV(db, false), "dt2t", "1999-12-31", "ts2t", tsV(db, "1999-12-31T23:59:59Z"),
			"d2ts", "1999-12-31", "s2m", "b", "t2s", "closed", "t2e", "bob@example.org",
			"t2u", "http://example.org", "t2p", "55501", "b2i", boolV(db, false),
			"calc", decV(db, "-6", 2), "m2j", `[]`, "lt", "", "keep", decV(db, "0", 3))
		insert(t, db, "cv_t", "r3") // every field NULL

		p := apply(t, db, convV2, store.ApplyOptions{})
		if p.Destructive || len(p.Refused) > 0 {
			t.Fatalf("exact conversions planned as destructive or refused: %+v", p)
		}
		nul := "<nil>"
		expectColumn(t, db, "cv_t", "i2d", "dec:2", "42.00", "-3.00", nul)
		expectColumn(t, db, "cv_t", "dup", "dec:4", "12.5000", "-0.0500", nul)
		expectColumn(t, db, "cv_t", "d2t", "text", "12.50", "-0.05", nul)
		expectColumn(t, db, "cv_t", "i2t", "text", "-7", "0", nul)
		expectColumn(t, db, "cv_t", "b2t", "text", "true", "false", nul)
		expectColumn(t, db, "cv_t", "dt2t", "text", "2026-03-04", "1999-12-31", nul)
		expectColumn(t, db, "cv_t", "ts2t", "text", "2026-03-04T05:06:07.123456Z", "1999-12-31T23:59:59.000000Z", nul)
		expectColumn(t, db, "cv_t", "d2ts", "datetime", "2026-03-04T00:00:00.000000Z", "1999-12-31T00:00:00.000000Z", nul)
		expectColumn(t, db, "cv_t", "s2m", "json", `["a"]`, `["b"]`, nul)
		expectColumn(t, db, "cv_t", "t2s", "text", "open", "closed", nul)
		expectColumn(t, db, "cv_t", "t2e", "text", "ann@example.com", "bob@example.org", nul)
		expectColumn(t, db, "cv_t", "t2u", "text", "https://example.com/p?q=1", "http://example.org", nul)
		expectColumn(t, db, "cv_t", "t2p", "text", "+1 555-0100", "55501", nul)
		expectColumn(t, db, "cv_t", "r2t", "text", "p1", nul, nul)
		expectColumn(t, db, "cv_t", "b2i", "int", "1", "0", nul)
		expectColumn(t, db, "cv_t", "calc", "text", nul, nul, nul) // recomputed by the logic layer
		expectColumn(t, db, "cv_t", "m2j", "json", `["x","y"]`, `[]`, nul)
		expectColumn(t, db, "cv_t", "lt", "text", "long\ntext", "", nul)
		expectColumn(t, db, "cv_t", "keep", "dec:3", "-1.500", "0.000", nul)

		// The new column types take new values: 4 decimal places, text in
		// the former integer, and any string in the former ref (its foreign
		// key is gone).
		insert(t, db, "cv_t", "r4", "dup", decV(db, "1.2345", 4), "i2t", "not a number", "r2t", "no such record",
			"calc", "text now", "b2i", 7)
		expectColumn(t, db, "cv_t", "dup", "dec:4", "12.5000", "-0.0500", nul, "1.2345")
		expectColumn(t, db, "cv_t", "r2t", "text", "p1", nul, nul, "no such record")
		if hasIndex(t, db, "cv_t", false, "r2t") {
			t.Errorf("the ref's index survived its conversion to text: %q", indexDefs(t, db, "cv_t"))
		}
		if err := tryInsert(db, "cv_t", "r5", "s2m", `["c"]`); err != nil {
			t.Errorf("new option after select → multiselect: %v", err)
		}
		// The plan names each conversion.
		var alters int
		for _, s := range p.Steps {
			if s.Op == "alter_field" {
				alters++
			}
		}
		if alters != 18 {
			t.Errorf("plan has %d alter_field steps, want 18: %+v", alters, p.Steps)
		}
	})
}

const lossyV1 = `{"name": "lossy", "entities": [{"name": "t", "fields": [
  {"id": "a", "name": "amount", "type": "decimal", "scale": 4},
  {"id": "b", "name": "qty", "type": "decimal", "scale": 2},
  {"id": "c", "name": "at", "type": "datetime"},
  {"id": "d", "name": "note", "type": "text"}
 ]}]}`

const lossyV2 = `{"name": "lossy", "entities": [{"name": "t", "fields": [
  {"id": "a", "name": "amount", "type": "decimal", "scale": 2},
  {"id": "b", "name": "qty", "type": "integer"},
  {"id": "c", "name": "at", "type": "date"},
  {"id": "d", "name": "note", "type": "text"}
 ]}]}`

func TestConvertLossyTypes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		apply(t, db, lossyV1, store.ApplyOptions{})
		amounts := []string{"1.2350", "-1.2350", "1.2349", "-1.2349", "0.0050", "-0.0050", "99.9999", "7"}
		qtys := []string{"2.50", "-2.50", "2.49", "-2.49", "0.50", "-0.50", "100.00", "0"}
		ats := []string{"2026-03-04T23:59:59.999999Z", "2026-03-04T00:00:00Z", "1970-01-01T12:00:00Z", "2000-02-29T10:00:00Z",
			"2026-12-31T23:00:00Z", "2026-01-01T00:00:01Z", "2026-06-15T12:30:00Z", "2026-06-15T12:30:00Z"}
		for i := range amounts {
			insert(t, db, "lossy_t", fmt.Sprintf("r%d", i), "amount", decV(db, amounts[i], 4), "qty", decV(db, qtys[i], 2),
				"at", tsV(db, ats[i]), "note", "n")
		}
		insert(t, db, "lossy_t", "r9", "note", "all null")
		wantArchived := map[string]map[string]string{"amount": {}, "qty": {}}
		for i := range amounts {
			wantArchived["amount"][fmt.Sprintf("r%d", i)] = column(t, db, "lossy_t", "amount", "dec:4")[i]
			wantArchived["qty"][fmt.Sprintf("r%d", i)] = column(t, db, "lossy_t", "qty", "dec:2")[i]
		}

		// Without allowDestructive: one refusal per lossy field, at the
		// field, and nothing changes.
		before := snapshot(t, db)
		got := refused(t, db, lossyV2, store.ApplyOptions{})
		if len(got) != 3 || !strings.HasPrefix(got[0], "/entities/0/fields/0: ") ||
			!strings.HasPrefix(got[1], "/entities/0/fields/1: ") || !strings.HasPrefix(got[2], "/entities/0/fields/2: ") {
			t.Fatalf("refusals = %q", got)
		}
		for _, r := range got {
			if !strings.Contains(r, "allowDestructive") {
				t.Errorf("refusal %q does not say how to go ahead", r)
			}
		}
		expectUnchanged(t, db, before, "a refused lossy migration")
		dry, err := db.Apply(ctx, mustApp(t, lossyV2), store.ApplyOptions{DryRun: true})
		if err != nil || !dry.Destructive || len(dry.Refused) != 3 {
			t.Fatalf("dry run = %+v, %v", dry, err)
		}
		expectUnchanged(t, db, before, "a dry run")

		p := apply(t, db, lossyV2, store.ApplyOptions{AllowDestructive: true})
		if !p.Destructive || p.ToVersion != 2 {
			t.Fatalf("plan = %+v", p)
		}
		// Half away from zero, negatives included.
		expectColumn(t, db, "lossy_t", "amount", "dec:2", "1.24", "-1.24", "1.23", "-1.23", "0.01", "-0.01", "100.00", "7.00", "<nil>")
		expectColumn(t, db, "lossy_t", "qty", "int", "3", "-3", "2", "-2", "1", "-1", "100", "0", "<nil>")
		expectColumn(t, db, "lossy_t", "at", "date", "2026-03-04", "2026-03-04", "1970-01-01", "2000-02-29",
			"2026-12-31", "2026-01-01", "2026-06-15", "2026-06-15", "<nil>")
		expectColumn(t, db, "lossy_t", "note", "text", "n", "n", "n", "n", "n", "n", "n", "n", "all null")

		// The old values are archived, exactly.
		for _, field := range []string{"amount", "qty"} {
			a := archiveOf(t, db, "lossy", "t", field)
			if a.Version != 2 {
				t.Errorf("archive of %s is for version %d", field, a.Version)
			}
			got := archivedValues(t, db, a)
			if !mapsEqual(got, wantArchived[field]) {
				t.Errorf("archive of %s = %v, want %v", field, got, wantArchived[field])
			}
		}
		a := archiveOf(t, db, "lossy", "t", "at")
		if got := archivedValues(t, db, a); len(got) != 8 || !strings.HasPrefix(got["r0"], "2026-03-04") || !strings.Contains(got["r0"], "23:59:59") {
			t.Errorf("archive of at = %v", got)
		}
	})
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Conversions that only fit some data: checked against the stored values.
func TestConvertChecksData(t *testing.T) {
	const base = `{"name": "ck", "entities": [{"name": "t", "fields": [
  {"id": "i", "name": "count", "type": "integer"},
  {"id": "d", "name": "price", "type": "decimal", "precision": 10, "scale": 2},
  {"id": "e", "name": "small", "type": "decimal", "precision": 5, "scale": 2},
  {"id": "s", "name": "status", "type": "text"},
  {"id": "m", "name": "contact", "type": "text"},
  {"id": "u", "name": "site", "type": "text"},
  {"id": "p", "name": "tel", "type": "text"},
  {"id": "o", "name": "stage", "type": "select", "options": ["new", "won", "lost"]}
 ]}]}`
	with := func(id, def string) string {
		start := strings.Index(base, `{"id": "`+id+`"`)
		end := start + strings.Index(base[start:], "}") + 1
		return base[:start] + def + base[end:]
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, base, store.ApplyOptions{})
		insert(t, db, "ck_t", "r1", "count", 1000, "price", decV(db, "12345.67", 2), "small", decV(db, "999.99", 2),
			"status", "open", "contact", "ann@example.com", "site", "https://example.com", "tel", "+1 555 0100", "stage", "won")
		insert(t, db, "ck_t", "r2", "count", -999, "price", decV(db, "-0.01", 2), "small", decV(db, "1.00", 2),
			"status", "bogus", "contact", "not an email", "site", "ftp://example.com", "tel", "call me", "stage", "lost")
		insert(t, db, "ck_t", "r3")

		// integer → decimal(5,2) leaves 3 digits before the point: 1000 does not fit.
		expectRefusal(t, db, with("i", `{"id": "i", "name": "count", "type": "decimal", "precision": 5, "scale": 2}`),
			store.ApplyOptions{}, "/entities/0/fields/0", "1 record holds", "3 digits")
		// decimal(10,2) → decimal(6,2): 12345.67 has 5 digits before the point.
		expectRefusal(t, db, with("d", `{"id": "d", "name": "price", "type": "decimal", "precision": 6, "scale": 2}`),
			store.ApplyOptions{}, "/entities/0/fields/1", "4 digits")
		// decimal(5,2) → decimal(4,1): 999.99 rounds to 1000.0, which needs 4 digits.
		expectRefusal(t, db, with("e", `{"id": "e", "name": "small", "type": "decimal", "precision": 4, "scale": 1}`),
			store.ApplyOptions{AllowDestructive: true}, "/entities/0/fields/2", "3 digits")
		// text → select: "bogus" is not an option.
		expectRefusal(t, db, with("s", `{"id": "s", "name": "status", "type": "select", "options": ["open", "closed"]}`),
			store.ApplyOptions{}, "/entities/0/fields/3", `"bogus"`, "not one of the options")
		// text → email / url / phone: the bad value is quoted.
		expectRefusal(t, db, with("m", `{"id": "m", "name": "contact", "type": "email"}`),
			store.ApplyOptions{}, "/entities/0/fields/4", `"not an email"`, "email address")
		expectRefusal(t, db, with("u", `{"id": "u", "name": "site", "type": "url"}`),
			store.ApplyOptions{}, "/entities/0/fields/5", `"ftp://example.com"`, "URL")
		expectRefusal(t, db, with("p", `{"id": "p", "name": "tel", "type": "phone"}`),
			store.ApplyOptions{}, "/entities/0/fields/6", `"call me"`, "phone")
		// select losing an option that records hold.
		expectRefusal(t, db, with("o", `{"id": "o", "name": "stage", "type": "select", "options": ["new", "won"]}`),
			store.ApplyOptions{}, "/entities/0/fields/7", `"lost"`)
		// select → multiselect whose options miss a stored value.
		expectRefusal(t, db, with("o", `{"id": "o", "name": "stage", "type": "multiselect", "options": ["new", "won"]}`),
			store.ApplyOptions{}, "/entities/0/fields/7", `"lost"`)

		// Once the data fits, the same changes go through.
		exec(t, db, `UPDATE ck_t SET count = 999, status = 'closed', contact = 'bob@example.com', site = 'http://example.org', tel = '555 0101', stage = 'won' WHERE id = 'r2'`)
		exec(t, db, `UPDATE ck_t SET count = 998 WHERE id = 'r1'`)
		exec(t, db, `UPDATE ck_t SET price = ? WHERE id = 'r1'`, decV(db, "1234.56", 2))
		exec(t, db, `UPDATE ck_t SET small = ? WHERE id = 'r1'`, decV(db, "999.94", 2))
		all := strings.NewReplacer(
			`{"id": "i", "name": "count", "type": "integer"}`, `{"id": "i", "name": "count", "type": "decimal", "precision": 5, "scale": 2}`,
			`"name": "price", "type": "decimal", "precision": 10`, `"name": "price", "type": "decimal", "precision": 6`,
			`"name": "small", "type": "decimal", "precision": 5, "scale": 2`, `"name": "small", "type": "decimal", "precision": 4, "scale": 1`,
			`"name": "status", "type": "text"`, `"name": "status", "type": "select", "options": ["open", "closed"]`,
			`"name": "contact", "type": "text"`, `"name": "contact", "type": "email"`,
			`"name": "site", "type": "text"`, `"name": "site", "type": "url"`,
			`"name": "tel", "type": "text"`, `"name": "tel", "type": "phone"`,
			`"options": ["new", "won", "lost"]`, `"options": ["new", "won"]`,
		).Replace(base)
		apply(t, db, all, store.ApplyOptions{AllowDestructive: true})
		expectColumn(t, db, "ck_t", "count", "dec:2", "998.00", "999.00", "<nil>")
		expectColumn(t, db, "ck_t", "price", "dec:2", "1234.56", "-0.01", "<nil>")
		expectColumn(t, db, "ck_t", "small", "dec:1", "999.9", "1.0", "<nil>")
		expectColumn(t, db, "ck_t", "status", "text", "open", "closed", "<nil>")
		expectColumn(t, db, "ck_t", "contact", "text", "ann@example.com", "bob@example.com", "<nil>")
		if v := currentVersion(t, db, "ck"); v != 2 {
			t.Fatalf("version = %d", v)
		}
	})
}

// Conversions Forma refuses outright, whatever the data.
func TestConvertRefused(t *testing.T) {
	const base = `{"name": "rf", "entities": [
 {"name": "a", "fields": [{"id": "a1", "name": "name", "type": "text"}]},
 {"name": "b", "fields": [{"id": "b1", "name": "name", "type": "text"}]},
 {"name": "t", "fields": [
  {"id": "f0", "name": "code", "type": "text"},
  {"id": "f1", "name": "owner_a", "type": "ref", "entity": "a"},
  {"id": "f2", "name": "label", "type": "text"},
  {"id": "f3", "name": "seq", "type": "integer"},
  {"id": "f4", "name": "data", "type": "json"}
 ]}]}`
	cases := []struct{ name, from, to, path, words string }{
		{"text→integer", `"name": "code", "type": "text"`, `"name": "code", "type": "integer"`, "/entities/2/fields/0/type", "cannot convert a text field to integer"},
		{"ref target", `"entity": "a"}`, `"entity": "b"}`, "/entities/2/fields/1/entity", "cannot change its target entity"},
		{"text→ref", `"name": "label", "type": "text"`, `"name": "label", "type": "ref", "entity": "a"`, "/entities/2/fields/2/type", "cannot become a ref"},
		{"integer→autonumber", `"name": "seq", "type": "integer"`, `"name": "seq", "type": "autonumber"`, "/entities/2/fields/3/type", "cannot become an autonumber"},
		{"json→multiselect", `"name": "data", "type": "json"`, `"name": "data", "type": "multiselect", "options": ["x"]`, "/entities/2/fields/4/type", "cannot convert a json field to multiselect"},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, base, store.ApplyOptions{})
		insert(t, db, "rf_a", "a1", "name", "A")
		insert(t, db, "rf_b", "a1", "name", "B, same id as an a")
		insert(t, db, "rf_t", "t1", "code", "12", "owner_a", "a1", "label", "a1", "seq", 5, "data", `["x"]`)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				doc := strings.Replace(base, c.from, c.to, 1)
				if doc == base {
					t.Fatal("replacement did not apply")
				}
				// Refused even with allowDestructive: no conversion exists.
				expectRefusal(t, db, doc, store.ApplyOptions{AllowDestructive: true}, c.path, c.words)
			})
		}
		if v := currentVersion(t, db, "rf"); v != 1 {
			t.Fatalf("version = %d", v)
		}
	})
}

// Renames keep data, indexes, foreign keys and autonumber counters.
func TestRenames(t *testing.T) {
	const v1 = `{"name": "rn", "entities": [
 {"id": "E1", "name": "account", "fields": [
   {"id": "a1", "name": "name", "type": "text", "unique": true},
   {"id": "a2", "name": "city", "type": "text"},
   {"id": "a9", "name": "parent", "type": "ref", "entity": "account", "onDelete": "setNull"}
 ], "indexes": [{"fields": ["city", "name"]}]},
 {"id": "E2", "name": "deal", "fields": [
   {"id": "d1", "name": "title", "type": "text"},
   {"id": "d2", "name": "account", "type": "ref", "entity": "account", "onDelete": "cascade"}
 ]}]}`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, v1, store.ApplyOptions{})
		insert(t, db, "rn_account", "a1", "name", "Acme", "city", "Oslo")
		insert(t, db, "rn_account", "a2", "name", "Globex", "city", "Rome")
		insert(t, db, "rn_deal", "d1", "title", "Big", "account", "a1")

		// v2 adds an autonumber: existing rows numbered 1..n in id order.
		v2 := strings.Replace(v1, `{"id": "a2", "name": "city", "type": "text"}`,
			`{"id": "a2", "name": "city", "type": "text"}, {"id": "a3", "name": "no", "type": "autonumber"}`, 1)
		apply(t, db, v2, store.ApplyOptions{})
		expectColumn(t, db, "rn_account", "no", "int", "1", "2")
		if got := sequence(t, db, "rn_account.a3"); got != "2" {
			t.Fatalf("counter after backfill = %s", got)
		}

		// v3: field rename name → title, entity rename account → customer
		// (the deal's ref follows the new name).
		v3 := strings.NewReplacer(
			`"name": "name", "type": "text", "unique": true`, `"name": "title", "type": "text", "unique": true`,
			`"fields": ["city", "name"]`, `"fields": ["city", "title"]`,
			`"id": "E1", "name": "account"`, `"id": "E1", "name": "customer"`,
			`"entity": "account"`, `"entity": "customer"`,
		).Replace(v2)
		p := apply(t, db, v3, store.ApplyOptions{})
		if p.Destructive || len(p.Refused) > 0 {
			t.Fatalf("renames planned as %+v", p)
		}
		if hasTable(t, db, "rn_account") || !hasTable(t, db, "rn_customer") {
			t.Fatalf("tables after rename: %v", tableNames(t, db))
		}
		expectColumn(t, db, "rn_customer", "title", "text", "Acme", "Globex")
		expectColumn(t, db, "rn_customer", "city", "text", "Oslo", "Rome")
		expectColumn(t, db, "rn_customer", "no", "int", "1", "2")
		if slices.Contains(columnNames(t, db, "rn_customer"), "name") {
			t.Fatalf("old column name survived: %v", columnNames(t, db, "rn_customer"))
		}
		// The unique index still refuses duplicates under the new name.
		if err := tryInsert(db, "rn_customer", "a3", "title", "Acme"); err == nil {
			t.Fatal("unique field accepted a duplicate after the rename")
		}
		if !hasIndex(t, db, "rn_customer", true, "title") || !hasIndex(t, db, "rn_customer", false, "city", "title") {
			t.Fatalf("indexes after rename: %q", indexDefs(t, db, "rn_customer"))
		}
		// The autonumber counter followed the table.
		if got := sequence(t, db, "rn_customer.a3"); got != "2" {
			t.Fatalf("counter after rename = %s", got)
		}
		if got := sequence(t, db, "rn_account.a3"); got != "<none>" {
			t.Fatalf("old counter still there: %s", got)
		}
		if got := nextNumber(t, db, "rn_customer.a3"); got != "3" {
			t.Fatalf("next number after rename = %s", got)
		}
		// Refs to the renamed entity work and are enforced.
		insert(t, db, "rn_customer", "a4", "title", "Initech", "no", 3)
		insert(t, db, "rn_deal", "d2", "title", "New", "account", "a4")
		if err := tryInsert(db, "rn_deal", "d3", "title", "Orphan", "account", "missing"); err == nil {
			t.Fatal("a deal pointing at a missing customer was accepted after the rename")
		}
		// The self ref followed the rename too.
		exec(t, db, `UPDATE rn_customer SET parent = 'a1' WHERE id = 'a2'`)
		mustFail(t, db, "self ref to a missing customer", `UPDATE rn_customer SET parent = 'missing' WHERE id = 'a2'`)
		exec(t, db, `DELETE FROM rn_customer WHERE id = 'a1'`) // cascade still declared
		expectColumn(t, db, "rn_customer", "parent", "text", "<nil>", "<nil>")
		expectColumn(t, db, "rn_deal", "title", "text", "New")
		if v := currentVersion(t, db, "rn"); v != 3 {
			t.Fatalf("version = %d", v)
		}
	})
}

// A rename together with changes to the same field or entity: checks read
// the data under the old names, steps write under the new ones.
func TestRenameWithOtherChanges(t *testing.T) {
	const v1 = `{"name": "rw", "entities": [
 {"id": "E1", "name": "item", "fields": [
   {"id": "i1", "name": "status", "type": "text"},
   {"id": "i2", "name": "qty", "type": "integer"},
   {"id": "i3", "name": "notes", "type": "text"},
   {"id": "i4", "name": "code", "type": "text"}
 ]}]}`
	const v2 = `{"name": "rw", "entities": [
 {"id": "E1", "name": "product", "fields": [
   {"id": "i1", "name": "state", "type": "select", "options": ["on", "off"]},
   {"id": "i2", "name": "quantity", "type": "decimal", "precision": 6, "scale": 2},
   {"id": "i4", "name": "sku", "type": "text", "unique": true},
   {"id": "i5", "name": "no", "type": "autonumber"}
 ]}]}`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, v1, store.ApplyOptions{})
		insert(t, db, "rw_item", "r1", "status", "on", "qty", 5, "notes", "keep me", "code", "X")
		insert(t, db, "rw_item", "r2", "status", "bad", "qty", 12345, "code", "X")

		// Every check sees the data: a bad option, a value too large, a
		// duplicate for the new unique field.
		got := refused(t, db, v2, store.ApplyOptions{AllowDestructive: true})
		if len(got) != 3 {
			t.Fatalf("refusals = %q, want 3 (option, range, unique)", got)
		}
		for i, w := range []string{`"bad"`, "digits", "more than once"} {
			if !strings.Contains(strings.Join(got, "\n"), w) {
				t.Errorf("refusals %q miss %s (#%d)", got, w, i)
			}
		}
		exec(t, db, `UPDATE rw_item SET status = 'off', qty = 12, code = 'Y' WHERE id = 'r2'`)
		before := snapshot(t, db)
		if _, err := db.Apply(context.Background(), mustApp(t, v2), store.ApplyOptions{}); err == nil {
			t.Fatal("dropping notes without allowDestructive went through")
		}
		expectUnchanged(t, db, before, "a refused drop in a renamed entity")
		apply(t, db, v2, store.ApplyOptions{AllowDestructive: true})
		expectColumn(t, db, "rw_product", "state", "text", "on", "off")
		expectColumn(t, db, "rw_product", "quantity", "dec:2", "5.00", "12.00")
		expectColumn(t, db, "rw_product", "sku", "text", "X", "Y")
		expectColumn(t, db, "rw_product", "no", "int", "1", "2")
		if got := archivedValues(t, db, archiveOf(t, db, "rw", "product", "notes")); !mapsEqual(got, map[string]string{"r1": "keep me"}) {
			t.Errorf("archived notes = %v", got)
		}
		if err := tryInsert(db, "rw_product", "r3", "sku", "X"); err == nil {
			t.Error("duplicate sku accepted")
		}
	})
}

// Two fields swapping names, and a dropped field's name taken by a renamed one.
func TestRenameSwapAndReuseNames(t *testing.T) {
	const v1 = `{"name": "sw", "entities": [{"name": "t", "fields": [
   {"id": "x", "name": "first", "type": "text"},
   {"id": "y", "name": "last", "type": "text"},
   {"id": "z", "name": "old", "type": "text"},
   {"id": "w", "name": "fresh", "type": "integer"}
 ]}]}`
	const v2 = `{"name": "sw", "entities": [{"name": "t", "fields": [
   {"id": "x", "name": "last", "type": "text"},
   {"id": "y", "name": "first", "type": "text"},
   {"id": "w", "name": "old", "type": "integer"}
 ]}]}`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, v1, store.ApplyOptions{})
		insert(t, db, "sw_t", "r1", "first", "Ada", "last", "Lovelace", "old", "gone", "fresh", 7)
		apply(t, db, v2, store.ApplyOptions{AllowDestructive: true})
		expectColumn(t, db, "sw_t", "last", "text", "Ada")
		expectColumn(t, db, "sw_t", "first", "text", "Lovelace")
		expectColumn(t, db, "sw_t", "old", "int", "7")
		if got := archivedValues(t, db, archiveOf(t, db, "sw", "t", "old")); !mapsEqual(got, map[string]string{"r1": "gone"}) {
			t.Errorf("archive of the dropped field = %v", got)
		}
	})
}

// Entities swapping names, and a dropped entity's name taken by a new one.
func TestEntityNamesReused(t *testing.T) {
	const v1 = `{"name": "en", "entities": [
 {"id": "A", "name": "lead", "fields": [{"id": "f", "name": "x", "type": "text"}]},
 {"id": "B", "name": "contact", "fields": [{"id": "f", "name": "x", "type": "text"}]},
 {"id": "C", "name": "memo", "fields": [{"id": "f", "name": "x", "type": "text"}, {"id": "n", "name": "no", "type": "autonumber"}]}]}`
	const v2 = `{"name": "en", "entities": [
 {"id": "A", "name": "contact", "fields": [{"id": "f", "name": "x", "type": "text"}]},
 {"id": "B", "name": "lead", "fields": [{"id": "f", "name": "x", "type": "text"}]},
 {"id": "D", "name": "memo", "fields": [{"id": "f", "name": "y", "type": "text"}, {"id": "n", "name": "no", "type": "autonumber"}]}]}`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, v1, store.ApplyOptions{})
		insert(t, db, "en_lead", "l1", "x", "was lead")
		insert(t, db, "en_contact", "c1", "x", "was contact")
		insert(t, db, "en_memo", "m1", "x", "old memo", "no", 1)
		if got := nextNumber(t, db, "en_memo.n"); got != "1" {
			t.Fatalf("counter = %s", got)
		}
		apply(t, db, v2, store.ApplyOptions{AllowDestructive: true})
		expectColumn(t, db, "en_contact", "x", "text", "was lead")
		expectColumn(t, db, "en_lead", "x", "text", "was contact")
		if n := count(t, db, "en_memo", ""); n != 0 {
			t.Fatalf("new memo table holds %d rows", n)
		}
		if got := archiveOf(t, db, "en", "memo", ""); got.Rows != 1 {
			t.Fatalf("archive of old memo = %+v", got)
		}
		// The new memo entity numbers from 1 again: the dropped entity's
		// counter went with it.
		if got := nextNumber(t, db, "en_memo.n"); got != "1" {
			t.Fatalf("new entity's first number = %s", got)
		}
	})
}

const dropV1 = `{"name": "dr", "entities": [
 {"name": "top", "fields": [{"id": "t1", "name": "name", "type": "text"}]},
 {"name": "mid", "fields": [
   {"id": "m1", "name": "name", "type": "text", "unique": true},
   {"id": "m2", "name": "top", "type": "ref", "entity": "top"},
   {"id": "m3", "name": "notes", "type": "text"},
   {"id": "m4", "name": "amount", "type": "decimal", "scale": 2}
 ], "indexes": [{"fields": ["amount"]}]},
 {"name": "bottom", "fields": [
   {"id": "b1", "name": "mid", "type": "ref", "entity": "mid"},
   {"id": "b2", "name": "label", "type": "text"}
 ]},
 {"name": "gone", "fields": [{"id": "g1", "name": "name", "type": "text"}, {"id": "g2", "name": "qty", "type": "integer"}]}]}`

func fillDrop(t *testing.T, db *store.DB) {
	t.Helper()
	apply(t, db, dropV1, store.ApplyOptions{})
	insert(t, db, "dr_top", "t1", "name", "T1")
	insert(t, db, "dr_mid", "m1", "name", "M1", "top", "t1", "notes", "first", "amount", decV(db, "1.50", 2))
	insert(t, db, "dr_mid", "m2", "name", "M2", "top", "t1", "amount", decV(db, "-2.25", 2))
	insert(t, db, "dr_mid", "m3", "name", "M3", "notes", "third")
	insert(t, db, "dr_bottom", "b1", "mid", "m1", "label", "x")
	insert(t, db, "dr_bottom", "b2", "mid", "m2", "label", "y")
	insert(t, db, "dr_gone", "g1", "name", "G1", "qty", 1)
	insert(t, db, "dr_gone", "g2", "name", "G2")
}

func TestDropFieldArchives(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fillDrop(t, db)
		v2 := strings.Replace(dropV1, `{"id": "m3", "name": "notes", "type": "text"},`, "", 1)
		v2 = strings.Replace(v2, `{"id": "m4", "name": "amount", "type": "decimal", "scale": 2}
 ], "indexes": [{"fields": ["amount"]}]}`, `{"id": "m5", "name": "extra", "type": "text"}]}`, 1)
		// Refused without allowDestructive, at the dropped fields (paths into
		// the old document), and nothing changes.
		before := snapshot(t, db)
		got := refused(t, db, v2, store.ApplyOptions{})
		if len(got) != 2 || !strings.HasPrefix(got[0], "/entities/1/fields/2: ") || !strings.HasPrefix(got[1], "/entities/1/fields/3: ") {
			t.Fatalf("refusals = %q", got)
		}
		expectUnchanged(t, db, before, "a refused drop")

		apply(t, db, v2, store.ApplyOptions{AllowDestructive: true})
		cols := columnNames(t, db, "dr_mid")
		if slices.Contains(cols, "notes") || slices.Contains(cols, "amount") || !slices.Contains(cols, "extra") {
			t.Fatalf("columns after drop = %v", cols)
		}
		if got := archivedValues(t, db, archiveOf(t, db, "dr", "mid", "notes")); !mapsEqual(got, map[string]string{"m1": "first", "m3": "third"}) {
			t.Errorf("archived notes = %v", got)
		}
		// Decimals are archived as their exact value on both dialects.
		if got := archivedValues(t, db, archiveOf(t, db, "dr", "mid", "amount")); !mapsEqual(got, map[string]string{"m1": "1.50", "m2": "-2.25"}) {
			t.Errorf("archived amounts = %v", got)
		}
		if hasIndex(t, db, "dr_mid", false, "amount") {
			t.Errorf("index on the dropped field survived")
		}
		expectColumn(t, db, "dr_mid", "name", "text", "M1", "M2", "M3")
		expectColumn(t, db, "dr_mid", "top", "text", "t1", "t1", "<nil>")
	})
}

func TestDropEntityArchivesRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fillDrop(t, db)
		v2 := strings.Replace(dropV1, `,
 {"name": "gone", "fields": [{"id": "g1", "name": "name", "type": "text"}, {"id": "g2", "name": "qty", "type": "integer"}]}`, "", 1)
		expectRefusal(t, db, v2, store.ApplyOptions{}, "/entities/3", "drop entity gone", "allowDestructive")
		apply(t, db, v2, store.ApplyOptions{AllowDestructive: true})
		if hasTable(t, db, "dr_gone") {
			t.Fatal("dropped table survived")
		}
		a := archiveOf(t, db, "dr", "gone", "")
		if a.Rows != 2 {
			t.Fatalf("archive = %+v", a)
		}
		if got := queryStrings(t, db, `SELECT id || ':' || name || ':' || COALESCE(CAST(qty AS TEXT), '-') FROM `+store.Quote(a.Table)+` ORDER BY id`); !slices.Equal(got, []string{"g1:G1:1", "g2:G2:-"}) {
			t.Fatalf("archived rows = %v", got)
		}
	})
}

// Dropping a ref field rebuilds the table on SQLite: every other column, the
// indexes and other tables' refs to it must survive.
func TestDropRefFieldKeepsEverythingElse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fillDrop(t, db)
		v2 := strings.Replace(dropV1, `{"id": "m2", "name": "top", "type": "ref", "entity": "top"},`, "", 1)
		apply(t, db, v2, store.ApplyOptions{AllowDestructive: true})
		if slices.Contains(columnNames(t, db, "dr_mid"), "top") {
			t.Fatal("ref column survived")
		}
		expectColumn(t, db, "dr_mid", "name", "text", "M1", "M2", "M3")
		expectColumn(t, db, "dr_mid", "notes", "text", "first", "<nil>", "third")
		expectColumn(t, db, "dr_mid", "amount", "dec:2", "1.50", "-2.25", "<nil>")
		if got := archivedValues(t, db, archiveOf(t, db, "dr", "mid", "top")); !mapsEqual(got, map[string]string{"m1": "t1", "m2": "t1"}) {
			t.Errorf("archived refs = %v", got)
		}
		if !hasIndex(t, db, "dr_mid", true, "name") || !hasIndex(t, db, "dr_mid", false, "amount") {
			t.Fatalf("indexes after rebuild: %q", indexDefs(t, db, "dr_mid"))
		}
		if err := tryInsert(db, "dr_mid", "m9", "name", "M1"); err == nil {
			t.Fatal("unique name not enforced after rebuild")
		}
		// bottom still points at mid, enforced both ways.
		expectColumn(t, db, "dr_bottom", "mid", "text", "m1", "m2")
		if err := tryInsert(db, "dr_bottom", "b9", "mid", "missing"); err == nil {
			t.Fatal("bottom → missing mid accepted after mid was rebuilt")
		}
		insert(t, db, "dr_bottom", "b3", "mid", "m3")
		mustFail(t, db, "restrict after rebuild", `DELETE FROM dr_mid WHERE id = 'm1'`)
		// top can now be deleted: nothing points at it.
		exec(t, db, `DELETE FROM dr_top WHERE id = 't1'`)
	})
}

// An entity and the ref field pointing at it dropped in one document.
func TestDropReferencedEntity(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		fillDrop(t, db)
		v2 := strings.Replace(dropV1, `{"name": "top", "fields": [{"id": "t1", "name": "name", "type": "text"}]},`, "", 1)
		v2 = strings.Replace(v2, `{"id": "m2", "name": "top", "type": "ref", "entity": "top"},`, "", 1)
		before := snapshot(t, db)
		got := refused(t, db, v2, store.ApplyOptions{})
		if len(got) != 2 {
			t.Fatalf("refusals = %q", got)
		}
		expectUnchanged(t, db, before, "a refused drop")
		apply(t, db, v2, store.ApplyOptions{AllowDestructive: true})
		if hasTable(t, db, "dr_top") {
			t.Fatal("dr_top survived")
		}
		if a := archiveOf(t, db, "dr", "top", ""); a.Rows != 1 {
			t.Fatalf("archive of top = %+v", a)
		}
		expectColumn(t, db, "dr_mid", "name", "text", "M1", "M2", "M3")
		if err := tryInsert(db, "dr_bottom", "b9", "mid", "missing"); err == nil {
			t.Fatal("bottom → missing mid accepted")
		}
	})
}

func TestCreateRefCyclesAndOnDelete(t *testing.T) {
	const v1 = `{"name": "cr", "entities": [
 {"name": "a", "fields": [
   {"id": "a1", "name": "b", "type": "ref", "entity": "b"},
   {"id": "a2", "name": "parent", "type": "ref", "entity": "a", "onDelete": "setNull"},
   {"id": "a3", "name": "name", "type": "text"}
 ]},
 {"name": "b", "fields": [{"id": "b1", "name": "a", "type": "ref", "entity": "a", "onDelete": "cascade"}]},
 {"name": "kid", "fields": [
   {"id": "k1", "name": "cascade", "type": "ref", "entity": "p", "onDelete": "cascade"},
   {"id": "k2", "name": "setnull", "type": "ref", "entity": "p", "onDelete": "setNull"},
   {"id": "k3", "name": "restrict", "type": "ref", "entity": "p", "onDelete": "restrict"},
   {"id": "k4", "name": "dflt", "type": "ref", "entity": "p"}
 ]},
 {"name": "p", "fields": [{"id": "p1", "name": "name", "type": "text"}]}]}`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, v1, store.ApplyOptions{})
		// The cycle a ↔ b and the self ref a.parent exist and are enforced.
		insert(t, db, "cr_a", "a1", "name", "root")
		insert(t, db, "cr_a", "a2", "name", "child", "parent", "a1")
		insert(t, db, "cr_b", "b1", "a", "a1")
		exec(t, db, `UPDATE cr_a SET b = 'b1' WHERE id = 'a1'`)
		if err := tryInsert(db, "cr_a", "a9", "b", "missing"); err == nil {
			t.Fatal("a.b → missing accepted")
		}
		if err := tryInsert(db, "cr_b", "b9", "a", "missing"); err == nil {
			t.Fatal("b.a → missing accepted")
		}
		if err := tryInsert(db, "cr_a", "a9", "parent", "missing"); err == nil {
			t.Fatal("a.parent → missing accepted")
		}
		for _, col := range []string{"b", "parent"} {
			if !hasIndex(t, db, "cr_a", false, col) {
				t.Errorf("no index on cr_a.%s: %q", col, indexDefs(t, db, "cr_a"))
			}
		}
		// a1 is referenced by b1 (cascade) and a2.parent (setNull); b1 by a1.b (restrict).
		mustFail(t, db, "restrict a.b", `DELETE FROM cr_b WHERE id = 'b1'`)
		exec(t, db, `UPDATE cr_a SET b = NULL WHERE id = 'a1'`)
		exec(t, db, `DELETE FROM cr_a WHERE id = 'a1'`)
		expectColumn(t, db, "cr_a", "parent", "text", "<nil>")
		if n := count(t, db, "cr_b", ""); n != 0 {
			t.Fatalf("cascade left %d b rows", n)
		}

		// onDelete as declared.
		for _, id := range []string{"p1", "p2", "p3", "p4"} {
			insert(t, db, "cr_p", id, "name", id)
		}
		insert(t, db, "cr_kid", "k1", "cascade", "p1", "setnull", "p2")
		insert(t, db, "cr_kid", "k2", "setnull", "p2")
		insert(t, db, "cr_kid", "k3", "restrict", "p3")
		insert(t, db, "cr_kid", "k4", "dflt", "p4")
		exec(t, db, `DELETE FROM cr_p WHERE id = 'p1'`)
		expectColumn(t, db, "cr_kid", "setnull", "text", "p2", "<nil>", "<nil>")
		exec(t, db, `DELETE FROM cr_p WHERE id = 'p2'`)
		expectColumn(t, db, "cr_kid", "setnull", "text", "<nil>", "<nil>", "<nil>")
		mustFail(t, db, "restrict", `DELETE FROM cr_p WHERE id = 'p3'`)
		mustFail(t, db, "default restrict", `DELETE FROM cr_p WHERE id = 'p4'`)

		// restrict → cascade on an existing ref, with data in place.
		v2 := strings.Replace(v1, `"name": "restrict", "type": "ref", "entity": "p", "onDelete": "restrict"`,
			`"name": "restrict", "type": "ref", "entity": "p", "onDelete": "cascade"`, 1)
		apply(t, db, v2, store.ApplyOptions{})
		expectColumn(t, db, "cr_kid", "restrict", "text", "<nil>", "p3", "<nil>")
		exec(t, db, `DELETE FROM cr_p WHERE id = 'p3'`)
		expectColumn(t, db, "cr_kid", "dflt", "text", "<nil>", "p4")
		mustFail(t, db, "untouched restrict", `DELETE FROM cr_p WHERE id = 'p4'`)
		if err := tryInsert(db, "cr_kid", "k9", "restrict", "missing"); err == nil {
			t.Fatal("kid.restrict → missing accepted after the onDelete change")
		}
		if !hasIndex(t, db, "cr_kid", false, "restrict") {
			t.Errorf("ref index lost: %q", indexDefs(t, db, "cr_kid"))
		}
		if isPG(db) {
			if n := queryStrings(t, db, `SELECT CAST(COUNT(*) AS TEXT) FROM pg_constraint WHERE contype = 'f' AND conrelid = to_regclass('cr_kid')`)[0]; n != "4" {
				t.Errorf("cr_kid has %s foreign keys, want 4", n)
			}
		}
	})
}

// New entities that ref each other, added to an existing app.
func TestAddRefCycleToExistingApp(t *testing.T) {
	const v1 = `{"name": "cy", "entities": [{"name": "base", "fields": [{"id": "x", "name": "name", "type": "text"}]}]}`
	const v2 = `{"name": "cy", "entities": [{"name": "base", "fields": [{"id": "x", "name": "name", "type": "text"}]},
 {"name": "lhs", "fields": [{"id": "l", "name": "rhs", "type": "ref", "entity": "rhs"}, {"id": "b", "name": "base", "type": "ref", "entity": "base"}]},
 {"name": "rhs", "fields": [{"id": "r", "name": "lhs", "type": "ref", "entity": "lhs", "onDelete": "setNull"}]}]}`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, v1, store.ApplyOptions{})
		insert(t, db, "cy_base", "b1", "name", "B")
		apply(t, db, v2, store.ApplyOptions{})
		insert(t, db, "cy_lhs", "l1", "base", "b1")
		insert(t, db, "cy_rhs", "r1", "lhs", "l1")
		exec(t, db, `UPDATE cy_lhs SET rhs = 'r1' WHERE id = 'l1'`)
		if err := tryInsert(db, "cy_lhs", "l2", "rhs", "missing"); err == nil {
			t.Fatal("lhs.rhs → missing accepted")
		}
		if !hasIndex(t, db, "cy_lhs", false, "rhs") || !hasIndex(t, db, "cy_rhs", false, "lhs") || !hasIndex(t, db, "cy_lhs", false, "base") {
			t.Fatalf("ref indexes: %q %q", indexDefs(t, db, "cy_lhs"), indexDefs(t, db, "cy_rhs"))
		}
		mustFail(t, db, "restrict rhs", `DELETE FROM cy_rhs WHERE id = 'r1'`)
		mustFail(t, db, "restrict base", `DELETE FROM cy_base WHERE id = 'b1'`)
		exec(t, db, `UPDATE cy_lhs SET rhs = NULL`)
		exec(t, db, `DELETE FROM cy_lhs WHERE id = 'l1'`)
		expectColumn(t, db, "cy_rhs", "lhs", "text", "<nil>")
	})
}

func TestUniqueAndIndexes(t *testing.T) {
	const v1 = `{"name": "uq", "entities": [{"name": "t", "fields": [
   {"id": "e", "name": "email", "type": "email"},
   {"id": "r", "name": "region", "type": "text"},
   {"id": "n", "name": "n", "type": "integer"}
 ]}]}`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, v1, store.ApplyOptions{})
		for i, e := range []string{"a@x.io", "a@x.io", "b@x.io", "b@x.io", "b@x.io", "c@x.io"} {
			insert(t, db, "uq_t", fmt.Sprintf("r%d", i), "email", e, "region", "north", "n", i)
		}
		insert(t, db, "uq_t", "r8") // NULLs never clash
		insert(t, db, "uq_t", "r9")
		v2 := strings.Replace(v1, `"name": "email", "type": "email"`, `"name": "email", "type": "email", "unique": true`, 1)
		expectRefusal(t, db, v2, store.ApplyOptions{}, "/entities/0/fields/0/unique", "email", "2 values occur more than once")
		exec(t, db, `DELETE FROM uq_t WHERE id IN ('r1', 'r3', 'r4')`)
		apply(t, db, v2, store.ApplyOptions{})
		if !hasIndex(t, db, "uq_t", true, "email") {
			t.Fatalf("indexes: %q", indexDefs(t, db, "uq_t"))
		}
		if err := tryInsert(db, "uq_t", "r10", "email", "c@x.io"); err == nil {
			t.Fatal("duplicate accepted")
		}
		insert(t, db, "uq_t", "r11", "email", "d@x.io")

		// Declared indexes: a composite one and a unique one.
		v3 := strings.Replace(v2, `]}]}`, `], "indexes": [{"fields": ["region", "n"]}, {"fields": ["n"], "unique": true}]}]}`, 1)
		apply(t, db, v3, store.ApplyOptions{})
		// A declared index also gets its owner-led twin for row rules.
		if !hasIndex(t, db, "uq_t", false, "region", "n", "id") || !hasIndex(t, db, "uq_t", false, "owner", "region", "n", "id") || !hasIndex(t, db, "uq_t", true, "n") {
			t.Fatalf("indexes: %q", indexDefs(t, db, "uq_t"))
		}
		if isPG(db) {
			if got := queryStrings(t, db, `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'uq_t' AND indexdef LIKE '%region%'`); len(got) != 2 {
				t.Fatalf("pg_indexes = %v", got)
			}
		} else if got := queryStrings(t, db, `SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'uq_t' AND sql LIKE '%region%'`); len(got) != 2 {
			t.Fatalf("sqlite_master = %v", got)
		}
		if err := tryInsert(db, "uq_t", "r12", "n", 0); err == nil {
			t.Fatal("unique index on n not enforced")
		}
		// A declared unique index the data breaks points at the index.
		exec(t, db, `UPDATE uq_t SET region = 'south'`)
		v4 := strings.Replace(v3, `"indexes": [`, `"indexes": [{"fields": ["region"], "unique": true}, `, 1)
		expectRefusal(t, db, v4, store.ApplyOptions{}, "/entities/0/indexes/0", "region", "1 value occurs more than once")
		// A lossy conversion can make two values one: refused as duplicates
		// while planning, not as a failed step.
		v5 := strings.Replace(v3, `{"id": "n", "name": "n", "type": "integer"}`, `{"id": "n", "name": "n", "type": "integer"}, {"id": "p", "name": "price", "type": "decimal", "scale": 3, "unique": true}`, 1)
		apply(t, db, v5, store.ApplyOptions{})
		exec(t, db, `UPDATE uq_t SET price = ? WHERE id = 'r0'`, decV(db, "1.004", 3))
		exec(t, db, `UPDATE uq_t SET price = ? WHERE id = 'r2'`, decV(db, "1.001", 3))
		v6 := strings.Replace(v5, `"scale": 3, "unique": true`, `"scale": 2, "unique": true`, 1)
		expectRefusal(t, db, v6, store.ApplyOptions{AllowDestructive: true}, "/entities/0/fields/3/unique", "price", "1 value occurs more than once")
		exec(t, db, `UPDATE uq_t SET price = ? WHERE id = 'r2'`, decV(db, "1.006", 3))
		apply(t, db, v6, store.ApplyOptions{AllowDestructive: true})
		expectColumn(t, db, "uq_t", "id", "text", "r0", "r11", "r2", "r5", "r8", "r9")
		expectColumn(t, db, "uq_t", "price", "dec:2", "1.00", "<nil>", "1.01", "<nil>", "<nil>", "<nil>")
		if err := tryInsert(db, "uq_t", "r14", "price", decV(db, "1.01", 2)); err == nil {
			t.Fatal("unique price not enforced after conversion")
		}

		// And removing them drops them.
		apply(t, db, v1, store.ApplyOptions{AllowDestructive: true})
		if hasIndex(t, db, "uq_t", true, "email") || hasIndex(t, db, "uq_t", false, "region") || hasIndex(t, db, "uq_t", true, "n") {
			t.Fatalf("indexes after removal: %q", indexDefs(t, db, "uq_t"))
		}
		insert(t, db, "uq_t", "r13", "email", "d@x.io", "n", 0)
	})
}

func TestAddAutoNumberNumbersExistingRows(t *testing.T) {
	const v1 = `{"name": "an", "entities": [{"name": "t", "fields": [
   {"id": "a", "name": "name", "type": "text"},
   {"id": "b", "name": "amount", "type": "integer"}]}]}`
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apply(t, db, v1, store.ApplyOptions{})
		// Inserted out of id order: numbering follows id order.
		for _, id := range []string{"r3", "r1", "r5", "r2", "r4"} {
			insert(t, db, "an_t", id, "name", id, "amount", 1)
		}
		v2 := strings.Replace(v1, `{"id": "a", "name": "name", "type": "text"},`,
			`{"id": "a", "name": "name", "type": "text"}, {"id": "n", "name": "no", "type": "autonumber"},`, 1)
		apply(t, db, v2, store.ApplyOptions{})
		expectColumn(t, db, "an_t", "no", "int", "1", "2", "3", "4", "5")
		if got := sequence(t, db, "an_t.n"); got != "5" {
			t.Fatalf("counter = %s", got)
		}
		if got := nextNumber(t, db, "an_t.n"); got != "6" {
			t.Fatalf("next = %s", got)
		}
		// An autonumber added in the same migration as a conversion (a
		// table rebuild on SQLite).
		v3 := strings.Replace(v2, `{"id": "b", "name": "amount", "type": "integer"}`,
			`{"id": "b", "name": "amount", "type": "decimal"}, {"id": "m", "name": "no2", "type": "autonumber"}`, 1)
		apply(t, db, v3, store.ApplyOptions{})
		expectColumn(t, db, "an_t", "no2", "int", "1", "2", "3", "4", "5")
		expectColumn(t, db, "an_t", "no", "int", "1", "2", "3", "4", "5")
		expectColumn(t, db, "an_t", "amount", "dec:2", "1.00", "1.00", "1.00", "1.00", "1.00")
		if got := sequence(t, db, "an_t.m"); got != "5" {
			t.Fatalf("counter = %s", got)
		}
		// Dropping an autonumber archives its numbers and forgets its counter.
		v4 := strings.Replace(v3, `{"id": "n", "name": "no", "type": "autonumber"},`, "", 1)
		apply(t, db, v4, store.ApplyOptions{AllowDestructive: true})
		if got := archivedValues(t, db, archiveOf(t, db, "an", "t", "no")); len(got) != 5 || got["r1"] != "1" || got["r5"] != "5" {
			t.Fatalf("archived numbers = %v", got)
		}
		if got := sequence(t, db, "an_t.n"); got != "<none>" {
			t.Fatalf("counter of the dropped field = %s", got)
		}
	})
}

func TestTableNameClash(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		apply(t, db, `{"name": "a_b", "entities": [{"name": "c", "fields": [{"id": "x", "name": "x", "type": "text"}]}]}`, store.ApplyOptions{})
		insert(t, db, "a_b_c", "r1", "x", "mine")
		expectRefusal(t, db, `{"name": "a", "entities": [{"name": "ok", "fields": [{"id": "y", "name": "y", "type": "text"}]},
			{"name": "b_c", "fields": [{"id": "y", "name": "y", "type": "integer"}]}]}`,
			store.ApplyOptions{}, "/entities/1/name", "a_b_c already exists")
		if _, err := db.Document(ctx, "a", 0); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("refused app was stored: %v", err)
		}
		if hasTable(t, db, "a_ok") {
			t.Fatal("refused app created a table")
		}
		// Renaming an entity onto another app's table is refused too.
		apply(t, db, `{"name": "a", "entities": [{"id": "E", "name": "ok", "fields": [{"id": "y", "name": "y", "type": "text"}]}]}`, store.ApplyOptions{})
		expectRefusal(t, db, `{"name": "a", "entities": [{"id": "E", "name": "b_c", "fields": [{"id": "y", "name": "y", "type": "text"}]}]}`,
			store.ApplyOptions{}, "/entities/0/name", "a_b_c already exists")
		expectColumn(t, db, "a_b_c", "x", "text", "mine")
	})
}

func TestStaleAndConcurrentApply(t *testing.T) {
	const base = `{"name": "cc", "entities": [{"name": "t", "fields": [{"id": "a", "name": "a", "type": "text"}]}]}`
	withField := func(i int) string {
		return strings.Replace(base, `]}]}`, fmt.Sprintf(`, {"id": "f%d", "name": "f%d", "type": "integer"}]}]}`, i, i), 1)
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		// Installing the same app concurrently: one wins. A loser either
		// raced it (ErrStale) or came after it and is refused, since its
		// document would drop the winner's field.
		const n = 4
		errs := race(n, func(i int) error {
			_, err := db.Apply(ctx, mustApp(t, withField(i)), store.ApplyOptions{})
			var re *store.RefusedError
			if errors.As(err, &re) {
				return store.ErrStale
			}
			return err
		})
		expectOneWinner(t, errs)
		// The same document installed concurrently: all succeed, one version.
		const same = `{"name": "cc2", "entities": [{"name": "t", "fields": [{"id": "a", "name": "a", "type": "text"}]}]}`
		errs = race(n, func(i int) error {
			_, err := db.Apply(ctx, mustApp(t, same), store.ApplyOptions{})
			return err
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, store.ErrStale) {
				t.Errorf("concurrent install of one document: %v", err)
			}
		}
		if vs, err := db.Versions(ctx, "cc2"); err != nil || len(vs) != 1 {
			t.Fatalf("versions of cc2 = %v, %v", vs, err)
		}
		versions := func() []int {
			vs, err := db.Versions(ctx, "cc")
			if err != nil {
				t.Fatal(err)
			}
			var out []int
			for _, v := range vs {
				out = append(out, v.Version)
			}
			slices.Sort(out)
			return out
		}
		if got := versions(); !slices.Equal(got, []int{1}) {
			t.Fatalf("versions after install race = %v", got)
		}

		// A document edited from an old version is stale.
		apply(t, db, base, store.ApplyOptions{AllowDestructive: true})
		if _, err := db.Apply(ctx, mustApp(t, withField(9)), store.ApplyOptions{BaseVersion: 1}); !errors.Is(err, store.ErrStale) {
			t.Fatalf("apply from version 1 at version 2: %v", err)
		}
		apply(t, db, withField(9), store.ApplyOptions{BaseVersion: 2, AllowDestructive: true})
		// An install of a new app (New) that finds the app there is stale,
		// whatever it holds, and changes nothing.
		if _, err := db.Apply(ctx, mustApp(t, withField(8)), store.ApplyOptions{New: true, AllowDestructive: true}); !errors.Is(err, store.ErrStale) {
			t.Fatalf("a new install over an installed app: %v", err)
		}
		if v := currentVersion(t, db, "cc"); v != 3 {
			t.Fatalf("version %d after a refused new install", v)
		}

		// Rounds of concurrent applies from the same version.
		for round := 0; round < 3; round++ {
			from := currentVersion(t, db, "cc")
			errs := race(n, func(i int) error {
				_, err := db.Apply(ctx, mustApp(t, withField(10*round+i)), store.ApplyOptions{BaseVersion: from, AllowDestructive: true})
				return err
			})
			expectOneWinner(t, errs)
			for _, err := range errs {
				if err != nil && !errors.Is(err, store.ErrStale) {
					t.Errorf("loser's error = %v, want ErrStale", err)
				}
			}
		}
		want := []int{1, 2, 3, 4, 5, 6}
		if got := versions(); !slices.Equal(got, want) {
			t.Fatalf("versions = %v, want %v", got, want)
		}
		// The table matches the last document: one extra column.
		if cols := columnNames(t, db, "cc_t"); len(cols) != 8 {
			t.Fatalf("columns = %v", cols)
		}
	})
}

// race runs fn n times at once and returns the errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = fn(i)
		}()
	}
	start.Done()
	done.Wait()
	return errs
}

func expectOneWinner(t *testing.T, errs []error) {
	t.Helper()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else if !errors.Is(err, store.ErrStale) {
			t.Errorf("loser's error = %v, want ErrStale", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent applies won: %v", wins, len(errs), errs)
	}
}

const atomV1 = `{"name": "at", "entities": [
 {"id": "E1", "name": "account", "fields": [
   {"id": "a1", "name": "name", "type": "text", "unique": true},
   {"id": "a2", "name": "notes", "type": "text"},
   {"id": "a3", "name": "amount", "type": "integer"},
   {"id": "a4", "name": "no", "type": "autonumber"}
 ]},
 {"id": "E2", "name": "deal", "fields": [
   {"id": "d1", "name": "account", "type": "ref", "entity": "account"},
   {"id": "d2", "name": "stage", "type": "select", "options": ["new", "won"]}
 ]}]}`

// atomV2 renames an entity (and the ref to it), drops a field, converts two
// types, adds an entity and a field.
const atomV2 = `{"name": "at", "entities": [
 {"id": "E1", "name": "customer", "fields": [
   {"id": "a1", "name": "name", "type": "text", "unique": true},
   {"id": "a3", "name": "amount", "type": "decimal", "scale": 2},
   {"id": "a4", "name": "no", "type": "autonumber"},
   {"id": "a5", "name": "tier", "type": "text"}
 ]},
 {"id": "E2", "name": "deal", "fields": [
   {"id": "d1", "name": "account", "type": "ref", "entity": "customer"},
   {"id": "d2", "name": "stage", "type": "multiselect", "options": ["new", "won"]}
 ]},
 {"id": "E3", "name": "contact", "fields": [
   {"id": "c1", "name": "customer", "type": "ref", "entity": "customer"},
   {"id": "c2", "name": "email", "type": "email", "unique": true}
 ]}]}`

func fillAtom(t *testing.T, db *store.DB) {
	t.Helper()
	apply(t, db, atomV1, store.ApplyOptions{})
	insert(t, db, "at_account", "a1", "name", "Acme", "notes", "call back", "amount", 10, "no", 1)
	insert(t, db, "at_account", "a2", "name", "Globex", "amount", -5, "no", 2)
	exec(t, db, `INSERT INTO _forma_sequences (name, value) VALUES ('at_account.a4', 2)`)
	insert(t, db, "at_deal", "d1", "account", "a1", "stage", "won")
	// An earlier destructive change left an archive: it must stay as is.
	apply(t, db, strings.Replace(atomV1, `,
   {"id": "d2", "name": "stage", "type": "select", "options": ["new", "won"]}`, `,
   {"id": "d2", "name": "stage", "type": "select", "options": ["new", "won"]},
   {"id": "d3", "name": "tmp", "type": "text"}`, 1), store.ApplyOptions{})
	exec(t, db, `UPDATE at_deal SET tmp = 'x'`)
	apply(t, db, atomV1, store.ApplyOptions{AllowDestructive: true})
}

func TestFailedMigrationChangesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fillAtom(t, db)
		if len(archivesOf(t, db, "at")) != 1 {
			t.Fatalf("archives before = %+v", archivesOf(t, db, "at"))
		}
		before := snapshot(t, db)
		version := currentVersion(t, db, "at")

		restore := store.FailAtLastStep()
		_, err := db.Apply(ctx, mustApp(t, atomV2), store.ApplyOptions{AllowDestructive: true})
		restore()
		var se *store.StepError
		if !errors.As(err, &se) {
			t.Fatalf("apply with a failing last step: %v", err)
		}
		expectUnchanged(t, db, before, "a failed migration")
		if v := currentVersion(t, db, "at"); v != version {
			t.Fatalf("version %d → %d", version, v)
		}
		// The connection that ran the migration is back in the pool with
		// foreign keys on: every pooled connection enforces them.
		for i := 0; i < 10; i++ {
			if err := tryInsert(db, "at_deal", fmt.Sprintf("x%d", i), "account", "missing"); err == nil {
				t.Fatal("foreign keys off after a failed migration")
			}
		}

		// Then the same migration succeeds and does all of it.
		apply(t, db, atomV2, store.ApplyOptions{AllowDestructive: true})
		expectColumn(t, db, "at_customer", "amount", "dec:2", "10.00", "-5.00")
		expectColumn(t, db, "at_customer", "no", "int", "1", "2")
		expectColumn(t, db, "at_deal", "stage", "json", `["won"]`)
		if got := archivedValues(t, db, archiveOf(t, db, "at", "customer", "notes")); !mapsEqual(got, map[string]string{"a1": "call back"}) {
			t.Errorf("archived notes = %v", got)
		}
		if got := sequence(t, db, "at_customer.a4"); got != "2" {
			t.Errorf("counter = %s", got)
		}
		insert(t, db, "at_contact", "c1", "customer", "a2", "email", "x@y.io")
		if err := tryInsert(db, "at_contact", "c2", "customer", "missing"); err == nil {
			t.Fatal("contact → missing customer accepted")
		}
		if err := tryInsert(db, "at_deal", "d9", "account", "missing"); err == nil {
			t.Fatal("deal → missing customer accepted")
		}
	})
}

// Every step of the migration may be the one that fails.
func TestFailureAtEveryStep(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fillAtom(t, db)
		before := snapshot(t, db)
		dry, err := db.Apply(ctx, mustApp(t, atomV2), store.ApplyOptions{AllowDestructive: true, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		for k := range dry.Steps {
			restore := store.FailAtStep(k)
			_, err := db.Apply(ctx, mustApp(t, atomV2), store.ApplyOptions{AllowDestructive: true})
			restore()
			if err == nil {
				t.Fatalf("failing step %d: apply succeeded", k)
			}
			expectUnchanged(t, db, before, fmt.Sprintf("a migration failing at step %d (%s)", k, dry.Steps[k].Description))
		}
	})
}

func TestReapplyAndDryRunChangeNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fillAtom(t, db)
		before := snapshot(t, db)
		version := currentVersion(t, db, "at")

		p, err := db.Apply(ctx, mustApp(t, atomV1), store.ApplyOptions{AllowDestructive: true})
		if err != nil || len(p.Steps) != 0 || p.ToVersion != version || p.FromVersion != version {
			t.Fatalf("re-apply = %+v, %v", p, err)
		}
		expectUnchanged(t, db, before, "re-applying the same document")

		p, err = db.Apply(ctx, mustApp(t, atomV2), store.ApplyOptions{AllowDestructive: true, DryRun: true})
		if err != nil || len(p.Steps) == 0 || p.ToVersion != version+1 || len(p.Refused) > 0 {
			t.Fatalf("dry run = %+v, %v", p, err)
		}
		for _, s := range p.Steps {
			if len(s.SQL) == 0 && s.Op != "alter_field" && s.Op != "drop_field" && s.Op != "backfill" && s.Op != "add_field" {
				t.Errorf("step %+v shows no SQL", s)
			}
		}
		p, err = db.Apply(ctx, mustApp(t, atomV2), store.ApplyOptions{DryRun: true})
		if err != nil || len(p.Refused) == 0 {
			t.Fatalf("dry run without allowDestructive = %+v, %v", p, err)
		}
		expectUnchanged(t, db, before, "a dry run")

		// After a real apply, re-applying v2 is a no-op too.
		apply(t, db, atomV2, store.ApplyOptions{AllowDestructive: true})
		after := snapshot(t, db)
		p, err = db.Apply(ctx, mustApp(t, atomV2), store.ApplyOptions{})
		if err != nil || len(p.Steps) != 0 || p.ToVersion != version+1 {
			t.Fatalf("re-apply v2 = %+v, %v", p, err)
		}
		expectUnchanged(t, db, after, "re-applying v2")
	})
}
