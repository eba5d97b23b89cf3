package api

import (
	"strconv"
	"testing"
	"time"
)

func TestIdleBucketsAreEvicted(t *testing.T) {
	k := newKeyLimiters(RateLimit{PerSecond: 10, Burst: 5})
	if k.idle != minIdle {
		t.Fatalf("idle %s, want %s", k.idle, minIdle)
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10000 {
		k.take("key_"+strconv.Itoa(i), t0)
	}
	k.take("late", t0.Add(30*time.Second))
	if n := k.size(); n != 10001 {
		t.Fatalf("%d buckets before any is idle, want 10001", n)
	}
	k.take("late", t0.Add(minIdle+time.Second))
	if n := k.size(); n != 1 {
		t.Errorf("%d buckets after the idle period, want 1 (the key still in use)", n)
	}
	// A forgotten key starts over with a full bucket, as it would have had.
	for i := range 5 {
		if ok, _ := k.take("key_1", t0.Add(2*minIdle)); !ok {
			t.Fatalf("request %d of a fresh burst refused", i+1)
		}
	}
	if ok, wait := k.take("key_1", t0.Add(2*minIdle)); ok || wait != 100*time.Millisecond {
		t.Errorf("sixth request: ok=%v wait=%s, want refused with 100ms to wait", ok, wait)
	}
}

func TestIdleCoversSlowRefill(t *testing.T) {
	// At 1 request per 10 s a burst of 30 takes 5 minutes to refill: a
	// bucket must be kept at least that long, or forgetting it would hand
	// out a fresh burst early.
	k := newKeyLimiters(RateLimit{PerSecond: 0.1, Burst: 30})
	if k.idle != 300*time.Second {
		t.Errorf("idle %s, want 5m", k.idle)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		want int
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {1001 * time.Millisecond, 2}, {2 * time.Second, 2}} {
		if got := retryAfterSeconds(tt.wait); got != tt.want {
			t.Errorf("retryAfterSeconds(%s) = %d, want %d", tt.wait, got, tt.want)
		}
	}
}
