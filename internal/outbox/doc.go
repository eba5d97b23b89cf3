// Package outbox turns durable scans into delivery workflows. The scans
// table is the outbox: a scan whose deliveries have not been started has a
// null dispatched_at. The recorder hands every committed batch to the
// dispatcher in memory, so the common path never reads a scan back; a poll
// picks up what memory does not hold (scans left behind by a crash, by
// another replica, by a failed start, or beyond the handoff bound). Each scan
// starts one workflow per subscribed endpoint with an ID derived from
// (scan, endpoint) — so a scan dispatched twice never delivers twice — and is
// then marked dispatched.
//
// A scan's way, step 4 of 7: for each subscribed endpoint the dispatcher
// starts a Delivery workflow (workflows, step 5), filtering the event by the
// endpoint's field policy (internal/destination) first.
package outbox
