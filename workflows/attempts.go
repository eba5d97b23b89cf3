package workflows

// The steps of a delivery's loop: one attempt (a local activity first,
// then activities), the wait before the next, and the notes a give-up leaves.

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/scanforge/scanforge/activities"
)

// runAttempt executes attempt number attempt as one activity execution.
// slot is the send time an earlier throttled attempt reserved, if any.
func runAttempt(ctx workflow.Context, in DeliveryInput, schedule RetrySchedule, deadline time.Time, attempt int, slot *time.Time) (activities.AttemptResult, error) {
	infraWindow := max(deadline.Sub(workflow.Now(ctx)), minInfraWindow, schedule.AttemptTimeout)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    schedule.AttemptTimeout,
		ScheduleToCloseTimeout: infraWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    infraRetryInitial,
			BackoffCoefficient: 2,
			MaximumInterval:    infraRetryMax,
			MaximumAttempts:    0, // bounded by ScheduleToCloseTimeout
		},
		Summary: fmt.Sprintf("attempt %d", attempt),
	})
	input := activities.AttemptInput{
		EndpointID: in.EndpointID,
		EventID:    in.EventID,
		Payload:    in.Payload,
		Attempt:    attempt,
		Pace:       in.Revision >= RevisionPacing,
		Slot:       slot,
		URL:        in.URL,
	}
	var res activities.AttemptResult
	err := workflow.ExecuteActivity(actx, AttemptActivityName, input).Get(actx, &res)
	return res, err
}

// runLocalAttempt executes the first attempt as a local activity of the
// same name in the current workflow task. It runs once: an error is an
// infrastructure fault for the caller to retry. Its timeouts are the
// attempt's, which may exceed the workflow task timeout: the SDK then
// heartbeats the workflow task while the request runs. A signal or cancel
// request arriving meanwhile makes the server reject the task's completion,
// marker included, so the attempt runs again (same webhook-id, as after a
// lost worker); the delivery log's retry-now therefore does not signal a
// delivery still pending.
func runLocalAttempt(ctx workflow.Context, in DeliveryInput, schedule RetrySchedule) (activities.AttemptResult, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: schedule.AttemptTimeout,
		StartToCloseTimeout:    schedule.AttemptTimeout,
		RetryPolicy:            &temporal.RetryPolicy{MaximumAttempts: 1},
		Summary:                "attempt 1",
	})
	input := activities.AttemptInput{
		EndpointID: in.EndpointID,
		EventID:    in.EventID,
		Payload:    in.Payload,
		Attempt:    1,
		Pace:       in.Revision >= RevisionPacing,
		URL:        in.URL,
	}
	var res activities.AttemptResult
	err := workflow.ExecuteLocalActivity(lctx, AttemptActivityName, input).Get(lctx, &res)
	return res, err
}

// waitForNextAttempt sleeps on a durable timer until the next attempt is due
// or a retry-now signal arrives; it reports whether the signal cut it short.
// The error is the cancellation of the workflow.
func waitForNextAttempt(ctx workflow.Context, retryNow workflow.ReceiveChannel, wait time.Duration, nextAttempt int) (bool, error) {
	// A retry-now that arrived during the attempt was answered by it.
	for retryNow.ReceiveAsync(nil) {
		// dropped
	}

	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(timerCtx, wait, workflow.TimerOptions{
		Summary: fmt.Sprintf("backoff before attempt %d", nextAttempt),
	})
	var skipped bool
	var err error
	workflow.NewSelector(ctx).
		AddFuture(timer, func(f workflow.Future) { err = f.Get(ctx, nil) }).
		AddReceive(retryNow, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			skipped = true
		}).
		Select(ctx)
	return skipped, err
}

// describe renders an attempt for messages and the UI: "HTTP 503: <body>",
// "HTTP 302 (redirect not followed (302))", "timeout after 15s".
func describe(res activities.AttemptResult) string {
	if res.StatusCode == 0 {
		if res.Error == "" {
			return "no answer"
		}
		return res.Error
	}
	s := fmt.Sprintf("HTTP %d", res.StatusCode)
	if body := bodyPrefix(res.Body); body != "" {
		s += ": " + body
	}
	if res.Error != "" {
		s += " (" + res.Error + ")"
	}
	return s
}

func bodyPrefix(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if len(body) <= bodyPrefixLen {
		return body
	}
	cut := bodyPrefixLen
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return body[:cut] + "…"
}

// formatHours prints whole hours as "24h" and anything else as Go does.
func formatHours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// noteGaveUp tells the endpoint's failure record (which may auto-disable
// the endpoint) and the workspace's operational endpoints that this
// delivery gave up, as a local activity: one marker in history. Its
// failure does not change the delivery's outcome.
func noteGaveUp(ctx workflow.Context, in DeliveryInput, attempts int, last activities.AttemptResult, msg string) {
	if in.URL != "" {
		return // a replay to a bare URL says nothing about the endpoint
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		ScheduleToCloseTimeout: time.Minute,
		Summary:                "note give-up",
	})
	var disabled bool
	last.Body, last.Headers, last.RequestHeaders = "", nil, nil
	gaveUp := activities.GaveUpInput{
		EndpointID: in.EndpointID, DeliveryID: workflow.GetInfo(ctx).WorkflowExecution.ID, EventID: in.EventID,
		Attempts: attempts, Last: last, Message: msg,
	}
	err := workflow.ExecuteLocalActivity(lctx, activities.GaveUpActivityName, gaveUp).Get(lctx, &disabled)
	if err != nil {
		workflow.GetLogger(ctx).Warn("Give-up not noted", "Error", err)
	}
}
