package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/scanforge/scanforge/internal/secretbox"
)

// Store reads and writes ScanForge's objects. Every workspace-owned read
// takes the workspace ID, so one workspace never sees another's objects:
// they are simply not found.
type Store struct {
	db  *gorm.DB
	now func() time.Time
	box *secretbox.Box // encrypts endpoint secrets; nil: they cannot be written

	writer *sqliteWriter // SQLite's writing connection, opened on first use
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithSecretBox makes the store encrypt endpoint secrets with box on write
// and decrypt them on read. Without it the store refuses to write a secret
// (rather than keep it in plaintext) and reads only legacy plaintext ones.
func WithSecretBox(box *secretbox.Box) StoreOption {
	return func(s *Store) { s.box = box }
}

// NewStore returns a Store over db. now is the clock (time.Now in production);
// times are kept in UTC at microsecond precision, what PostgreSQL stores.
func NewStore(db *gorm.DB, now func() time.Time, opts ...StoreOption) *Store {
	s := &Store{db: db, now: func() time.Time { return now().UTC().Truncate(time.Microsecond) }, writer: &sqliteWriter{}}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// inTx returns a copy of s whose queries run in tx.
func (s *Store) inTx(tx *gorm.DB) *Store {
	c := *s
	c.db = tx
	return &c
}

// DB exposes the connection for health checks and tests.
func (s *Store) DB() *gorm.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Page asks for up to Limit objects older than the object with ID After.
type Page struct {
	After string
	Limit int
}

func (p Page) apply(q *gorm.DB) *gorm.DB {
	if p.After != "" {
		q = q.Where("id < ?", p.After)
	}
	limit := p.Limit
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	return q.Order("id DESC").Limit(limit)
}

func notFound(what, id string, err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s %q: %w", what, id, ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w", what, id, err)
}
