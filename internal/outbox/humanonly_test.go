package outbox_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// memStore is an outbox.Store over fixed scans and endpoints.
type memStore struct {
	mu         sync.Mutex
	scans      []models.Scan
	endpoints  []models.Endpoint
	dispatched []string
	reads      int    // PendingScans calls
	askedBot   []bool // the isBot of each SubscribedEndpoints call
	changed    chan struct{}
}

// changes receives after reads and marks (at most one pending).
func (m *memStore) changes() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changed == nil {
		m.changed = make(chan struct{}, 1)
	}
	return m.changed
}

// signal tells changes' receiver; m.mu is held.
func (m *memStore) signal() {
	if m.changed == nil {
		m.changed = make(chan struct{}, 1)
	}
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

func (m *memStore) PendingScans(_ context.Context, before time.Time, _ int) ([]models.Scan, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	defer m.signal()
	var out []models.Scan
	for _, s := range m.scans {
		if !slices.Contains(m.dispatched, s.ID) && s.Timestamp.Before(before) {
			out = append(out, s)
		}
	}
	return out, nil
}

// SubscribedEndpoints applies the human-only rule as the real store does
// in SQL, and remembers which bot verdicts it was asked about.
func (m *memStore) SubscribedEndpoints(_ context.Context, _, _ string, isBot bool) ([]models.Endpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.askedBot = append(m.askedBot, isBot)
	var out []models.Endpoint
	for _, ep := range m.endpoints {
		if !isBot || !ep.HumanOnly {
			out = append(out, ep)
		}
	}
	return out, nil
}

func (m *memStore) MarkDispatched(_ context.Context, ids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dispatched = append(m.dispatched, ids...)
	m.signal()
	return nil
}

// recordingStarter remembers which (scan, endpoint) deliveries were started.
type recordingStarter struct {
	mu      sync.Mutex
	started []string
}

func (r *recordingStarter) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	in := args[0].(workflows.DeliveryInput)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, in.ScanID+"→"+in.EndpointID)
	return nil, nil
}

func TestHumanOnlyEndpointsSkipBots(t *testing.T) {
	store := &memStore{
		scans: []models.Scan{
			{ID: "scan_human", WorkspaceID: "ws", CodeID: "code", Source: "qr"},
			{ID: "scan_bot", WorkspaceID: "ws", CodeID: "code", Source: "qr", IsBot: true, BotReason: "link_preview"},
		},
		endpoints: []models.Endpoint{
			{ID: "ep_all", Enabled: true, AllCodes: true},
			{ID: "ep_humans", Enabled: true, AllCodes: true, HumanOnly: true},
		},
	}
	starter := &recordingStarter{}
	d := outbox.New(store, starter, outbox.Options{Logger: slog.New(slog.DiscardHandler)})
	n, err := d.DrainOnce(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("DrainOnce = %d, %v", n, err)
	}
	slices.Sort(starter.started)
	want := []string{"scan_bot→ep_all", "scan_human→ep_all", "scan_human→ep_humans"}
	if !slices.Equal(starter.started, want) {
		t.Fatalf("started %v, want %v", starter.started, want)
	}
	// The bot scan is done with although one endpoint skipped it.
	if slices.Sort(store.dispatched); !slices.Equal(store.dispatched, []string{"scan_bot", "scan_human"}) {
		t.Fatalf("dispatched %v", store.dispatched)
	}
	// Scans of one code with different verdicts take different endpoints:
	// one lookup per verdict, each with the scan's own.
	if len(store.askedBot) != 2 || store.askedBot[0] == store.askedBot[1] {
		t.Fatalf("endpoints asked for bot verdicts %v, want one lookup for each", store.askedBot)
	}
}
