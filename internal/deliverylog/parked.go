package deliverylog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/scanforge/scanforge/workflows"
)

// parkedQuery is the visibility query of endpointID's parked deliveries.
func parkedQuery(workspaceID, endpointID string) (string, error) {
	if !isIDChars(workspaceID) || !isIDChars(endpointID) {
		return "", fmt.Errorf("%w: parked deliveries of %q", ErrInvalidFilter, endpointID)
	}
	return fmt.Sprintf("%s = '%s' AND %s = '%s' AND WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s = '%s'",
		workflows.SearchWorkspace, workspaceID, workflows.SearchEndpoint, endpointID, workflows.WorkflowName,
		workflows.SearchState, workflows.StatePaused), nil
}

// CountParked counts endpointID's parked deliveries: one visibility count,
// which SQL and Elasticsearch visibility answer alike.
func (l *Log) CountParked(ctx context.Context, workspaceID, endpointID string) (int64, error) {
	query, err := parkedQuery(workspaceID, endpointID)
	if err != nil {
		return 0, err
	}
	return l.count(ctx, query)
}

func (l *Log) count(ctx context.Context, query string) (int64, error) {
	resp, err := l.temporal.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: l.opts.Namespace,
		Query:     query,
	})
	if err != nil {
		return 0, fmt.Errorf("count deliveries: %w", err)
	}
	return resp.GetCount(), nil
}

// Parked is a parked delivery.
type Parked struct {
	ID        string
	ScanID    string // "" for a test event
	StartedAt time.Time
}

// oldestStartPrecision is where OldestParked stops narrowing start times
// down and lists what is left.
const oldestStartPrecision = time.Second

// OldestParked returns endpointID's parked delivery that started first
// (ok false when none is parked). Visibility cannot sort running
// deliveries oldest first, and listing them all costs a page per 100, so
// it narrows the start time down with counts (about 30 of them, whatever
// the backlog), then lists the few deliveries left.
func (l *Log) OldestParked(ctx context.Context, workspaceID, endpointID string) (Parked, bool, error) {
	query, err := parkedQuery(workspaceID, endpointID)
	if err != nil {
		return Parked{}, false, err
	}
	before := func(t time.Time) string {
		return fmt.Sprintf("%s AND StartTime < '%s'", query, t.UTC().Format(time.RFC3339Nano))
	}
	// Invariant: nothing parked started before lo; something before hi.
	lo, hi := time.Unix(0, 0), l.opts.Now().Add(time.Minute)
	if n, err := l.count(ctx, before(hi)); err != nil || n == 0 {
		return Parked{}, false, err
	}
	for hi.Sub(lo) > oldestStartPrecision {
		mid := lo.Add(hi.Sub(lo) / 2)
		n, err := l.count(ctx, before(mid))
		if err != nil {
			return Parked{}, false, err
		}
		if n > 0 {
			hi = mid
		} else {
			lo = mid
		}
	}
	rows, err := l.listAll(ctx, fmt.Sprintf("%s AND StartTime >= '%s'", before(hi), lo.UTC().Format(time.RFC3339Nano)))
	if err != nil || len(rows) == 0 {
		return Parked{}, false, err // len 0: it was resumed meanwhile
	}
	first := slices.MinFunc(rows, func(a, b *workflowpb.WorkflowExecutionInfo) int {
		if c := a.GetStartTime().AsTime().Compare(b.GetStartTime().AsTime()); c != 0 {
			return c
		}
		return strings.Compare(drainKey(a), drainKey(b))
	})
	return Parked{
		ID:        first.GetExecution().GetWorkflowId(),
		ScanID:    keyword(first.GetSearchAttributes(), workflows.SearchScan),
		StartedAt: first.GetStartTime().AsTime(),
	}, true, nil
}
