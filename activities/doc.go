// Package activities holds the Temporal activities of webhook delivery. One
// activity execution is one delivery attempt: its HTTP outcome is the
// activity's result, so every attempt stands in the workflow's history.
//
// A scan's way, step 6 of 7: Attempt loads the endpoint and its secrets,
// renders the body for its destination (internal/destination), signs it
// with webhook (step 7), POSTs it and classifies the answer (outcome.go)
// for the workflow.
//
// Files: deliverer.go (the Deliverer and its Options), attempt.go (one
// attempt: load, post, disable on "gone", health), post.go (the signed
// POST and what is kept of the answer), outcome.go (classifying the
// answer), headers.go (masked request headers), health.go (failure
// records, auto-disable, the give-up activity), tracing.go.
package activities
