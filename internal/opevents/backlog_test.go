package opevents_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/scanforge/scanforge/internal/deliverylog"
	"github.com/scanforge/scanforge/internal/opevents"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

type fakeBacklogStore struct {
	stopped      []models.Endpoint
	alerts       map[string]int64
	takenByOther bool // another replica claims first
}

func (f *fakeBacklogStore) StoppedEndpoints(context.Context) ([]models.Endpoint, error) {
	return f.stopped, nil
}

func (f *fakeBacklogStore) BacklogAlerts(context.Context) ([]models.BacklogAlert, error) {
	var out []models.BacklogAlert
	for id, n := range f.alerts {
		out = append(out, models.BacklogAlert{EndpointID: id, Parked: n})
	}
	return out, nil
}

func (f *fakeBacklogStore) ClaimBacklogAlert(_ context.Context, id string, parked int64) (bool, error) {
	if _, ok := f.alerts[id]; ok || f.takenByOther {
		f.alerts[id] = parked
		return false, nil
	}
	f.alerts[id] = parked
	return true, nil
}

func (f *fakeBacklogStore) ClearBacklogAlert(_ context.Context, id string) error {
	delete(f.alerts, id)
	return nil
}

func (f *fakeBacklogStore) GetScan(_ context.Context, _, scanID string) (models.Scan, error) {
	return models.Scan{ID: scanID, Timestamp: time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)}, nil
}

type fakeParked map[string]int64

func (f fakeParked) CountParked(_ context.Context, _, endpointID string) (int64, error) {
	return f[endpointID], nil
}

func (f fakeParked) OldestParked(_ context.Context, _, endpointID string) (deliverylog.Parked, bool, error) {
	return deliverylog.Parked{ID: "delivery:scan_1:" + endpointID, ScanID: "scan_1"}, f[endpointID] > 0, nil
}

type fakeNotifier struct {
	sent []webhook.EndpointPausedBacklog
	err  error
}

func (f *fakeNotifier) Notify(_ context.Context, _, eventType string, data any) error {
	if f.err != nil {
		return f.err
	}
	if eventType != webhook.TypeEndpointPausedBacklog {
		return errors.New("unexpected type " + eventType)
	}
	f.sent = append(f.sent, data.(webhook.EndpointPausedBacklog))
	return nil
}

func TestBacklogWatchSendsOncePerCrossing(t *testing.T) {
	ctx := context.Background()
	paused := time.Now()
	ep := models.Endpoint{ID: "ep_1", WorkspaceID: "ws_1", URL: "https://hooks.example.com", Enabled: true, PausedAt: &paused}
	store := &fakeBacklogStore{stopped: []models.Endpoint{ep}, alerts: map[string]int64{}}
	parked := fakeParked{"ep_1": 10}
	notifier := &fakeNotifier{}
	w := &opevents.BacklogWatch{Store: store, Parked: parked, Notifier: notifier, Threshold: 10}

	check := func(wantSent int) {
		t.Helper()
		if err := w.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if len(notifier.sent) != wantSent {
			t.Fatalf("%d events sent, want %d", len(notifier.sent), wantSent)
		}
	}
	check(0) // at the threshold
	parked["ep_1"] = 11
	check(1)
	if got := notifier.sent[0]; got.Parked != 11 || got.Threshold != 10 || got.State != "paused" || got.OldestScanID != "scan_1" ||
		got.OldestScanAt == nil || got.OldestDeliveryID != "delivery:scan_1:ep_1" {
		t.Fatalf("sent %+v", got)
	}
	parked["ep_1"] = 50
	check(1) // the same crossing
	parked["ep_1"] = 10
	check(1) // back at the threshold: re-armed
	parked["ep_1"] = 12
	check(2)

	// Resumed: re-armed, though the count is still high.
	store.stopped = nil
	check(2)
	if len(store.alerts) != 0 {
		t.Fatalf("alerts %v after the endpoint took deliveries again", store.alerts)
	}
	store.stopped = []models.Endpoint{ep}
	check(3)

	// A send that fails is not recorded: the next check sends it.
	delete(store.alerts, "ep_1")
	notifier.err = errors.New("temporal down")
	if err := w.Check(ctx); err == nil {
		t.Fatal("a failed send was not reported")
	}
	if len(store.alerts) != 0 {
		t.Fatalf("a failed send stayed recorded: %v", store.alerts)
	}
	notifier.err = nil
	check(4)

	// Another replica claimed it: this one sends nothing.
	delete(store.alerts, "ep_1")
	store.takenByOther = true
	check(4)
	if !slices.Equal([]int64{11, 12, 12, 12}, []int64{notifier.sent[0].Parked, notifier.sent[1].Parked, notifier.sent[2].Parked, notifier.sent[3].Parked}) {
		t.Fatalf("sent %+v", notifier.sent)
	}
}
