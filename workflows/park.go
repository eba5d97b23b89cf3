package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/models"
)

// Parking (RevisionParking): a delivery whose endpoint is paused or
// disabled waits, durably, instead of failing. It attempts again when the
// endpoint is resumed (the ResumeUpdate the drain sends, oldest first) or,
// should that never come, at a slow re-check; it ends Failed with
// ErrTypeParkExpired once it has been parked for ParkFor.

const (
	// ResumeUpdate ends a parked delivery's wait: it attempts at once. The
	// update completes when that attempt has finished and answers its
	// outcome, so a drain can pace deliveries one after another. A
	// delivery that is not parked rejects it (nothing in its history).
	ResumeUpdate = "resume"
	// DefaultParkFor bounds how long a delivery stays parked.
	DefaultParkFor = 7 * 24 * time.Hour
	// parkRecheck is how often a parked delivery looks at its endpoint by
	// itself, in case a resume never reaches it (a drain that died).
	parkRecheck = 6 * time.Hour
)

// ErrTypeParkExpired: the endpoint stayed paused or disabled for ParkFor.
const ErrTypeParkExpired = "ParkExpired"

var errNotParked = errors.New("delivery is not parked")

// parker is the parking state of one run.
type parker struct {
	bound    time.Duration
	since    time.Time // start of the current parking; zero when not parked
	waiting  bool      // in the parked wait: a resume is accepted
	resumed  bool
	attempts int    // attempts finished, for the resume update's wait
	outcome  string // of the last attempt
	finished bool
}

// newParker returns the parker of a run that parks for at most bound, and
// registers the resume update.
func newParker(ctx workflow.Context, bound time.Duration) *parker {
	p := &parker{bound: bound}
	err := workflow.SetUpdateHandlerWithOptions(ctx, ResumeUpdate, p.resume, workflow.UpdateHandlerOptions{
		Validator:   func(workflow.Context) error { return p.acceptResume() },
		Description: "attempt now: the endpoint takes deliveries again",
	})
	if err != nil {
		// Only a bad handler fails here; the re-check still unparks.
		workflow.GetLogger(ctx).Warn("Resume update handler not registered", "Error", err)
	}
	return p
}

func (p *parker) acceptResume() error {
	if !p.waiting {
		return errNotParked
	}
	return nil
}

// resume ends the parked wait and answers the outcome of the attempt it
// causes.
func (p *parker) resume(ctx workflow.Context) (string, error) {
	p.resumed = true
	done := p.attempts
	if err := workflow.Await(ctx, func() bool { return p.attempts > done || p.finished }); err != nil {
		return "", err
	}
	return p.outcome, nil
}

// attempted notes an attempt's outcome; one that reached the endpoint
// ends the current parking.
func (p *parker) attempted(res activities.AttemptResult, parks bool) {
	p.attempts++
	p.outcome = string(res.Outcome)
	if parks {
		p.outcome = "parked: " + res.EndpointState
	} else {
		p.since = time.Time{}
	}
}

// parks reports whether an attempt's result parks the delivery: its
// endpoint exists but does not take deliveries.
func (p *parker) parks(res activities.AttemptResult) bool {
	return p != nil && res.Outcome == activities.OutcomeEndpointDisabled && res.EndpointState != ""
}

// park waits until the endpoint is resumed, the re-check is due or the
// parking bound is reached, and returns how long it waited (the retry
// horizon moves by as much). Past the bound it returns the delivery's
// final error. attempts is the number of attempts made so far.
func (p *parker) park(ctx workflow.Context, state *stateRecorder, res activities.AttemptResult, attempts int) (time.Duration, error) {
	now := workflow.Now(ctx)
	if p.since.IsZero() {
		p.since = now
	}
	expires := p.since.Add(p.bound)
	if !now.Before(expires) {
		state.record(ctx, StateFailed, 0, attempts)
		msg := fmt.Sprintf("gave up: parked for %s while the %s (%s); replay the delivery once the endpoint takes deliveries",
			formatHours(p.bound), describeEndpointState(res.EndpointState), res.Error)
		return 0, temporal.NewNonRetryableApplicationError(msg, ErrTypeParkExpired, nil, res)
	}
	state.record(ctx, StatePaused, 0, attempts)
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("parked: %s; waiting for resume, at most until %s",
		res.Error, expires.UTC().Format(time.RFC3339)))

	wait := min(parkRecheck, expires.Sub(now))
	p.waiting, p.resumed = true, false
	_, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{
		Timeout:      wait,
		TimerOptions: workflow.TimerOptions{Summary: "parked: " + describeEndpointState(res.EndpointState)},
	}, func() bool { return p.resumed })
	p.waiting = false
	return workflow.Now(ctx).Sub(now), err
}

// finish lets a resume update still waiting answer before the run ends.
func (p *parker) finish(ctx workflow.Context) {
	if p == nil {
		return
	}
	p.finished = true
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

func describeEndpointState(state string) string {
	switch state {
	case models.EndpointPaused:
		return "endpoint was paused"
	case models.EndpointGone:
		return "endpoint was disabled after answering 410 Gone"
	case models.EndpointAutoDisabled:
		return "endpoint was auto-disabled"
	}
	return "endpoint was disabled"
}
