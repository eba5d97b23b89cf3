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

func newScans(n int) []models.Scan {
	var out []models.Scan
	for i := range n {
		out = append(out, models.Scan{ID: fmt.Sprintf("scan_%d", i), WorkspaceID: "ws", CodeID: "code", Source: "qr",
			Timestamp: time.Now().Add(-time.Minute)})
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

// waitDispatched waits until store has marked want scans dispatched.
func waitDispatched(t *testing.T, store *memStore, want int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		store.mu.Lock()
		n := len(store.dispatched)
		store.mu.Unlock()
		if n >= want {
			return
		}
	}
	t.Fatalf("%d scans dispatched, want %d", len(store.dispatched), want)
}

// Scans handed over by the recorder are dispatched from memory: after the
// start-up poll the database is not read again.
func TestHandedScansAreNotReadBack(t *testing.T) {
	scans := newScans(5)
	store := &memStore{scans: scans, endpoints: []models.Endpoint{{ID: "ep", Enabled: true, AllCodes: true}}}
	starter := &recordingStarter{}
	d := outbox.New(store, starter, outbox.Options{PollInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	store.mu.Lock() // hold the start-up poll until they are handed over
	runDispatcher(t, d)
	store.scans = nil // committed while the poll waits: only the handoff has them
	store.mu.Unlock()
	d.Handoff(scans[:2])
	d.Handoff(scans[2:])
	waitDispatched(t, store, 5)

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
	d := outbox.New(store, starter, outbox.Options{PollInterval: time.Hour, MaxHandoff: 3, Logger: slog.New(slog.DiscardHandler)})
	runDispatcher(t, d)
	waitReads(t, store, 1) // the start-up poll found nothing
	store.mu.Lock()
	store.scans = scans
	store.mu.Unlock()
	d.Handoff(scans[:2]) // held
	d.Handoff(scans[2:]) // 2+3 > 3: dropped, left to the poll
	waitDispatched(t, store, 5)

	starter.mu.Lock()
	defer starter.mu.Unlock()
	slices.Sort(starter.started)
	started := slices.Compact(slices.Clone(starter.started))
	if len(started) != 5 {
		t.Fatalf("started %v, want each of the 5 scans", starter.started)
	}
}

func waitReads(t *testing.T, store *memStore, want int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		store.mu.Lock()
		n := store.reads
		store.mu.Unlock()
		if n >= want {
			return
		}
	}
	t.Fatalf("PendingScans never called %d times", want)
}
