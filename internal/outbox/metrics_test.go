package outbox_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/scanforge/scanforge/internal/metrics"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// oneScanStore holds one pending scan subscribed by three endpoints.
type oneScanStore struct{ dispatched bool }

func (s *oneScanStore) PendingScans(context.Context, time.Time, int) ([]models.Scan, error) {
	if s.dispatched {
		return nil, nil
	}
	return []models.Scan{{ID: "scan_1", WorkspaceID: "ws", CodeID: "code", Source: "qr"}}, nil
}

func (s *oneScanStore) SubscribedEndpoints(context.Context, string, string, bool) ([]models.Endpoint, error) {
	return []models.Endpoint{{ID: "ep_new", Enabled: true}, {ID: "ep_done", Enabled: true}, {ID: "ep_down", Enabled: true}}, nil
}

func (s *oneScanStore) MarkDispatched(context.Context, []string) error {
	s.dispatched = true
	return nil
}

// answeringStarter starts ep_new, finds ep_done's delivery already there and
// fails ep_down's.
type answeringStarter struct{}

func (answeringStarter) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	switch args[0].(workflows.DeliveryInput).EndpointID {
	case "ep_done":
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("exists", "", "")
	case "ep_down":
		return nil, errors.New("temporal unavailable")
	}
	return nil, nil
}

func TestWorkflowStartsAreCounted(t *testing.T) {
	m := metrics.New()
	d := outbox.New(&oneScanStore{}, answeringStarter{}, outbox.Options{Logger: slog.New(slog.DiscardHandler), Metrics: m})
	if _, err := d.DrainOnce(context.Background()); err == nil {
		t.Fatal("a failed start was not reported")
	}
	families, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "scanforge_workflow_starts_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			got[s.GetLabel()[0].GetValue()] = s.GetCounter().GetValue()
		}
	}
	want := map[string]float64{metrics.StartStarted: 1, metrics.StartAlreadyStarted: 1, metrics.StartError: 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("starts{result=%q} = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
