// Package clock is the engine's one source of the current time. Code that
// decides behaviour with time (expiries, due dates, timestamps stored with
// a record, when a job runs) asks a Clock, so tests move time forward
// instead of sleeping. Code that only measures how long something took may
// keep using time.Now/time.Since.
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time. Its method set matches River's
// rivertype.TimeGenerator, so the job queue runs on the same clock as the
// rest of the engine.
type Clock interface {
	Now() time.Time
	// NowOrNil is the stubbed time of a test clock, nil for the real one
	// (River then lets the database use its own now()).
	NowOrNil() *time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NowOrNil returns nil: the real clock is not stubbed.
func (Real) NowOrNil() *time.Time { return nil }

// Test is a clock that stands still until the test moves it. It is safe for
// concurrent use.
type Test struct {
	mu  sync.Mutex
	now time.Time
}

// NewTest returns a test clock showing t (UTC). A test clock keeps whole
// microseconds, the precision both databases store: a time written and
// read back compares equal to the clock's.
func NewTest(t time.Time) *Test { return &Test{now: t.UTC().Truncate(time.Microsecond)} }

// Now returns the clock's time.
func (c *Test) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NowOrNil returns the clock's time.
func (c *Test) NowOrNil() *time.Time {
	t := c.Now()
	return &t
}

// Advance moves the clock forward by d and returns the new time.
func (c *Test) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d).Truncate(time.Microsecond)
	return c.now
}

// Set moves the clock to t.
func (c *Test) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t.UTC().Truncate(time.Microsecond)
}
