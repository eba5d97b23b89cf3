package models

// Endpoints and their code subscriptions; secrets are sealed in secrets.go.

import (
	"context"
	"fmt"

	"github.com/scanforge/scanforge/internal/id"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// checkCodesOwned returns a ValidationError if any of codeIDs is not a code
// of workspaceID.
func checkCodesOwned(tx *gorm.DB, workspaceID string, codeIDs []string) error {
	if len(codeIDs) == 0 {
		return nil
	}
	var found []string
	if err := tx.Model(&Code{}).Where("workspace_id = ? AND id IN ?", workspaceID, codeIDs).Pluck("id", &found).Error; err != nil {
		return fmt.Errorf("check codes: %w", err)
	}
	have := make(map[string]bool, len(found))
	for _, f := range found {
		have[f] = true
	}
	for _, c := range codeIDs {
		if !have[c] {
			return Invalid("code_ids", fmt.Sprintf("no code %q in this workspace", c))
		}
	}
	return nil
}

func replaceSubscriptions(tx *gorm.DB, endpointID string, codeIDs []string) error {
	if err := tx.Where("endpoint_id = ?", endpointID).Delete(&EndpointCode{}).Error; err != nil {
		return fmt.Errorf("replace subscriptions: %w", err)
	}
	if len(codeIDs) == 0 {
		return nil
	}
	rows := make([]EndpointCode, len(codeIDs))
	for i, c := range codeIDs {
		rows[i] = EndpointCode{EndpointID: endpointID, CodeID: c}
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("replace subscriptions: %w", err)
	}
	return nil
}

// CreateEndpoint stores e with its code subscriptions. Its secrets are
// stored encrypted; e keeps the plaintext.
func (s *Store) CreateEndpoint(ctx context.Context, e *Endpoint) error {
	now := s.now()
	e.ID = id.New(id.Endpoint, now)
	e.CreatedAt, e.UpdatedAt = now, now
	row := *e
	var err error
	if row.Secret, err = s.sealSecret(e.ID, e.Secret); err != nil {
		return err
	}
	if row.PreviousSecret, err = s.sealSecret(e.ID, e.PreviousSecret); err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := checkCodesOwned(tx, e.WorkspaceID, e.CodeIDs); err != nil {
			return err
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("create endpoint: %w", err)
		}
		return replaceSubscriptions(tx, e.ID, e.CodeIDs)
	})
}

// loadCodeIDs fills CodeIDs of eps from the subscription table.
func (s *Store) loadCodeIDs(ctx context.Context, eps []Endpoint) error {
	if len(eps) == 0 {
		return nil
	}
	ids := make([]string, len(eps))
	for i, e := range eps {
		ids[i] = e.ID
	}
	var rows []EndpointCode
	if err := s.db.WithContext(ctx).Where("endpoint_id IN ?", ids).Order("code_id").Find(&rows).Error; err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	byEndpoint := map[string][]string{}
	for _, r := range rows {
		byEndpoint[r.EndpointID] = append(byEndpoint[r.EndpointID], r.CodeID)
	}
	for i := range eps {
		eps[i].CodeIDs = byEndpoint[eps[i].ID]
		if eps[i].CodeIDs == nil {
			eps[i].CodeIDs = []string{}
		}
	}
	return nil
}

// ListEndpoints returns a page of workspaceID's endpoints, newest first.
func (s *Store) ListEndpoints(ctx context.Context, workspaceID string, p Page) ([]Endpoint, error) {
	var out []Endpoint
	q := s.db.WithContext(ctx).Where("workspace_id = ?", workspaceID)
	if err := p.apply(q).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	withoutSecrets(out)
	return out, s.loadCodeIDs(ctx, out)
}

// GetEndpoint returns workspaceID's endpoint endpointID, without secrets.
func (s *Store) GetEndpoint(ctx context.Context, workspaceID, endpointID string) (Endpoint, error) {
	var e Endpoint
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND id = ?", workspaceID, endpointID).Take(&e).Error
	if err != nil {
		return Endpoint{}, notFound("endpoint", endpointID, err)
	}
	eps := []Endpoint{e}
	withoutSecrets(eps)
	err = s.loadCodeIDs(ctx, eps)
	return eps[0], err
}

// GetEndpointByID returns an endpoint whatever its workspace, with its
// secrets decrypted: for the delivery activity, which has only the ID from
// its workflow input and signs with them.
func (s *Store) GetEndpointByID(ctx context.Context, endpointID string) (Endpoint, error) {
	var e Endpoint
	if err := s.db.WithContext(ctx).Where("id = ?", endpointID).Take(&e).Error; err != nil {
		return Endpoint{}, notFound("endpoint", endpointID, err)
	}
	if err := s.openSecrets(&e); err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

// UpdateEndpoint saves e (found by workspace and ID) and its subscriptions.
func (s *Store) UpdateEndpoint(ctx context.Context, e *Endpoint) error {
	e.UpdatedAt = s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := checkCodesOwned(tx, e.WorkspaceID, e.CodeIDs); err != nil {
			return err
		}
		res := tx.Model(&Endpoint{}).
			Where("workspace_id = ? AND id = ?", e.WorkspaceID, e.ID).
			Select("url", "description", "enabled", "disabled_reason", "disabled_cause", "all_codes", "human_only", "updated_at",
				"body_signature", "format", "field_policy", "rate_limit", "max_in_flight").
			Updates(e)
		if res.Error != nil {
			return fmt.Errorf("update endpoint: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("endpoint %q: %w", e.ID, ErrNotFound)
		}
		return replaceSubscriptions(tx, e.ID, e.CodeIDs)
	})
}

// DeleteEndpoint removes an endpoint and its subscriptions. Deliveries still
// pending for it stop at their next attempt.
func (s *Store) DeleteEndpoint(ctx context.Context, workspaceID, endpointID string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("workspace_id = ? AND id = ?", workspaceID, endpointID).Delete(&Endpoint{})
		if res.Error != nil {
			return fmt.Errorf("delete endpoint: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("endpoint %q: %w", endpointID, ErrNotFound)
		}
		if err := tx.Where("endpoint_id = ?", endpointID).Delete(&EndpointCode{}).Error; err != nil {
			return fmt.Errorf("delete endpoint subscriptions: %w", err)
		}
		return nil
	})
}
