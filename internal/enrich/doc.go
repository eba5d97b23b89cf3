// Package enrich turns the raw facts of a scan request (client IP, method,
// headers, User-Agent) into what a webhook consumer wants to know: where the
// client is (geo), what it runs (device) and whether it is a person (bot).
//
// A scan's way, step 2 of 7: the redirect handler (api) gets an Enrichment
// back and puts it in the scan it hands to internal/recorder.
package enrich
