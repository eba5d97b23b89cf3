// Package outbox owns the outbox, the scans table, where a scan whose
// deliveries have not been started has a null dispatched_at: it writes it
// and drains it.
//
// The Writer inserts each batch of scans (the redirect path's group
// commit, and the spool's moves) and returns those it made pending: the
// scans some endpoint takes; the others are stored dispatched already. The
// recorder hands the pending scans to the Dispatcher in memory, so the
// common path never reads a scan back; a poll picks up what memory does
// not hold (scans left behind by a crash, by another replica, by a failed
// start, or beyond the handoff bound). Each scan starts one workflow per
// subscribed endpoint with an ID derived from (scan, endpoint) — so a scan
// dispatched twice never delivers twice — and is then marked dispatched.
//
// A scan's way, steps 3 and 4 of 7: the recorder (step 3) commits through
// the Writer; for each subscribed endpoint the Dispatcher starts a Delivery
// workflow (workflows, step 5), filtering the event by the endpoint's field
// policy (internal/destination) first.
//
// Files: writer.go (the statements shared by both dialects, InsertScans,
// PendingScans, MarkDispatched), writer_sqlite.go (one-row inserts on the
// store's writing connection, WAL checkpoint), writer_postgres.go (multi-
// row INSERTs in a pgx pipeline, binary parameter encoder),
// writer_spool.go (InsertNewScans, for the spool's mover); dispatcher.go
// (handoff, poll, starts and the in-flight bound), event.go, backfill.go,
// finishes.go, clock.go.
package outbox
