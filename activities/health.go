package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/scanforge/scanforge/models"
)

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
		}
	}
	if err != nil {
		// The attempt's answer stands; the next attempt tries again.
		d.logger().Warn("endpoint failure record", "endpoint_id", ep.ID, "error", err)
	}
}

// GaveUp notes that a delivery to endpointID gave up at its horizon; the
// endpoint is disabled after AutoDisable.GiveUps consecutive ones. It
// reports whether it disabled the endpoint.
func (d *Deliverer) GaveUp(ctx context.Context, endpointID string) (bool, error) {
	if d.Health == nil {
		return false, nil
	}
	n, err := d.Health.RecordGiveUp(ctx, endpointID)
	if err != nil {
		return false, err
	}
	if d.AutoDisable.GiveUps <= 0 || n < d.AutoDisable.GiveUps {
		return false, nil
	}
	ep, err := d.Endpoints.GetEndpointByID(ctx, endpointID)
	if err != nil || !ep.Enabled {
		return false, nil // deleted, or disabled already: its reason stands
	}
	reason := fmt.Sprintf("auto-disabled: %d deliveries in a row gave up", n)
	if err := d.Endpoints.DisableEndpoint(ctx, endpointID, models.CauseAutoDisabled, reason); err != nil {
		return false, err
	}
	d.logger().Warn("endpoint auto-disabled", "endpoint_id", endpointID, "reason", reason)
	return true, nil
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
