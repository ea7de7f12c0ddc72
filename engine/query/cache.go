package query

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/formaapp/forma/schema"
)

// The cache keeps answers per (app version, widget, resolved parameters,
// viewer's rule scope). Each answer carries the change counters of the
// entities it read, as they were when it was computed; a request reads the
// app's counters once (one small query) and uses an answer only while they
// are unchanged. Writes bump the counters in their own transaction
// (engine/records), so every process sharing the database sees a write
// invalidate its answers from the next request on. Entries also expire
// after a while: team membership, which the team scope reads, is not
// counted.

type cache struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	stamp   string
	result  *Result
	expires time.Time
}

func newCache(max int, ttl time.Duration) *cache {
	return &cache{max: max, ttl: ttl, entries: map[string]*cacheEntry{}}
}

func (c *cache) get(key, stamp string, now time.Time) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil || e.stamp != stamp || now.After(e.expires) {
		return nil
	}
	return e.result
}

func (c *cache) put(key, stamp string, r *Result, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Drop expired entries first, then anything: a full cache is rare
		// and recomputing is always correct.
		for k, e := range c.entries {
			if now.After(e.expires) || len(c.entries) >= c.max {
				delete(c.entries, k)
			}
			if len(c.entries) < c.max*3/4 {
				break
			}
		}
	}
	c.entries[key] = &cacheEntry{stamp: stamp, result: r, expires: now.Add(c.ttl)}
}

// cacheKey identifies a widget's answer for one viewer scope.
func cacheKey(app *schema.App, dash, widget string, p *plan) string {
	h := sha256.New()
	q, _ := json.Marshal(p.q)
	h.Write(q)
	for _, s := range []string{app.Name, strconv.Itoa(app.Version), dash, widget, p.scopeKey, p.sql} {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	for _, a := range p.args {
		h.Write([]byte{0})
		b, _ := json.Marshal(a)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// stampOf is the counters of the entities read, as one string.
func stampOf(counters map[string]int64, reads []string) string {
	var b strings.Builder
	for _, e := range reads {
		b.WriteString(e)
		b.WriteByte('=')
		b.WriteString(strconv.FormatInt(counters[e], 10))
		b.WriteByte(';')
	}
	return b.String()
}

// watcher polls the change counters of apps that have subscribers (open
// dashboards) and tells them which entities changed: the events stream
// that makes the web UI refresh. One poll per app per interval serves every
// subscriber of the process.
type watcher struct {
	e        *Engine
	interval time.Duration

	mu   sync.Mutex
	subs map[string]map[chan []string]bool // app → subscribers
	stop map[string]context.CancelFunc
}

func newWatcher(e *Engine, interval time.Duration) *watcher {
	return &watcher{e: e, interval: interval, subs: map[string]map[chan []string]bool{}, stop: map[string]context.CancelFunc{}}
}

// SetPollInterval changes how often open dashboards look for changes.
func (e *Engine) SetPollInterval(d time.Duration) { e.watcher.interval = d }

// Subscribe returns a channel receiving the names of app's entities that
// changed (committed writes, by any process), and a function to stop.
func (e *Engine) Subscribe(app string) (<-chan []string, func()) {
	w := e.watcher
	ch := make(chan []string, 8)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs[app] == nil {
		w.subs[app] = map[chan []string]bool{}
		ctx, cancel := context.WithCancel(context.Background())
		w.stop[app] = cancel
		go w.poll(ctx, app)
	}
	w.subs[app][ch] = true
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if !w.subs[app][ch] {
			return
		}
		delete(w.subs[app], ch)
		close(ch)
		if len(w.subs[app]) == 0 {
			delete(w.subs, app)
			w.stop[app]()
			delete(w.stop, app)
		}
	}
}

func (w *watcher) poll(ctx context.Context, app string) {
	last, _ := w.e.DB.ChangeCounters(ctx, app)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, err := w.e.DB.ChangeCounters(ctx, app)
		if err != nil {
			continue // the database is away; try again at the next tick
		}
		var changed []string
		for e, n := range now {
			if last[e] != n {
				changed = append(changed, e)
			}
		}
		last = now
		if len(changed) == 0 {
			continue
		}
		sort.Strings(changed)
		w.mu.Lock()
		for ch := range w.subs[app] {
			select {
			case ch <- changed:
			default: // a slow reader misses a tick, not the next one
			}
		}
		w.mu.Unlock()
	}
}
