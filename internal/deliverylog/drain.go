package deliverylog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/time/rate"

	"github.com/scanforge/scanforge/workflows"
)

// resumeTimeout bounds one resume: the attempt it causes has its own
// timeout, well below it. A resume that times out leaves the delivery to
// its own re-check.
const resumeTimeout = 2 * time.Minute

// DrainResult counts what a drain did.
type DrainResult struct {
	Resumed int // deliveries that attempted again
	Skipped int // no longer parked (delivered, resumed by their re-check, cancelled)
	Errors  int
}

// drains runs at most one drain per endpoint; a drain asked for while one
// runs makes it list the parked deliveries once more when done.
type drains struct {
	mu      sync.Mutex
	running map[string]bool // endpoint ID → asked again while running
}

// StartDrain drains endpointID's parked deliveries in the background (see
// Drain), after an endpoint was resumed or enabled. The drain outlives the
// request that started it; a process that stops mid-drain leaves the rest
// to each delivery's re-check.
func (l *Log) StartDrain(workspaceID, endpointID string) {
	l.drains.mu.Lock()
	defer l.drains.mu.Unlock()
	if l.drains.running == nil {
		l.drains.running = map[string]bool{}
	}
	if _, ok := l.drains.running[endpointID]; ok {
		l.drains.running[endpointID] = true
		return
	}
	l.drains.running[endpointID] = false
	go func() {
		for {
			res, err := l.Drain(context.Background(), workspaceID, endpointID)
			l.opts.Logger.Info("drain finished", "endpoint_id", endpointID,
				"resumed", res.Resumed, "skipped", res.Skipped, "errors", res.Errors, "error", err)
			l.drains.mu.Lock()
			again := l.drains.running[endpointID]
			if !again {
				delete(l.drains.running, endpointID)
				l.drains.mu.Unlock()
				return
			}
			l.drains.running[endpointID] = false
			l.drains.mu.Unlock()
		}
	}()
}

// Drain resumes endpointID's parked deliveries, oldest scan first, one at
// a time: each resume waits for the attempt it causes, so deliveries reach
// the receiver in scan order, and DrainRate paces them. It stops when no
// parked delivery is left, or when one parks again (the endpoint was
// paused again).
func (l *Log) Drain(ctx context.Context, workspaceID, endpointID string) (DrainResult, error) {
	var res DrainResult
	query, err := parkedQuery(workspaceID, endpointID)
	if err != nil {
		return res, err
	}
	pace := rate.NewLimiter(rate.Limit(l.opts.DrainRate), 1)
	seen := map[string]bool{}
	for {
		rows, err := l.listAll(ctx, query)
		if err != nil {
			return res, err
		}
		// Visibility lags: a delivery resumed a moment ago may still be
		// listed as parked.
		rows = slices.DeleteFunc(rows, func(r *workflowpb.WorkflowExecutionInfo) bool {
			return seen[r.GetExecution().GetWorkflowId()]
		})
		if len(rows) == 0 {
			return res, nil
		}
		slices.SortFunc(rows, func(a, b *workflowpb.WorkflowExecutionInfo) int {
			return strings.Compare(drainKey(a), drainKey(b))
		})
		for _, row := range rows {
			id := row.GetExecution().GetWorkflowId()
			seen[id] = true
			if err := pace.Wait(ctx); err != nil {
				return res, err
			}
			outcome, err := l.resume(ctx, id)
			switch {
			case errors.Is(err, errNotParked):
				res.Skipped++
			case err != nil:
				res.Errors++
				l.opts.Logger.Warn("drain: resume failed", "delivery", id, "error", err)
			case strings.HasPrefix(outcome, "parked"):
				return res, nil // the endpoint stopped taking deliveries again
			default:
				res.Resumed++
			}
		}
	}
}

var errNotParked = errors.New("delivery not parked")

// resume sends the resume update and returns the outcome of the attempt it
// caused.
func (l *Log) resume(ctx context.Context, id string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, resumeTimeout)
	defer cancel()
	handle, err := l.temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   workflows.ResumeUpdate,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var outcome string
	if err == nil {
		err = handle.Get(ctx, &outcome)
	}
	var notFound *serviceerror.NotFound
	switch {
	case errors.As(err, &notFound):
		return "", errNotParked // finished meanwhile
	case err != nil && strings.Contains(err.Error(), "not parked"):
		return "", errNotParked // rejected: attempting already (its re-check)
	case err != nil:
		return "", fmt.Errorf("resume %s: %w", id, err)
	}
	return outcome, nil
}

// drainKey orders parked deliveries: scan IDs sort by scan time; a test
// event, without a scan, by its workflow ID (its event ID, also by time).
func drainKey(info *workflowpb.WorkflowExecutionInfo) string {
	if scan := keyword(info.GetSearchAttributes(), workflows.SearchScan); scan != "" {
		return scan
	}
	return info.GetExecution().GetWorkflowId()
}
