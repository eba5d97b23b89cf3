package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
	"github.com/scanforge/scanforge/workflows"
)

var scanTime = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// memStore is an in-memory EndpointStore; failGets makes the next n loads
// fail as if the database were down.
type memStore struct {
	mu        sync.Mutex
	endpoints map[string]models.Endpoint
	failGets  int
	loads     int
}

func newMemStore(t *testing.T, eps ...models.Endpoint) *memStore {
	t.Helper()
	s := &memStore{endpoints: map[string]models.Endpoint{}}
	for _, ep := range eps {
		if ep.Secret == "" {
			secret, err := webhook.NewSecret()
			if err != nil {
				t.Fatal(err)
			}
			ep.Secret = secret
		}
		s.endpoints[ep.ID] = ep
	}
	return s
}

func (s *memStore) GetEndpointByID(_ context.Context, id string) (models.Endpoint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	if s.failGets > 0 {
		s.failGets--
		return models.Endpoint{}, errors.New("database unreachable")
	}
	ep, ok := s.endpoints[id]
	if !ok {
		return models.Endpoint{}, models.ErrNotFound
	}
	return ep, nil
}

func (s *memStore) DisableEndpoint(_ context.Context, id string, cause models.DisableCause, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.endpoints[id]
	ep.Enabled, ep.DisabledReason, ep.DisabledCause = false, reason, cause
	s.endpoints[id] = ep
	return nil
}

// reply is one scripted answer of a receiver.
type reply struct {
	status  int
	headers map[string]string
	body    string
	delay   time.Duration // before answering
}

// scriptedReceiver answers with its script in order, repeating the last
// reply, and records the attempt header of every request.
type scriptedReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	script   []reply
	attempts []string
	eventIDs []string
}

func newScriptedReceiver(t *testing.T, script ...reply) *scriptedReceiver {
	t.Helper()
	r := &scriptedReceiver{script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		n := len(r.attempts)
		r.attempts = append(r.attempts, req.Header.Get(activities.HeaderAttempt))
		r.eventIDs = append(r.eventIDs, req.Header.Get(webhook.HeaderWebhookID))
		rep := r.script[min(n, len(r.script)-1)]
		r.mu.Unlock()
		time.Sleep(rep.delay)
		for k, v := range rep.headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(r.Close)
	return r
}

// attemptHeaders returns the X-ScanForge-Attempt values received, in order.
func (r *scriptedReceiver) attemptHeaders() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.attempts, ",")
}

func (r *scriptedReceiver) hits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.attempts)
}

func newEnv(t *testing.T, store activities.EndpointStore) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(scanTime)
	workflows.Register(env, activities.NewDeliverer(store, activities.Options{}))
	return env
}

func deliveryInput() workflows.DeliveryInput {
	return workflows.DeliveryInput{
		WorkspaceID: "ws_1",
		EndpointID:  "ep_1",
		CodeID:      "code_1",
		ScanID:      "scn_1",
		EventID:     "evt_1",
		EventType:   "scan.created",
		Payload:     json.RawMessage(`{"id":"evt_1","type":"scan.created"}`),
		OccurredAt:  scanTime,
		Revision:    workflows.CurrentRevision,
	}
}

func enabledEndpoint(url string) models.Endpoint {
	return models.Endpoint{ID: "ep_1", WorkspaceID: "ws_1", URL: url, Enabled: true, AllCodes: true}
}

// workflowFailure returns the application error a failed workflow ended with
// and the last attempt in its details.
func workflowFailure(t *testing.T, env *testsuite.TestWorkflowEnvironment) (*temporal.ApplicationError, activities.AttemptResult) {
	t.Helper()
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("workflow error = %v, want an application error", err)
	}
	var last activities.AttemptResult
	if appErr.HasDetails() {
		if err := appErr.Details(&last); err != nil {
			t.Fatalf("decode failure details: %v", err)
		}
	}
	return appErr, last
}

func TestDeliverySucceedsOnThirdAttempt(t *testing.T) {
	rcv := newScriptedReceiver(t,
		reply{status: 503, body: "busy"},
		reply{status: 503, body: "busy"},
		reply{status: 200, body: "ok"})
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 3 || res.StatusCode != 200 {
		t.Errorf("result = %+v, want 3 attempts ending in 200", res)
	}
	if got := rcv.attemptHeaders(); got != "1,2,3" {
		t.Errorf("attempt headers = %s, want 1,2,3", got)
	}
	rcv.mu.Lock()
	for _, id := range rcv.eventIDs {
		if id != "evt_1" {
			t.Errorf("webhook-id = %q, want the stable evt_1", id)
		}
	}
	rcv.mu.Unlock()
	if !res.DeliveredAt.After(scanTime) {
		t.Errorf("DeliveredAt = %v, want after the two backoffs", res.DeliveredAt)
	}
}

func TestDeliveryGivesUpAfterHorizon(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 503, body: "down for maintenance"})
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))

	// The attempts the default schedule allows within 24h of the scan
	// (attempts take no time on the test clock).
	schedule := workflows.DefaultRetrySchedule()
	wantAttempts, elapsed := 1, time.Duration(0)
	for {
		wait := schedule.Backoff(wantAttempts, "evt_1:ep_1")
		if elapsed+wait > schedule.Horizon {
			break
		}
		elapsed += wait
		wantAttempts++
	}

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	appErr, last := workflowFailure(t, env)
	if appErr.Type() != workflows.ErrTypeDeliveryGaveUp {
		t.Fatalf("error type = %q (%v), want DeliveryGaveUp", appErr.Type(), appErr)
	}
	if wantAttempts < 15 || wantAttempts > 30 {
		t.Errorf("the default schedule allows %d attempts in 24h; expected about 20", wantAttempts)
	}
	if rcv.hits() != wantAttempts || last.Attempt != wantAttempts {
		t.Errorf("receiver saw %d attempts, last result is attempt %d, want %d", rcv.hits(), last.Attempt, wantAttempts)
	}
	if last.StatusCode != 503 || last.Body != "down for maintenance" {
		t.Errorf("last attempt in details = %d %q", last.StatusCode, last.Body)
	}
	wantMsg := "gave up after " + strconv.Itoa(wantAttempts) + " attempts over 24h; last: HTTP 503: down for maintenance"
	if appErr.Message() != wantMsg {
		t.Errorf("message = %q, want %q", appErr.Message(), wantMsg)
	}
	if got := env.Now().Sub(scanTime); got != elapsed || got <= 22*time.Hour || got > 24*time.Hour {
		t.Errorf("workflow time passed = %v, want %v (between 22h and 24h)", got, elapsed)
	}
}

func TestDeliveryFailsAtOnceOn400(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 400, body: `{"error":"unknown field"}`})
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	appErr, last := workflowFailure(t, env)
	if appErr.Type() != workflows.ErrTypeDeliveryFailed {
		t.Fatalf("error type = %q (%v), want DeliveryFailed", appErr.Type(), appErr)
	}
	if appErr.Message() != `HTTP 400: {"error":"unknown field"}` {
		t.Errorf("message = %q", appErr.Message())
	}
	if rcv.hits() != 1 || last.Attempt != 1 || last.StatusCode != 400 {
		t.Errorf("hits %d, last attempt %d status %d; want one attempt answered 400", rcv.hits(), last.Attempt, last.StatusCode)
	}
	if !env.Now().Equal(scanTime) {
		t.Errorf("workflow waited %v before failing", env.Now().Sub(scanTime))
	}
}

func TestDeliveryHonoursRetryAfter(t *testing.T) {
	cases := []struct {
		name       string
		retryAfter string
		wantWait   time.Duration
	}{
		{"one hour", "3600", time.Hour},
		{"capped at the max interval", "36000", 2 * time.Hour},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rcv := newScriptedReceiver(t,
				reply{status: 429, headers: map[string]string{"Retry-After": c.retryAfter}},
				reply{status: 200})
			env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))
			var timers []time.Duration
			env.SetOnTimerScheduledListener(func(_ string, d time.Duration) { timers = append(timers, d) })

			env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			if len(timers) != 1 || timers[0] != c.wantWait {
				t.Errorf("backoff timers = %v, want one of %v", timers, c.wantWait)
			}
			if got := env.Now().Sub(scanTime); got != c.wantWait {
				t.Errorf("second attempt after %v of workflow time, want %v", got, c.wantWait)
			}
		})
	}
}

func TestDeliveryRetryNowSkipsTheWait(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 503}, reply{status: 200})
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))
	in := deliveryInput()
	in.Schedule = workflows.DefaultRetrySchedule()
	in.Schedule.InitialInterval = time.Hour // at least 48 min with jitter
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.RetryNowSignal, nil) }, 5*time.Minute)

	env.ExecuteWorkflow(workflows.WorkflowName, in)

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", res.Attempts)
	}
	if got := env.Now().Sub(scanTime); got != 5*time.Minute {
		t.Errorf("second attempt after %v of workflow time, want 5m (the signal)", got)
	}
}

func TestDeliveryCancelledWhileWaitingEndsCanceled(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 503})
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))
	env.RegisterDelayedCallback(env.CancelWorkflow, 5*time.Second) // during the first backoff (≥ 8s)

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !temporal.IsCanceledError(err) || errors.As(err, &appErr) {
		t.Fatalf("workflow error = %v, want canceled (not failed)", err)
	}
	if rcv.hits() != 1 {
		t.Errorf("receiver got %d requests, want 1", rcv.hits())
	}
}

func TestDeliveryStopsForDisabledOrMissingEndpoint(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 200})
	off := enabledEndpoint(rcv.URL)
	off.Enabled = false
	cases := map[string]*memStore{
		"disabled": newMemStore(t, off),
		"missing":  newMemStore(t),
	}
	for name, store := range cases {
		t.Run(name, func(t *testing.T) {
			env := newEnv(t, store)
			env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

			appErr, _ := workflowFailure(t, env)
			if appErr.Type() != workflows.ErrTypeEndpointDisabled {
				t.Errorf("error type = %q (%v), want EndpointDisabled", appErr.Type(), appErr)
			}
		})
	}
	if rcv.hits() != 0 {
		t.Errorf("receiver got %d requests, want 0", rcv.hits())
	}
}

func TestDelivery410DisablesEndpointAndFails(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 410})
	store := newMemStore(t, enabledEndpoint(rcv.URL))
	env := newEnv(t, store)

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	appErr, _ := workflowFailure(t, env)
	if appErr.Type() != workflows.ErrTypeDeliveryFailed {
		t.Errorf("error type = %q, want DeliveryFailed", appErr.Type())
	}
	if ep, _ := store.GetEndpointByID(context.Background(), "ep_1"); ep.Enabled {
		t.Error("endpoint still enabled after 410")
	}
}

func TestDeliveryInfrastructureFaultsAreNotAttempts(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 200})
	store := newMemStore(t, enabledEndpoint(rcv.URL))
	store.failGets = 2
	env := newEnv(t, store)

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 1 || store.loads != 3 {
		t.Errorf("attempts = %d after %d endpoint loads, want 1 attempt after 3 loads", res.Attempts, store.loads)
	}
	if got := rcv.attemptHeaders(); got != "1" {
		t.Errorf("attempt headers = %s, want 1", got)
	}
}

func TestDeliveryRejectsInvalidSchedule(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 200})
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))
	in := deliveryInput()
	in.Schedule = workflows.RetrySchedule{InitialInterval: time.Second} // half filled

	env.ExecuteWorkflow(workflows.WorkflowName, in)

	appErr, _ := workflowFailure(t, env)
	if appErr.Type() != workflows.ErrTypeInvalidInput || rcv.hits() != 0 {
		t.Errorf("error type = %q, hits %d; want InvalidInput and no request", appErr.Type(), rcv.hits())
	}
}

// attemptKinds records which attempts ran as local activities and which as
// activities, by the attempt number in their input.
type attemptKinds struct {
	mu     sync.Mutex
	local  []int
	remote []int
}

func watchAttempts(env *testsuite.TestWorkflowEnvironment) *attemptKinds {
	k := &attemptKinds{}
	env.SetOnLocalActivityStartedListener(func(_ *activity.Info, _ context.Context, args []any) {
		k.mu.Lock()
		defer k.mu.Unlock()
		k.local = append(k.local, args[0].(activities.AttemptInput).Attempt)
	})
	env.SetOnActivityStartedListener(func(_ *activity.Info, _ context.Context, args converter.EncodedValues) {
		var in activities.AttemptInput
		if err := args.Get(&in); err != nil {
			panic(err)
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		k.remote = append(k.remote, in.Attempt)
	})
	return k
}

func (k *attemptKinds) String() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return fmt.Sprintf("local %v, activities %v", k.local, k.remote)
}

func TestFirstAttemptRunsLocallyAndDelivers(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 200, body: "ok"})
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))
	kinds := watchAttempts(env)
	var timers int
	env.SetOnTimerScheduledListener(func(string, time.Duration) { timers++ })

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 1 || res.StatusCode != 200 {
		t.Errorf("result = %+v, want 1 attempt answered 200", res)
	}
	if got := kinds.String(); got != "local [1], activities []" {
		t.Errorf("attempts ran as %s, want the first alone, locally", got)
	}
	if rcv.attemptHeaders() != "1" || timers != 0 {
		t.Errorf("receiver saw attempts %q, %d timers; want one request and no timer", rcv.attemptHeaders(), timers)
	}
}

func TestLocalFirstAttemptFailsThenActivitiesRetry(t *testing.T) {
	rcv := newScriptedReceiver(t,
		reply{status: 503, body: "busy"},
		reply{status: 503, body: "busy"},
		reply{status: 200, body: "ok"})
	env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))
	kinds := watchAttempts(env)
	var timers []time.Duration
	env.SetOnTimerScheduledListener(func(_ string, d time.Duration) { timers = append(timers, d) })

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if got := kinds.String(); got != "local [1], activities [2 3]" {
		t.Errorf("attempts ran as %s, want the first locally and the retries as activities", got)
	}
	if len(timers) != 2 {
		t.Errorf("backoff timers = %v, want two durable waits", timers)
	}
}

func TestLocalFirstAttemptPermanentAnswerAndDisabledEndpoint(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 422, body: "no"})
	off := enabledEndpoint(rcv.URL)
	off.Enabled = false
	cases := []struct {
		name     string
		store    *memStore
		wantType string
	}{
		{"422", newMemStore(t, enabledEndpoint(rcv.URL)), workflows.ErrTypeDeliveryFailed},
		{"disabled", newMemStore(t, off), workflows.ErrTypeEndpointDisabled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := newEnv(t, c.store)
			kinds := watchAttempts(env)
			env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

			appErr, last := workflowFailure(t, env)
			if appErr.Type() != c.wantType || last.Attempt != 1 {
				t.Errorf("error type %q (%v), last attempt %d; want %s after attempt 1", appErr.Type(), appErr, last.Attempt, c.wantType)
			}
			if got := kinds.String(); got != "local [1], activities []" {
				t.Errorf("attempts ran as %s, want one local attempt", got)
			}
		})
	}
}

func TestLocalFirstAttemptInfrastructureFaultFallsBackToActivity(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 200})
	store := newMemStore(t, enabledEndpoint(rcv.URL))
	store.failGets = 3 // the local attempt's load, then two of the activity's
	env := newEnv(t, store)
	kinds := watchAttempts(env)

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 1 || store.loads != 4 || rcv.attemptHeaders() != "1" {
		t.Errorf("attempts %d after %d loads, receiver saw %q; want attempt 1 delivered after 4 loads", res.Attempts, store.loads, rcv.attemptHeaders())
	}
	if got := kinds.String(); got != "local [1], activities [1 1 1]" {
		t.Errorf("attempts ran as %s, want attempt 1 locally, then as an activity retried twice", got)
	}
}

func TestEarlierRevisionsRunEveryAttemptAsAnActivity(t *testing.T) {
	for _, rev := range []int{workflows.RevisionOriginal, workflows.RevisionLeanState} {
		t.Run(strconv.Itoa(rev), func(t *testing.T) {
			rcv := newScriptedReceiver(t, reply{status: 503}, reply{status: 200})
			env := newEnv(t, newMemStore(t, enabledEndpoint(rcv.URL)))
			kinds := watchAttempts(env)
			in := deliveryInput()
			in.Revision = rev

			env.ExecuteWorkflow(workflows.WorkflowName, in)

			if err := env.GetWorkflowError(); err != nil {
				t.Fatalf("workflow failed: %v", err)
			}
			if got := kinds.String(); got != "local [], activities [1 2]" {
				t.Errorf("attempts ran as %s, want both as activities", got)
			}
		})
	}
}
