package activities

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/scanforge/scanforge/models"
)

// Pacer is the shared state behind endpoints' rate limits and
// max_in_flight (models.Store): every worker reserves from the same rows.
type Pacer interface {
	ReserveSlot(ctx context.Context, endpointID string, now time.Time, interval time.Duration) (time.Time, error)
	HoldUntil(ctx context.Context, endpointID string, until time.Time) error
	ClaimSend(ctx context.Context, endpointID string, now time.Time, interval time.Duration) (bool, time.Time, error)
	AcquireInFlight(ctx context.Context, endpointID, leaseID string, limit int, now, expires time.Time) (bool, error)
	ReleaseInFlight(ctx context.Context, endpointID, leaseID string) error
}

// Throttle says when a throttled attempt is due again.
type Throttle struct {
	// Until is when to come back. With Slot, it is a send time reserved
	// for this delivery: the next attempt passes it as AttemptInput.Slot.
	Until time.Time
	Slot  bool `json:",omitempty"`
	// Busy: every max_in_flight place was taken; no time was reserved.
	Busy bool `json:",omitempty"`
}

const (
	// PaceLead is how long before its reserved slot an attempt may start:
	// it waits out the rest itself, so a workflow timer or task that fires
	// a little late still sends on time (the rate holds over any second).
	PaceLead = time.Second
	// maxHold bounds how far a receiver's Retry-After pushes the endpoint's
	// whole backlog.
	maxHold = time.Hour
	// leaseMargin keeps an in-flight place past the request's timeout.
	leaseMargin = 5 * time.Second
)

// paced reports whether ep's deliveries go through the pacer: those of a
// limited endpoint, and those of any while a receiver's Retry-After holds it.
func (d *Deliverer) paced(ep models.Endpoint, in AttemptInput) bool {
	held := ep.HeldUntil != nil && ep.HeldUntil.After(d.now())
	return in.Pace && in.URL == "" && d.Pacer != nil && (ep.RateLimit != nil || ep.MaxInFlight != nil || held)
}

// pace applies ep's rate limit and max_in_flight before a send: it
// reserves a send slot (or uses the one in.Slot reserved) and waits for it
// when it is at most PaceLead away, then takes an in-flight place. When
// the attempt must come back later it fills res as OutcomeThrottled and
// reports throttled. release gives the in-flight place back after the send.
func (d *Deliverer) pace(ctx context.Context, ep models.Endpoint, in AttemptInput, res *AttemptResult) (release func(), throttled bool, err error) {
	release = func() {}
	if !d.paced(ep, in) {
		return release, false, nil
	}
	// Slots are reserved for in-flight-only endpoints too (interval 0):
	// that is where a Retry-After hold reaches them.
	var interval time.Duration
	if ep.RateLimit != nil {
		interval = time.Duration(float64(time.Second) / *ep.RateLimit)
	}
	slot := in.Slot
	if slot == nil {
		reserved, err := d.Pacer.ReserveSlot(ctx, ep.ID, d.now(), interval)
		if err != nil {
			return release, false, err
		}
		slot = &reserved
	}
	if wait := slot.Sub(d.now()); wait > PaceLead {
		d.throttle(res, Throttle{Until: *slot, Slot: true}, fmt.Sprintf("next send slot at %s (rate limit %s/s, or the receiver's Retry-After)", slot.UTC().Format(time.RFC3339Nano), formatRate(ep.RateLimit)))
		return release, true, nil
	}
	if err := sleepUntil(ctx, d.now(), *slot); err != nil {
		return release, false, fmt.Errorf("attempt %d cancelled waiting for its send slot: %w", in.Attempt, err)
	}
	// The last check, on the clock of sends, claimed at the moment of
	// sending: attempts that woke late together are spaced again; one
	// inside a receiver's Retry-After hold, or too far behind, takes a
	// new slot instead.
	throttled, err = d.claimSend(ctx, ep, interval, res)
	if err != nil || throttled {
		return release, throttled, err
	}

	if ep.MaxInFlight == nil {
		return release, false, nil
	}
	leaseID, err := newLeaseID()
	if err != nil {
		return release, false, err
	}
	now := d.now()
	ok, err := d.Pacer.AcquireInFlight(ctx, ep.ID, leaseID, *ep.MaxInFlight, now, now.Add(d.timeout()+leaseMargin))
	if err != nil {
		return release, false, err
	}
	if !ok {
		d.throttle(res, Throttle{Until: now, Busy: true}, fmt.Sprintf("max_in_flight %d: every place taken", *ep.MaxInFlight))
		return release, true, nil
	}
	return func() {
		// A place not given back frees itself when its lease expires.
		if err := d.Pacer.ReleaseInFlight(context.WithoutCancel(ctx), ep.ID, leaseID); err != nil {
			d.logger().Warn("release in-flight place", "endpoint_id", ep.ID, "error", err)
		}
	}, false, nil
}

// claimSend claims the send on the endpoint's clock of sends, waiting up
// to PaceLead for it; past that, it reserves a new slot and fills res as
// throttled.
func (d *Deliverer) claimSend(ctx context.Context, ep models.Endpoint, interval time.Duration, res *AttemptResult) (throttled bool, err error) {
	giveUp := d.now().Add(PaceLead)
	for {
		now := d.now()
		ok, retryAt, err := d.Pacer.ClaimSend(ctx, ep.ID, now, interval)
		if err != nil || ok {
			return false, err
		}
		if retryAt.After(giveUp) {
			reserved, err := d.Pacer.ReserveSlot(ctx, ep.ID, now, interval)
			if err != nil {
				return false, err
			}
			d.throttle(res, Throttle{Until: reserved, Slot: true}, fmt.Sprintf("held by the receiver's Retry-After, or sends ran late; next send slot at %s",
				reserved.UTC().Format(time.RFC3339Nano)))
			return true, nil
		}
		if err := sleepUntil(ctx, now, retryAt); err != nil {
			return false, fmt.Errorf("cancelled waiting for a send: %w", err)
		}
	}
}

// sleepUntil waits until at (at most PaceLead from now) or ctx ends.
func sleepUntil(ctx context.Context, now, at time.Time) error {
	wait := at.Sub(now)
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (d *Deliverer) throttle(res *AttemptResult, t Throttle, reason string) {
	res.Outcome = OutcomeThrottled
	res.Throttle = &t
	res.Error = reason
}

// holdForRetryAfter lets a receiver's Retry-After slow the endpoint's whole
// backlog: no slot is handed out before it has passed, and until then the
// attempts of an endpoint without limits go through the pacer too.
func (d *Deliverer) holdForRetryAfter(ctx context.Context, ep models.Endpoint, in AttemptInput, res AttemptResult) {
	if !in.Pace || in.URL != "" || d.Pacer == nil || res.Outcome != OutcomeRetry || res.RetryAfter <= 0 {
		return
	}
	until := d.now().Add(min(res.RetryAfter, maxHold))
	if err := d.Pacer.HoldUntil(ctx, ep.ID, until); err != nil {
		// This delivery still waits its Retry-After; only the others may
		// come sooner.
		d.logger().Warn("hold endpoint for Retry-After", "endpoint_id", ep.ID, "error", err)
	}
}

func formatRate(r *float64) string {
	if r == nil {
		return "unlimited"
	}
	return fmt.Sprintf("%g", *r)
}

func newLeaseID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("lease id: %w", err)
	}
	return hex.EncodeToString(b), nil
}
