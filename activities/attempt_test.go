package activities_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"go.temporal.io/sdk/testsuite"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// fakeStore is an in-memory EndpointStore.
type fakeStore struct {
	mu         sync.Mutex
	endpoints  map[string]models.Endpoint
	disabled   map[string]string // id → reason
	getErr     error
	disableErr error
}

func newFakeStore(eps ...models.Endpoint) *fakeStore {
	s := &fakeStore{endpoints: map[string]models.Endpoint{}, disabled: map[string]string{}}
	for _, ep := range eps {
		s.endpoints[ep.ID] = ep
	}
	return s
}

func (s *fakeStore) GetEndpointByID(_ context.Context, id string) (models.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.getErr != nil {
		return models.Endpoint{}, s.getErr
	}
	ep, ok := s.endpoints[id]
	if !ok {
		return models.Endpoint{}, models.ErrNotFound
	}
	return ep, nil
}

func (s *fakeStore) DisableEndpoint(_ context.Context, id string, _ models.DisableCause, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.disableErr != nil {
		return s.disableErr
	}
	s.disabled[id] = reason
	return nil
}

func (s *fakeStore) disabledReason(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.disabled[id]
	return r, ok
}

// receiver is a real HTTP endpoint that records what it receives.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []receivedRequest
}

type receivedRequest struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, respond http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, receivedRequest{header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		respond(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) received() []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.requests...)
}

func answer(status int, headers map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// setup returns a Deliverer whose single endpoint "ep_1" points at url.
func setup(t *testing.T, url string) (*activities.Deliverer, *fakeStore, string) {
	t.Helper()
	secret := newSecret(t)
	store := newFakeStore(models.Endpoint{ID: "ep_1", WorkspaceID: "ws_1", URL: url, Secret: secret, Enabled: true})
	d := activities.NewDeliverer(store, activities.Options{})
	d.Now = func() time.Time { return testNow }
	return d, store, secret
}

var testInput = activities.AttemptInput{
	EndpointID: "ep_1",
	EventID:    "evt_123",
	Payload:    json.RawMessage(`{"id":"evt_123","type":"scan.created","data":{"scan_id":"scn_1"}}`),
	Attempt:    3,
}

func TestClassify(t *testing.T) {
	cases := []struct {
		status int
		err    error
		want   activities.Outcome
	}{
		{200, nil, activities.OutcomeDelivered},
		{204, nil, activities.OutcomeDelivered},
		{299, nil, activities.OutcomeDelivered},
		{301, nil, activities.OutcomeRetry},
		{302, nil, activities.OutcomeRetry},
		{308, nil, activities.OutcomeRetry},
		{400, nil, activities.OutcomeFailed},
		{401, nil, activities.OutcomeFailed},
		{404, nil, activities.OutcomeFailed},
		{408, nil, activities.OutcomeRetry},
		{410, nil, activities.OutcomeFailed},
		{422, nil, activities.OutcomeFailed},
		{429, nil, activities.OutcomeRetry},
		{500, nil, activities.OutcomeRetry},
		{502, nil, activities.OutcomeRetry},
		{503, nil, activities.OutcomeRetry},
		{0, errors.New("connection refused"), activities.OutcomeRetry},
	}
	for _, c := range cases {
		if got := activities.Classify(c.status, c.err); got != c.want {
			t.Errorf("Classify(%d, %v) = %q, want %q", c.status, c.err, got, c.want)
		}
	}
}

func TestAttemptClassifiesAnswers(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		headers   map[string]string
		want      activities.Outcome
		wantError string
	}{
		{"200 delivered", 200, nil, activities.OutcomeDelivered, ""},
		{"204 delivered", 204, nil, activities.OutcomeDelivered, ""},
		{"302 retried", 302, map[string]string{"Location": "/elsewhere"}, activities.OutcomeRetry, "redirect not followed (302)"},
		{"400 failed", 400, nil, activities.OutcomeFailed, ""},
		{"404 failed", 404, nil, activities.OutcomeFailed, ""},
		{"408 retried", 408, nil, activities.OutcomeRetry, ""},
		{"429 retried", 429, nil, activities.OutcomeRetry, ""},
		{"500 retried", 500, nil, activities.OutcomeRetry, ""},
		{"503 retried", 503, nil, activities.OutcomeRetry, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rcv := newReceiver(t, answer(c.status, c.headers, "answer "+c.name))
			d, store, _ := setup(t, rcv.URL+"/hook")

			res, err := d.Attempt(context.Background(), testInput)
			if err != nil {
				t.Fatalf("Attempt: %v", err)
			}
			if res.Outcome != c.want || res.StatusCode != c.status || res.Error != c.wantError {
				t.Errorf("got outcome %q status %d error %q, want %q %d %q", res.Outcome, res.StatusCode, res.Error, c.want, c.status, c.wantError)
			}
			if c.status != 204 && res.Body != "answer "+c.name {
				t.Errorf("body = %q", res.Body)
			}
			if res.Attempt != 3 || res.URL != rcv.URL+"/hook" || !res.StartedAt.Equal(testNow) {
				t.Errorf("attempt/url/started = %d %q %v", res.Attempt, res.URL, res.StartedAt)
			}
			if n := len(rcv.received()); n != 1 {
				t.Errorf("receiver got %d requests, want 1", n)
			}
			if _, disabled := store.disabledReason("ep_1"); disabled {
				t.Error("endpoint disabled on a non-410 answer")
			}
		})
	}
}

func TestAttempt410DisablesEndpoint(t *testing.T) {
	rcv := newReceiver(t, answer(http.StatusGone, nil, "gone"))
	d, store, _ := setup(t, rcv.URL)

	res, err := d.Attempt(context.Background(), testInput)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != activities.OutcomeFailed || res.StatusCode != 410 {
		t.Errorf("got %q %d, want failed 410", res.Outcome, res.StatusCode)
	}
	reason, disabled := store.disabledReason("ep_1")
	if !disabled || reason != "endpoint answered 410 Gone" {
		t.Errorf("disabled = %v, reason %q", disabled, reason)
	}
}

func TestAttempt410KeepsAnswerWhenDisablingFails(t *testing.T) {
	rcv := newReceiver(t, answer(http.StatusGone, nil, "gone"))
	d, store, _ := setup(t, rcv.URL)
	store.disableErr = errors.New("database is down")

	res, err := d.Attempt(context.Background(), testInput)
	if err != nil {
		t.Fatalf("Attempt returned %v; the 410 answer should stand as the result", err)
	}
	if res.Outcome != activities.OutcomeFailed || !strings.Contains(res.Error, "database is down") {
		t.Errorf("got %q error %q", res.Outcome, res.Error)
	}
}

func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // runs before rcv.Close
	d, _, _ := setup(t, rcv.URL)
	d.Timeout = 50 * time.Millisecond

	res, err := d.Attempt(context.Background(), testInput)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != activities.OutcomeRetry || res.StatusCode != 0 || res.Error != "timeout after 50ms" {
		t.Errorf("got %q %d %q, want retry 0 \"timeout after 50ms\"", res.Outcome, res.StatusCode, res.Error)
	}
}

func TestAttemptConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d, _, _ := setup(t, "http://"+addr+"/hook")

	res, err := d.Attempt(context.Background(), testInput)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != activities.OutcomeRetry || res.StatusCode != 0 || res.Error != "connection refused" {
		t.Errorf("got %q %d %q, want retry 0 \"connection refused\"", res.Outcome, res.StatusCode, res.Error)
	}
}

func TestAttemptDoesNotFollowRedirects(t *testing.T) {
	target := newReceiver(t, answer(200, nil, "should not be reached"))
	source := newReceiver(t, answer(http.StatusFound, map[string]string{"Location": target.URL + "/moved"}, ""))
	d, _, _ := setup(t, source.URL)

	res, err := d.Attempt(context.Background(), testInput)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != activities.OutcomeRetry || res.StatusCode != 302 {
		t.Errorf("got %q %d, want retry 302", res.Outcome, res.StatusCode)
	}
	if res.Headers["Location"] != target.URL+"/moved" {
		t.Errorf("Location kept as %q", res.Headers["Location"])
	}
	if n := len(target.received()); n != 0 {
		t.Errorf("redirect target received %d requests, want 0", n)
	}
}

func TestAttemptRetryAfter(t *testing.T) {
	cases := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"seconds", "120", 2 * time.Minute},
		{"http date", testNow.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"date in the past", testNow.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rcv := newReceiver(t, answer(http.StatusTooManyRequests, map[string]string{"Retry-After": c.value}, ""))
			d, _, _ := setup(t, rcv.URL)

			res, err := d.Attempt(context.Background(), testInput)
			if err != nil {
				t.Fatal(err)
			}
			if res.RetryAfter != c.want {
				t.Errorf("RetryAfter = %v, want %v", res.RetryAfter, c.want)
			}
			if res.Headers["Retry-After"] != c.value {
				t.Errorf("Retry-After header kept as %q", res.Headers["Retry-After"])
			}
		})
	}
}

func TestAttemptCutsBody(t *testing.T) {
	long := strings.Repeat("x", 10*1024)
	// A two-byte rune straddling the cut is dropped, not split.
	straddling := strings.Repeat("y", activities.MaxBodyBytes-1) + "é" + strings.Repeat("z", 100)
	cases := []struct {
		name, body, want string
	}{
		{"ascii", long, long[:activities.MaxBodyBytes]},
		{"rune at the cut", straddling, straddling[:activities.MaxBodyBytes-1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rcv := newReceiver(t, answer(500, map[string]string{"Content-Type": "text/plain"}, c.body))
			d, _, _ := setup(t, rcv.URL)

			res, err := d.Attempt(context.Background(), testInput)
			if err != nil {
				t.Fatal(err)
			}
			if res.Body != c.want {
				t.Errorf("body has %d bytes, want %d", len(res.Body), len(c.want))
			}
			if res.Headers["Content-Type"] != "text/plain" {
				t.Errorf("Content-Type kept as %q", res.Headers["Content-Type"])
			}
		})
	}
}

func TestAttemptDisabledOrMissingEndpointSendsNothing(t *testing.T) {
	rcv := newReceiver(t, answer(200, nil, ""))
	store := newFakeStore(models.Endpoint{ID: "ep_off", URL: rcv.URL, Secret: newSecret(t), Enabled: false, DisabledReason: "paused by user"})
	d := activities.NewDeliverer(store, activities.Options{})

	for _, id := range []string{"ep_off", "ep_missing"} {
		in := testInput
		in.EndpointID = id
		res, err := d.Attempt(context.Background(), in)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if res.Outcome != activities.OutcomeEndpointDisabled || res.Error == "" {
			t.Errorf("%s: got %q %q, want endpoint_disabled with a reason", id, res.Outcome, res.Error)
		}
	}
	if n := len(rcv.received()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}

func TestAttemptInvalidURLFails(t *testing.T) {
	d, _, _ := setup(t, "ftp://example.com/hook")
	res, err := d.Attempt(context.Background(), testInput)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != activities.OutcomeFailed || !strings.HasPrefix(res.Error, "invalid endpoint URL") {
		t.Errorf("got %q %q", res.Outcome, res.Error)
	}
}

func TestAttemptStoreErrorIsInfrastructure(t *testing.T) {
	rcv := newReceiver(t, answer(200, nil, ""))
	d, store, _ := setup(t, rcv.URL)
	store.getErr = errors.New("connection to database refused")

	if _, err := d.Attempt(context.Background(), testInput); err == nil {
		t.Fatal("Attempt returned no error while the database is unreachable")
	}
	if n := len(rcv.received()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}

func TestAttemptCancelledIsInfrastructure(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rcv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		cancel() // the worker shuts down while the request is in flight
		<-r.Context().Done()
	})
	d, _, _ := setup(t, rcv.URL)

	_, err := d.Attempt(ctx, testInput)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestAttemptSignsAndKeepsSecretOut(t *testing.T) {
	rcv := newReceiver(t, answer(200, map[string]string{"Content-Type": "application/json"}, `{"ok":true}`))
	d, _, secret := setup(t, rcv.URL)

	res, err := d.Attempt(context.Background(), testInput)
	if err != nil {
		t.Fatal(err)
	}
	reqs := rcv.received()
	if len(reqs) != 1 {
		t.Fatalf("receiver got %d requests", len(reqs))
	}
	h, body := reqs[0].header, reqs[0].body

	if string(body) != string(testInput.Payload) {
		t.Errorf("body = %s, want the payload as is", body)
	}
	wantHeaders := map[string]string{
		"Content-Type":                 "application/json",
		"User-Agent":                   "ScanForge-Webhooks/1.0",
		"X-ScanForge-Event-Id":         "evt_123",
		"X-ScanForge-Attempt":          "3",
		webhook.HeaderWebhookID:        "evt_123",
		webhook.HeaderWebhookTimestamp: strconv.FormatInt(testNow.Unix(), 10),
	}
	for name, want := range wantHeaders {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	// Recompute both signatures independently of the webhook package.
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(testNow.Unix(), 10)
	wantScanForge := "t=" + ts + ",v1=" + hex.EncodeToString(hmacSHA256(key, ts+"."+string(body)))
	if got := h.Get(webhook.HeaderSignature); got != wantScanForge {
		t.Errorf("X-ScanForge-Signature = %q, want %q", got, wantScanForge)
	}
	wantStandard := "v1," + base64.StdEncoding.EncodeToString(hmacSHA256(key, "evt_123."+ts+"."+string(body)))
	if got := h.Get(webhook.HeaderWebhookSignature); got != wantStandard {
		t.Errorf("webhook-signature = %q, want %q", got, wantStandard)
	}

	keyB64 := strings.TrimPrefix(secret, "whsec_")
	for name, values := range h {
		for _, v := range values {
			if strings.Contains(v, keyB64) {
				t.Errorf("request header %s carries the secret", name)
			}
		}
	}
	stored, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), keyB64) || strings.Contains(string(stored), wantScanForge) {
		t.Errorf("result carries the secret or the signature: %s", stored)
	}
	if res.Outcome != activities.OutcomeDelivered || res.Body != `{"ok":true}` {
		t.Errorf("got %q %q", res.Outcome, res.Body)
	}
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func TestAttemptTellsFinishedItsWorkflow(t *testing.T) {
	rcv := newReceiver(t, answer(500, nil, "down"))
	d, _, _ := setup(t, rcv.URL+"/hook")
	var finished []string
	d.Finished = func(workflowID string) { finished = append(finished, workflowID) }

	// Outside an activity there is no workflow to name.
	if _, err := d.Attempt(context.Background(), testInput); err != nil {
		t.Fatal(err)
	}
	if len(finished) != 0 {
		t.Fatalf("Finished called outside an activity: %v", finished)
	}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(d.Attempt)
	if _, err := env.ExecuteActivity(d.Attempt, testInput); err != nil {
		t.Fatal(err)
	}
	// A failed answer counts too: the delivery now waits on a timer.
	if len(finished) != 1 || finished[0] == "" {
		t.Errorf("Finished got %v, want the activity's workflow ID once", finished)
	}
}
