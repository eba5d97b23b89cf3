package models_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/models"
)

// Reservations made at the same moment by many workers get distinct slots,
// one interval apart; a quiet endpoint's next slot is now, not a debt.
func TestReserveSlotSpacesConcurrentReservations(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		const n, interval = 40, 200 * time.Millisecond

		slots := make([]time.Time, n)
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				slot, err := s.ReserveSlot(ctx, "ep_limited", now, interval)
				slots[i] = slot
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.SortFunc(slots, func(a, b time.Time) int { return a.Compare(b) })
		for i, slot := range slots {
			if want := now.Add(time.Duration(i) * interval); !slot.Equal(want) {
				t.Fatalf("slot %d = %v, want %v (all: %v)", i, slot, want, slots)
			}
		}

		// Another endpoint has its own pace.
		if slot, err := s.ReserveSlot(ctx, "ep_other", now, interval); err != nil || !slot.Equal(now) {
			t.Fatalf("other endpoint's first slot = %v, %v; want %v", slot, err, now)
		}
		// Long after the backlog, the next slot is now.
		later := now.Add(time.Hour)
		if slot, err := s.ReserveSlot(ctx, "ep_limited", later, interval); err != nil || !slot.Equal(later) {
			t.Fatalf("slot after a quiet hour = %v, %v; want %v", slot, err, later)
		}
	})
}

// A Retry-After hold moves every later slot past it, and never back.
func TestHoldUntilDelaysLaterSlots(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		if err := s.HoldUntil(ctx, "ep_held", now.Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.HoldUntil(ctx, "ep_held", now.Add(10*time.Second)); err != nil { // an earlier hold does not shorten it
			t.Fatal(err)
		}
		// A send claimed inside the hold is refused, one after it goes.
		if ok, retryAt, err := s.ClaimSend(ctx, "ep_held", now.Add(29*time.Second), time.Second); err != nil || ok || !retryAt.Equal(now.Add(30*time.Second)) {
			t.Fatalf("send claimed inside the hold: %v, retry at %v, %v", ok, retryAt, err)
		}
		if ok, _, err := s.ClaimSend(ctx, "ep_held", now.Add(30*time.Second), time.Second); err != nil || !ok {
			t.Fatalf("send claimed at the hold's end = %v, %v", ok, err)
		}
		for i, want := range []time.Time{now.Add(30 * time.Second), now.Add(31 * time.Second)} {
			if slot, err := s.ReserveSlot(ctx, "ep_held", now, time.Second); err != nil || !slot.Equal(want) {
				t.Fatalf("slot %d = %v, %v; want %v", i, slot, err, want)
			}
		}
		// With no rate limit (interval 0) the hold still applies.
		if err := s.HoldUntil(ctx, "ep_unpaced", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if slot, err := s.ReserveSlot(ctx, "ep_unpaced", now, 0); err != nil || !slot.Equal(now.Add(time.Minute)) {
			t.Fatalf("held slot without a rate = %v, %v", slot, err)
		}
	})
}

// Of many concurrent acquires, exactly limit succeed; a release or an
// expired lease frees a place.
func TestAcquireInFlightAdmitsAtMostTheLimit(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		const limit, tries = 3, 20
		var mu sync.Mutex
		var won []string
		var wg sync.WaitGroup
		errs := make(chan error, tries)
		for i := range tries {
			wg.Go(func() {
				lease := fmt.Sprintf("lease-%d", i)
				ok, err := s.AcquireInFlight(ctx, "ep_busy", lease, limit, now, now.Add(time.Minute))
				errs <- err
				if ok {
					mu.Lock()
					won = append(won, lease)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(won) != limit {
			t.Fatalf("%d of %d concurrent acquires succeeded, want %d", len(won), tries, limit)
		}
		if ok, err := s.AcquireInFlight(ctx, "ep_busy", "late", limit, now, now.Add(time.Minute)); err != nil || ok {
			t.Fatalf("acquire over the limit = %v, %v", ok, err)
		}
		if ok, err := s.AcquireInFlight(ctx, "ep_other", "other", 1, now, now.Add(time.Minute)); err != nil || !ok {
			t.Fatalf("another endpoint's acquire = %v, %v", ok, err)
		}
		if err := s.ReleaseInFlight(ctx, "ep_busy", won[0]); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.AcquireInFlight(ctx, "ep_busy", "after-release", limit, now, now.Add(time.Minute)); err != nil || !ok {
			t.Fatalf("acquire after a release = %v, %v", ok, err)
		}
		// A worker that died holding places: its leases expire.
		expired := now.Add(time.Minute)
		if ok, err := s.AcquireInFlight(ctx, "ep_busy", "after-expiry", limit, expired, expired.Add(time.Minute)); err != nil || !ok {
			t.Fatalf("acquire after the leases expired = %v, %v", ok, err)
		}
	})
}

// Of sends claimed together, one goes; the others may claim again one
// interval later, one by one.
func TestClaimSendSpacesSendsThatWokeTogether(t *testing.T) {
	forEachDB(t, func(t *testing.T, s *models.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
		const interval = 200 * time.Millisecond
		if _, err := s.ReserveSlot(ctx, "ep_late", now, interval); err != nil {
			t.Fatal(err)
		}
		const tries = 10
		results := make(chan bool, tries)
		var wg sync.WaitGroup
		for range tries {
			wg.Go(func() {
				ok, retryAt, err := s.ClaimSend(ctx, "ep_late", now, interval)
				if err != nil || (!ok && !retryAt.Equal(now.Add(interval))) {
					t.Errorf("claim = %v, retry at %v, %v; want retry at %v", ok, retryAt, err, now.Add(interval))
				}
				results <- ok
			})
		}
		wg.Wait()
		close(results)
		won := 0
		for ok := range results {
			if ok {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d sends claimed at the same moment went, want 1", won, tries)
		}
		if ok, _, err := s.ClaimSend(ctx, "ep_late", now.Add(interval-time.Millisecond), interval); err != nil || ok {
			t.Fatalf("claim just before the interval passed = %v, %v", ok, err)
		}
		if ok, _, err := s.ClaimSend(ctx, "ep_late", now.Add(interval), interval); err != nil || !ok {
			t.Fatalf("claim an interval later = %v, %v", ok, err)
		}
	})
}
