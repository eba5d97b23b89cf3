package outbox_test

import (
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
)

// t0 is when every fake clock starts.
var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// fakeClock is an outbox.Clock that moves only when a test advances it.
// Each one-shot wait the dispatcher arms (After, AfterFunc) is announced on
// armed, so a test can let exactly the waits it expects pass.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []*fakeWait
	armed chan time.Duration
}

type fakeWait struct {
	at    time.Time
	every time.Duration // a ticker's period; 0 for a one-shot wait
	ch    chan time.Time
	fn    func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: t0, armed: make(chan time.Duration, 64)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(w *fakeWait, d time.Duration) {
	c.mu.Lock()
	w.at = c.now.Add(d)
	c.waits = append(c.waits, w)
	c.mu.Unlock()
	if w.every == 0 {
		select {
		case c.armed <- d:
		default:
			panic("fakeClock: too many waits armed and not read")
		}
	}
}

func (c *fakeClock) remove(w *fakeWait) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.waits {
		if x == w {
			c.waits = append(c.waits[:i], c.waits[i+1:]...)
			return true
		}
	}
	return false
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	w := &fakeWait{ch: make(chan time.Time, 1)}
	c.add(w, d)
	return w.ch
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	w := &fakeWait{fn: f}
	c.add(w, d)
	return func() bool { return c.remove(w) }
}

func (c *fakeClock) NewTicker(d time.Duration) outbox.Ticker {
	w := &fakeWait{every: d, ch: make(chan time.Time, 1)}
	c.add(w, d)
	return fakeTicker{c, w}
}

type fakeTicker struct {
	c *fakeClock
	w *fakeWait
}

func (t fakeTicker) Chan() <-chan time.Time { return t.w.ch }
func (t fakeTicker) Stop()                  { t.c.remove(t.w) }

// Advance moves the clock on by d and fires what falls due, as timers and
// tickers of the time package do (a ticker drops ticks nobody took).
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	var fns []func()
	kept := c.waits[:0]
	for _, w := range c.waits {
		if w.at.After(now) {
			kept = append(kept, w)
			continue
		}
		if w.fn != nil {
			fns = append(fns, w.fn)
		} else {
			select {
			case w.ch <- now:
			default:
			}
		}
		if w.every > 0 {
			for !w.at.After(now) {
				w.at = w.at.Add(w.every)
			}
			kept = append(kept, w)
		}
	}
	c.waits = kept
	c.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// hangGuard only turns a hang into a failure; no test waits it out.
const hangGuard = 30 * time.Second

// receive returns the next value of ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hangGuard):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}
