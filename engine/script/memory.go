package script

import (
	"runtime/metrics"
	"sync"
	"time"
)

// The memory guard.
//
// goja has no allocation limit, and Go cannot attribute allocations to a
// goroutine. One package-wide watchdog goroutine (running only while calls
// are in flight) samples runtime/metrics every memTick and interrupts a call
// when, since that call started, either
//   - the heap's live objects grew by more than MaxMemory
//     ("/memory/classes/heap/objects:bytes"), or
//   - the process allocated more than memChurnFactor × MaxMemory in total
//     ("/gc/heap/allocs:bytes"; the backstop for a GC cycle hiding growth).
//
// Both figures are process-wide, so the guard is approximate: allocations by
// other goroutines (other calls, HTTP handlers) during a call count against
// it, and a single native built-in call (e.g. "x".repeat(1e9)) allocates
// before the next sample. It bounds runaway scripts; it is not an exact quota.
const (
	memTick        = 2 * time.Millisecond
	memChurnFactor = 8
)

type memCall struct {
	limit   uint64
	heap0   uint64
	allocs0 uint64
	fire    func()
}

var mon struct {
	mu      sync.Mutex
	calls   map[*memCall]struct{}
	running bool
}

func readMem() (heap, allocs uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		heap = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		allocs = s[1].Value.Uint64()
	}
	return
}

// memWatch starts watching one call; fire is called (once at most by the
// caller's guard) when the call goes over limit.
func memWatch(limit int64, fire func()) *memCall {
	c := &memCall{limit: uint64(limit), fire: fire}
	c.heap0, c.allocs0 = readMem()
	mon.mu.Lock()
	if mon.calls == nil {
		mon.calls = map[*memCall]struct{}{}
	}
	mon.calls[c] = struct{}{}
	if !mon.running {
		mon.running = true
		go monitor()
	}
	mon.mu.Unlock()
	return c
}

func (c *memCall) done() {
	mon.mu.Lock()
	delete(mon.calls, c)
	mon.mu.Unlock()
}

func monitor() {
	t := time.NewTicker(memTick)
	defer t.Stop()
	var batch []*memCall
	for range t.C {
		mon.mu.Lock()
		if len(mon.calls) == 0 {
			mon.running = false
			mon.mu.Unlock()
			return
		}
		batch = batch[:0]
		for c := range mon.calls {
			batch = append(batch, c)
		}
		mon.mu.Unlock()
		heap, allocs := readMem()
		for _, c := range batch {
			if (heap > c.heap0 && heap-c.heap0 > c.limit) || allocs-c.allocs0 > c.limit*memChurnFactor {
				c.fire()
			}
		}
	}
}
