package api_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scanforge/scanforge/api"
)

// manualClock stands still until the test moves it.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRateLimitPerAPIKey(t *testing.T) {
	clk := &manualClock{t: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	const burst = 3
	e := newEnv(t, "sqlite", func(o *api.Options) {
		o.RateLimit = api.RateLimit{PerSecond: 0.5, Burst: burst}
		o.Now = clk.Now
	})
	get := func(key string) *http.Response {
		t.Helper()
		return e.do(request{Method: "GET", Path: "/api/v1/codes", Key: key}).Result()
	}

	for i := range burst {
		if res := get(e.key); res.StatusCode != http.StatusOK {
			t.Fatalf("request %d of the burst: status %d", i+1, res.StatusCode)
		}
	}
	rec := e.do(request{Method: "GET", Path: "/api/v1/codes", Key: e.key})
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("request %d: status %d, want 429: %s", burst+1, rec.Code, rec.Body)
	}
	// One token every 2 s: the client is told to come back in 2 s.
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2", got)
	}
	if errObj := errorOf(t, rec); errObj["code"] != "rate_limited" {
		t.Errorf("error %v, want code rate_limited", errObj)
	}

	// Another key has its own bucket.
	for i := range burst {
		if res := get(e.otherKey); res.StatusCode != http.StatusOK {
			t.Fatalf("other key, request %d: status %d", i+1, res.StatusCode)
		}
	}
	// Bad keys are refused before they could spend anyone's tokens.
	if res := get("sf_not_a_key"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("bad key: status %d, want 401", res.StatusCode)
	}

	// A refused request spends nothing: after 2 s exactly one more passes.
	clk.Advance(2 * time.Second)
	if res := get(e.key); res.StatusCode != http.StatusOK {
		t.Errorf("after waiting Retry-After: status %d, want 200", res.StatusCode)
	}
	if res := get(e.key); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("second request after the wait: status %d, want 429", res.StatusCode)
	}
}

func TestNoRateLimitByDefault(t *testing.T) {
	e := newEnv(t, "sqlite")
	for i := range 100 {
		if rec := e.do(request{Method: "GET", Path: "/api/v1/codes", Key: e.key}); rec.Code != http.StatusOK {
			t.Fatalf("request %d: status %d", i+1, rec.Code)
		}
	}
}
