// Package api is ScanForge's HTTP layer: the public redirects (/q/SLUG,
// /l/SLUG) that record scans, and the management JSON API under /api/v1.
// Handlers are thin: they decode and validate input, call the store and
// answer; errors become statuses in one place (errors.go).
//
// A scan's way, step 1 of 7: redirect.go looks the code up (codecache.go),
// asks internal/enrich about the request (step 2), hands the scan to the
// recorder (step 3) and answers 302 once the scan is durable.
package api
