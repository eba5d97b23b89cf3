package deliverylog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
	URL        string // a replay to a bare URL: where
}

// ReplayTo replays delivery id of workspaceID to the endpoint to: the same
// event (same event ID, so a receiver that got it already can tell) as the
// delivery of its scan to that endpoint, a workflow of its own. The caller
// checks that to is the workspace's. An empty to.ID replays to the
// delivery's own endpoint (Replay), or, with to.URL set, to that bare URL:
// the same body, signed with the delivery's endpoint's secret, and nothing
// noted on that endpoint. With dryRun nothing is sent: the plan says what
// would be.
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
	if to.ID == "" && to.URL != "" {
		plan.ID, plan.URL = workflows.ReplayURLWorkflowID(in.EventID, to.URL), to.URL
		if dryRun {
			return plan, nil
		}
		runID, err := l.startAtURL(ctx, id, in, to.URL, "replay of "+id+" to a URL requested by "+requestedBy)
		plan.RunID = runID
		return plan, err
	}
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

	runID, err := l.startElsewhere(ctx, id, in, to, "replay of "+id+" requested by "+requestedBy)
	if err != nil {
		return ReplayPlan{}, err
	}
	plan.RunID = runID
	return plan, nil
}

// startElsewhere starts to's delivery of the event of in (the input of
// delivery id): a workflow of its own, which takes to's field policy.
// ErrStillRunning: that delivery is running.
func (l *Log) startElsewhere(ctx context.Context, id string, in workflows.DeliveryInput, to Endpoint, details string) (string, error) {
	workflowID := workflows.TestWorkflowID(in.EventID, to.ID)
	if in.ScanID != "" {
		workflowID = workflows.DeliveryWorkflowID(in.ScanID, to.ID)
	}
	moved := in
	moved.EndpointID = to.ID
	moved.Revision = workflows.CurrentRevision
	// The target's field policy applies: it may take less than the source.
	run, err := workflows.StartDelivery(ctx, l.temporal, workflows.Start{
		WorkflowID: workflowID,
		Input:      moved,
		Fields:     to.Fields,
		Summary:    fmt.Sprintf("%s replayed from %s → %s", in.EventType, in.EndpointID, to.URL),
		Details:    details,
		Eager:      l.opts.EagerStart,
		Again:      true,
	})
	if errors.Is(err, workflows.ErrAlreadyStarted) {
		return "", ErrStillRunning // that endpoint's delivery of the event is running
	}
	if err != nil {
		return "", fmt.Errorf("replay %s to %s: %w", id, to.ID, err)
	}
	l.opts.Logger.Info("delivery replayed elsewhere", "delivery", id, "to", workflowID, "run", run.GetRunID(), "details", details)
	return run.GetRunID(), nil
}

// startAtURL starts a replay of the event of in (the input of delivery id)
// to url: its own workflow, listed with the delivery's endpoint, whose
// attempts post to url (DeliveryInput.URL). The body is the one already
// sent, after the endpoint's field policy. ErrStillRunning: a replay of the
// event to that URL is running.
func (l *Log) startAtURL(ctx context.Context, id string, in workflows.DeliveryInput, url, details string) (string, error) {
	moved := in
	moved.URL = url
	moved.Revision = workflows.CurrentRevision
	moved.ParkFor = 0 // the endpoint's pause is not the URL's
	run, err := workflows.StartDelivery(ctx, l.temporal, workflows.Start{
		WorkflowID: workflows.ReplayURLWorkflowID(in.EventID, url),
		Input:      moved,
		Summary:    fmt.Sprintf("%s replayed from %s → %s", in.EventType, in.EndpointID, url),
		Details:    details,
		Eager:      l.opts.EagerStart,
		Again:      true,
	})
	if errors.Is(err, workflows.ErrAlreadyStarted) {
		return "", ErrStillRunning
	}
	if err != nil {
		return "", fmt.Errorf("replay %s to a URL: %w", id, err)
	}
	l.opts.Logger.Info("delivery replayed to a URL", "delivery", id, "run", run.GetRunID(), "details", details)
	return run.GetRunID(), nil
}
