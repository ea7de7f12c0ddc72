package store_test

import (
	"context"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

func TestOpenCreatesSystemTables(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		apps, err := db.Apps(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != 0 {
			t.Fatalf("fresh database has apps: %v", apps)
		}
		if _, err := db.Document(context.Background(), "nope", 0); err != store.ErrNotFound {
			t.Fatalf("Document(nope) = %v, want ErrNotFound", err)
		}
	})
}

func TestOpenRefusesUnknownURL(t *testing.T) {
	if _, err := store.Open(context.Background(), "mysql://x", ""); err == nil {
		t.Fatal("want error for mysql URL")
	}
}
