package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/scanforge/scanforge/models"
)

// fakeCodes answers lookups from a map and counts them.
type fakeCodes struct {
	codes map[string]models.Code
	err   error // returned instead when set
	calls int
}

func (f *fakeCodes) load(_ context.Context, slug string) (models.Code, error) {
	f.calls++
	if f.err != nil {
		return models.Code{}, f.err
	}
	c, ok := f.codes[slug]
	if !ok {
		return models.Code{}, models.ErrNotFound
	}
	return c, nil
}

func TestCodeCache(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		slug      string
		loadErr   error
		after     time.Duration // time between the two lookups
		wantCalls int
		wantErr   bool
	}{
		{"fresh hit is served from the cache", "hello", nil, codeCacheTTL / 2, 1, false},
		{"expired entry is read again", "hello", nil, codeCacheTTL, 2, false},
		{"unknown slug is cached too", "nope", nil, codeCacheTTL / 2, 1, true},
		{"database errors are not cached", "hello", errors.New("database down"), 0, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := start
			f := &fakeCodes{codes: map[string]models.Code{"hello": {ID: "code_1", Slug: "hello"}}, err: tt.loadErr}
			c := newCodeCache(f.load, func() time.Time { return now }, 0)
			for range 2 {
				code, err := c.get(ctx, tt.slug)
				if (err != nil) != tt.wantErr {
					t.Fatalf("get: err %v, want error: %v", err, tt.wantErr)
				}
				if err == nil && code.ID != "code_1" {
					t.Fatalf("get: code %+v", code)
				}
				now = now.Add(tt.after)
			}
			if f.calls != tt.wantCalls {
				t.Errorf("%d lookups reached the database, want %d", f.calls, tt.wantCalls)
			}
		})
	}
}

func TestCodeCacheClearedByAPIWrites(t *testing.T) {
	gin.SetMode(gin.TestMode)
	f := &fakeCodes{codes: map[string]models.Code{"hello": {ID: "code_1", Slug: "hello", Active: true}}}
	c := newCodeCache(f.load, time.Now, 0)
	r := gin.New()
	r.Use(c.clearOnWrite())
	r.GET("/api/v1/codes", func(ctx *gin.Context) { ctx.Status(http.StatusOK) })
	r.POST("/api/v1/codes/:id/deactivate", func(ctx *gin.Context) {
		f.codes["hello"] = models.Code{ID: "code_1", Slug: "hello", Active: false}
		ctx.Status(http.StatusOK)
	})

	ctx := context.Background()
	if code, _ := c.get(ctx, "hello"); !code.Active {
		t.Fatal("code should start active")
	}
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/api/v1/codes", nil))
	if c.get(ctx, "hello"); f.calls != 1 {
		t.Fatalf("a GET cleared the cache: %d lookups", f.calls)
	}
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/api/v1/codes/code_1/deactivate", nil))
	if code, _ := c.get(ctx, "hello"); code.Active {
		t.Error("the redirect path still sees the code active after it was deactivated through the API")
	}
}

// While the database is unavailable, a slug's last known answer (a code,
// or "no such slug") keeps answering for up to staleFor, and the database
// is asked again once per TTL, not on every lookup.
func TestCodeCacheServesLastKnownWhileDatabaseUnavailable(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &fakeCodes{codes: map[string]models.Code{"hello": {ID: "code_1", Slug: "hello", Active: true}}}
	c := newCodeCache(f.load, func() time.Time { return now }, time.Hour)
	if _, err := c.get(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.get(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
		t.Fatalf("unknown slug: %v", err)
	}

	f.err = fmt.Errorf("slug: %w", models.ErrUnavailable)
	calls := f.calls
	for i := range 10 {
		now = now.Add(codeCacheTTL / 4)
		code, err := c.get(ctx, "hello")
		if err != nil || code.ID != "code_1" {
			t.Fatalf("lookup %d in the outage: %+v, %v; want the last known code", i, code, err)
		}
		if _, err := c.get(ctx, "nope"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("unknown slug in the outage: %v, want not found as last known", err)
		}
	}
	// 2.5 TTLs with two slugs: each asked the database at most 3 times.
	if asked := f.calls - calls; asked < 2 || asked > 6 {
		t.Errorf("the database was asked %d times during 2.5 TTLs of 20 lookups of 2 slugs", asked)
	}
	if _, err := c.get(ctx, "never-seen"); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("slug never seen during the outage: %v, want the database's error", err)
	}

	now = now.Add(time.Hour) // the last answer is now too old to serve
	if _, err := c.get(ctx, "hello"); !errors.Is(err, models.ErrUnavailable) {
		t.Errorf("after staleFor: %v, want the database's error", err)
	}

	// Back up: a change made meanwhile is seen at once.
	f.err = nil
	f.codes["hello"] = models.Code{ID: "code_1", Slug: "hello", Active: false}
	if code, err := c.get(ctx, "hello"); err != nil || code.Active {
		t.Errorf("after the outage: %+v, %v; want the code as the database has it", code, err)
	}
}

// Only unavailability serves stale answers: an error about the query, or
// the caller giving up, does not.
func TestCodeCacheStaleOnlyWhenUnavailable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, loadErr := range map[string]error{
		"query error":      errors.New("column does not exist"),
		"caller cancelled": context.Canceled,
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeCodes{codes: map[string]models.Code{"hello": {ID: "code_1", Slug: "hello"}}}
			c := newCodeCache(f.load, func() time.Time { return now }, time.Hour)
			if _, err := c.get(context.Background(), "hello"); err != nil {
				t.Fatal(err)
			}
			now = now.Add(codeCacheTTL)
			f.err = loadErr
			if _, err := c.get(context.Background(), "hello"); err == nil {
				t.Fatal("a stale answer was served for an error that is not unavailability")
			}
		})
	}
}

// A database that does not answer within the load timeout is unavailable;
// a caller whose own context ends is not served stale.
func TestCodeCacheDatabaseHanging(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hang := false
	load := func(ctx context.Context, slug string) (models.Code, error) {
		if hang {
			<-ctx.Done()
			return models.Code{}, fmt.Errorf("slug %q: %w", slug, ctx.Err())
		}
		return models.Code{ID: "code_1", Slug: slug}, nil
	}
	c := newCodeCache(load, func() time.Time { return now }, time.Hour)
	c.loadTimeout = 20 * time.Millisecond
	if _, err := c.get(context.Background(), "hello"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(codeCacheTTL)
	hang = true
	if code, err := c.get(context.Background(), "hello"); err != nil || code.ID != "code_1" {
		t.Fatalf("database hanging: %+v, %v; want the last known code", code, err)
	}
	now = now.Add(codeCacheTTL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := c.get(ctx, "hello"); err == nil {
		t.Fatal("the caller's own deadline was answered from the stale entry")
	}
}

// Clearing the cache after an API write makes the next lookup read the
// database, but keeps the last known answers for an outage.
func TestCodeCacheClearKeepsLastKnown(t *testing.T) {
	ctx := context.Background()
	f := &fakeCodes{codes: map[string]models.Code{"hello": {ID: "code_1", Slug: "hello", Active: true}}}
	c := newCodeCache(f.load, time.Now, time.Hour)
	c.get(ctx, "hello")
	c.clear()
	c.get(ctx, "hello")
	if f.calls != 2 {
		t.Fatalf("%d lookups after clear, want the database read again", f.calls)
	}
	c.clear()
	f.err = models.ErrUnavailable
	if code, err := c.get(ctx, "hello"); err != nil || code.ID != "code_1" {
		t.Fatalf("outage after clear: %+v, %v; want the last known code", code, err)
	}
}

// A full cache drops the entries too old to serve first.
func TestCodeCacheEvictsTooOldFirst(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCodeCache(func(_ context.Context, slug string) (models.Code, error) {
		return models.Code{ID: slug}, nil
	}, func() time.Time { return now }, time.Hour)
	for i := range codeCacheSize / 2 {
		c.get(context.Background(), fmt.Sprintf("old%d", i))
	}
	now = now.Add(2 * time.Hour)
	for i := range codeCacheSize/2 + 1 {
		c.get(context.Background(), fmt.Sprintf("new%d", i))
	}
	for i := range codeCacheSize/2 + 1 {
		if _, ok := c.entries[fmt.Sprintf("new%d", i)]; !ok {
			t.Fatalf("new%d was evicted while entries too old to serve were there", i)
		}
	}
	if len(c.entries) != codeCacheSize/2+1 {
		t.Fatalf("%d entries, want only the new ones", len(c.entries))
	}
}

// A cache full of entries still fresh enough to serve keeps half of them.
func TestCodeCacheFullOfServableEntriesKeepsHalf(t *testing.T) {
	c := newCodeCache(func(_ context.Context, slug string) (models.Code, error) {
		return models.Code{ID: slug}, nil
	}, time.Now, time.Hour)
	for i := range codeCacheSize + 1 {
		c.get(context.Background(), fmt.Sprintf("s%d", i))
	}
	if n := len(c.entries); n < codeCacheSize/2 || n > codeCacheSize/2+1 {
		t.Fatalf("%d entries after overflowing %d, want about half", n, codeCacheSize)
	}
	if _, ok := c.entries[fmt.Sprintf("s%d", codeCacheSize)]; !ok {
		t.Fatal("the entry that overflowed the cache was dropped")
	}
}
