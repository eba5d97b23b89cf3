package models

// Pacing of limited endpoints (Endpoint.RateLimit, MaxInFlight), shared by
// every worker through the app database: one row per endpoint holds its
// next free send time (a GCRA "theoretical arrival time"), its last send
// and the end of a receiver's Retry-After hold; one lease per attempt
// sending now counts its concurrency. Times are unix
// microseconds, so both dialects compare plain integers.

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Limits of the per-endpoint settings (the API validates against them).
const (
	MaxRateLimit   = 1000.0 // deliveries per second
	MinRateLimit   = 0.001  // one delivery every ~17 minutes
	MaxMaxInFlight = 1000
)

// ReserveSlot reserves endpointID's next send time at or after now, spaced
// interval after the one reserved before it, and returns it. One atomic
// statement: two workers reserving at once get two different slots.
func (s *Store) ReserveSlot(ctx context.Context, endpointID string, now time.Time, interval time.Duration) (time.Time, error) {
	greatest := "max"
	if s.db.Dialector.Name() == "postgres" {
		greatest = "GREATEST"
	}
	nowUS, step := now.UnixMicro(), interval.Microseconds()
	var next int64
	err := s.db.WithContext(ctx).Raw(`INSERT INTO endpoint_pacing (endpoint_id, next_at) VALUES (?, ?)
		ON CONFLICT (endpoint_id) DO UPDATE SET next_at = `+greatest+`(endpoint_pacing.next_at, ?) + ?
		RETURNING next_at`, endpointID, nowUS+step, nowUS, step).Scan(&next).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("reserve a send slot of endpoint %s: %w", endpointID, err)
	}
	return time.UnixMicro(next - step), nil
}

// HoldUntil holds endpointID's sends until at least until (a receiver's
// Retry-After): every slot reserved afterwards is later, and ClaimSend
// refuses the holders of slots reserved before that fell in the hold.
func (s *Store) HoldUntil(ctx context.Context, endpointID string, until time.Time) error {
	greatest := "max"
	if s.db.Dialector.Name() == "postgres" {
		greatest = "GREATEST"
	}
	untilUS := until.UnixMicro()
	err := s.db.WithContext(ctx).Exec(`INSERT INTO endpoint_pacing (endpoint_id, next_at, held_until) VALUES (?, ?, ?)
		ON CONFLICT (endpoint_id) DO UPDATE SET next_at = `+greatest+`(endpoint_pacing.next_at, ?),
			held_until = `+greatest+`(endpoint_pacing.held_until, ?)`,
		endpointID, untilUS, untilUS, untilUS, untilUS).Error
	if err != nil {
		return fmt.Errorf("hold endpoint %s until %s: %w", endpointID, until.UTC().Format(time.RFC3339), err)
	}
	// On the endpoint too: its attempts read it with the endpoint, so one
	// without limits knows to go through the pacer while the hold lasts.
	err = s.db.WithContext(ctx).Model(&Endpoint{}).
		Where("id = ? AND (held_until IS NULL OR held_until < ?)", endpointID, until).
		Update("held_until", until).Error
	if err != nil {
		return fmt.Errorf("hold endpoint %s until %s: %w", endpointID, until.UTC().Format(time.RFC3339), err)
	}
	return nil
}

// ClaimSend records a send to endpointID at now on a second clock, of
// sends (sent_at): the last check before a request, so attempts that woke
// late together still send interval apart. When the previous send was
// less than interval ago or a Retry-After hold still runs, it records
// nothing and returns ok false and the earliest time to claim again.
func (s *Store) ClaimSend(ctx context.Context, endpointID string, now time.Time, interval time.Duration) (ok bool, retryAt time.Time, err error) {
	nowUS := now.UnixMicro()
	res := s.db.WithContext(ctx).Exec(`UPDATE endpoint_pacing SET sent_at = ?
		WHERE endpoint_id = ? AND sent_at <= ? AND held_until <= ?`,
		nowUS+interval.Microseconds(), endpointID, nowUS, nowUS)
	if res.Error != nil {
		return false, time.Time{}, fmt.Errorf("claim a send to endpoint %s: %w", endpointID, res.Error)
	}
	if res.RowsAffected == 1 {
		return true, time.Time{}, nil
	}
	var row struct{ SentAt, HeldUntil int64 }
	err = s.db.WithContext(ctx).Raw(`SELECT sent_at, held_until FROM endpoint_pacing WHERE endpoint_id = ?`, endpointID).Scan(&row).Error
	if err != nil {
		return false, time.Time{}, fmt.Errorf("claim a send to endpoint %s: %w", endpointID, err)
	}
	return false, time.UnixMicro(max(row.SentAt, row.HeldUntil, nowUS)), nil
}

// AcquireInFlight takes one of endpointID's limit places for leaseID until
// expires (a worker that dies mid-request frees it then), and reports
// whether there was one free. The endpoint's pacing row is locked first
// (an upsert that changes nothing), so concurrent acquires run one by one.
func (s *Store) AcquireInFlight(ctx context.Context, endpointID, leaseID string, limit int, now, expires time.Time) (bool, error) {
	var acquired bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO endpoint_pacing (endpoint_id, next_at) VALUES (?, 0)
			ON CONFLICT (endpoint_id) DO UPDATE SET next_at = endpoint_pacing.next_at`, endpointID).Error; err != nil {
			return err
		}
		if err := tx.Exec(`DELETE FROM endpoint_in_flight WHERE endpoint_id = ? AND expires_at <= ?`,
			endpointID, now.UnixMicro()).Error; err != nil {
			return err
		}
		res := tx.Exec(`INSERT INTO endpoint_in_flight (endpoint_id, lease_id, expires_at)
			SELECT ?, ?, ? WHERE (SELECT count(*) FROM endpoint_in_flight WHERE endpoint_id = ?) < ?`,
			endpointID, leaseID, expires.UnixMicro(), endpointID, limit)
		acquired = res.RowsAffected == 1
		return res.Error
	})
	if err != nil {
		return false, fmt.Errorf("acquire an in-flight place of endpoint %s: %w", endpointID, err)
	}
	return acquired, nil
}

// ReleaseInFlight gives leaseID's place back.
func (s *Store) ReleaseInFlight(ctx context.Context, endpointID, leaseID string) error {
	err := s.db.WithContext(ctx).Exec(`DELETE FROM endpoint_in_flight WHERE endpoint_id = ? AND lease_id = ?`,
		endpointID, leaseID).Error
	if err != nil {
		return fmt.Errorf("release in-flight place of endpoint %s: %w", endpointID, err)
	}
	return nil
}
