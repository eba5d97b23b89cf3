package api

import (
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// RateLimit bounds management API calls per API key with a token bucket.
// The zero value (PerSecond 0) turns limiting off.
type RateLimit struct {
	PerSecond float64 // sustained requests per second
	Burst     int     // requests allowed at once; at least 1
}

// minIdle is the least time a bucket is kept after its last use.
const minIdle = time.Minute

// keyLimiters holds one token bucket per API key. A bucket unused for idle
// is full again, so forgetting it changes nothing: sweeping such buckets
// keeps memory proportional to the keys in use, not to every key ever seen.
type keyLimiters struct {
	limit rate.Limit
	burst int
	idle  time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	limiter  *rate.Limiter
	lastUsed time.Time
}

func newKeyLimiters(rl RateLimit) *keyLimiters {
	burst := max(rl.Burst, 1)
	refill := time.Duration(float64(burst) / rl.PerSecond * float64(time.Second))
	return &keyLimiters{
		limit:   rate.Limit(rl.PerSecond),
		burst:   burst,
		idle:    max(refill, minIdle),
		buckets: map[string]*bucket{},
	}
}

// take spends one token of key's bucket at now. When none is left it
// reports how long until one is.
func (k *keyLimiters) take(key string, now time.Time) (ok bool, wait time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.sweep(now)
	b := k.buckets[key]
	if b == nil {
		b = &bucket{limiter: rate.NewLimiter(k.limit, k.burst)}
		k.buckets[key] = b
	}
	b.lastUsed = now
	r := b.limiter.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused request spends nothing
		return false, d
	}
	return true, 0
}

// sweep drops idle buckets, at most once per idle period.
func (k *keyLimiters) sweep(now time.Time) {
	if now.Sub(k.lastSweep) < k.idle {
		return
	}
	k.lastSweep = now
	for key, b := range k.buckets {
		if now.Sub(b.lastUsed) >= k.idle {
			delete(k.buckets, key)
		}
	}
}

func (k *keyLimiters) size() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

// rateLimit answers 429 with Retry-After once the caller's API key has used
// its burst faster than rl allows. It runs after authenticate, which names
// the key; other keys are not affected.
func rateLimit(rl RateLimit, now func() time.Time, log *slog.Logger) gin.HandlerFunc {
	if rl.PerSecond <= 0 {
		return func(c *gin.Context) { c.Next() }
	}
	limiters := newKeyLimiters(rl)
	return func(c *gin.Context) {
		ok, wait := limiters.take(apiKeyID(c), now())
		if !ok {
			secs := retryAfterSeconds(wait)
			c.Header("Retry-After", strconv.Itoa(secs))
			writeError(c, log, errRateLimited(secs))
			return
		}
		c.Next()
	}
}

// retryAfterSeconds rounds wait up to whole seconds, at least 1: a client
// that waits that long finds a token.
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}
