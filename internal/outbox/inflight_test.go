package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
)

// fiveScans returns a store with five pending scans of one code, each for
// one endpoint.
func fiveScans() *memStore {
	m := &memStore{endpoints: []models.Endpoint{{ID: "ep", Enabled: true, AllCodes: true}}}
	for i := range 5 {
		m.scans = append(m.scans, models.Scan{ID: fmt.Sprintf("scan_%d", i), WorkspaceID: "ws", CodeID: "code", Source: "qr"})
	}
	return m
}

// heldStarter starts workflows that run until the test releases them (or
// the caller stops waiting), and records the most that ran at once.
type heldStarter struct {
	mu      sync.Mutex
	running int
	most    int
	started chan *heldRun
}

type heldRun struct {
	client.WorkflowRun // only Get is used
	s                  *heldStarter
	release            chan struct{}
}

func (h *heldStarter) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	h.mu.Lock()
	h.running++
	h.most = max(h.most, h.running)
	h.mu.Unlock()
	r := &heldRun{s: h, release: make(chan struct{})}
	h.started <- r
	return r, nil
}

func (r *heldRun) Get(ctx context.Context, _ any) error {
	defer func() {
		r.s.mu.Lock()
		r.s.running--
		r.s.mu.Unlock()
	}()
	select {
	case <-r.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestDeliveriesInFlightAreBounded(t *testing.T) {
	store := fiveScans()
	starter := &heldStarter{started: make(chan *heldRun, 5)}
	d := outbox.New(store, starter, outbox.Options{
		MaxInFlight: 2, InFlightFor: time.Hour, Logger: slog.New(slog.DiscardHandler),
	})
	done := make(chan error, 1)
	go func() { _, err := d.DrainOnce(context.Background()); done <- err }()

	// Let each delivery finish once it has started: the rest start only as
	// earlier ones finish.
	for range 5 {
		r := <-starter.started
		close(r.release)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(store.dispatched) != 5 {
		t.Errorf("dispatched %v, want all five scans", store.dispatched)
	}
	if starter.most > 2 {
		t.Errorf("%d deliveries ran at once, want at most MaxInFlight = 2", starter.most)
	}
}

func TestDeliveriesOutlivingInFlightForFreeTheirPlace(t *testing.T) {
	store := fiveScans()
	starter := &heldStarter{started: make(chan *heldRun, 5)}
	clock := newFakeClock()
	const inFlightFor = 10 * time.Second
	d := outbox.New(store, starter, outbox.Options{
		MaxInFlight: 1, InFlightFor: inFlightFor, Clock: clock, Logger: slog.New(slog.DiscardHandler),
	})
	done := make(chan error, 1)
	go func() { _, err := d.DrainOnce(context.Background()); done <- err }()

	// No delivery ever finishes: every place is freed by InFlightFor alone,
	// as the dispatcher's clock passes it.
	for i := range 5 {
		receive(t, starter.started, fmt.Sprintf("start of delivery %d", i+1))
		if d := receive(t, clock.armed, "in-flight limit armed"); d != inFlightFor {
			t.Fatalf("delivery %d: a %v wait armed, want InFlightFor %v", i+1, d, inFlightFor)
		}
		select {
		case <-starter.started:
			t.Fatalf("delivery %d started while MaxInFlight = 1 was taken", i+2)
		default:
		}
		clock.Advance(inFlightFor)
	}
	if err := receive(t, done, "end of DrainOnce"); err != nil {
		t.Fatal(err)
	}
	if len(store.dispatched) != 5 {
		t.Errorf("dispatched %v, want all five scans", store.dispatched)
	}
}

// finishingStarter starts runs that never finish as far as the server is
// concerned (Get blocks), and reports the ID of each start.
type finishingStarter struct {
	started chan string
}

type neverDone struct{ client.WorkflowRun }

func (neverDone) Get(ctx context.Context, _ any) error { <-ctx.Done(); return ctx.Err() }

func (f *finishingStarter) ExecuteWorkflow(_ context.Context, o client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.started <- o.ID
	return neverDone{}, nil
}

func TestAnAttemptFinishedInProcessFreesItsPlace(t *testing.T) {
	store := fiveScans()
	starter := &finishingStarter{started: make(chan string, 5)}
	finishes := outbox.NewFinishes()
	// The clock never moves: neither InFlightFor nor the wait for the local
	// attempt can free a place.
	d := outbox.New(store, starter, outbox.Options{
		MaxInFlight: 1, InFlightFor: time.Hour, Finishes: finishes, Clock: newFakeClock(), Logger: slog.New(slog.DiscardHandler),
	})
	done := make(chan error, 1)
	go func() { _, err := d.DrainOnce(context.Background()); done <- err }()

	// The server never reports a result: only the worker's word that each
	// attempt ended lets the next delivery start.
	var ids []string
	for range 5 {
		id := <-starter.started
		ids = append(ids, id)
		finishes.AttemptFinished(id)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(store.dispatched) != 5 {
		t.Errorf("dispatched %v, want all five scans", store.dispatched)
	}
	for i := range 5 {
		if want := fmt.Sprintf("delivery:scan_%d:ep", i); !slices.Contains(ids, want) {
			t.Errorf("started %v, want %s among them", ids, want)
		}
	}
	// A word about a workflow nobody waits for is ignored.
	finishes.AttemptFinished("delivery:unknown:ep")
}
