package workflows

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"time"
)

// RetrySchedule is the policy the delivery workflow applies between
// attempts: exponential backoff with jitter, capped, until Horizon after the
// scan. It is part of the workflow input, so a run keeps the schedule it was
// started with.
type RetrySchedule struct {
	InitialInterval time.Duration // wait after the first failed attempt
	Coefficient     float64       // growth per attempt
	MaxInterval     time.Duration // cap of one wait, Retry-After included
	Horizon         time.Duration // give up this long after the scan
	Jitter          float64       // ± fraction of each wait, in [0, 1)
	AttemptTimeout  time.Duration // StartToClose of one attempt activity
}

// DefaultRetrySchedule: 10s, 20s, 40s, … capped at 2h, ±20 %, for 24h
// (21 attempts when every one fails).
func DefaultRetrySchedule() RetrySchedule {
	return RetrySchedule{
		InitialInterval: 10 * time.Second,
		Coefficient:     2,
		MaxInterval:     2 * time.Hour,
		Horizon:         24 * time.Hour,
		Jitter:          0.2,
		AttemptTimeout:  30 * time.Second,
	}
}

// Validate reports a schedule the workflow cannot run.
func (s RetrySchedule) Validate() error {
	var errs []error
	if s.InitialInterval <= 0 {
		errs = append(errs, errors.New("initial interval must be positive"))
	}
	if s.Coefficient < 1 {
		errs = append(errs, errors.New("coefficient must be at least 1"))
	}
	if s.MaxInterval < s.InitialInterval {
		errs = append(errs, errors.New("max interval must be at least the initial interval"))
	}
	if s.Horizon <= 0 {
		errs = append(errs, errors.New("horizon must be positive"))
	}
	if s.Jitter < 0 || s.Jitter >= 1 {
		errs = append(errs, errors.New("jitter must be in [0, 1)"))
	}
	if s.AttemptTimeout <= 0 {
		errs = append(errs, errors.New("attempt timeout must be positive"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid retry schedule: %w", errors.Join(errs...))
	}
	return nil
}

// Backoff returns the wait after failed attempt number attempt (1-based):
// InitialInterval × Coefficient^(attempt-1), capped at MaxInterval, then
// moved by up to ±Jitter and capped again. The jitter comes from a hash of
// (jitterSeed, attempt), not from rand, so workflow replays compute the same
// wait, while deliveries with different seeds spread out.
func (s RetrySchedule) Backoff(attempt int, jitterSeed string) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	maxWait := float64(s.MaxInterval)
	wait := float64(s.InitialInterval) * math.Pow(s.Coefficient, float64(attempt-1))
	if wait > maxWait || math.IsInf(wait, 0) || math.IsNaN(wait) {
		wait = maxWait
	}
	wait *= 1 + s.Jitter*unitJitter(jitterSeed, attempt)
	if wait > maxWait {
		wait = maxWait
	}
	return time.Duration(wait)
}

// unitJitter maps (seed, attempt) to a number in [-1, 1).
func unitJitter(seed string, attempt int) float64 {
	h := fnv.New64a()
	h.Write([]byte(seed))
	h.Write([]byte{0})
	h.Write([]byte(strconv.Itoa(attempt)))
	// FNV-1a's last input bytes barely reach the top bits, so successive
	// attempts would share one jitter; a splitmix64 finaliser spreads them.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/(1<<53)*2 - 1
}
