package models

// Endpoint states: pause, disable causes and the failure record that
// auto-disables an endpoint. Deliveries to an endpoint that is not
// EndpointEnabled park (workflows.RevisionParking) until it is again.

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// DisableCause says who or what disabled an endpoint.
type DisableCause string

const (
	CauseNone         DisableCause = ""
	CauseOperator     DisableCause = "operator"      // POST …/disable or PATCH enabled=false
	CauseGone         DisableCause = "gone"          // the endpoint answered 410 Gone
	CauseAutoDisabled DisableCause = "auto_disabled" // every delivery failed for too long
)

// Endpoint states, as the API shows them (Endpoint.State).
const (
	EndpointEnabled      = "enabled"
	EndpointPaused       = "paused"
	EndpointDisabled     = "disabled"      // by an operator
	EndpointGone         = "gone"          // disabled by a 410 answer
	EndpointAutoDisabled = "auto_disabled" // disabled after failing for too long
)

// State is the endpoint's state: enabled, paused, or disabled by an
// operator, a 410 or auto-disabling. A disabled endpoint that is also
// paused is disabled: resuming it enables it as well.
func (e Endpoint) State() string {
	if !e.Enabled {
		switch e.DisabledCause {
		case CauseGone:
			return EndpointGone
		case CauseAutoDisabled:
			return EndpointAutoDisabled
		}
		return EndpointDisabled
	}
	if e.PausedAt != nil {
		return EndpointPaused
	}
	return EndpointEnabled
}

// TakesDeliveries reports whether deliveries to e are sent now rather
// than parked.
func (e Endpoint) TakesDeliveries() bool { return e.State() == EndpointEnabled }

// PauseEndpoint pauses workspaceID's endpoint endpointID: deliveries to it
// park until it is resumed. Pausing a paused endpoint keeps its first
// pause time.
func (s *Store) PauseEndpoint(ctx context.Context, workspaceID, endpointID string) (Endpoint, error) {
	now := s.now()
	res := s.db.WithContext(ctx).Model(&Endpoint{}).
		Where("workspace_id = ? AND id = ? AND paused_at IS NULL", workspaceID, endpointID).
		Updates(map[string]any{"paused_at": now, "updated_at": now})
	if res.Error != nil {
		return Endpoint{}, fmt.Errorf("pause endpoint %q: %w", endpointID, res.Error)
	}
	return s.GetEndpoint(ctx, workspaceID, endpointID)
}

// ResumeEndpoint makes workspaceID's endpoint endpointID take deliveries
// again, whatever stopped it (a pause, an operator, a 410, auto-disabling),
// and starts its failure record afresh.
func (s *Store) ResumeEndpoint(ctx context.Context, workspaceID, endpointID string) (Endpoint, error) {
	err := s.db.WithContext(ctx).Model(&Endpoint{}).
		Where("workspace_id = ? AND id = ?", workspaceID, endpointID).
		Updates(map[string]any{
			"paused_at": nil, "enabled": true, "disabled_reason": "", "disabled_cause": CauseNone,
			"failing_since": nil, "give_ups": 0, "updated_at": s.now(),
		}).Error
	if err != nil {
		return Endpoint{}, fmt.Errorf("resume endpoint %q: %w", endpointID, err)
	}
	return s.GetEndpoint(ctx, workspaceID, endpointID)
}

// DisableEndpoint turns an endpoint off for cause, with a reason for
// people (e.g. it answered 410).
func (s *Store) DisableEndpoint(ctx context.Context, endpointID string, cause DisableCause, reason string) error {
	err := s.db.WithContext(ctx).Model(&Endpoint{}).Where("id = ?", endpointID).
		Updates(map[string]any{"enabled": false, "disabled_cause": cause, "disabled_reason": reason, "updated_at": s.now()}).Error
	if err != nil {
		return fmt.Errorf("disable endpoint %q: %w", endpointID, err)
	}
	return nil
}

// MarkEndpointFailing records a failed attempt at at: the endpoint's
// failure record starts there unless it has started already.
func (s *Store) MarkEndpointFailing(ctx context.Context, endpointID string, at time.Time) error {
	err := s.db.WithContext(ctx).Model(&Endpoint{}).Where("id = ? AND failing_since IS NULL", endpointID).
		Update("failing_since", at.UTC()).Error
	if err != nil {
		return fmt.Errorf("mark endpoint %q failing: %w", endpointID, err)
	}
	return nil
}

// MarkEndpointHealthy records a delivered attempt: the failure record
// starts afresh.
func (s *Store) MarkEndpointHealthy(ctx context.Context, endpointID string) error {
	err := s.db.WithContext(ctx).Model(&Endpoint{}).
		Where("id = ? AND (failing_since IS NOT NULL OR give_ups > 0)", endpointID).
		Updates(map[string]any{"failing_since": nil, "give_ups": 0}).Error
	if err != nil {
		return fmt.Errorf("mark endpoint %q healthy: %w", endpointID, err)
	}
	return nil
}

// RecordGiveUp counts a delivery to endpointID that gave up and returns
// the consecutive count since the last delivered attempt.
func (s *Store) RecordGiveUp(ctx context.Context, endpointID string) (int, error) {
	var n int
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&Endpoint{}).Where("id = ?", endpointID).
			Update("give_ups", gorm.Expr("give_ups + 1")).Error; err != nil {
			return err
		}
		return tx.Model(&Endpoint{}).Where("id = ?", endpointID).Pluck("give_ups", &n).Error
	})
	if err != nil {
		return 0, fmt.Errorf("record give-up of endpoint %q: %w", endpointID, err)
	}
	return n, nil
}
