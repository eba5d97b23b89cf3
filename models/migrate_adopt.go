package models

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// autoMigratedColumns are the tables and columns of migration 1, which the
// last release's GORM AutoMigrate created too. A database that has them but
// no version table is adopted at version 1.
var autoMigratedColumns = map[string][]string{
	"workspaces": {"id", "name", "created_at"},
	"api_keys":   {"id", "workspace_id", "name", "prefix", "hash", "created_at", "last_used_at", "revoked_at"},
	"codes":      {"id", "workspace_id", "slug", "name", "destination_url", "active", "created_at", "updated_at"},
	"endpoints": {"id", "workspace_id", "url", "description", "secret", "enabled", "disabled_reason", "all_codes",
		"human_only", "created_at", "updated_at", "previous_secret", "previous_secret_expires_at", "secret_rotated_at"},
	"endpoint_codes": {"endpoint_id", "code_id"},
	"scans": {"id", "workspace_id", "code_id", "slug", "code_name", "timestamp", "source", "destination_url", "ip",
		"country", "country_code", "region", "city", "latitude", "longitude", "timezone", "device_type", "browser",
		"browser_version", "os", "os_version", "referrer", "user_agent", "is_bot", "bot_reason", "dispatched_at"},
}

// adoptAutoMigratedSQL brings an AutoMigrate-made schema to migration 1's
// shape: the release's Migrate dropped two indexes of earlier versions after
// each AutoMigrate, and the indexes migration 1 has are made if missing.
var adoptAutoMigratedSQL = []string{
	`DROP INDEX IF EXISTS idx_scans_dispatched_at`,
	`DROP INDEX IF EXISTS idx_scans_workspace_id`,
	`CREATE UNIQUE INDEX IF NOT EXISTS idx_api_keys_hash ON api_keys (hash)`,
	`CREATE INDEX IF NOT EXISTS idx_api_keys_workspace_id ON api_keys (workspace_id)`,
	`CREATE UNIQUE INDEX IF NOT EXISTS idx_codes_slug ON codes (slug)`,
	`CREATE INDEX IF NOT EXISTS idx_codes_workspace_id ON codes (workspace_id)`,
	`CREATE INDEX IF NOT EXISTS idx_endpoints_workspace_id ON endpoints (workspace_id)`,
	`CREATE INDEX IF NOT EXISTS idx_endpoint_codes_code_id ON endpoint_codes (code_id)`,
	`CREATE INDEX IF NOT EXISTS idx_scans_code_time ON scans (code_id, "timestamp", id)`,
	`CREATE INDEX IF NOT EXISTS idx_scans_pending ON scans (id) WHERE dispatched_at IS NULL`,
}

// adoptAutoMigrated records version 1 as applied on a database whose tables
// were made by GORM AutoMigrate (tables, no version table), after checking
// every column is there and bringing its indexes to migration 1's shape.
// A fresh or already versioned database is left alone. It runs in one
// transaction, under locker when there is one, so two migrating processes
// adopt once.
func adoptAutoMigrated(ctx context.Context, sqlDB *sql.DB, d schemaDialect, locker lock.SessionLocker) (err error) {
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if locker != nil {
		if err := locker.SessionLock(ctx, conn); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		defer func() {
			if unlockErr := locker.SessionUnlock(context.WithoutCancel(ctx), conn); unlockErr != nil && err == nil {
				err = fmt.Errorf("migrate: unlock: %w", unlockErr)
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if versioned, err := tableExists(ctx, tx, d, versionTable); err != nil || versioned {
		return err
	}
	if legacy, err := tableExists(ctx, tx, d, "scans"); err != nil || !legacy {
		return err
	}
	if err := checkAutoMigratedColumns(ctx, tx, d); err != nil {
		return err
	}
	// Databases from before analytics keep a two-column idx_scans_code_time
	// (AutoMigrate never altered an existing index): rebuild it with id.
	var width int
	if err := tx.QueryRowContext(ctx, d.indexWidth, "idx_scans_code_time").Scan(&width); err != nil {
		return fmt.Errorf("migrate: inspect idx_scans_code_time: %w", err)
	}
	if width != 0 && width != 3 {
		if _, err := tx.ExecContext(ctx, `DROP INDEX idx_scans_code_time`); err != nil {
			return fmt.Errorf("migrate: adopt the existing schema: %w", err)
		}
	}
	for _, stmt := range adoptAutoMigratedSQL {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrate: adopt the existing schema: %s: %w", stmt, err)
		}
	}
	store, err := database.NewStore(d.goose, versionTable)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := store.CreateVersionTable(ctx, tx); err != nil {
		return fmt.Errorf("migrate: adopt the existing schema: %w", err)
	}
	// Version 0 is the row goose writes when it creates its table itself.
	for _, version := range []int64{0, 1} {
		if err := store.Insert(ctx, tx, database.InsertRequest{Version: version}); err != nil {
			return fmt.Errorf("migrate: adopt the existing schema: record version %d: %w", version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: adopt the existing schema: %w", err)
	}
	return nil
}

func checkAutoMigratedColumns(ctx context.Context, tx *sql.Tx, d schemaDialect) error {
	var missing []string
	for table, want := range autoMigratedColumns {
		rows, err := tx.QueryContext(ctx, d.columns, table)
		if err != nil {
			return fmt.Errorf("migrate: columns of %s: %w", table, err)
		}
		have := map[string]bool{}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				rows.Close()
				return fmt.Errorf("migrate: columns of %s: %w", table, err)
			}
			have[name] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("migrate: columns of %s: %w", table, err)
		}
		for _, column := range want {
			if !have[column] {
				missing = append(missing, table+"."+column)
			}
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("migrate: the existing schema (made before versioned migrations) lacks %s: "+
			"run `scanforge migrate` of the release before versioned migrations first", strings.Join(missing, ", "))
	}
	return nil
}
