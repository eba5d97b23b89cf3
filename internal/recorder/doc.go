// Package recorder makes scans durable with group commit: concurrent
// redirects hand their scan to one writer goroutine, which inserts everything
// that has queued up in a single statement and then answers every waiter.
// Each redirect waits only for its own scan to be durable, and the database
// sees one insert per batch instead of one per request. When the database
// is unavailable, a batch is made durable in a local spool instead (see
// Options.Spool).
//
// A scan's way, step 3 of 7: the insert (internal/outbox's Writer) returns
// the scans it made pending, those with deliveries to start;
// Options.Committed hands them to internal/outbox's dispatcher (step 4),
// wired in internal/app.
package recorder
