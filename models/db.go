package models

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	// The pure-Go SQLite driver the Temporal server links too; registers "sqlite".
	_ "modernc.org/sqlite"
)

// Open connects to the app database named by databaseURL:
//
//	postgres://user@host:5432/db?sslmode=disable   PostgreSQL
//	sqlite:///path/to/scanforge.db or a plain path   SQLite (WAL, busy timeout)
func Open(databaseURL string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: logger.Discard, NowFunc: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		db, err := gorm.Open(postgres.Open(databaseURL), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		return db, nil
	default:
		path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite://"), "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("open sqlite: empty path in %q", databaseURL)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		q := url.Values{}
		// journal_size_limit: the WAL file shrinks back to 64 MiB once a
		// checkpoint has caught up after a burst.
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "foreign_keys(ON)",
			"journal_size_limit(67108864)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		dsn := "file:" + path + "?" + q.Encode()
		db, err := gorm.Open(sqlite.Dialector{DriverName: "sqlite", DSN: dsn}, cfg)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		// One writer at a time is all SQLite allows; a small pool keeps reads
		// concurrent under WAL without piling up busy writers.
		sqlDB.SetMaxOpenConns(4)
		sqlDB.SetMaxIdleConns(4) // the default 2 closes and reopens connections under load
		return db, nil
	}
}
