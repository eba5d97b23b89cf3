package models

// PostgresMaxRows lets the external tests send PostgreSQL batches that take
// several INSERTs.
const PostgresMaxRows = postgresMaxRows
