package outbox_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/testdb"
)

// drainer records what RunLeader makes of it.
type drainer struct {
	running chan bool // true when Run starts, false when it returns
	wakes   chan struct{}
}

func newDrainer() *drainer {
	return &drainer{running: make(chan bool, 4), wakes: make(chan struct{}, 100)}
}

func (d *drainer) Run(ctx context.Context) {
	d.running <- true
	<-ctx.Done()
	d.running <- false
}

func (d *drainer) Wake() { d.wakes <- struct{}{} }

// within waits for ch; the bound only keeps a broken build from hanging.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not happen", what)
		var zero T
		return zero
	}
}

func quiet(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
		t.Fatalf("%s", what)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestOneWorkerDrainsAndServeWakesIt: of two workers on one database, one
// runs the dispatcher and gets serve's notifications; when it goes, the
// other takes over. A worker on another schema of the same database is
// neither blocked by them nor woken by their notifications.
func TestOneWorkerDrainsAndServeWakesIt(t *testing.T) {
	db, dbURL := testdb.OpenWithURL(t, "postgres")
	logger := slog.New(slog.DiscardHandler)
	notifier := outbox.NewNotifier(db, logger)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go notifier.Run(ctx)

	first, second := newDrainer(), newDrainer()
	firstCtx, stopFirst := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { outbox.RunLeader(firstCtx, dbURL, first, logger) })
	if !within(t, first.running, "the first worker's dispatcher start") {
		t.Fatal("the first worker's dispatcher stopped")
	}
	wg.Go(func() { outbox.RunLeader(ctx, dbURL, second, logger) })

	elsewhere := newDrainer()
	wg.Go(func() { outbox.RunLeader(ctx, testdb.URL(t, "postgres"), elsewhere, logger) })
	within(t, elsewhere.running, "the other schema's dispatcher start")

	notifier.Notify()
	within(t, first.wakes, "the leader's wake-up")
	quiet(t, second.wakes, "the standby worker was woken")
	quiet(t, elsewhere.wakes, "a worker of another schema was woken")
	select {
	case <-second.running:
		t.Fatal("the standby worker runs a dispatcher beside the leader")
	default:
	}

	stopFirst()
	if within(t, first.running, "the first worker's dispatcher stop") {
		t.Fatal("want the first dispatcher stopped")
	}
	if !within(t, second.running, "the second worker taking over") {
		t.Fatal("the second worker's dispatcher stopped")
	}
	// The new leader listens before it runs: a notification now reaches it.
	notifier.Notify()
	within(t, second.wakes, "the new leader's wake-up")
	cancel()
}
