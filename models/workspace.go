package models

// Workspaces: the tenant every code, endpoint and API key belongs to.

import (
	"context"
	"fmt"

	"github.com/scanforge/scanforge/internal/id"
	"gorm.io/gorm"
)

// CreateWorkspace creates a workspace named name.
func (s *Store) CreateWorkspace(ctx context.Context, name string) (Workspace, error) {
	now := s.now()
	ws := Workspace{ID: id.New(id.Workspace, now), Name: name, CreatedAt: now}
	if err := s.db.WithContext(ctx).Create(&ws).Error; err != nil {
		return Workspace{}, fmt.Errorf("create workspace: %w", err)
	}
	return ws, nil
}

// ListWorkspaces returns every workspace, oldest first.
func (s *Store) ListWorkspaces(ctx context.Context) ([]Workspace, error) {
	var out []Workspace
	if err := s.db.WithContext(ctx).Order("id").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list workspaces: %w", err)
	}
	return out, nil
}

// CreateWorkspaceWithAPIKey creates a workspace and its first API key
// together (both or neither) and returns the plaintext key, shown once.
func (s *Store) CreateWorkspaceWithAPIKey(ctx context.Context, name, keyName string) (Workspace, APIKey, string, error) {
	var (
		ws    Workspace
		key   APIKey
		plain string
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if ws, err = s.inTx(tx).CreateWorkspace(ctx, name); err != nil {
			return err
		}
		key, plain, err = s.inTx(tx).CreateAPIKey(ctx, ws.ID, keyName)
		return err
	})
	if err != nil {
		return Workspace{}, APIKey{}, "", err
	}
	return ws, key, plain, nil
}
