package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/workflows"
)

// scriptedAttempts stands in for the attempt activity: it answers its
// script in order and keeps every input and the test clock at each call.
type scriptedAttempts struct {
	env    *testsuite.TestWorkflowEnvironment
	script []func(now time.Time) activities.AttemptResult
	mu     sync.Mutex
	inputs []activities.AttemptInput
	calls  []time.Time
}

func (s *scriptedAttempts) attempt(_ context.Context, in activities.AttemptInput) (activities.AttemptResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.env.Now()
	s.inputs = append(s.inputs, in)
	s.calls = append(s.calls, now)
	res := s.script[min(len(s.inputs), len(s.script))-1](now)
	res.Attempt = in.Attempt
	return res, nil
}

func newScriptedEnv(t *testing.T, script ...func(now time.Time) activities.AttemptResult) (*testsuite.TestWorkflowEnvironment, *scriptedAttempts) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(scanTime)
	s := &scriptedAttempts{env: env, script: script}
	env.RegisterWorkflowWithOptions(workflows.Delivery, workflow.RegisterOptions{Name: workflows.WorkflowName})
	env.RegisterActivityWithOptions(s.attempt, activity.RegisterOptions{Name: workflows.AttemptActivityName})
	return env, s
}

func answered(status int, outcome activities.Outcome) func(time.Time) activities.AttemptResult {
	return func(time.Time) activities.AttemptResult {
		return activities.AttemptResult{Outcome: outcome, StatusCode: status}
	}
}

// A throttled attempt sent nothing: the run waits on a timer until its
// reserved slot (less the lead the attempt waits out itself), then the
// attempt runs with that slot; the wait keeps the attempt's number and
// does not count against the horizon.
func TestThrottledAttemptWaitsForItsSlot(t *testing.T) {
	var slot time.Time
	env, s := newScriptedEnv(t,
		func(now time.Time) activities.AttemptResult {
			slot = now.Add(time.Hour)
			return activities.AttemptResult{Outcome: activities.OutcomeThrottled, Error: "next send slot",
				Throttle: &activities.Throttle{Until: slot, Slot: true}}
		},
		answered(503, activities.OutcomeRetry),
		answered(200, activities.OutcomeDelivered))
	in := deliveryInput()
	in.Schedule = workflows.DefaultRetrySchedule()
	in.Schedule.Horizon = 30 * time.Minute // shorter than the throttled wait

	env.ExecuteWorkflow(workflows.WorkflowName, in)

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	var res workflows.DeliveryResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || res.StatusCode != 200 {
		t.Fatalf("result = %+v, want delivered at attempt 2 (the throttled one is not an attempt)", res)
	}
	if len(s.inputs) != 3 {
		t.Fatalf("%d attempt calls, want 3", len(s.inputs))
	}
	first, second, third := s.inputs[0], s.inputs[1], s.inputs[2]
	if !first.Pace || first.Slot != nil || first.Attempt != 1 {
		t.Errorf("first call = %+v, want Pace, no slot, attempt 1", first)
	}
	if !second.Pace || second.Slot == nil || !second.Slot.Equal(slot) || second.Attempt != 1 {
		t.Errorf("call after the wait = %+v, want attempt 1 with the reserved slot %v", second, slot)
	}
	if third.Slot != nil || third.Attempt != 2 {
		t.Errorf("the retry = %+v, want attempt 2 without a slot", third)
	}
	if waited := s.calls[1].Sub(s.calls[0]); waited != time.Hour-activities.PaceLead {
		t.Errorf("waited %v for the slot, want %v", waited, time.Hour-activities.PaceLead)
	}
}

// Every in-flight place taken: the run comes back after 1 s, then 2 s
// (±20 %), with no slot.
func TestBusyAttemptBacksOff(t *testing.T) {
	busy := func(time.Time) activities.AttemptResult {
		return activities.AttemptResult{Outcome: activities.OutcomeThrottled, Error: "max_in_flight 2: every place taken",
			Throttle: &activities.Throttle{Busy: true}}
	}
	env, s := newScriptedEnv(t, busy, busy, answered(200, activities.OutcomeDelivered))

	env.ExecuteWorkflow(workflows.WorkflowName, deliveryInput())

	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(s.inputs) != 3 {
		t.Fatalf("%d attempt calls, want 3", len(s.inputs))
	}
	for i, want := range []time.Duration{time.Second, 2 * time.Second} {
		got := s.calls[i+1].Sub(s.calls[i])
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("wait %d = %v, want %v ±20 %%", i+1, got, want)
		}
		if in := s.inputs[i+1]; in.Slot != nil || in.Attempt != 1 {
			t.Errorf("call %d = %+v, want attempt 1 without a slot", i+2, in)
		}
	}
}

// Runs of earlier revisions never ask for pacing: their attempts send as
// before.
func TestEarlierRevisionsDoNotPace(t *testing.T) {
	env, s := newScriptedEnv(t, answered(200, activities.OutcomeDelivered))
	in := deliveryInput()
	in.Revision = workflows.RevisionParking
	env.ExecuteWorkflow(workflows.WorkflowName, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if len(s.inputs) != 1 || s.inputs[0].Pace {
		t.Fatalf("inputs = %+v, want one without Pace", s.inputs)
	}
}
