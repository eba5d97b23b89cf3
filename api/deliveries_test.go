package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/deliverylog"
)

// fakeDeliveryLog records what the API asks of the delivery log and answers
// from its fields. Deliveries belong to workspace owner.
type fakeDeliveryLog struct {
	mu       sync.Mutex
	owner    string
	delivery deliverylog.Delivery
	err      error // answered by every single-delivery call when set

	listed      []deliverylog.Filter
	cursors     []string
	limits      []int
	replayedBy  []string
	bulk        []deliverylog.BulkFilter
	tested      []deliverylog.Endpoint
	retried     []string
	bulkResults deliverylog.BulkResult
	bulkReplays []deliverylog.BulkReplay
}

func (f *fakeDeliveryLog) List(_ context.Context, ws string, filter deliverylog.Filter, cursor string, limit int) (deliverylog.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listed, f.cursors, f.limits = append(f.listed, filter), append(f.cursors, cursor), append(f.limits, limit)
	if cursor == "bad" {
		return deliverylog.Page{}, deliverylog.ErrInvalidCursor
	}
	if ws != f.owner {
		return deliverylog.Page{}, nil
	}
	return deliverylog.Page{Deliveries: []deliverylog.Summary{f.delivery.Summary}, Next: "page-2"}, nil
}

func (f *fakeDeliveryLog) single(ws, id string) error {
	if ws != f.owner || id != f.delivery.ID {
		return deliverylog.ErrNotFound
	}
	return f.err
}

func (f *fakeDeliveryLog) Get(_ context.Context, ws, id string) (deliverylog.Delivery, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.single(ws, id); err != nil {
		return deliverylog.Delivery{}, err
	}
	return f.delivery, nil
}

func (f *fakeDeliveryLog) Replay(_ context.Context, ws, id, requestedBy string) (deliverylog.Replayed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.single(ws, id); err != nil {
		return deliverylog.Replayed{}, err
	}
	f.replayedBy = append(f.replayedBy, requestedBy)
	return deliverylog.Replayed{ID: id, RunID: "run-2"}, nil
}

func (f *fakeDeliveryLog) ReplayEndpoint(_ context.Context, ws, endpointID string, filter deliverylog.BulkFilter, requestedBy string) (deliverylog.BulkResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bulk = append(f.bulk, filter)
	f.replayedBy = append(f.replayedBy, requestedBy)
	return f.bulkResults, nil
}

func (f *fakeDeliveryLog) StartBulkReplay(_ context.Context, ws string, r deliverylog.BulkReplay, requestedBy string) (deliverylog.BulkReplayAnswer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bulkReplays = append(f.bulkReplays, r)
	f.replayedBy = append(f.replayedBy, requestedBy)
	answer := deliverylog.BulkReplayAnswer{DryRun: r.DryRun, Accepted: 1, Rate: 20,
		Sample: []deliverylog.BulkReplayItem{{ID: f.delivery.ID, Target: f.delivery.ID}}}
	if !r.DryRun {
		answer.ID = "rpl_1"
	}
	return answer, nil
}

func (f *fakeDeliveryLog) ReplayTo(_ context.Context, ws, id string, to deliverylog.Endpoint, requestedBy string, dryRun bool) (deliverylog.ReplayPlan, error) {
	if err := f.single(ws, id); err != nil {
		return deliverylog.ReplayPlan{}, err
	}
	plan := deliverylog.ReplayPlan{DryRun: dryRun, ID: id, EndpointID: to.ID, EventID: "evt_1", EventType: "scan.created", Payload: []byte(`{"id":"evt_1"}`)}
	if !dryRun {
		plan.RunID = "run-2"
	}
	return plan, nil
}

func (f *fakeDeliveryLog) RetryNow(_ context.Context, ws, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.single(ws, id); err != nil {
		return err
	}
	f.retried = append(f.retried, id)
	return nil
}

func (f *fakeDeliveryLog) SendTest(_ context.Context, ep deliverylog.Endpoint) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tested = append(f.tested, ep)
	return "test:evt_1:" + ep.ID, nil
}

const fakeDeliveryID = "delivery:scan_01jq0000000000000000000000:ep_01jq0000000000000000000000"

func newDeliveryEnv(t *testing.T) (*env, *fakeDeliveryLog) {
	t.Helper()
	fake := &fakeDeliveryLog{}
	e := newEnv(t, "sqlite", func(o *api.Options) { o.Deliveries = fake })
	started := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	fake.owner = e.wsID
	fake.delivery = deliverylog.Delivery{
		Summary: deliverylog.Summary{
			ID: fakeDeliveryID, RunID: "run-1", EventType: "scan.created", WorkspaceID: e.wsID,
			EndpointID: "ep_01jq0000000000000000000000", ScanID: "scan_01jq0000000000000000000000",
			State: "failed", Attempts: 1, LastStatus: ptr(503), StartedAt: started, FinishedAt: started.Add(time.Hour),
			Failure: "gave up", LastAttempt: &deliverylog.Attempt{Number: 1, StatusCode: 503, ResponseBody: "down"},
		},
		EventID: "evt_01jq0000000000000000000000",
		Payload: json.RawMessage(`{"id":"evt_01jq0000000000000000000000","type":"scan.created"}`),
		Runs: []deliverylog.Run{{
			RunID: "run-1", State: "failed", StartedAt: started, FinishedAt: started.Add(time.Hour), Failure: "gave up",
			Attempts: []deliverylog.Attempt{{
				Number: 1, StartedAt: started, Duration: 120 * time.Millisecond, URL: "https://hooks.example.com",
				RequestHeaders: map[string]string{"X-Scanforge-Signature": "t=1,v1=masked"},
				StatusCode:     503, ResponseHeaders: map[string]string{"Retry-After": "30"}, ResponseBody: "down",
				Outcome: "retry",
			}},
		}},
	}
	return e, fake
}

func TestDeliveryRoutesAreAbsentWithoutADeliveryLog(t *testing.T) {
	e := newEnv(t, "sqlite")
	rec := e.do(request{Method: "GET", Path: "/api/v1/deliveries", Key: e.key})
	if rec.Code != http.StatusNotFound {
		t.Fatalf("GET /deliveries without a delivery log: %d", rec.Code)
	}
}

func TestListDeliveriesPassesFiltersAndAnswersAPage(t *testing.T) {
	e, fake := newDeliveryEnv(t)
	q := url.Values{
		"endpoint_id": {"ep_01jq0000000000000000000000"}, "code_id": {"code_01jq0000000000000000000000"},
		"scan_id": {"scan_01jq0000000000000000000000"}, "state": {"failed"},
		"since": {"2026-11-27T00:00:00Z"}, "until": {"2026-11-28T00:00:00+01:00"},
		"limit": {"5"}, "cursor": {"page-1"},
	}
	out := e.call("GET", "/api/v1/deliveries?"+q.Encode(), "", http.StatusOK)
	want := deliverylog.Filter{
		EndpointID: "ep_01jq0000000000000000000000", CodeID: "code_01jq0000000000000000000000",
		ScanID: "scan_01jq0000000000000000000000", State: "failed",
		Since: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC),
	}
	got := fake.listed[0]
	if got.EndpointID != want.EndpointID || got.CodeID != want.CodeID || got.ScanID != want.ScanID ||
		got.State != want.State || !got.Since.Equal(want.Since) || !got.Until.Equal(want.Until) ||
		fake.cursors[0] != "page-1" || fake.limits[0] != 5 {
		t.Fatalf("filter %+v cursor %q limit %d", got, fake.cursors[0], fake.limits[0])
	}
	if out["next_cursor"] != "page-2" {
		t.Fatalf("next_cursor = %v", out["next_cursor"])
	}
	item := out["data"].([]any)[0].(map[string]any)
	last := item["last_attempt"].(map[string]any)
	if item["id"] != fakeDeliveryID || item["state"] != "failed" || item["last_status"] != float64(503) ||
		item["code_id"] != nil || item["failure"] != "gave up" || last["response_status"] != float64(503) || last["response_body"] != "down" {
		t.Fatalf("listed delivery: %v", item)
	}

	e.call("GET", "/api/v1/deliveries", "", http.StatusOK)
	if fake.limits[1] != 20 {
		t.Fatalf("default limit %d, want 20", fake.limits[1])
	}
}

func TestListDeliveriesRejectsBadParameters(t *testing.T) {
	e, fake := newDeliveryEnv(t)
	for query, field := range map[string]string{
		"state=lost":                            "state",
		"endpoint_id=ep_x":                      "endpoint_id",
		"code_id=ep_01jq0000000000000000000000": "code_id",
		"scan_id='or'1'='1":                     "scan_id",
		"since=yesterday":                       "since",
		"until=2026-11-27":                      "until",
		"since=2026-11-28T00:00:00Z&until=2026-11-27T00:00:00Z": "until",
		"limit=0":                                "limit",
		"limit=101":                              "limit",
		"cursor=bad":                             "cursor",
		"endpoint=ep_01jq0000000000000000000000": "endpoint",
		"state=failed&state=delivered":           "state",
	} {
		rec := e.do(request{Method: "GET", Path: "/api/v1/deliveries?" + query, Key: e.key})
		if rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", query, rec.Code)
			continue
		}
		if got := errorOf(t, rec)["field"]; got != field {
			t.Errorf("%s: field %v, want %s", query, got, field)
		}
	}
	if len(fake.listed) != 1 { // only the bad cursor reached the log
		t.Fatalf("the log was asked %d times", len(fake.listed))
	}
}

func TestGetDeliveryShowsEveryAttempt(t *testing.T) {
	e, _ := newDeliveryEnv(t)
	out := e.call("GET", "/api/v1/deliveries/"+fakeDeliveryID, "", http.StatusOK)
	payload := out["payload"].(map[string]any)
	run := out["runs"].([]any)[0].(map[string]any)
	attempt := run["attempts"].([]any)[0].(map[string]any)
	if out["event_id"] != "evt_01jq0000000000000000000000" || payload["type"] != "scan.created" ||
		run["replay"] != false || run["state"] != "failed" || out["next_attempt_at"] != nil {
		t.Fatalf("delivery: %v", out)
	}
	if attempt["attempt"] != float64(1) || attempt["duration_ms"] != float64(120) || attempt["response_status"] != float64(503) ||
		attempt["response_body"] != "down" || attempt["outcome"] != "retry" ||
		attempt["request_headers"].(map[string]any)["X-Scanforge-Signature"] != "t=1,v1=masked" ||
		attempt["response_headers"].(map[string]any)["Retry-After"] != "30" {
		t.Fatalf("attempt: %v", attempt)
	}
}

func TestSingleDeliveryRoutesAreNotFoundForOtherWorkspaces(t *testing.T) {
	e, fake := newDeliveryEnv(t)
	for _, r := range []request{
		{Method: "GET", Path: "/api/v1/deliveries/" + fakeDeliveryID},
		{Method: "POST", Path: "/api/v1/deliveries/" + fakeDeliveryID + "/replay"},
		{Method: "POST", Path: "/api/v1/deliveries/" + fakeDeliveryID + "/retry"},
	} {
		r.Key = e.otherKey
		rec := e.do(r)
		if rec.Code != http.StatusNotFound || errorOf(t, rec)["message"] != "delivery not found" {
			t.Errorf("%s %s as another workspace: %d %s", r.Method, r.Path, rec.Code, rec.Body.String())
		}
	}
	if len(fake.replayedBy) != 0 || len(fake.retried) != 0 {
		t.Fatal("another workspace replayed or signalled a delivery")
	}
}

func TestReplayAndRetryDelivery(t *testing.T) {
	e, fake := newDeliveryEnv(t)
	out := e.call("POST", "/api/v1/deliveries/"+fakeDeliveryID+"/replay", "", http.StatusAccepted)
	if out["id"] != fakeDeliveryID || out["run_id"] != "run-2" {
		t.Fatalf("replay answer: %v", out)
	}
	// The reason names the key by its shown prefix, never the key.
	if want := "API key " + e.key[:len("sf_")+8]; len(fake.replayedBy) != 1 || fake.replayedBy[0] != want {
		t.Fatalf("requested by %q, want %q", fake.replayedBy, want)
	}
	e.call("POST", "/api/v1/deliveries/"+fakeDeliveryID+"/retry", "", http.StatusAccepted)

	for err, path := range map[error]string{
		deliverylog.ErrStillRunning: "/replay",
		deliverylog.ErrNotRunning:   "/retry",
	} {
		fake.err = err
		rec := e.do(request{Method: "POST", Path: "/api/v1/deliveries/" + fakeDeliveryID + path, Key: e.key})
		if rec.Code != http.StatusConflict || errorOf(t, rec)["code"] != "conflict" {
			t.Errorf("%s with %v: %d %s", path, err, rec.Code, rec.Body.String())
		}
	}
}

func TestBulkReplayOfAnEndpoint(t *testing.T) {
	e, fake := newDeliveryEnv(t)
	fake.bulkResults = deliverylog.BulkResult{Replayed: 7, Truncated: true}
	ep := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/a"}`, http.StatusCreated)
	path := "/api/v1/endpoints/" + ep["id"].(string) + "/replay"

	out := e.call("POST", path, "", http.StatusOK)
	if out["replayed"] != float64(7) || out["truncated"] != true || fake.bulk[0].State != "failed" {
		t.Fatalf("bulk replay without a body: %v, filter %+v", out, fake.bulk[0])
	}
	e.call("POST", path, `{"state":"delivered","since":"2026-11-27T00:00:00Z","until":"2026-11-27T06:00:00Z"}`, http.StatusOK)
	if f := fake.bulk[1]; f.State != "delivered" || f.Since.Hour() != 0 || f.Until.Hour() != 6 {
		t.Fatalf("filter %+v", f)
	}
	for body, want := range map[string]int{
		`{"state":"retrying"}`: http.StatusUnprocessableEntity,
		`{"since":"soon"}`:     http.StatusUnprocessableEntity,
		`{"limit":5}`:          http.StatusBadRequest,
	} {
		if rec := e.do(request{Method: "POST", Path: path, Body: body, Key: e.key}); rec.Code != want {
			t.Errorf("%s: %d, want %d", body, rec.Code, want)
		}
	}
	// Another workspace's endpoint is not found, and nothing is replayed.
	rec := e.do(request{Method: "POST", Path: path, Key: e.otherKey})
	if rec.Code != http.StatusNotFound || len(fake.bulk) != 2 {
		t.Fatalf("other workspace: %d, %d bulk replays", rec.Code, len(fake.bulk))
	}
}

func TestSendTestEvent(t *testing.T) {
	e, fake := newDeliveryEnv(t)
	ep := e.call("POST", "/api/v1/endpoints", `{"url":"https://hooks.example.com/t"}`, http.StatusCreated)
	id := ep["id"].(string)
	out := e.call("POST", "/api/v1/endpoints/"+id+"/test", "", http.StatusAccepted)
	if out["id"] != "test:evt_1:"+id || len(fake.tested) != 1 ||
		fake.tested[0].ID != id || fake.tested[0].WorkspaceID != e.wsID || fake.tested[0].URL != "https://hooks.example.com/t" {
		t.Fatalf("test answer %v, sent %+v", out, fake.tested)
	}
	rec := e.do(request{Method: "POST", Path: "/api/v1/endpoints/" + id + "/test", Key: e.otherKey})
	if rec.Code != http.StatusNotFound || len(fake.tested) != 1 {
		t.Fatalf("other workspace: %d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
}

func ptr[T any](v T) *T { return &v }
