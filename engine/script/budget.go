package script

import (
	"sync"
	"time"
)

// budget is a call's script-time limit (Options.Timeout): a timer that
// stands still while Go works for the script inside a native. A db.find
// that waits for a busy database, or for a CPU another process holds, is
// not the script running long, and counting it made legitimate hooks fail
// under load (the store-sales line hook reads three records). What natives
// take is bounded apart, by the call's wall-time cap (Options.NativeTime).
//
// It measures real elapsed time, as the wall-time limit before it did:
// it bounds a resource, it decides nothing a record keeps.
type budget struct {
	mu    sync.Mutex
	left  time.Duration
	since time.Time
	timer *time.Timer // nil while paused or stopped
	fire  func()
	done  bool
}

// startBudget starts counting d of script time; fire runs once it is spent.
func startBudget(d time.Duration, fire func()) *budget {
	b := &budget{left: d, since: time.Now(), fire: fire}
	b.timer = time.AfterFunc(d, b.expire)
	return b
}

// expire is the timer's: the budget is spent.
func (b *budget) expire() {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return
	}
	b.done = true
	b.mu.Unlock()
	b.fire()
}

// pause stops the count (a native begins).
func (b *budget) pause() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done || b.timer == nil {
		return
	}
	if b.timer.Stop() {
		b.left -= time.Since(b.since)
	}
	b.timer = nil
}

// resume counts on (the native returned); a spent budget fires at once.
// It runs on the script's goroutine, so a spent budget's interrupt is
// set before the script goes on.
func (b *budget) resume() {
	b.mu.Lock()
	if b.done || b.timer != nil {
		b.mu.Unlock()
		return
	}
	if b.left > 0 {
		b.since = time.Now()
		b.timer = time.AfterFunc(b.left, b.expire)
		b.mu.Unlock()
		return
	}
	b.done = true
	b.mu.Unlock()
	b.fire()
}

// stop ends the count for good (the call is over).
func (b *budget) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.done = true
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}
