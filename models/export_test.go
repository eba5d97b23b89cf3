package models

import (
	"context"
	"errors"
	"fmt"
)

// MigrationFiles, MigrateSchemaFS and CheckSchemaFS let the external tests
// migrate with later migrations than the embedded ones.
var (
	MigrationFiles  = migrationFiles
	MigrateSchemaFS = migrateSchema
	CheckSchemaFS   = checkSchema
)

// ScanStatsFromScans counts a code's stats (the workspace's, when codeID
// is empty) from the scans alone, never the rollups: what ScanStats (or
// WorkspaceStats) must answer.
func (s *Store) ScanStatsFromScans(workspaceID, codeID string, f ScanFilter) (ScanStats, error) {
	acc := newStatsAcc(codeID == workspaceRollups)
	if err := addScanStats(s.db.WithContext(context.Background()), acc, workspaceID, codeID, f, 1); err != nil {
		return ScanStats{}, err
	}
	return acc.result(f.From, f.To), nil
}

// RollScansThenCrash rolls as RollScans does, and fails the roll's
// transaction after its rollup upserts, as a crash before COMMIT would.
func (s *Store) RollScansThenCrash(ctx context.Context) error {
	_, err := s.rollScans(ctx, func() error { return errCrash })
	if !errors.Is(err, errCrash) {
		return fmt.Errorf("roll did not crash: %v", err)
	}
	return nil
}

var errCrash = errors.New("crash before commit")

// RollBatch is the most roll_seq values one roll covers.
const RollBatch = rollBatch
