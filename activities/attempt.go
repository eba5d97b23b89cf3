package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/scanforge/scanforge/internal/destination"
	"github.com/scanforge/scanforge/models"
)

// AttemptInput identifies one delivery attempt. It carries IDs and the
// event, never the secret: inputs are stored in Temporal history.
type AttemptInput struct {
	EndpointID string
	EventID    string          // the message id (webhook-id): stable across retries and replays
	Payload    json.RawMessage // the exact body to POST
	Attempt    int             // 1-based
	// Pace applies the endpoint's rate limit and max_in_flight (pacing.go);
	// Slot is the send time an earlier throttled result reserved, if any.
	Pace bool       `json:",omitempty"`
	Slot *time.Time `json:",omitempty"`
	// URL, when set, replaces the endpoint's: a replay to a bare URL,
	// signed with the endpoint's secret, that leaves the endpoint's state,
	// limits and failure record alone.
	URL string `json:",omitempty"`
}

// AttemptResult is what one attempt saw. It is the activity's result, so
// it is stored in history: it holds no secret and no signature.
type AttemptResult struct {
	Attempt    int
	Outcome    Outcome
	StatusCode int               // 0 when there was no answer
	Body       string            // answer body, cut at MaxBodyBytes
	Headers    map[string]string // Content-Type, Retry-After, Location when present
	RetryAfter time.Duration     // parsed Retry-After; 0 if none
	Error      string            // transport error or reason, e.g. "timeout after 15s"
	DurationMS int64
	StartedAt  time.Time
	URL        string
	// RequestHeaders are the headers sent, signature values masked.
	RequestHeaders map[string]string
	// Format is the endpoint's body format at this attempt; "" is the
	// ScanForge event. SentBody is the body rendered for any other format;
	// the event itself (the input's Payload) is not copied, to keep the
	// history of most deliveries small.
	Format   string          `json:",omitempty"`
	SentBody json.RawMessage `json:",omitempty"`

	// EndpointState is the endpoint's state (models.Endpoint.State) when
	// the outcome is OutcomeEndpointDisabled; "" when it was not found.
	// Deliveries of workflows.RevisionParking park on it.
	EndpointState string

	// Throttle is set when the outcome is OutcomeThrottled: nothing was
	// sent and the attempt is due again later.
	Throttle *Throttle `json:",omitempty"`
}

// Attempt makes one delivery attempt. The HTTP outcome, good or bad, is the
// result. An error means an infrastructure fault (database unreachable,
// worker shutting down): Temporal retries it and it is not an attempt.
func (d *Deliverer) Attempt(ctx context.Context, in AttemptInput) (AttemptResult, error) {
	if d.Client == nil || d.Endpoints == nil {
		return AttemptResult{}, errors.New("activities: Deliverer needs Endpoints and Client (use NewDeliverer)")
	}
	res := AttemptResult{Attempt: in.Attempt}

	ep, err := d.Endpoints.GetEndpointByID(ctx, in.EndpointID)
	if errors.Is(err, models.ErrNotFound) {
		res.Outcome = OutcomeEndpointDisabled
		res.Error = "endpoint not found"
		d.observe(ctx, res)
		return res, nil
	}
	if err != nil {
		return AttemptResult{}, fmt.Errorf("load endpoint %s: %w", in.EndpointID, err)
	}
	toURL := in.URL != ""
	if toURL {
		ep.URL = in.URL
	}
	res.URL = ep.URL
	if !ep.TakesDeliveries() && !toURL {
		res.Outcome = OutcomeEndpointDisabled
		res.EndpointState = ep.State()
		res.Error = "endpoint disabled"
		if ep.Enabled {
			res.Error = "endpoint paused"
		}
		if ep.DisabledReason != "" && !ep.Enabled {
			res.Error += ": " + ep.DisabledReason
		}
		d.observe(ctx, res)
		return res, nil
	}

	release, throttled, err := d.pace(ctx, ep, in, &res)
	if err != nil {
		return AttemptResult{}, err
	}
	if throttled {
		d.finished(ctx)
		return res, nil
	}
	d.post(ctx, ep, in, &res)
	release()
	d.holdForRetryAfter(ctx, ep, in, res)
	if err := ctx.Err(); err != nil && res.StatusCode == 0 {
		// Cancelled by Temporal (worker shutdown, activity timeout) before an
		// answer came: the attempt did not finish, so it is not a result.
		return AttemptResult{}, fmt.Errorf("attempt %d cancelled: %w", in.Attempt, err)
	}

	if toURL {
		// Another receiver's answer: the endpoint's state and failure
		// record are not its business.
		d.logger().Info("delivery attempt to a replay URL", "endpoint_id", ep.ID, "attempt", in.Attempt,
			"outcome", res.Outcome, "status", res.StatusCode)
		d.observe(ctx, res)
		return res, nil
	}
	if reason := destination.DisableReason(ep.Format, res.StatusCode, res.Body); reason != "" {
		if err := d.Endpoints.DisableEndpoint(ctx, ep.ID, models.CauseGone, reason); err != nil {
			// The answer stands; the next delivery to this endpoint will
			// get it again and retry the disabling.
			d.logger().Warn("disable endpoint", "endpoint_id", ep.ID, "reason", reason, "error", err)
			res.Error = reason + "; disabling it failed: " + err.Error()
		} else {
			res.Error = reason + "; endpoint disabled"
			d.notifyDisabled(ctx, ep, models.EndpointGone, reason, res)
		}
	}

	d.noteHealth(ctx, ep, &res)
	d.logger().Info("delivery attempt",
		"endpoint_id", ep.ID, "event_id", in.EventID, "attempt", in.Attempt,
		"outcome", res.Outcome, "status", res.StatusCode, "error", res.Error, "duration_ms", res.DurationMS)
	d.observe(ctx, res)
	return res, nil
}

// observe counts a finished attempt; its latency counts when a request went
// out (the request headers are set just before sending).
func (d *Deliverer) observe(ctx context.Context, res AttemptResult) {
	d.Metrics.DeliveryAttempt(string(res.Outcome), res.RequestHeaders != nil, time.Duration(res.DurationMS)*time.Millisecond)
	d.finished(ctx)
}

// finished tells Finished that the attempt of ctx ended with a result.
func (d *Deliverer) finished(ctx context.Context) {
	if d.Finished != nil && activity.IsActivity(ctx) {
		d.Finished(activity.GetInfo(ctx).WorkflowExecution.ID)
	}
}
