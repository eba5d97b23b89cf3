package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Outcome is the verdict on one delivery attempt; the workflow acts on it.
type Outcome string

const (
	// OutcomeDelivered: the endpoint answered 2xx.
	OutcomeDelivered Outcome = "delivered"
	// OutcomeRetry: a transient failure (3xx, 408, 429, 5xx, network error):
	// try again after a backoff.
	OutcomeRetry Outcome = "retry"
	// OutcomeFailed: a permanent failure (other 4xx, unusable endpoint
	// configuration): do not try again.
	OutcomeFailed Outcome = "failed"
	// OutcomeEndpointDisabled: the endpoint is gone or disabled: stop.
	OutcomeEndpointDisabled Outcome = "endpoint_disabled"
	// OutcomeThrottled: nothing was sent; the endpoint's rate limit or
	// max_in_flight says when to come back (AttemptResult.Throttle).
	OutcomeThrottled Outcome = "throttled"
)

// Classify maps an HTTP answer (or the transport error that prevented one)
// to an Outcome. Redirects count as failed attempts that are retried, as
// Svix does: the endpoint may have moved only temporarily, and following a
// redirect would send the signed body somewhere the user never configured.
func Classify(status int, err error) Outcome {
	if err != nil {
		if isPermanent(err) {
			return OutcomeFailed
		}
		return OutcomeRetry
	}
	switch {
	case status >= 200 && status <= 299:
		return OutcomeDelivered
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return OutcomeRetry
	case status >= 400 && status <= 499:
		return OutcomeFailed
	default: // 3xx, 5xx and anything non-standard
		return OutcomeRetry
	}
}

// isPermanent recognises transport errors no retry can fix: they have a
// Permanent() bool method that says so, like the egress guard's refusal of
// an internal address (internal/netguard.BlockedError). A blocked address
// fails the delivery at once instead of being retried for 24 hours.
func isPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// describeTransportError turns a client error into short text for the
// delivery log, without Go's "Post \"URL\": " prefix.
func describeTransportError(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("timeout after %s", timeout)
	case errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("timeout after %s", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &dnsErr):
		return "dns: " + dnsErr.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}

// parseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP date (taken relative to now). It returns 0 when absent, unparsable or
// in the past.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		// Beyond ~292 years a Duration overflows; the workflow caps it anyway.
		if secs <= 0 || secs > int64(maxRetryAfter/time.Second) {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0
	}
	if d := at.Sub(now); d > 0 {
		return d
	}
	return 0
}

// maxRetryAfter bounds the parsed Retry-After; larger values are ignored as
// nonsense. The workflow caps what it honours far lower.
const maxRetryAfter = 365 * 24 * time.Hour
