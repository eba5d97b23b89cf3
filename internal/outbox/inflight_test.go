package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
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
	d := outbox.New(store, starter, outbox.Options{
		MaxInFlight: 1, InFlightFor: time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	// No delivery ever finishes: every place is freed by InFlightFor alone.
	if _, err := d.DrainOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(store.dispatched) != 5 {
		t.Errorf("dispatched %v, want all five scans", store.dispatched)
	}
}
