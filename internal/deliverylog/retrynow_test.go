package deliverylog

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// oneEndpoint is an EndpointStore holding ep alone.
type oneEndpoint struct{ ep models.Endpoint }

func (s oneEndpoint) GetEndpointByID(_ context.Context, id string) (models.Endpoint, error) {
	if id != s.ep.ID {
		return models.Endpoint{}, models.ErrNotFound
	}
	return s.ep, nil
}

func (oneEndpoint) DisableEndpoint(context.Context, string, models.DisableCause, string) error {
	return nil
}

// TestRetryNowDuringTheFirstAttemptSendsItOnce asks for a retry while the
// first attempt (a local activity in the first workflow task) waits for a
// slow answer: the request goes out once and the delivery completes after
// that one attempt.
func TestRetryNowDuringTheFirstAttemptSendsItOnce(t *testing.T) {
	var requests atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		time.Sleep(2 * time.Second)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rcv.Close)
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}

	srv, err := devserver.Start(context.Background(), devserver.Options{
		Logger:           slog.New(slog.DiscardHandler),
		SearchAttributes: workflows.SearchAttributeTypes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c, err := client.Dial(client.Options{HostPort: srv.FrontendAddress(), Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	workflows.Register(w, activities.NewDeliverer(oneEndpoint{models.Endpoint{
		ID: "ep_1", WorkspaceID: "ws_1", URL: rcv.URL, Enabled: true, AllCodes: true, Secret: secret,
	}}, activities.Options{}))
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := workflows.DeliveryInput{
		WorkspaceID: "ws_1", EndpointID: "ep_1", ScanID: "scan_1", EventID: "evt_1", EventType: "scan.created",
		Payload: json.RawMessage(`{"id":"evt_1"}`), OccurredAt: time.Now(), Revision: workflows.CurrentRevision,
	}
	id := workflows.DeliveryWorkflowID(in.ScanID, in.EndpointID)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue, TypedSearchAttributes: workflows.StartSearchAttributes(in),
		EnableEagerStart: true,
	}, workflows.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	for requests.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	log := New(c, Options{Namespace: srv.Namespace()})
	if err := log.RetryNow(ctx, "ws_1", id); err != nil {
		t.Fatalf("retry-now during the first attempt: %v", err)
	}

	var res workflows.DeliveryResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // a second request would be on its way
	if n := requests.Load(); n != 1 || res.Attempts != 1 {
		t.Fatalf("%d requests, %d attempts; want the first attempt sent once", n, res.Attempts)
	}
	iter := c.GetWorkflowHistory(ctx, id, run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED {
			t.Errorf("history has a failed workflow task: %v", ev.GetWorkflowTaskFailedEventAttributes().GetCause())
		}
	}
}
