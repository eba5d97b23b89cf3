package deliverylog

import (
	"errors"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestListQuery(t *testing.T) {
	day := time.Date(2026, 11, 27, 3, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"workspace only", Filter{},
			"ScanForgeWorkspace = 'ws_1' AND WorkflowType = 'Delivery'"},
		{"every filter", Filter{EndpointID: "ep_1", CodeID: "code_1", ScanID: "scan_1", State: "retrying", Since: day, Until: day.Add(time.Hour)},
			"ScanForgeWorkspace = 'ws_1' AND WorkflowType = 'Delivery' AND ScanForgeEndpoint = 'ep_1' AND ScanForgeCode = 'code_1'" +
				" AND ScanForgeScan = 'scan_1' AND ExecutionStatus = 'Running' AND ScanForgeState = 'retrying'" +
				" AND StartTime >= '2026-11-27T02:00:00Z' AND StartTime < '2026-11-27T03:00:00Z'"},
		{"delivered is the execution status", Filter{State: "delivered"},
			"ScanForgeWorkspace = 'ws_1' AND WorkflowType = 'Delivery' AND ExecutionStatus = 'Completed'"},
		{"failed includes timed out", Filter{State: "failed"},
			"ScanForgeWorkspace = 'ws_1' AND WorkflowType = 'Delivery' AND (ExecutionStatus = 'Failed' OR ExecutionStatus = 'TimedOut')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := listQuery("ws_1", tt.f)
			if err != nil || got != tt.want {
				t.Fatalf("listQuery = %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}

func TestListQueryRejectsWhatCouldChangeItsMeaning(t *testing.T) {
	for _, f := range []Filter{
		{EndpointID: "ep_1' OR ScanForgeWorkspace = 'ws_2"},
		{CodeID: "code 1"},
		{ScanID: "SCAN_1"},
		{State: "lost"},
	} {
		if q, err := listQuery("ws_1", f); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("%+v: query %q, error %v", f, q, err)
		}
	}
	if _, err := listQuery("ws_1' OR 'a' = 'a", Filter{}); !errors.Is(err, ErrInvalidFilter) {
		t.Errorf("bad workspace: %v", err)
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"delivery:scan_01m8:ep_01m8":   true,
		"test:evt_01m8:ep_01m8":        true,
		"delivery:evt_01m8:ep_01m8":    false,
		"test:scan_01m8:ep_01m8":       false,
		"delivery:scan_01m8:ep_01m8:x": false,
		"delivery:scan_01m8:code_01":   false,
		"delivery:scan_01m8':ep_01m8":  false,
		"other:scan_01m8:ep_01m8":      false,
		"":                             false,
	} {
		if got := ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestCursorContinuesOnlyItsOwnListing(t *testing.T) {
	c := encodeCursor(cursorState{Token: []byte{1, 2, 3}, Skip: 7}, "query A")
	got, err := decodeCursor(c, "query A")
	if err != nil || string(got.Token) != "\x01\x02\x03" || got.Skip != 7 {
		t.Fatalf("decode = %+v, %v", got, err)
	}
	for _, bad := range []string{"not base64!", "bm90IGpzb24", encodeCursor(cursorState{Skip: visibilityPageSize}, "query A")} {
		if _, err := decodeCursor(bad, "query A"); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("decode(%q) error = %v", bad, err)
		}
	}
	if _, err := decodeCursor(c, "query B"); !errors.Is(err, ErrInvalidCursor) {
		t.Errorf("a cursor of another query: %v", err)
	}
}

func TestCompareRunsOrdersReplaysAfterTheirOrigin(t *testing.T) {
	at := func(m int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 11, 27, 3, m, 0, 0, time.UTC))
	}
	run := func(id string, status enumspb.WorkflowExecutionStatus, start, end int) *workflowpb.WorkflowExecutionInfo {
		info := &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{RunId: id}, Status: status, StartTime: at(start)}
		if end >= 0 {
			info.CloseTime = at(end)
		}
		return info
	}
	first := run("a", enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, 0, 10)
	replay := run("b", enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, 20, 21)
	running := run("c", enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, 30, -1)
	if compareRuns(first, replay) >= 0 || compareRuns(replay, running) >= 0 || compareRuns(running, first) <= 0 {
		t.Fatal("runs out of order")
	}
	if !newerRun(first, nil) || newerRun(first, replay) || !newerRun(running, replay) {
		t.Fatal("newerRun disagrees with compareRuns")
	}
}
