package models

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
