package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/scanforge/scanforge/internal/secretbox"
	"github.com/scanforge/scanforge/models"
)

// devKeyFile is the dev-mode encryption key's file in the data directory.
const devKeyFile = "encryption-key"

// devEncryptionKey returns the key kept in dataDir, making it (mode 0600)
// on first start. It must stay with app.db: the endpoint secrets there are
// encrypted with it.
func devEncryptionKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, devKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := secretbox.ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("encryption key in %s: %w", path, err)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	key, err := secretbox.NewKey()
	if err != nil {
		return nil, err
	}
	// O_EXCL: two processes starting at once must not each write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("save encryption key: %w", err)
	}
	_, err = f.WriteString(secretbox.EncodeKey(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("save encryption key: %w", err)
	}
	return key, nil
}

// secretStoreOptions makes the store encrypt endpoint secrets with key;
// without a key (migrate) the store cannot write secrets.
func secretStoreOptions(key []byte) ([]models.StoreOption, error) {
	if key == nil {
		return nil, nil
	}
	box, err := secretbox.New(key)
	if err != nil {
		return nil, err
	}
	return []models.StoreOption{models.WithSecretBox(box)}, nil
}

// prepareSecrets fails when the key does not open the stored secrets, and
// encrypts secrets stored in plaintext before encryption existed.
func prepareSecrets(ctx context.Context, store *models.Store, logger *slog.Logger) error {
	if err := store.CheckSecretKey(ctx); err != nil {
		return err
	}
	n, err := store.EncryptPlaintextSecrets(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		logger.Info("encrypted endpoint secrets stored in plaintext", "endpoints", n)
	}
	return nil
}
