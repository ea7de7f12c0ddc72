package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine/bulk"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store/storetest"
)

func TestExportCommand(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { exportCommand(t, "--data", t.TempDir()) })
	t.Run("postgres", func(t *testing.T) { exportCommand(t, "--db", storetest.PostgresURL(t)) })
}

func exportCommand(t *testing.T, dbArgs ...string) {
	doc := writeFile(t, "crm.json", `{"name": "crm", "entities": [{"name": "deal", "fields": [
	  {"id": "f1", "name": "title", "type": "text", "labels": {"zh-CN": "标题"}},
	  {"id": "f2", "name": "amount", "type": "decimal"},
	  {"id": "f3", "name": "at", "type": "datetime"}]}]}`)
	if out, stderr, code := run(t, "", "app", "apply", dbArgs[0], dbArgs[1], doc); code != 0 {
		t.Fatalf("apply: %d %q %q", code, out, stderr)
	}
	ctx := context.Background()
	eng, err := dbFlagsOf(dbArgs).open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := eng.Access.CreateUser(ctx, "boss@example.com", "boss password 1", "Boss", true)
	if err != nil {
		t.Fatal(err)
	}
	admin := records.Caller{UserID: u.ID, Admin: true}
	for _, body := range []string{`{"title": "=cmd|' /C calc'!A0", "amount": "-12.50", "at": "2026-03-05T06:30:00Z"}`, `{"title": "华为", "amount": "1"}`} {
		if _, err := eng.Records.Create(ctx, admin, "crm", "deal", []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	eng.Close()

	out, stderr, code := run(t, "", "export", "crm", "deal", dbArgs[0], dbArgs[1], "--fields", "title,amount,at", "--sort", "amount", "--tz", "Asia/Shanghai")
	want := "\uFEFFtitle,amount,at\n'=cmd|' /C calc'!A0,-12.50,2026-03-05 14:30:00\n华为,1.00,\n"
	if code != 0 || out != want {
		t.Fatalf("export: %d %q %q", code, out, stderr)
	}
	file := filepath.Join(t.TempDir(), "deals.xlsx")
	if _, stderr, code = run(t, "", "export", "crm", "deal", dbArgs[0], dbArgs[1], "--fields", "title", "--labels", "--lang", "zh-CN", "-o", file); code != 0 || !strings.Contains(stderr, "exported crm/deal") {
		t.Fatalf("export -o: %d %q", code, stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := bulk.OpenTable(bytes.NewReader(b), int64(len(b)), file, bulk.ReadOptions{})
	if err != nil || bulk.Describe(tb).Format != "xlsx" || strings.Join(tb.Header(), ",") != "标题" {
		t.Fatalf("the xlsx: %v %v", err, tb)
	}
	tb.Close()

	for _, bad := range [][]string{
		{"--fields", "nosuch"},
		{"--format", "pdf"},
		{"--tz", "Mars/Base"},
		{"--as", "nobody@example.com"},
	} {
		out, stderr, code := run(t, "", append([]string{"export", "crm", "deal", dbArgs[0], dbArgs[1]}, bad...)...)
		if code == 0 || out != "" || stderr == "" {
			t.Errorf("%v: %d %q %q", bad, code, out, stderr)
		}
	}
	if _, _, code := run(t, "", "export", "crm", "nosuch", dbArgs[0], dbArgs[1], "-o", filepath.Join(t.TempDir(), "x.csv")); code == 0 {
		t.Error("an unknown entity exported")
	}
}

func dbFlagsOf(args []string) *dbFlags {
	if args[0] == "--db" {
		return &dbFlags{db: args[1]}
	}
	return &dbFlags{data: args[1]}
}
