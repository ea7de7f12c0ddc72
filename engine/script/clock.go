package script

import (
	"context"
	"time"
)

// nowKey carries the time source of a call in its context.
type nowKey struct{}

// WithNow returns ctx whose script calls read the current time from now:
// Date.now(), new Date(), and the library's now() and today(). The engine
// passes its clock (store.DB.Clock), so a hook that stamps a time, or a
// formula over today(), follows a test clock like the rest of the engine
// instead of the wall clock. Without it a call reads time.Now.
func WithNow(ctx context.Context, now func() time.Time) context.Context {
	return context.WithValue(ctx, nowKey{}, now)
}

// nowOf is the time source of a call made with ctx.
func nowOf(ctx context.Context) func() time.Time {
	if now, ok := ctx.Value(nowKey{}).(func() time.Time); ok && now != nil {
		return now
	}
	return time.Now
}
