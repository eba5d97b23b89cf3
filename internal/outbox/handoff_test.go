package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
)

// minInterval is the dispatcher's MinInterval in these tests: the wait
// between two passes, on its clock.
const minInterval = 50 * time.Millisecond

func newScans(n int) []models.Scan {
	var out []models.Scan
	for i := range n {
		out = append(out, models.Scan{ID: fmt.Sprintf("scan_%d", i), WorkspaceID: "ws", CodeID: "code", Source: "qr",
			Timestamp: t0.Add(-time.Minute)})
	}
	return out
}

// runDispatcher runs d until the test ends.
func runDispatcher(t *testing.T, d *outbox.Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// drive waits until done holds of store, letting pass each wait the
// dispatcher arms on clock between two passes (and failing on any other).
func drive(t *testing.T, store *memStore, clock *fakeClock, what string, done func(*memStore) bool) {
	t.Helper()
	changes := store.changes()
	for {
		store.mu.Lock()
		ok := done(store)
		store.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changes:
		case d := <-clock.armed:
			if d != minInterval {
				t.Fatalf("dispatcher waits %v on its clock, want MinInterval %v", d, minInterval)
			}
			clock.Advance(d)
		case <-time.After(hangGuard):
			t.Fatalf("never %s", what)
		}
	}
}

func waitDispatched(t *testing.T, store *memStore, clock *fakeClock, want int) {
	t.Helper()
	drive(t, store, clock, fmt.Sprintf("%d scans dispatched", want), func(m *memStore) bool { return len(m.dispatched) >= want })
}

func waitReads(t *testing.T, store *memStore, clock *fakeClock, want int) {
	t.Helper()
	drive(t, store, clock, fmt.Sprintf("%d reads of pending scans", want), func(m *memStore) bool { return m.reads >= want })
}

func handoffOptions(clock *fakeClock) outbox.Options {
	return outbox.Options{PollInterval: time.Hour, MinInterval: minInterval, Clock: clock, Logger: slog.New(slog.DiscardHandler)}
}

// Scans handed over by the recorder are dispatched from memory: after the
// start-up poll the database is not read again.
func TestHandedScansAreNotReadBack(t *testing.T) {
	scans := newScans(5)
	store := &memStore{scans: scans, endpoints: []models.Endpoint{{ID: "ep", Enabled: true, AllCodes: true}}}
	starter := &recordingStarter{}
	clock := newFakeClock()
	d := outbox.New(store, starter, handoffOptions(clock))
	store.mu.Lock() // hold the start-up poll until they are handed over
	runDispatcher(t, d)
	store.scans = nil // committed while the poll waits: only the handoff has them
	store.mu.Unlock()
	d.Handoff(scans[:2])
	d.Handoff(scans[2:])
	waitDispatched(t, store, clock, 5)

	store.mu.Lock()
	defer store.mu.Unlock()
	if store.reads != 1 {
		t.Fatalf("PendingScans called %d times, want once (at start)", store.reads)
	}
	starter.mu.Lock()
	defer starter.mu.Unlock()
	slices.Sort(starter.started)
	want := []string{"scan_0→ep", "scan_1→ep", "scan_2→ep", "scan_3→ep", "scan_4→ep"}
	if !slices.Equal(starter.started, want) {
		t.Fatalf("started %v, want %v", starter.started, want)
	}
}

// Past MaxHandoff the scans are not held in memory; the dispatcher polls the
// database for them at once.
func TestHandoffOverflowPolls(t *testing.T) {
	scans := newScans(5)
	store := &memStore{endpoints: []models.Endpoint{{ID: "ep", Enabled: true, AllCodes: true}}}
	starter := &recordingStarter{}
	clock := newFakeClock()
	opts := handoffOptions(clock)
	opts.MaxHandoff = 3
	d := outbox.New(store, starter, opts)
	runDispatcher(t, d)
	waitReads(t, store, clock, 1) // the start-up poll found nothing
	store.mu.Lock()
	store.scans = scans
	store.mu.Unlock()
	d.Handoff(scans[:2]) // held
	d.Handoff(scans[2:]) // 2+3 > 3: dropped, left to the poll
	waitDispatched(t, store, clock, 5)

	starter.mu.Lock()
	defer starter.mu.Unlock()
	slices.Sort(starter.started)
	started := slices.Compact(slices.Clone(starter.started))
	if len(started) != 5 {
		t.Fatalf("started %v, want each of the 5 scans", starter.started)
	}
}

// The periodic poll takes the scans left in the database once they are
// PollGrace old, leaving younger ones to the handoff in progress.
func TestPollTakesLeftoversPastTheGrace(t *testing.T) {
	store := &memStore{endpoints: []models.Endpoint{{ID: "ep", Enabled: true, AllCodes: true}}}
	clock := newFakeClock()
	opts := handoffOptions(clock)
	opts.PollInterval, opts.PollGrace = time.Second, 2*time.Second
	d := outbox.New(store, &recordingStarter{}, opts)
	runDispatcher(t, d)
	waitReads(t, store, clock, 1) // the start-up poll found nothing
	store.mu.Lock()
	store.scans = []models.Scan{
		{ID: "scan_old", WorkspaceID: "ws", CodeID: "code", Source: "qr", Timestamp: t0.Add(-time.Minute)},
		{ID: "scan_new", WorkspaceID: "ws", CodeID: "code", Source: "qr", Timestamp: t0.Add(500 * time.Millisecond)},
	}
	store.mu.Unlock()
	dispatched := func() []string {
		store.mu.Lock()
		defer store.mu.Unlock()
		return slices.Clone(store.dispatched)
	}

	clock.Advance(time.Second) // polls for scans before t0-1s
	waitDispatched(t, store, clock, 1)
	if got := dispatched(); !slices.Equal(got, []string{"scan_old"}) {
		t.Fatalf("first poll dispatched %v, want scan_old", got)
	}
	clock.Advance(time.Second) // before t0: scan_new is still in its grace
	waitReads(t, store, clock, 3)
	if got := dispatched(); !slices.Equal(got, []string{"scan_old"}) {
		t.Fatalf("second poll dispatched %v, want scan_new left alone", got)
	}
	clock.Advance(time.Second) // before t0+1s
	waitDispatched(t, store, clock, 2)
	if got := dispatched(); !slices.Equal(got, []string{"scan_old", "scan_new"}) {
		t.Fatalf("third poll dispatched %v, want scan_new at last", got)
	}
}
