package script

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The time limit counts the script's own time: a hook whose db calls wait
// (a busy database, a starved CPU) longer than its limit still finishes,
// while a script that computes past its limit is stopped, db calls before
// it or not, and a script that only waits in db calls is stopped by the
// wall-time cap (Timeout + NativeTime).
func TestTimeLimitCountsScriptTimeOnly(t *testing.T) {
	e := mustNew(t, map[string]string{"h.js": `
function waits() { let n = 0; for (let i = 0; i < 3; i++) n += db.find(); return n }
function spinsAfter() { db.find(); for (;;) {} }
function waitsForever() { for (;;) db.find() }
function catches() { for (;;) { try { db.find() } catch (e) {} } }`},
		Options{Timeout: 30 * time.Millisecond, NativeTime: 400 * time.Millisecond, Natives: map[string][]string{"db": {"find"}}})
	sleepy := func(d time.Duration) Env {
		return Env{Natives: map[string]map[string]Native{"db": {"find": func(ctx context.Context, args []any) (any, error) {
			select {
			case <-time.After(d):
				return int64(1), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}}}}
	}
	// Three reads of 40 ms each: 120 ms in all, four times the limit.
	if r, _, err := e.Call(context.Background(), "h.js", "waits", nil, sleepy(40*time.Millisecond)); err != nil || r != int64(3) {
		t.Fatalf("a hook waiting in its db calls: %v %v", r, err)
	}
	// The script's own loop after a read: stopped by the script limit.
	_, _, err := e.Call(context.Background(), "h.js", "spinsAfter", nil, sleepy(40*time.Millisecond))
	if se := asErr(t, err); se.Kind != KindTimeout || !strings.Contains(se.Message, "longer than 30ms") {
		t.Fatalf("spinning after a read: %+v", se)
	}
	// Reads without end: the wall-time cap, and the natives see it as
	// their deadline (the read that was waiting returns an error, which
	// a script that catches it cannot use to go on).
	for _, fn := range []string{"waitsForever", "catches"} {
		_, _, err = e.Call(context.Background(), "h.js", fn, nil, sleepy(20*time.Millisecond))
		if se := asErr(t, err); se.Kind != KindTimeout || !strings.Contains(se.Message, "430ms in all") {
			t.Fatalf("%s: %+v", fn, se)
		}
	}
	// The engine is healthy after each.
	if r, _, err := e.Call(context.Background(), "h.js", "waits", nil, sleepy(time.Millisecond)); err != nil || r != int64(3) {
		t.Fatalf("after the stops: %v %v", r, err)
	}
}

func TestBudgetPauses(t *testing.T) {
	fired := make(chan struct{}, 2)
	b := startBudget(40*time.Millisecond, func() { fired <- struct{}{} })
	b.pause()
	time.Sleep(80 * time.Millisecond) // paused: twice the budget passes
	select {
	case <-fired:
		t.Fatal("fired while paused")
	default:
	}
	b.resume()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("never fired after resuming")
	}
	// Spent while paused (it fired before the pause took): resuming
	// fires nothing twice, and stop after it is harmless.
	b.pause()
	b.resume()
	b.stop()
	select {
	case <-fired:
		t.Fatal("fired twice")
	case <-time.After(60 * time.Millisecond):
	}
}
