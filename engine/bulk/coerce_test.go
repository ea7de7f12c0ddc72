package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/formaapp/forma/schema"
)

const testApp = `{
  "name": "crm",
  "entities": [
    {"id": "e1", "name": "account", "label": "Account", "fields": [
      {"id": "a1", "name": "name", "type": "text", "unique": true, "required": true}
    ]},
    {"id": "e2", "name": "deal", "label": "Deal", "labels": {"zh-CN": "商机"}, "fields": [
      {"id": "d1", "name": "title", "label": "Title", "labels": {"zh-CN": "标题"}, "type": "text", "required": true, "maxLength": 20},
      {"id": "d2", "name": "qty", "label": "Quantity", "labels": {"zh-CN": "数量"}, "type": "integer"},
      {"id": "d3", "name": "amount", "label": "Amount", "labels": {"zh-CN": "金额"}, "type": "decimal", "scale": 2},
      {"id": "d4", "name": "won", "type": "boolean"},
      {"id": "d5", "name": "due", "label": "Due date", "type": "date"},
      {"id": "d6", "name": "at", "type": "datetime"},
      {"id": "d7", "name": "stage", "type": "select", "options": ["lead", "won"], "optionLabels": {"lead": {"zh-CN": "线索", "en": "Lead"}, "won": {"zh-CN": "赢单"}}},
      {"id": "d8", "name": "tags", "type": "multiselect", "options": ["a", "b", "vip"], "optionLabels": {"vip": {"zh-CN": "重要"}}},
      {"id": "d9", "name": "account", "type": "ref", "entity": "account"},
      {"id": "d10", "name": "rep", "type": "user"},
      {"id": "d11", "name": "email", "type": "email"},
      {"id": "d12", "name": "doc", "type": "file"},
      {"id": "d13", "name": "meta", "type": "json"},
      {"id": "d14", "name": "total", "type": "formula", "expr": "amount * 2"},
      {"id": "d15", "name": "code", "type": "text", "required": true, "default": "\"x\""}
    ]}
  ]
}`

func loadApp(t testing.TB) *schema.App {
	t.Helper()
	var app schema.App
	if err := json.Unmarshal([]byte(testApp), &app); err != nil {
		t.Fatal(err)
	}
	return &app
}

func TestMapColumns(t *testing.T) {
	app := loadApp(t)
	e := app.Entity("deal")
	header := []string{" TITLE ", "数量", "ａｍｏｕｎｔ", "Due  Date", "stage", "Extra", "id", "total", "created_at", "owner", "title"}
	m, err := MapColumns(app, e, header, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range m.Columns {
		got[c.Header] = c.Field + "/" + c.By
	}
	want := map[string]string{" TITLE ": "title/name", "数量": "qty/label", "ａｍｏｕｎｔ": "amount/name", "Due  Date": "due/label", "stage": "stage/name",
		"Extra": "/", "id": "/readonly", "total": "/readonly", "created_at": "/readonly", "owner": "owner/name", "title": "/"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mapping %v", got)
	}
	if !reflect.DeepEqual(m.Unknown, []string{"Extra", "title"}) || len(m.Missing) != 0 {
		t.Errorf("unknown %q missing %q", m.Unknown, m.Missing)
	}

	// The explicit map wins; "" ignores; a required field left unfilled is missing.
	m, err = MapColumns(app, e, []string{"Name of deal", "Extra", "Qty"}, map[string]string{"Name of deal": "qty", "Extra": "", "Qty": ""})
	if err != nil {
		t.Fatal(err)
	}
	if m.Columns[0].Field != "qty" || m.Columns[0].By != ByMap || m.Columns[1].By != ByMap || m.Columns[1].Field != "" || len(m.Unknown) != 0 {
		t.Errorf("%+v", m)
	}
	if !reflect.DeepEqual(m.Missing, []string{"title"}) {
		t.Errorf("missing %q", m.Missing)
	}

	for _, bad := range []map[string]string{{"Extra": "nope"}, {"Extra": "total"}, {"Extra": "id"}, {"Extra": "title; DROP TABLE x"}} {
		_, err := MapColumns(app, e, []string{"Extra"}, bad)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Code != CodeUnknownField || fe.Field == "" {
			t.Errorf("%v: %v", bad, err)
		}
	}
	_, err = MapColumns(app, e, []string{"A", "B"}, map[string]string{"A": "qty", "B": "qty"})
	var fe *FileError
	if !errors.As(err, &fe) || fe.Code != CodeDuplicateField {
		t.Errorf("two columns into one field: %v", err)
	}
}

// fakeLookup knows accounts by name and id and users by email.
type fakeLookup struct {
	calls int
	fail  bool
}

func (l *fakeLookup) Refs(ctx context.Context, entity, field string, keys []string) (map[string]string, error) {
	l.calls++
	if l.fail {
		return nil, errors.New("database gone")
	}
	known := map[string]map[string]string{
		"name": {"Acme": "acc1", "华为": "acc2"},
		"id":   {"acc1": "acc1", "acc2": "acc2"},
	}
	out := map[string]string{}
	for _, k := range keys {
		if id, ok := known[field][k]; ok && entity == "account" {
			out[k] = id
		}
	}
	return out, nil
}

func (l *fakeLookup) Users(ctx context.Context, emails []string) (map[string]string, error) {
	l.calls++
	out := map[string]string{}
	for _, e := range emails {
		if e == "rep@example.com" {
			out[e] = "u1"
		}
	}
	return out, nil
}

func coerceOne(t *testing.T, field, cell string, tz *time.Location) (any, string) {
	t.Helper()
	app := loadApp(t)
	e := app.Entity("deal")
	m, err := MapColumns(app, e, []string{field}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := NewCoercer(app, e, m, CoerceOptions{TimeZone: tz, Lookup: &fakeLookup{}})
	vals, probs := c.Rows(context.Background(), [][]string{{cell}}, []int{7})
	if len(probs) > 0 {
		if vals[0] != nil || probs[0].Row != 7 || probs[0].Field != field || probs[0].Column != field || probs[0].Reason == "" {
			t.Errorf("problem %+v values %v", probs[0], vals[0])
		}
		return nil, probs[0].Reason
	}
	return vals[0][field], ""
}

func TestCoerceCells(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ok := []struct {
		field, cell string
		want        any
	}{
		{"title", "  keep spaces ", "  keep spaces "},
		{"title", "'=1+2", "=1+2"},
		{"title", "'-5", "-5"},
		{"title", "'hello", "'hello"},
		{"title", "''=x", "'=x"},
		{"qty", "1,234", json.Number("1234")},
		{"qty", "１２３", json.Number("123")},
		{"qty", "-7", json.Number("-7")},
		{"qty", "1 234 567", json.Number("1234567")},
		{"qty", "1.5E+3", json.Number("1500")},
		{"amount", "¥1,234.5", json.Number("1234.50")},
		{"amount", "￥ 88", json.Number("88.00")},
		{"amount", "$-3.20", json.Number("-3.20")},
		{"amount", "-€3", json.Number("-3.00")},
		{"amount", "(1,234.56)", json.Number("-1234.56")},
		{"amount", "1234.5600000000001", json.Number("1234.56")},
		{"amount", "0.10000000000000001", json.Number("0.10")},
		{"won", "是", true}, {"won", "否", false}, {"won", "YES", true}, {"won", "no", false},
		{"won", "TRUE", true}, {"won", "false", false}, {"won", "1", true}, {"won", "0", false},
		{"won", "y", true}, {"won", "N", false},
		{"due", "2026-03-05", "2026-03-05"},
		{"due", "2026/3/5", "2026-03-05"},
		{"due", "2026.3.5", "2026-03-05"},
		{"due", "2026年3月5日", "2026-03-05"},
		{"due", "２０２６年３月５日", "2026-03-05"},
		{"due", "20260305", "2026-03-05"},
		{"due", "46086", "2026-03-05"},
		{"due", "46086.75", "2026-03-05"},
		{"due", "2026-03-05 00:00:00", "2026-03-05"},
		{"at", "2026-03-05T14:30:00+08:00", "2026-03-05T06:30:00Z"},
		{"at", "2026-03-05T06:30:00Z", "2026-03-05T06:30:00Z"},
		{"at", "2026-03-05 14:30", "2026-03-05T06:30:00Z"},
		{"at", "2026/3/5 14:30:00", "2026-03-05T06:30:00Z"},
		{"at", "2026年3月5日 14:30", "2026-03-05T06:30:00Z"},
		{"at", "2026年3月5日 14时30分", "2026-03-05T06:30:00Z"},
		{"at", "2026-03-05 14:30:00 +0000", "2026-03-05T14:30:00Z"},
		{"at", "2026-03-05 14:30:00.25", "2026-03-05T06:30:00.25Z"},
		{"at", "46086.6041666667", "2026-03-05T06:30:00Z"},
		{"at", "2026-03-05", "2026-03-04T16:00:00Z"},
		{"stage", "lead", "lead"}, {"stage", "赢单", "won"}, {"stage", " LEAD ", "lead"}, {"stage", "Lead", "lead"},
		{"tags", "a, b", []any{"a", "b"}},
		{"tags", "重要、a；b|vip", []any{"vip", "a", "b"}},
		{"tags", "A，a", []any{"a"}},
		{"account", "Acme", "acc1"},
		{"account", "华为", "acc2"},
		{"account", "acc1", "acc1"},
		{"rep", "REP@example.com", "u1"},
		{"rep", "u_42", "u_42"},
		{"owner", "rep@example.com", "u1"},
		{"email", " a@b.example ", "a@b.example"},
		{"meta", `{"x": 1.50}`, map[string]any{"x": json.Number("1.50")}},
	}
	for _, c := range ok {
		got, reason := coerceOne(t, c.field, c.cell, shanghai)
		if reason != "" || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %q: got %#v %q, want %#v", c.field, c.cell, got, reason, c.want)
		}
	}
	bad := []struct{ field, cell, reason string }{
		{"title", "this text is longer than twenty", "longer than 20"},
		{"title", "a\x00b", "NUL"},
		{"title", "a\xffb", "invalid"},
		{"qty", "1.5", "whole number"},
		{"qty", "12abc", "not a number"},
		{"qty", "1,23", "comma"},
		{"qty", "99999999999999999999", "too large"},
		{"qty", "NaN", "not a number"},
		{"qty", "0x10", "not a number"},
		{"amount", "15%", "percentage"},
		{"amount", "1.234", "2 decimal places"},
		{"amount", "1,5", "comma"},
		{"won", "对", "yes or no"},
		{"won", "maybe", "yes or no"},
		{"due", "2026-02-30", "not a date on the calendar"},
		{"due", "3/5/2026", "ambiguous"},
		{"due", "05.03.2026", "ambiguous"},
		{"due", "tomorrow", "not a date"},
		{"due", "2026-03-05 14:30", "without a time"},
		{"at", "2026-03-05 25:00", "not a time of day"},
		{"at", "2026-13-05 10:00", "calendar"},
		{"at", "yesterday at 5", "not a date-time"},
		{"stage", "maybe", "not one of the options"},
		{"tags", "a, zzz", `"zzz" is not one of the options`},
		{"account", "Nobody Ltd", `no account record you can read has name "Nobody Ltd"`},
		{"rep", "who@example.com", "no user has the email"},
		{"rep", "not an id!", "email address"},
		{"email", "not-an-email", "email"},
		{"doc", "file.pdf", "file fields are not imported"},
		{"meta", "{oops", "JSON"},
	}
	for _, c := range bad {
		_, reason := coerceOne(t, c.field, c.cell, shanghai)
		if !strings.Contains(reason, c.reason) {
			t.Errorf("%s %q: reason %q, want %q", c.field, c.cell, reason, c.reason)
		}
	}
}

func TestCoerceRowsBatch(t *testing.T) {
	app := loadApp(t)
	e := app.Entity("deal")
	m, err := MapColumns(app, e, []string{"title", "account", "rep", "qty", "total"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := &fakeLookup{}
	c := NewCoercer(app, e, m, CoerceOptions{Lookup: l})
	rows := [][]string{
		{"one", "Acme", "rep@example.com", "1", "99"},
		{"two", "华为", "", "x"},             // bad qty
		{"three", "", "", "", "", "extra"}, // ragged
		{"four", "Acme"},                   // short: the rest blank
		{"five", "", "", "", "", ""},       // trailing empty cells are fine
	}
	vals, probs := c.Rows(context.Background(), rows, []int{2, 3, 4, 5, 6})
	// Accounts by name and users by email, once each for the batch (every
	// account name was found, so no look-up by id).
	if l.calls != 2 {
		t.Errorf("%d lookups for one batch", l.calls)
	}
	if !reflect.DeepEqual(vals[0], map[string]any{"title": "one", "account": "acc1", "rep": "u1", "qty": json.Number("1")}) {
		t.Errorf("row 2: %v", vals[0])
	}
	if vals[1] != nil || vals[2] != nil || vals[3] == nil || vals[4] == nil {
		t.Errorf("values %v", vals)
	}
	if len(probs) != 2 || probs[0].Row != 3 || probs[0].Field != "qty" || probs[1].Row != 4 || probs[1].Column != "" || !strings.Contains(probs[1].Reason, "6 cells") {
		t.Errorf("problems %+v", probs)
	}
	// A failing lookup is each cell's problem, not a crash.
	c = NewCoercer(app, e, m, CoerceOptions{Lookup: &fakeLookup{fail: true}})
	_, probs = c.Rows(context.Background(), [][]string{{"x", "Acme"}}, []int{2})
	if len(probs) != 1 || !strings.Contains(probs[0].Reason, "could not be looked up") {
		t.Errorf("problems %+v", probs)
	}
}

func TestRefKey(t *testing.T) {
	var app schema.App
	json.Unmarshal([]byte(`{"name":"x","entities":[
	  {"id":"1","name":"a","fields":[{"id":"f1","name":"code","type":"text","unique":true},{"id":"f2","name":"name","type":"text","unique":true}]},
	  {"id":"2","name":"b","fields":[{"id":"f1","name":"n","type":"integer","unique":true},{"id":"f2","name":"email","type":"email","unique":true}]},
	  {"id":"3","name":"c","fields":[{"id":"f1","name":"title","type":"text"}]},
	  {"id":"4","name":"d","fields":[{"id":"f1","name":"x","type":"text"}]}]}`), &app)
	for ent, want := range map[string]string{"a": "name", "b": "email", "c": "title", "d": "", "zz": ""} {
		if got := RefKey(&app, ent); got != want {
			t.Errorf("%s: %q, want %q", ent, got, want)
		}
	}
}
