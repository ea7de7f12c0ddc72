package access

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/formaapp/forma/engine/clock"
	"github.com/formaapp/forma/engine/store"
	"github.com/formaapp/forma/engine/store/storetest"
)

// Sessions expire on the engine's clock: moving a test clock past the
// session's lifetime ends it, with no sleeping and no rewriting of rows.
func TestSessionExpiresOnTheClock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewTest(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		db.Clock = clk
		s := newService(t, db)
		mustUser(t, s, "clock@example.com", false)
		tok := mustLogin(t, s, "clock@example.com")
		clk.Advance(23 * time.Hour)
		if _, err := s.Authenticate(ctx, tok); err != nil {
			t.Fatalf("a 23-hour-old session is refused: %v", err)
		}
		clk.Advance(2 * time.Hour)
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("a 25-hour-old session: want ErrUnauthorized, got %v", err)
		}
	})
}
