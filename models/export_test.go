package models

import "context"

// PostgresMaxRows lets the external tests send PostgreSQL batches that take
// several INSERTs.
const PostgresMaxRows = postgresMaxRows

// MigrationFiles, MigrateSchemaFS and CheckSchemaFS let the external tests
// migrate with later migrations than the embedded ones.
var (
	MigrationFiles  = migrationFiles
	MigrateSchemaFS = migrateSchema
	CheckSchemaFS   = checkSchema
)

// ScanStatsFromScans counts a code's stats from the scans alone, never the
// rollups: what ScanStats must answer.
func (s *Store) ScanStatsFromScans(workspaceID, codeID string, f ScanFilter) (ScanStats, error) {
	acc := newStatsAcc()
	if err := addScanStats(s.db.WithContext(context.Background()), acc, workspaceID, codeID, f, 1); err != nil {
		return ScanStats{}, err
	}
	return acc.result(f.From, f.To), nil
}
