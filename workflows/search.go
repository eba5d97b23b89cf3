package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Custom search attributes of a delivery workflow. They make the delivery
// log filterable in the Temporal UI and in the API. The server registers
// them on its namespace before any worker or starter uses them: an unknown
// attribute fails the start or the workflow task.
const (
	SearchWorkspace  = "ScanForgeWorkspace"  // Keyword: the owner; every API query filters on it
	SearchCode       = "ScanForgeCode"       // Keyword: the scanned code ("" for test events)
	SearchEndpoint   = "ScanForgeEndpoint"   // Keyword
	SearchScan       = "ScanForgeScan"       // Keyword: the scan ("" for test events)
	SearchState      = "ScanForgeState"      // Keyword: one of the State* values
	SearchLastStatus = "ScanForgeLastStatus" // Int: HTTP status of the last attempt; 0 for no answer
	SearchAttempts   = "ScanForgeAttempts"   // Int: attempts made by the run
)

// Delivery states, as ScanForgeState holds them. A run starts pending, turns
// retrying after its first failed attempt and ends in one of the final
// states, which match the workflow's status: Completed is delivered, Failed
// is failed (gave up or a permanent answer), Canceled is canceled.
const (
	StatePending   = "pending"
	StateRetrying  = "retrying"
	StatePaused    = "paused" // parked while its endpoint is paused or disabled
	StateDelivered = "delivered"
	StateFailed    = "failed"
	StateCanceled  = "canceled"
)

// SearchAttributeTypes lists the custom search attributes to register.
func SearchAttributeTypes() map[string]enumspb.IndexedValueType {
	return map[string]enumspb.IndexedValueType{
		SearchWorkspace:  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchCode:       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchEndpoint:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchScan:       enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchState:      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		SearchLastStatus: enumspb.INDEXED_VALUE_TYPE_INT,
		SearchAttempts:   enumspb.INDEXED_VALUE_TYPE_INT,
	}
}

// StartSearchAttributes are the search attributes a delivery starts with.
// Setting them at start costs no visibility write beyond the start's own.
func StartSearchAttributes(in DeliveryInput) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{
		temporal.NewSearchAttributeKeyKeyword(SearchWorkspace).ValueSet(in.WorkspaceID),
		temporal.NewSearchAttributeKeyKeyword(SearchEndpoint).ValueSet(in.EndpointID),
		temporal.NewSearchAttributeKeyKeyword(SearchState).ValueSet(StatePending),
	}
	if in.CodeID != "" {
		updates = append(updates, temporal.NewSearchAttributeKeyKeyword(SearchCode).ValueSet(in.CodeID))
	}
	if in.ScanID != "" {
		updates = append(updates, temporal.NewSearchAttributeKeyKeyword(SearchScan).ValueSet(in.ScanID))
	}
	return temporal.NewSearchAttributes(updates...)
}

// stateChangeID names the workflow.GetVersion change that added the state
// upserts; runs recorded before it upsert nothing.
const stateChangeID = "upsert-delivery-state"

// stateRecorder keeps ScanForgeState, ScanForgeLastStatus and
// ScanForgeAttempts up to date. Every upsert is a visibility write of its
// own, the server's main cost, so it upserts only when the state or the last
// status changes: on the first failure, when a retrying endpoint's answer
// changes, and at the end — except, from RevisionLeanState on, the end of a
// delivery that never failed, which stays pending in its attributes: the
// delivery log reads its state from the execution status, and the exact
// status from history.
type stateRecorder struct {
	state   string
	status  int
	decided bool
	enabled bool
	lean    bool
}

func newStateRecorder(revision int) *stateRecorder {
	r := &stateRecorder{state: StatePending, status: -1}
	if revision >= RevisionLeanState {
		// The revision in the input already tells replays which code ran:
		// no version marker (whose own attribute upsert is another write).
		r.decided, r.enabled, r.lean = true, true, true
	}
	return r
}

// record notes the delivery's state after attempts attempts, the last of
// which answered status (0: no answer).
func (r *stateRecorder) record(ctx workflow.Context, state string, status, attempts int) {
	countFinalState(ctx, state)
	if state == r.state && status == r.status {
		return
	}
	if r.lean && state == StateDelivered && r.state == StatePending {
		return // delivered at the first attempt: Completed says it
	}
	r.state, r.status = state, status
	if !r.decided {
		// Asked at the first upsert rather than at the start: the version
		// marker's own search attribute upsert then lands in a workflow task
		// that writes visibility anyway.
		r.enabled = workflow.GetVersion(ctx, stateChangeID, workflow.DefaultVersion, 1) >= 1
		r.decided = true
	}
	if !r.enabled {
		return
	}
	err := workflow.UpsertTypedSearchAttributes(ctx,
		temporal.NewSearchAttributeKeyKeyword(SearchState).ValueSet(state),
		temporal.NewSearchAttributeKeyInt64(SearchLastStatus).ValueSet(int64(status)),
		temporal.NewSearchAttributeKeyInt64(SearchAttempts).ValueSet(int64(attempts)),
	)
	if err != nil {
		// Only an invalid attribute fails here; the delivery matters more.
		workflow.GetLogger(ctx).Warn("Upsert of delivery state failed", "State", state, "Error", err)
	}
}
