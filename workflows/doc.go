// Package workflows holds the Temporal workflow that delivers one scan event
// to one endpoint. Each attempt is recorded in history with its result (the
// first as a local activity's marker from RevisionLocalFirst on, every
// other as its own activity execution) and the waits between attempts are
// durable timers, so the workflow's history is the delivery log. The code
// here must stay deterministic: time from workflow.Now, no rand,
// goroutines, map iteration or I/O.
//
// A scan's way, step 5 of 7: started by internal/outbox (step 4), the
// Delivery workflow runs the DeliveryAttempt activity (activities, step 6)
// until one is delivered, permanently refused or the horizon passes.
package workflows
