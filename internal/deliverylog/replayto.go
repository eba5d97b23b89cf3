package deliverylog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/scanforge/scanforge/workflows"
)

// ReplayPlan is what a replay sends, or would send (a dry run).
type ReplayPlan struct {
	DryRun     bool
	ID         string // the delivery that runs (or would run) it
	RunID      string // "" for a dry run
	EndpointID string
	EventID    string
	EventType  string
	Payload    json.RawMessage
}

// ReplayTo replays delivery id of workspaceID to the endpoint to: the same
// event (same event ID, so a receiver that got it already can tell) as the
// delivery of its scan to that endpoint, a workflow of its own. The caller
// checks that to is the workspace's. An empty to.ID replays to the
// delivery's own endpoint (Replay). With dryRun nothing is sent: the plan
// says what would be.
func (l *Log) ReplayTo(ctx context.Context, workspaceID, id string, to Endpoint, requestedBy string, dryRun bool) (ReplayPlan, error) {
	info, err := l.describe(ctx, workspaceID, id)
	if err != nil {
		return ReplayPlan{}, err
	}
	_, in, err := l.readRun(ctx, info)
	if err != nil {
		return ReplayPlan{}, err
	}
	plan := ReplayPlan{DryRun: dryRun, ID: id, EndpointID: in.EndpointID, EventID: in.EventID, EventType: in.EventType, Payload: in.Payload}
	if to.ID != "" && to.ID != in.EndpointID {
		plan.EndpointID = to.ID
		plan.ID = workflows.TestWorkflowID(in.EventID, to.ID)
		if in.ScanID != "" {
			plan.ID = workflows.DeliveryWorkflowID(in.ScanID, to.ID)
		}
	}
	if dryRun {
		return plan, nil
	}
	if plan.EndpointID == in.EndpointID {
		r, err := l.Replay(ctx, workspaceID, id, requestedBy)
		plan.RunID = r.RunID
		return plan, err
	}

	moved := in
	moved.EndpointID = to.ID
	moved.Revision = workflows.CurrentRevision
	run, err := l.temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       plan.ID,
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		EnableEagerStart:         l.opts.EagerStart,
		StaticSummary:            fmt.Sprintf("%s replayed from %s → %s", in.EventType, in.EndpointID, to.URL),
		StaticDetails:            "replay of " + id + " requested by " + requestedBy,
		TypedSearchAttributes:    workflows.StartSearchAttributes(moved),
	}, workflows.WorkflowName, moved)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return ReplayPlan{}, ErrStillRunning // that endpoint's delivery of the event is running
	}
	if err != nil {
		return ReplayPlan{}, fmt.Errorf("replay %s to %s: %w", id, to.ID, err)
	}
	l.opts.Logger.Info("delivery replayed elsewhere", "delivery", id, "to", plan.ID, "run", run.GetRunID(), "by", requestedBy)
	plan.RunID = run.GetRunID()
	return plan, nil
}
