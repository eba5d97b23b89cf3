package models

import (
	"context"
	"fmt"
	"time"
)

// BackfillScans returns up to limit scans recorded at or after since that
// e takes (its workspace, its codes, its human-only rule), oldest first:
// the past scans a new endpoint created with a backfill is sent.
func (s *Store) BackfillScans(ctx context.Context, e Endpoint, since time.Time, limit int) ([]Scan, error) {
	q := s.db.WithContext(ctx).Where(`workspace_id = ? AND "timestamp" >= ?`, e.WorkspaceID, since.UTC())
	if e.HumanOnly {
		q = q.Where("NOT is_bot")
	}
	if !e.AllCodes {
		if len(e.CodeIDs) == 0 {
			return nil, nil
		}
		q = q.Where("code_id IN ?", e.CodeIDs)
	}
	var out []Scan
	if err := q.Order("id").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("backfill scans of endpoint %q: %w", e.ID, err)
	}
	return out, nil
}

// OperationalEndpoints returns workspaceID's operational endpoints that
// take deliveries, without secrets.
func (s *Store) OperationalEndpoints(ctx context.Context, workspaceID string) ([]Endpoint, error) {
	var out []Endpoint
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND operational AND enabled AND paused_at IS NULL", workspaceID).
		Order("id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("operational endpoints of %q: %w", workspaceID, err)
	}
	withoutSecrets(out)
	return out, nil
}
