package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"
)

// sqliteWriter is SQLite's writing connection. All writes of the redirect
// path (internal/outbox's writer) and of the roller go through it, one at
// a time: SQLite has one writer anyway, and a connection throws its page
// cache away whenever another connection has written, so a single writing
// connection keeps the pages the next insert needs.
type sqliteWriter struct {
	init sync.Mutex // guards conn's creation
	conn *sql.Conn
	mu   sync.Mutex // serialises the use of conn
}

// WriteConn returns, on SQLite, the store's writing connection, locked for
// the caller until it calls unlock; a failed opening is tried again by the
// next caller. On PostgreSQL writes go through the pool: conn is nil and
// unlock does nothing.
func (s *Store) WriteConn(ctx context.Context) (conn *sql.Conn, unlock func(), err error) {
	if s.db.Name() == "postgres" {
		return nil, func() {}, nil
	}
	w := s.writer
	w.init.Lock()
	if w.conn == nil {
		// The connection outlives this caller: its cancellation is not its.
		if w.conn, err = openSQLiteWriter(context.WithoutCancel(ctx), s.db); err != nil {
			w.init.Unlock()
			return nil, nil, fmt.Errorf("write connection: %w", err)
		}
	}
	w.init.Unlock()
	w.mu.Lock()
	return w.conn, w.mu.Unlock, nil
}

func openSQLiteWriter(ctx context.Context, db *gorm.DB) (*sql.Conn, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// A checkpoint in the middle of a group commit holds up every redirect
	// of the batch: this connection leaves them to the outbox writer's
	// CheckpointWAL, off the redirect path.
	if _, err := conn.ExecContext(ctx, "PRAGMA wal_autocheckpoint=0"); err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	return conn, nil
}

// WriteDB returns gorm on WriteConn's connection (on PostgreSQL the pool),
// locked for the caller until it calls unlock.
func (s *Store) WriteDB(ctx context.Context) (db *gorm.DB, unlock func(), err error) {
	conn, unlock, err := s.WriteConn(ctx)
	if err != nil {
		return nil, nil, err
	}
	db = s.db.WithContext(ctx) // a new session: setting its pool changes no other
	if conn != nil {
		db.Statement.ConnPool = conn
	}
	return db, unlock, nil
}

// Now is the store's clock: UTC at microsecond precision, what PostgreSQL
// stores.
func (s *Store) Now() time.Time { return s.now() }
