package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/workflows"
)

// The failure record of memStore, for auto-disabling.
func (s *memStore) MarkEndpointFailing(_ context.Context, id string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.endpoints[id]
	if ep.FailingSince == nil {
		ep.FailingSince = &at
	}
	s.endpoints[id] = ep
	return nil
}

func (s *memStore) MarkEndpointHealthy(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.endpoints[id]
	ep.FailingSince, ep.GiveUps = nil, 0
	s.endpoints[id] = ep
	return nil
}

func (s *memStore) RecordGiveUp(_ context.Context, id string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.endpoints[id]
	ep.GiveUps++
	s.endpoints[id] = ep
	return ep.GiveUps, nil
}

func (s *memStore) set(id string, change func(*models.Endpoint)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep := s.endpoints[id]
	change(&ep)
	s.endpoints[id] = ep
}

func (s *memStore) endpoint(id string) models.Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endpoints[id]
}

func parkingInput() workflows.DeliveryInput {
	in := deliveryInput()
	in.Revision = workflows.RevisionParking
	in.ParkFor = workflows.DefaultParkFor
	return in
}

func pausedEndpoint(url string) models.Endpoint {
	ep := enabledEndpoint(url)
	paused := scanTime
	ep.PausedAt = &paused
	return ep
}

// newParkingEnv is newEnv with a Deliverer that keeps failure records on
// the test's clock and auto-disables after auto.
func newParkingEnv(t *testing.T, store *memStore, auto activities.AutoDisable) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(scanTime)
	d := activities.NewDeliverer(store, activities.Options{Health: store, AutoDisable: auto, Now: env.Now})
	workflows.Register(env, d)
	return env
}

func TestParkedDeliveryFailsAfterItsBound(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 200})
	env := newParkingEnv(t, newMemStore(t, pausedEndpoint(rcv.URL)), activities.AutoDisable{})
	var states []string
	watchStates(env, &states)

	env.ExecuteWorkflow(workflows.WorkflowName, parkingInput())

	appErr, _ := workflowFailure(t, env)
	if appErr.Type() != workflows.ErrTypeParkExpired || !strings.Contains(appErr.Error(), "parked for 168h while the endpoint was paused") {
		t.Fatalf("error %q: %v, want ParkExpired after 168h", appErr.Type(), appErr)
	}
	if parked := env.Now().Sub(scanTime); parked < workflows.DefaultParkFor || parked > workflows.DefaultParkFor+time.Minute {
		t.Errorf("failed after %s parked, want 7 days", parked)
	}
	if rcv.hits() != 0 {
		t.Errorf("receiver got %d requests while paused", rcv.hits())
	}
	if got := strings.Join(states, " "); got != "paused failed" {
		t.Errorf("states %q, want paused then failed", got)
	}
}

// A resume about two days after the scan delivers at once, and the retry horizon
// (24 h) counts without the time parked: a 503 after the resume is retried.
func TestResumeDeliversAParkedDeliveryWithItsWholeHorizon(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 503}, reply{status: 200})
	store := newMemStore(t, pausedEndpoint(rcv.URL))
	env := newParkingEnv(t, store, activities.AutoDisable{})
	var outcome string
	env.RegisterDelayedCallback(func() {
		store.set("ep_1", func(ep *models.Endpoint) { ep.PausedAt = nil })
		env.UpdateWorkflow(workflows.ResumeUpdate, "resume-1", &testsuite.TestUpdateCallback{
			OnReject:   func(err error) { t.Errorf("resume rejected: %v", err) },
			OnAccept:   func() {},
			OnComplete: func(res any, err error) { outcome = decodeUpdate(t, res, err) },
		})
	}, 47*time.Hour)

	env.ExecuteWorkflow(workflows.WorkflowName, parkingInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("delivery failed: %v", err)
	}
	var res workflows.DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Attempts != 2 || res.StatusCode != 200 {
		t.Fatalf("result %+v, %v; want delivered on attempt 2", res, err)
	}
	if got := rcv.attemptHeaders(); got != "1,2" {
		t.Errorf("attempt headers %q, want 1,2 (the parked checks are not attempts)", got)
	}
	if outcome != string(activities.OutcomeRetry) {
		t.Errorf("resume answered %q, want the outcome of the attempt it caused (retry)", outcome)
	}
	if since := env.Now().Sub(scanTime); since < 47*time.Hour || since > 48*time.Hour {
		t.Errorf("delivered %s after the scan, want just after the resume at 47h", since)
	}
}

// A resume that never comes (a drain that died) is made up for by the
// delivery's own re-check.
func TestParkedDeliveryNoticesAResumeWithoutTheUpdate(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 200})
	store := newMemStore(t, pausedEndpoint(rcv.URL))
	env := newParkingEnv(t, store, activities.AutoDisable{})
	env.RegisterDelayedCallback(func() {
		store.set("ep_1", func(ep *models.Endpoint) { ep.PausedAt = nil })
	}, 30*time.Hour)

	env.ExecuteWorkflow(workflows.WorkflowName, parkingInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("delivery failed: %v", err)
	}
	if since := env.Now().Sub(scanTime); since < 30*time.Hour || since > 36*time.Hour {
		t.Errorf("delivered %s after the scan, want within the 6 h re-check after 30h", since)
	}
	if rcv.hits() != 1 {
		t.Errorf("receiver got %d requests, want 1", rcv.hits())
	}
}

// A receiver that fails every attempt for five days gets its endpoint
// auto-disabled; the delivery then parks instead of giving up, and a
// deleted endpoint still fails at once.
func TestEndpointFailingForFiveDaysIsAutoDisabledAndDeliveriesPark(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 503})
	store := newMemStore(t, enabledEndpoint(rcv.URL))
	env := newParkingEnv(t, store, activities.AutoDisable{After: activities.DefaultAutoDisableAfter})
	in := parkingInput()
	in.Schedule = workflows.DefaultRetrySchedule()
	in.Schedule.Horizon = 30 * 24 * time.Hour // outlasts the five days
	var states []string
	watchStates(env, &states)

	env.ExecuteWorkflow(workflows.WorkflowName, in)

	appErr, last := workflowFailure(t, env)
	if appErr.Type() != workflows.ErrTypeParkExpired || last.EndpointState != models.EndpointAutoDisabled {
		t.Fatalf("error %q (%v), last %+v; want ParkExpired on an auto-disabled endpoint", appErr.Type(), appErr, last)
	}
	ep := store.endpoint("ep_1")
	if ep.Enabled || ep.DisabledCause != models.CauseAutoDisabled || !strings.Contains(ep.DisabledReason, "every delivery attempt failed since") {
		t.Fatalf("endpoint %+v, want auto-disabled", ep)
	}
	// Five days of failures, two backoffs (at most 2.4 h each) until an
	// attempt disables it and the next one parks, then seven days parked.
	if total := env.Now().Sub(scanTime); total < 12*24*time.Hour || total > 12*24*time.Hour+5*time.Hour {
		t.Errorf("ended %s after the scan, want about 5 + 7 days", total)
	}
	if got := strings.Join(states, " "); got != "retrying paused failed" {
		t.Errorf("states %q", got)
	}
}

// watchStates collects the ScanForgeState values a run upserts.
func watchStates(env *testsuite.TestWorkflowEnvironment, states *[]string) {
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		sa := args.Get(0).(temporal.SearchAttributes)
		state, _ := sa.GetKeyword(temporal.NewSearchAttributeKeyKeyword(workflows.SearchState))
		if n := len(*states); n == 0 || (*states)[n-1] != state {
			*states = append(*states, state)
		}
	}).Return(nil)
}

func decodeUpdate(t *testing.T, res any, err error) string {
	t.Helper()
	if err != nil {
		t.Errorf("resume failed: %v", err)
		return ""
	}
	switch v := res.(type) {
	case string:
		return v
	case converter.EncodedValue:
		var s string
		if err := v.Get(&s); err != nil {
			t.Errorf("decode resume answer: %v", err)
		}
		return s
	}
	t.Errorf("resume answered %T", res)
	return ""
}

// Deliveries that give up one after another auto-disable the endpoint at
// the configured count; a delivered attempt starts the count afresh.
func TestConsecutiveGiveUpsAutoDisableTheEndpoint(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 503})
	store := newMemStore(t, enabledEndpoint(rcv.URL))
	in := parkingInput()
	in.Schedule = workflows.DefaultRetrySchedule()
	in.Schedule.Horizon = time.Hour
	for i := 1; i <= 2; i++ {
		env := newParkingEnv(t, store, activities.AutoDisable{GiveUps: 2})
		env.ExecuteWorkflow(workflows.WorkflowName, in)
		if appErr, _ := workflowFailure(t, env); appErr.Type() != workflows.ErrTypeDeliveryGaveUp {
			t.Fatalf("delivery %d: %v, want gave up", i, appErr)
		}
		ep := store.endpoint("ep_1")
		if ep.GiveUps != i || ep.Enabled != (i < 2) {
			t.Fatalf("after %d give-ups: give_ups %d, enabled %v", i, ep.GiveUps, ep.Enabled)
		}
	}
	if ep := store.endpoint("ep_1"); ep.State() != models.EndpointAutoDisabled || !strings.Contains(ep.DisabledReason, "2 deliveries in a row gave up") {
		t.Fatalf("endpoint %+v, want auto-disabled after 2 give-ups", ep)
	}
}

// A delivery waiting for its next retry when the endpoint is paused parks
// at that attempt instead of failing, and a resume delivers it.
func TestWaitingRetryParksWhenTheEndpointIsPaused(t *testing.T) {
	rcv := newScriptedReceiver(t, reply{status: 503}, reply{status: 200})
	store := newMemStore(t, enabledEndpoint(rcv.URL))
	env := newParkingEnv(t, store, activities.AutoDisable{})
	var states []string
	watchStates(env, &states)
	env.RegisterDelayedCallback(func() {
		store.set("ep_1", func(ep *models.Endpoint) { now := env.Now(); ep.PausedAt = &now })
	}, time.Second) // during the first backoff
	env.RegisterDelayedCallback(func() {
		store.set("ep_1", func(ep *models.Endpoint) { ep.PausedAt = nil })
		env.UpdateWorkflow(workflows.ResumeUpdate, "resume-1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("resume rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(any, error) {},
		})
	}, 30*time.Hour)

	env.ExecuteWorkflow(workflows.WorkflowName, parkingInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("delivery failed: %v (a paused endpoint must park it)", err)
	}
	if got := strings.Join(states, " "); got != "retrying paused delivered" {
		t.Errorf("states %q, want retrying, paused, delivered", got)
	}
	if got := rcv.attemptHeaders(); got != "1,2" {
		t.Errorf("attempt headers %q, want 1,2", got)
	}
}
