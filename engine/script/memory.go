package script

import (
	"runtime"
	"runtime/metrics"
	"slices"
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
// on. When several are over at one sample, only the one that has been
// charged most (the oldest on a tie) is stopped and the others are
// forgiven what they were charged so far: a short call that shared a tick
// with a string doubling to 512 MiB was charged its share of it, and it is
// the doubling that must stop. A second hog is stopped a few ticks later,
// once its own growth reaches the limit again. A call running alone is charged all the growth during its run; calls
// side by side share it in proportion to the time each was in flight since
// the last sample, so a hook that runs for 50 µs of a 2 ms tick beside a
// script that doubles a string pays for 50 µs of it, not half of it (equal
// shares stopped such a hook when the doubling's one step was 512 MiB, and
// before that, each call was charged the whole process's growth).
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
	lastAt   int64 // when last charged (ns on the monotonic clock)
	startAt  int64
	heap     int64 // charge: share of live-heap growth, never below 0
	allocs   int64 // charge: share of bytes allocated
	inNative atomic.Bool
	fired    atomic.Bool // stopped: no longer a candidate
	gcWant   uint64      // the collection it waits for before it is judged (0: none asked)
	before   int64       // heap charge at the sample before the last
}

// waitCollection reports whether a call over its limit is given time for
// a garbage collection before it is stopped.
//
// The live-heap figure counts garbage not yet collected. After a hog was
// stopped the GC's goal stays high, and an ordinary call churning through
// 90 MiB of short-lived regexp match objects looked like 90 MiB of growth
// and was stopped at a 32 MiB limit. So a call first over its limit by
// growth alone, and by no more than twice, asks for a collection and is
// judged by the first sample after it: what was garbage has then fallen
// out of every share, and a call that really holds the memory is still
// over. The collection runs beside the monitor, not in it: runtime.GC
// waits for a string doubling's memmove, and a blocked monitor let the
// doubling reach 512 MiB. A hog going past twice its limit meanwhile is
// stopped at once, and so is one that grew by a quarter of its limit in
// one tick (a single big step is what stalls a collection, and it is
// not garbage that grows that fast). A call still over after its
// collection is stopped; one under it may ask again later.
func (c *memCall) waitCollection(collected uint64) bool {
	if c.heap > 2*c.limit || c.heap-c.before > c.limit/4 || c.allocs > c.limit*memChurnFactor {
		return false
	}
	if c.gcWant != 0 {
		return collected < c.gcWant
	}
	c.gcWant = requestCollection()
	return true
}

var (
	gcAsked, gcDone atomic.Uint64
	gcBusy          atomic.Bool
)

// requestCollection asks for a garbage collection that starts after the
// call and answers the number gcDone reaches when it has finished.
func requestCollection() uint64 {
	n := gcAsked.Add(1)
	if gcBusy.CompareAndSwap(false, true) {
		go collect()
	}
	return n
}

func collect() {
	for {
		n := gcAsked.Load()
		runtime.GC()
		gcDone.Store(n)
		gcBusy.Store(false)
		// a request that came in during the collection, and found it busy,
		// needs one more
		if gcAsked.Load() == n || !gcBusy.CompareAndSwap(false, true) {
			return
		}
	}
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
	now := monoNow()
	c := &memCall{limit: limit, fire: fire, lastAt: now, startAt: now}
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

var monoStart = time.Now()

// monoNow measures the guard's shares; it decides nothing about business
// time, so it reads the monotonic clock, not the engine's.
func monoNow() int64 { return int64(time.Since(monoStart)) }

func monitor() {
	t := time.NewTicker(memTick)
	defer t.Stop()
	var over []*memCall
	for range t.C {
		collected := gcDone.Load() // before the sample: a collection it counts is in the sample
		heap, allocs := readMem()
		over = over[:0]
		mon.mu.Lock()
		if len(mon.calls) == 0 {
			mon.running = false
			mon.mu.Unlock()
			return
		}
		over = charge(mon.calls, heap, allocs, monoNow(), over)
		for c := range mon.calls {
			// under its limit after the collection it asked for: a churner
			// (a server's big live heap keeps the GC's goal high), which may
			// ask again the next time its garbage reaches the limit
			if c.gcWant != 0 && collected >= c.gcWant && !slices.Contains(over, c) {
				c.gcWant = 0
			}
		}
		mon.mu.Unlock()
		for _, c := range over {
			if !c.waitCollection(collected) && c.fired.CompareAndSwap(false, true) {
				c.fire()
			}
		}
	}
}

// charge shares what the process gained since each call's last sample
// among the calls in flight, weighted by the time each was in flight since
// then, and returns those over their limit.
func charge(calls map[*memCall]struct{}, heap, allocs uint64, now int64, over []*memCall) []*memCall {
	all := true
	for c := range calls {
		if !c.inNative.Load() {
			all = false
			break
		}
	}
	weight := func(c *memCall) float64 { return float64(max(now-c.lastAt, 1)) }
	var total float64
	for c := range calls {
		if all || !c.inNative.Load() {
			total += weight(c)
		}
	}
	for c := range calls {
		dHeap, dAll := int64(heap)-int64(c.lastHeap), int64(allocs-c.lastAll)
		share := weight(c) / total
		c.lastHeap, c.lastAll, c.lastAt = heap, allocs, now
		if !all && c.inNative.Load() {
			continue
		}
		c.before = c.heap
		c.heap = max(c.heap+int64(float64(dHeap)*share), 0)
		c.allocs += int64(float64(dAll) * share)
		if !c.fired.Load() && (c.heap > c.limit || c.allocs > c.limit*memChurnFactor) {
			over = append(over, c)
		}
	}
	if len(over) < 2 {
		return over
	}
	worst := over[0]
	for _, c := range over[1:] {
		if r, w := c.ratio(), worst.ratio(); r > w || r == w && c.startAt < worst.startAt {
			worst = c
		}
	}
	for _, c := range over {
		if c != worst {
			c.heap, c.allocs = 0, 0
		}
	}
	return append(over[:0], worst)
}

// ratio is how far over its limits a call's charge is.
func (c *memCall) ratio() float64 {
	return max(float64(c.heap)/float64(c.limit), float64(c.allocs)/float64(c.limit*memChurnFactor))
}
