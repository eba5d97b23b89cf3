package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/models"
)

// Code lookups by slug are the redirect path's only database read; under
// load the same few slugs are read thousands of times a second. The cache
// keeps each answer (a code, or "no such slug") for codeCacheTTL. A change
// made through this process's API clears it at once; one made through
// another replica is seen within codeCacheTTL.
const (
	codeCacheTTL  = time.Second
	codeCacheSize = 10000 // entries; a full cache starts over
)

type codeCache struct {
	load func(ctx context.Context, slug string) (models.Code, error)
	now  func() time.Time

	mu      sync.RWMutex
	entries map[string]cachedCode
}

type cachedCode struct {
	code    models.Code
	err     error // nil or models.ErrNotFound
	expires time.Time
}

func newCodeCache(load func(ctx context.Context, slug string) (models.Code, error), now func() time.Time) *codeCache {
	return &codeCache{load: load, now: now, entries: map[string]cachedCode{}}
}

// get returns the code of slug, from the cache while fresh. Errors other
// than models.ErrNotFound are not kept.
func (c *codeCache) get(ctx context.Context, slug string) (models.Code, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[slug]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.code, e.err
	}
	code, err := c.load(ctx, slug)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		return code, err
	}
	c.mu.Lock()
	if len(c.entries) >= codeCacheSize {
		c.entries = map[string]cachedCode{}
	}
	c.entries[slug] = cachedCode{code: code, err: err, expires: now.Add(codeCacheTTL)}
	c.mu.Unlock()
	return code, err
}

func (c *codeCache) clear() {
	c.mu.Lock()
	c.entries = map[string]cachedCode{}
	c.mu.Unlock()
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
