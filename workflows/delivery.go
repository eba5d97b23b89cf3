package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/scanforge/scanforge/activities"
)

// Names stored in history and used by starters; changing them breaks
// running workflows and recorded histories.
const (
	TaskQueue           = "scanforge-deliveries"
	WorkflowName        = "Delivery"
	AttemptActivityName = "DeliveryAttempt"
	// RetryNowSignal skips the current wait: the next attempt starts at once.
	RetryNowSignal = "retry-now"
)

// Error types of a failed delivery (temporal.ApplicationError.Type()). The
// failure details hold the last activities.AttemptResult when there is one.
const (
	ErrTypeDeliveryFailed   = "DeliveryFailed"   // permanent answer (4xx other than 408/429)
	ErrTypeEndpointDisabled = "EndpointDisabled" // endpoint deleted or disabled
	ErrTypeDeliveryGaveUp   = "DeliveryGaveUp"   // horizon reached while retrying
	ErrTypeInvalidInput     = "InvalidInput"
)

// Activity retries cover infrastructure faults only (database down, worker
// lost); they are not delivery attempts.
const (
	infraRetryInitial = time.Second
	infraRetryMax     = time.Minute
	// minInfraWindow lets an attempt started at the horizon still survive a
	// short infrastructure fault.
	minInfraWindow = 5 * time.Minute
	// bodyPrefixLen is how much of an answer body goes into messages.
	bodyPrefixLen = 200
)

// DeliveryWorkflowID is the workflow ID of the delivery of one scan to one
// endpoint. Starting twice with the same ID does not deliver twice.
func DeliveryWorkflowID(scanID, endpointID string) string {
	return "delivery:" + scanID + ":" + endpointID
}

// ReplayURLWorkflowID is the workflow ID of a replay of event eventID to a
// bare URL (DeliveryInput.URL); the URL itself is in the input, not the ID.
func ReplayURLWorkflowID(eventID, url string) string {
	sum := sha256.Sum256([]byte(url))
	return "replay:" + eventID + ":url_" + hex.EncodeToString(sum[:8])
}

// TestWorkflowID is the workflow ID of a test event sent to an endpoint.
func TestWorkflowID(eventID, endpointID string) string {
	return "test:" + eventID + ":" + endpointID
}

// OperationalWorkflowID is the workflow ID of an operational event (e.g.
// endpoint.disabled) sent to an operational endpoint.
func OperationalWorkflowID(eventType, eventID, endpointID string) string {
	return eventType + ":" + eventID + ":" + endpointID
}

// DeliveryInput is the workflow input. It carries IDs and the event, never
// the endpoint's secret or URL: the attempt activity loads those.
type DeliveryInput struct {
	WorkspaceID string
	EndpointID  string
	CodeID      string
	ScanID      string
	EventID     string
	EventType   string
	Payload     json.RawMessage
	OccurredAt  time.Time     // the scan's time: the horizon counts from here
	Schedule    RetrySchedule // zero value: DefaultRetrySchedule()
	// ParkFor is how long the delivery may wait, parked, while its
	// endpoint is paused or disabled (from RevisionParking on). Zero: it
	// fails at once, as before (test events).
	ParkFor time.Duration
	// URL, when set, is a replay to a bare URL: the attempts post there,
	// signed with the endpoint's secret, and leave the endpoint's state,
	// limits and failure record alone.
	URL string `json:",omitempty"`
	// Revision is the behaviour the starter asked for (CurrentRevision).
	// It travels in the input, so in history: a run replays with the
	// behaviour it started with. Zero: runs started before revisions.
	Revision int
}

// Revisions of the delivery workflow's behaviour.
const (
	// RevisionOriginal upserts the delivery state behind the
	// upsert-delivery-state version marker, and at the end of every run.
	RevisionOriginal = 0
	// RevisionLeanState has no version marker, and a run delivered at its
	// first attempt upserts nothing: its Completed status says it all, and
	// the upsert would be a visibility write on every delivery.
	RevisionLeanState = 1
	// RevisionLocalFirst makes the first attempt a local activity inside the
	// first workflow task (one attempt, recorded as a LocalActivity marker
	// holding the same AttemptResult): with an eager start, a delivery
	// answered 2xx is one start and one workflow task completion. Later
	// attempts, and a first attempt that hit an infrastructure fault, run
	// as regular activities as before.
	RevisionLocalFirst = 2
	// RevisionParking parks a delivery whose endpoint is paused or
	// disabled (but not deleted) instead of failing it, for at most
	// ParkFor, until the resume update or a slow re-check (park.go); the
	// time parked does not count against the horizon. Such a delivery
	// (ParkFor set) that gives up at its horizon tells the endpoint's
	// failure record and the operational endpoints (EndpointGaveUp, a
	// local activity).
	RevisionParking = 3
	// RevisionPacing lets attempts apply the endpoint's rate_limit and
	// max_in_flight: an attempt that comes back throttled sent nothing,
	// and the run waits on a timer for its slot (limit.go). Endpoints
	// without limits run exactly as in RevisionParking.
	RevisionPacing = 4
	// CurrentRevision is what starters put in new inputs.
	CurrentRevision = RevisionPacing
)

// ValidRevision reports whether r is a revision this code runs.
func ValidRevision(r int) bool { return r >= RevisionOriginal && r <= CurrentRevision }

// DeliveryResult is the result of a delivered event.
type DeliveryResult struct {
	Attempts    int
	StatusCode  int
	DeliveredAt time.Time
}

// Register registers the delivery workflow and the attempt activity of d
// under their fixed names.
func Register(r worker.Registry, d *activities.Deliverer) {
	r.RegisterWorkflowWithOptions(Delivery, workflow.RegisterOptions{Name: WorkflowName})
	r.RegisterActivityWithOptions(d.Attempt, activity.RegisterOptions{Name: AttemptActivityName})
	r.RegisterActivityWithOptions(d.GaveUp, activity.RegisterOptions{Name: activities.GaveUpActivityName})
}

// Delivery delivers one event to one endpoint: it attempts, waits, and
// attempts again until the endpoint answers 2xx (Completed), answers a
// permanent error or is disabled (Failed at once; from RevisionParking on
// a paused or disabled endpoint parks the delivery instead), or the
// schedule's horizon after the scan is reached (Failed: gave up).
func Delivery(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	var p *parker
	if in.Revision >= RevisionParking && in.ParkFor > 0 {
		p = newParker(ctx, in.ParkFor)
	}
	res, err := deliver(ctx, in, p)
	p.finish(ctx)
	return res, err
}

func deliver(ctx workflow.Context, in DeliveryInput, p *parker) (DeliveryResult, error) {
	logger := workflow.GetLogger(ctx)

	schedule := in.Schedule
	if schedule == (RetrySchedule{}) {
		schedule = DefaultRetrySchedule()
	}
	if err := schedule.Validate(); err != nil {
		return DeliveryResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidInput, err)
	}
	occurredAt := in.OccurredAt
	if occurredAt.IsZero() {
		occurredAt = workflow.GetInfo(ctx).WorkflowStartTime
	}
	deadline := occurredAt.Add(schedule.Horizon)
	jitterSeed := in.EventID + ":" + in.EndpointID
	retryNow := workflow.GetSignalChannel(ctx, RetryNowSignal)
	state := newStateRecorder(in.Revision)
	lastStatus := 0

	// The first attempt always runs, even when the scan is older than the
	// horizon (a late outbox drain or a replay).
	firstTried := false
	var throttled throttleWait
	for attempt := 1; ; attempt++ {
		var res activities.AttemptResult
		var err error
		if attempt == 1 && in.Revision >= RevisionLocalFirst && !firstTried {
			res, err = runLocalAttempt(ctx, in, schedule)
			if err != nil && !temporal.IsCanceledError(err) {
				// An infrastructure fault (database down, worker stopping):
				// the regular activity retries it with backoff, as for
				// every other attempt.
				logger.Warn("Local first attempt could not run; retrying it as an activity", "Error", err)
				res, err = runAttempt(ctx, in, schedule, deadline, attempt, nil)
			}
		} else {
			res, err = runAttempt(ctx, in, schedule, deadline, attempt, throttled.slot)
		}
		if temporal.IsCanceledError(err) {
			state.record(ctx, StateCanceled, lastStatus, attempt-1)
			return DeliveryResult{}, err // the delivery was cancelled: end Canceled, not Failed
		}
		if err != nil {
			state.record(ctx, StateFailed, lastStatus, attempt-1)
			msg := fmt.Sprintf("gave up: attempt %d could not run: %v", attempt, err)
			if p != nil {
				noteGaveUp(ctx, in, attempt-1, activities.AttemptResult{Attempt: attempt, Error: err.Error()}, msg)
			}
			return DeliveryResult{}, temporal.NewNonRetryableApplicationError(msg, ErrTypeDeliveryGaveUp, err)
		}
		if res.Outcome == activities.OutcomeThrottled && in.Revision >= RevisionPacing {
			// Not an attempt either: it keeps its number, later ones run
			// as activities, and the horizon moves by the wait.
			firstTried = true
			waited, err := throttled.wait(ctx, res, jitterSeed, attempt)
			if err != nil {
				state.record(ctx, StateCanceled, lastStatus, attempt-1)
				return DeliveryResult{}, err
			}
			deadline = deadline.Add(waited)
			attempt--
			continue
		}
		throttled.done()
		logger.Info("Delivery attempt finished", "Attempt", attempt, "Outcome", res.Outcome,
			"StatusCode", res.StatusCode, "Error", res.Error, "DurationMS", res.DurationMS)
		if p != nil {
			parks := p.parks(res)
			p.attempted(res, parks)
			if parks {
				// Not an attempt: nothing was sent. The next one keeps
				// its number and the horizon moves by the time parked.
				firstTried = true
				parked, err := p.park(ctx, state, res, attempt-1)
				if err != nil {
					if temporal.IsCanceledError(err) {
						state.record(ctx, StateCanceled, lastStatus, attempt-1)
					}
					return DeliveryResult{}, err
				}
				deadline = deadline.Add(parked)
				attempt--
				continue
			}
		}
		lastStatus = res.StatusCode

		switch res.Outcome {
		case activities.OutcomeDelivered:
			state.record(ctx, StateDelivered, res.StatusCode, attempt)
			workflow.SetCurrentDetails(ctx, fmt.Sprintf("delivered on attempt %d: HTTP %d", attempt, res.StatusCode))
			return DeliveryResult{Attempts: attempt, StatusCode: res.StatusCode, DeliveredAt: workflow.Now(ctx)}, nil
		case activities.OutcomeFailed:
			state.record(ctx, StateFailed, res.StatusCode, attempt)
			return DeliveryResult{}, temporal.NewNonRetryableApplicationError(describe(res), ErrTypeDeliveryFailed, nil, res)
		case activities.OutcomeEndpointDisabled:
			state.record(ctx, StateFailed, res.StatusCode, attempt)
			return DeliveryResult{}, temporal.NewNonRetryableApplicationError(describe(res), ErrTypeEndpointDisabled, nil, res)
		case activities.OutcomeRetry:
			// wait, then try again
		default:
			state.record(ctx, StateFailed, res.StatusCode, attempt)
			msg := fmt.Sprintf("attempt %d: unknown outcome %q", attempt, res.Outcome)
			return DeliveryResult{}, temporal.NewNonRetryableApplicationError(msg, ErrTypeDeliveryFailed, nil, res)
		}

		wait := schedule.Backoff(attempt, jitterSeed)
		if retryAfter := min(res.RetryAfter, schedule.MaxInterval); retryAfter > wait {
			wait = retryAfter
		}
		next := workflow.Now(ctx).Add(wait)
		if next.After(deadline) {
			state.record(ctx, StateFailed, res.StatusCode, attempt)
			msg := fmt.Sprintf("gave up after %d attempts over %s; last: %s", attempt, formatHours(schedule.Horizon), describe(res))
			if p != nil {
				noteGaveUp(ctx, in, attempt, res, msg)
			}
			return DeliveryResult{}, temporal.NewNonRetryableApplicationError(msg, ErrTypeDeliveryGaveUp, nil, res)
		}

		state.record(ctx, StateRetrying, res.StatusCode, attempt)
		workflow.SetCurrentDetails(ctx, fmt.Sprintf("attempt %d: %s; next attempt at %s",
			attempt, describe(res), next.UTC().Format(time.RFC3339)))
		skipped, err := waitForNextAttempt(ctx, retryNow, wait, attempt+1)
		if err != nil {
			state.record(ctx, StateCanceled, res.StatusCode, attempt)
			return DeliveryResult{}, err // cancelled while waiting
		}
		if skipped {
			logger.Info("Retry-now signal skipped the wait", "NextAttempt", attempt+1)
		}
	}
}
