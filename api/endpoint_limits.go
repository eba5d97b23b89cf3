package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/scanforge/scanforge/models"
)

// The endpoint's rate_limit (deliveries per second, fractional allowed)
// and max_in_flight (concurrent attempts). Unlike other fields, an explicit
// null is a value here: it removes the limit (what GET shows for none).

// limitsInput is the decoded rate_limit and max_in_flight: Given says the
// field was in the body, a nil value with it removes the limit.
type limitsInput struct {
	RateLimit        *float64
	RateLimitGiven   bool
	MaxInFlight      *int
	MaxInFlightGiven bool
}

var (
	errRateLimit = models.Invalid("rate_limit",
		fmt.Sprintf("must be a number of deliveries per second from %g to %g, or null for no limit", models.MinRateLimit, models.MaxRateLimit))
	errMaxInFlight = models.Invalid("max_in_flight",
		fmt.Sprintf("must be a whole number of concurrent attempts from 1 to %d, or null for no limit", models.MaxMaxInFlight))
)

func readLimitsInput(obj jsonObject) (limitsInput, error) {
	var in limitsInput
	if raw, ok := obj["rate_limit"]; ok {
		in.RateLimitGiven = true
		if !isNull(raw) {
			var v float64
			if err := json.Unmarshal(raw, &v); err != nil || math.IsNaN(v) || v < models.MinRateLimit || v > models.MaxRateLimit {
				return limitsInput{}, errRateLimit
			}
			in.RateLimit = &v
		}
	}
	if raw, ok := obj["max_in_flight"]; ok {
		in.MaxInFlightGiven = true
		if !isNull(raw) {
			var v int
			if err := json.Unmarshal(raw, &v); err != nil || v < 1 || v > models.MaxMaxInFlight {
				return limitsInput{}, errMaxInFlight
			}
			in.MaxInFlight = &v
		}
	}
	return in, nil
}

func (in limitsInput) apply(e *models.Endpoint) {
	if in.RateLimitGiven {
		e.RateLimit = in.RateLimit
	}
	if in.MaxInFlightGiven {
		e.MaxInFlight = in.MaxInFlight
	}
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}
