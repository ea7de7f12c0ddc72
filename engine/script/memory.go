package script

import (
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// The memory guard.
//
// goja has no allocation limit, and Go cannot attribute allocations to a
// goroutine. One package-wide watchdog goroutine (running only while calls
// are in flight) samples runtime/metrics every memTick and charges what the
// process gained since the previous sample to the calls then in flight, in
// equal shares:
//   - growth of the heap's live objects ("/memory/classes/heap/objects:bytes";
//     it falls when a GC frees garbage, and so does the charge), and
//   - bytes allocated in total ("/gc/heap/allocs:bytes"; the backstop for a
//     GC cycle hiding growth, limit memChurnFactor × MaxMemory).
//
// Calls waiting in a native function (db.find) run no script code and are
// left out of the shares while they wait, unless every call is waiting.
// A call whose own charge goes over its limit is interrupted; the others go
// on. A call running alone is charged all the growth during its run; two
// calls side by side each pay half of what both did, so a hook that runs
// for a few milliseconds beside a script that allocates hundreds of
// megabytes pays for a few milliseconds of it, not for all of it (as it did
// when each call was charged the whole process's growth since it started).
//
// It stays approximate: allocations by other goroutines (HTTP handlers,
// natives) count too, and a script that allocates beside another that
// does not is stopped later (its share is halved). What a single built-in
// step allocates before the next sample is bounded by the caps (caps.go).
const (
	memTick        = 2 * time.Millisecond
	memChurnFactor = 8
)

type memCall struct {
	limit    int64
	fire     func()
	lastHeap uint64 // heap and allocs when last charged
	lastAll  uint64
	heap     int64 // charge: share of live-heap growth, never below 0
	allocs   int64 // charge: share of bytes allocated
	inNative atomic.Bool
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
	c := &memCall{limit: limit, fire: fire}
	c.lastHeap, c.lastAll = readMem()
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
	var over []*memCall
	for range t.C {
		heap, allocs := readMem()
		over = over[:0]
		mon.mu.Lock()
		if len(mon.calls) == 0 {
			mon.running = false
			mon.mu.Unlock()
			return
		}
		over = charge(mon.calls, heap, allocs, over)
		mon.mu.Unlock()
		for _, c := range over {
			c.fire()
		}
	}
}

// charge shares what the process gained since each call's last sample
// among the calls in flight and returns those over their limit.
func charge(calls map[*memCall]struct{}, heap, allocs uint64, over []*memCall) []*memCall {
	var n int64
	for c := range calls {
		if !c.inNative.Load() {
			n++
		}
	}
	all := n == 0
	if all {
		n = int64(len(calls))
	}
	for c := range calls {
		dHeap, dAll := int64(heap)-int64(c.lastHeap), int64(allocs-c.lastAll)
		c.lastHeap, c.lastAll = heap, allocs
		if !all && c.inNative.Load() {
			continue
		}
		c.heap = max(c.heap+dHeap/n, 0)
		c.allocs += dAll / n
		if c.heap > c.limit || c.allocs > c.limit*memChurnFactor {
			over = append(over, c)
		}
	}
	return over
}
