// Package models holds ScanForge's domain types and the Store that keeps
// them on SQLite (dev) or PostgreSQL (production).
//
// On a scan's way: the redirect handler resolves a slug (GetCodeBySlug);
// the scans table is the outbox, written and drained by internal/outbox,
// which asks here which endpoints take a scan (SubscribedEndpoints) and
// writes through the store's connection (WriteConn); the delivery
// activity loads the endpoint it signs for (GetEndpointByID).
//
// Files:
//   - models.go, errors.go: the types and the domain errors.
//   - db.go, migrate.go, migrate_adopt.go, migrations/: opening a database
//     and its versioned schema (goose SQL migrations, one per change and
//     dialect; databases made by GORM AutoMigrate are adopted at version 1).
//   - store.go, workspace.go, apikey.go, code.go, endpoint.go, secrets.go,
//     analytics.go: the Store, one file per entity.
//   - subscriptions.go: who takes a scan (SubscribedEndpoints, and the same
//     rule as SQL for the outbox writer); backlog.go: the outbox's size.
//   - writeconn.go: SQLite's one writing connection, shared by the outbox
//     writer and the roller; unavailable.go: IsUnavailable.
package models
