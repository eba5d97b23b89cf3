package deliverylog

import (
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/scanforge/scanforge/workflows"
)

// keyword returns a Keyword search attribute, or "" when absent.
func keyword(sa *commonpb.SearchAttributes, name string) string {
	p := sa.GetIndexedFields()[name]
	if p == nil {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}

// integer returns an Int search attribute, or nil when absent.
func integer(sa *commonpb.SearchAttributes, name string) *int {
	p := sa.GetIndexedFields()[name]
	if p == nil {
		return nil
	}
	var n int64
	if err := converter.GetDefaultDataConverter().FromPayload(p, &n); err != nil {
		return nil
	}
	i := int(n)
	return &i
}

// stateOf is the delivery state of a run. A finished run's state is its
// execution status, which Temporal writes itself; a running one's is
// ScanForgeState (pending until the first failed attempt).
func stateOf(status enumspb.WorkflowExecutionStatus, sa *commonpb.SearchAttributes) string {
	switch status {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return workflows.StateDelivered
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return workflows.StateFailed
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return workflows.StateCanceled
	}
	switch state := keyword(sa, workflows.SearchState); state {
	case workflows.StateRetrying, workflows.StatePaused:
		return state
	}
	return workflows.StatePending
}

// summaryOf reads a Summary from a visibility record or a description.
func summaryOf(info *workflowpb.WorkflowExecutionInfo) Summary {
	sa := info.GetSearchAttributes()
	s := Summary{
		ID:          info.GetExecution().GetWorkflowId(),
		RunID:       info.GetExecution().GetRunId(),
		EventType:   eventTypeOf(info.GetExecution().GetWorkflowId()),
		WorkspaceID: keyword(sa, workflows.SearchWorkspace),
		EndpointID:  keyword(sa, workflows.SearchEndpoint),
		CodeID:      keyword(sa, workflows.SearchCode),
		ScanID:      keyword(sa, workflows.SearchScan),
		State:       stateOf(info.GetStatus(), sa),
		LastStatus:  integer(sa, workflows.SearchLastStatus),
		StartedAt:   info.GetStartTime().AsTime(),
	}
	if n := integer(sa, workflows.SearchAttempts); n != nil {
		s.Attempts = *n
	} else if s.State == workflows.StateDelivered {
		// Delivered without a failure: the run upserted nothing
		// (from workflows.RevisionLeanState on), so it made one attempt. Its status
		// is in history only.
		s.Attempts = 1
	}
	if info.GetCloseTime() != nil {
		s.FinishedAt = info.GetCloseTime().AsTime()
	}
	return s
}

// isDelivery reports whether info is a delivery of workspaceID. Anything
// else is "not found" to the caller.
func isDelivery(info *workflowpb.WorkflowExecutionInfo, workspaceID string) bool {
	return info.GetType().GetName() == workflows.WorkflowName &&
		workspaceID != "" && keyword(info.GetSearchAttributes(), workflows.SearchWorkspace) == workspaceID
}
