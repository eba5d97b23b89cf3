package workflows_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/workflows"
)

// TestLocalFirstAttemptOutlastsTheWorkflowTaskTimeout runs a first attempt
// longer than the workflow task timeout on a real server: the SDK keeps
// the workflow task alive while the request runs, so the request is sent
// once and its answer is recorded in a LocalActivity marker.
func TestLocalFirstAttemptOutlastsTheWorkflowTaskTimeout(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 200, body: "ok", delay: 6 * time.Second})

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
	d := activities.NewDeliverer(newMemStore(t, enabledEndpoint(rcv.URL)), activities.Options{})
	workflows.Register(w, d)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := deliveryInput()
	in.OccurredAt = time.Now()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflows.DeliveryWorkflowID("scn_slow", "ep_1"),
		TaskQueue:             workflows.TaskQueue,
		TypedSearchAttributes: workflows.StartSearchAttributes(in),
		// Shorter than the answer takes, as the default 10 s is shorter
		// than the default attempt timeout.
		WorkflowTaskTimeout: 4 * time.Second,
		EnableEagerStart:    true,
	}, workflows.WorkflowName, in)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.DeliveryResult
	if err := run.Get(ctx, &res); err != nil {
		t.Fatalf("delivery failed: %v", err)
	}
	if res.Attempts != 1 || rcv.attemptHeaders() != "1" {
		t.Fatalf("result %+v, receiver saw attempts %q; want one request delivered", res, rcv.attemptHeaders())
	}

	var markers, activityTasks, taskCompletions int
	iter := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			markers++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			activityTasks++
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			taskCompletions++
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
			t.Errorf("history has %s: the workflow task was not kept alive", ev.GetEventType())
		}
	}
	if markers != 1 || activityTasks != 0 || taskCompletions < 2 {
		t.Errorf("history: %d markers, %d activities, %d workflow task completions; want 1 marker, no activity, heartbeats (≥ 2 completions)",
			markers, activityTasks, taskCompletions)
	}
}
