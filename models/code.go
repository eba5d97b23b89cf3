package models

// Codes: the slugs a redirect resolves, and their destinations.

import (
	"context"
	"fmt"

	"github.com/scanforge/scanforge/internal/id"
	"gorm.io/gorm"
)

// CreateCode stores c; the slug must be free (ErrConflict otherwise).
func (s *Store) CreateCode(ctx context.Context, c *Code) error {
	now := s.now()
	c.ID = id.New(id.Code, now)
	c.CreatedAt, c.UpdatedAt = now, now
	err := s.db.WithContext(ctx).Create(c).Error
	if IsUniqueViolation(err) {
		return fmt.Errorf("slug %q is already taken: %w", c.Slug, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create code: %w", err)
	}
	return nil
}

// ListCodes returns a page of workspaceID's codes, newest first.
func (s *Store) ListCodes(ctx context.Context, workspaceID string, p Page) ([]Code, error) {
	var out []Code
	q := s.db.WithContext(ctx).Where("workspace_id = ?", workspaceID)
	if err := p.apply(q).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list codes: %w", err)
	}
	return out, nil
}

// GetCode returns workspaceID's code codeID.
func (s *Store) GetCode(ctx context.Context, workspaceID, codeID string) (Code, error) {
	var c Code
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND id = ?", workspaceID, codeID).Take(&c).Error
	if err != nil {
		return Code{}, notFound("code", codeID, err)
	}
	return c, nil
}

// GetCodeBySlug returns the code behind a redirect slug, in any workspace.
func (s *Store) GetCodeBySlug(ctx context.Context, slug string) (Code, error) {
	var c Code
	if err := s.db.WithContext(ctx).Where("slug = ?", slug).Take(&c).Error; err != nil {
		return Code{}, notFound("slug", slug, err)
	}
	return c, nil
}

// UpdateCode saves c (found by workspace and ID). A new slug must be free.
func (s *Store) UpdateCode(ctx context.Context, c *Code) error {
	c.UpdatedAt = s.now()
	res := s.db.WithContext(ctx).Model(&Code{}).
		Where("workspace_id = ? AND id = ?", c.WorkspaceID, c.ID).
		Select("slug", "name", "destination_url", "active", "updated_at").
		Updates(c)
	if IsUniqueViolation(res.Error) {
		return fmt.Errorf("slug %q is already taken: %w", c.Slug, ErrConflict)
	}
	if res.Error != nil {
		return fmt.Errorf("update code: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("code %q: %w", c.ID, ErrNotFound)
	}
	return nil
}

// DeleteCode removes a code and its endpoint subscriptions. Its scans stay,
// so analytics and pending deliveries keep their data.
func (s *Store) DeleteCode(ctx context.Context, workspaceID, codeID string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Where("workspace_id = ? AND id = ?", workspaceID, codeID).Delete(&Code{})
		if res.Error != nil {
			return fmt.Errorf("delete code: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("code %q: %w", codeID, ErrNotFound)
		}
		if err := tx.Where("code_id = ?", codeID).Delete(&EndpointCode{}).Error; err != nil {
			return fmt.Errorf("delete code subscriptions: %w", err)
		}
		return nil
	})
}
