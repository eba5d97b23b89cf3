package deliverylog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/scanforge/scanforge/workflows"
)

const (
	// visibilityPageSize is how many records one visibility call reads. It
	// does not depend on the caller's limit, so a cursor's offset into a
	// page stays valid whatever limit the next call asks for.
	visibilityPageSize = 100
	// maxPagesPerCall bounds the visibility pages one List call reads when
	// most records are superseded runs.
	maxPagesPerCall = 10
)

// ErrInvalidFilter: a filter value that cannot name anything.
var ErrInvalidFilter = errors.New("invalid filter")

// List returns up to limit deliveries of workspaceID matching f, each once,
// in its current state, in Temporal's visibility order: running
// deliveries first, then finished ones, most recently finished first.
// cursor is "" or a Page.Next of the same filter.
func (l *Log) List(ctx context.Context, workspaceID string, f Filter, cursor string, limit int) (Page, error) {
	page, err := l.list(ctx, workspaceID, f, cursor, limit)
	if err != nil {
		return Page{}, err
	}
	return page, l.addFailures(ctx, page.Deliveries)
}

// list is List without the failures of failed deliveries.
func (l *Log) list(ctx context.Context, workspaceID string, f Filter, cursor string, limit int) (Page, error) {
	query, err := listQuery(workspaceID, f)
	if err != nil {
		return Page{}, err
	}
	if limit <= 0 {
		limit = 20
	}
	cur, err := decodeCursor(cursor, query)
	if err != nil {
		return Page{}, err
	}

	var out []Summary
	for range maxPagesPerCall {
		resp, err := l.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace:     l.opts.Namespace,
			PageSize:      visibilityPageSize,
			NextPageToken: cur.Token,
			Query:         query,
		})
		if err != nil {
			return Page{}, fmt.Errorf("list deliveries: %w", err)
		}
		rows := resp.GetExecutions()[min(cur.Skip, len(resp.GetExecutions())):]
		current, err := l.currentRuns(ctx, workspaceID, rows)
		if err != nil {
			return Page{}, err
		}
		for i, row := range rows {
			if current[row.GetExecution().GetWorkflowId()] != row.GetExecution().GetRunId() {
				continue // a run that a replay superseded
			}
			out = append(out, summaryOf(row))
			if len(out) < limit {
				continue
			}
			next := cursorState{Token: cur.Token, Skip: cur.Skip + i + 1}
			if next.Skip >= len(resp.GetExecutions()) {
				next = cursorState{Token: resp.GetNextPageToken()}
			}
			page := Page{Deliveries: out}
			if len(next.Token) > 0 || next.Skip > 0 {
				page.Next = encodeCursor(next, query)
			}
			return page, nil
		}
		if len(resp.GetNextPageToken()) == 0 {
			return Page{Deliveries: out}, nil
		}
		cur = cursorState{Token: resp.GetNextPageToken()}
	}
	// Many superseded runs in a row: hand back a short page and the place
	// to go on from.
	return Page{Deliveries: out, Next: encodeCursor(cur, query)}, nil
}

// listQuery builds the visibility query of a listing. Every value put into
// it is checked to hold only ID characters, a known state or a time.
func listQuery(workspaceID string, f Filter) (string, error) {
	if !isIDChars(workspaceID) {
		return "", fmt.Errorf("%w: workspace %q", ErrInvalidFilter, workspaceID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s = '%s' AND WorkflowType = '%s'", workflows.SearchWorkspace, workspaceID, workflows.WorkflowName)
	for _, kv := range []struct{ name, value string }{
		{workflows.SearchEndpoint, f.EndpointID},
		{workflows.SearchCode, f.CodeID},
		{workflows.SearchScan, f.ScanID},
	} {
		if kv.value == "" {
			continue
		}
		if !isIDChars(kv.value) {
			return "", fmt.Errorf("%w: %s %q", ErrInvalidFilter, kv.name, kv.value)
		}
		fmt.Fprintf(&b, " AND %s = '%s'", kv.name, kv.value)
	}
	if f.State != "" {
		clause, ok := stateClause(f.State)
		if !ok {
			return "", fmt.Errorf("%w: state %q", ErrInvalidFilter, f.State)
		}
		b.WriteString(" AND " + clause)
	}
	if !f.Since.IsZero() {
		fmt.Fprintf(&b, " AND StartTime >= '%s'", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		fmt.Fprintf(&b, " AND StartTime < '%s'", f.Until.UTC().Format(time.RFC3339Nano))
	}
	return b.String(), nil
}

// stateClause is the query condition of a state. Final states are the
// execution status, which every run has, even one recorded before
// ScanForgeState existed.
func stateClause(state string) (string, bool) {
	switch state {
	case workflows.StatePending, workflows.StateRetrying, workflows.StatePaused:
		return fmt.Sprintf("ExecutionStatus = 'Running' AND %s = '%s'", workflows.SearchState, state), true
	case workflows.StateDelivered:
		return "ExecutionStatus = 'Completed'", true
	case workflows.StateFailed:
		return "(ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut')", true
	case workflows.StateCanceled:
		return "(ExecutionStatus = 'Canceled' OR ExecutionStatus = 'Terminated')", true
	}
	return "", false
}

// currentRuns returns the current run ID of each workflow ID in rows: the
// running run, or else the one that finished last. A replay leaves the old
// run in visibility with its old status; only the current run counts.
func (l *Log) currentRuns(ctx context.Context, workspaceID string, rows []*workflowpb.WorkflowExecutionInfo) (map[string]string, error) {
	var ids []string
	for _, row := range rows {
		if id := row.GetExecution().GetWorkflowId(); ValidID(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = "'" + id + "'"
	}
	query := fmt.Sprintf("%s = '%s' AND WorkflowId IN (%s)", workflows.SearchWorkspace, workspaceID, strings.Join(quoted, ", "))
	runs, err := l.listAll(ctx, query)
	if err != nil {
		return nil, err
	}
	latest := map[string]*workflowpb.WorkflowExecutionInfo{}
	for _, run := range runs {
		id := run.GetExecution().GetWorkflowId()
		if newerRun(run, latest[id]) {
			latest[id] = run
		}
	}
	out := make(map[string]string, len(latest))
	for id, run := range latest {
		out[id] = run.GetExecution().GetRunId()
	}
	return out, nil
}

// newerRun reports whether run a of a workflow ID came after run b (nil).
func newerRun(a, b *workflowpb.WorkflowExecutionInfo) bool {
	return b == nil || compareRuns(a, b) > 0
}

// compareRuns orders the runs of one workflow ID: a run ends before the
// next one (a replay) starts, or is terminated by it, so the order of close
// times is the order of runs; the running one, if any, is the last.
func compareRuns(a, b *workflowpb.WorkflowExecutionInfo) int {
	aRunning := a.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	bRunning := b.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	switch {
	case aRunning && !bRunning:
		return 1
	case bRunning && !aRunning:
		return -1
	}
	if c := a.GetCloseTime().AsTime().Compare(b.GetCloseTime().AsTime()); c != 0 {
		return c
	}
	if c := a.GetStartTime().AsTime().Compare(b.GetStartTime().AsTime()); c != 0 {
		return c
	}
	return strings.Compare(a.GetExecution().GetRunId(), b.GetExecution().GetRunId())
}

// maxRunsPerQuery bounds listAll: a delivery replayed that often is
// broken beyond what a log can show.
const maxRunsPerQuery = 1000

// listAll reads every record of a small query.
func (l *Log) listAll(ctx context.Context, query string) ([]*workflowpb.WorkflowExecutionInfo, error) {
	var out []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for len(out) < maxRunsPerQuery {
		resp, err := l.temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace:     l.opts.Namespace,
			PageSize:      visibilityPageSize,
			NextPageToken: token,
			Query:         query,
		})
		if err != nil {
			return nil, fmt.Errorf("list runs: %w", err)
		}
		out = append(out, resp.GetExecutions()...)
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return out, nil
}

// addFailures fills in why each failed delivery gave up, from its close
// event: permanent failures are never silent, even in a listing.
func (l *Log) addFailures(ctx context.Context, deliveries []Summary) error {
	for i := range deliveries {
		d := &deliveries[i]
		if d.State != workflows.StateFailed {
			continue
		}
		failure, last, err := l.closeFailure(ctx, d.ID, d.RunID)
		if err != nil {
			return err
		}
		d.Failure, d.LastAttempt = failure, last
	}
	return nil
}

// cursorState is where a listing goes on: a visibility page token and how
// many records of that page were already handed out.
type cursorState struct {
	Token []byte `json:"t,omitempty"`
	Skip  int    `json:"s,omitempty"`
	Query uint32 `json:"q"` // hash of the query: a cursor only continues its own listing
}

func encodeCursor(c cursorState, query string) string {
	c.Query = queryHash(query)
	b, _ := json.Marshal(c) // cannot fail: a byte slice and two numbers
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, query string) (cursorState, error) {
	if s == "" {
		return cursorState{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursorState{}, ErrInvalidCursor
	}
	var c cursorState
	if err := json.Unmarshal(b, &c); err != nil || c.Skip < 0 || c.Skip >= visibilityPageSize || c.Query != queryHash(query) {
		return cursorState{}, ErrInvalidCursor
	}
	return c, nil
}

func queryHash(query string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(query))
	return h.Sum32()
}
