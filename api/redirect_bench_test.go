package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/scanforge/scanforge/api"
	"github.com/scanforge/scanforge/internal/testdb"
	"github.com/scanforge/scanforge/internal/tracing"
	"github.com/scanforge/scanforge/models"
)

// discardRecorder takes every scan at once: the benchmark measures the
// handler, not the database.
type discardRecorder struct{}

func (discardRecorder) Record(context.Context, models.Scan) error { return nil }

// BenchmarkRedirect is the redirect handler's own cost per scan, the code
// answered from the cache and the scan handed to a recorder that keeps
// nothing; without tracing (the default) and with every span exported.
func BenchmarkRedirect(b *testing.B) {
	store := models.NewStore(testdb.Open(b, "sqlite"), time.Now, models.WithSecretBox(testdb.SecretBox(b)))
	ctx := context.Background()
	ws, err := store.CreateWorkspace(ctx, "ws")
	if err != nil {
		b.Fatal(err)
	}
	if err := store.CreateCode(ctx, &models.Code{WorkspaceID: ws.ID, Slug: "menu", Name: "Menu", DestinationURL: "https://example.com/menu", Active: true}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		tracing *tracing.Tracing
	}{
		{"off", nil},
		// Every span sampled and exported (to an exporter that drops it).
		{"traced", tracing.WithSyncer(tracetest.NewNoopExporter())},
	} {
		b.Run(tc.name, func(b *testing.B) {
			router := api.NewRouter(api.Options{Store: store, Recorder: discardRecorder{}, Enricher: &stubEnricher{}, Tracing: tc.tracing})
			req := httptest.NewRequest("GET", "/q/menu", nil)
			req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X)")
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				router.ServeHTTP(rec, req)
				if rec.Code != http.StatusFound {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
