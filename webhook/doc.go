// Package webhook signs ScanForge deliveries and verifies them on the
// receiving side. It is pure: no clock, no I/O; callers pass the time.
//
// A scan's way, step 7 of 7: activities signs every POST with Sign (and
// SignBody when the endpoint asks); receivers verify with Verify or any
// Standard Webhooks library.
package webhook
