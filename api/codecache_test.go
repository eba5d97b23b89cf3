package api

import (
	"context"
	"errors"
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
			c := newCodeCache(f.load, func() time.Time { return now })
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
	c := newCodeCache(f.load, time.Now)
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
