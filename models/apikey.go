package models

// API keys: made, authenticated by their hash, listed and revoked.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/scanforge/scanforge/internal/id"
	"gorm.io/gorm"
)

// apiKeyPrefix starts every API key, so leaked keys are easy to grep for.
const apiKeyPrefix = "sf_"

// CreateAPIKey makes a new key for workspaceID and returns it with the
// plaintext key, which is not stored and cannot be shown again.
func (s *Store) CreateAPIKey(ctx context.Context, workspaceID, name string) (APIKey, string, error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	plain := apiKeyPrefix + hex.EncodeToString(raw)
	now := s.now()
	key := APIKey{
		ID:          id.New(id.APIKey, now),
		WorkspaceID: workspaceID,
		Name:        name,
		Prefix:      plain[:len(apiKeyPrefix)+8],
		Hash:        hashKey(plain),
		CreatedAt:   now,
	}
	if err := s.db.WithContext(ctx).Create(&key).Error; err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return key, plain, nil
}

func hashKey(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the live API key matching plain, or ErrUnauthorized.
func (s *Store) Authenticate(ctx context.Context, plain string) (APIKey, error) {
	var key APIKey
	err := s.db.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", hashKey(plain)).Take(&key).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return APIKey{}, ErrUnauthorized
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("authenticate: %w", err)
	}
	// Record use at most once a minute: a write per API call would be waste.
	now := s.now()
	if key.LastUsedAt == nil || now.Sub(*key.LastUsedAt) > time.Minute {
		key.LastUsedAt = &now
		s.db.WithContext(ctx).Model(&APIKey{}).Where("id = ?", key.ID).Update("last_used_at", now)
	}
	return key, nil
}

// ListAPIKeys returns a page of workspaceID's API keys, revoked ones
// included, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, workspaceID string, p Page) ([]APIKey, error) {
	var out []APIKey
	q := s.db.WithContext(ctx).Where("workspace_id = ?", workspaceID)
	if err := p.apply(q).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey revokes workspaceID's key keyID: Authenticate refuses it
// from now on. Revoking a revoked key changes nothing (its first revocation
// time stays).
func (s *Store) RevokeAPIKey(ctx context.Context, workspaceID, keyID string) error {
	res := s.db.WithContext(ctx).Model(&APIKey{}).
		Where("workspace_id = ? AND id = ? AND revoked_at IS NULL", workspaceID, keyID).
		Update("revoked_at", s.now())
	if res.Error != nil {
		return fmt.Errorf("revoke api key: %w", res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	var key APIKey
	err := s.db.WithContext(ctx).Where("workspace_id = ? AND id = ?", workspaceID, keyID).Take(&key).Error
	if err != nil {
		return notFound("api key", keyID, err)
	}
	return nil // already revoked
}
