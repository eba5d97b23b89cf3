package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm/clause"
)

// BacklogAlert records that endpoint.paused_backlog was sent for an
// endpoint's parked deliveries: no other is sent until the row is cleared
// (the backlog fell back, or the endpoint takes deliveries again).
type BacklogAlert struct {
	EndpointID string    `gorm:"primaryKey"`
	Parked     int64     `gorm:"not null"` // parked deliveries when it was sent
	AlertedAt  time.Time `gorm:"not null"`
}

// TableName is the table of migration 00010.
func (BacklogAlert) TableName() string { return "endpoint_backlog_alerts" }

// StoppedEndpoints returns the endpoints, of every workspace, that do not
// take deliveries (paused or disabled: their deliveries park) and whose
// workspace has an operational endpoint that does, without secrets.
func (s *Store) StoppedEndpoints(ctx context.Context) ([]Endpoint, error) {
	var out []Endpoint
	err := s.db.WithContext(ctx).
		Where("NOT operational AND (NOT enabled OR paused_at IS NOT NULL)").
		Where("EXISTS (SELECT 1 FROM endpoints o WHERE o.workspace_id = endpoints.workspace_id AND o.operational AND o.enabled AND o.paused_at IS NULL)").
		Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("stopped endpoints: %w", err)
	}
	withoutSecrets(out)
	return out, nil
}

// BacklogAlerts returns every recorded backlog alert.
func (s *Store) BacklogAlerts(ctx context.Context) ([]BacklogAlert, error) {
	var out []BacklogAlert
	if err := s.db.WithContext(ctx).Order("endpoint_id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("backlog alerts: %w", err)
	}
	return out, nil
}

// ClaimBacklogAlert records an alert for endpointID unless one is
// recorded; it reports whether this call recorded it (and so sends it).
func (s *Store) ClaimBacklogAlert(ctx context.Context, endpointID string, parked int64) (bool, error) {
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&BacklogAlert{EndpointID: endpointID, Parked: parked, AlertedAt: s.now().UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("claim backlog alert of %q: %w", endpointID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ClearBacklogAlert forgets endpointID's alert: the next crossing sends
// another.
func (s *Store) ClearBacklogAlert(ctx context.Context, endpointID string) error {
	if err := s.db.WithContext(ctx).Where("endpoint_id = ?", endpointID).Delete(&BacklogAlert{}).Error; err != nil {
		return fmt.Errorf("clear backlog alert of %q: %w", endpointID, err)
	}
	return nil
}
