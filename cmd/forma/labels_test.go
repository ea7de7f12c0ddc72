package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/formaapp/forma/engine"
	"github.com/formaapp/forma/engine/records"
	"github.com/formaapp/forma/engine/store/storetest"
)

// TestApplyLabelsOnlyKeepsNames: `forma app apply` of a document that gives
// only labels derives the names once (pinyin for Chinese); applying it again
// with changed labels keeps the published names and the data, as the
// designer's publish does (issue 21, bullet 1). On SQLite and PostgreSQL.
func TestApplyLabelsOnlyKeepsNames(t *testing.T) {
	doc := func(entity, field string) string {
		return writeFile(t, "app.json", fmt.Sprintf(`{"label": "门店销售", "entities": [{"id": "e1", "label": %q, "fields": [
		  {"id": "f1", "label": %q, "type": "text"}, {"id": "f2", "label": "联系电话", "type": "phone"}]}]}`, entity, field))
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			data := t.TempDir()
			url := ""
			if dialect == "postgres" {
				url = storetest.PostgresURL(t)
			}
			apply := func(file string) string {
				t.Helper()
				out, stderr, code := run(t, "", "app", "apply", "--data", data, "--db", url, file)
				if code != 0 {
					t.Fatalf("apply: exit %d\n%s\n%s", code, out, stderr)
				}
				return out
			}
			apply(doc("门店", "门店名称"))
			ctx := context.Background()
			eng, err := engine.Open(ctx, engine.Config{DataDir: data, DBURL: url})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := eng.Records.Create(ctx, records.Caller{Admin: true}, "mendian_xiaoshou", "mendian", []byte(`{"mendian_mingcheng": "静安店"}`))
			if err != nil {
				eng.Close()
				t.Fatal(err)
			}
			eng.Close()

			out := apply(doc("分店", "店名"))
			if strings.Contains(out, "rename") || strings.Contains(out, "drop") || !strings.Contains(out, "version 1 → 2") {
				t.Errorf("a label change planned a schema change:\n%s", out)
			}
			eng, err = engine.Open(ctx, engine.Config{DataDir: data, DBURL: url})
			if err != nil {
				t.Fatal(err)
			}
			defer eng.Close()
			d, err := eng.DB.Document(ctx, "mendian_xiaoshou", 0)
			if err != nil {
				t.Fatal(err)
			}
			e := d.Entities[0]
			if e.Name != "mendian" || e.Label != "分店" || e.Fields[0].Name != "mendian_mingcheng" || e.Fields[0].Label != "店名" || e.Fields[1].Name != "lianxi_dianhua" {
				t.Errorf("names after a label change: entity %s (%s), fields %s (%s), %s", e.Name, e.Label, e.Fields[0].Name, e.Fields[0].Label, e.Fields[1].Name)
			}
			got, err := eng.Records.Get(ctx, records.Caller{Admin: true}, "mendian_xiaoshou", "mendian", rec.ID(), "", "")
			if err != nil || got.Get("mendian_mingcheng") != "静安店" {
				t.Errorf("the record after a label change: %v (%v)", got, err)
			}
		})
	}
}
