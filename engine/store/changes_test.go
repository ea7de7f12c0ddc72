package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// TestChangeCounters: a write counts when its transaction commits, not
// when it rolls back; counts of many records add up across the slots.
func TestChangeCounters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		bump := func(commit bool, ids ...string) {
			tx, err := db.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if err := store.BumpChanges(ctx, tx, "shop", "sale", id); err != nil {
					t.Fatal(err)
				}
			}
			if commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		var ids []string
		for i := 0; i < 40; i++ {
			ids = append(ids, fmt.Sprintf("r%d", i))
		}
		bump(true, ids...)
		bump(true, "r1", "r1")
		bump(false, "r2", "r3")
		got, err := db.ChangeCounters(ctx, "shop")
		if err != nil {
			t.Fatal(err)
		}
		if got["sale"] != 42 || len(got) != 1 {
			t.Fatalf("counters = %v, want sale=42", got)
		}
		if other, _ := db.ChangeCounters(ctx, "other"); len(other) != 0 {
			t.Fatalf("another app's counters: %v", other)
		}
	})
}
