package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scanforge/scanforge/models"
	"github.com/scanforge/scanforge/webhook"
)

// Notifier sends a workspace's operational events (internal/opevents).
type Notifier interface {
	Notify(ctx context.Context, workspaceID, eventType string, data any) error
}

// GaveUpInput is the input of the give-up activity.
type GaveUpInput struct {
	EndpointID string
	DeliveryID string
	EventID    string
	Attempts   int
	Last       AttemptResult // no body, no headers
	Message    string        // the delivery's failure message
}

// GaveUpActivityName is the activity a delivery runs (from
// workflows.RevisionParking on) when it gives up at its horizon.
const GaveUpActivityName = "EndpointGaveUp"

// HealthStore keeps an endpoint's failure record, which auto-disabling
// reads.
type HealthStore interface {
	MarkEndpointFailing(ctx context.Context, endpointID string, at time.Time) error
	MarkEndpointHealthy(ctx context.Context, endpointID string) error
	// RecordGiveUp returns the consecutive give-ups, this one included.
	RecordGiveUp(ctx context.Context, endpointID string) (int, error)
}

// AutoDisable is when an endpoint is disabled automatically: when every
// attempt has failed for After, or after GiveUps consecutive deliveries
// gave up. Zero turns a rule off. Its deliveries then park: nothing is lost.
type AutoDisable struct {
	After   time.Duration
	GiveUps int
}

// Defaults of AutoDisable.
const (
	DefaultAutoDisableAfter   = 5 * 24 * time.Hour
	DefaultAutoDisableGiveUps = 20
)

// noteHealth updates ep's failure record after an attempt that got res,
// and disables ep when the record says so. Only changes are written: a
// healthy endpoint costs its deliveries nothing here.
func (d *Deliverer) noteHealth(ctx context.Context, ep models.Endpoint, res *AttemptResult) {
	if d.Health == nil || res.StatusCode == 410 {
		return
	}
	now := d.now()
	var err error
	switch {
	case res.Outcome == OutcomeDelivered:
		if ep.FailingSince != nil || ep.GiveUps > 0 {
			err = d.Health.MarkEndpointHealthy(ctx, ep.ID)
		}
	case ep.FailingSince == nil:
		err = d.Health.MarkEndpointFailing(ctx, ep.ID, now)
	case d.AutoDisable.After > 0 && now.Sub(*ep.FailingSince) >= d.AutoDisable.After:
		reason := fmt.Sprintf("auto-disabled: every delivery attempt failed since %s (last: %s)",
			ep.FailingSince.UTC().Format(time.RFC3339), summary(*res))
		err = d.Endpoints.DisableEndpoint(ctx, ep.ID, models.CauseAutoDisabled, reason)
		if err == nil {
			d.logger().Warn("endpoint auto-disabled", "endpoint_id", ep.ID, "reason", reason)
			res.Error = joinNote(res.Error, "endpoint auto-disabled")
			d.notifyDisabled(ctx, ep, models.EndpointAutoDisabled, reason, *res)
		}
	}
	if err != nil {
		// The attempt's answer stands; the next attempt tries again.
		d.logger().Warn("endpoint failure record", "endpoint_id", ep.ID, "error", err)
	}
}

// GaveUp notes that a delivery gave up at its horizon: it tells the
// operational endpoints (delivery.gave_up), and disables the endpoint
// after AutoDisable.GiveUps consecutive ones. It reports whether it
// disabled the endpoint.
func (d *Deliverer) GaveUp(ctx context.Context, in GaveUpInput) (bool, error) {
	ep, err := d.Endpoints.GetEndpointByID(ctx, in.EndpointID)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil // deleted: nothing to tell or disable
	}
	if err != nil {
		// Retried by the local activity: a database blip must not lose the
		// notice or the give-up count.
		return false, fmt.Errorf("gave up: load endpoint %s: %w", in.EndpointID, err)
	}
	if d.Notifier != nil {
		err := d.Notifier.Notify(ctx, ep.WorkspaceID, webhook.TypeDeliveryGaveUp, webhook.DeliveryGaveUp{
			DeliveryID: in.DeliveryID, EndpointID: in.EndpointID, EventID: in.EventID, Attempts: in.Attempts,
			LastStatus: in.Last.StatusCode, LastError: in.Last.Error, Message: in.Message,
		})
		if err != nil {
			// Retried by the local activity: an operational endpoint may get
			// the event twice, never miss it.
			return false, fmt.Errorf("send %s: %w", webhook.TypeDeliveryGaveUp, err)
		}
	}
	if d.Health == nil {
		return false, nil
	}
	n, err := d.Health.RecordGiveUp(ctx, in.EndpointID)
	if err != nil {
		return false, err
	}
	if d.AutoDisable.GiveUps <= 0 || n < d.AutoDisable.GiveUps || !ep.Enabled {
		return false, nil // below the count, or disabled already: its reason stands
	}
	reason := fmt.Sprintf("auto-disabled: %d deliveries in a row gave up", n)
	if err := d.Endpoints.DisableEndpoint(ctx, in.EndpointID, models.CauseAutoDisabled, reason); err != nil {
		return false, err
	}
	d.logger().Warn("endpoint auto-disabled", "endpoint_id", in.EndpointID, "reason", reason)
	d.notifyDisabled(ctx, ep, models.EndpointAutoDisabled, reason, in.Last)
	return true, nil
}

// notifyDisabled tells the operational endpoints that ep was disabled.
func (d *Deliverer) notifyDisabled(ctx context.Context, ep models.Endpoint, state, reason string, last AttemptResult) {
	if d.Notifier == nil {
		return
	}
	err := d.Notifier.Notify(ctx, ep.WorkspaceID, webhook.TypeEndpointDisabled, webhook.EndpointDisabled{
		EndpointID: ep.ID, URL: ep.URL, State: state, Reason: reason, FailingSince: ep.FailingSince,
		LastStatus: last.StatusCode, LastError: last.Error,
	})
	if err != nil {
		// The endpoint is disabled and says why in the API; the event is
		// the extra.
		d.logger().Warn("operational event not sent", "type", webhook.TypeEndpointDisabled, "endpoint_id", ep.ID, "error", err)
	}
}

func summary(res AttemptResult) string {
	if res.StatusCode == 0 {
		return res.Error
	}
	return fmt.Sprintf("HTTP %d", res.StatusCode)
}

func joinNote(s, note string) string {
	if s == "" {
		return note
	}
	return s + "; " + note
}
