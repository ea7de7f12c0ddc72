package sample_test

import (
	"context"
	"testing"

	"github.com/formaapp/forma/templates"
	"github.com/formaapp/forma/templates/sample"
)

func TestSmoke(t *testing.T) {
	for _, name := range []string{"pipeline", "store-sales"} {
		eng, app := installed(t, name, "sqlite")
		res, err := sample.Generate(context.Background(), target(eng), templates.FS(), name, app.Name, sample.Options{Rows: 300, Seed: 1, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", res)
	}
}
