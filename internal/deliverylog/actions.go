package deliverylog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/internal/id"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// Replayed is the new run a replay made.
type Replayed struct {
	ID    string
	RunID string
}

// Replay re-executes delivery id of workspaceID from the start, exactly as
// the Temporal UI's Reset to the first workflow task does: a new run under
// the same workflow ID, with the same input (so the same event ID), signed
// with the endpoint's secret of the moment. requestedBy (e.g. "API key
// sf_1a2b3c4d") goes into the reset reason, which both the API and the UI
// show. A delivery that is still running is not replayed (ErrStillRunning):
// retry-now is the way to hurry it.
func (l *Log) Replay(ctx context.Context, workspaceID, id, requestedBy string) (Replayed, error) {
	info, err := l.describe(ctx, workspaceID, id)
	if err != nil {
		return Replayed{}, err
	}
	return l.reset(ctx, info, "replay requested by "+requestedBy)
}

func (l *Log) reset(ctx context.Context, info *workflowpb.WorkflowExecutionInfo, reason string) (Replayed, error) {
	exec := info.GetExecution()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return Replayed{}, ErrStillRunning
	}
	eventID, err := l.firstWorkflowTaskCompleted(ctx, exec)
	if err != nil {
		return Replayed{}, err
	}
	resp, err := l.temporal.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 l.opts.Namespace,
		WorkflowExecution:         exec,
		Reason:                    reason,
		WorkflowTaskFinishEventId: eventID,
		RequestId:                 uuid.NewString(),
		// A retry-now of the old run must not skip a wait of the new one.
		ResetReapplyExcludeTypes: []enumspb.ResetReapplyExcludeType{
			enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL,
			enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE,
		},
	})
	if err != nil {
		return Replayed{}, fmt.Errorf("reset %s: %w", exec.GetWorkflowId(), err)
	}
	l.opts.Logger.Info("delivery replayed", "delivery", exec.GetWorkflowId(),
		"old_run", exec.GetRunId(), "new_run", resp.GetRunId(), "reason", reason)
	return Replayed{ID: exec.GetWorkflowId(), RunID: resp.GetRunId()}, nil
}

// firstWorkflowTaskCompleted finds the reset point that re-executes the
// whole workflow: the first WorkflowTaskCompleted event (4 in a first run,
// later in a run that is itself a replay).
func (l *Log) firstWorkflowTaskCompleted(ctx context.Context, exec *commonpb.WorkflowExecution) (int64, error) {
	iter := l.temporal.GetWorkflowHistory(ctx, exec.GetWorkflowId(), exec.GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			return 0, fmt.Errorf("read history of %s: %w", exec.GetWorkflowId(), err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			return ev.GetEventId(), nil
		}
	}
	return 0, fmt.Errorf("history of %s run %s has no completed workflow task", exec.GetWorkflowId(), exec.GetRunId())
}

// BulkFilter selects the deliveries of an endpoint to replay.
type BulkFilter struct {
	State string    // a final state; "" means failed
	Since time.Time // started at or after; zero: no bound
	Until time.Time // started before; zero: no bound
}

// BulkResult is the outcome of a bulk replay.
type BulkResult struct {
	Replayed  int
	Failed    int  // resets that Temporal refused (logged)
	Truncated bool // more deliveries matched than BulkLimit
}

// ReplayEndpoint replays every delivery of endpointID in workspaceID that
// matches f, at most BulkLimit of them, at BulkRate resets per second. The
// caller checks that the endpoint is the workspace's.
func (l *Log) ReplayEndpoint(ctx context.Context, workspaceID, endpointID string, f BulkFilter, requestedBy string) (BulkResult, error) {
	state := f.State
	if state == "" {
		state = workflows.StateFailed
	}
	if state == workflows.StatePending || state == workflows.StateRetrying || state == workflows.StatePaused {
		return BulkResult{}, fmt.Errorf("%w: only finished deliveries are replayed, not %s ones", ErrInvalidFilter, state)
	}
	if endpointID == "" {
		return BulkResult{}, fmt.Errorf("%w: no endpoint", ErrInvalidFilter)
	}
	filter := Filter{EndpointID: endpointID, State: state, Since: f.Since, Until: f.Until}
	reason := "bulk replay of endpoint " + endpointID + " requested by " + requestedBy

	var res BulkResult
	cursor := ""
	for {
		page, err := l.list(ctx, workspaceID, filter, cursor, visibilityPageSize)
		if err != nil {
			return res, err
		}
		for _, d := range page.Deliveries {
			if res.Replayed+res.Failed >= l.opts.BulkLimit {
				res.Truncated = true
				return res, nil
			}
			if err := l.bulk.Wait(ctx); err != nil {
				return res, fmt.Errorf("bulk replay interrupted: %w", err)
			}
			replayed, err := l.replayListed(ctx, workspaceID, d, reason)
			switch {
			case ctx.Err() != nil:
				return res, ctx.Err()
			case err != nil:
				l.opts.Logger.Warn("bulk replay: delivery not replayed", "delivery", d.ID, "error", err)
				res.Failed++
			case replayed:
				res.Replayed++
			}
		}
		if page.Next == "" {
			return res, nil
		}
		cursor = page.Next
	}
}

// replayListed resets a delivery found by a listing, unless the listed run
// is no longer the current one: visibility lags, and a delivery replayed a
// moment ago (by this loop or anyone) no longer matches the filter.
func (l *Log) replayListed(ctx context.Context, workspaceID string, d Summary, reason string) (bool, error) {
	info, err := l.describe(ctx, workspaceID, d.ID)
	if err != nil {
		return false, err
	}
	if info.GetExecution().GetRunId() != d.RunID {
		return false, nil
	}
	if _, err := l.reset(ctx, info, reason); err != nil {
		return false, err
	}
	return true, nil
}

// RetryNow makes a delivery that waits for its next attempt attempt at
// once (the workflow's retry-now signal). A signal during an attempt is
// dropped by the workflow: the attempt already runs.
func (l *Log) RetryNow(ctx context.Context, workspaceID, id string) error {
	info, err := l.describe(ctx, workspaceID, id)
	if err != nil {
		return err
	}
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return ErrNotRunning
	}
	if keyword(info.GetSearchAttributes(), workflows.SearchState) == workflows.StatePending {
		// No attempt has finished: the first is running, and a retry-now
		// arriving during an attempt is answered by it. Not signalling
		// also keeps a first attempt that runs as a local activity
		// (workflows.RevisionLocalFirst) from being run twice: a signal
		// during its workflow task makes the server reject the task's
		// completion, marker included, and the attempt runs again.
		// (The description reads the execution's own attributes, not
		// visibility: it does not lag.)
		return nil
	}
	err = l.temporal.SignalWorkflow(ctx, id, info.GetExecution().GetRunId(), workflows.RetryNowSignal, nil)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return ErrNotRunning // finished between the two calls
	}
	if err != nil {
		return fmt.Errorf("signal %s: %w", id, err)
	}
	return nil
}

// Endpoint is what a test event needs to know of its endpoint.
type Endpoint struct {
	ID          string
	WorkspaceID string
	URL         string
	Fields      destination.Fields // the endpoint's field privacy policy
}

// testEventData is the data of a test event.
type testEventData struct {
	EndpointID string `json:"endpoint_id"`
	Message    string `json:"message"`
}

// SendTest delivers a test event to ep through the delivery workflow, like
// any scan's event, and returns the delivery's ID. The caller checks that
// the endpoint is the workspace's.
func (l *Log) SendTest(ctx context.Context, ep Endpoint) (string, error) {
	now := l.opts.Now().UTC()
	eventID := id.New(id.Event, now)
	data, err := json.Marshal(testEventData{
		EndpointID: ep.ID,
		Message:    "This is a test event from ScanForge. If you see it, your endpoint receives and can verify deliveries.",
	})
	if err != nil {
		return "", fmt.Errorf("encode test event: %w", err)
	}
	payload, err := json.Marshal(webhook.Event{
		ID: eventID, Type: webhook.TypeTest, APIVersion: webhook.APIVersion, CreatedAt: now, Data: data,
	})
	if err != nil {
		return "", fmt.Errorf("encode test event: %w", err)
	}
	in := workflows.DeliveryInput{
		WorkspaceID: ep.WorkspaceID,
		EndpointID:  ep.ID,
		EventID:     eventID,
		EventType:   webhook.TypeTest,
		Payload:     payload,
		OccurredAt:  now,
		Schedule:    l.opts.Schedule,
		Revision:    workflows.CurrentRevision,
	}
	// A test event has no scan data to filter; it goes through the same
	// door as scans all the same.
	workflowID := workflows.TestWorkflowID(eventID, ep.ID)
	_, err = workflows.StartDelivery(ctx, l.temporal, workflows.Start{
		WorkflowID: workflowID,
		Input:      in,
		Fields:     ep.Fields,
		Summary:    fmt.Sprintf("%s → %s", webhook.TypeTest, strings.TrimSpace(ep.URL)),
		Eager:      l.opts.EagerStart,
	})
	if err != nil {
		return "", fmt.Errorf("start test delivery to %s: %w", ep.ID, err)
	}
	return workflowID, nil
}
