package workflows

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/scanforge/scanforge/internal/destination"
)

// Starter starts workflows: the part of client.Client a delivery's starter
// uses.
type Starter interface {
	ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error)
}

// Start is one delivery to start.
type Start struct {
	WorkflowID string // DeliveryWorkflowID, TestWorkflowID or OperationalWorkflowID
	Input      DeliveryInput
	// Fields is the endpoint's field policy: only the fields it lets
	// through enter the input, hence history.
	Fields  destination.Fields
	Summary string // shown in the Temporal UI
	// Eager lets the server hand the first workflow task to a worker of
	// the starter's own client (the worker runs in this process).
	Eager bool
	// Again starts a new run even if a closed one has this ID (a replay to
	// another endpoint); a running one is still ErrAlreadyStarted.
	Again   bool
	Details string // shown in the Temporal UI beside the summary
}

// ErrAlreadyStarted is StartDelivery's answer when a delivery with the
// workflow ID exists or existed: the ID makes starts idempotent.
var ErrAlreadyStarted = errors.New("delivery already started")

// StartDelivery is the one door through which deliveries start: the
// outbox's scans, test events, operational events and replays to another
// endpoint. A running delivery with the same ID is returned as is; a
// closed one is ErrAlreadyStarted (unless Again).
func StartDelivery(ctx context.Context, s Starter, st Start) (client.WorkflowRun, error) {
	payload, err := destination.PayloadFor(st.Fields, st.Input.Payload)
	if err != nil {
		return nil, fmt.Errorf("start %s: apply field policy: %w", st.WorkflowID, err)
	}
	in := st.Input
	in.Payload = payload
	opts := client.StartWorkflowOptions{
		ID:                       st.WorkflowID,
		TaskQueue:                TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		EnableEagerStart:         st.Eager,
		StaticSummary:            st.Summary,
		StaticDetails:            st.Details,
		TypedSearchAttributes:    StartSearchAttributes(in),
	}
	if st.Again {
		opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE
		opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	}
	run, err := s.ExecuteWorkflow(ctx, opts, WorkflowName, in)
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &already) {
		return nil, ErrAlreadyStarted
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", st.WorkflowID, err)
	}
	return run, nil
}
