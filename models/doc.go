// Package models holds ScanForge's domain types and the Store that keeps
// them on SQLite (dev) or PostgreSQL (production).
//
// On a scan's way it is the record step: the redirect handler resolves a
// slug (GetCodeBySlug), the recorder stores each batch of scans
// (InsertScans), which also decides which are pending in the outbox (the
// scans table), and the dispatcher reads those back (PendingScans,
// SubscribedEndpoints), starts their deliveries and marks them
// (MarkDispatched); the delivery activity loads the endpoint it signs for
// (GetEndpointByID).
//
// Files:
//   - models.go, errors.go: the types and the domain errors.
//   - db.go, migrate.go, migrate_adopt.go, migrations/: opening a database
//     and its versioned schema (goose SQL migrations, one per change and
//     dialect; databases made by GORM AutoMigrate are adopted at version 1).
//   - store.go, workspace.go, apikey.go, code.go, endpoint.go, secrets.go,
//     analytics.go: the Store, one file per entity.
//   - outbox.go (shared SQL and InsertScans), outbox_sqlite.go (one writing
//     connection, WAL checkpoint), outbox_postgres.go (pgx pipeline and its
//     binary parameter encoder), backlog.go: the outbox table's writer.
package models
