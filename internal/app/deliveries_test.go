package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/scanforge/scanforge/internal/app"
	"github.com/scanforge/scanforge/internal/devserver"
	"github.com/scanforge/scanforge/internal/outbox"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

// eventually polls cond until it holds: visibility, which lists
// deliveries, trails history by about a second. The bound only keeps a
// broken build from hanging; it asserts nothing about speed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitClosed waits for the current run of a workflow to finish and returns
// its error (nil when delivered).
func (s *stack) waitClosed(workflowID string) error {
	return s.temporal.GetWorkflow(context.Background(), workflowID, "").Get(context.Background(), nil)
}

// raw makes an API call with apiKey and returns the status and body.
func (s *stack) raw(apiKey, method, path string, body any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.baseURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// deliveryList is the answer of GET /deliveries.
type deliveryList struct {
	Data []struct {
		ID          string         `json:"id"`
		RunID       string         `json:"run_id"`
		EventType   string         `json:"event_type"`
		EndpointID  string         `json:"endpoint_id"`
		ScanID      *string        `json:"scan_id"`
		State       string         `json:"state"`
		Attempts    int            `json:"attempts"`
		LastStatus  *int           `json:"last_status"`
		FinishedAt  *time.Time     `json:"finished_at"`
		Failure     string         `json:"failure"`
		LastAttempt *attemptAnswer `json:"last_attempt"`
	} `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

type attemptAnswer struct {
	Attempt         int               `json:"attempt"`
	StartedAt       time.Time         `json:"started_at"`
	DurationMS      int64             `json:"duration_ms"`
	RequestHeaders  map[string]string `json:"request_headers"`
	ResponseStatus  int               `json:"response_status"`
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"`
	Error           string            `json:"error"`
	Outcome         string            `json:"outcome"`
}

// deliveryDetail is the answer of GET /deliveries/{id}.
type deliveryDetail struct {
	ID            string          `json:"id"`
	EventID       string          `json:"event_id"`
	EventType     string          `json:"event_type"`
	State         string          `json:"state"`
	Attempts      int             `json:"attempts"`
	LastStatus    *int            `json:"last_status"`
	NextAttemptAt *time.Time      `json:"next_attempt_at"`
	Payload       json.RawMessage `json:"payload"`
	Runs          []struct {
		RunID        string          `json:"run_id"`
		Replay       bool            `json:"replay"`
		ReplayReason string          `json:"replay_reason"`
		State        string          `json:"state"`
		Failure      string          `json:"failure"`
		Attempts     []attemptAnswer `json:"attempts"`
	} `json:"runs"`
}

func (s *stack) listDeliveries(query url.Values) deliveryList {
	s.t.Helper()
	status, body := s.raw(s.apiKey, http.MethodGet, "/api/v1/deliveries?"+query.Encode(), nil)
	if status != http.StatusOK {
		s.t.Fatalf("GET /deliveries?%s: %d %s", query.Encode(), status, body)
	}
	var out deliveryList
	if err := json.Unmarshal(body, &out); err != nil {
		s.t.Fatal(err)
	}
	return out
}

func (s *stack) getDelivery(id string) (deliveryDetail, []byte) {
	s.t.Helper()
	status, body := s.raw(s.apiKey, http.MethodGet, "/api/v1/deliveries/"+id, nil)
	if status != http.StatusOK {
		s.t.Fatalf("GET /deliveries/%s: %d %s", id, status, body)
	}
	var out deliveryDetail
	if err := json.Unmarshal(body, &out); err != nil {
		s.t.Fatal(err)
	}
	return out, body
}

// listed returns the state a listing shows id in, or "" if absent.
func (l deliveryList) stateOf(id string) string {
	for _, d := range l.Data {
		if d.ID == id {
			return d.State
		}
	}
	return ""
}

// recordRun writes the history of one run for the replay test in
// workflows/ when SCANFORGE_RECORD_HISTORY is set (see
// workflows/testdata/README.md).
func recordRun(t *testing.T, s *stack, workflowID, runID, name string) {
	t.Helper()
	if os.Getenv("SCANFORGE_RECORD_HISTORY") == "" {
		return
	}
	iter := s.temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "workflows", "testdata", name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded history to %s", path)
}

func statusesOf(attempts []attemptAnswer) string {
	var parts []string
	for _, a := range attempts {
		parts = append(parts, fmt.Sprintf("%d:%d %s", a.Attempt, a.ResponseStatus, a.ResponseBody))
	}
	return strings.Join(parts, ", ")
}

func TestDeliveryLogShowsEveryRunAfterReplays(t *testing.T) {
	s := newStack(t, "postgres")
	// 503, 503, then a permanent 400: the first run gives up. The replay
	// (API) and the reset (as the Temporal UI's Reset button does) succeed.
	rcv := newReceiver(t, 503, 503, 400, 200)
	_, endpointID, secret := s.setup("replay", rcv.URL)
	s.scan("/q/replay", nil)
	var eventIDs []string
	for range 3 {
		eventIDs = append(eventIDs, rcv.next(t).Header.Get("Webhook-Id"))
	}
	scan := s.onlyScan()
	id := workflows.DeliveryWorkflowID(scan.ID, endpointID)
	if err := s.waitClosed(id); err == nil {
		t.Fatal("the first run should have failed on the 400")
	}

	// Permanent failures are never silent: the listing says failed and why.
	failed := url.Values{"state": {"failed"}, "endpoint_id": {endpointID}}
	eventually(t, "the failed delivery in the listing", func() bool { return s.listDeliveries(failed).stateOf(id) == "failed" })
	item := s.listDeliveries(failed).Data[0]
	if item.ID != id || item.Attempts != 3 || item.LastStatus == nil || *item.LastStatus != 400 ||
		item.LastAttempt == nil || item.LastAttempt.ResponseStatus != 400 || item.LastAttempt.ResponseBody != "Bad Request" ||
		!strings.Contains(item.Failure, "HTTP 400") || item.EventType != "scan.created" || *item.ScanID != scan.ID {
		t.Fatalf("failed delivery in the listing: %+v (last attempt %+v)", item, item.LastAttempt)
	}

	d, _ := s.getDelivery(id)
	if d.State != "failed" || len(d.Runs) != 1 || statusesOf(d.Runs[0].Attempts) != "1:503 Service Unavailable, 2:503 Service Unavailable, 3:400 Bad Request" {
		t.Fatalf("delivery before replay: state %s, %d runs: %s", d.State, len(d.Runs), statusesOf(d.Runs[0].Attempts))
	}
	recordRun(t, s, id, d.Runs[0].RunID, "recorded-v4-503-503-400.json")
	first := d.Runs[0].Attempts[0]
	if first.Outcome != "retry" || first.StartedAt.IsZero() || first.ResponseHeaders["Content-Type"] == "" {
		t.Fatalf("first attempt: %+v", first)
	}
	if sig := first.RequestHeaders["X-Scanforge-Signature"]; !strings.HasPrefix(sig, "t=") || !strings.HasSuffix(sig, ",v1=masked") {
		t.Fatalf("logged signature header %q is not masked", sig)
	}
	if first.RequestHeaders["Webhook-Signature"] != "v1,masked" || first.RequestHeaders["Webhook-Id"] != eventIDs[0] {
		t.Fatalf("logged request headers: %v", first.RequestHeaders)
	}
	var sent webhook.Event
	if err := json.Unmarshal(d.Payload, &sent); err != nil || sent.ID != outbox.EventID(scan.ID) || d.EventID != sent.ID {
		t.Fatalf("payload in the log: %s (%v)", d.Payload, err)
	}

	// Replay through the API.
	replay := s.call(http.MethodPost, "/api/v1/deliveries/"+id+"/replay", nil, http.StatusAccepted)
	if replay["id"] != id || replay["run_id"] == "" {
		t.Fatalf("replay answer: %v", replay)
	}
	got := rcv.next(t)
	if err := webhook.Verify(secret, got.Header, got.Body, 5*time.Minute, time.Now()); err != nil {
		t.Fatalf("replayed delivery does not verify: %v", err)
	}
	if got.Header.Get("Webhook-Id") != eventIDs[0] {
		t.Fatalf("replay changed the event id: %q, was %q", got.Header.Get("Webhook-Id"), eventIDs[0])
	}
	if err := s.waitClosed(id); err != nil {
		t.Fatalf("replayed run: %v", err)
	}
	recordRun(t, s, id, replay["run_id"].(string), "recorded-v4-replay-200.json")

	// Replay as the Temporal UI's Reset does it: the same RPC, by hand.
	hist := s.temporal.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var resetPoint int64
	for hist.HasNext() && resetPoint == 0 {
		ev, err := hist.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			resetPoint = ev.GetEventId()
		}
	}
	if _, err := s.temporal.ResetWorkflowExecution(context.Background(), &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 "default",
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: id},
		Reason:                    "reset from the Temporal UI",
		WorkflowTaskFinishEventId: resetPoint,
	}); err != nil {
		t.Fatal(err)
	}
	rcv.next(t)
	if err := s.waitClosed(id); err != nil {
		t.Fatalf("reset run: %v", err)
	}

	var body []byte
	eventually(t, "three runs in the delivery log", func() bool {
		d, body = s.getDelivery(id)
		return len(d.Runs) == 3 && d.Runs[2].State == "delivered"
	})
	if d.State != "delivered" || d.Attempts != 1 || d.LastStatus == nil || *d.LastStatus != 200 {
		t.Fatalf("delivery after replays: %+v", d)
	}
	r0, r1, r2 := d.Runs[0], d.Runs[1], d.Runs[2]
	if r0.Replay || r0.State != "failed" || !strings.Contains(r0.Failure, "HTTP 400") || len(r0.Attempts) != 3 {
		t.Fatalf("first run: %+v", r0)
	}
	if !r1.Replay || !strings.HasPrefix(r1.ReplayReason, "replay requested by API key sf_") || r1.State != "delivered" ||
		statusesOf(r1.Attempts) != "1:200 OK" || r1.RunID != replay["run_id"] {
		t.Fatalf("API replay run: %+v", r1)
	}
	if !r2.Replay || r2.ReplayReason != "reset from the Temporal UI" || statusesOf(r2.Attempts) != "1:200 OK" {
		t.Fatalf("UI reset run: %+v", r2)
	}
	if strings.Contains(string(body), strings.TrimPrefix(secret, "whsec_")) {
		t.Fatal("the endpoint secret is in the API answer")
	}

	// Both ways are the same thing in Temporal: runs of one workflow ID.
	runs, err := s.temporal.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s'", id),
	})
	if err != nil || len(runs.GetExecutions()) != 3 {
		t.Fatalf("runs in visibility: %d (%v)", len(runs.GetExecutions()), err)
	}

	// The delivery is listed once, in its current state.
	eventually(t, "the listing to show the delivery as delivered", func() bool {
		return s.listDeliveries(url.Values{"state": {"delivered"}}).stateOf(id) == "delivered" &&
			s.listDeliveries(failed).stateOf(id) == ""
	})
	if all := s.listDeliveries(url.Values{}); len(all.Data) != 1 {
		t.Fatalf("listing shows %d deliveries, want 1", len(all.Data))
	}
}

func TestDeliverySearchAttributesReadWellInTheUI(t *testing.T) {
	s := newStack(t, "sqlite")
	rcv := newReceiver(t, 503, 200)
	codeID, endpointID, _ := s.setup("attrs", rcv.URL)
	s.scan("/q/attrs", nil)
	rcv.next(t)
	rcv.next(t)
	scan := s.onlyScan()
	id := workflows.DeliveryWorkflowID(scan.ID, endpointID)
	if err := s.waitClosed(id); err != nil {
		t.Fatal(err)
	}
	desc, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("status %v, want Completed (delivered)", info.GetStatus())
	}
	fields := info.GetSearchAttributes().GetIndexedFields()
	ws, _ := s.store.ListWorkspaces(context.Background())
	for name, want := range map[string]any{
		workflows.SearchWorkspace:  ws[0].ID,
		workflows.SearchCode:       codeID,
		workflows.SearchEndpoint:   endpointID,
		workflows.SearchScan:       scan.ID,
		workflows.SearchState:      "delivered",
		workflows.SearchLastStatus: float64(200),
		workflows.SearchAttempts:   float64(2),
	} {
		var got any
		if p := fields[name]; p == nil || converter.GetDefaultDataConverter().FromPayload(p, &got) != nil || got != want {
			t.Errorf("search attribute %s = %v, want %v", name, got, want)
		}
	}
}

func TestDeliveryBulkReplayOfFailedDeliveries(t *testing.T) {
	s := newStack(t, "postgres")
	const n = 3
	rcv := newReceiver(t, 400, 400, 400, 200)
	_, endpointID, _ := s.setup("bulk", rcv.URL)
	for range n {
		s.scan("/q/bulk", nil)
		rcv.next(t) // one at a time: the receiver answers in order
	}
	failed := url.Values{"state": {"failed"}, "endpoint_id": {endpointID}}
	eventually(t, "three failed deliveries", func() bool { return len(s.listDeliveries(failed).Data) == n })

	// A time range before every scan matches nothing.
	before := time.Now().Add(-time.Hour).UTC()
	none := s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/replay", map[string]any{
		"until": before.Format(time.RFC3339),
	}, http.StatusOK)
	if none["replayed"] != float64(0) {
		t.Fatalf("replay before the scans: %v", none)
	}

	res := s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/replay", map[string]any{
		"state": "failed", "since": before.Format(time.RFC3339),
	}, http.StatusOK)
	if res["replayed"] != float64(n) || res["truncated"] != false || res["failed"] != float64(0) {
		t.Fatalf("bulk replay answer: %v", res)
	}
	for range n {
		rcv.next(t)
	}
	delivered := url.Values{"state": {"delivered"}, "endpoint_id": {endpointID}}
	eventually(t, "every delivery delivered", func() bool {
		return len(s.listDeliveries(delivered).Data) == n && len(s.listDeliveries(failed).Data) == 0
	})
	// Nothing failed is left: a second bulk replay replays nothing.
	again := s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/replay", nil, http.StatusOK)
	if again["replayed"] != float64(0) {
		t.Fatalf("second bulk replay: %v", again)
	}
}

func TestDeliveryRetryNowSkipsTheWait(t *testing.T) {
	s := newStack(t, "sqlite")
	rcv := newReceiver(t, 503, 200)
	codeID, endpointID, _ := s.setup("wait", rcv.URL)
	ws, _ := s.store.ListWorkspaces(context.Background())

	// A delivery whose next attempt is an hour away, started as the outbox
	// starts them.
	schedule := workflows.DefaultRetrySchedule()
	schedule.InitialInterval = time.Hour
	in := workflows.DeliveryInput{
		WorkspaceID: ws[0].ID, EndpointID: endpointID, CodeID: codeID, ScanID: "scan_01m8f0000000000000000wait",
		EventID: "evt_01m8f0000000000000000wait", EventType: webhook.TypeScanCreated,
		Payload: json.RawMessage(`{"id":"evt_01m8f0000000000000000wait","type":"scan.created"}`), OccurredAt: time.Now(),
		Schedule: schedule,
	}
	id := workflows.DeliveryWorkflowID(in.ScanID, endpointID)
	if _, err := s.temporal.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue, TypedSearchAttributes: workflows.StartSearchAttributes(in),
	}, workflows.WorkflowName, in); err != nil {
		t.Fatal(err)
	}
	rcv.next(t)

	var d deliveryDetail
	eventually(t, "the delivery to wait for its next attempt", func() bool {
		d, _ = s.getDelivery(id)
		return d.NextAttemptAt != nil
	})
	if d.State != "retrying" || d.Attempts != 1 || time.Until(*d.NextAttemptAt) < 30*time.Minute {
		t.Fatalf("waiting delivery: state %s, %d attempts, next at %v", d.State, d.Attempts, d.NextAttemptAt)
	}
	eventually(t, "the listing to show the delivery as retrying", func() bool {
		return s.listDeliveries(url.Values{"state": {"retrying"}}).stateOf(id) == "retrying"
	})

	s.call(http.MethodPost, "/api/v1/deliveries/"+id+"/retry", nil, http.StatusAccepted)
	rcv.next(t) // long before the hour
	if err := s.waitClosed(id); err != nil {
		t.Fatal(err)
	}
	d, _ = s.getDelivery(id)
	if d.State != "delivered" || statusesOf(d.Runs[0].Attempts) != "1:503 Service Unavailable, 2:200 OK" || d.NextAttemptAt != nil {
		t.Fatalf("after retry-now: state %s, attempts %s", d.State, statusesOf(d.Runs[0].Attempts))
	}
	// A finished delivery has nothing to hurry; a running one is not replayed.
	status, body := s.raw(s.apiKey, http.MethodPost, "/api/v1/deliveries/"+id+"/retry", nil)
	if status != http.StatusConflict {
		t.Fatalf("retry of a finished delivery: %d %s", status, body)
	}
}

func TestDeliveryTestEventGoesThroughTheWorkflow(t *testing.T) {
	s := newStack(t, "sqlite")
	rcv := newReceiver(t, 200)
	_, endpointID, secret := s.setup("test-event", rcv.URL)
	res := s.call(http.MethodPost, "/api/v1/endpoints/"+endpointID+"/test", nil, http.StatusAccepted)
	id, _ := res["id"].(string)
	if !strings.HasPrefix(id, "test:evt_") || !strings.HasSuffix(id, ":"+endpointID) {
		t.Fatalf("test delivery id %q", id)
	}
	got := rcv.next(t)
	if err := webhook.Verify(secret, got.Header, got.Body, 5*time.Minute, time.Now()); err != nil {
		t.Fatal(err)
	}
	ev, err := webhook.ParseEvent(got.Body)
	if err != nil || ev.Type != webhook.TypeTest || id != workflows.TestWorkflowID(ev.ID, endpointID) {
		t.Fatalf("test event %+v (%v)", ev, err)
	}
	if err := s.waitClosed(id); err != nil {
		t.Fatal(err)
	}
	d, _ := s.getDelivery(id)
	if d.EventType != "test" || d.State != "delivered" || d.EventID != ev.ID {
		t.Fatalf("test delivery in the log: %+v", d)
	}
}

func TestDeliveryRoutesAreIsolatedBetweenWorkspaces(t *testing.T) {
	s := newStack(t, "postgres")
	rcv := newReceiver(t, 400)
	_, endpointID, _ := s.setup("mine", rcv.URL)
	s.scan("/q/mine", nil)
	rcv.next(t)
	id := workflows.DeliveryWorkflowID(s.onlyScan().ID, endpointID)
	_ = s.waitClosed(id)
	eventually(t, "the delivery in the owner's listing", func() bool { return s.listDeliveries(url.Values{}).stateOf(id) != "" })

	other, err := s.store.CreateWorkspace(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := s.store.CreateAPIKey(context.Background(), other.ID, "other")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/deliveries/" + id},
		{http.MethodPost, "/api/v1/deliveries/" + id + "/replay"},
		{http.MethodPost, "/api/v1/deliveries/" + id + "/retry"},
		{http.MethodPost, "/api/v1/endpoints/" + endpointID + "/replay"},
		{http.MethodPost, "/api/v1/endpoints/" + endpointID + "/test"},
		{http.MethodGet, "/api/v1/deliveries/delivery:scan_nope:ep_nope"},
		{http.MethodGet, "/api/v1/deliveries/not-a-delivery-id"},
	} {
		status, body := s.raw(otherKey, r.method, r.path, nil)
		if status != http.StatusNotFound {
			t.Errorf("other workspace: %s %s = %d %s, want 404", r.method, r.path, status, body)
		}
	}
	status, body := s.raw(otherKey, http.MethodGet, "/api/v1/deliveries?endpoint_id="+endpointID, nil)
	if status != http.StatusOK || strings.Contains(string(body), id) {
		t.Fatalf("other workspace's listing: %d %s", status, body)
	}
	// Nothing happened to the delivery meanwhile.
	if d, _ := s.getDelivery(id); len(d.Runs) != 1 || d.State != "failed" {
		t.Fatalf("the owner's delivery changed: %+v", d)
	}
}

func TestDeliveryListPaginates(t *testing.T) {
	s := newStack(t, "sqlite")
	const n = 5
	rcv := newReceiver(t, 200)
	_, endpointID, _ := s.setup("pages", rcv.URL)
	for range n {
		s.scan("/q/pages", nil)
	}
	for range n {
		rcv.next(t)
	}
	q := url.Values{"endpoint_id": {endpointID}, "state": {"delivered"}}
	eventually(t, "every delivery listed", func() bool { return len(s.listDeliveries(q).Data) == n })

	q.Set("limit", "2")
	seen := map[string]bool{}
	var pages int
	var lastFinished time.Time
	for {
		page := s.listDeliveries(q)
		pages++
		for _, d := range page.Data {
			if seen[d.ID] {
				t.Fatalf("delivery %s listed twice", d.ID)
			}
			seen[d.ID] = true
			if d.FinishedAt == nil || (!lastFinished.IsZero() && d.FinishedAt.After(lastFinished)) {
				t.Fatalf("not newest first: %v after %v", d.FinishedAt, lastFinished)
			}
			lastFinished = *d.FinishedAt
		}
		if page.NextCursor == nil {
			break
		}
		if len(page.Data) != 2 {
			t.Fatalf("a page with a next cursor has %d deliveries", len(page.Data))
		}
		q.Set("cursor", *page.NextCursor)
	}
	if len(seen) != n || pages != 3 {
		t.Fatalf("walked %d deliveries in %d pages, want %d in 3", len(seen), pages, n)
	}

	// A cursor continues only its own listing.
	q.Set("state", "failed")
	if status, body := s.raw(s.apiKey, http.MethodGet, "/api/v1/deliveries?"+q.Encode(), nil); status != http.StatusBadRequest {
		t.Fatalf("cursor with other filters: %d %s", status, body)
	}
}

func TestDeliveryWorkerRegistersSearchAttributes(t *testing.T) {
	// A Temporal without ScanForge's attributes, as an external cluster is.
	srv, err := devserver.Start(context.Background(), devserver.Options{Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c := dialTemporal(t, srv.FrontendAddress(), srv.Namespace())
	store := models.NewStore(testdb.Open(t, "sqlite"), time.Now, models.WithSecretBox(testdb.SecretBox(t)))
	registered := func() map[string]enumspb.IndexedValueType {
		resp, err := c.OperatorService().ListSearchAttributes(context.Background(),
			&operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace()})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetCustomAttributes()
	}

	for range 2 { // the second start finds them registered
		a := &app.App{Config: testConfig(), Store: store, Temporal: c, Logger: testLogger()}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Work(ctx) }()
		eventually(t, "the search attributes", func() bool { return len(registered()) >= len(workflows.SearchAttributeTypes()) })
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
	for name, typ := range workflows.SearchAttributeTypes() {
		if got := registered()[name]; got != typ {
			t.Errorf("%s registered as %v, want %v", name, got, typ)
		}
	}

	// An attribute of the same name and another type stops the worker with
	// a clear error instead of failing every delivery later.
	if _, err := c.OperatorService().RemoveSearchAttributes(context.Background(), &operatorservice.RemoveSearchAttributesRequest{
		Namespace: srv.Namespace(), SearchAttributes: []string{workflows.SearchState},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.OperatorService().AddSearchAttributes(context.Background(), &operatorservice.AddSearchAttributesRequest{
		Namespace: srv.Namespace(), SearchAttributes: map[string]enumspb.IndexedValueType{workflows.SearchState: enumspb.INDEXED_VALUE_TYPE_INT},
	}); err != nil {
		t.Fatal(err)
	}
	a := &app.App{Config: testConfig(), Store: store, Temporal: c, Logger: testLogger()}
	err = a.Work(context.Background())
	if err == nil || !strings.Contains(err.Error(), workflows.SearchState) {
		t.Fatalf("worker with a conflicting attribute: %v", err)
	}
}
