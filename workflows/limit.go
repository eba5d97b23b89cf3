package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/scanforge/scanforge/activities"
)

// Pacing (RevisionPacing): an attempt of an endpoint with a rate limit or
// max_in_flight may come back throttled, having sent nothing. The run
// then waits on a durable timer: until its reserved send slot (less
// activities.PaceLead: the attempt waits out the rest), or, when every
// in-flight place was taken, a short growing backoff. The wait is not an
// attempt and does not count against the horizon.

const (
	busyInitial = time.Second
	busyMax     = 10 * time.Second
)

// throttleWait is the state of a run's throttled waits.
type throttleWait struct {
	slot *time.Time // send slot reserved for the next attempt
	busy int        // consecutive attempts that found every place taken
}

// wait sleeps as the throttled result res says and returns how long it
// waited. The error is the cancellation of the workflow.
func (w *throttleWait) wait(ctx workflow.Context, res activities.AttemptResult, seed string, attempt int) (time.Duration, error) {
	t := res.Throttle
	if t == nil {
		t = &activities.Throttle{Busy: true}
	}
	start := workflow.Now(ctx)
	var wait time.Duration
	var summary string
	w.slot = nil
	if t.Slot {
		w.busy = 0
		until := t.Until
		w.slot = &until
		wait = until.Add(-activities.PaceLead).Sub(start)
		summary = fmt.Sprintf("rate limit: send slot at %s", until.UTC().Format("15:04:05.000"))
	} else {
		w.busy++
		wait = busyBackoff(w.busy, seed)
		summary = fmt.Sprintf("max_in_flight: every place taken (%d)", w.busy)
	}
	if wait <= 0 {
		return 0, nil
	}
	workflow.SetCurrentDetails(ctx, fmt.Sprintf("attempt %d waits: %s", attempt, res.Error))
	err := workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: summary}).Get(ctx, nil)
	return workflow.Now(ctx).Sub(start), err
}

// done forgets the throttled state once an attempt has run.
func (w *throttleWait) done() { *w = throttleWait{} }

// busyBackoff is the wait after the busy-th consecutive "every place
// taken": 1 s doubling up to 10 s, ±20 % (deterministic, as Backoff).
func busyBackoff(busy int, seed string) time.Duration {
	wait := busyInitial << min(busy-1, 4)
	wait = min(wait, busyMax)
	return time.Duration(float64(wait) * (1 + 0.2*unitJitter(seed+":busy", busy)))
}
