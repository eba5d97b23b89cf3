package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/scanforge/scanforge/internal/secretbox"
)

// Endpoint secrets at rest. Each is sealed with the store's secretbox, bound
// to its endpoint's ID, so a sealed value copied to another row does not
// open. A stored value without the secretbox prefix predates encryption: it
// is read as plaintext (so older dev databases keep working) until
// EncryptPlaintextSecrets or a rotation rewrites it.

// ErrNoSecretBox means the store was built without WithSecretBox and was
// asked to store or read an encrypted secret.
var ErrNoSecretBox = errors.New("no encryption key configured for endpoint secrets")

// MaxSecretOverlap is the longest overlap window a rotation may ask for.
const MaxSecretOverlap = 7 * 24 * time.Hour

func secretAAD(endpointID string) []byte { return []byte("scanforge/endpoint-secret/" + endpointID) }

// sealSecret encrypts plain for endpointID; "" stays "".
func (s *Store) sealSecret(endpointID, plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	if s.box == nil {
		return "", fmt.Errorf("store endpoint secret: %w", ErrNoSecretBox)
	}
	sealed, err := s.box.Seal([]byte(plain), secretAAD(endpointID))
	if err != nil {
		return "", fmt.Errorf("store endpoint secret: %w", err)
	}
	return sealed, nil
}

// openSecret decrypts a stored secret of endpointID. Its errors never carry
// the value.
func (s *Store) openSecret(endpointID, stored string) (string, error) {
	if !secretbox.IsSealed(stored) {
		return stored, nil // "" or a plaintext secret from before encryption
	}
	if s.box == nil {
		return "", fmt.Errorf("endpoint %q secret: %w", endpointID, ErrNoSecretBox)
	}
	plain, err := s.box.Open(stored, secretAAD(endpointID))
	if err != nil {
		return "", fmt.Errorf("endpoint %q secret: %w", endpointID, err)
	}
	return string(plain), nil
}

// openSecrets replaces e's stored secrets by their plaintext.
func (s *Store) openSecrets(e *Endpoint) error {
	var err error
	if e.Secret, err = s.openSecret(e.ID, e.Secret); err != nil {
		return err
	}
	if e.PreviousSecret, err = s.openSecret(e.ID, e.PreviousSecret); err != nil {
		return err
	}
	return nil
}

// withoutSecrets blanks the secrets of endpoints read for anything other
// than signing, so neither ciphertext nor plaintext travels further.
func withoutSecrets(eps []Endpoint) {
	for i := range eps {
		eps[i].Secret, eps[i].PreviousSecret = "", ""
	}
}

// RotateEndpointSecret makes newSecret the secret of workspaceID's endpoint
// endpointID. The old secret keeps signing, next to the new one, for overlap
// (0: it stops at once; at most MaxSecretOverlap). A rotation during an
// overlap ends the older window: at most two secrets sign at a time. The
// answer carries no secret.
func (s *Store) RotateEndpointSecret(ctx context.Context, workspaceID, endpointID, newSecret string, overlap time.Duration) (Endpoint, error) {
	if newSecret == "" {
		return Endpoint{}, Invalid("secret", "is required")
	}
	if overlap < 0 || overlap > MaxSecretOverlap {
		return Endpoint{}, Invalid("overlap", "must be between 0s and 7d")
	}
	var e Endpoint
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("workspace_id = ? AND id = ?", workspaceID, endpointID).Take(&e).Error
		if err != nil {
			return notFound("endpoint", endpointID, err)
		}
		storedCurrent := e.Secret
		now := s.now()
		updates := map[string]any{"previous_secret": "", "previous_secret_expires_at": nil, "secret_rotated_at": now, "updated_at": now}
		if updates["secret"], err = s.sealSecret(e.ID, newSecret); err != nil {
			return err
		}
		// Without an overlap the old secret is not even read: a rotation
		// with overlap 0 replaces a secret that no longer opens.
		if overlap > 0 && storedCurrent != "" {
			current, err := s.openSecret(e.ID, storedCurrent)
			if err != nil {
				return err
			}
			if updates["previous_secret"], err = s.sealSecret(e.ID, current); err != nil {
				return err
			}
			expires := now.Add(overlap)
			updates["previous_secret_expires_at"] = &expires
		}
		// Compare-and-set on the secret read above: of two concurrent
		// rotations one wins and the other is a conflict, so no secret
		// handed out to a caller is silently lost.
		res := tx.Model(&Endpoint{}).Where("workspace_id = ? AND id = ? AND secret = ?", workspaceID, endpointID, storedCurrent).Updates(updates)
		if res.Error != nil {
			return fmt.Errorf("rotate endpoint secret: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("endpoint %q secret changed meanwhile: %w", endpointID, ErrConflict)
		}
		e.PreviousSecretExpiresAt, _ = updates["previous_secret_expires_at"].(*time.Time)
		e.SecretRotatedAt, e.UpdatedAt = &now, now
		return nil
	})
	if err != nil {
		return Endpoint{}, err
	}
	eps := []Endpoint{e}
	withoutSecrets(eps)
	err = s.loadCodeIDs(ctx, eps)
	return eps[0], err
}

// EncryptPlaintextSecrets encrypts the endpoint secrets stored before
// encryption existed and returns how many it rewrote. It is idempotent.
func (s *Store) EncryptPlaintextSecrets(ctx context.Context) (int, error) {
	if s.box == nil {
		return 0, ErrNoSecretBox
	}
	var eps []Endpoint
	err := s.db.WithContext(ctx).Select("id", "secret", "previous_secret").
		Where("(secret <> '' AND secret NOT LIKE ?) OR (previous_secret <> '' AND previous_secret NOT LIKE ?)",
			secretbox.Prefix+"%", secretbox.Prefix+"%").
		Find(&eps).Error
	if err != nil {
		return 0, fmt.Errorf("find plaintext secrets: %w", err)
	}
	for _, e := range eps {
		updates := map[string]any{}
		for column, stored := range map[string]string{"secret": e.Secret, "previous_secret": e.PreviousSecret} {
			if stored == "" || secretbox.IsSealed(stored) {
				continue
			}
			sealed, err := s.sealSecret(e.ID, stored)
			if err != nil {
				return 0, err
			}
			updates[column] = sealed
		}
		// Only a value still in plaintext is replaced: a concurrent rotation wins.
		q := s.db.WithContext(ctx).Model(&Endpoint{}).Where("id = ?", e.ID)
		for column := range updates {
			q = q.Where(column+" NOT LIKE ?", secretbox.Prefix+"%")
		}
		if err := q.Updates(updates).Error; err != nil {
			return 0, fmt.Errorf("encrypt secret of endpoint %q: %w", e.ID, err)
		}
	}
	return len(eps), nil
}

// CheckSecretKey opens one stored encrypted secret, if there is any, so that
// a process started with the wrong key (or none) fails at start with a clear
// message instead of at every delivery.
func (s *Store) CheckSecretKey(ctx context.Context) error {
	var eps []Endpoint
	err := s.db.WithContext(ctx).Select("id", "secret").Where("secret LIKE ?", secretbox.Prefix+"%").Limit(1).Find(&eps).Error
	if err != nil {
		return fmt.Errorf("check encryption key: %w", err)
	}
	if len(eps) == 0 {
		return nil
	}
	if _, err := s.openSecret(eps[0].ID, eps[0].Secret); err != nil {
		return fmt.Errorf("the encryption key does not open the stored endpoint secrets (is it the key they were written with?): %w", err)
	}
	return nil
}
