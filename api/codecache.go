package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/models"
)

// Code lookups by slug are the redirect path's only database read; under
// load the same few slugs are read thousands of times a second. The cache
// keeps each answer (a code, or "no such slug") for codeCacheTTL. A change
// made through this process's API clears it at once; one made through
// another replica is seen within codeCacheTTL.
//
// While the database is unavailable (models.IsUnavailable, or no answer
// within codeLoadTimeout), the last answer the database gave stands in for
// it, for up to staleFor after it was given: the codes this replica has
// seen recently keep redirecting through an outage. The database is asked
// again once per codeCacheTTL per slug, not on every scan.
const (
	codeCacheTTL  = time.Second
	codeCacheSize = 10000 // entries; a full cache drops what is too old to serve, then half of the rest
	// DefaultCodeStaleFor is how long a code's last known state answers
	// for a database that is unavailable.
	DefaultCodeStaleFor = 24 * time.Hour
	codeLoadTimeout     = 2 * time.Second
)

type codeCache struct {
	load        func(ctx context.Context, slug string) (models.Code, error)
	now         func() time.Time
	staleFor    time.Duration
	loadTimeout time.Duration
	// generation is bumped by clear: entries of an older one are not
	// fresh, but still serve while the database is unavailable.
	generation atomic.Uint64

	mu      sync.RWMutex
	entries map[string]cachedCode
}

type cachedCode struct {
	code       models.Code
	err        error     // nil or models.ErrNotFound
	loaded     time.Time // when the database gave this answer
	expires    time.Time // fresh until
	generation uint64
}

func newCodeCache(load func(ctx context.Context, slug string) (models.Code, error), now func() time.Time, staleFor time.Duration) *codeCache {
	if staleFor <= 0 {
		staleFor = DefaultCodeStaleFor
	}
	return &codeCache{load: load, now: now, staleFor: staleFor, loadTimeout: codeLoadTimeout, entries: map[string]cachedCode{}}
}

// get returns the code of slug, from the cache while fresh, from the last
// known answer while the database is unavailable. Other errors are not
// kept.
func (c *codeCache) get(ctx context.Context, slug string) (models.Code, error) {
	now := c.now()
	gen := c.generation.Load()
	c.mu.RLock()
	e, ok := c.entries[slug]
	c.mu.RUnlock()
	if ok && e.generation == gen && now.Before(e.expires) {
		return e.code, e.err
	}
	loadCtx, cancel := context.WithTimeout(ctx, c.loadTimeout)
	code, err := c.load(loadCtx, slug)
	unanswered := err != nil && loadCtx.Err() != nil && ctx.Err() == nil
	cancel()
	if err == nil || errors.Is(err, models.ErrNotFound) {
		c.put(slug, cachedCode{code: code, err: err, loaded: now, expires: now.Add(codeCacheTTL), generation: gen})
		return code, err
	}
	if ok && (unanswered || models.IsUnavailable(err)) && now.Sub(e.loaded) < c.staleFor {
		e.expires, e.generation = now.Add(codeCacheTTL), gen
		c.put(slug, e)
		return e.code, e.err
	}
	return code, err
}

// put stores e unless the entry already holds a later answer.
func (c *codeCache) put(slug string, e cachedCode) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[slug]; ok && old.loaded.After(e.loaded) {
		return
	}
	if len(c.entries) >= codeCacheSize {
		c.evict(c.now())
	}
	c.entries[slug] = e
}

// evict makes room: entries too old to serve go first, then, if that is
// not a quarter of the cache, every other entry (Go's map order is random).
func (c *codeCache) evict(now time.Time) {
	for slug, e := range c.entries {
		if now.Sub(e.loaded) >= c.staleFor {
			delete(c.entries, slug)
		}
	}
	if len(c.entries) <= codeCacheSize*3/4 {
		return
	}
	drop := true
	for slug := range c.entries {
		if drop {
			delete(c.entries, slug)
		}
		drop = !drop
	}
}

// clear makes every entry stale: the next lookups read the database, and
// the entries answer only if it is unavailable.
func (c *codeCache) clear() {
	c.generation.Add(1)
}

// clearOnWrite clears the cache after every API call that may have changed
// a code, so that this process redirects by the new state at once.
func (c *codeCache) clearOnWrite() gin.HandlerFunc {
	return func(ctx *gin.Context) {
		ctx.Next()
		if ctx.Request.Method != http.MethodGet && ctx.Request.Method != http.MethodHead {
			c.clear()
		}
	}
}
