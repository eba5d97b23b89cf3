package activities_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanforge/scanforge/activities"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/models"
)

// countingPacer is the real pacer (the app database) counting its calls.
type countingPacer struct {
	*models.Store
	calls atomic.Int32
}

func (p *countingPacer) ReserveSlot(ctx context.Context, id string, now time.Time, interval time.Duration) (time.Time, error) {
	p.calls.Add(1)
	return p.Store.ReserveSlot(ctx, id, now, interval)
}

func (p *countingPacer) AcquireInFlight(ctx context.Context, id, lease string, limit int, now, expires time.Time) (bool, error) {
	p.calls.Add(1)
	return p.Store.AcquireInFlight(ctx, id, lease, limit, now, expires)
}

func pacedSetup(t *testing.T, status int, headers map[string]string, ep models.Endpoint) (*activities.Deliverer, *countingPacer, *receiver) {
	t.Helper()
	rcv := newReceiver(t, answer(status, headers, "answer"))
	ep.ID, ep.WorkspaceID, ep.URL, ep.Secret, ep.Enabled = "ep_1", "ws_1", rcv.URL, newSecret(t), true
	pacer := &countingPacer{Store: models.NewStore(testdb.Open(t, "sqlite"), time.Now)}
	d := activities.NewDeliverer(newFakeStore(ep), activities.Options{Pacer: pacer})
	return d, pacer, rcv
}

func paced(in activities.AttemptInput) activities.AttemptInput {
	in.Pace = true
	return in
}

func ptr[T any](v T) *T { return &v }

// An endpoint without limits costs its attempts nothing: no pacer call.
func TestAttemptToAnUnlimitedEndpointDoesNotPace(t *testing.T) {
	d, pacer, rcv := pacedSetup(t, 503, nil, models.Endpoint{})
	res, err := d.Attempt(context.Background(), paced(testInput))
	if err != nil || res.Outcome != activities.OutcomeRetry || len(rcv.received()) != 1 {
		t.Fatalf("attempt = %+v, %v; %d requests", res, err, len(rcv.received()))
	}
	if n := pacer.calls.Load(); n != 0 {
		t.Fatalf("%d pacer calls for an unlimited endpoint, want 0", n)
	}
}

// A limited endpoint's attempt sends in its slot when it is near, and
// comes back throttled, sending nothing, when it is not.
func TestAttemptToALimitedEndpointTakesASlot(t *testing.T) {
	d, _, rcv := pacedSetup(t, 200, nil, models.Endpoint{RateLimit: ptr(0.5)}) // one every 2 s
	first, err := d.Attempt(context.Background(), paced(testInput))
	if err != nil || first.Outcome != activities.OutcomeDelivered {
		t.Fatalf("first attempt = %+v, %v", first, err)
	}
	second, err := d.Attempt(context.Background(), paced(testInput))
	if err != nil || second.Outcome != activities.OutcomeThrottled || second.Throttle == nil || !second.Throttle.Slot {
		t.Fatalf("second attempt = %+v, %v; want throttled with a slot", second, err)
	}
	slot := second.Throttle.Until
	if wait := time.Until(slot); wait < time.Second || wait > 2*time.Second {
		t.Fatalf("slot in %v, want about 2 s", wait)
	}
	if n := len(rcv.received()); n != 1 {
		t.Fatalf("%d requests, want 1: a throttled attempt sends nothing", n)
	}
	// Back a little before its slot (as the workflow's timer brings it),
	// the attempt waits out the rest and sends in it.
	time.Sleep(time.Until(slot.Add(-activities.PaceLead / 2)))
	in := paced(testInput)
	in.Slot = &slot
	third, err := d.Attempt(context.Background(), in)
	if err != nil || third.Outcome != activities.OutcomeDelivered || third.StartedAt.Before(slot) {
		t.Fatalf("attempt with its slot = %+v, %v; want delivered at or after %v", third, err, slot)
	}
}

// checkBacklogHeld: an attempt answered 429 with Retry-After: 120 holds
// back another delivery to the endpoint for about 120 s. It returns that
// other delivery's input.
func checkBacklogHeld(t *testing.T, d *activities.Deliverer) activities.AttemptInput {
	t.Helper()
	res, err := d.Attempt(context.Background(), paced(testInput))
	if err != nil || res.Outcome != activities.OutcomeRetry || res.RetryAfter != 120*time.Second {
		t.Fatalf("attempt = %+v, %v", res, err)
	}
	other := paced(testInput)
	other.EventID = "evt_other"
	res, err = d.Attempt(context.Background(), other)
	if err != nil || res.Outcome != activities.OutcomeThrottled || res.Throttle == nil {
		t.Fatalf("another delivery's attempt = %+v, %v; want throttled", res, err)
	}
	if wait := time.Until(res.Throttle.Until); wait < 110*time.Second || wait > 121*time.Second {
		t.Fatalf("other delivery's slot in %v, want about 120 s", wait)
	}
	return other
}

// A receiver's Retry-After holds back the endpoint's other deliveries.
func TestRetryAfterHoldsTheWholeBacklog(t *testing.T) {
	d, _, _ := pacedSetup(t, 429, map[string]string{"Retry-After": "120"}, models.Endpoint{RateLimit: ptr(100.0)})
	other := checkBacklogHeld(t, d)
	// A delivery whose slot was reserved before the hold, inside it, takes
	// a new one after it.
	early := time.Now()
	other.Slot = &early
	res, err := d.Attempt(context.Background(), other)
	if err != nil || res.Outcome != activities.OutcomeThrottled || res.Throttle == nil || time.Until(res.Throttle.Until) < 110*time.Second {
		t.Fatalf("attempt with a slot inside the hold = %+v, %v; want throttled past the hold", res, err)
	}
}

// A Retry-After from the receiver of an endpoint without limits holds its
// whole backlog as well: until it ends, the endpoint's attempts go through
// the pacer, read from the endpoint they load anyway.
func TestRetryAfterHoldsTheBacklogOfAnUnlimitedEndpoint(t *testing.T) {
	rcv := newReceiver(t, answer(429, map[string]string{"Retry-After": "120"}, "slow down"))
	store := models.NewStore(testdb.Open(t, "sqlite"), time.Now)
	ep := models.Endpoint{ID: "ep_1", WorkspaceID: "ws_1", URL: rcv.URL, Secret: newSecret(t), Enabled: true}
	if err := store.DB().Create(&ep).Error; err != nil {
		t.Fatal(err)
	}
	d := activities.NewDeliverer(store, activities.Options{Pacer: store})
	checkBacklogHeld(t, d)
	if n := len(rcv.received()); n != 1 {
		t.Fatalf("%d requests, want 1: the held delivery sent nothing", n)
	}
}

// With every in-flight place taken the attempt comes back busy.
func TestAttemptWaitsForAnInFlightPlace(t *testing.T) {
	d, pacer, rcv := pacedSetup(t, 200, nil, models.Endpoint{MaxInFlight: ptr(1)})
	now := time.Now()
	if ok, err := pacer.Store.AcquireInFlight(context.Background(), "ep_1", "other-worker", 1, now, now.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("acquire = %v, %v", ok, err)
	}
	res, err := d.Attempt(context.Background(), paced(testInput))
	if err != nil || res.Outcome != activities.OutcomeThrottled || res.Throttle == nil || !res.Throttle.Busy {
		t.Fatalf("attempt = %+v, %v; want throttled busy", res, err)
	}
	if err := pacer.Store.ReleaseInFlight(context.Background(), "ep_1", "other-worker"); err != nil {
		t.Fatal(err)
	}
	res, err = d.Attempt(context.Background(), paced(testInput))
	if err != nil || res.Outcome != activities.OutcomeDelivered || len(rcv.received()) != 1 {
		t.Fatalf("attempt after the release = %+v, %v", res, err)
	}
	// Its place was given back after the send.
	if ok, err := pacer.Store.AcquireInFlight(context.Background(), "ep_1", "next", 1, time.Now(), time.Now().Add(time.Minute)); !ok || err != nil {
		t.Fatalf("place not given back: %v, %v", ok, err)
	}
}
